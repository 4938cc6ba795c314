"""annt.load refuses every kind of bad file, before it allocates or changes anything,
with a ModelFileError that names the file and says what was expected and found.
(Files of format 2, safetensors; the .npz files of format 1: test_io_npz_v1.py.)"""
import json
import os
import struct
import threading
import time
import tracemalloc

import numpy as np
import pytest
import safetensors.numpy

import annt
from annt import Dense, Network
from io_helpers import assert_model_error, net_recurrent_zoo, perturb, v2_parts, write_v2


@pytest.fixture
def saved(tmp_path):
    """A saved model: (path, header dict, {name: array})."""
    net = perturb(net_recurrent_zoo(), 2)
    path = annt.save(net, tmp_path / "good.safetensors")
    header, tensors = v2_parts(net)
    return path, header, tensors


def load_within(path, seconds=5.0, megabytes=20):
    """annt.load(path) must fail fast and small: returns its ModelFileError's message."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(annt.ModelFileError) as info:
            annt.load(path)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < megabytes * 2 ** 20, f"allocated {peak / 2 ** 20:.0f} MB"
    return str(info.value)


# --------------------------------------------------------------------------- #
# not a model file at all
# --------------------------------------------------------------------------- #
def test_missing_path(tmp_path):
    assert_model_error(tmp_path / "nothing-here.safetensors", "no model file")


def test_a_directory_is_not_a_model(tmp_path):
    folder = tmp_path / "dir.safetensors"
    folder.mkdir()
    assert_model_error(folder, "annt model", "directory")


def test_a_named_pipe_is_refused_without_waiting(tmp_path):
    """open() on a FIFO waits for a writer, for ever: load must refuse it at once."""
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    result = {}

    def load():
        try:
            annt.load(fifo)
        except annt.ModelFileError as e:
            result["error"] = str(e)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "annt.load hangs on a named pipe"
    assert "named pipe" in result["error"] and str(fifo) in result["error"], result


def test_text_file_is_refused_before_any_reader_sees_it(tmp_path):
    bad = tmp_path / "notes.safetensors"
    bad.write_text("weights: 1 2 3\n")
    assert_model_error(bad, "safetensors", "zip", "b'weights:")


def test_random_bytes(tmp_path):
    bad = tmp_path / "random.safetensors"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    assert_model_error(bad, "not a readable annt model")
    bad2 = tmp_path / "zip-looking.safetensors"
    bad2.write_bytes(b"PK\x03\x04" + np.random.default_rng(1).bytes(5000))
    assert_model_error(bad2, "not a readable annt model")


def test_empty_file(tmp_path):
    bad = tmp_path / "empty.safetensors"
    bad.write_bytes(b"")
    assert_model_error(bad, "truncated or corrupt", "starts with b''")


def test_truncated_file(saved, tmp_path):
    path, _, _ = saved
    data = open(path, "rb").read()
    for n in (len(data) - 1, len(data) // 2, 100, 10, 0):
        bad = tmp_path / f"truncated{n}.safetensors"
        bad.write_bytes(data[:n])
        assert_model_error(bad, "truncated or corrupt")


def test_corrupted_header_bytes(saved, tmp_path):
    data = bytearray(open(saved[0], "rb").read())
    data[20:40] = b"\xff" * 20             # inside the safetensors JSON header
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(bytes(data))
    assert_model_error(bad, "truncated or corrupt")


def test_foreign_safetensors_file(tmp_path):
    path = tmp_path / "bert.safetensors"
    safetensors.numpy.save_file({"embedding": np.zeros((3, 4), np.float32)}, str(path))
    assert_model_error(path, "a safetensors file but not an annt model", "embedding")


# --------------------------------------------------------------------------- #
# the header
# --------------------------------------------------------------------------- #
def test_header_that_is_not_json(saved, tmp_path):
    _, header, tensors = saved
    bad = write_v2(tmp_path / "nojson.safetensors", header, tensors, header_text="{not json")
    assert_model_error(bad, "not JSON")


def test_header_that_is_too_long(saved, tmp_path):
    _, header, tensors = saved
    bad = write_v2(tmp_path / "long.safetensors", dict(header, padding="x" * 2 ** 20), tensors)
    assert_model_error(bad, "header is 1,0", "at most 1,048,576 bytes")


@pytest.mark.parametrize("fmt", ["keras-model", None, 3])
def test_wrong_format(saved, tmp_path, fmt):
    _, header, tensors = saved
    bad = write_v2(tmp_path / "fmt.safetensors", dict(header, format=fmt), tensors)
    assert_model_error(bad, "annt-network", repr(str(fmt)))


@pytest.mark.parametrize("version, found", [
    ("2", "'2' (str)"), (2.0, "2.0 (float)"), (True, "True (bool)"), (None, "None (NoneType)")])
def test_version_must_be_an_integer(saved, tmp_path, version, found):
    _, header, tensors = saved
    bad = write_v2(tmp_path / "ver.safetensors", dict(header, version=version), tensors)
    assert_model_error(bad, "version should be an integer", found)


@pytest.mark.parametrize("version", [3, 1, 0])
def test_other_versions(saved, tmp_path, version):
    _, header, tensors = saved
    bad = write_v2(tmp_path / "ver.safetensors", dict(header, version=version), tensors)
    assert_model_error(bad, f"version {version} in a safetensors file",
                       "this annt reads version 1 (a NumPy .npz archive) and version 2 (a "
                       "safetensors file)")


def _with_layer(header, index, **changes):
    header = json.loads(json.dumps(header))
    header["network"]["layers"][index].update(changes)
    return header


def test_header_with_unknown_layer(saved, tmp_path):
    _, header, tensors = saved
    bad = write_v2(tmp_path / "layer.safetensors", _with_layer(header, 0, type="Transformer"),
                   tensors)
    assert_model_error(bad, "cannot rebuild", "Transformer")


@pytest.mark.parametrize("changes, fragment", [
    ({"hidden_size": 0}, "hidden_size must be a positive integer, got 0"),
    ({"hidden_size": 2.9}, "hidden_size must be a positive integer, got 2.9 (float)"),
    ({"input_size": -3}, "input_size must be a positive integer, got -3"),
    ({"dtype": "float16"}, "dtype must be float32 or float64"),
    ({"dtype": "object"}, "dtype must be float32 or float64"),
    ({"backend": "cuda"}, "backend must be one of"),
])
def test_header_with_impossible_layer_settings(saved, tmp_path, changes, fragment):
    _, header, tensors = saved
    bad = write_v2(tmp_path / "settings.safetensors", _with_layer(header, 2, **changes), tensors)
    assert_model_error(bad, "cannot rebuild", fragment)


def test_header_whose_network_is_not_a_layer_list(saved, tmp_path):
    _, header, tensors = saved
    bad = write_v2(tmp_path / "net.safetensors", dict(header, network=[1, 2]), tensors)
    assert_model_error(bad, "'network' should be")


# --------------------------------------------------------------------------- #
# the tensors against the header
# --------------------------------------------------------------------------- #
def test_missing_weights(saved, tmp_path):
    _, header, tensors = saved
    del tensors["2.LSTM.W"]
    bad = write_v2(tmp_path / "missing.safetensors", header, tensors)
    assert_model_error(bad, "missing", "'2.LSTM.W'")


def test_extra_tensors(saved, tmp_path):
    _, header, tensors = saved
    tensors["9.Dense.W"] = np.zeros((2, 2), np.float32)
    bad = write_v2(tmp_path / "extra.safetensors", header, tensors)
    assert_model_error(bad, "not parameters of its network", "9.Dense.W")


def test_wrong_shapes(saved, tmp_path):
    _, header, tensors = saved
    tensors["2.LSTM.U"] = np.zeros((6, 16), np.float32)
    bad = write_v2(tmp_path / "shape.safetensors", header, tensors)
    assert_model_error(bad, "'2.LSTM.U' should have shape (5, 16), the file holds (6, 16)")


@pytest.mark.parametrize("dtype, found", [(np.float64, "float64"), (np.float16, "F16"),
                                          (np.int32, "I32")])
def test_wrong_dtypes(saved, tmp_path, dtype, found):
    _, header, tensors = saved
    tensors["0.RNN.b"] = tensors["0.RNN.b"].astype(dtype)
    bad = write_v2(tmp_path / "dtype.safetensors", header, tensors)
    assert_model_error(bad, f"'0.RNN.b' should hold float32 numbers, the file holds {found}")


def test_float64_weights_that_overflow_float32_are_refused(saved, tmp_path):
    """1e300 fits a float64 but is infinite as float32: no cast, no inf in the network."""
    _, header, tensors = saved
    tensors["0.RNN.W"] = np.full((5, 5), 1e300)
    bad = write_v2(tmp_path / "overflow.safetensors", header, tensors)
    assert_model_error(bad, "'0.RNN.W' should hold float32 numbers, the file holds float64")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(saved, tmp_path, value):
    _, header, tensors = saved
    tensors["3.GRU.b_hn"][2] = value
    bad = write_v2(tmp_path / "nan.safetensors", header, tensors)
    assert_model_error(bad, "'3.GRU.b_hn' holds NaN or infinite weights")


# --------------------------------------------------------------------------- #
# a small file cannot make load allocate a large network
# --------------------------------------------------------------------------- #
def _huge_header(**dense):
    net = Network([Dense(3, 2)])
    header, _ = v2_parts(net)
    header["network"]["layers"][0].update(dense)
    return header


def test_huge_architecture_without_weights_fails_fast_and_small(tmp_path):
    """A 1 KB header declaring Dense(20000, 20000) (1.6 GB of weights): refused before
    anything is allocated or initialised."""
    bad = write_v2(tmp_path / "huge.safetensors",
                   _huge_header(input_size=20000, output_size=20000), {})
    assert os.path.getsize(bad) < 1024
    msg = load_within(bad)
    assert "'0.Dense.W' are missing" in msg, msg


def test_huge_architecture_with_small_weights_fails_fast_and_small(tmp_path):
    bad = write_v2(tmp_path / "huge2.safetensors",
                   _huge_header(input_size=20000, output_size=20000),
                   {"0.Dense.W": np.zeros((3, 2), np.float32),
                    "0.Dense.b": np.zeros(2, np.float32)})
    msg = load_within(bad)
    assert "should have shape (20000, 20000), the file holds (3, 2)" in msg, msg


def test_impossibly_large_architecture(tmp_path):
    bad = write_v2(tmp_path / "huger.safetensors",
                   _huge_header(input_size=10 ** 12, output_size=10 ** 12), {})
    msg = load_within(bad)
    assert "cannot rebuild" in msg and "more than any computer can hold" in msg, msg


def test_tensor_directory_beyond_the_file_fails_fast_and_small(tmp_path):
    """A safetensors header that declares a 1.6 GB tensor in a 1 KB file."""
    header = json.dumps({
        "__metadata__": {"annt": json.dumps(_huge_header(input_size=20000,
                                                         output_size=20000))},
        "0.Dense.W": {"dtype": "F32", "shape": [20000, 20000], "data_offsets": [0, 1_600_000_000]},
        "0.Dense.b": {"dtype": "F32", "shape": [20000],
                      "data_offsets": [1_600_000_000, 1_600_080_000]}}).encode()
    bad = tmp_path / "directory.safetensors"
    bad.write_bytes(struct.pack("<Q", len(header)) + header + bytes(64))
    msg = load_within(bad)
    assert "truncated or corrupt" in msg, msg
