"""benchmarks/profile_annt.py: its timers account for the calls they wrap and
leave annt as they found it (it patches annt's kernels and layer methods)."""
import importlib.util
import time
from pathlib import Path

import annt
import annt.kernels as K

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "profile_annt.py"


def _script():
    spec = importlib.util.spec_from_file_location("profile_annt", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exclusive_times_subtract_the_inner_calls():
    prof = _script().Profile()

    class Box:
        @staticmethod
        def inner():
            time.sleep(0.02)

        @staticmethod
        def outer():
            time.sleep(0.01)
            Box.inner()

    prof.wrap(Box, "inner", "inner")
    prof.wrap(Box, "outer", "outer")
    Box.outer()
    prof.restore()
    assert prof.calls == {"inner": 1, "outer": 1}
    assert 0.02 <= prof.total["inner"] < 0.2
    assert 0.01 <= prof.total["outer"] < 0.02 + 0.01 * 5   # the inner call's 20 ms left out
    assert not hasattr(Box.inner, "__wrapped__") and not hasattr(Box.outer, "__wrapped__")


def test_profile_of_the_mnist_step_names_its_kernels_and_restores_annt(capsys):
    before = (K.gru_forward, K.gru_backward, K.matmul, annt.Dense.forward, annt.Adam.step)
    _script().main(["--cases", "mnist_batch", "--repeats", "2"])
    out = capsys.readouterr().out
    for label in ("kernel gru_forward", "kernel gru_backward", "kernel matmul_tn_many",
                  "Dense.forward", "Adam.step", "CrossEntropy.loss_and_grad",
                  "Python and NumPy around them"):
        assert label in out, out
    assert "(24x56) @ (56x112)" in out or "(48x56) @ (56x112)" in out, out
    after = (K.gru_forward, K.gru_backward, K.matmul, annt.Dense.forward, annt.Adam.step)
    assert after == before


def test_profile_of_the_lstm_training_step_names_its_kernels(capsys):
    _script().main(["--cases", "lstm_train", "--repeats", "1"])
    out = capsys.readouterr().out
    for label in ("kernel lstm_forward", "kernel lstm_backward", "kernel matmul_tn_many",
                  "LSTM.backward (rest)", "(32x128) @ (128x512)"):
        assert label in out, out


def test_unknown_case_is_refused(capsys):
    import pytest
    with pytest.raises(SystemExit):
        _script().main(["--cases", "mnist"])
    assert "unknown case 'mnist'" in capsys.readouterr().err
