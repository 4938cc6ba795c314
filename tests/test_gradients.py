"""Finite-difference gradient checks of every layer, network and cost (float64).

Every backward pass of annt is compared with central differences of its own
forward pass (annt.check_layer / check_network / check_cost): relative error
below 1e-6 in float64. The recurrent layers are checked many-to-many and
many-to-one, with and without a mask (padding at the end of some sequences),
and from a random non-zero initial state (whose gradient is then checked too).
"""
import re

import numpy as np
import pytest

import annt
from annt import (GRU, LSTM, RNN, Bidirectional, Dense, Dropout, Identity, Jordan, ReLU,
                  Sigmoid, Softmax, Tanh)

F64 = np.float64
TOL = 1e-6
N, T, D, H = 3, 5, 3, 4
LENGTHS = (5, 3, 2)          # sequence 0 is full, 1 and 2 are padded at the end


def end_mask(lengths=LENGTHS, T=T):
    return (np.arange(T)[None, :] < np.asarray(lengths)[:, None]).astype(F64)


def assert_small(errors, expected_keys=(), tol=TOL):
    missing = set(expected_keys) - set(errors)
    assert not missing, f"gradient check did not report {sorted(missing)}: {errors}"
    bad = {k: v for k, v in errors.items() if not v < tol}
    assert not bad, f"relative errors above {tol}: {bad} (all: {errors})"


# --------------------------------------------------------------------------- #
# recurrent layers
# --------------------------------------------------------------------------- #
def make_recurrent(kind, return_sequences=True, backend="numba", seed=0):
    rng = np.random.default_rng(seed)
    kw = dict(return_sequences=return_sequences, backend=backend, dtype=F64, rng=rng)
    if kind == "rnn_tanh":
        return RNN(D, H, activation="tanh", **kw)
    if kind == "rnn_relu":
        return RNN(D, H, activation="relu", **kw)
    if kind == "rnn_linear":
        return RNN(D, H, activation="linear", **kw)
    if kind == "jordan_relu_hidden":
        return Jordan(D, H, 2, activation="relu", output_activation="tanh", **kw)
    if kind.startswith("jordan_"):
        out_act = kind.split("_", 1)[1]
        return Jordan(D, H, 2, activation="tanh", output_activation=out_act, **kw)
    if kind == "lstm":
        return LSTM(D, H, **kw)
    if kind == "gru":
        return GRU(D, H, reset_after=False, **kw)
    if kind == "gru_reset_after":
        return GRU(D, H, reset_after=True, **kw)
    if kind.startswith("bidir_"):
        _, inner, merge = kind.split("_")
        cls = {"rnn": RNN, "lstm": LSTM, "gru": GRU}[inner]
        return Bidirectional(cls(D, H, **kw), merge=merge, rng=rng)
    raise ValueError(kind)


RECURRENT_KINDS = [
    "rnn_tanh", "rnn_relu", "rnn_linear",
    "jordan_identity", "jordan_tanh", "jordan_sigmoid", "jordan_relu_hidden",
    "lstm", "gru", "gru_reset_after",
    "bidir_rnn_concat", "bidir_gru_sum", "bidir_rnn_mean", "bidir_lstm_concat",
]


def _randomise_biases(layer, rng):
    """Biases start at zero (LSTM forget gate at 1); make them non-trivial so
    that their gradients and the ones that depend on them are exercised."""
    for name, p, _ in layer.parameters():
        if name.split(".")[-1] in ("b", "c", "b_hn"):
            p[...] += rng.normal(0, 0.3, p.shape)


def random_state(layer, rng):
    if isinstance(layer, Bidirectional):
        return (random_state(layer.forward_layer, rng), random_state(layer.backward_layer, rng))
    if isinstance(layer, LSTM):
        return tuple(rng.uniform(-0.8, 0.8, (N, layer.hidden_size)) for _ in range(2))
    return rng.uniform(-0.8, 0.8, (N, layer.state_size))


def n_state_parts(state):
    if isinstance(state, tuple):
        return sum(n_state_parts(s) for s in state)
    return 1


def relu_safe_input(rng, shape):
    """Inputs for ReLU: magnitude at least 0.1, so +-eps never crosses the kink."""
    u = rng.standard_normal(shape)
    return np.sign(u) * (0.1 + np.abs(u))


@pytest.mark.parametrize("kind", RECURRENT_KINDS)
@pytest.mark.parametrize("return_sequences", [True, False], ids=["seq", "last"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero0", "state0"])
def test_recurrent_layer_gradients(kind, return_sequences, masked, with_state):
    rng = np.random.default_rng(1)
    layer = make_recurrent(kind, return_sequences)
    _randomise_biases(layer, rng)
    x = rng.standard_normal((N, T, D))
    mask = end_mask() if masked else None
    state = random_state(layer, rng) if with_state else None
    errors = annt.check_layer(layer, x, state=state, mask=mask)
    keys = ["x"] + [name for name, _, _ in layer.parameters()]
    if with_state:
        keys += [f"state{i}" for i in range(n_state_parts(state))]
    else:
        assert not any(k.startswith("state") for k in errors)
    assert_small(errors, keys)


def test_rnn_relu_gradient_on_a_path_with_dead_units():
    """ReLU RNN with biases pushing some units below zero at some steps: the
    kernel must zero their gradients exactly where the forward pass clipped."""
    rng = np.random.default_rng(3)
    layer = make_recurrent("rnn_relu")
    layer.params["b"][...] = np.array([-0.6, 0.5, -0.2, 0.1])
    x = rng.standard_normal((N, T, D))
    y = layer.forward(x)
    assert (y == 0).any() and (y > 0).any()
    assert_small(annt.check_layer(layer, x, state=random_state(layer, rng), mask=end_mask()))


def test_mask_with_padding_in_the_middle():
    rng = np.random.default_rng(4)
    mask = np.array([[1, 0, 0, 1, 1], [1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], F64)
    for kind in ("rnn_tanh", "lstm", "gru", "gru_reset_after", "jordan_sigmoid"):
        layer = make_recurrent(kind)
        _randomise_biases(layer, rng)
        x = rng.standard_normal((N, T, D))
        assert_small(annt.check_layer(layer, x, state=random_state(layer, rng), mask=mask))


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "jordan_sigmoid", "lstm", "gru",
                                  "gru_reset_after", "bidir_lstm_concat"])
def test_numpy_backend_gradients(kind):
    rng = np.random.default_rng(5)
    layer = make_recurrent(kind, return_sequences=True, backend="numpy")
    if isinstance(layer, Bidirectional):
        assert layer.backward_layer.backend == "numpy"
    else:
        assert layer.backend == "numpy"
    _randomise_biases(layer, rng)
    x = rng.standard_normal((N, T, D))
    state = random_state(layer, rng)
    errors = annt.check_layer(layer, x, state=state, mask=end_mask())
    assert_small(errors, ["x", "state0"])


def test_layer_astype_float64_makes_gradient_check_pass():
    """A float32 layer converted with astype(float64) checks as precisely as
    one created in float64."""
    rng = np.random.default_rng(6)
    layer = GRU(D, H, reset_after=True, rng=np.random.default_rng(0)).astype(np.float64)
    assert all(p.dtype == F64 and g.dtype == F64 for _, p, g in layer.parameters())
    x = rng.standard_normal((N, T, D))
    assert_small(annt.check_layer(layer, x, state=rng.uniform(-0.5, 0.5, (N, H))))


def test_gradient_check_detects_a_wrong_backward(monkeypatch):
    """The checker is not vacuous: a backward pass that is off by 1% is caught."""
    rng = np.random.default_rng(7)
    layer = make_recurrent("lstm")
    x = rng.standard_normal((N, T, D))
    original = LSTM.backward

    def wrong_backward(self, dy, dstate=None):
        dx = original(self, dy, dstate)
        self.grads["W"] *= 1.01
        return dx

    monkeypatch.setattr(LSTM, "backward", wrong_backward)
    errors = annt.check_layer(layer, x)
    assert errors["W"] > 1e-3
    assert errors["U"] < TOL


# --------------------------------------------------------------------------- #
# feed-forward layers
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape", [(4, 3), (3, 4, 3)], ids=["2d", "3d"])
def test_dense_gradients(shape):
    rng = np.random.default_rng(10)
    layer = Dense(3, 5, dtype=F64, rng=rng)
    layer.params["b"][...] = rng.standard_normal(5)
    errors = annt.check_layer(layer, rng.standard_normal(shape))
    assert_small(errors, ["x", "W", "b"])


@pytest.mark.parametrize("cls", [Identity, Tanh, Sigmoid, Softmax, ReLU])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5)], ids=["2d", "3d"])
def test_activation_gradients(cls, shape):
    rng = np.random.default_rng(11)
    x = relu_safe_input(rng, shape) * 1.5
    errors = annt.check_layer(cls(dtype=F64), x)
    assert_small(errors, ["x"])


def test_activation_values():
    """The forward passes the gradient checks rely on compute the right functions."""
    x = np.array([[-30.0, -1.0, 0.0, 0.5, 30.0]])
    np.testing.assert_array_equal(Identity(dtype=F64).forward(x), x)
    np.testing.assert_allclose(Tanh(dtype=F64).forward(x), np.tanh(x), rtol=1e-15)
    # (1 + tanh(x/2)) / 2 cancels for very negative x: exact to 1e-16 absolutely,
    # not relatively (sigmoid(-30) = 9.4e-14 comes out with 2e-4 relative error)
    np.testing.assert_allclose(Sigmoid(dtype=F64).forward(x), 1 / (1 + np.exp(-x)),
                               rtol=1e-14, atol=1e-16)
    np.testing.assert_array_equal(ReLU(dtype=F64).forward(x), [[0, 0, 0, 0.5, 30]])
    s = Softmax(dtype=F64).forward(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]]))
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s[0], e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(s[1], [0.5, 0.5, 0.0], atol=1e-300)


# --------------------------------------------------------------------------- #
# Dropout
# --------------------------------------------------------------------------- #
def test_dropout_training_backward_uses_the_stored_mask():
    rate = 0.3
    layer = Dropout(rate, dtype=F64, rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x = relu_safe_input(rng, (50, 20, 8))          # no exact zeros in x
    y = layer.forward(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-15)
    dy = rng.standard_normal(x.shape)
    dx = layer.backward(dy)
    np.testing.assert_allclose(dx, dy * kept / (1 - rate), rtol=1e-15)
    # a second forward draws a new mask and backward follows it
    y2 = layer.forward(x, training=True)
    assert not np.array_equal(y2 != 0, kept)
    np.testing.assert_allclose(layer.backward(dy), dy * (y2 != 0) / (1 - rate), rtol=1e-15)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_keeps_about_one_minus_rate(rate):
    layer = Dropout(rate, rng=np.random.default_rng(2))
    y = layer.forward(np.ones((200, 500), np.float32), training=True)
    kept = float((y != 0).mean())
    assert abs(kept - (1 - rate)) < 0.01          # 100k draws: sd < 0.0016
    # inverted dropout: the mean is preserved
    assert abs(float(y.mean()) - 1.0) < 0.03


def test_dropout_inference_is_identity():
    layer = Dropout(0.5, dtype=F64, rng=np.random.default_rng(3))
    x = np.random.default_rng(4).standard_normal((6, 4, 3))
    y = layer.forward(x, training=False)
    np.testing.assert_array_equal(y, x)
    dy = np.random.default_rng(5).standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(dy), dy)


def test_dropout_rejects_bad_rates():
    for rate in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError):
            Dropout(rate)


# --------------------------------------------------------------------------- #
# whole networks
# --------------------------------------------------------------------------- #
def _f64(net, rng):
    net.astype(F64)
    for layer in net.layers:
        halves = ([layer.forward_layer, layer.backward_layer]
                  if isinstance(layer, Bidirectional) else [layer])
        for half in halves:
            _randomise_biases(half, rng)
    return net


@pytest.mark.parametrize("targets", ["onehot", "indices"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
def test_stacked_gru_lstm_softmax_crossentropy(targets, masked):
    rng = np.random.default_rng(20)
    net = _f64(annt.Network([GRU(D, 4, rng=rng), Dropout(0.0), LSTM(4, 3, rng=rng),
                             Dense(3, 3, rng=rng), Softmax()]), rng)
    X = rng.standard_normal((N, T, D))
    labels = rng.integers(0, 3, (N, T))
    Y = annt.one_hot(labels, 3, F64) if targets == "onehot" else labels
    mask = end_mask() if masked else None
    errors = annt.check_network(net, annt.CrossEntropy(), X, Y, mask=mask)
    assert_small(errors, ["X"] + [n for n, _, _ in net.parameters()])


def test_stacked_with_dropout_in_inference_mode_is_transparent():
    """Dropout with a non-zero rate between recurrent layers: at inference it
    passes the gradient unchanged, so the stack's backward matches the
    numerical gradient of its inference forward."""
    rng = np.random.default_rng(21)
    net = _f64(annt.Network([GRU(D, 4, rng=rng), Dropout(0.5, rng=rng), LSTM(4, 3, rng=rng),
                             Dense(3, 2, rng=rng)]), rng)
    X = rng.standard_normal((N, T, D))
    G = rng.standard_normal((N, T, 2))

    def loss():
        return float((net.forward(X, training=False) * G).sum())

    net.forward(X, training=False)
    dX = net.backward(G)
    analytic = {n: g.copy() for n, _, g in net.parameters()}
    assert annt.relative_error(dX, annt.numerical_gradient(loss, X)) < TOL
    for name, p, _ in net.parameters():
        assert annt.relative_error(analytic[name], annt.numerical_gradient(loss, p)) < TOL, name


@pytest.mark.parametrize("merge", ["concat", "sum", "mean"])
def test_bidirectional_dense_mse(merge):
    rng = np.random.default_rng(22)
    bi = Bidirectional(GRU(D, 3, reset_after=True, rng=rng), merge=merge, rng=rng)
    net = _f64(annt.Network([bi, Dense(bi.output_size, 2, rng=rng)]), rng)
    X = rng.standard_normal((N, T, D))
    Y = rng.standard_normal((N, T, 2))
    for mask in (None, end_mask()):
        errors = annt.check_network(net, annt.MSE(), X, Y, mask=mask)
        assert_small(errors, ["X"] + [n for n, _, _ in net.parameters()])


@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
def test_many_to_one_rnn_sigmoid_bce(masked):
    rng = np.random.default_rng(23)
    net = _f64(annt.Network([RNN(D, 4, return_sequences=False, rng=rng), Dense(4, 2, rng=rng),
                             Sigmoid()]), rng)
    X = rng.standard_normal((N, T, D))
    Y = rng.integers(0, 2, (N, 2)).astype(F64)
    errors = annt.check_network(net, annt.BinaryCrossEntropy(), X, Y,
                                mask=end_mask() if masked else None)
    assert_small(errors, ["X"] + [n for n, _, _ in net.parameters()])


def test_many_to_one_lstm_softmax_with_class_indices_and_mask():
    rng = np.random.default_rng(24)
    net = _f64(annt.Network([Jordan(D, 4, 3, rng=rng), LSTM(3, 4, return_sequences=False,
                                                           rng=rng),
                             Dense(4, 3, rng=rng), Softmax()]), rng)
    X = rng.standard_normal((N, T, D))
    Y = rng.integers(0, 3, N)
    errors = annt.check_network(net, "cross_entropy", X, Y, mask=end_mask())
    assert_small(errors, ["X"] + [n for n, _, _ in net.parameters()])


def test_unfused_softmax_with_mse():
    """Softmax at the end with a cost it is not fused with: its own Jacobian
    backward is used."""
    rng = np.random.default_rng(25)
    net = _f64(annt.Network([LSTM(D, 4, rng=rng), Dense(4, 3, rng=rng), Softmax()]), rng)
    X = rng.standard_normal((N, T, D))
    Y = rng.dirichlet(np.ones(3), (N, T))
    assert_small(annt.check_network(net, annt.MSE(), X, Y, mask=end_mask()))


# --------------------------------------------------------------------------- #
# costs
# --------------------------------------------------------------------------- #
def _cost_case(cost, shape, rng):
    y = rng.standard_normal(shape)
    if cost == "MSE":
        t = rng.standard_normal(shape)
    elif cost == "BinaryCrossEntropy":
        t = rng.integers(0, 2, shape).astype(F64)
    elif cost == "CrossEntropy":
        t = annt.one_hot(rng.integers(0, shape[-1], shape[:-1]), shape[-1], F64)
    else:  # CrossEntropy with class indices
        t = rng.integers(0, shape[-1], shape[:-1])
    return y, t


COSTS = ["MSE", "BinaryCrossEntropy", "CrossEntropy", "CrossEntropyIndices"]


@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("shape", [(5, 4), (3, 5, 4)], ids=["2d", "3d"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
def test_cost_gradients(cost, shape, masked):
    rng = np.random.default_rng(30)
    y, t = _cost_case(cost, shape, rng)
    mask = None
    if masked:
        mask = (rng.random(shape[:-1]) < 0.6).astype(F64)
        mask.flat[0] = 1
        mask.flat[-1] = 0
    name = cost.replace("Indices", "")
    err = annt.check_cost(name, y, t, mask)
    assert err < TOL, err


def test_cost_values():
    y = np.array([[0.0, 1.0], [2.0, -1.0]])
    t = np.array([[1.0, 1.0], [0.0, 0.0]])
    # MSE: mean over positions and outputs
    assert annt.MSE().loss(y, t) == pytest.approx((1 + 0 + 4 + 1) / 4)
    assert annt.MSE().loss(y, t, mask=np.array([1.0, 0.0])) == pytest.approx(1 / 2)
    # BCE from logits
    sp = np.log1p(np.exp(y))
    assert annt.BinaryCrossEntropy().loss(y, t) == pytest.approx(float((sp - t * y).mean()))
    # CE from logits, one-hot and indices agree
    z = np.array([[[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]])
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    idx = np.array([[2, 0]])
    expected = -(logp[0, 0, 2] + logp[0, 1, 0]) / 2
    assert annt.CrossEntropy().loss(z, idx) == pytest.approx(expected)
    assert annt.CrossEntropy().loss(z, annt.one_hot(idx, 3, F64)) == pytest.approx(expected)
    # the mask drops a position from both the sum and the count
    assert annt.CrossEntropy().loss(z, idx, np.array([[1.0, 0.0]])) == pytest.approx(
        -logp[0, 0, 2])


def test_cost_ignores_masked_positions():
    rng = np.random.default_rng(31)
    for cost in COSTS:
        y, t = _cost_case(cost, (3, 4, 5), rng)
        mask = np.ones((3, 4))
        mask[1, 2:] = 0
        c = annt.costs.get_cost(cost.replace("Indices", ""))
        loss, grad = c.loss_and_grad(y, t, mask)
        y2 = y.copy()
        y2[1, 2:] = rng.standard_normal(y2[1, 2:].shape) * 10
        loss2, _ = c.loss_and_grad(y2, t, mask)
        assert loss2 == pytest.approx(loss, rel=1e-12), cost
        assert np.all(grad[1, 2:] == 0), cost


def test_cost_rejects_a_mask_that_selects_nothing():
    y = np.zeros((2, 3, 4))
    with pytest.raises(ValueError):
        annt.MSE().loss(y, y, np.zeros((2, 3)))


# --------------------------------------------------------------------------
# verdicts printed by the book: a bound, the same on every machine
# --------------------------------------------------------------------------
def test_format_bound_writes_tolerances_as_people_do():
    assert annt.gradcheck.format_bound(1e-12) == "1e-12"
    assert annt.gradcheck.format_bound(5e-7) == "5e-7"
    assert annt.gradcheck.format_bound(0.01) == "1e-2"
    for bad in (0, -1e-6, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            annt.gradcheck.format_bound(bad)


def test_assert_below_prints_the_bound_not_the_value(capsys):
    annt.assert_below({"dU": 3.1e-10, "dW": 2.9e-9}, 1e-7)
    annt.assert_below(4.2e-11, 1e-7, label="LSTM step")
    annt.assert_below(0.0, 1e-12, what="max |difference|")
    out = capsys.readouterr().out.splitlines()
    assert out == ["relative error < 1e-7: dU, dW", "LSTM step: relative error < 1e-7",
                   "max |difference| < 1e-12"]


@pytest.mark.parametrize("value", [1e-7, 2e-3, float("nan"), float("inf")])
def test_assert_below_fails_with_the_values(value, capsys):
    with pytest.raises(AssertionError, match=r"relative error not below 1e-7: dW"):
        annt.assert_below({"dU": 1e-10, "dW": value}, 1e-7)
    assert capsys.readouterr().out == ""


def test_assert_close_compares_arrays_and_pairs(capsys):
    a = np.linspace(0, 1, 7)
    annt.assert_close(a, a + 1e-15)
    annt.assert_close({"h": (a, a), "c": (a[:3], a[:3] * (1 + 1e-9))}, bound=1e-6, label="LSTM")
    assert capsys.readouterr().out.splitlines() == [
        "max |difference| < 1e-12", "LSTM: max |difference| < 1e-6: h, c"]
    with pytest.raises(AssertionError, match=re.escape("max |difference| not below 1e-12")):
        annt.assert_close(a, a + 1e-9)
    with pytest.raises(AssertionError):
        annt.assert_close(a, np.where(a > 0.5, np.nan, a))
    with pytest.raises(ValueError, match="shapes"):
        annt.assert_close(a, a[:3])
