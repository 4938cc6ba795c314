"""Networks and files shared by the model-file tests (test_io*.py)."""
import json

import numpy as np
import pytest
import safetensors.numpy

import annt
from annt import (GRU, LSTM, RNN, Bidirectional, Dense, Dropout, Identity, Jordan, Network,
                  ReLU, Sigmoid, Softmax, Tanh)


def perturb(net, seed):
    rng = np.random.default_rng(seed)
    for _, p, _ in net.parameters():        # non-zero biases, not just the init
        p[...] += rng.normal(0, 0.1, p.shape).astype(p.dtype)
    return net


def net_recurrent_zoo(dtype=np.float32):
    rng = np.random.default_rng(1)
    kw = dict(dtype=dtype, rng=rng)
    return Network([
        RNN(3, 5, activation="relu", **kw), Dropout(0.3, dtype=dtype, rng=rng),
        LSTM(5, 4, **kw), GRU(4, 6, reset_after=True, **kw), GRU(6, 4, **kw),
        Jordan(4, 5, 3, activation="relu", output_activation="sigmoid", **kw),
        Dense(3, 4, **kw), Softmax(dtype=dtype)])


def net_bidirectional(dtype=np.float32):
    rng = np.random.default_rng(2)
    kw = dict(dtype=dtype, rng=rng)
    return Network([
        Bidirectional(LSTM(3, 4, **kw), merge="concat", rng=rng), Tanh(dtype=dtype),
        Bidirectional(GRU(8, 3, reset_after=True, **kw), merge="sum", rng=rng),
        Bidirectional(Jordan(3, 4, 2, output_activation="identity", **kw), merge="mean",
                      rng=rng),
        Bidirectional(RNN(2, 3, return_sequences=False, **kw), rng=rng),
        Dense(6, 2, **kw), ReLU(dtype=dtype), Identity(dtype=dtype), Sigmoid(dtype=dtype)])


def net_many_to_one(dtype=np.float32):
    rng = np.random.default_rng(3)
    return Network([Dense(3, 4, dtype=dtype, rng=rng), Tanh(dtype=dtype),
                    Jordan(4, 4, 3, return_sequences=False, dtype=dtype, rng=rng),
                    Dense(3, 2, dtype=dtype, rng=rng)])


NETS = {"zoo": net_recurrent_zoo, "bidirectional": net_bidirectional,
        "many_to_one": net_many_to_one}


def assert_same_network(a, b):
    assert repr(a) == repr(b) and a.get_config() == b.get_config()
    for (n1, p1, _), (n2, p2, _) in zip(a.parameters(), b.parameters(), strict=True):
        assert n1 == n2 and p1.dtype == p2.dtype
        np.testing.assert_array_equal(p1, p2)


def assert_model_error(path, *fragments):
    """annt.load(path) raises ModelFileError naming the file and each fragment."""
    with pytest.raises(annt.ModelFileError) as info:
        annt.load(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"
    assert isinstance(info.value, OSError)
    return msg


# --------------------------------------------------------------------------- #
# format 2 (safetensors), written by hand
# --------------------------------------------------------------------------- #
def v2_parts(network):
    """(header dict, {name: array}) of a format-2 file for ``network``."""
    header = {"format": "annt-network", "version": 2, "network": network.get_config()}
    return header, {name: p.copy() for name, p, _ in network.parameters()}


def write_v2(path, header, tensors, header_text=None):
    text = json.dumps(header) if header_text is None else header_text
    safetensors.numpy.save_file(tensors, str(path), metadata={"annt": text})
    return path


# --------------------------------------------------------------------------- #
# format 1 (.npz), as annt wrote it before format 2
# --------------------------------------------------------------------------- #
def v1_parts(network):
    """(header dict, {key: array}) of a format-1 file for ``network``: what annt's
    save wrote before format 2 (annt/io.py at commit 5c17e49)."""
    params = network.parameters()
    header = {
        "format": "annt-network", "version": 1, "network": network.get_config(),
        "parameters": [{"name": n, "key": f"p{i}", "shape": list(p.shape), "dtype": p.dtype.name}
                       for i, (n, p, _) in enumerate(params)],
    }
    return header, {f"p{i}": p.copy() for i, (_, p, _) in enumerate(params)}


def write_v1(path, header, arrays, save=np.savez):
    blob = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)
    save(path, __annt__=blob, **arrays)
    return path


def save_v1(network, path):
    return write_v1(path, *v1_parts(network))
