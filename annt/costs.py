"""Cost functions (ANNT's XMSECost, XCrossEntropyCost, XBinaryCrossEntropyCost).

Every cost takes predictions y and targets t of shape (N, K) (one target per
sequence: many-to-one) or (N, T, K) (a target at every step: many-to-many),
and an optional mask of shape (N,) or (N, T) with 1 where a target counts.
The loss is the mean over the positions that count, so the learning rate
does not depend on batch size or sequence length. ``loss_and_grad`` returns
the loss and dL/dy.
"""
import numpy as np

from .errors import InputValueError, ShapeError
from .layers import Sigmoid, Softmax


def _positions(y, mask):
    """Mask of shape y.shape[:-1] (all ones when None) and the count of positions."""
    if mask is None:
        m = np.ones(y.shape[:-1], y.dtype)
    else:
        m = np.asarray(mask, dtype=y.dtype)
        if m.shape != y.shape[:-1]:
            raise ShapeError(f"expected a mask of shape {y.shape[:-1]} for predictions of "
                             f"shape {y.shape}, got {m.shape}")
    count = float(m.sum())
    if count == 0:
        raise ValueError("the mask selects no position: nothing to learn from")
    return m, count


class Cost:
    """Base class. ``fuses_with``: an activation layer that, when it ends the
    network, is folded into this cost during training (the cost then receives
    that layer's input)."""
    fuses_with = None

    def check_targets(self, t, shape):
        """Raise ShapeError or InputValueError unless ``t`` holds valid targets for
        predictions of ``shape`` (here: the same shape). Training checks the whole
        data set with it before it starts; a cost of your own that takes targets of
        another shape overrides it."""
        t = np.asarray(t)
        if t.shape != tuple(shape):
            raise ShapeError(f"{type(self).__name__}: expected targets of shape {tuple(shape)} "
                             f"(the network's output), got {t.shape}")

    def _check(self, y, t):
        y = np.asarray(y)
        t = np.asarray(t)
        self.check_targets(t, y.shape)
        return y, t.astype(y.dtype)

    def loss(self, y, t, mask=None):
        return self.loss_and_grad(y, t, mask)[0]

    def get_config(self):
        return {"name": type(self).__name__}

    def __repr__(self):
        return f"{type(self).__name__}()"


class MSE(Cost):
    """Mean squared error: L = (1/(P K)) sum_p m_p sum_k (y_pk - t_pk)^2 over the
    P positions that count and K outputs;  dL/dy = 2 m (y - t) / (P K)."""

    def loss_and_grad(self, y, t, mask=None):
        y, t = self._check(y, t)
        m, count = _positions(y, mask)
        diff = (y - t) * m[..., None]
        scale = count * y.shape[-1]
        return float((diff * diff).sum() / scale), diff * (2 / scale)


class CrossEntropy(Cost):
    """Categorical cross-entropy, computed from logits z (the Softmax's input):

        L = (1/P) sum_p m_p (logsumexp(z_p) - sum_k t_pk z_pk)     (for one-hot or soft t)
        dL/dz = m (softmax(z) - t) / P

    Fused with a final :class:`~annt.layers.Softmax` layer during training, which is
    both stable (no log of a rounded-to-zero probability) and cheap (no Jacobian).
    Targets are one-hot (same shape as z) or class indices (shape z.shape[:-1]).
    """
    fuses_with = Softmax

    def check_targets(self, t, shape):
        """Class indices in [0, K) of shape ``shape[:-1]``, or one-hot codes or
        probabilities (>= 0) of ``shape``."""
        t = np.asarray(t)
        shape = tuple(shape)
        if t.shape == shape[:-1] and t.dtype.kind in "iu":
            K = shape[-1]
            if t.size and (t.min() < 0 or t.max() >= K):
                raise ValueError(f"class indices must be in [0, {K}), got values from "
                                 f"{t.min()} to {t.max()}")
        elif t.shape != shape:
            raise ShapeError(f"CrossEntropy: expected one-hot targets of shape {shape} or "
                             f"integer class indices of shape {shape[:-1]}, got {t.shape} "
                             f"({t.dtype})")
        elif t.size and t.min() < 0:
            raise InputValueError(f"CrossEntropy: targets must be one-hot codes or "
                                  f"probabilities (>= 0), found {int((t < 0).sum())} negative "
                                  f"value(s), the smallest {t.min()}")

    def _targets(self, z, t):
        t = np.asarray(t)
        self.check_targets(t, z.shape)
        if t.shape == z.shape[:-1] and t.dtype.kind in "iu":
            onehot = np.zeros(z.shape, z.dtype)
            np.put_along_axis(onehot, t[..., None], 1, axis=-1)
            return onehot
        return t.astype(z.dtype)

    def loss_and_grad(self, z, t, mask=None):
        z = np.asarray(z)
        t = self._targets(z, t)
        m, count = _positions(z, mask)
        zmax = z.max(axis=-1, keepdims=True)
        e = np.exp(z - zmax)
        s = e.sum(axis=-1, keepdims=True)
        log_p = z - zmax - np.log(s)
        loss = -(m[..., None] * t * log_p).sum() / count
        grad = (e / s * t.sum(axis=-1, keepdims=True) - t) * (m[..., None] / count)
        return float(loss), grad.astype(z.dtype)


class BinaryCrossEntropy(Cost):
    """Binary cross-entropy for independent 0/1 targets, from logits z (the Sigmoid's input):

        L = (1/(P K)) sum m (softplus(z) - t z),   softplus(z) = log(1 + e^z)
        dL/dz = m (sigmoid(z) - t) / (P K)

    Fused with a final :class:`~annt.layers.Sigmoid` layer during training.
    """
    fuses_with = Sigmoid

    def check_targets(self, t, shape):
        """Targets of ``shape``, each between 0 and 1."""
        super().check_targets(t, shape)
        t = np.asarray(t)
        if t.size and (t.min() < 0 or t.max() > 1):
            raise InputValueError(f"BinaryCrossEntropy: targets must be between 0 and 1 (the "
                                  f"probability of the positive class), found values from "
                                  f"{t.min()} to {t.max()}")

    def loss_and_grad(self, z, t, mask=None):
        z, t = self._check(z, t)
        m, count = _positions(z, mask)
        scale = count * z.shape[-1]
        softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
        loss = (m[..., None] * (softplus - t * z)).sum() / scale
        p = 0.5 + 0.5 * np.tanh(0.5 * z)
        return float(loss), ((p - t) * (m[..., None] / scale)).astype(z.dtype)


COSTS = {c.__name__: c for c in (MSE, CrossEntropy, BinaryCrossEntropy)}


def get_cost(cost):
    """A cost instance from an instance, a class name, or a config dict."""
    if isinstance(cost, Cost):
        return cost
    name = cost["name"] if isinstance(cost, dict) else cost
    aliases = {"mse": "MSE", "cross_entropy": "CrossEntropy", "crossentropy": "CrossEntropy",
               "binary_cross_entropy": "BinaryCrossEntropy"}
    name = aliases.get(str(name).lower(), name)
    if name not in COSTS:
        raise ValueError(f"unknown cost {cost!r}; expected one of {sorted(COSTS)}")
    return COSTS[name]()
