"""annt.load still reads the .npz archives (format 1) that annt wrote before
format 2, and refuses bad ones as it refuses bad safetensors files."""
import io
import json
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import annt
from annt import LSTM, Dense, Network, NetworkInference
from io_helpers import (NETS, assert_model_error, assert_same_network, net_recurrent_zoo,
                        perturb, save_v1, v1_parts, write_v1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(NETS))
def test_format_1_files_load(tmp_path, name, dtype):
    net = perturb(NETS[name](dtype), 0)
    path = save_v1(net, tmp_path / "model.npz")
    loaded = annt.load(path)
    assert_same_network(net, loaded)
    X = np.random.default_rng(4).standard_normal((3, 6, 3))
    np.testing.assert_array_equal(NetworkInference(loaded).predict(X),
                                  NetworkInference(net).predict(X))


def test_a_format_1_file_can_be_saved_as_format_2(tmp_path):
    net = perturb(net_recurrent_zoo(), 1)
    old = save_v1(net, tmp_path / "old.npz")
    new = annt.save(annt.load(old), tmp_path / "new.safetensors")
    assert_same_network(annt.load(new), net)


@pytest.fixture
def saved(tmp_path):
    """A format-1 model: (path, header dict, {key: array})."""
    net = perturb(net_recurrent_zoo(), 2)
    header, arrays = v1_parts(net)
    return write_v1(tmp_path / "good.npz", header, arrays), header, arrays


def test_truncated_file(saved, tmp_path):
    path, _, _ = saved
    data = path.read_bytes()
    for n in (len(data) - 1, len(data) // 2, 100, 10):
        bad = tmp_path / f"truncated{n}.npz"
        bad.write_bytes(data[:n])
        assert_model_error(bad, "truncated or corrupt")


def test_corrupted_member(saved, tmp_path):
    path, _, _ = saved
    data = bytearray(path.read_bytes())
    i = len(data) // 3
    data[i:i + 64] = bytes(64)              # zero a block inside a member
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(bytes(data))
    assert_model_error(bad, "annt model")


def test_plain_npz_without_header(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, W=np.zeros((3, 3)), b=np.zeros(3))
    assert_model_error(path, "not an annt model", "__annt__", "'W'")


def test_header_that_is_not_json(saved, tmp_path):
    _, _, arrays = saved
    bad = tmp_path / "nojson.npz"
    np.savez(bad, __annt__=np.frombuffer(b"\xff\xfe not json", np.uint8), **arrays)
    assert_model_error(bad, "not JSON")


@pytest.mark.parametrize("fmt", ["keras-model", None, 3])
def test_wrong_format(saved, tmp_path, fmt):
    _, header, arrays = saved
    bad = write_v1(tmp_path / "fmt.npz", dict(header, format=fmt), arrays)
    assert_model_error(bad, "annt-network", repr(str(fmt)))


@pytest.mark.parametrize("version, found", [
    ("1", "'1' (str)"), (1.0, "1.0 (float)"), (True, "True (bool)"), (None, "None (NoneType)")])
def test_version_must_be_an_integer(saved, tmp_path, version, found):
    """Before: "1" said 'annt model format version 1, this annt reads version 1'."""
    _, header, arrays = saved
    bad = write_v1(tmp_path / "ver.npz", dict(header, version=version), arrays)
    assert_model_error(bad, "version should be an integer", found)


@pytest.mark.parametrize("version", [2, 0])
def test_other_versions(saved, tmp_path, version):
    _, header, arrays = saved
    bad = write_v1(tmp_path / "ver.npz", dict(header, version=version), arrays)
    assert_model_error(bad, f"version {version} in a NumPy .npz archive", "version 1 (a NumPy")


def test_header_with_unknown_layer(saved, tmp_path):
    _, header, arrays = saved
    header = json.loads(json.dumps(header))
    header["network"]["layers"][0]["type"] = "Transformer"
    bad = write_v1(tmp_path / "layer.npz", header, arrays)
    assert_model_error(bad, "cannot rebuild", "Transformer")


def test_missing_weights(saved, tmp_path):
    _, header, arrays = saved
    del arrays["p4"]
    bad = write_v1(tmp_path / "missing.npz", header, arrays)
    assert_model_error(bad, "missing", header["parameters"][4]["name"])


def test_parameter_list_of_wrong_length(saved, tmp_path):
    _, header, arrays = saved
    bad = write_v1(tmp_path / "short.npz", dict(header, parameters=header["parameters"][:-1]),
                   arrays)
    assert_model_error(bad, "the architecture has 20 parameters, the file lists 19")


def test_malformed_parameter_list(saved, tmp_path):
    _, header, arrays = saved
    bad = write_v1(tmp_path / "entries.npz",
                   dict(header, parameters=list(range(len(header["parameters"])))), arrays)
    assert_model_error(bad, "'parameters' should be a list of objects")


def test_swapped_parameter_entries_are_refused(saved, tmp_path):
    """An LSTM's U and W have the same shape here: reordering their entries used to
    load W's values into U without a word."""
    net = Network([LSTM(4, 4, rng=0), Dense(4, 2, rng=1)])
    header, arrays = v1_parts(net)
    entries = header["parameters"]
    entries[0], entries[1] = entries[1], entries[0]
    bad = write_v1(tmp_path / "swapped.npz", header, arrays)
    assert_model_error(bad, "parameter 0 of the header does not match the architecture",
                       "name should be '0.LSTM.U', found '0.LSTM.W'")


@pytest.mark.parametrize("field, value, fragment", [
    ("shape", [4, 17], "shape should be [5, 16], found [4, 17]"),
    ("dtype", "float64", "dtype should be 'float32', found 'float64'"),
    ("key", "p0", "has the key 'p0'"),
    ("key", 7, "has the key 7"),
])
def test_entries_that_contradict_the_architecture(saved, tmp_path, field, value, fragment):
    _, header, arrays = saved
    header = json.loads(json.dumps(header))
    header["parameters"][3][field] = value           # 2.LSTM.U, of shape (5, 16)
    bad = write_v1(tmp_path / "entry.npz", header, arrays)
    assert_model_error(bad, fragment)


def test_wrong_shapes(saved, tmp_path):
    _, header, arrays = saved
    arrays["p1"] = np.zeros((arrays["p1"].shape[0] + 1,) + arrays["p1"].shape[1:], np.float32)
    bad = write_v1(tmp_path / "shape.npz", header, arrays)
    assert_model_error(bad, "shape", header["parameters"][1]["name"], "(6, 5)")


def test_float64_weights_that_overflow_float32_are_refused(saved, tmp_path):
    """Before: NumPy's "overflow encountered in cast" warning, and a network holding inf."""
    _, header, arrays = saved
    arrays["p1"] = np.full(arrays["p1"].shape, 1e300)
    bad = write_v1(tmp_path / "overflow.npz", header, arrays)
    assert_model_error(bad, "'0.RNN.W' should hold float32 numbers, the file holds float64")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights(saved, tmp_path, value):
    _, header, arrays = saved
    arrays["p2"] = arrays["p2"].copy()
    arrays["p2"].flat[3] = value
    bad = write_v1(tmp_path / "nan.npz", header, arrays)
    assert_model_error(bad, "NaN or infinite", header["parameters"][2]["name"])


def test_non_numeric_weights(saved, tmp_path):
    _, header, arrays = saved
    arrays["p0"] = np.full(arrays["p0"].shape, "w")
    bad = write_v1(tmp_path / "strings.npz", header, arrays)
    assert_model_error(bad, header["parameters"][0]["name"], "should hold numbers")


def test_pickled_header_is_refused(saved, tmp_path):
    """The loader never unpickles: an object array is refused, not executed."""
    _, header, arrays = saved
    bad = tmp_path / "pickle.npz"
    np.savez(bad, __annt__=np.array([header], dtype=object), **arrays)
    assert_model_error(bad, "pickled", "never unpickles")


def test_fortran_ordered_member_is_refused(saved, tmp_path):
    _, header, arrays = saved
    arrays["p1"] = np.asfortranarray(arrays["p1"])
    bad = write_v1(tmp_path / "fortran.npz", header, arrays)
    assert_model_error(bad, "member 'p1.npy' holds its array in Fortran order")


def test_compressed_members_are_refused(saved, tmp_path):
    _, header, arrays = saved
    bad = write_v1(tmp_path / "compressed.npz", header, arrays, save=np.savez_compressed)
    assert_model_error(bad, "is compressed", "uncompressed (np.savez)")


def test_members_the_header_does_not_list_are_never_read(saved, tmp_path, monkeypatch):
    """An extra member of a few hundred KB that decompresses to 200 MB used to be read."""
    _, header, arrays = saved
    bad = tmp_path / "extra.npz"
    write_v1(bad, header, arrays)
    with zipfile.ZipFile(bad, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.npy", bytes(50 * 2 ** 20))
    opened = []
    real_open = zipfile.ZipFile.open

    def recording_open(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    tracemalloc.start()
    try:
        loaded = annt.load(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "bomb.npy" not in opened and set(opened) == {"__annt__.npy"} | {
        f"{e['key']}.npy" for e in header["parameters"]}
    assert peak < 5 * 2 ** 20, f"{peak / 2 ** 20:.0f} MB"
    assert loaded.n_params() == sum(a.size for a in arrays.values())


def test_huge_header_is_refused_before_it_is_read(saved, tmp_path):
    _, header, arrays = saved
    bad = write_v1(tmp_path / "long.npz", dict(header, padding="x" * 2 ** 20), arrays)
    assert_model_error(bad, "header should be at most 1,048,576 bytes")


def test_huge_architecture_without_weights_fails_fast_and_small(tmp_path):
    """A ~1 KB header declaring Dense(20000, 20000): used to take 15 s and 4.4 GB
    (random initialisation of the network) before being rejected."""
    header, _ = v1_parts(Network([Dense(3, 2)]))
    header["network"]["layers"][0].update(input_size=20000, output_size=20000)
    header["parameters"][0]["shape"] = [20000, 20000]
    header["parameters"][1]["shape"] = [20000]
    bad = write_v1(tmp_path / "huge.npz", header, {})
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(annt.ModelFileError, match="'0.Dense.W' .p0. are missing"):
            annt.load(bad)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 5 and peak < 20 * 2 ** 20, (elapsed, peak)


def test_member_size_that_contradicts_the_directory(saved, tmp_path):
    """A stored member whose .npy header promises more data than the member holds."""
    _, header, arrays = saved
    bad = tmp_path / "lying.npz"
    write_v1(bad, header, {k: v for k, v in arrays.items() if k != "p1"})
    fake = np.lib.format.header_data_from_array_1_0(arrays["p1"])
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, fake)
    with zipfile.ZipFile(bad, "a") as z:
        z.writestr("p1.npy", buffer.getvalue() + bytes(8))     # header, then 8 bytes only
    assert_model_error(bad, "member 'p1.npy' should hold", "truncated or corrupt")
