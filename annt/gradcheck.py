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
