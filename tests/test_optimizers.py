"""Tests for annt.optimizers.

Expected values are computed independently of the library: either written out
as literal numbers worked by hand from the update equations, or by small
reference implementations below that use plain Python floats element by
element (no NumPy), so a wrong vectorised formula cannot agree with them.
"""
import json
import math

import numpy as np
import pytest

from annt.optimizers import (
    SGD, Adagrad, Adam, Momentum, Nesterov, Optimizer, RMSprop, clip_grad_norm,
    get_optimizer,
)

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 2e-6, np.float64: 1e-12}
ATOL = {np.float32: 1e-6, np.float64: 1e-14}

# Two parameters of different shapes, and gradients for two steps.
W0 = [[0.5, -1.25, 2.0], [[0.3, -0.7], [1.1, 0.0]]]
G1 = [[0.1, -0.4, 0.3], [[-0.05, 0.2], [0.0, 1.5]]]
G2 = [[-0.2, 0.05, 0.6], [[0.3, 0.2], [-0.8, -0.1]]]


# --------------------------------------------------------------------------- #
# pure-Python reference implementations (one element at a time)
# --------------------------------------------------------------------------- #
def _flat(x):
    return [v for row in x for v in (row if isinstance(row, list) else [row])]


def ref_sgd(w, grads, lr):
    for g in grads:
        w = w - lr * g
    return w


def ref_momentum(w, grads, lr, mu):
    v = 0.0
    for g in grads:
        v = mu * v - lr * g
        w = w + v
    return w


def ref_nesterov(w, grads, lr, mu):
    v = 0.0
    for g in grads:
        v_prev = v
        v = mu * v - lr * g
        w = w - mu * v_prev + (1 + mu) * v
    return w


def ref_adagrad(w, grads, lr, eps):
    G = 0.0
    for g in grads:
        G = G + g * g
        w = w - lr * g / (math.sqrt(G) + eps)
    return w


def ref_rmsprop(w, grads, lr, rho, eps):
    E = 0.0
    for g in grads:
        E = rho * E + (1 - rho) * g * g
        w = w - lr * g / (math.sqrt(E) + eps)
    return w


def ref_adam(w, grads, lr, b1, b2, eps):
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        w = w - lr * m_hat / (math.sqrt(v_hat) + eps)
    return w


# (optimizer factory, reference taking (w, grads)) pairs
CASES = {
    "SGD": (lambda: SGD(lr=0.1), lambda w, gs: ref_sgd(w, gs, 0.1)),
    "Momentum": (lambda: Momentum(lr=0.1, momentum=0.8),
                 lambda w, gs: ref_momentum(w, gs, 0.1, 0.8)),
    "Nesterov": (lambda: Nesterov(lr=0.1, momentum=0.8),
                 lambda w, gs: ref_nesterov(w, gs, 0.1, 0.8)),
    "Adagrad": (lambda: Adagrad(lr=0.2, eps=1e-3),
                lambda w, gs: ref_adagrad(w, gs, 0.2, 1e-3)),
    "RMSprop": (lambda: RMSprop(lr=0.05, rho=0.7, eps=1e-3),
                lambda w, gs: ref_rmsprop(w, gs, 0.05, 0.7, 1e-3)),
    "Adam": (lambda: Adam(lr=0.05, beta1=0.8, beta2=0.95, eps=1e-3),
             lambda w, gs: ref_adam(w, gs, 0.05, 0.8, 0.95, 1e-3)),
}


def _arrays(nested, dtype):
    return [np.array(x, dtype=dtype) for x in nested]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_steps", [1, 2])
@pytest.mark.parametrize("name", sorted(CASES))
def test_steps_match_reference(name, n_steps, dtype):
    make, ref = CASES[name]
    opt = make()
    params = _arrays(W0, dtype)
    ids = [id(p) for p in params]
    grad_steps = [G1, G2][:n_steps]
    for gs in grad_steps:
        opt.step(params, _arrays(gs, dtype))
    assert [id(p) for p in params] == ids          # same objects: updated in place
    assert opt.t == n_steps
    for i in range(len(W0)):
        assert params[i].dtype == dtype             # no upcasting
        w0 = _flat(W0[i])
        per_elem_grads = [_flat(gs[i]) for gs in grad_steps]
        expected = [ref(w0[k], [g[k] for g in per_elem_grads]) for k in range(len(w0))]
        np.testing.assert_allclose(params[i].ravel(), expected,
                                   rtol=RTOL[dtype], atol=ATOL[dtype])
        # the update really moved the parameter (the test is not vacuous)
        assert not np.allclose(params[i].ravel(), w0)


# Literal numbers worked by hand for w = 0.5, g1 = 0.1, g2 = -0.2.
HAND = {
    # w1 = 0.5 - 0.1*0.1 = 0.49 ; w2 = 0.49 + 0.1*0.2 = 0.51
    "SGD": (lambda: SGD(lr=0.1), 0.49, 0.51),
    # v1 = -0.01, w1 = 0.49 ; v2 = 0.9*(-0.01) + 0.02 = 0.011, w2 = 0.501
    "Momentum": (lambda: Momentum(lr=0.1, momentum=0.9), 0.49, 0.501),
    # v1 = -0.01, w1 = 0.5 - 0 + 1.9*(-0.01) = 0.481
    # v2 = 0.011,  w2 = 0.481 + 0.9*0.01 + 1.9*0.011 = 0.5109
    "Nesterov": (lambda: Nesterov(lr=0.1, momentum=0.9), 0.481, 0.5109),
    # G1 = 0.01, w1 = 0.5 - 0.1*0.1/0.1 = 0.4
    # G2 = 0.05, w2 = 0.4 + 0.1*0.2/sqrt(0.05) = 0.4 + 0.0894427191 = 0.4894427191
    "Adagrad": (lambda: Adagrad(lr=0.1, eps=1e-12), 0.4, 0.4894427191),
    # E1 = 0.1*0.01 = 0.001, w1 = 0.5 - 0.01*0.1/0.0316227766 = 0.4683772234
    # E2 = 0.0009 + 0.1*0.04 = 0.0049, w2 = w1 + 0.01*0.2/0.07 = 0.4969486520
    "RMSprop": (lambda: RMSprop(lr=0.01, rho=0.9, eps=1e-12), 0.4683772234, 0.4969486520),
    # m1 = 0.01, v1 = 1e-5; m_hat = 0.1, v_hat = 0.01 -> w1 = 0.5 - 0.1*0.1/0.1 = 0.4
    # m2 = 0.009 - 0.02 = -0.011, v2 = 0.999e-5 + 4e-5 = 4.999e-5
    # m_hat = -0.011/0.19 = -0.0578947368, v_hat = 4.999e-5/0.001999 = 0.0250075038
    # w2 = 0.4 + 0.1*0.0578947368/0.1581376103 = 0.4366103911
    "Adam": (lambda: Adam(lr=0.1, eps=1e-12), 0.4, 0.4366103911),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_worked_numbers(name, dtype):
    make, w1, w2 = HAND[name]
    opt = make()
    w = np.array([0.5], dtype=dtype)
    opt.step([w], [np.array([0.1], dtype=dtype)])
    assert w.dtype == dtype
    np.testing.assert_allclose(w, [w1], rtol=1e-6, atol=1e-9)
    opt.step([w], [np.array([-0.2], dtype=dtype)])
    np.testing.assert_allclose(w, [w2], rtol=1e-6, atol=1e-9)


def test_all_optimizers_are_covered():
    assert set(CASES) == set(HAND) == {
        "SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_float64_grads_keep_float32_params(name):
    make, ref = CASES[name]
    opt = make()
    params = _arrays(W0, np.float32)
    for gs in (G1, G2):
        opt.step(params, _arrays(gs, np.float64))
    assert all(p.dtype == np.float32 for p in params)
    expected = [ref(w, [a, b]) for w, a, b in zip(_flat(W0[0]), _flat(G1[0]), _flat(G2[0]))]
    np.testing.assert_allclose(params[0], expected, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reset_forgets_state(name):
    make, _ = CASES[name]
    fresh = _arrays(W0, np.float64)
    make().step(fresh, _arrays(G2, np.float64))

    opt = make()
    params = _arrays(W0, np.float64)
    opt.step(params, _arrays(G1, np.float64))
    opt.reset()
    assert opt.t == 0
    params = _arrays(W0, np.float64)
    opt.step(params, _arrays(G2, np.float64))
    for p, q in zip(params, fresh):
        np.testing.assert_allclose(p, q, rtol=0, atol=0)
    # after a reset, a different parameter layout is accepted
    opt.reset()
    opt.step([np.zeros(5)], [np.ones(5)])
    assert opt.t == 1


# --------------------------------------------------------------------------- #
# state layout checks
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", sorted(CASES))
def test_changed_number_of_params_raises(name):
    opt = CASES[name][0]()
    opt.step(_arrays(W0, np.float64), _arrays(G1, np.float64))
    with pytest.raises(ValueError, match=r"2 parameter\(s\).*got 1"):
        opt.step([np.zeros(3)], [np.ones(3)])


@pytest.mark.parametrize("name", sorted(CASES))
def test_changed_param_shape_raises(name):
    opt = CASES[name][0]()
    opt.step(_arrays(W0, np.float64), _arrays(G1, np.float64))
    with pytest.raises(ValueError, match=r"params\[1\].*\(2, 2\).*\(4,\)"):
        opt.step([np.zeros(3), np.zeros(4)], [np.ones(3), np.ones(4)])


def test_changed_param_dtype_raises():
    opt = Adam()
    opt.step([np.zeros(3)], [np.ones(3)])
    with pytest.raises(ValueError, match="float64.*float32"):
        opt.step([np.zeros(3, np.float32)], [np.ones(3, np.float32)])


def test_failed_step_leaves_params_and_state_untouched():
    opt = Momentum(lr=0.1)
    w = np.ones(3)
    opt.step([w], [np.ones(3)])
    with pytest.raises(ValueError):
        opt.step([w, np.ones(2)], [np.ones(3), np.ones(2)])
    assert opt.t == 1
    np.testing.assert_allclose(w, 0.9)


def test_grad_count_mismatch_raises():
    with pytest.raises(ValueError, match=r"2 parameter\(s\) and 1 gradient"):
        SGD(0.1).step([np.zeros(2), np.zeros(2)], [np.zeros(2)])


def test_grad_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"grads\[0\].*\(2, 3\).*\(3, 2\)"):
        SGD(0.1).step([np.zeros((2, 3))], [np.zeros((3, 2))])


@pytest.mark.parametrize("params, grads, pattern", [
    ([np.zeros(3, dtype=np.int64)], [np.ones(3)], r"params\[0\].*floating.*int64"),
    ([[0.0, 0.0]], [np.ones(2)], r"params\[0\].*numpy array.*list"),
    ([np.zeros(2)], [[1.0, 1.0]], r"grads\[0\].*numpy array.*list"),
    ([np.zeros(2)], [np.ones(2, dtype=np.int32)], r"grads\[0\].*floating.*int32"),
])
def test_bad_array_types_raise(params, grads, pattern):
    with pytest.raises(ValueError, match=pattern):
        SGD(0.1).step(params, grads)


def test_read_only_param_raises():
    w = np.zeros(3)
    w.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        SGD(0.1).step([w], [np.ones(3)])


# --------------------------------------------------------------------------- #
# clipping
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_rescales_when_above_max(dtype):
    grads = [np.array([3.0, 4.0], dtype=dtype), np.array([[12.0]], dtype=dtype)]
    total = clip_grad_norm(grads, 6.5)           # sqrt(9 + 16 + 144) = 13
    assert total == pytest.approx(13.0, rel=1e-12)
    assert isinstance(total, float)
    assert all(g.dtype == dtype for g in grads)
    # scaled by 6.5 / 13 = 0.5
    np.testing.assert_allclose(grads[0], [1.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(grads[1], [[6.0]], rtol=1e-6)
    new_norm = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
    assert new_norm == pytest.approx(6.5, rel=1e-6)


@pytest.mark.parametrize("max_norm", [13.0, 20.0])
def test_clip_no_change_at_or_below_max(max_norm):
    grads = [np.array([3.0, 4.0]), np.array([[12.0]])]
    before = [g.copy() for g in grads]
    assert clip_grad_norm(grads, max_norm) == pytest.approx(13.0)
    for g, b in zip(grads, before):
        np.testing.assert_array_equal(g, b)


def test_clip_float32_large_values_do_not_overflow():
    grads = [np.array([1e20, -1e20], dtype=np.float32)]
    total = clip_grad_norm(grads, 1.0)
    assert total == pytest.approx(math.sqrt(2) * 1e20, rel=1e-6)
    np.testing.assert_allclose(grads[0], [math.sqrt(0.5), -math.sqrt(0.5)], rtol=1e-6)


def test_clip_non_finite_leaves_grads_unchanged():
    grads = [np.array([1.0, np.nan]), np.array([5.0])]
    assert math.isnan(clip_grad_norm(grads, 1.0))
    np.testing.assert_array_equal(grads[1], [5.0])
    grads = [np.array([np.inf, 1.0])]
    assert clip_grad_norm(grads, 1.0) == math.inf
    np.testing.assert_array_equal(grads[0], [np.inf, 1.0])


@pytest.mark.parametrize("max_norm", [0, -1.0, float("nan"), float("inf"), None, "1"])
def test_clip_invalid_max_norm_raises(max_norm):
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm([np.ones(2)], max_norm)


def test_step_with_clip_norm_clips_first():
    opt = SGD(lr=1.0, clip_norm=1.0)
    w = np.zeros(2)
    g = np.array([3.0, 4.0])
    opt.step([w], [g])
    np.testing.assert_allclose(w, [-0.6, -0.8], rtol=1e-9)
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-9)   # documented: in place
    assert opt.last_grad_norm == pytest.approx(5.0)
    # below the threshold, nothing is rescaled
    opt.step([w], [np.array([0.3, 0.4])])
    np.testing.assert_allclose(w, [-0.9, -1.2], rtol=1e-9)
    assert opt.last_grad_norm == pytest.approx(0.5)


def test_adam_with_clip_matches_reference_on_clipped_grads():
    opt = Adam(lr=0.05, beta1=0.8, beta2=0.95, eps=1e-3, clip_norm=0.25)
    w = np.array([0.5, -1.25, 2.0])
    g1, g2 = [0.1, -0.4, 0.3], [-0.2, 0.05, 0.6]
    opt.step([w], [np.array(g1)])
    opt.step([w], [np.array(g2)])

    def clipped(g):
        n = math.sqrt(sum(x * x for x in g))
        return [x * 0.25 / n for x in g] if n > 0.25 else g

    c1, c2 = clipped(g1), clipped(g2)
    expected = [ref_adam(w0, [a, b], 0.05, 0.8, 0.95, 1e-3)
                for w0, a, b in zip([0.5, -1.25, 2.0], c1, c2)]
    np.testing.assert_allclose(w, expected, rtol=1e-12)


# --------------------------------------------------------------------------- #
# configuration
# --------------------------------------------------------------------------- #
CONFIG_OPTS = [
    SGD(lr=0.3),
    SGD(lr=0.3, clip_norm=2.0),
    Momentum(lr=0.02, momentum=0.5),
    Nesterov(lr=0.02, momentum=0.95, clip_norm=1.0),
    Adagrad(lr=0.5, eps=1e-6),
    RMSprop(lr=0.002, rho=0.8, eps=1e-7),
    Adam(lr=0.003, beta1=0.85, beta2=0.99, eps=1e-7, clip_norm=5.0),
]


@pytest.mark.parametrize("opt", CONFIG_OPTS, ids=repr)
def test_config_round_trip(opt):
    cfg = opt.get_config()
    assert cfg["name"] == type(opt).__name__
    assert cfg["lr"] == opt.lr and cfg["clip_norm"] == opt.clip_norm
    restored = get_optimizer(json.loads(json.dumps(cfg)))
    assert type(restored) is type(opt)
    assert restored.get_config() == cfg
    # the restored optimizer behaves identically
    a, b = _arrays(W0, np.float64), _arrays(W0, np.float64)
    for gs in (G1, G2):
        opt.step(a, _arrays(gs, np.float64))
        restored.step(b, _arrays(gs, np.float64))
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    opt.reset()


def test_config_values():
    assert Adam().get_config() == {"name": "Adam", "lr": 0.001, "beta1": 0.9,
                                   "beta2": 0.999, "eps": 1e-8, "clip_norm": None}
    assert RMSprop().get_config() == {"name": "RMSprop", "lr": 0.001, "rho": 0.9,
                                      "eps": 1e-8, "clip_norm": None}
    assert Adagrad().get_config() == {"name": "Adagrad", "lr": 0.01, "eps": 1e-8,
                                      "clip_norm": None}
    assert Momentum(0.1).get_config()["momentum"] == 0.9
    assert Nesterov(0.1).get_config()["momentum"] == 0.9


def test_get_optimizer_defaults_case_and_no_mutation():
    cfg = {"name": "adam", "lr": 0.01}
    opt = get_optimizer(cfg)
    assert isinstance(opt, Adam) and opt.lr == 0.01 and opt.beta2 == 0.999
    assert cfg == {"name": "adam", "lr": 0.01}
    assert isinstance(get_optimizer({"name": "RMSprop"}), RMSprop)


@pytest.mark.parametrize("config, pattern", [
    ({"name": "Adamax", "lr": 0.1}, "unknown optimizer name 'Adamax'"),
    ({"lr": 0.1}, "'name'"),
    ("Adam", "dict"),
    ({"name": "SGD", "lr": 0.1, "momentum": 0.9}, r"SGD does not take \['momentum'\]"),
    ({"name": "SGD"}, "lr"),
    ({"name": "Adam", "lr": -1.0}, "lr must be > 0"),
    ({"name": 3, "lr": 0.1}, "unknown optimizer name"),
])
def test_get_optimizer_bad_config_raises(config, pattern):
    with pytest.raises(ValueError, match=pattern):
        get_optimizer(config)


# --------------------------------------------------------------------------- #
# argument validation
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("cls, kwargs, pattern", [
    (SGD, {"lr": 0.0}, "lr must be > 0, but got 0.0"),
    (SGD, {"lr": -0.1}, "lr must be > 0, but got -0.1"),
    (SGD, {"lr": float("nan")}, "lr must be finite"),
    (SGD, {"lr": float("inf")}, "lr must be finite"),
    (SGD, {"lr": "0.1"}, "lr must be a real number.*str"),
    (SGD, {"lr": True}, "lr must be a real number.*bool"),
    (SGD, {"lr": 0.1, "clip_norm": 0.0}, "clip_norm must be > 0"),
    (SGD, {"lr": 0.1, "clip_norm": -2}, "clip_norm must be > 0"),
    (Momentum, {"lr": 0.1, "momentum": 1.0}, r"0 <= momentum < 1, but got 1.0"),
    (Momentum, {"lr": 0.1, "momentum": -0.1}, r"0 <= momentum < 1, but got -0.1"),
    (Nesterov, {"lr": 0.1, "momentum": 1.5}, r"0 <= momentum < 1, but got 1.5"),
    (Nesterov, {"lr": 0.0}, "lr must be > 0"),
    (Adagrad, {"eps": 0.0}, "eps must be > 0"),
    (Adagrad, {"lr": -1}, "lr must be > 0"),
    (RMSprop, {"rho": 1.0}, r"0 <= rho < 1"),
    (RMSprop, {"eps": -1e-8}, "eps must be > 0"),
    (Adam, {"beta1": 1.0}, r"0 <= beta1 < 1"),
    (Adam, {"beta2": -0.5}, r"0 <= beta2 < 1"),
    (Adam, {"eps": 0}, "eps must be > 0"),
    (Adam, {"lr": 0}, "lr must be > 0"),
])
def test_invalid_arguments_raise(cls, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        cls(**kwargs)


def test_numpy_scalar_hyperparameters_accepted():
    opt = Adam(lr=np.float32(0.01), beta1=np.float64(0.9))
    assert type(opt.lr) is float and type(opt.beta1) is float
    json.dumps(opt.get_config())
    w = np.ones(2, dtype=np.float32)
    opt.step([w], [np.ones(2, dtype=np.float32)])
    assert w.dtype == np.float32


def test_base_class_is_an_optimizer_with_checks():
    assert issubclass(Adam, Optimizer)
    with pytest.raises(TypeError, match="_update"):
        Optimizer(lr=0.1)              # abstract: a subclass defines the update

    class Plain(Optimizer):
        def _update(self, w, g, slots, buf):
            w -= self.lr * g

    with pytest.raises(ValueError, match="lr"):
        Plain(lr=-1)
    w = np.array([1.0, 2.0])
    Plain(lr=0.5).step([w], [np.array([2.0, 2.0])])
    np.testing.assert_allclose(w, [0.0, 1.0])


# --------------------------------------------------------------------------- #
# they actually optimise
# --------------------------------------------------------------------------- #
CURVATURE = np.array([1.0, 4.0, 10.0, 0.5])
START = np.array([1.0, -2.0, 0.5, 3.0])


def quadratic(w):
    """loss = 0.5 * sum(a * w**2), gradient a * w, minimum 0 at w = 0."""
    return 0.5 * float(np.sum(CURVATURE * w.astype(np.float64) ** 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make, n_steps", [
    (lambda: SGD(lr=0.15), 100),
    (lambda: Momentum(lr=0.05, momentum=0.8), 150),
    (lambda: Nesterov(lr=0.05, momentum=0.8), 150),
    (lambda: Adagrad(lr=0.5), 300),
    (lambda: RMSprop(lr=0.01), 600),
    (lambda: Adam(lr=0.05), 600),
    (lambda: Adam(lr=0.05, clip_norm=1.0), 600),
], ids=["SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "Adam-clip"])
def test_minimises_quadratic(make, n_steps, dtype):
    opt = make()
    w = START.astype(dtype)
    g = np.empty_like(w)
    start = quadratic(w)
    losses = [start]
    for _ in range(n_steps):
        np.multiply(CURVATURE.astype(dtype), w, out=g)
        opt.step([w], [g])
        losses.append(quadratic(w))
    assert w.dtype == dtype
    assert losses[-1] < 1e-3 * start, f"loss went {start} -> {losses[-1]}"
    assert min(losses[:10]) < start     # it goes downhill from the start


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_fused_kernel_matches_the_numpy_update(dtype):
    """Contiguous parameters go through annt.kernels.optimizers.adam_update;
    a non-contiguous one through the NumPy operations: the same arithmetic."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((6, 8)).astype(dtype)
    fused, numpy_path = w.copy(), np.asfortranarray(w.copy())
    opt_fused, opt_numpy = Adam(0.01), Adam(0.01)
    for _ in range(5):
        g = rng.standard_normal((6, 8)).astype(dtype)
        opt_fused.step([fused], [g])
        opt_numpy.step([numpy_path], [np.asfortranarray(g)])
    np.testing.assert_allclose(fused, numpy_path, rtol=0, atol=4 * np.finfo(dtype).eps)
