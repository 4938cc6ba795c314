"""annt.viz: kernel-free interactive figures and the book's diagrams."""
from __future__ import annotations

import base64
import re
import subprocess
import sys

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
pytest.importorskip("ipywidgets")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from IPython.core.formatters import DisplayFormatter  # noqa: E402

from annt.viz import diagrams, frames  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def render(scale):
    fig, ax = plt.subplots(figsize=(4, 2), layout="constrained")
    t = np.arange(20)
    ax.plot(t, np.tanh(scale * np.sin(t / 3)))
    ax.set_ylim(-1, 1)
    return fig


def _links(fig):
    return {(l.source[0].model_id, l.source[1], l.target[0].model_id, l.target[1])
            for l in fig.links}


def _img_src(html_widget):
    return re.search(r'src="data:image/png;base64,([^"]+)"', html_widget.value).group(1)


def test_import_annt_does_not_import_plotting():
    code = ("import sys, annt, annt.viz; "
            "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'IPython') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_slider_links_the_slider_index_to_the_stack():
    fig = frames.slider(render, [0.5, 1.0, 2.0], description="scale", labels="{:.1f}",
                        value=1.0, alt="tanh wave at scale {label}")
    (slider,), (stack,) = fig.controls, fig.stacks
    assert _links(fig) == {(slider.model_id, "index", stack.model_id, "selected_index")}
    assert slider.options == ("0.5", "1.0", "2.0") and slider.index == 1
    assert stack.selected_index == 1 and len(stack.children) == 3
    assert fig.widget.children == (slider, stack)
    assert "annt-frames" in fig.widget._dom_classes
    # every frame is an <img> with its alt text, holding the PNG it was given
    for child, png, label in zip(stack.children, fig.images, ["0.5", "1.0", "2.0"]):
        assert f'alt="tanh wave at scale {label}"' in child.value
        assert base64.b64decode(_img_src(child)) == png
        assert png.startswith(b"\x89PNG")
    assert len(set(fig.images)) == 3


def test_dropdown_and_play_link_what_they_should():
    fig = frames.dropdown(render, [0.5, 2.0], description="curve", labels=["flat", "steep"])
    (dd,), (stack,) = fig.controls, fig.stacks
    assert _links(fig) == {(dd.model_id, "index", stack.model_id, "selected_index")}

    fig = frames.play(render, [0.5, 1.0, 2.0], description="step", interval=300)
    play, slider = fig.controls
    (stack,) = fig.stacks
    assert (play.min, play.max, play.interval) == (0, 2, 300)
    assert _links(fig) == {(play.model_id, "value", slider.model_id, "index"),
                           (slider.model_id, "index", stack.model_id, "selected_index")}


def test_grid_links_the_outer_control_to_the_rows_and_the_inner_to_every_row():
    fig = frames.grid(lambda a, b: render(a * b), [1, 2], [0.5, 1.0, 1.5],
                      outer_description="series", inner_description="horizon",
                      outer_value=2, inner_value=1.0,
                      alt="{outer_label} / {inner_label}")
    outer, inner = fig.controls
    top, *rows = fig.stacks
    assert len(rows) == 2 and all(len(r.children) == 3 for r in rows)
    assert top.children == tuple(rows) and top.selected_index == 1
    assert all(r.selected_index == 1 for r in rows)
    assert _links(fig) == (
        {(outer.model_id, "index", top.model_id, "selected_index")}
        | {(inner.model_id, "index", r.model_id, "selected_index") for r in rows})
    assert 'alt="2 / 1.5"' in rows[1].children[2].value
    assert fig.text == ('Interactive figure (2 x 3 frames): dropdown "series", 1 ... 2; '
                        'slider "horizon", 0.5 ... 1.5')


def test_displayed_text_is_fixed_and_the_widget_view_is_there():
    fig = frames.slider(render, [0.5, 1.0], description="recurrent scale", labels="{:.2f}")
    data, _ = DisplayFormatter().format(fig)
    assert data["text/plain"] == 'Interactive figure (2 frames): slider "recurrent scale", 0.50 ... 1.00'
    assert data[WIDGET_VIEW]["model_id"] == fig.widget.model_id
    assert set(data) == {"text/plain", WIDGET_VIEW}
    assert repr(fig) == data["text/plain"]
    # the same figure built again: a new widget, the same text
    again = frames.slider(render, [0.5, 1.0], description="recurrent scale", labels="{:.2f}")
    assert DisplayFormatter().format(again)[0]["text/plain"] == data["text/plain"]
    assert again.images == fig.images


def test_frames_refuse_what_would_make_pages_heavy_or_jumpy():
    with pytest.raises(ValueError, match="larger than"):
        frames.slider(render, [1.0], max_frame_kb=1)
    with pytest.raises(ValueError, match="more than"):
        frames.slider(render, [0.5, 1.0], max_total_kb=2)

    def two_sizes(v):
        return plt.figure(figsize=(3 + v, 2))
    with pytest.raises(ValueError, match="pixel sizes"):
        frames.slider(two_sizes, [0, 1])
    with pytest.raises(ValueError, match="distinct"):
        frames.slider(render, [0.51, 0.52], labels="{:.1f}")
    with pytest.raises(ValueError, match="not among"):
        frames.slider(render, [0.5, 1.0], value=3.0)


def test_png_bytes_are_deterministic_and_close_the_figure():
    n_open = len(plt.get_fignums())
    a = frames.png_bytes(render(1.0))
    b = frames.png_bytes(render(1.0))
    assert a == b and len(plt.get_fignums()) == n_open
    full = frames.png_bytes(render(1.0), colors=None)
    assert full != a and full.startswith(b"\x89PNG")
    assert b"Software" not in full and b"tIME" not in full


DIAGRAMS = [("unrolled_rnn", {}), ("unrolled_rnn", {"rolled": False, "last": None}),
            ("sequence_shapes", {}), ("sequence_shapes", {"kinds": ["many-to-one"]}),
            ("bptt_graph", {}), ("lstm_cell", {}), ("gru_cell", {}),
            ("gru_cell", {"reset_after": True}), ("stacked_rnn", {}),
            ("bidirectional_rnn", {}), ("encoder_decoder", {})]


@pytest.mark.parametrize("name,kwargs", DIAGRAMS, ids=[f"{n}{sorted(k.items())}" for n, k in DIAGRAMS])
def test_diagrams_render_deterministically(name, kwargs):
    first = getattr(diagrams, name)(**kwargs)
    assert isinstance(first, matplotlib.figure.Figure)
    a = frames.png_bytes(first, colors=None)
    b = frames.png_bytes(getattr(diagrams, name)(**kwargs), colors=None)
    assert a == b
    assert 5_000 < len(a) < 120_000


def test_every_diagram_has_alt_text():
    names = {n for n, _ in DIAGRAMS} | {"gru_cell_reset_after"}
    assert names <= set(diagrams.ALT)
    assert all(len(diagrams.alt_text(n)) > 80 for n in names)
    with pytest.raises(ValueError):
        diagrams.sequence_shapes(["two-to-two"])
