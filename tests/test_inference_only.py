"""Inference without the backward caches: NetworkInference.predict runs the
recurrent layers inside ``inference_only``; the LSTM then uses its inference
kernel, which must give the outputs and final state of the training path (the
GRU's bit for bit; the LSTM's to rounding, as it projects its inputs inside the
time loop)."""
import numpy as np
import pytest

import annt
from annt.kernels import reference as ref
from annt.layers.recurrent import inference_only


def _lstm_inputs(dtype, N=7, T=9, D=3, H=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    U = (0.5 * rng.standard_normal((D, 4 * H))).astype(dtype)
    W = (0.4 * rng.standard_normal((H, 4 * H))).astype(dtype)
    b = (0.2 * rng.standard_normal(4 * H)).astype(dtype)
    h0 = (0.3 * rng.standard_normal((N, H))).astype(dtype)
    c0 = (0.3 * rng.standard_normal((N, H))).astype(dtype)
    mask = np.ones((N, T), dtype)
    mask[2, 5:] = 0
    mask[6, 1:] = 0
    return x, U, W, b, h0, c0, mask


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("N, n_threads", [(7, 2), (40, 2), (32, 1), (32, 2), (48, 2), (64, 2)])
def test_lstm_infer_kernel_agrees_with_forward_kernel(dtype, tol, N, n_threads, threads):
    """The inference kernel projects the inputs inside its time loop, in one
    product with the recurrence: the same numbers as the training path to
    rounding, the masked steps keep their state exactly. Blocks of 7, 20 and
    24 sequences run in rows, blocks of 16 and 32 in columns."""
    annt.set_num_threads(n_threads)
    x, U, W, b, h0, c0, mask = _lstm_inputs(dtype, N=N)
    Hs, Cs, _ = annt.kernels.lstm_forward(x @ U + b, W, h0, c0, mask)
    Hs_i, c_last = annt.kernels.lstm_forward_infer(x, U, W, b, h0, c0, mask)
    assert Hs_i.dtype == dtype and c_last.dtype == dtype
    assert np.abs(Hs_i - Hs).max() < tol
    assert np.abs(c_last - Cs[:, -1]).max() < tol
    np.testing.assert_array_equal(Hs_i[6, 1:], np.repeat(Hs_i[6, :1], 8, axis=0))
    np.testing.assert_array_equal(Hs_i[2, 5:], np.repeat(Hs_i[2, 4:5], 4, axis=0))


@pytest.mark.parametrize("N, n_threads, layout", [(7, 2, "rows"), (40, 2, "rows"), (48, 2, "rows"),
                                                  (32, 1, "columns"), (32, 2, "columns"),
                                                  (64, 2, "columns")])
def test_lstm_infer_kernel_lays_out_blocks_of_16_along_the_batch(N, n_threads, layout, threads,
                                                                monkeypatch):
    annt.set_num_threads(n_threads)
    used = []
    real = annt.kernels.lstm.run_blocks
    monkeypatch.setattr(annt.kernels.lstm, "run_blocks",
                        lambda rows, *a: used.append(rows.py_func.__name__) or real(rows, *a))
    x, U, W, b, h0, c0, mask = _lstm_inputs(np.float32, N=N)
    expected = ref.lstm_forward_infer(x, U, W, b, h0, c0, mask)
    got = annt.kernels.lstm_forward_infer(x, U, W, b, h0, c0, mask)
    assert used == [f"_lstm_infer_{layout}"]
    for g, e in zip(got, expected):
        assert np.abs(g - e).max() < 2e-6


def test_lstm_infer_reference_matches_kernel():
    x, U, W, b, h0, c0, mask = _lstm_inputs(np.float64)
    Hs_r, c_r = ref.lstm_forward_infer(x, U, W, b, h0, c0, mask)
    Hs_k, c_k = annt.kernels.lstm_forward_infer(x, U, W, b, h0, c0, mask)
    assert np.abs(Hs_r - Hs_k).max() < 1e-12
    assert np.abs(c_r - c_k).max() < 1e-12


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_predict_equals_forward_and_keeps_no_cache(backend):
    annt.set_seed(0)
    net = annt.Network([annt.LSTM(3, 6, backend=backend), annt.Dense(6, 2), annt.Softmax()])
    X = np.random.default_rng(1).uniform(-1, 1, (5, 8, 3)).astype(np.float32)
    expected = net.forward(X)
    final = net.final_states[0]
    got = annt.NetworkInference(net).predict(X)
    assert got.dtype == expected.dtype
    assert np.abs(got - expected).max() < 1e-6       # (the LSTM's inference kernel: to rounding)
    for a, b in zip(net.final_states[0], final):
        assert np.abs(a - b).max() < 1e-6
    lstm = net.layers[0]
    assert lstm.cache is None
    assert lstm.keep_cache is True                  # restored after predict
    with pytest.raises(RuntimeError, match="backward needs the cache of a forward pass"):
        lstm.backward(np.ones((5, 8, 6), np.float32))


def test_inference_only_reaches_bidirectional_layers_and_restores_on_error():
    annt.set_seed(0)
    bi = annt.Bidirectional(annt.LSTM(3, 4))
    net = annt.Network([bi, annt.Dense(8, 2)])
    X = np.zeros((2, 5, 3), np.float32)
    with pytest.raises(ZeroDivisionError):
        with inference_only(net):
            assert not bi.forward_layer.keep_cache and not bi.backward_layer.keep_cache
            1 / 0
    assert bi.forward_layer.keep_cache and bi.backward_layer.keep_cache
    y = annt.NetworkInference(net).predict(X)
    assert np.abs(y - net.forward(X)).max() < 1e-6
    net.backward(np.ones_like(y))                    # forward keeps its cache again


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("N", [7, 40])
def test_gru_infer_kernel_equals_forward_kernel(dtype, reset_after, N):
    rng = np.random.default_rng(3)
    T, H = 9, 5
    xw = rng.standard_normal((N, T, 3 * H)).astype(dtype)
    W = (0.4 * rng.standard_normal((H, 3 * H))).astype(dtype)
    b_hn = (0.1 * rng.standard_normal(H)).astype(dtype)
    h0 = (0.3 * rng.standard_normal((N, H))).astype(dtype)
    mask = np.ones((N, T), dtype)
    mask[2, 5:] = 0
    Hs = annt.kernels.gru_forward(xw, W, b_hn, h0, mask, reset_after)[0]
    np.testing.assert_array_equal(
        annt.kernels.gru_forward_infer(xw, W, b_hn, h0, mask, reset_after), Hs)
    if dtype == np.float64:
        assert np.abs(ref.gru_forward_infer(xw, W, b_hn, h0, mask, reset_after) - Hs).max() < 1e-12


@pytest.mark.parametrize("reset_after", [False, True])
def test_gru_predict_equals_forward(reset_after):
    annt.set_seed(0)
    net = annt.Network([annt.GRU(3, 6, reset_after=reset_after, return_sequences=False),
                        annt.Dense(6, 2), annt.Softmax()])
    X = np.random.default_rng(1).uniform(-1, 1, (20, 8, 3)).astype(np.float32)
    expected = net.forward(X)
    np.testing.assert_array_equal(annt.NetworkInference(net).predict(X), expected)
    assert net.layers[0].cache is None
