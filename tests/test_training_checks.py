"""Training refuses bad data and impossible settings before the first update, with
an error that says what was expected and what was found."""
import numpy as np
import pytest

import annt
from annt import (GRU, Bidirectional, BinaryCrossEntropy, CrossEntropy, Dense, MSE, Network,
                  NetworkTraining, Sigmoid, Softmax)


class CountingSGD(annt.SGD):
    def __init__(self):
        super().__init__(0.1)
        self.calls = 0

    def step(self, params, grads):
        self.calls += 1
        super().step(params, grads)


def make(net=None, cost=None, **kwargs):
    net = net or Network([GRU(2, 4, rng=0), Dense(4, 3, rng=1)])
    return NetworkTraining(net, cost or MSE(), CountingSGD(), **kwargs)


def data(N=6, T=5, D=2, K=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, T, D)).astype(np.float32), \
        rng.standard_normal((N, T, K)).astype(np.float32)


def refused(trainer, call, error, *fragments):
    """``call()`` raises ``error`` naming every fragment, and nothing was trained."""
    before = [p.copy() for _, p, _ in trainer.network.parameters()]
    with pytest.raises(error) as info:
        call()
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"
    assert trainer.optimizer.calls == 0
    for b, (_, p, _) in zip(before, trainer.network.parameters()):
        np.testing.assert_array_equal(b, p)
    return msg


# --------------------------------------------------------------------------- #
# Bidirectional layers need whole sequences
# --------------------------------------------------------------------------- #
def _bidirectional_net():
    return Network([Bidirectional(GRU(2, 3, rng=0), rng=1), Dense(6, 3, rng=2)])


@pytest.mark.parametrize("settings, fragment", [
    ({"bptt_steps": 2}, "truncated BPTT (bptt_steps=2)"),
    ({"stateful": True}, "stateful training"),
    ({"stateful": True, "bptt_steps": 4}, "bptt_steps=4")])
def test_bidirectional_refuses_truncated_and_stateful_training(settings, fragment):
    """It used to train on chunks, which is not the model: training loss 1.1579,
    evaluate 1.1690 on the same weights."""
    with pytest.raises(ValueError) as info:
        NetworkTraining(_bidirectional_net(), MSE(), annt.SGD(0.1), **settings)
    msg = str(info.value)
    assert "Bidirectional(GRU(2 -> 3)" in msg and fragment in msg, msg
    assert "stateful=False and bptt_steps=None" in msg, msg
    NetworkTraining(_bidirectional_net(), MSE(), annt.SGD(0.1))        # whole sequences: fine


# --------------------------------------------------------------------------- #
# settings
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("value, error, found", [
    (0, ValueError, "got 0"), (-1, ValueError, "got -1"), (2.7, TypeError, "got 2.7 (float)")])
def test_batch_sizes_and_epochs(value, error, found):
    X, Y = data()
    t = make()
    refused(t, lambda: t.fit(X, Y, batch_size=value, verbose=False), error,
            f"batch_size must be a positive integer, {found}")
    refused(t, lambda: t.fit(X, Y, epochs=value, verbose=False), error,
            f"epochs must be a positive integer, {found}")
    refused(t, lambda: t.evaluate(X, Y, batch_size=value), error,
            f"batch_size must be a positive integer, {found}")


def test_bptt_steps_must_be_a_positive_integer():
    with pytest.raises(TypeError, match=r"bptt_steps must be a positive integer, got 2\.5"):
        make(bptt_steps=2.5)
    with pytest.raises(ValueError, match="bptt_steps must be a positive integer, got 0"):
        make(bptt_steps=0)


def test_stateful_training_needs_equal_batches():
    """Found only at the last batch of the first epoch before."""
    X, Y = data(N=7)
    t = make(stateful=True)
    refused(t, lambda: t.fit(X, Y, batch_size=2, shuffle=False, verbose=False), ValueError,
            "7 sequences are not a multiple of batch_size=2", "the last batch would hold 1")
    t.fit(X, Y, batch_size=7, shuffle=False, verbose=False)


# --------------------------------------------------------------------------- #
# shapes
# --------------------------------------------------------------------------- #
def test_rank_1_inputs():
    """Used to say "X holds 5 sequences but Y holds 3 targets"."""
    t = make()
    refused(t, lambda: t.train_batch(np.zeros(5), np.zeros(3)), annt.ShapeError,
            "X (inputs) must have shape (batch, time, 2), got shape (5,)")
    dense = make(Network([Dense(2, 3)]))
    refused(dense, lambda: dense.train_batch(np.zeros(5), np.zeros(3)), annt.ShapeError,
            "must have shape (batch, 2) or (batch, time, 2), got shape (5,)")
    refused(t, lambda: t.train_batch(np.zeros((4, 5, 2)), 1.0), annt.ShapeError,
            "Y holds a single number as targets")


def test_validation_data_of_the_wrong_feature_size_is_found_before_training():
    X, Y = data()
    t = make()
    vX, vY = data(N=3, D=5)
    refused(t, lambda: t.fit(X, Y, validation_data=(vX, vY), epochs=3, verbose=False),
            annt.ShapeError, "validation_data: X (inputs) has 5 features, but GRU(2 -> 4) "
            "expects 2", "(3, 5, 5)")


def test_validation_targets_of_the_wrong_shape_are_found_before_training():
    X, Y = data()
    t = make()
    vX, vY = data(N=3, K=2)
    refused(t, lambda: t.fit(X, Y, validation_data=(vX, vY), verbose=False), annt.ShapeError,
            "expected targets of shape (3, 5, 3)", "got (3, 5, 2)")
    refused(t, lambda: t.fit(X, Y, validation_data=(vX,), verbose=False), ValueError,
            "validation_data must be (X, Y) or (X, Y, mask)")


def test_targets_of_the_wrong_shape_are_found_before_training():
    X, Y = data()
    t = make()
    refused(t, lambda: t.fit(X, Y[..., :2], verbose=False), annt.ShapeError,
            "MSE: expected targets of shape (6, 5, 3)")


# --------------------------------------------------------------------------- #
# values
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("value, found", [(np.nan, "nan"), (2.0, "2.0"), (-1.0, "-1.0"),
                                          (0.5, "0.5")])
def test_masks_hold_only_0_and_1(value, found):
    """A NaN in a mask used to end as "the loss became nan ... try a lower learning
    rate"; 2 and -1 were accepted."""
    X, Y = data()
    mask = np.ones(X.shape[:2], np.float32)
    mask[2, 3] = value
    t = make()
    for call in (lambda: t.train_batch(X, Y, mask), lambda: t.evaluate(X, Y, mask),
                 lambda: t.fit(X, Y, mask=mask, verbose=False),
                 lambda: t.fit(X, Y, validation_data=(X, Y, mask), verbose=False)):
        refused(t, call, annt.InputValueError, "mask must hold only 0 (padding) and 1",
                "1 of its 30 values", f"e.g. {found}")
    with pytest.raises(annt.InputValueError, match="mask must hold only 0"):
        annt.NetworkInference(t.network).predict(X, mask)


def test_boolean_and_integer_masks_are_fine():
    X, Y = data()
    mask = np.ones(X.shape[:2], bool)
    mask[0, 3:] = False
    t = make()
    assert t.evaluate(X, Y, mask)["loss"] == pytest.approx(
        t.evaluate(X, Y, mask.astype(np.float32))["loss"])
    t.train_batch(X, Y, mask.astype(np.int64))


def test_negative_soft_targets_are_refused():
    """They used to give a negative loss without a word."""
    X, _ = data()
    Y = np.full((6, 5, 3), 1 / 3, np.float32)
    Y[1, 2] = [1.5, -0.5, 0.0]
    t = make(Network([GRU(2, 4, rng=0), Dense(4, 3, rng=1), Softmax()]), CrossEntropy())
    refused(t, lambda: t.train_batch(X, Y), annt.InputValueError,
            "targets must be one-hot codes or probabilities (>= 0)", "1 negative value(s)",
            "the smallest -0.5")
    with pytest.raises(annt.InputValueError, match="probabilities"):
        CrossEntropy().loss(np.zeros((2, 3)), np.array([[0.5, 0.6, -0.1], [1, 0, 0]]))


def test_class_indices_out_of_range_in_a_later_batch_are_found_before_training():
    X, _ = data(N=8)
    labels = np.zeros((8, 5), np.int64)
    labels[7, 4] = 3                        # K = 3: classes 0, 1, 2
    t = make(Network([GRU(2, 4, rng=0), Dense(4, 3, rng=1), Softmax()]), CrossEntropy())
    refused(t, lambda: t.fit(X, labels, batch_size=2, shuffle=False, verbose=False),
            ValueError, "class indices must be in [0, 3), got values from 0 to 3")


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_binary_targets_between_0_and_1(value):
    X, _ = data()
    Y = np.zeros((6, 5, 1), np.float32)
    Y[3, 1, 0] = value
    t = make(Network([GRU(2, 4, rng=0), Dense(4, 1, rng=1), Sigmoid()]), BinaryCrossEntropy())
    refused(t, lambda: t.train_batch(X, Y), annt.InputValueError,
            "BinaryCrossEntropy: targets must be between 0 and 1")


@pytest.mark.parametrize("which", ["X", "Y"])
def test_complex_data_is_refused(which):
    """Complex inputs used to lose their imaginary part with only a ComplexWarning."""
    X, Y = data()
    if which == "X":
        X = X + 1j
    else:
        Y = Y * (1 + 1j)
    t = make()
    with np.testing.assert_no_warnings():
        refused(t, lambda: t.train_batch(X, Y), annt.InputValueError,
                f"{which} (", "must hold real numbers", "complex64", "x.real")
