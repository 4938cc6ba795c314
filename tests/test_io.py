"""annt.save / annt.load: round trips, atomic saving, and every kind of bad file."""
import json
import os
import zipfile

import numpy as np
import pytest

import annt
from annt import (GRU, LSTM, RNN, Bidirectional, Dense, Dropout, Identity, Jordan, Network,
                  NetworkInference, ReLU, Sigmoid, Softmax, Tanh)


def _perturb(net, seed):
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(NETS))
def test_round_trip_gives_identical_predictions(tmp_path, name, dtype):
    net = _perturb(NETS[name](dtype), 0)
    X = np.random.default_rng(4).standard_normal((3, 6, 3))
    expected = NetworkInference(net).predict(X)
    path = tmp_path / "model.npz"
    assert annt.save(net, path) == str(path)
    loaded = annt.load(path)
    assert repr(loaded) == repr(net)
    assert loaded.get_config() == net.get_config()
    assert loaded.dtype == np.dtype(dtype)
    for (n1, p1, _), (n2, p2, _) in zip(net.parameters(), loaded.parameters()):
        assert n1 == n2 and p1.dtype == p2.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(p1, p2)
    assert [type(l) for l in loaded.layers] == [type(l) for l in net.layers]
    got = NetworkInference(loaded).predict(X)
    assert got.dtype == expected.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, expected)


def test_round_trip_keeps_layer_options(tmp_path):
    net = net_recurrent_zoo()
    annt.save(net, tmp_path / "m.npz")
    loaded = annt.load(str(tmp_path / "m.npz"))          # str path works too
    rnn, drop, _, gru_a, gru_b, jordan = loaded.layers[:6]
    assert rnn.activation == "relu"
    assert drop.rate == 0.3
    assert gru_a.reset_after is True and gru_b.reset_after is False
    assert (jordan.activation, jordan.output_activation) == ("relu", "sigmoid")
    bi = annt.load(annt.save(net_bidirectional(), tmp_path / "b.npz"))
    assert [layer.merge for layer in bi.layers if isinstance(layer, Bidirectional)] == \
        ["concat", "sum", "mean", "concat"]
    assert bi.layers[4].return_sequences is False


def test_file_is_a_zip_with_an_annt_header(tmp_path):
    net = net_many_to_one()
    path = tmp_path / "m.npz"
    annt.save(net, path)
    assert zipfile.is_zipfile(path)
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
    assert "__annt__.npy" in names
    assert {f"p{i}.npy" for i in range(len(net.parameters()))} <= names
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(bytes(data["__annt__"]).decode("utf-8"))
    assert header["format"] == "annt-network" and header["version"] == 1
    assert [e["name"] for e in header["parameters"]] == [n for n, _, _ in net.parameters()]


def test_training_continues_after_load(tmp_path):
    """A loaded network is a normal network: it trains, and the saved file does not change."""
    net = net_many_to_one()
    path = tmp_path / "m.npz"
    annt.save(net, path)
    before = path.read_bytes()
    loaded = annt.load(path)
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((8, 5, 3)), rng.standard_normal((8, 2))
    trainer = annt.NetworkTraining(loaded, annt.MSE(), annt.Adam(0.05))
    l0 = trainer.train_batch(X, Y)
    for _ in range(20):
        trainer.train_batch(X, Y)
    assert trainer.evaluate(X, Y)["loss"] < l0
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- #
# atomic saving
# --------------------------------------------------------------------------- #
def test_failed_save_leaves_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old_net = net_many_to_one()
    annt.save(old_net, path)
    old_bytes = path.read_bytes()
    real_savez = np.savez

    def savez_then_crash(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a model")     # something is written, then ...
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez", savez_then_crash)
    with pytest.raises(RuntimeError, match="disk full"):
        annt.save(_perturb(net_recurrent_zoo(), 1), path)
    monkeypatch.setattr(np, "savez", real_savez)
    assert path.read_bytes() == old_bytes
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]
    loaded = annt.load(path)
    X = np.random.default_rng(6).standard_normal((2, 4, 3))
    np.testing.assert_array_equal(NetworkInference(loaded).predict(X),
                                  NetworkInference(old_net).predict(X))


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    def crash(file, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        annt.save(net_many_to_one(), tmp_path / "new.npz")
    assert os.listdir(tmp_path) == []


def test_save_overwrites(tmp_path):
    path = tmp_path / "m.npz"
    annt.save(net_many_to_one(), path)
    net2 = _perturb(net_many_to_one(), 9)
    annt.save(net2, path)
    X = np.random.default_rng(7).standard_normal((2, 4, 3))
    np.testing.assert_array_equal(NetworkInference(annt.load(path)).predict(X),
                                  NetworkInference(net2).predict(X))
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


# --------------------------------------------------------------------------- #
# bad files
# --------------------------------------------------------------------------- #
@pytest.fixture
def saved(tmp_path):
    """A saved model: (path, header dict, {key: array})."""
    path = tmp_path / "good.npz"
    annt.save(_perturb(net_recurrent_zoo(), 2), path)
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(bytes(data["__annt__"]).decode("utf-8"))
        arrays = {k: data[k] for k in data.files if k != "__annt__"}
    return path, header, arrays


def write_model(path, header, arrays):
    blob = np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)
    np.savez(path, __annt__=blob, **arrays)
    return path


def assert_model_error(path, *fragments):
    with pytest.raises(annt.ModelFileError) as info:
        annt.load(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"
    assert isinstance(info.value, OSError)
    return msg


def test_missing_path(tmp_path):
    assert_model_error(tmp_path / "nothing-here.npz", "no model file")


def test_truncated_file(saved, tmp_path):
    path, _, _ = saved
    data = path.read_bytes()
    for n in (len(data) // 2, 100, 10, 0):
        bad = tmp_path / f"truncated{n}.npz"
        bad.write_bytes(data[:n])
        assert_model_error(bad, "truncated or corrupt")


def test_random_bytes(tmp_path):
    bad = tmp_path / "random.npz"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    assert_model_error(bad, "not a readable annt model")
    bad2 = tmp_path / "zip-looking.npz"
    bad2.write_bytes(b"PK\x03\x04" + np.random.default_rng(1).bytes(5000))
    assert_model_error(bad2, "not a readable annt model")


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
    msg = assert_model_error(path, "not an annt model", "__annt__")
    assert "W" in msg


def test_header_that_is_not_json(saved, tmp_path):
    path, _, arrays = saved
    bad = tmp_path / "nojson.npz"
    np.savez(bad, __annt__=np.frombuffer(b"\xff\xfe not json", np.uint8), **arrays)
    assert_model_error(bad, "annt model")


@pytest.mark.parametrize("fmt", ["keras-model", None, 3])
def test_wrong_format(saved, tmp_path, fmt):
    path, header, arrays = saved
    header = dict(header, format=fmt)
    bad = write_model(tmp_path / "fmt.npz", header, arrays)
    assert_model_error(bad, "annt-network", repr(fmt))


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_wrong_version(saved, tmp_path, version):
    path, header, arrays = saved
    bad = write_model(tmp_path / "ver.npz", dict(header, version=version), arrays)
    assert_model_error(bad, "version", str(version))


def test_header_with_unknown_layer(saved, tmp_path):
    path, header, arrays = saved
    header = json.loads(json.dumps(header))
    header["network"]["layers"][0]["type"] = "Transformer"
    bad = write_model(tmp_path / "layer.npz", header, arrays)
    assert_model_error(bad, "cannot rebuild", "Transformer")


def test_missing_weights(saved, tmp_path):
    path, header, arrays = saved
    arrays = dict(arrays)
    del arrays["p4"]
    name = header["parameters"][4]["name"]
    bad = write_model(tmp_path / "missing.npz", header, arrays)
    assert_model_error(bad, "missing", name)


def test_parameter_list_of_wrong_length(saved, tmp_path):
    path, header, arrays = saved
    header = dict(header, parameters=header["parameters"][:-1])
    bad = write_model(tmp_path / "short.npz", header, arrays)
    assert_model_error(bad, "parameters")


def test_wrong_shapes(saved, tmp_path):
    path, header, arrays = saved
    arrays = dict(arrays)
    arrays["p1"] = np.zeros((arrays["p1"].shape[0] + 1,) + arrays["p1"].shape[1:], np.float32)
    name = header["parameters"][1]["name"]
    bad = write_model(tmp_path / "shape.npz", header, arrays)
    assert_model_error(bad, "shape", name, str(arrays["p1"].shape))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights(saved, tmp_path, value):
    path, header, arrays = saved
    arrays = dict(arrays)
    arrays["p2"] = arrays["p2"].copy()
    arrays["p2"].flat[3] = value
    bad = write_model(tmp_path / "nan.npz", header, arrays)
    assert_model_error(bad, "NaN or infinite", header["parameters"][2]["name"])


def test_pickled_header_is_refused(saved, tmp_path):
    """The loader never unpickles: an object array is refused, not executed."""
    path, header, arrays = saved
    bad = tmp_path / "pickle.npz"
    np.savez(bad, __annt__=np.array([header], dtype=object), **arrays)
    assert_model_error(bad, "annt model")


def test_a_directory_is_not_a_model(tmp_path):
    folder = tmp_path / "dir.npz"
    folder.mkdir()
    assert_model_error(folder, "annt model")


def test_malformed_parameter_list(saved, tmp_path):
    """A header whose parameter entries are not objects is a corrupt file, not a crash."""
    path, header, arrays = saved
    bad = write_model(tmp_path / "entries.npz",
                      dict(header, parameters=list(range(len(header["parameters"])))), arrays)
    assert_model_error(bad, "annt model")


def test_non_numeric_weights(saved, tmp_path):
    path, header, arrays = saved
    arrays = dict(arrays)
    arrays["p0"] = np.full(arrays["p0"].shape, "w")
    bad = write_model(tmp_path / "strings.npz", header, arrays)
    assert_model_error(bad, header["parameters"][0]["name"])


def test_text_file_is_refused_before_numpy_reads_it(tmp_path):
    bad = tmp_path / "notes.npz"
    bad.write_text("weights: 1 2 3\n")
    assert_model_error(bad, "zip", "b'weig'")
