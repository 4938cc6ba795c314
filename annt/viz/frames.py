"""Interactive figures that work in the static HTML book, with no kernel.

A figure is computed in the notebook for every value of its control, each
rendered to a small PNG, and the browser switches between the images: an
``ipywidgets.Stack`` of images (``ipywidgets.HTML`` children holding an
``<img>``) whose ``selected_index`` is driven by ``ipywidgets.jslink`` from
the control.
JavaScript links live in the widget state that the notebook stores
(``make execute`` stores it) and that the book embeds in the page, so the
control works in the HTML without a kernel and without a network, and live
in Jupyter too.  Usage, in a chapter::

    from annt.viz import frames

    def render(scale):                      # one figure per value; closed for you
        fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
        ax.plot(hidden_state(scale))
        ax.set_ylim(-1, 1)                  # fixed axes: the frames compare
        return fig

    frames.slider(render, [0.5, 1.0, 1.5, 2.0], description="recurrent scale",
                  labels="{:.1f}", value=1.0,
                  alt="Hidden state over 30 steps, recurrent scale {label}")

The builders:

``slider(render, values, ...)``
    a slider over the values (``SelectionSlider``: it shows the label).
``dropdown(render, options, ...)``
    a dropdown menu of the options.
``play(render, values, ...)``
    a Play button and a slider: an animation the reader can also scrub.
``grid(render, outer_values, inner_values, outer=..., inner=...)``
    two controls: ``render(outer, inner)``; the outer control (a dropdown by
    default) selects a row of frames, the inner one (a slider, a dropdown or
    ``"play"``) the frame in it.
``from_images(images, labels, control=...)``
    the same from PNG bytes rendered elsewhere.

Each returns an :class:`InteractiveFigure`; make it the last expression of
the cell (or ``display`` it).  Its ``text/plain`` is a fixed sentence such as
``Interactive figure (4 frames): slider "recurrent scale", 0.5 ... 2.0``
instead of the widgets' default repr (which would print the PNG bytes), so
the cell stays compared by nbval: the text does not depend on the machine,
nbval skips the widget-view JSON and the images.  Build the figure in the
cell that displays it, and do not print in ``render``.

Rules that keep pages light and stored notebooks stable:

* few, small frames: a frame is limited to ``max_frame_kb`` (150 KB) and a
  figure to ``max_total_kb`` (2500 KB) of PNG; a page should stay under about
  5 MB (the images are embedded base64, 4/3 of their size).  ``dpi=100``
  (the default) matches the book's static figures.  The PNGs are quantized
  to a palette of ``colors=64`` colours by default: about 3x smaller, and
  invisible on line and bar plots; pass ``colors=256`` for smooth colour
  maps, ``colors=None`` for the full-colour PNG;
* labels and alt text must not depend on the machine (they are compared);
  the images may (nbval does not compare them), but are deterministic for
  deterministic data: PNGs are written without a timestamp or software tag;
* keep the axes fixed over the frames (``set_xlim``/``set_ylim``) and use
  ``layout="constrained"``, so that only the data move; all frames should
  have the same pixel size.

Alt text: every frame is an ``<img>`` with an ``alt`` attribute, inside an
``ipywidgets.HTML`` widget (an ``ipywidgets.Image`` has no ``alt``, and its
``tooltip`` crashes the view in @jupyter-widgets/base 6, which reads the
``description`` an Image does not have).  Pass ``alt`` as a template
(``"... {label}"``; ``{value}`` is the value itself) or as a function of the
value; the default names the control and the label.  The PNG travels in the
``<img>``'s ``data:`` URL, base64, as an Image widget's bytes would in the
stored widget state.

The root widget carries the DOM class ``annt-frames`` (the browser test
finds every interactive figure of a page by it and works its controls).
"""
from __future__ import annotations

import base64
import html
import io
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

__all__ = [
    "InteractiveFigure", "dropdown", "from_images", "grid", "play", "png_bytes", "slider",
]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
DOM_CLASS = "annt-frames"
MAX_FRAME_KB = 150
MAX_TOTAL_KB = 2500
_CONTROLS = ("slider", "dropdown", "play")


# --------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------
def png_bytes(fig, *, dpi: float = 100, colors: int | None = 64) -> bytes:
    """The figure as PNG bytes (deterministic: no metadata), then closes it.

    ``colors`` quantizes the image to a palette of that many colours (Pillow,
    median cut, no dithering: deterministic), which makes plots about 3x
    smaller; ``None`` keeps the full-colour PNG.
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None},
                    facecolor="white")
    finally:
        plt.close(fig)
    data = buf.getvalue()
    if colors:
        from PIL import Image

        img = Image.open(io.BytesIO(data)).convert("RGB")
        img = img.quantize(colors=int(colors), method=Image.Quantize.MEDIANCUT,
                           dither=Image.Dither.NONE)
        out = io.BytesIO()
        img.save(out, format="PNG", optimize=True)
        data = out.getvalue()
    return data


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("frames: an image is not a PNG")
    return struct.unpack(">II", data[16:24])


def _as_png(obj, dpi: float, colors: int | None) -> bytes:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj)
    if hasattr(obj, "savefig"):
        return png_bytes(obj, dpi=dpi, colors=colors)
    raise TypeError(f"frames: render must return a matplotlib Figure or PNG bytes, "
                    f"not {type(obj).__name__}")


# --------------------------------------------------------------------------
# labels and alt text
# --------------------------------------------------------------------------
def _labels(values: Sequence, labels) -> list[str]:
    if labels is None:
        out = [v if isinstance(v, str) else (f"{v:g}" if isinstance(v, float) else str(v))
               for v in values]
    elif callable(labels):
        out = [str(labels(v)) for v in values]
    elif isinstance(labels, str):
        out = [labels.format(v) for v in values]
    else:
        out = [str(s) for s in labels]
        if len(out) != len(values):
            raise ValueError(f"frames: {len(out)} labels for {len(values)} values")
    if len(set(out)) != len(out):
        raise ValueError(f"frames: labels must be distinct, got {out}")
    return out


def _alt(alt, value, label: str, description: str, **extra) -> str:
    if alt is None:
        return f"Interactive figure, {description or 'frame'}: {label}"
    if callable(alt):
        return str(alt(value))
    return alt.format(label=label, value=value, **extra)


def _index(values: Sequence, value, what: str) -> int:
    if value is None:
        return 0
    for i, v in enumerate(values):
        if v is value or v == value:
            return i
    raise ValueError(f"frames: initial {what} {value!r} is not among {list(values)!r}")


# --------------------------------------------------------------------------
# the displayed object
# --------------------------------------------------------------------------
@dataclass(eq=False)
class InteractiveFigure:
    """A widget tree plus the fixed text nbval compares.

    ``widget`` is the root (an ``ipywidgets.VBox`` with the DOM class
    ``annt-frames``): controls on top, the stack of images below.
    ``controls`` are the control widgets, ``stacks`` the ``Stack`` widgets
    (one, or the outer one first for a grid), ``links`` the ``jslink``
    objects, ``images`` the PNG bytes of every frame (row by row for a grid),
    ``text`` the ``text/plain`` shown instead of the widgets' repr.
    """

    widget: Any
    controls: tuple
    stacks: tuple
    links: tuple
    images: list[bytes]
    labels: tuple
    text: str
    alts: list[str] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        """Total PNG size of the frames (about 3/4 of what the page embeds)."""
        return sum(len(b) for b in self.images)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_()   # the widget view, as ipywidgets makes it
        bundle = dict(bundle or {})
        bundle["text/plain"] = self.text
        return bundle

    def __repr__(self) -> str:
        return self.text


def _check_sizes(images: list[bytes], max_frame_kb: float, max_total_kb: float) -> None:
    big = [i for i, b in enumerate(images) if len(b) > max_frame_kb * 1024]
    if big:
        raise ValueError(
            f"frames: frame(s) {big} larger than {max_frame_kb} KB "
            f"({max(len(images[i]) for i in big) // 1024} KB); use a smaller figsize or dpi, "
            "or colors=64, or raise max_frame_kb")
    total = sum(map(len, images))
    if total > max_total_kb * 1024:
        raise ValueError(
            f"frames: {len(images)} frames take {total // 1024} KB, more than "
            f"{max_total_kb} KB; use fewer or smaller frames (colors=64), or raise max_total_kb")
    sizes = {_png_size(b) for b in images}
    if len(sizes) > 1:
        raise ValueError(f"frames: the frames have different pixel sizes {sorted(sizes)}; "
                         "fix the figure size (no bbox_inches='tight' per frame)")


def _img_html(data: bytes, alt: str, dpi: float) -> str:
    width, height = _png_size(data)
    scale = 100.0 / dpi                   # displayed at 100 pixels per inch
    return (f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" '
            f'alt="{html.escape(alt, quote=True)}" width="{round(width * scale)}" '
            f'height="{round(height * scale)}" style="max-width: 100%; height: auto;">')


def _stack(images: list[bytes], alts: list[str], index: int, dpi: float):
    import ipywidgets as w

    return w.Stack(children=[w.HTML(_img_html(data, alt, dpi)) for data, alt in zip(images, alts)],
                   selected_index=index)


def _control(kind: str, labels: list[str], index: int, description: str,
             interval: int, repeat: bool):
    """(widgets to show, widget whose ``index`` drives a stack, extra links)."""
    import ipywidgets as w

    style = {"description_width": "initial"}
    if kind == "dropdown":
        ctrl = w.Dropdown(options=labels, index=index, description=description, style=style)
        return [ctrl], ctrl, []
    slider = w.SelectionSlider(options=labels, index=index, description=description,
                               continuous_update=True, style=style,
                               layout=w.Layout(width="100%", max_width="32em"))
    if kind == "slider":
        return [slider], slider, []
    if kind == "play":
        player = w.Play(value=index, min=0, max=len(labels) - 1, step=1, interval=interval,
                        repeat=repeat, show_repeat=False, description=description)
        link = w.jslink((player, "value"), (slider, "index"))
        return [player, slider], slider, [link]
    raise ValueError(f"frames: control must be one of {_CONTROLS}, not {kind!r}")


def _kind_text(kind: str, description: str, labels: list[str]) -> str:
    name = "Play button and slider" if kind == "play" else kind
    span = labels[0] if len(labels) == 1 else f"{labels[0]} ... {labels[-1]}"
    return f'{name} "{description}", {span}'


# --------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------
def from_images(images: Sequence[bytes], labels: Sequence[str], *, control: str = "slider",
                description: str = "", value_index: int = 0, alts: Sequence[str] | None = None,
                dpi: float = 100, interval: int = 500, repeat: bool = False,
                max_frame_kb: float = MAX_FRAME_KB,
                max_total_kb: float = MAX_TOTAL_KB) -> InteractiveFigure:
    """One control over PNG images rendered elsewhere (``images[i]`` for ``labels[i]``)."""
    import ipywidgets as w

    images = [bytes(b) for b in images]
    labels = _labels(labels, list(labels))
    if len(images) != len(labels) or not images:
        raise ValueError(f"frames: {len(images)} images for {len(labels)} labels")
    alts = list(alts) if alts is not None else [
        _alt(None, lab, lab, description) for lab in labels]
    _check_sizes(images, max_frame_kb, max_total_kb)
    shown, driver, links = _control(control, labels, value_index, description,
                                    interval, repeat)
    stack = _stack(images, alts, value_index, dpi)
    links = links + [w.jslink((driver, "index"), (stack, "selected_index"))]
    row = shown[0] if len(shown) == 1 else w.HBox(shown)
    root = w.VBox([row, stack])
    root.add_class(DOM_CLASS)
    text = (f"Interactive figure ({len(images)} frames): "
            + _kind_text(control, description, labels))
    controls = tuple(shown)
    return InteractiveFigure(root, controls, (stack,), tuple(links), images,
                             tuple(labels), text, alts)


def _one_control(kind: str, render: Callable, values: Sequence, *, description: str,
                 labels, value, alt, dpi: float, colors: int | None, interval: int,
                 repeat: bool, max_frame_kb: float, max_total_kb: float) -> InteractiveFigure:
    values = list(values)
    if not values:
        raise ValueError("frames: no values")
    texts = _labels(values, labels)
    index = _index(values, value, "value")
    images = [_as_png(render(v), dpi, colors) for v in values]
    alts = [_alt(alt, v, lab, description) for v, lab in zip(values, texts)]
    return from_images(images, texts, control=kind, description=description,
                       value_index=index, alts=alts, dpi=dpi, interval=interval,
                       repeat=repeat, max_frame_kb=max_frame_kb, max_total_kb=max_total_kb)


def slider(render: Callable, values: Sequence, *, description: str = "", labels=None,
           value=None, alt=None, dpi: float = 100, colors: int | None = 64,
           max_frame_kb: float = MAX_FRAME_KB,
           max_total_kb: float = MAX_TOTAL_KB) -> InteractiveFigure:
    """A slider over ``values``; ``render(v)`` returns the figure for value ``v``.

    ``labels``: how the slider shows each value: a format string
    (``"{:.2f}"``), a function, or a list of strings (distinct); by default
    ``str(v)``.  ``value``: the value shown first (default: the first).
    ``alt``: alt text, a template with ``{label}``/``{value}`` or a function
    of the value.  ``dpi``, ``colors``: see :func:`png_bytes`.
    """
    return _one_control("slider", render, values, description=description, labels=labels,
                        value=value, alt=alt, dpi=dpi, colors=colors, interval=0,
                        repeat=False, max_frame_kb=max_frame_kb, max_total_kb=max_total_kb)


def dropdown(render: Callable, options: Sequence, *, description: str = "", labels=None,
             value=None, alt=None, dpi: float = 100, colors: int | None = 64,
             max_frame_kb: float = MAX_FRAME_KB,
             max_total_kb: float = MAX_TOTAL_KB) -> InteractiveFigure:
    """A dropdown menu over ``options``; ``render(option)`` returns its figure.

    The options may be any objects (the labels name them); the arguments are
    those of :func:`slider`.
    """
    return _one_control("dropdown", render, options, description=description,
                        labels=labels, value=value, alt=alt, dpi=dpi, colors=colors,
                        interval=0, repeat=False, max_frame_kb=max_frame_kb,
                        max_total_kb=max_total_kb)


def play(render: Callable, values: Sequence, *, description: str = "", labels=None,
         value=None, alt=None, interval: int = 500, repeat: bool = False, dpi: float = 100,
         colors: int | None = 64, max_frame_kb: float = MAX_FRAME_KB,
         max_total_kb: float = MAX_TOTAL_KB) -> InteractiveFigure:
    """A Play button (one frame every ``interval`` ms) and a slider to scrub.

    For steps of a process (time steps, epochs).  The arguments are those of
    :func:`slider`; ``repeat=True`` loops.
    """
    return _one_control("play", render, values, description=description, labels=labels,
                        value=value, alt=alt, dpi=dpi, colors=colors, interval=interval,
                        repeat=repeat, max_frame_kb=max_frame_kb, max_total_kb=max_total_kb)


def grid(render: Callable, outer_values: Sequence, inner_values: Sequence, *,
         outer: str = "dropdown", inner: str = "slider", outer_description: str = "",
         inner_description: str = "", outer_labels=None, inner_labels=None,
         outer_value=None, inner_value=None, alt=None, interval: int = 500,
         repeat: bool = False, dpi: float = 100, colors: int | None = 64,
         max_frame_kb: float = MAX_FRAME_KB,
         max_total_kb: float = MAX_TOTAL_KB) -> InteractiveFigure:
    """Two controls: ``render(outer_value, inner_value)`` for every pair.

    The outer control (``"dropdown"`` or ``"slider"``) selects one of
    ``len(outer_values)`` stacks, the inner one (``"slider"``,
    ``"dropdown"`` or ``"play"``) is linked to every stack and selects the
    frame.  ``alt`` templates may use ``{outer_label}``, ``{inner_label}``
    and ``{label}`` (both, comma-separated); a function gets the pair.
    """
    import ipywidgets as w

    if outer not in ("dropdown", "slider"):
        raise ValueError(f"frames: outer must be 'dropdown' or 'slider', not {outer!r}")
    outer_values, inner_values = list(outer_values), list(inner_values)
    if not outer_values or not inner_values:
        raise ValueError("frames: no values")
    o_labels = _labels(outer_values, outer_labels)
    i_labels = _labels(inner_values, inner_labels)
    o_index = _index(outer_values, outer_value, "outer value")
    i_index = _index(inner_values, inner_value, "inner value")

    images, alts = [], []
    for ov, ol in zip(outer_values, o_labels):
        for iv, il in zip(inner_values, i_labels):
            images.append(_as_png(render(ov, iv), dpi, colors))
            alts.append(_alt(alt, (ov, iv), f"{ol}, {il}",
                             f"{outer_description or 'row'}, {inner_description or 'frame'}",
                             outer_label=ol, inner_label=il))
    _check_sizes(images, max_frame_kb, max_total_kb)

    n = len(inner_values)
    rows = [_stack(images[r * n:(r + 1) * n], alts[r * n:(r + 1) * n], i_index, dpi)
            for r in range(len(outer_values))]
    outer_stack = w.Stack(children=rows, selected_index=o_index)
    o_shown, o_driver, o_links = _control(outer, o_labels, o_index, outer_description,
                                          interval, repeat)
    i_shown, i_driver, i_links = _control(inner, i_labels, i_index, inner_description,
                                          interval, repeat)
    links = o_links + i_links + [w.jslink((o_driver, "index"), (outer_stack, "selected_index"))]
    links += [w.jslink((i_driver, "index"), (row, "selected_index")) for row in rows]
    root = w.VBox([w.HBox(o_shown), w.HBox(i_shown), outer_stack])
    root.add_class(DOM_CLASS)
    text = (f"Interactive figure ({len(outer_values)} x {n} frames): "
            + _kind_text(outer, outer_description, o_labels) + "; "
            + _kind_text(inner, inner_description, i_labels))
    return InteractiveFigure(root, tuple(o_shown + i_shown), (outer_stack, *rows),
                             tuple(links), images, (tuple(o_labels), tuple(i_labels)),
                             text, alts)
