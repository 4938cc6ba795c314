"""annt.save / annt.load: round trips, the file format, and saving that loses nothing."""
import json
import os
import stat

import numpy as np
import pytest
import safetensors
import safetensors.numpy

import annt
from annt import Bidirectional, NetworkInference
from io_helpers import (NETS, assert_same_network, net_bidirectional, net_many_to_one,
                        net_recurrent_zoo, perturb)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(NETS))
def test_round_trip_gives_identical_predictions(tmp_path, name, dtype):
    net = perturb(NETS[name](dtype), 0)
    X = np.random.default_rng(4).standard_normal((3, 6, 3))
    expected = NetworkInference(net).predict(X)
    path = tmp_path / "model.safetensors"
    assert annt.save(net, path) == str(path)
    loaded = annt.load(path)
    assert_same_network(net, loaded)
    assert loaded.dtype == np.dtype(dtype)
    assert [type(l) for l in loaded.layers] == [type(l) for l in net.layers]
    got = NetworkInference(loaded).predict(X)
    assert got.dtype == expected.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, expected)


def test_round_trip_keeps_layer_options(tmp_path):
    net = net_recurrent_zoo()
    annt.save(net, tmp_path / "m.safetensors")
    loaded = annt.load(str(tmp_path / "m.safetensors"))          # str path works too
    rnn, drop, _, gru_a, gru_b, jordan = loaded.layers[:6]
    assert rnn.activation == "relu"
    assert drop.rate == 0.3
    assert gru_a.reset_after is True and gru_b.reset_after is False
    assert (jordan.activation, jordan.output_activation) == ("relu", "sigmoid")
    bi = annt.load(annt.save(net_bidirectional(), tmp_path / "b.safetensors"))
    assert [layer.merge for layer in bi.layers if isinstance(layer, Bidirectional)] == \
        ["concat", "sum", "mean", "concat"]
    assert bi.layers[4].return_sequences is False


def test_file_is_safetensors_with_the_annt_header(tmp_path):
    """Any safetensors reader opens the file: one tensor per parameter, named as in
    network.parameters(), and the annt header in the metadata."""
    net = net_many_to_one()
    path = annt.save(net, tmp_path / "m.safetensors")
    tensors = safetensors.numpy.load_file(path)
    assert sorted(tensors) == sorted(n for n, _, _ in net.parameters())
    for name, p, _ in net.parameters():
        np.testing.assert_array_equal(tensors[name], p)
    with safetensors.safe_open(path, framework="numpy") as f:
        header = json.loads(f.metadata()["annt"])
    assert header == {"format": "annt-network", "version": 2, "network": net.get_config()}


def test_training_continues_after_load(tmp_path):
    """A loaded network is a normal network: it trains, and the saved file does not change."""
    net = net_many_to_one()
    path = tmp_path / "m.safetensors"
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


def test_load_draws_no_random_numbers(tmp_path):
    """The network is built without random initialisation: loading leaves annt's
    generator where it was."""
    path = annt.save(net_recurrent_zoo(), tmp_path / "m.safetensors")
    annt.set_seed(11)
    annt.load(path)
    after_load = annt.get_rng().random(4)
    annt.set_seed(11)
    np.testing.assert_array_equal(annt.get_rng().random(4), after_load)


def test_npz_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"'.*m\.safetensors'.*still reads"):
        annt.save(net_many_to_one(), tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- #
# saving never loses a good file
# --------------------------------------------------------------------------- #
def _crash_at_fsync(monkeypatch, exc):
    """Make the disk "fill up" when the written file is flushed to it."""
    def fsync(fd):
        raise exc
    monkeypatch.setattr(os, "fsync", fsync)


def test_failed_save_leaves_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    old_net = net_many_to_one()
    annt.save(old_net, path)
    old_bytes = path.read_bytes()
    _crash_at_fsync(monkeypatch, OSError(28, "No space left on device"))
    with pytest.raises(OSError, match="No space left"):
        annt.save(perturb(net_recurrent_zoo(), 1), path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]
    loaded = annt.load(path)
    X = np.random.default_rng(6).standard_normal((2, 4, 3))
    np.testing.assert_array_equal(NetworkInference(loaded).predict(X),
                                  NetworkInference(old_net).predict(X))


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    _crash_at_fsync(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        annt.save(net_many_to_one(), tmp_path / "new.safetensors")
    assert os.listdir(tmp_path) == []


def test_save_overwrites(tmp_path):
    path = tmp_path / "m.safetensors"
    annt.save(net_many_to_one(), path)
    net2 = perturb(net_many_to_one(), 9)
    annt.save(net2, path)
    X = np.random.default_rng(7).standard_normal((2, 4, 3))
    np.testing.assert_array_equal(NetworkInference(annt.load(path)).predict(X),
                                  NetworkInference(net2).predict(X))
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_saving_non_finite_weights_keeps_the_good_file(tmp_path, value):
    """A network whose weights diverged must not replace a good checkpoint with a
    file that load would refuse."""
    path = tmp_path / "checkpoint.safetensors"
    good = net_many_to_one()
    annt.save(good, path)
    good_bytes = path.read_bytes()
    bad = net_many_to_one()
    bad.layers[2].params["W"][1, 2] = value
    with pytest.raises(annt.InputValueError) as info:
        annt.save(bad, path)
    msg = str(info.value)
    assert "'2.Jordan.W'" in msg and "nothing was written" in msg, msg
    assert ("1 NaN" if np.isnan(value) else "1 infinite") in msg, msg
    assert path.read_bytes() == good_bytes
    assert os.listdir(tmp_path) == ["checkpoint.safetensors"]
    assert_same_network(annt.load(path), good)


def _umask(mask):
    old = os.umask(mask)
    return lambda: os.umask(old)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_file_mode_follows_the_umask(tmp_path, umask, mode):
    restore = _umask(umask)
    try:
        path = annt.save(net_many_to_one(), tmp_path / "m.safetensors")
    finally:
        restore()
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


def test_overwriting_keeps_the_file_mode(tmp_path):
    """Overwriting a shared group-writable model keeps it group-writable."""
    path = tmp_path / "shared.safetensors"
    annt.save(net_many_to_one(), path)
    os.chmod(path, 0o664)
    restore = _umask(0o077)
    try:
        annt.save(perturb(net_many_to_one(), 3), path)
    finally:
        restore()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o664


def test_saving_to_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "v7.safetensors"
    link = tmp_path / "latest.safetensors"
    annt.save(net_many_to_one(), target)
    link.symlink_to(target)
    net = perturb(net_many_to_one(), 4)
    annt.save(net, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert_same_network(annt.load(target), net)
    assert sorted(os.listdir(tmp_path / "models")) == ["v7.safetensors"]


def test_saving_into_a_missing_folder_names_the_target(tmp_path):
    path = tmp_path / "no-such-folder" / "m.safetensors"
    with pytest.raises(annt.ModelFileError) as info:
        annt.save(net_many_to_one(), path)
    msg = str(info.value)
    assert repr(str(path)) in msg and "does not exist" in msg and ".tmp" not in msg, msg


def test_saving_over_a_directory_is_refused(tmp_path):
    folder = tmp_path / "m.safetensors"
    folder.mkdir()
    with pytest.raises(annt.ModelFileError, match="not a regular file .a directory"):
        annt.save(net_many_to_one(), folder)
    assert os.listdir(folder) == [] and os.listdir(tmp_path) == ["m.safetensors"]


def test_a_folder_without_write_permission_names_the_target(tmp_path, monkeypatch):
    """(Simulated: the tests may run as root, who may write anywhere.)"""
    real_open = os.open

    def open_without_create(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_without_create)
    path = tmp_path / "m.safetensors"
    with pytest.raises(annt.ModelFileError) as info:
        annt.save(net_many_to_one(), path)
    msg = str(info.value)
    assert repr(str(path)) in msg and "Permission denied" in msg and ".tmp" not in msg, msg
    assert os.listdir(tmp_path) == []
