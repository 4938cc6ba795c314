"""Figures for the book: interactive figures that need no kernel, and diagrams.

Two modules, imported on first use (``import annt`` imports neither, nor
matplotlib or ipywidgets):

``annt.viz.frames``
    An interactive figure whose frames are computed in the notebook (one
    matplotlib figure per value of a slider, dropdown or ``Play`` control,
    stored as PNG images) and switched in the browser, so that it works in
    the static HTML book without a kernel, and live in Jupyter.

``annt.viz.diagrams``
    The book's diagrams, drawn by code with one look: the RNN unrolled in
    time, the five input/output shapes, the BPTT graph, the LSTM and GRU
    cells, stacked and bidirectional layouts, the encoder-decoder.

Both need matplotlib (and ``frames`` ipywidgets), which the book's
requirements install; the rest of annt does not.
"""
from __future__ import annotations

import importlib

__all__ = ["diagrams", "frames"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
