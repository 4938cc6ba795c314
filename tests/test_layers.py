"""Layers refuse impossible settings when they are built, saying what they expected."""
import numpy as np
import pytest

from annt import (GRU, LSTM, RNN, Bidirectional, Dense, Dropout, Jordan, Network, Sigmoid,
                  Softmax, Tanh)

BUILDERS = {
    "Dense": lambda **kw: Dense(3, 2, **kw),
    "RNN": lambda **kw: RNN(3, 2, **kw),
    "LSTM": lambda **kw: LSTM(3, 2, **kw),
    "GRU": lambda **kw: GRU(3, 2, **kw),
    "Jordan": lambda **kw: Jordan(3, 2, 2, **kw),
    "Tanh": lambda **kw: Tanh(**kw),
    "Softmax": lambda **kw: Softmax(**kw),
    "Dropout": lambda **kw: Dropout(0.1, **kw),
}


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.complex64, "object", np.longdouble])
@pytest.mark.parametrize("kind", list(BUILDERS))
def test_only_float32_and_float64_layers(kind, dtype):
    """float16 used to fail later in Numba with a raw NotImplementedError, int32 with a
    page-long TypingError."""
    with pytest.raises(TypeError) as info:
        BUILDERS[kind](dtype=dtype)
    msg = str(info.value)
    assert kind in msg and "dtype must be float32 or float64" in msg, msg
    assert str(np.dtype(dtype)) in msg, msg


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_and_float64_layers(dtype):
    for build in BUILDERS.values():
        assert build(dtype=dtype).dtype == np.dtype(dtype)


def test_astype_refuses_other_dtypes():
    layer = GRU(3, 2)
    with pytest.raises(TypeError, match=r"GRU\(3 -> 2\): dtype must be float32 or float64"):
        layer.astype(np.float16)
    assert layer.dtype == np.float32 and layer.params["W"].dtype == np.float32
    net = Network([Bidirectional(LSTM(3, 2)), Dense(4, 1), Sigmoid()])
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        net.astype(np.int64)
    assert net.astype(np.float64).dtype == np.float64


def test_a_dtype_that_is_not_a_dtype():
    with pytest.raises(TypeError, match="Dense: dtype must be float32 or float64, got 'fp32'"):
        Dense(3, 2, dtype="fp32")


@pytest.mark.parametrize("value, error, found", [
    (0, ValueError, "got 0"), (-4, ValueError, "got -4"), (2.9, TypeError, "got 2.9 (float)"),
    (3.0, TypeError, "got 3.0 (float)"), (True, TypeError, "got True (bool)"),
    ("3", TypeError, "got '3' (str)"), (None, TypeError, "got None (NoneType)")])
@pytest.mark.parametrize("build, what", [
    (lambda n: Dense(n, 2), "Dense: input_size"), (lambda n: Dense(3, n), "Dense: output_size"),
    (lambda n: RNN(3, n), "RNN: hidden_size"), (lambda n: LSTM(3, n), "LSTM: hidden_size"),
    (lambda n: GRU(n, 4), "GRU: input_size"), (lambda n: GRU(3, n), "GRU: hidden_size"),
    (lambda n: Jordan(3, 4, n), "Jordan: output_size"),
    (lambda n: Bidirectional(LSTM(n, 2)), "LSTM: input_size")])
def test_sizes_are_positive_integers(build, what, value, error, found):
    with pytest.raises(error) as info:
        build(value)
    msg = str(info.value)
    assert f"{what} must be a positive integer, {found}" in msg, msg


def test_numpy_integer_sizes_are_fine():
    layer = LSTM(np.int64(3), np.int32(4))
    assert (layer.input_size, layer.hidden_size) == (3, 4)
    assert type(layer.input_size) is int and layer.params["W"].shape == (4, 16)
