"""Checks moved out of the chapters of Part I, and the Jordan diagram.

* float32 layers against a float64 loop on the same (float32-rounded) weights,
  over 50 steps: the difference is the rounding of float32 arithmetic and does
  not build up along the sequence (was in the chapter "The simple RNN and the
  Jordan network"; the Numba/NumPy-backend and float64 parity it also showed
  are in test_kernels.py).
* ``annt.viz.diagrams.jordan_rnn`` renders deterministically and has alt text.
"""
from __future__ import annotations

import numpy as np
import pytest

import annt

N, T, D, H = 8, 50, 3, 16


def _elman_loop(x, U, W, b, V, c):
    h = np.zeros((x.shape[0], W.shape[0]))
    ys = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ U + h @ W + b)
        ys.append(h @ V + c)
    return np.stack(ys, axis=1)


def _jordan_loop(x, U, W, b, V, c, g):
    y = np.zeros((x.shape[0], V.shape[1]))
    ys = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ U + y @ W + b)
        y = g(h @ V + c)
        ys.append(y)
    return np.stack(ys, axis=1)


def test_float32_elman_network_follows_float64_loop_over_50_steps():
    rng = np.random.default_rng(1)
    x64 = rng.standard_normal((N, T, D))
    net = annt.Network([annt.RNN(D, H, rng=7), annt.Dense(H, 2, rng=8)])
    bias_rng = np.random.default_rng(9)
    net.layers[0].params["b"][:] = bias_rng.uniform(-0.5, 0.5, H)
    net.layers[1].params["b"][:] = bias_rng.uniform(-0.5, 0.5, 2)
    rnn, out = net.layers
    weights = [p.astype(np.float64) for p in
               (rnn.params["U"], rnn.params["W"], rnn.params["b"], out.params["W"], out.params["b"])]
    y32 = net.forward(x64.astype(np.float32))
    assert y32.dtype == np.float32
    assert np.abs(y32 - _elman_loop(x64, *weights)).max() < 1e-5


@pytest.mark.parametrize("out_act,g", [("tanh", np.tanh), ("identity", lambda a: a),
                                       ("sigmoid", lambda a: 1 / (1 + np.exp(-a)))])
def test_float32_jordan_layer_follows_float64_loop_over_50_steps(out_act, g):
    rng = np.random.default_rng(1)
    x64 = rng.standard_normal((N, T, D))
    layer = annt.Jordan(D, H, 2, output_activation=out_act, rng=11)
    bias_rng = np.random.default_rng(12)
    layer.params["b"][:] = bias_rng.uniform(-0.5, 0.5, H)
    layer.params["c"][:] = bias_rng.uniform(-0.5, 0.5, 2)
    p = [layer.params[k].astype(np.float64) for k in "UWbVc"]
    y32 = layer.forward(x64.astype(np.float32))
    assert y32.dtype == np.float32
    assert np.abs(y32 - _jordan_loop(x64, *p, g=g)).max() < 1e-5


@pytest.mark.parametrize("elman", [True, False])
def test_jordan_diagram_renders_deterministically(elman):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from annt.viz import diagrams, frames

    first = diagrams.jordan_rnn(elman=elman)
    assert isinstance(first, matplotlib.figure.Figure)
    a = frames.png_bytes(first, colors=None)
    b = frames.png_bytes(diagrams.jordan_rnn(elman=elman), colors=None)
    assert a == b
    assert 5_000 < len(a) < 120_000
    assert len(diagrams.alt_text("jordan_rnn")) > 80
    assert "jordan_rnn" in diagrams.__all__
