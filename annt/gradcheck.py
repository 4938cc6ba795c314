"""Finite-difference gradient checking (central differences, relative error).

The book checks every derivation with these functions, and the tests check
every layer's backward pass with them. Run them in float64: in float32 the
rounding error of the differences alone is about 1e-3.
"""
import numpy as np

from .costs import get_cost


def relative_error(analytic, numeric):
    """||a - n|| / max(||a|| + ||n||, tiny): 0 for a perfect match, 1 when unrelated."""
    a = np.asarray(analytic, np.float64).ravel()
    n = np.asarray(numeric, np.float64).ravel()
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return float(np.linalg.norm(a - n) / denom) if denom > 0 else 0.0


def numerical_gradient(f, x, eps=1e-6):
    """dF/dx by central differences, (f(x + eps) - f(x - eps)) / (2 eps) per
    element. ``f()`` takes no argument and reads ``x``, which is changed in place
    and restored."""
    grad = np.zeros(x.shape, np.float64)
    flat = x.reshape(-1)
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return grad


def _flatten_state(state):
    if state is None:
        return []
    if isinstance(state, (tuple, list)):
        out = []
        for s in state:
            out += _flatten_state(s)
        return out
    return [state]


def check_layer(layer, x, state=None, mask=None, eps=1e-6, seed=0):
    """Gradient check of one layer against the loss L = sum(y * G) (+ sum(s_T * G_s)
    for the final state of a recurrent layer), G random.

    Returns {name: relative error} for the input ``'x'``, every parameter and,
    for recurrent layers, every part of the initial state (``'state0'``,
    ``'state1'``, ...; pass ``state`` to check it).
    """
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=layer.dtype)
    flat_state = [np.array(s, dtype=layer.dtype) for s in _flatten_state(state)]

    def rebuild(flat):
        if state is None:
            return None
        it = iter(flat)

        def build(s):
            if isinstance(s, (tuple, list)):
                return tuple(build(t) for t in s)
            return next(it)
        return build(state)

    def run():
        if layer.is_recurrent:
            return layer.forward(x, rebuild(flat_state), mask, training=True)
        return layer.forward(x, training=True)

    y = run()
    G = rng.standard_normal(y.shape)
    Gs = None
    if layer.is_recurrent:
        Gs = [rng.standard_normal(s.shape) for s in _flatten_state(layer.final_state)]

    def loss():
        out = float((run() * G).sum())
        if Gs is not None:
            out += sum(float((s * g).sum())
                       for s, g in zip(_flatten_state(layer.final_state), Gs))
        return out

    run()
    if layer.is_recurrent:
        dstate = rebuild_like(layer.final_state, [g.astype(layer.dtype) for g in Gs])
        dx = layer.backward(G.astype(layer.dtype), dstate)
        dstate0 = _flatten_state(layer.dstate0)
    else:
        dx = layer.backward(G.astype(layer.dtype))
        dstate0 = []
    analytic = {"x": dx, **{name: g.copy() for name, _, g in layer.parameters()}}
    errors = {"x": relative_error(analytic["x"], numerical_gradient(loss, x, eps))}
    for name, p, _ in layer.parameters():
        errors[name] = relative_error(analytic[name], numerical_gradient(loss, p, eps))
    if state is not None:
        for i, s in enumerate(flat_state):
            errors[f"state{i}"] = relative_error(dstate0[i], numerical_gradient(loss, s, eps))
    return errors


def rebuild_like(template, flat):
    """Arrange the arrays of ``flat`` in the nesting of ``template``."""
    it = iter(flat)

    def build(s):
        if isinstance(s, (tuple, list)):
            return tuple(build(t) for t in s)
        return next(it)
    return build(template)


def check_network(network, cost, X, Y, mask=None, eps=1e-6, check_input=True):
    """Gradient check of a whole network with its cost (fused with a final
    Softmax/Sigmoid as in training). Returns {parameter name: relative error}
    (and ``'X'``). Every parameter is perturbed: keep the network small."""
    from .training import NetworkTraining

    class _NoStep:
        lr = 0.0

        def step(self, params, grads):
            pass

    trainer = NetworkTraining(network, get_cost(cost), _NoStep())
    X = np.array(X, dtype=network.dtype)
    fused = trainer.fused

    def loss():
        z = network.forward(X, None, mask, training=True, upto=-1 if fused else None)
        cm = mask if (mask is not None and z.ndim == 3) else None
        return trainer.cost.loss(z, Y, cm)

    trainer.forward_backward(X, Y, mask)
    analytic = {name: g.copy() for name, _, g in network.parameters()}
    errors = {}
    if check_input:
        z = network.forward(X, None, mask, training=True, upto=-1 if fused else None)
        cm = mask if (mask is not None and z.ndim == 3) else None
        _, dz = trainer.cost.loss_and_grad(z, Y, cm)
        dXa = network.backward(dz, upto=-1 if fused else None)
        errors["X"] = relative_error(dXa, numerical_gradient(loss, X, eps))
    for name, p, _ in network.parameters():
        errors[name] = relative_error(analytic[name], numerical_gradient(loss, p, eps))
    return errors


def check_cost(cost, y, t, mask=None, eps=1e-6):
    """Relative error of a cost's gradient dL/dy against central differences."""
    cost = get_cost(cost)
    y = np.array(y, dtype=np.float64)
    _, g = cost.loss_and_grad(y, t, mask)
    return relative_error(g, numerical_gradient(lambda: cost.loss(y, t, mask), y, eps))


# --------------------------------------------------------------------------
# Verdicts that read the same on every machine
# --------------------------------------------------------------------------
# A relative error of 3.9e-10 on one CPU is 3.6e-10 on another: the digits
# below the check's tolerance are rounding noise (which BLAS kernel, which SIMD
# width, whether a multiply-add was fused). The book prints what was checked,
# a bound, and fails loudly when it does not hold.

def format_bound(bound):
    """``1e-12`` for 1e-12, ``5e-7`` for 5e-7: a tolerance as people write it."""
    bound = float(bound)
    if not np.isfinite(bound) or bound <= 0:
        raise ValueError(f"a bound must be a positive finite number, got {bound!r}")
    mantissa, exponent = f"{bound:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def max_abs_difference(a, b):
    """max |a - b| over all elements, as a float (NaN when either holds NaN)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    diff = np.abs(a - b)
    return float(np.nan) if np.isnan(diff).any() else float(diff.max())


def assert_below(errors, bound, what="relative error", label=None):
    """Check that an error (a number, or ``{name: number}``) is below ``bound``
    and print one line that holds on every machine::

        relative error < 1e-7: dU, dW, db        # errors = {"dU": ..., ...}
        LSTM step: relative error < 1e-7         # errors = 3.1e-10, label="LSTM step"

    Raises ``AssertionError`` naming the values that are not below the bound
    (NaN never passes)."""
    if isinstance(errors, dict):
        items = [(str(name), float(value)) for name, value in errors.items()]
        if not items:
            raise ValueError("assert_below: no errors to check")
    else:
        items = [(label, float(errors))]
    text = format_bound(bound)
    bad = [(name, value) for name, value in items if not value < bound]
    if bad:
        listed = ", ".join(f"{name} {value:.3g}" if name else f"{value:.3g}"
                           for name, value in bad)
        raise AssertionError(f"{what} not below {text}: {listed}")
    if isinstance(errors, dict):
        line = f"{what} < {text}: " + ", ".join(name for name, _ in items)
        if label:
            line = f"{label}: {line}"
    else:
        line = f"{label}: {what} < {text}" if label else f"{what} < {text}"
    print(line)


def assert_close(actual, expected=None, bound=1e-12, label=None):
    """``assert_below`` for arrays: ``assert_close(a, b)`` prints
    ``max |difference| < 1e-12``; ``assert_close({"dU": (a, b), ...})`` checks
    every pair and prints ``max |difference| < 1e-12: dU, ...``."""
    if isinstance(actual, dict):
        if expected is not None:
            raise TypeError("assert_close: give a dict of (actual, expected) pairs or two arrays")
        errors = {name: max_abs_difference(a, b) for name, (a, b) in actual.items()}
    else:
        errors = max_abs_difference(actual, expected)
    assert_below(errors, bound, what="max |difference|", label=label)
