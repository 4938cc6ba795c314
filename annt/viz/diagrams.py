r"""The book's diagrams, drawn by code with one look.

Every function returns a matplotlib ``Figure`` (made with pyplot, so a
chapter cell that ends with ``plt.show()`` shows it, like any figure) and is
deterministic: the same call gives the same PNG bytes.  The notation is the
book's: row vectors, :math:`\mathbf{x}_t` inputs, :math:`\mathbf{h}_t`
states, :math:`\mathbf{c}_t` the LSTM cell state, :math:`U` input weights,
:math:`W` recurrent weights, :math:`\mathbf{b}` biases, time from 1 with
:math:`\mathbf{h}_0 = \mathbf{0}`.

==========================  ===================================================
``unrolled_rnn()``          the recurrent unit, rolled and unrolled in time
``jordan_rnn()``            the Jordan network unrolled (feeds back its output),
                            under an Elman network for comparison
``sequence_shapes()``       one-to-one, one-to-many, many-to-one, many-to-many
                            synced and unsynced (a subset with ``kinds=``)
``bptt_graph()``            the unrolled graph with the gradient flowing back,
                            the ANNT article's :math:`E_k(t)` and :math:`E'_k(t)`
``lstm_cell()``             the LSTM cell: gates i, f, g, o and the cell-state path
``gru_cell(reset_after)``   the GRU cell, reset before the product (Cho et al.,
                            the article, ``annt.GRU()``) or after it (PyTorch,
                            ``annt.GRU(reset_after=True)``)
``stacked_rnn()``           recurrent layers stacked in depth
``bidirectional_rnn()``     a forward and a backward layer, outputs merged
``encoder_decoder()``       sequence to sequence: encoder, code, decoder
==========================  ===================================================

The colours mean the same in every diagram (:data:`COLORS`): inputs red,
recurrent states green, outputs blue, the LSTM cell state and the GRU state
path gold, gates purple, ``tanh`` layers teal, gradients dark red and
dashed.  Chapter plots may use the same colours for the same things.

Alt text.  A diagram is an image output of its cell, and myst-nb (the book's
notebook renderer) sets an image output's ``alt`` from the cell's metadata::

    "metadata": {"mystnb": {"image": {"alt": "An RNN unrolled over four steps ..."}}}

(``mystnb.image`` takes the docutils image options ``alt``, ``width``,
``height``, ``classes``, ``align``; ``mystnb.figure`` with ``caption`` and
``name`` wraps the output in a numbered, referable figure).  :data:`ALT`
holds a description of each diagram at its default arguments; copy it into
the cell metadata (``alt_text(name)`` returns it), or write one that says
what the text needs the reader to see.

    >>> from annt.viz import diagrams
    >>> fig = diagrams.lstm_cell()          # in a notebook cell, then plt.show()
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

__all__ = [
    "ALT", "COLORS", "alt_text", "bidirectional_rnn", "bptt_graph", "encoder_decoder",
    "gru_cell", "jordan_rnn", "lstm_cell", "sequence_shapes", "stacked_rnn", "unrolled_rnn",
]

# --------------------------------------------------------------------------
# the look
# --------------------------------------------------------------------------
#: (fill, edge) per kind of node.
COLORS = {
    "input": ("#fbe1d5", "#c0462b"),     # x_t: red
    "state": ("#dcefdc", "#2e7d32"),     # h_t, the recurrent unit: green
    "state2": ("#d9eeee", "#00796b"),    # a second recurrent layer (decoder, backward)
    "output": ("#dbe6f6", "#2c5d9e"),    # y_t: blue
    "carry": ("#fff2c6", "#b8860b"),     # the LSTM cell state, the GRU state path: gold
    "gate": ("#ece2f6", "#6a4c93"),      # sigmoid gates: purple
    "tanh": ("#d7f0ec", "#00796b"),      # tanh layers: teal
    "matrix": ("#f1f1f1", "#616161"),    # a matrix product
    "op": ("#ffffff", "#424242"),        # pointwise operations
    "cost": ("#eeeeee", "#616161"),      # costs
    "zero": ("#f5f5f5", "#9e9e9e"),      # zero initial states
    "cell": ("#f6f8fb", "#9aa5b4"),      # the outline of an LSTM/GRU cell
    "group": ("#fafafa", "#c7c7c7"),     # background of a group (encoder, decoder)
}
INK = "#212121"           # forward arrows and text
MUTED = "#757575"         # annotations
GRADIENT = "#b71c1c"      # backward (gradient) arrows and labels
FONT = 12                 # text size in points
SCALE = 0.55              # inches per drawing unit
MATH_FONT = "cm"          # Computer Modern, like the book's MathJax formulas


@dataclass
class Node:
    """A drawn node: centre, size, and its patch."""
    x: float
    y: float
    w: float
    h: float
    round: bool = False   # a circle (w = h = diameter)

    @property
    def top(self):
        return (self.x, self.y + self.h / 2)

    @property
    def bottom(self):
        return (self.x, self.y - self.h / 2)

    @property
    def left(self):
        return (self.x - self.w / 2, self.y)

    @property
    def right(self):
        return (self.x + self.w / 2, self.y)


class _Canvas:
    """A figure whose axes are drawing units (SCALE inches each), y upwards."""

    def __init__(self, width: float, height: float, x0: float = 0.0, y0: float = 0.0,
                 scale: float = SCALE):
        # whole pixels at 100 dpi (the figure's repr, compared by nbval, shows them)
        self.fig = plt.figure(figsize=(round(width * scale, 2), round(height * scale, 2)), dpi=100)
        width, height = self.fig.get_figwidth() / scale, self.fig.get_figheight() / scale
        ax = self.fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(x0, x0 + width)
        ax.set_ylim(y0, y0 + height)
        ax.set_aspect("equal")
        ax.axis("off")
        self.ax = ax

    # text -------------------------------------------------------------------
    def text(self, x, y, s, *, size=FONT, color=INK, ha="center", va="center", **kw):
        return self.ax.text(x, y, s, fontsize=size, color=color, ha=ha, va=va,
                            math_fontfamily=MATH_FONT, zorder=kw.pop("zorder", 6), **kw)

    # nodes ------------------------------------------------------------------
    def box(self, x, y, label="", kind="state", w=1.0, h=0.62, size=FONT, lw=1.3,
            radius=0.1, zorder=3, label_color=INK) -> Node:
        fill, edge = COLORS[kind]
        self.ax.add_patch(FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle=f"round,pad=0,rounding_size={radius}",
            fc=fill, ec=edge, lw=lw, zorder=zorder))
        if label:
            self.text(x, y, label, size=size, color=label_color, zorder=zorder + 1)
        return Node(x, y, w, h)

    def op(self, x, y, symbol, r=0.22, kind="op", size=FONT) -> Node:
        fill, edge = COLORS[kind]
        self.ax.add_patch(Circle((x, y), r, fc=fill, ec=edge, lw=1.2, zorder=4))
        self.text(x, y, symbol, size=size, zorder=5)
        return Node(x, y, 2 * r, 2 * r, round=True)

    def dot(self, x, y, color=INK, r=0.055):
        self.ax.add_patch(Circle((x, y), r, fc=color, ec=color, lw=0, zorder=5))

    def region(self, x0, y0, x1, y1, kind="cell", radius=0.3, lw=1.2, zorder=0):
        fill, edge = COLORS[kind]
        self.ax.add_patch(FancyBboxPatch(
            (x0, y0), x1 - x0, y1 - y0, boxstyle=f"round,pad=0,rounding_size={radius}",
            fc=fill, ec=edge, lw=lw, zorder=zorder))

    # wires ------------------------------------------------------------------
    def wire(self, points: Sequence, *, color=INK, lw=1.3, head=True, dashed=False,
             zorder=2, head_size=11):
        """A polyline through ``points`` with an arrowhead at the end (see also ``hop``)."""
        path = Path(list(points), [Path.MOVETO] + [Path.LINETO] * (len(points) - 1))
        arrow = FancyArrowPatch(
            path=path, arrowstyle="-|>" if head else "-", mutation_scale=head_size,
            color=color, lw=lw, linestyle=(0, (4, 2.5)) if dashed else "-",
            joinstyle="miter", capstyle="butt", zorder=zorder, shrinkA=0, shrinkB=0)
        self.ax.add_patch(arrow)
        return arrow

    def hop(self, x, y, *, vertical=True, background=None, half=0.16, lw=1.3):
        """A gap in a line through (x, y), where another line passes over it.

        Draw it after the line it interrupts and before the line that passes
        over (``vertical``: the passing line is vertical), in the colour of
        the background there.
        """
        bg = background or COLORS["cell"][0]
        a, b = ((x, y - half), (x, y + half)) if vertical else ((x - half, y), (x + half, y))
        self.ax.plot([a[0], b[0]], [a[1], b[1]], color=bg, lw=lw + 5, solid_capstyle="butt",
                     zorder=2.5)

    def arrow(self, a, b, **kw):
        return self.wire([a, b], **kw)

    def curve(self, a, b, *, rad=0.3, color=INK, lw=1.3, dashed=False, zorder=2):
        arrow = FancyArrowPatch(
            a, b, connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>", mutation_scale=11,
            color=color, lw=lw, linestyle=(0, (4, 2.5)) if dashed else "-",
            shrinkA=0, shrinkB=0, zorder=zorder)
        self.ax.add_patch(arrow)
        return arrow

    def done(self):
        return self.fig


def _mb(name: str, sub: str = "", sup: str = "") -> str:
    """Bold vector in mathtext: _mb('h', 't') -> $\\mathbf{h}_{t}$."""
    s = rf"\mathbf{{{name}}}"
    if sup:
        s += rf"^{{{sup}}}"
    if sub:
        s += rf"_{{{sub}}}"
    return f"${s}$"


# --------------------------------------------------------------------------
# the unrolled RNN
# --------------------------------------------------------------------------
def unrolled_rnn(steps: int = 3, *, rolled: bool = True, last: str = "T") -> "plt.Figure":
    r"""The simple recurrent unit rolled (a loop) and unrolled over time.

    ``steps`` copies are drawn for :math:`t = 1, \dots`, then an ellipsis and
    the last step ``last`` (``last=None``: no ellipsis, the steps only).
    Inputs :math:`\mathbf{x}_t` enter through :math:`U`, the state passes to
    the next copy through :math:`W`, :math:`\mathbf{h}_0 = \mathbf{0}`.
    """
    labels = [str(t) for t in range(1, steps + 1)]
    if last:
        labels += ["...", last]
    dx = 2.0
    x_first = 6.5 if rolled else 2.65
    xs, x = [], x_first
    for i, lab in enumerate(labels):
        if i:
            x += 1.3 if "..." in (lab, labels[i - 1]) else dx
        xs.append(x)
    width = xs[-1] + 1.1
    c = _Canvas(width, 4.9, y0=-0.55)
    y_x, y_h, y_out = 0.45, 2.05, 3.65

    if rolled:
        xr = 1.0
        xin = c.box(xr, y_x, _mb("x", "t"), "input", w=0.9)
        cell = c.box(xr, y_h, r"$\tanh$", "state", w=1.0, h=0.8)
        out = c.box(xr, y_out, _mb("h", "t"), "output", w=0.9)
        c.arrow(xin.top, cell.bottom)
        c.text(xr + 0.2, (y_x + y_h) / 2, "$U$", ha="left")
        c.arrow(cell.top, out.bottom)
        # the loop: out of the right side, round, back into the right side lower down
        rx = cell.right[0]
        c.wire([(rx, y_h + 0.2), (rx + 0.5, y_h + 0.2), (rx + 0.5, y_h - 0.2), (rx + 0.04, y_h - 0.2)],
               head=True)
        c.text(rx + 0.62, y_h, "$W$", ha="left")
        c.text(2.95, y_h, "$=$", size=22)

    zero = None
    prev = None
    for i, (lab, x) in enumerate(zip(labels, xs)):
        if lab == "...":
            c.text(x, y_h, r"$\cdots$", size=16)
            continue
        if prev is None:
            zero = c.box(x - 2.15, y_h, _mb("h", "0") + r"$=\mathbf{0}$", "zero", w=1.45,
                         size=FONT - 1)
            prev = zero
        xin = c.box(x, y_x, _mb("x", lab), "input", w=0.9)
        cell = c.box(x, y_h, r"$\tanh$", "state", w=1.0, h=0.8)
        out = c.box(x, y_out, _mb("h", lab), "output", w=0.9)
        c.arrow(xin.top, cell.bottom)
        c.text(x + 0.15, (y_x + y_h) / 2 - 0.05, "$U$", ha="left", size=FONT - 1)
        c.arrow(cell.top, out.bottom)
        gap = labels[i - 1] == "..." if i else False
        if gap:
            c.wire([(prev.right[0], y_h), (xs[i - 1] - 0.35, y_h)], head=False)
            c.arrow((xs[i - 1] + 0.35, y_h), cell.left)
            c.text((xs[i - 1] + 0.35 + cell.left[0]) / 2, y_h + 0.22, "$W$", size=FONT - 1)
        else:
            c.arrow(prev.right, cell.left)
            c.text((prev.right[0] + cell.left[0]) / 2, y_h + 0.22, "$W$", size=FONT - 1)
        prev = cell
    c.text(width / 2, -0.3,
           r"$\mathbf{h}_t = \tanh(\mathbf{x}_t U + \mathbf{h}_{t-1} W + \mathbf{b})$"
           r"$\quad$ the same $U$, $W$, $\mathbf{b}$ at every step", size=FONT, color=MUTED)
    return c.done()


# --------------------------------------------------------------------------
# Elman and Jordan
# --------------------------------------------------------------------------
def jordan_rnn(steps: int = 3, *, elman: bool = True) -> "plt.Figure":
    r"""The Jordan network unrolled in time, under the Elman network for comparison.

    Both networks have a hidden layer :math:`\mathbf{h}_t = \tanh(\dots)` and
    an output layer :math:`\mathbf{y}_t = g(\mathbf{h}_t V + \mathbf{b}_y)`
    at every step; they differ in what goes to the next step (gold).  The
    Elman network passes its hidden state, :math:`\mathbf{h}_{t-1} W` with
    :math:`W` of shape :math:`(H, H)`, from :math:`\mathbf{h}_0 = \mathbf{0}`;
    the Jordan network passes its output, :math:`\mathbf{y}_{t-1} W` with
    :math:`W` of shape :math:`(O, H)`, from :math:`\mathbf{y}_0 = \mathbf{0}`.
    ``elman=False`` draws the Jordan network alone.
    """
    dx = 2.5
    xs = [5.2 + i * dx for i in range(steps)]
    width = xs[-1] + 1.0
    row_h = 4.35
    rows = [("Jordan", 0.0)] + ([("Elman", row_h)] if elman else [])
    c = _Canvas(width, row_h * len(rows) + 0.25, y0=-0.65)
    gold = COLORS["carry"][1]
    for name, y0 in rows:
        y_x, y_h, y_y = y0 + 0.35, y0 + 1.75, y0 + 3.15
        carried = _mb("h", "t") if name == "Elman" else _mb("y", "t")
        fed = carried.replace("_{t}", "_{t-1}")
        c.text((xs[0] - 2.65 + xs[-1] + 0.45) / 2, y0 - 0.32,
               r"$\mathbf{h}_t = \tanh(\mathbf{x}_t U + $" + fed + r"$W + \mathbf{b}),\ "
               r"\mathbf{y}_t = g(\mathbf{h}_t V + \mathbf{b}_y)$", size=FONT - 1, color=MUTED)
        c.text(0.1, y_h + 0.35, name, ha="left", size=FONT + 1, color=INK)
        c.text(0.1, y_h - 0.3, "carries " + carried, ha="left", size=FONT - 1, color=MUTED)
        cells, outs = [], []
        for i, x in enumerate(xs):
            t = str(i + 1)
            xin = c.box(x, y_x, _mb("x", t), "input", w=0.9)
            cell = c.box(x, y_h, _mb("h", t), "state", w=0.9, h=0.66)
            out = c.box(x, y_y, _mb("y", t), "output", w=0.9)
            c.arrow(xin.top, cell.bottom)
            c.text(x + 0.12, (y_x + y_h) / 2 - 0.03, "$U$", ha="left", size=FONT - 1)
            c.arrow(cell.top, out.bottom)
            c.text(x + 0.12, (y_h + y_y) / 2 + 0.02, "$V$", ha="left", size=FONT - 1)
            cells.append(cell)
            outs.append(out)
        if name == "Elman":
            zero = c.box(xs[0] - 1.95, y_h, _mb("h", "0") + r"$=\mathbf{0}$", "zero", w=1.4,
                         size=FONT - 1)
            for src, dst in zip([zero] + cells[:-1], cells):
                c.arrow(src.right, dst.left, color=gold, lw=2.2)
                c.text((src.right[0] + dst.left[0]) / 2, y_h + 0.12, "$W$", va="bottom",
                       size=FONT - 1)
        else:
            zero = c.box(xs[0] - 1.95, y_y, _mb("y", "0") + r"$=\mathbf{0}$", "zero", w=1.4,
                         size=FONT - 1)
            for src, dst in zip([zero] + outs[:-1], cells):
                a = (src.right[0], src.y - 0.12)
                b = (dst.left[0], dst.y + 0.12)
                c.arrow(a, b, color=gold, lw=2.2)
                c.text(a[0] + 0.6 * (b[0] - a[0]) + 0.08, a[1] + 0.6 * (b[1] - a[1]) + 0.08,
                       "$W$", ha="left", va="bottom", size=FONT - 1)
    return c.done()


# --------------------------------------------------------------------------
# the five kinds of sequence problems
# --------------------------------------------------------------------------
_KINDS = {
    # name: (title, example, steps, input steps, output steps)
    "one-to-one": ("one-to-one", "feed-forward", 1, {0}, {0}),
    "one-to-many": ("one-to-many", "generation", 4, {0}, {0, 1, 2, 3}),
    "many-to-one": ("many-to-one", "classification", 4, {0, 1, 2, 3}, {3}),
    "many-to-many synced": ("many-to-many\nsynced", "tagging", 4, {0, 1, 2, 3}, {0, 1, 2, 3}),
    "many-to-many unsynced": ("many-to-many\nunsynced", "translation", 6, {0, 1, 2}, {3, 4, 5}),
}


def sequence_shapes(kinds: Sequence[str] | None = None, *, examples: bool = True) -> "plt.Figure":
    """The kinds of sequence problems side by side (Karpathy's classic picture).

    ``kinds``: a subset of ``"one-to-one"``, ``"one-to-many"``,
    ``"many-to-one"``, ``"many-to-many synced"``, ``"many-to-many
    unsynced"`` (default: all five, in this order).  Inputs red at the
    bottom, the recurrent unit green, outputs blue on top; arrows to the
    right carry the state.  ``examples`` adds a typical task under each title.
    """
    kinds = list(kinds or _KINDS)
    for k in kinds:
        if k not in _KINDS:
            raise ValueError(f"unknown kind {k!r}; choose from {list(_KINDS)}")
    step, gap, s = 0.8, 0.9, 0.5
    widths = [max((_KINDS[k][2] - 1) * step + s, 2.3) for k in kinds]
    width = sum(widths) + gap * (len(kinds) - 1) + 0.4
    c = _Canvas(width, 4.95, y0=-1.9, scale=0.42)
    y_in, y_h, y_out = 0.3, 1.45, 2.6
    x0 = 0.2
    for k, wdt in zip(kinds, widths):
        title, example, n, ins, outs = _KINDS[k]
        first = x0 + (wdt - (n - 1) * step) / 2
        for t in range(n):
            x = first + t * step
            cell = c.box(x, y_h, "", "state", w=s, h=s, radius=0.07)
            if t:
                c.arrow((x - step + s / 2, y_h), cell.left, head_size=9)
            if t in ins:
                b = c.box(x, y_in, "", "input", w=s, h=s, radius=0.07)
                c.arrow(b.top, cell.bottom, head_size=9)
            if t in outs:
                b = c.box(x, y_out, "", "output", w=s, h=s, radius=0.07)
                c.arrow(cell.top, b.bottom, head_size=9)
        cx = x0 + wdt / 2
        c.text(cx, -0.2, title, size=FONT - 1, va="top", linespacing=1.1)
        if examples:
            c.text(cx, -1.3, example, size=FONT - 2, color=MUTED,
                   style="italic", va="top")
        x0 += wdt + gap
    return c.done()


# --------------------------------------------------------------------------
# BPTT
# --------------------------------------------------------------------------
def bptt_graph(steps: int = 3) -> "plt.Figure":
    r"""Backpropagation through time on the unrolled graph, in the ANNT article's terms.

    Forward (black): :math:`\mathbf{x}_t` feeds layer :math:`k` (the
    recurrent layer, state :math:`\mathbf{h}_t`), whose state feeds the layer
    above (:math:`k+1`, output :math:`\mathbf{y}_t`) and its own next step;
    each step has a cost :math:`\ell_t` (the book's notation; the article
    writes :math:`E_t`).  Backward (dark red, dashed): the
    layer above sends :math:`E_k(t)`, the gradient of the cost of step
    :math:`t`; the next step sends :math:`E'_k(t)`, the gradient of the
    *future* costs only, which is :math:`0` at the last step :math:`T`
    (``steps``, 3 by default).
    Layer :math:`k`'s backward step at :math:`t` uses
    :math:`E_k(t) + E'_k(t)`.  In the article :math:`k` indexes the layer.
    """
    dx = 2.9
    xs = [4.3 + i * dx for i in range(steps)]
    width = xs[-1] + 2.4
    c = _Canvas(width, 7.6, y0=-1.6)
    y_x, y_h, y_y, y_e = 0.4, 2.2, 4.0, 5.5
    off = 0.16
    names = [str(i + 1) for i in range(steps)]
    for label, y in [("input", y_x), (r"layer $k$", y_h), (r"layer $k{+}1$", y_y), ("cost", y_e)]:
        c.text(0.1, y, label, ha="left", color=MUTED, size=FONT - 1)
    prev = c.box(2.45, y_h, _mb("h", "0") + r"$=\mathbf{0}$", "zero", w=1.4, size=FONT - 1)
    for i, (x, t) in enumerate(zip(xs, names)):
        xin = c.box(x, y_x, _mb("x", t), "input", w=0.9)
        h = c.box(x, y_h, _mb("h", t), "state", w=0.9)
        y = c.box(x, y_y, _mb("y", t), "output", w=0.9)
        e = c.box(x, y_e, rf"$\ell_{{{t}}}$", "cost", w=0.9)
        # forward
        c.arrow(xin.top, h.bottom)
        c.arrow((x - off, h.top[1]), (x - off, y.bottom[1]))
        c.arrow((x - off, y.top[1]), (x - off, e.bottom[1]))
        c.arrow((prev.right[0], y_h + off), (h.left[0], y_h + off))
        # backward
        c.arrow((x + off, e.bottom[1]), (x + off, y.top[1]), color=GRADIENT, dashed=True)
        c.arrow((x + off, y.bottom[1]), (x + off, h.top[1]), color=GRADIENT, dashed=True)
        c.text(x + off + 0.12, (y_h + y_y) / 2, f"$E_k({t})$", color=GRADIENT, ha="left")
        if i:
            c.arrow((h.left[0], y_h - off), (prev.right[0], y_h - off), color=GRADIENT,
                    dashed=True)
            c.text((prev.right[0] + h.left[0]) / 2, y_h - off - 0.25,
                   rf"$E^{{\prime}}_{{k}}({names[i - 1]})$", color=GRADIENT, va="top")
        prev = h
    # the last step: nothing comes back from the future
    xr = xs[-1] + 0.45
    c.arrow((xr + 1.0, y_h - off), (xr, y_h - off), color=GRADIENT, dashed=True)
    c.text(xr + 0.55, y_h - off - 0.25, rf"$E^{{\prime}}_{{k}}({names[-1]})=0$",
           color=GRADIENT, va="top")
    c.text(width / 2, -0.45,
           r"layer $k$'s backward step at time $t$ uses $E_k(t) + E^{\prime}_{k}(t)$: the gradient"
           "\n"
           rf"from the layer above at $t$ plus the gradient of the future costs ($0$ at $T = {steps}$)",
           size=FONT - 1, color=MUTED, va="center", linespacing=1.5)
    # legend
    lx, ly = width / 2 - 3.0, -1.3
    c.arrow((lx, ly), (lx + 0.9, ly))
    c.text(lx + 1.1, ly, "forward", ha="left", size=FONT - 1, color=MUTED)
    c.arrow((lx + 3.3, ly), (lx + 4.2, ly), color=GRADIENT, dashed=True)
    c.text(lx + 4.4, ly, "gradient", ha="left", size=FONT - 1, color=MUTED)
    return c.done()


# --------------------------------------------------------------------------
# gated cells
# --------------------------------------------------------------------------
def _legend(c, x, y, items):
    """A row of (kind, symbol, text) legend entries starting at (x, y)."""
    for kind, symbol, text in items:
        if kind == "op":
            c.op(x, y, symbol, r=0.2, size=FONT - 1)
            x += 0.32
        elif kind == "dot":
            c.dot(x, y)
            x += 0.15
        else:
            c.box(x + 0.2, y, symbol, kind, w=0.75, h=0.42, size=FONT - 2, radius=0.06)
            x += 0.67
        c.text(x, y, text, ha="left", size=FONT - 2, color=MUTED)
        x += 0.13 * len(text) + 0.75
    return x


def _gate(c, x, y, kind, name):
    label = r"$\sigma$" if kind == "gate" else r"$\tanh$"
    return c.box(x, y, label, kind, w=0.8, h=0.56)


def lstm_cell() -> "plt.Figure":
    r"""The LSTM cell, with every gate and the cell-state path.

    From :math:`\mathbf{x}_t` and :math:`\mathbf{h}_{t-1}` the cell computes
    the pre-activations :math:`\mathbf{a}_t = \mathbf{x}_t U +
    \mathbf{h}_{t-1} W + \mathbf{b}`, one block per gate: the input gate
    :math:`\mathbf{i}_t`, the forget gate :math:`\mathbf{f}_t`, the candidate
    :math:`\mathbf{g}_t` and the output gate :math:`\mathbf{o}_t`; the cell
    state runs along the top, :math:`\mathbf{c}_t = \mathbf{f}_t \odot
    \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t`, and
    :math:`\mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t)`.
    """
    c = _Canvas(13.6, 8.7, x0=-1.3, y0=-1.6)
    y_c, y_bus, y_g, y_mid = 5.2, 1.4, 2.9, 4.1
    c.region(0.9, 0.75, 10.0, 5.85)
    c.text(1.1, 0.98, "LSTM cell", ha="left", va="center", size=FONT - 1, color=MUTED)
    gold = COLORS["carry"][1]
    # the cell-state path
    f_op = c.op(2.6, y_c, r"$\odot$")
    plus = c.op(5.0, y_c, "$+$")
    c.wire([(-0.4, y_c), f_op.left], color=gold, lw=2.6)
    c.wire([f_op.right, plus.left], color=gold, lw=2.6)
    c.wire([plus.right, (11.1, y_c)], color=gold, lw=2.6)
    c.text(-0.5, y_c, _mb("c", "t-1"), ha="right")
    c.text(11.2, y_c, _mb("c", "t"), ha="left")
    c.text(6.5, y_c + 0.3, "cell state", size=FONT - 2, color=gold, va="bottom")
    # inputs: h_{t-1} along the bottom, x_t from below
    c.wire([(-0.4, y_bus), (6.8, y_bus), (6.8, y_g - 0.28)])
    c.text(-0.5, y_bus, _mb("h", "t-1"), ha="right")
    c.wire([(1.8, 0.25), (1.8, y_bus)], head=False)
    c.dot(1.8, y_bus)
    c.text(1.8, 0.15, _mb("x", "t"), va="top")
    # the gates
    names = {"f": 2.6, "i": 3.8, "g": 5.0, "o": 6.8}
    for n, x in names.items():
        _gate(c, x, y_g, "tanh" if n == "g" else "gate", n)
        if n != "o":
            c.dot(x, y_bus)
            c.arrow((x, y_bus), (x, y_g - 0.28))
    c.arrow((2.6, y_g + 0.28), f_op.bottom)
    c.text(2.72, 4.05, _mb("f", "t"), ha="left")
    ig = c.op(5.0, y_mid, r"$\odot$")
    c.wire([(3.8, y_g + 0.28), (3.8, y_mid), ig.left])
    c.text(3.92, 3.55, _mb("i", "t"), ha="left")
    c.arrow((5.0, y_g + 0.28), ig.bottom)
    c.text(5.12, 3.55, _mb("g", "t"), ha="left")
    c.arrow(ig.top, plus.bottom)
    # the output: h_t = o_t * tanh(c_t)
    c.dot(8.1, y_c, color=gold)
    th = c.box(8.1, y_mid, r"$\tanh$", "op", w=0.8, h=0.46, radius=0.2, size=FONT - 1)
    c.arrow((8.1, y_c), th.top, color=gold, lw=1.6)
    o_op = c.op(8.1, y_g, r"$\odot$")
    c.arrow(th.bottom, o_op.top)
    c.arrow((7.2, y_g), o_op.left)
    c.text(7.45, y_g + 0.12, _mb("o", "t"), va="bottom", size=FONT - 1)
    c.wire([o_op.bottom, (8.1, y_bus), (11.1, y_bus)])
    c.text(11.2, y_bus, _mb("h", "t"), ha="left")
    c.dot(9.2, y_bus)
    c.hop(9.2, y_c, lw=2.6)
    c.wire([(9.2, y_bus), (9.2, 6.55)], zorder=3)
    c.text(9.2, 6.65, _mb("h", "t"), va="bottom")
    # what it computes
    c.text(4.9, -0.6,
           r"$[\mathbf{a}^i_t\ \mathbf{a}^f_t\ \mathbf{a}^g_t\ \mathbf{a}^o_t]"
           r" = \mathbf{x}_t U + \mathbf{h}_{t-1} W + \mathbf{b},\quad"
           r"\mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t,"
           r"\quad \mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t)$",
           size=FONT - 1, color=INK)
    _legend(c, 0.0, -1.25, [("gate", r"$\sigma$", "sigmoid layer"),
                            ("tanh", r"$\tanh$", "tanh layer"),
                            ("op", r"$\odot$", "elementwise product"),
                            ("op", "$+$", "sum"), ("dot", "", "copy")])
    return c.done()


def gru_cell(reset_after: bool = False) -> "plt.Figure":
    r"""The GRU cell in one of its two conventions.

    The state runs along the top (gold):
    :math:`\mathbf{h}_t = (1 - \mathbf{z}_t) \odot \mathbf{h}_{t-1} +
    \mathbf{z}_t \odot \mathbf{n}_t`.  The update gate :math:`\mathbf{z}_t`
    and the reset gate :math:`\mathbf{r}_t` read :math:`\mathbf{x}_t` and
    :math:`\mathbf{h}_{t-1}`; the candidate :math:`\mathbf{n}_t` is drawn
    with its recurrent product :math:`W_n` explicit, because that is where the
    conventions differ.  ``reset_after=False`` (Cho et al., the ANNT article,
    ``annt.GRU()``): :math:`\mathbf{n}_t = \tanh(\mathbf{x}_t U_n +
    (\mathbf{r}_t \odot \mathbf{h}_{t-1}) W_n + \mathbf{b}_n)`.
    ``reset_after=True`` (PyTorch, Keras/cuDNN, ``annt.GRU(reset_after=True)``):
    :math:`\mathbf{n}_t = \tanh(\mathbf{x}_t U_n + \mathbf{b}_n + \mathbf{r}_t
    \odot (\mathbf{h}_{t-1} W_n + \mathbf{b}_{hn}))`.
    """
    c = _Canvas(14.2, 10.0, x0=-1.3, y0=-2.05)
    y_top, y_z, y_g, y_h, y_x = 5.6, 4.5, 3.3, 1.9, 1.0
    c.region(0.9, 0.55, 10.6, 6.3)
    title = ("reset after the product (PyTorch; annt.GRU(reset_after=True))" if reset_after
             else "reset before the product (Cho et al., ANNT; annt.GRU())")
    c.text(-1.2, 7.2, "GRU cell, " + title, ha="left", va="bottom", size=FONT - 1)
    gold = COLORS["carry"][1]
    # the state path along the top
    keep = c.op(2.3, y_top, r"$\odot$")
    plus = c.op(8.9, y_top, "$+$")
    c.wire([(-0.4, y_top), keep.left], color=gold, lw=2.6)
    c.wire([keep.right, plus.left], color=gold, lw=2.6)
    c.wire([plus.right, (11.7, y_top)], color=gold, lw=2.6)
    c.text(-0.5, y_top, _mb("h", "t-1"), ha="right")
    c.text(11.8, y_top, _mb("h", "t"), ha="left")
    c.dot(9.9, y_top, color=gold)
    c.wire([(9.9, y_top), (9.9, 7.0)], color=gold, lw=1.6)
    c.text(9.9, 7.1, _mb("h", "t"), va="bottom")
    # h_{t-1} taps down to the h line; x_t comes in from below
    c.dot(1.2, y_top, color=gold)
    c.wire([(1.2, y_top), (1.2, y_h), (5.0, y_h)], head=False)
    c.wire([(1.8, 0.1), (1.8, y_x), (8.9, y_x), (8.9, y_x + 0.3)], head=False)
    c.dot(1.8, y_x)
    c.text(1.8, 0.0, _mb("x", "t"), va="top")
    # the gates z and r, each reading x_t and h_{t-1}
    for x, name in [(3.2, "z"), (4.6, "r")]:
        _gate(c, x, y_g, "gate", name)
        c.dot(x + 0.18, y_h)
        c.arrow((x + 0.18, y_h), (x + 0.18, y_g - 0.28))
        c.dot(x - 0.18, y_x)
        c.hop(x - 0.18, y_h)
        c.wire([(x - 0.18, y_x), (x - 0.18, y_g - 0.28)], zorder=3)
    # z: 1 - z keeps the old state, z takes the candidate
    c.wire([(3.2, y_g + 0.28), (3.2, y_z)], head=False)
    c.dot(3.2, y_z)
    c.text(3.32, y_g + 0.55, _mb("z", "t"), ha="left")
    one_minus = c.box(2.3, y_z, r"$1-$", "op", w=0.62, h=0.44, radius=0.2, size=FONT - 1)
    c.arrow((3.2, y_z), one_minus.right)
    c.arrow(one_minus.top, keep.bottom)
    take = c.op(8.9, y_z, r"$\odot$")
    c.arrow((3.2, y_z), take.left)
    c.arrow(take.top, plus.bottom)
    # the candidate n_t = tanh(x_t U_n + ... W_n ...), W_n explicit
    x_r1, x_r2 = 6.0, 7.4
    s_n = c.op(8.9, y_h + 0.0, "$+$")
    if reset_after:
        mat = c.box(x_r1, y_h, r"$W_n,\,\mathbf{b}_{hn}$", "matrix", w=1.15, h=0.5, size=FONT - 1)
        r_op = c.op(x_r2, y_h, r"$\odot$")
        c.arrow((5.0, y_h), mat.left)
        c.arrow(mat.right, r_op.left)
        c.arrow(r_op.right, s_n.left)
        x_r = x_r2
    else:
        r_op = c.op(x_r1, y_h, r"$\odot$")
        mat = c.box(x_r2, y_h, r"$W_n$", "matrix", w=0.75, h=0.5, size=FONT - 1)
        c.arrow((5.0, y_h), r_op.left)
        c.arrow(r_op.right, mat.left)
        c.arrow(mat.right, s_n.left)
        x_r = x_r1
    c.wire([(4.6, y_g + 0.28), (4.6, y_g + 0.55), (x_r, y_g + 0.55), r_op.top])
    c.text(4.72, y_g + 0.55, _mb("r", "t"), ha="left", va="bottom")
    c.arrow((8.9, y_x + 0.3), s_n.bottom)
    c.text(8.78, y_x + 0.17, r"$\mathbf{x}_t U_n + \mathbf{b}_n$", ha="right", va="bottom",
           size=FONT - 1)
    cand = _gate(c, 8.9, y_g, "tanh", "n")
    c.arrow(s_n.top, cand.bottom)
    c.arrow(cand.top, take.bottom)
    c.text(9.02, y_g + 0.55, _mb("n", "t"), ha="left")
    eq = (r"$\mathbf{n}_t = \tanh(\mathbf{x}_t U_n + \mathbf{b}_n + \mathbf{r}_t \odot"
          r" (\mathbf{h}_{t-1} W_n + \mathbf{b}_{hn}))$" if reset_after else
          r"$\mathbf{n}_t = \tanh(\mathbf{x}_t U_n + (\mathbf{r}_t \odot \mathbf{h}_{t-1})"
          r" W_n + \mathbf{b}_n)$")
    c.text(5.2, -0.55,
           r"$\mathbf{z}_t = \sigma(\mathbf{x}_t U_z + \mathbf{h}_{t-1} W_z + \mathbf{b}_z),\ "
           r"\mathbf{r}_t = \sigma(\mathbf{x}_t U_r + \mathbf{h}_{t-1} W_r + \mathbf{b}_r),\ "
           r"\mathbf{h}_t = (1 - \mathbf{z}_t) \odot \mathbf{h}_{t-1} + \mathbf{z}_t \odot"
           r" \mathbf{n}_t$", size=FONT - 1)
    c.text(5.2, -1.05, eq, size=FONT - 1)
    _legend(c, 0.0, -1.65, [("gate", r"$\sigma$", "sigmoid layer"),
                            ("tanh", r"$\tanh$", "tanh layer"),
                            ("matrix", "$W$", "matrix product"),
                            ("op", r"$\odot$", "elementwise product")])
    return c.done()


# --------------------------------------------------------------------------
# layouts: stacked, bidirectional, encoder-decoder
# --------------------------------------------------------------------------
def stacked_rnn(layers: int = 2, steps: int = 3) -> "plt.Figure":
    r"""Recurrent layers stacked in depth: time runs right, depth runs up.

    Layer :math:`k` reads layer :math:`k-1`'s state at the same step and its
    own previous state, :math:`\mathbf{h}^{(k)}_t = f^{(k)}(\mathbf{h}^{(k-1)}_t,
    \mathbf{h}^{(k)}_{t-1})` with :math:`\mathbf{h}^{(0)}_t = \mathbf{x}_t` and
    :math:`\mathbf{h}^{(k)}_0 = \mathbf{0}`; an output layer reads the top one
    and gives :math:`\mathbf{y}_t`.
    """
    dx, dy = 2.3, 1.55
    xs = [4.1 + i * dx for i in range(steps)]
    rows = [0.4 + dy * (k + 1) for k in range(layers)]
    y_out = rows[-1] + dy
    width = xs[-1] + 1.2
    c = _Canvas(width, y_out + 1.4, y0=-0.75, x0=-0.2)
    for i, x in enumerate(xs):
        t = str(i + 1)
        below = c.box(x, 0.4, _mb("x", t), "input", w=0.9)
        for k, y in enumerate(rows, start=1):
            cell = c.box(x, y, _mb("h", t, f"({k})"), "state", w=1.05, h=0.7)
            c.arrow(below.top, cell.bottom)
            if i == 0:
                zero = c.box(x - 2.05, y, _mb("h", "0", f"({k})") + r"$=\mathbf{0}$", "zero",
                             w=1.55, size=FONT - 1)
                c.arrow(zero.right, cell.left)
                c.text(0.05, y, f"layer {k}", ha="left", color=MUTED, size=FONT - 1)
            else:
                c.arrow((x - dx + 0.525, y), cell.left)
            below = cell
        out = c.box(x, y_out, _mb("y", t), "output", w=0.9)
        c.arrow(below.top, out.bottom)
    c.text((xs[0] + xs[-1]) / 2, -0.45,
           r"$\mathbf{h}^{(k)}_t = f^{(k)}(\mathbf{h}^{(k-1)}_t,\ \mathbf{h}^{(k)}_{t-1}),"
           r"\quad \mathbf{h}^{(0)}_t = \mathbf{x}_t$", size=FONT - 1, color=MUTED)
    return c.done()


def bidirectional_rnn(steps: int = 3) -> "plt.Figure":
    r"""A bidirectional layer: a forward and a backward recurrent layer, merged.

    The forward layer (green) reads :math:`\mathbf{x}_1, \dots,
    \mathbf{x}_T` from :math:`\overrightarrow{\mathbf{h}}_0 = \mathbf{0}`,
    the backward layer (teal) reads them in reverse from
    :math:`\overleftarrow{\mathbf{h}}_{T+1} = \mathbf{0}`; the output at
    step :math:`t`, the layer's output :math:`\mathbf{h}_t`, merges both
    states, e.g. by concatenation
    :math:`[\overrightarrow{\mathbf{h}}_t, \overleftarrow{\mathbf{h}}_t]`.
    """
    dx, sh = 2.7, 0.5
    xs = [5.0 + i * dx for i in range(steps)]
    width = xs[-1] + 3.45
    c = _Canvas(width, 7.0, y0=-1.0)
    y_x, y_f, y_b, y_y = 0.4, 2.0, 3.65, 5.3
    fwd = lambda t: r"$\overrightarrow{\mathbf{h}}_{" + t + "}$"   # noqa: E731
    bwd = lambda t: r"$\overleftarrow{\mathbf{h}}_{" + t + "}$"    # noqa: E731
    c.text(0.05, y_f, "forward", ha="left", color=MUTED, size=FONT - 1)
    c.text(0.05, y_b, "backward", ha="left", color=MUTED, size=FONT - 1)
    f_cells, b_cells = [], []
    for i, x in enumerate(xs):
        t = str(i + 1)
        xin = c.box(x, y_x, _mb("x", t), "input", w=0.9)
        f = c.box(x - sh, y_f, fwd(t), "state", w=0.9, h=0.68)
        b = c.box(x + sh, y_b, bwd(t), "state2", w=0.9, h=0.68)
        y = c.box(x, y_y, _mb("h", t), "output", w=0.9)
        f_cells.append(f)
        b_cells.append(b)
        c.arrow((x - 0.2, xin.top[1]), (x - sh, f.bottom[1]))
        c.arrow((x + 0.2, xin.top[1]), (x + sh, b.bottom[1]), zorder=3)
        c.arrow((x + sh, b.top[1]), (x + 0.2, y.bottom[1]))
        c.arrow((x - sh, f.top[1]), (x - 0.2, y.bottom[1]), zorder=3)
    # the forward recurrence, left to right; the backward one, right to left
    zf = c.box(f_cells[0].x - 2.0, y_f, fwd("0") + r"$=\mathbf{0}$", "zero", w=1.45,
               size=FONT - 1)
    c.arrow(zf.right, f_cells[0].left)
    for a, b in zip(f_cells, f_cells[1:]):
        c.arrow(a.right, b.left)
    zb = c.box(b_cells[-1].x + 2.0, y_b, bwd(str(steps + 1)) + r"$=\mathbf{0}$", "zero",
               w=1.45, size=FONT - 1)
    c.arrow(zb.left, b_cells[-1].right)
    for a, b in zip(b_cells[1:], b_cells):
        c.arrow(a.left, b.right)
    # where the slanted arrows pass over the horizontal ones
    for i, x in enumerate(xs):
        if i < steps - 1:      # x_t -> backward cell over the forward arrow to t+1
            yy = y_f
            xx = x + 0.2 + (sh - 0.2) * (yy - (y_x + 0.31)) / ((y_b - 0.34) - (y_x + 0.31))
            c.hop(xx, yy, background="white")
        if i > 0:              # forward cell -> y_t over the backward arrow to t-1
            yy = y_b
            xx = x - sh + (sh - 0.2) * (yy - (y_f + 0.34)) / ((y_y - 0.31) - (y_f + 0.34))
            c.hop(xx, yy, background="white")
    c.text((xs[0] + xs[-1]) / 2, -0.5,
           r"$\mathbf{h}_t = [\overrightarrow{\mathbf{h}}_t,\ \overleftarrow{\mathbf{h}}_t]$"
           "  (merge='concat'; or their sum or mean)", size=FONT - 1, color=MUTED)
    return c.done()


def encoder_decoder(source_steps: int = 4, target_steps: int = 3) -> "plt.Figure":
    r"""Sequence to sequence: an encoder reads the source, a decoder writes the target.

    The encoder's last state, the message :math:`\mathbf{m} = \mathbf{h}_T`,
    is the decoder's first state :math:`\mathbf{s}_0` (the only path from
    source to target); the decoder starts from the symbol
    :math:`\langle\mathrm{go}\rangle` and is fed the previous symbol: the
    true one in training (teacher forcing), its own prediction at inference
    (dashed).
    """
    dx = 1.75
    xe = [2.9 + i * dx for i in range(source_steps)]
    gap = 3.5
    xd = [xe[-1] + gap + i * dx for i in range(target_steps)]
    width = xd[-1] + 1.2
    c = _Canvas(width, 6.35, y0=-1.3)
    y_x, y_h, y_y = 0.45, 2.2, 3.95
    c.region(0.2, -0.2, xe[-1] + 0.85, 3.05, kind="group", radius=0.25)
    c.region(xd[0] - 0.85, -0.2, xd[-1] + 0.9, 4.75, kind="group", radius=0.25)
    c.text(0.4, 2.8, "encoder", ha="left", color=MUTED, size=FONT - 1)
    c.text(xd[0] - 0.65, 4.5, "decoder", ha="left", color=MUTED, size=FONT - 1)
    prev = c.box(1.1, y_h, _mb("h", "0") + r"$=\mathbf{0}$", "zero", w=1.35, size=FONT - 1)
    for i, x in enumerate(xe):
        t = str(i + 1) if i < source_steps - 1 else "T"
        xin = c.box(x, y_x, _mb("x", t), "input", w=0.9)
        h = c.box(x, y_h, _mb("h", t), "state", w=0.9)
        c.arrow(xin.top, h.bottom)
        c.arrow(prev.right, h.left)
        prev = h
    gold = COLORS["carry"][1]
    outs = []
    for k, x in enumerate(xd, start=1):
        label = r"$\langle\mathrm{go}\rangle$" if k == 1 else rf"$y_{{{k - 1}}}$"
        u = c.box(x, y_x, label, "input", w=0.9)
        s = c.box(x, y_h, _mb("s", str(k)), "state2", w=0.9)
        y = c.box(x, y_y, r"$\hat{y}_{" + str(k) + "}$", "output", w=0.9)
        c.arrow(u.top, s.bottom)
        c.arrow(s.top, y.bottom)
        if k == 1:
            c.arrow(prev.right, s.left, color=gold, lw=2.6)
            c.text((prev.right[0] + s.left[0]) / 2, y_h + 0.3,
                   r"$\mathbf{s}_0 = \mathbf{m} = \mathbf{h}_T$", va="bottom", color=gold)
        else:
            c.arrow(prev.right, s.left)
        if outs:
            c.curve((outs[-1].right[0], y_y - 0.1), (u.left[0], y_x + 0.1), rad=-0.15,
                    color=MUTED, dashed=True)
        outs.append(y)
        prev = s
    c.text(width / 2, -0.75,
           r"decoder input: the true previous symbol in training, its own prediction at "
           r"inference (dashed)", size=FONT - 1, color=MUTED)
    return c.done()


ALT: dict[str, str] = {
    "unrolled_rnn": (
        "Left, a recurrent unit: the input x_t enters a tanh cell through the weights U, the "
        "cell outputs the state h_t and feeds it back to itself through the weights W. Right, "
        "the same unit unrolled in time: h_0 = 0, then one copy of the cell per step, each "
        "taking x_t through U and the previous state through W and emitting h_t; the same U, "
        "W and b at every step."),
    "jordan_rnn": (
        "Two networks unrolled over three steps, each with inputs x_t at the bottom, a tanh "
        "hidden layer h_t in the middle and outputs y_t on top. Above, the Elman network: "
        "each hidden state h_t passes to the next step's hidden layer through the weights W, "
        "from h_0 = 0. Below, the Jordan network: each output y_t passes, on a diagonal "
        "arrow, to the next step's hidden layer through W, from y_0 = 0; its hidden states "
        "are not passed on."),
    "sequence_shapes": (
        "Five diagrams of recurrent networks with inputs in red, recurrent units in green and "
        "outputs in blue: one-to-one (one input, one output), one-to-many (one input, an output "
        "at each of four steps), many-to-one (four inputs, one output at the end), many-to-many "
        "synced (an output at every input step) and many-to-many unsynced (three inputs read "
        "first, then three outputs)."),
    "bptt_graph": (
        "The unrolled network over T steps: inputs x_t feed the recurrent layer k (states h_t, "
        "h_0 = 0), which feeds the layer above (outputs y_t) and its next step; each step has a "
        "cost l_t. Dashed gradient arrows run backwards: from each cost down to h_t, labelled "
        "E_k(t), and from each state to the one before, labelled E'_k(t); at the last step "
        "E'_k(T) = 0. The backward step at t uses E_k(t) + E'_k(t)."),
    "lstm_cell": (
        "An LSTM cell. The cell state runs along the top from c_(t-1) to c_t: it is multiplied "
        "elementwise by the forget gate f_t, then the product of the input gate i_t and the "
        "tanh candidate g_t is added. Below, h_(t-1) and x_t feed the four layers: sigmoid "
        "gates f_t, i_t, o_t and the tanh candidate g_t. On the right, tanh of the new cell "
        "state is multiplied by the output gate o_t to give h_t, which leaves to the right and "
        "upwards."),
    "gru_cell": (
        "A GRU cell with the reset before the product. The state runs along the top from "
        "h_(t-1) to h_t: it is multiplied by 1 - z_t, and z_t times the candidate n_t is added. "
        "The update gate z_t and the reset gate r_t are sigmoid layers reading x_t and h_(t-1). "
        "The candidate's recurrent input is r_t times h_(t-1), then multiplied by W_n, added to "
        "x_t U_n + b_n and passed through tanh."),
    "gru_cell_reset_after": (
        "A GRU cell with the reset after the product. The state runs along the top from "
        "h_(t-1) to h_t: it is multiplied by 1 - z_t, and z_t times the candidate n_t is added. "
        "The update gate z_t and the reset gate r_t are sigmoid layers reading x_t and h_(t-1). "
        "The candidate's recurrent input is h_(t-1) W_n + b_hn, then multiplied by r_t, added "
        "to x_t U_n + b_n and passed through tanh."),
    "stacked_rnn": (
        "Two recurrent layers stacked over three steps: inputs x_1 to x_3 feed layer 1, whose "
        "states h^(1)_t feed layer 2 at the same step; each layer also passes its state to its "
        "next step, starting from zero; the top layer's states give the outputs y_t."),
    "bidirectional_rnn": (
        "A bidirectional layer over three steps: each input x_t feeds a forward cell, whose "
        "states run left to right from a zero state, and a backward cell, whose states run "
        "right to left from a zero state after the last step; the layer's output h_t joins the "
        "forward and the backward state of step t."),
    "encoder_decoder": (
        "An encoder-decoder. The encoder reads x_1 to x_T from h_0 = 0; its last state, the "
        "message m = h_T, is the decoder's initial state s_0, drawn as a thick arrow. The decoder starts "
        "from the symbol go, outputs y-hat_1 to y-hat_3, and takes the previous symbol as its "
        "next input; dashed arrows feed its own predictions back at inference."),
}


def alt_text(name: str) -> str:
    """The alt text of a diagram at its default arguments (see :data:`ALT`).

    ``name`` is the function's name (``"gru_cell_reset_after"`` for
    ``gru_cell(reset_after=True)``).
    """
    return ALT[name]
