"""Inference: predict, step, generate, sample, sample_from_probabilities."""
import numpy as np
import pytest
from scipy import stats

import annt
from annt import (GRU, LSTM, RNN, Dense, Dropout, Jordan, Network, NetworkInference, Sigmoid,
                  Softmax, Tanh)

N, T, D = 3, 7, 4


def make_net(kind, D=D, K=3, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "rnn":
        layers = [RNN(D, 6, rng=rng), Dense(6, K, rng=rng)]
    elif kind == "rnn_relu":
        layers = [RNN(D, 6, activation="relu", rng=rng), Dense(6, K, rng=rng)]
    elif kind == "lstm":
        layers = [LSTM(D, 6, rng=rng), Dense(6, K, rng=rng), Softmax()]
    elif kind == "gru":
        layers = [GRU(D, 6, rng=rng), Dense(6, K, rng=rng), Sigmoid()]
    elif kind == "gru_after":
        layers = [GRU(D, 6, reset_after=True, rng=rng), Dense(6, K, rng=rng)]
    elif kind == "jordan":
        layers = [Jordan(D, 6, K, output_activation="identity", rng=rng)]
    elif kind == "stacked":
        layers = [Dense(D, 5, rng=rng), Tanh(), GRU(5, 6, rng=rng), Dropout(0.5, rng=rng),
                  LSTM(6, 5, rng=rng), Jordan(5, 4, 4, rng=rng),
                  RNN(4, 5, return_sequences=False, rng=rng), Dense(5, K, rng=rng), Softmax()]
    else:
        raise ValueError(kind)
    net = Network(layers)
    for _, p, _ in net.parameters():           # non-zero biases
        p[...] += rng.normal(0, 0.2, p.shape).astype(p.dtype)
    return net


KINDS = ["rnn", "rnn_relu", "lstm", "gru", "gru_after", "jordan", "stacked"]


@pytest.mark.parametrize("kind", KINDS)
def test_step_T_times_equals_predict(kind):
    net = make_net(kind)
    X = np.random.default_rng(1).standard_normal((N, T, D)).astype(np.float32)
    inf = NetworkInference(net)
    full = inf.predict(X)
    assert full.dtype == np.float32
    outs = np.stack([inf.step(X[:, t]) for t in range(T)], axis=1)
    assert outs.dtype == np.float32
    if full.ndim == 2:            # many-to-one: the last step's output
        np.testing.assert_allclose(outs[:, -1], full, atol=1e-5, rtol=0)
        # and each step's output is the prediction for the prefix so far
        for t in (0, 3):
            np.testing.assert_allclose(outs[:, t], inf.predict(X[:, :t + 1]), atol=1e-5,
                                       rtol=0)
    else:
        np.testing.assert_allclose(outs, full, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "jordan"])
def test_step_keeps_state_until_reset(kind):
    net = make_net(kind)
    X = np.random.default_rng(2).standard_normal((N, T, D)).astype(np.float32)
    inf = NetworkInference(net)
    y0 = inf.step(X[:, 0])
    y1 = inf.step(X[:, 0])          # same input, but a state now
    assert np.abs(y1 - y0).max() > 1e-4
    # predict does not touch the stepping state
    inf.predict(X)
    np.testing.assert_allclose(inf.step(X[:, 0]), inf.predict(np.repeat(X[:, :1], 3, 1))[:, 2],
                               atol=1e-5, rtol=0)
    inf.reset_state()
    np.testing.assert_allclose(inf.step(X[:, 0]), y0, atol=1e-6, rtol=0)


def test_single_step_and_single_sequence_inputs():
    net = make_net("lstm")
    X = np.random.default_rng(3).standard_normal((T, D)).astype(np.float32)
    inf = NetworkInference(net)
    seq = inf.predict(X)                       # (T, D) -> (T, K)
    assert seq.shape == (T, 3)
    np.testing.assert_allclose(seq, inf.predict(X[None])[0], atol=1e-6)
    steps = np.stack([inf.step(X[t]) for t in range(T)])   # (D,) -> (K,)
    assert steps.shape == (T, 3)
    np.testing.assert_allclose(steps, seq, atol=1e-5, rtol=0)


def test_predict_batches_and_mask():
    net = make_net("gru")
    rng = np.random.default_rng(4)
    X = rng.standard_normal((5, T, D)).astype(np.float32)
    inf = NetworkInference(net)
    np.testing.assert_allclose(inf.predict(X, batch_size=2), inf.predict(X), atol=1e-6)
    mask = np.ones((5, T), np.float32)
    mask[2, 3:] = 0
    y = inf.predict(X, mask=mask, batch_size=2)
    np.testing.assert_allclose(y[2, :3], inf.predict(X[2, :3]), atol=1e-5)
    np.testing.assert_allclose(y[2, 3:], np.repeat(y[2, 2:3], T - 3, 0), atol=1e-6)


def test_inference_input_errors():
    inf = NetworkInference(make_net("rnn"))
    with pytest.raises(annt.InputValueError):
        inf.predict(np.full((2, 3, D), np.nan))
    with pytest.raises(annt.InputValueError):
        inf.step(np.array([np.inf] * D))
    with pytest.raises(annt.InputValueError):
        inf.predict(np.zeros((2, 0, D)))
    with pytest.raises(annt.ShapeError):
        inf.predict(np.zeros((2, 3, 4, D)))
    with pytest.raises(annt.ShapeError):
        inf.step(np.zeros((2, 3, D)))
    with pytest.raises(annt.ShapeError):
        inf.predict(np.zeros((2, 3, D + 1)))


# --------------------------------------------------------------------------- #
# generate
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("kind", ["rnn", "gru_after", "jordan"])
def test_generate_equals_manual_closed_loop(kind):
    net = make_net(kind, D=3, K=3)
    prime = np.random.default_rng(5).standard_normal((N, 4, 3)).astype(np.float32)
    inf = NetworkInference(net)
    inf.step(np.ones((N, 3), np.float32))        # generate starts from zero regardless
    gen = inf.generate(prime, 6)
    assert gen.shape == (N, 6, 3)
    manual = NetworkInference(net)
    for t in range(4):
        y = manual.step(prime[:, t])
    expected = []
    for _ in range(6):
        expected.append(y)
        y = manual.step(y)
    np.testing.assert_allclose(gen, np.stack(expected, 1), atol=1e-5, rtol=0)
    # a single priming sequence (T0, D) gives (steps, K)
    single = NetworkInference(net).generate(prime[1], 6)
    np.testing.assert_allclose(single, gen[1], atol=1e-5, rtol=0)


def test_generate_with_feedback():
    net = make_net("lstm", D=4, K=3)         # 3 outputs, 4 inputs: needs feedback
    prime = np.random.default_rng(6).standard_normal((N, 2, 4)).astype(np.float32)
    inf = NetworkInference(net)
    with pytest.raises(annt.ShapeError, match="feedback"):
        inf.generate(prime, 3)

    def feedback(y):
        return np.concatenate([y, y.sum(-1, keepdims=True) * 2], axis=-1)

    gen = inf.generate(prime, 5, feedback=feedback)
    manual = NetworkInference(net)
    manual.step(prime[:, 0])
    y = manual.step(prime[:, 1])
    expected = []
    for _ in range(5):
        expected.append(y)
        y = manual.step(feedback(y))
    np.testing.assert_allclose(gen, np.stack(expected, 1), atol=1e-5, rtol=0)


# --------------------------------------------------------------------------- #
# sample
# --------------------------------------------------------------------------- #
def _softmax_net(K=5, seed=0):
    rng = np.random.default_rng(seed)
    net = Network([GRU(K, 8, rng=rng), Dense(8, K, rng=rng), Softmax()])
    for _, p, _ in net.parameters():
        p[...] *= 3                          # sharper, more varied distributions
    return net


def test_sample_temperature_zero_is_greedy():
    K = 5
    net = _softmax_net(K)
    prime = np.array([[0, 3, 1], [4, 4, 2]])
    out = NetworkInference(net).sample(prime, 8, temperature=0)
    assert out.shape == (2, 8) and out.dtype.kind == "i"
    manual = NetworkInference(net)
    for t in range(prime.shape[1]):
        p = manual.step(annt.one_hot(prime[:, t], K))
    expected = []
    for _ in range(8):
        idx = p.argmax(-1)
        expected.append(idx)
        p = manual.step(annt.one_hot(idx, K))
    np.testing.assert_array_equal(out, np.stack(expected, 1))
    # a 1-D priming sequence gives a 1-D result
    np.testing.assert_array_equal(NetworkInference(net).sample(prime[1], 8, temperature=0),
                                  out[1])


def test_sample_from_logits_network_applies_softmax():
    """A network without a final Softmax: temperature 0 still follows the argmax."""
    K = 4
    rng = np.random.default_rng(7)
    net = Network([LSTM(K, 6, rng=rng), Dense(6, K, rng=rng)])
    out = NetworkInference(net).sample(np.array([[1, 2]]), 5, temperature=0)
    manual = NetworkInference(net)
    manual.step(annt.one_hot(np.array([1]), K))
    z = manual.step(annt.one_hot(np.array([2]), K))
    expected = []
    for _ in range(5):
        expected.append(int(z.argmax()))
        z = manual.step(annt.one_hot(z.argmax(-1), K))
    assert out[0].tolist() == expected


def test_sample_with_seeded_rng_is_reproducible():
    net = _softmax_net()
    prime = np.array([[0, 1], [2, 3], [4, 0]])
    inf = NetworkInference(net)
    a = inf.sample(prime, 30, temperature=1.0, rng=42)
    b = inf.sample(prime, 30, temperature=1.0, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    c = inf.sample(prime, 30, temperature=1.0, rng=43)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() < 5
    with pytest.raises(annt.ShapeError):
        inf.sample(prime.astype(float), 3)


# --------------------------------------------------------------------------- #
# sample_from_probabilities
# --------------------------------------------------------------------------- #
P = np.array([0.1, 0.2, 0.3, 0.4])
DRAWS = 200_000


def _frequencies(p, temperature, seed=0):
    idx = annt.sample_from_probabilities(np.tile(p, (DRAWS, 1)), temperature,
                                         np.random.default_rng(seed))
    assert idx.shape == (DRAWS,)
    return np.bincount(idx, minlength=len(p))


def _chi2_ok(counts, q):
    expected = q * counts.sum()
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    return chi2 < stats.chi2.ppf(1 - 1e-6, len(q) - 1), chi2


def test_sampling_frequencies_match_p_at_temperature_one():
    counts = _frequencies(P, 1.0)
    ok, chi2 = _chi2_ok(counts, P)
    assert ok, (counts / DRAWS, chi2)
    # and the test can fail: the same counts do not fit another distribution
    assert not _chi2_ok(counts, np.array([0.15, 0.2, 0.3, 0.35]))[0]


def test_lower_temperature_sharpens():
    counts = _frequencies(P, 0.5, seed=1)
    q = P ** 2 / (P ** 2).sum()              # p^(1/T) renormalised
    ok, chi2 = _chi2_ok(counts, q)
    assert ok, (counts / DRAWS, q, chi2)
    assert counts[-1] / DRAWS > 0.5 > P[-1] + 0.05
    # higher temperature flattens
    hot = _frequencies(P, 2.0, seed=2)
    q2 = np.sqrt(P) / np.sqrt(P).sum()
    assert _chi2_ok(hot, q2)[0]
    assert hot[0] / DRAWS > 0.15


def test_sample_from_probabilities_edge_cases():
    p = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [0.2, 0.3, 0.5]])
    np.testing.assert_array_equal(annt.sample_from_probabilities(p, 0), [1, 0, 2])
    rng = np.random.default_rng(3)
    for _ in range(50):
        idx = annt.sample_from_probabilities(p, 1.0, rng)
        assert idx[0] == 1 and idx[1] in (0, 2)      # zero-probability classes never drawn
    with pytest.raises(ValueError):
        annt.sample_from_probabilities(p, -1)


# --------------------------------------------------------------------------- #
# Dropout at inference
# --------------------------------------------------------------------------- #
def test_dropout_is_inactive_in_predict_and_step():
    rng = np.random.default_rng(8)
    gru, dense = GRU(D, 6, rng=rng), Dense(6, 3, rng=rng)
    with_dropout = Network([gru, Dropout(0.5, rng=rng), dense])
    without = Network([gru, dense])
    X = rng.standard_normal((N, T, D)).astype(np.float32)
    a = NetworkInference(with_dropout).predict(X)
    np.testing.assert_array_equal(a, NetworkInference(with_dropout).predict(X))
    np.testing.assert_allclose(a, NetworkInference(without).predict(X), atol=0, rtol=0)
    inf = NetworkInference(with_dropout)
    np.testing.assert_allclose(np.stack([inf.step(X[:, t]) for t in range(T)], 1), a,
                               atol=1e-5, rtol=0)
    # whereas in training mode it does drop
    assert not np.allclose(with_dropout.forward(X, training=True), a)


def test_stepping_a_bidirectional_network_is_refused():
    """Its backward half needs the future: step/generate/sample would silently carry
    the backward state forwards in time."""
    net = annt.Network([annt.Bidirectional(annt.GRU(3, 4, rng=0), rng=1), annt.Dense(8, 3, rng=2)])
    inference = annt.NetworkInference(net)
    x = np.zeros((2, 5, 3), np.float32)
    assert inference.predict(x).shape == (2, 5, 3)
    with pytest.raises(ValueError, match="bidirectional layer"):
        inference.step(x[:, 0])
    with pytest.raises(ValueError, match="one step at a time"):
        inference.generate(x, 3)


# --------------------------------------------------------------------------- #
# step-by-step inference through the StepPlan (one kernel per layer)
# --------------------------------------------------------------------------- #
ATOL_STEP = {np.float32: 1e-5, np.float64: 1e-12}


def make_step_net(kind, dtype, backend="numba", D=D, seed=0):
    """A network of one kind of layer (plus a Dense where the layer keeps the size),
    in ``dtype``, with non-zero biases."""
    rng = np.random.default_rng(seed)
    kw = dict(dtype=dtype, rng=rng)
    rkw = dict(kw, backend=backend)
    layers = {
        "rnn": lambda: [RNN(D, 6, **rkw)],
        "rnn_relu": lambda: [RNN(D, 6, activation="relu", **rkw)],
        "rnn_linear": lambda: [RNN(D, 6, activation="linear", **rkw)],
        "lstm": lambda: [LSTM(D, 6, **rkw)],
        "gru": lambda: [GRU(D, 6, **rkw)],
        "gru_after": lambda: [GRU(D, 6, reset_after=True, **rkw)],
        "jordan": lambda: [Jordan(D, 6, 3, **rkw)],
        "jordan_relu_sigmoid": lambda: [Jordan(D, 6, 3, activation="relu",
                                               output_activation="sigmoid", **rkw)],
        "jordan_identity": lambda: [Jordan(D, 6, 3, output_activation="identity", **rkw)],
        "dense": lambda: [Dense(D, 5, **kw)],
        "activations": lambda: [Dense(D, 5, **kw), Tanh(dtype), annt.ReLU(dtype),
                                annt.Identity(dtype), Sigmoid(dtype), Dense(5, 4, **kw),
                                Softmax(dtype)],
        "dropout": lambda: [LSTM(D, 6, **rkw), Dropout(0.5, dtype=dtype, rng=rng),
                            Dense(6, 3, **kw), Dropout(0.3, dtype=dtype, rng=rng)],
        "stacked": lambda: [Dense(D, 5, **kw), Tanh(dtype), GRU(5, 6, **rkw),
                            Dropout(0.5, dtype=dtype, rng=rng), LSTM(6, 5, **rkw),
                            Jordan(5, 4, 4, **rkw), GRU(4, 5, reset_after=True, **rkw),
                            RNN(5, 5, return_sequences=False, **rkw), Dense(5, 3, **kw),
                            Softmax(dtype)],
    }[kind]()
    net = Network(layers)
    for _, p, _ in net.parameters():
        p[...] += rng.normal(0, 0.2, p.shape).astype(p.dtype)
    return net


STEP_KINDS = ["rnn", "rnn_relu", "rnn_linear", "lstm", "gru", "gru_after", "jordan",
              "jordan_relu_sigmoid", "jordan_identity", "dense", "activations", "dropout",
              "stacked"]


def _nested_close(a, b, atol):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b):
            _nested_close(x, y, atol)
    else:
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=atol, rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", STEP_KINDS)
def test_step_equals_forward_for_every_layer(kind, dtype):
    net = make_step_net(kind, dtype)
    X = np.random.default_rng(11).standard_normal((N, T, D)).astype(dtype)
    full = net.forward(X)
    finals = net.final_states
    inf = NetworkInference(net)
    outs = [inf.step(X[:, t]) for t in range(T)]
    assert inf._plan.supported                 # the fast path ran, not Network.forward
    assert all(y.dtype == dtype and y.shape == (N, net.output_size) for y in outs)
    expected = full if full.ndim == 2 else full[:, -1]
    np.testing.assert_allclose(outs[-1], expected, atol=ATOL_STEP[dtype], rtol=0)
    if full.ndim == 3:
        np.testing.assert_allclose(np.stack(outs, 1), full, atol=ATOL_STEP[dtype], rtol=0)
    # the state it keeps is the network's final state after the same sequence
    _nested_close(inf.states, finals, ATOL_STEP[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "gru_after", "jordan"])
def test_step_with_the_numpy_backend(kind, dtype):
    net = make_step_net(kind, dtype, backend="numpy")
    X = np.random.default_rng(12).standard_normal((N, T, D)).astype(dtype)
    inf = NetworkInference(net)
    outs = np.stack([inf.step(X[:, t]) for t in range(T)], 1)
    assert inf._plan.supported and outs.dtype == dtype
    np.testing.assert_allclose(outs, net.forward(X), atol=ATOL_STEP[dtype], rtol=0)


def test_step_outputs_are_not_overwritten_by_later_steps():
    net = make_step_net("rnn", np.float32)
    X = np.random.default_rng(13).standard_normal((N, T, D)).astype(np.float32)
    inf = NetworkInference(net)
    y0 = inf.step(X[:, 0])
    kept = y0.copy()
    inf.step(X[:, 1])
    np.testing.assert_array_equal(y0, kept)
    s = inf.states
    s[0][...] = 100                           # reading the state gives a copy
    np.testing.assert_allclose(inf.step(X[:, 2]), net.forward(X[:, :3])[:, -1], atol=1e-5)


def test_assigning_states_and_continuing():
    net = make_step_net("stacked", np.float32)
    X = np.random.default_rng(14).standard_normal((N, T, D)).astype(np.float32)
    full = net.forward(X)
    net.forward(X[:, :3])
    first = net.final_states
    inf = NetworkInference(net)
    inf.step(X[:, 0])                         # some other state, replaced below
    inf.states = first
    for t in range(3, T):
        y = inf.step(X[:, t])
    np.testing.assert_allclose(y, full, atol=1e-5, rtol=0)
    # generate and predict leave a state that step continues from
    inf.reset_state()
    assert inf.states is None
    np.testing.assert_allclose(inf.step(X[:, 0]), net.forward(X[:, :1]), atol=1e-5, rtol=0)


def test_step_sees_weights_changed_between_steps():
    """Training between steps: in-place updates and replaced arrays are both used."""
    net = make_step_net("gru", np.float32)
    gru = net.layers[0]
    X = np.random.default_rng(15).standard_normal((N, T, D)).astype(np.float32)
    inf = NetworkInference(net)
    inf.step(X[:, 0])
    h1 = inf.states[0]
    gru.params["W"] *= 1.5                                   # in place, as optimizers do
    gru.params["b"] = gru.params["b"] + np.float32(0.3)      # a new array
    y = inf.step(X[:, 1])
    np.testing.assert_allclose(y, net.forward(X[:, 1:2], [h1])[:, -1], atol=1e-5, rtol=0)


def test_step_follows_changes_of_batch_size_dtype_and_layers():
    net = make_step_net("lstm", np.float32)
    X = np.random.default_rng(16).standard_normal((N, T, D)).astype(np.float32)
    inf = NetworkInference(net)
    inf.step(X[:, 0])
    with pytest.raises(annt.ShapeError, match="initial state"):
        inf.step(X[:2, 1])                    # another batch size without a reset: as before
    np.testing.assert_allclose(inf.step(X[:, 1]), net.forward(X[:, :2])[:, -1], atol=1e-5)
    inf.reset_state()
    np.testing.assert_allclose(inf.step(X[:2, 0]), net.forward(X[:2, :1])[:, -1], atol=1e-5)
    # the network converted to float64 between steps: the state carries over
    inf.reset_state()
    inf.step(X[:, 0])
    net.astype(np.float64)
    y = inf.step(X[:, 1])
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, net.forward(X[:, :2].astype(np.float64))[:, -1], atol=1e-5)
    # a layer added to the network
    net.layers.append(Softmax(np.float64))
    y = inf.step(X[:, 2])
    np.testing.assert_allclose(y.sum(axis=1), 1, atol=1e-12)


def test_step_input_checks():
    inf = NetworkInference(make_step_net("rnn", np.float32))
    x = np.random.default_rng(17).standard_normal((N, D)).astype(np.float32)
    y0 = inf.step(x)
    for bad in (np.nan, np.inf):
        xb = x.copy()
        xb[1, 2] = bad
        with pytest.raises(annt.InputValueError, match=r"x_t \(one time step\) must be finite"):
            inf.step(xb)
        with pytest.raises(annt.InputValueError, match="must be finite"):
            inf.step(xb[1])
    with pytest.raises(annt.ShapeError, match=r"expected 2-d input .* got shape \(3, 1, 4\)"):
        inf.step(x[:, None])
    with pytest.raises(annt.ShapeError, match=r"expected 2-d input .* got shape \(\)"):
        inf.step(1.0)
    with pytest.raises(annt.ShapeError, match=r"\(batch, time, 4\), got \(3, 1, 5\)"):
        inf.step(np.zeros((N, D + 1)))
    with pytest.raises(annt.InputValueError, match="empty"):
        inf.step(np.zeros((0, D)))
    # the failed calls left the state alone
    ref = NetworkInference(inf.network)
    ref.step(x)
    np.testing.assert_allclose(inf.step(x), ref.step(x), atol=0, rtol=0)
    assert not np.allclose(inf.step(x), y0)


def test_step_accepts_lists_other_dtypes_and_strided_inputs():
    net = make_step_net("gru_after", np.float32)
    X = np.random.default_rng(18).standard_normal((N, T, D))             # float64
    expected = net.forward(X)
    inf = NetworkInference(net)
    outs = [inf.step(X[:, 0].tolist()), inf.step(X[:, 1])]               # list, float64
    outs += [inf.step(X[:, t].astype(np.float32)) for t in range(2, 4)]  # (N, D) float32
    outs += [inf.step(np.asfortranarray(X[:, t])) for t in range(4, T)]  # not C-contiguous
    assert all(y.dtype == np.float32 for y in outs)
    np.testing.assert_allclose(np.stack(outs, 1), expected, atol=1e-5, rtol=0)


def test_step_large_batch():
    """Batches from 16 sequences step under the BLAS thread limit (annt._threads)."""
    net = make_step_net("lstm", np.float32)
    X = np.random.default_rng(19).standard_normal((20, T, D)).astype(np.float32)
    inf = NetworkInference(net)
    outs = np.stack([inf.step(X[:, t]) for t in range(T)], 1)
    np.testing.assert_allclose(outs, net.forward(X), atol=1e-5, rtol=0)


def test_layers_without_a_stepper_use_network_forward():
    """A subclass of a layer may compute something else: it is stepped by its forward."""
    class ScaledTanh(Tanh):
        def f(self, x):
            return 2 * np.tanh(x)

    rng = np.random.default_rng(20)
    net = Network([GRU(D, 6, rng=rng), ScaledTanh(), Dense(6, 3, rng=rng)])
    X = rng.standard_normal((N, T, D)).astype(np.float32)
    inf = NetworkInference(net)
    outs = np.stack([inf.step(X[:, t]) for t in range(T)], 1)
    assert not inf._plan.supported
    np.testing.assert_allclose(outs, net.forward(X), atol=1e-5, rtol=0)
    with pytest.raises(annt.InputValueError):
        inf.step(np.full((N, D), np.nan))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_generate_and_sample_step_through_the_plan(dtype):
    net = make_step_net("stacked", dtype, D=3)
    net.layers.pop()                         # outputs 3 features, fed back as inputs
    net = Network(net.layers)
    prime = np.random.default_rng(21).standard_normal((N, 4, 3)).astype(dtype)
    inf = NetworkInference(net)
    gen = inf.generate(prime, 5)
    assert inf._plan.supported and gen.dtype == dtype
    seq = prime
    for t in range(5):                       # the closed loop by whole-sequence passes
        y = net.forward(seq)
        np.testing.assert_allclose(gen[:, t], y, atol=ATOL_STEP[dtype] * 10, rtol=0)
        seq = np.concatenate([seq, y[:, None]], axis=1)
    # sample: greedy drawing equals argmax of whole-sequence passes
    snet = _softmax_net(K=4)
    drawn = NetworkInference(snet).sample(np.array([[0, 3], [2, 1]]), 6, temperature=0)
    ids = np.array([[0, 3], [2, 1]])
    for t in range(6):
        p = snet.forward(annt.one_hot(ids, 4))[:, -1]
        np.testing.assert_array_equal(drawn[:, t], p.argmax(-1))
        ids = np.concatenate([ids, p.argmax(-1)[:, None]], axis=1)


def test_step_follows_a_layer_converted_alone():
    """A layer converted to another dtype after the first step: the network is then
    stepped through Network.forward, which casts between the layers, as before."""
    net = make_step_net("stacked", np.float32)
    X = np.random.default_rng(22).standard_normal((N, T, D)).astype(np.float32)
    inf = NetworkInference(net)
    inf.step(X[:, 0])
    net.layers[4].astype(np.float64)         # the LSTM
    y = inf.step(X[:, 1])
    np.testing.assert_allclose(y, net.forward(X[:, :2]), atol=1e-5, rtol=0)


def test_step_reads_layer_settings_at_each_call():
    net = make_step_net("rnn", np.float32)
    X = np.random.default_rng(23).standard_normal((N, T, D)).astype(np.float32)
    inf = NetworkInference(net)
    inf.step(X[:, 0])
    h = inf.states
    net.layers[0].activation = "relu"
    np.testing.assert_allclose(inf.step(X[:, 1]), net.forward(X[:, 1:2], h)[:, -1],
                               atol=1e-5, rtol=0)


# --------------------------------------------------------------------------- #
# bad settings and bad data are refused before anything is computed
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("temperature, error", [
    (np.nan, ValueError), (np.inf, ValueError), (-0.5, ValueError), (None, TypeError),
    ("hot", TypeError)])
def test_impossible_temperatures_are_refused(temperature, error):
    """temperature=nan used to draw class 0 every time."""
    net = _softmax_net()
    inf = NetworkInference(net)
    inf.step(annt.one_hot(np.array([1, 2]), 5))
    state = inf.states
    with pytest.raises(error, match="temperature must be a"):
        inf.sample(np.array([[0, 1], [2, 3]]), 5, temperature=temperature)
    for a, b in zip(state, inf.states):                 # refused before the state was reset
        np.testing.assert_array_equal(a, b)
    with pytest.raises(error, match="temperature must be a"):
        annt.sample_from_probabilities(np.array([0.5, 0.5]), temperature)
    with pytest.raises(error, match="temperature must be a"):
        annt.softmax(np.zeros(3), temperature)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0, got 0"):
        annt.softmax(np.zeros(3), 0)


@pytest.mark.parametrize("bad, fragment", [
    (np.nan, "1 NaN, 0 infinite and 0 negative"), (np.inf, "0 NaN, 1 infinite and 0 negative"),
    (-0.2, "0 NaN, 0 infinite and 1 negative")])
@pytest.mark.parametrize("temperature", [0, 1.0])
def test_impossible_probabilities_are_refused(bad, fragment, temperature):
    """NaN probabilities used to give class 0."""
    p = np.array([[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])
    p[1, 2] = bad
    with pytest.raises(annt.InputValueError) as info:
        annt.sample_from_probabilities(p, temperature, np.random.default_rng(0))
    msg = str(info.value)
    assert "p (probabilities) must be finite and >= 0" in msg and fragment in msg, msg


def test_a_row_without_probability_is_refused():
    p = np.array([[0.2, 0.8], [0.0, 0.0]])
    with pytest.raises(annt.InputValueError, match=r"1 row\(s\) hold no probability .* row \(1,\)"):
        annt.sample_from_probabilities(p, 1.0)
    with pytest.raises(annt.InputValueError, match="real numbers"):
        annt.sample_from_probabilities(p + 0j, 1.0)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-2, ValueError),
                                               (2.5, TypeError)])
def test_predict_batch_size(batch_size, error):
    """batch_size 0 used to say "range() arg 3 must not be zero"."""
    net = make_net("rnn")
    with pytest.raises(error, match=f"batch_size must be a positive integer, got {batch_size}"):
        NetworkInference(net).predict(np.zeros((2, 3, D)), batch_size=batch_size)


def test_complex_inputs_are_refused():
    """They used to lose their imaginary part with only a ComplexWarning."""
    net = make_net("gru")
    inf = NetworkInference(net)
    x = np.ones((2, 3, D)) * (1 + 2j)
    with np.testing.assert_no_warnings():
        for call, what in [(lambda: inf.predict(x), "X (inputs)"),
                           (lambda: inf.step(x[:, 0]), "x_t (one time step)"),
                           (lambda: inf.step(list(x[0, 0])), "x_t (one time step)"),
                           (lambda: inf.generate(x[..., :3], 2), "prime")]:
            with pytest.raises(annt.InputValueError) as info:
                call()
            msg = str(info.value)
            assert what in msg and "must hold real numbers" in msg and "complex" in msg, msg
