"""Gradient-descent optimizers and global-norm gradient clipping.

Every optimizer updates a list of parameter arrays **in place**, given a list
of gradient arrays of the same shapes, in the same order on every call::

    opt = Adam(lr=1e-3, clip_norm=5.0)
    for batch in batches:
        grads = model.backward(batch)          # list of arrays, like model.params
        opt.step(model.params, grads)          # model.params are changed in place

Notation used in the docstrings: ``w`` a parameter, ``g`` its gradient,
``t`` the step count (1 on the first call of :meth:`Optimizer.step`),
``lr`` the learning rate. All products, squares, square roots and divisions
are element-wise.

Per-parameter state (velocities, moments) is kept by position in the list,
created lazily on the first call, in each parameter's dtype (float32 stays
float32). The work is vectorised and done with in-place ufuncs into one
preallocated scratch buffer per parameter, so a step allocates no arrays of
the parameters' size after the first one.
"""
import inspect
from abc import ABC, abstractmethod
import math
import numbers

import numpy as np

from .kernels.optimizers import adam_update

from annt.errors import AnntError, ShapeError

__all__ = [
    "OptimizerError", "Optimizer", "SGD", "Momentum", "Nesterov", "Adagrad",
    "RMSprop", "Adam", "clip_grad_norm", "get_optimizer",
]

#: Added to the global norm before dividing, so that clipping never divides by 0.
CLIP_EPS = 1e-12


class OptimizerError(AnntError, ValueError):
    """An optimizer was given an invalid hyperparameter or configuration."""


# --------------------------------------------------------------------------- #
# argument checks
# --------------------------------------------------------------------------- #
def _real(name, value):
    """Return ``value`` as a finite Python float, or raise OptimizerError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise OptimizerError(
            f"{name} must be a real number, but got {value!r} "
            f"of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise OptimizerError(f"{name} must be finite, but got {value}")
    return value


def _positive(name, value):
    value = _real(name, value)
    if value <= 0:
        raise OptimizerError(f"{name} must be > 0, but got {value}")
    return value


def _unit_interval(name, value):
    """0 <= value < 1 (a decay rate: 1 would never forget, >1 would diverge)."""
    value = _real(name, value)
    if not 0.0 <= value < 1.0:
        raise OptimizerError(f"{name} must satisfy 0 <= {name} < 1, but got {value}")
    return value


def _check_arrays(params, grads):
    """Check that params/grads are equally long lists of matching float arrays."""
    if len(params) != len(grads):
        raise ShapeError(
            f"step() needs one gradient per parameter, but got {len(params)} "
            f"parameter(s) and {len(grads)} gradient(s)")
    for i, (p, g) in enumerate(zip(params, grads)):
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
            raise OptimizerError(
                f"params[{i}] must be a floating-point numpy array (it is updated in "
                f"place), but got {type(p).__name__}"
                + (f" of dtype {p.dtype}" if isinstance(p, np.ndarray) else ""))
        if not p.flags.writeable:
            raise OptimizerError(f"params[{i}] (shape {p.shape}) is read-only; "
                                 f"it must be writeable to be updated in place")
        if not isinstance(g, np.ndarray) or g.dtype.kind != "f":
            raise OptimizerError(
                f"grads[{i}] must be a floating-point numpy array, but got "
                f"{type(g).__name__}"
                + (f" of dtype {g.dtype}" if isinstance(g, np.ndarray) else ""))
        if g.shape != p.shape:
            raise ShapeError(
                f"grads[{i}] must have the shape of params[{i}], {p.shape}, "
                f"but has shape {g.shape}")


# --------------------------------------------------------------------------- #
# clipping
# --------------------------------------------------------------------------- #
def clip_grad_norm(grads, max_norm):
    """Rescale ``grads`` **in place** so that their global L2 norm is at most ``max_norm``.

    Exactly::

        total = sqrt( sum_i sum(grads[i] ** 2) )        # accumulated in float64
        if total > max_norm:
            for each g in grads:  g *= max_norm / (total + 1e-12)

    so all gradients keep their direction and relative sizes (Pascanu et al.,
    2013). The ``1e-12`` (:data:`CLIP_EPS`) only guards the division; after
    clipping the global norm is ``max_norm`` up to rounding. If ``total`` is
    not finite (the gradients hold NaN or inf), the gradients are left
    unchanged: the returned NaN/inf lets the caller stop training instead of
    silently zeroing the update.

    Parameters
    ----------
    grads : list of np.ndarray
        Floating-point gradient arrays; modified in place.
    max_norm : float
        Largest allowed global norm, > 0.

    Returns
    -------
    float
        The global norm **before** clipping.
    """
    max_norm = _positive("max_norm", max_norm)
    total_sq = 0.0
    for i, g in enumerate(grads):
        if not isinstance(g, np.ndarray) or g.dtype.kind != "f":
            raise OptimizerError(
                f"grads[{i}] must be a floating-point numpy array (it is rescaled in "
                f"place), but got {type(g).__name__}"
                + (f" of dtype {g.dtype}" if isinstance(g, np.ndarray) else ""))
        flat = g.reshape(-1)
        # float64 accumulation: float32 squares overflow for |g| > 1.8e19.
        total_sq += float(np.einsum("i,i->", flat, flat, dtype=np.float64))
    total = math.sqrt(total_sq)
    if math.isfinite(total) and total > max_norm:
        scale = max_norm / (total + CLIP_EPS)
        for g in grads:
            g *= scale          # Python float: keeps g's dtype
    return total


# --------------------------------------------------------------------------- #
# optimizers
# --------------------------------------------------------------------------- #
class Optimizer(ABC):
    """Base class: argument checks, clipping, lazily created per-parameter state.

    Subclasses set :attr:`n_slots` (how many state arrays each parameter needs,
    e.g. 1 velocity for Momentum, 2 moments for Adam) and implement
    :meth:`_update`; each also gets one scratch buffer per parameter.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    clip_norm : float or None
        If set (> 0), :meth:`step` first clips the gradients with
        :func:`clip_grad_norm` **in place** — the caller's gradient arrays are
        rescaled — and stores the pre-clipping norm in :attr:`last_grad_norm`.

    Attributes
    ----------
    t : int
        Number of steps taken since creation or the last :meth:`reset`.
    last_grad_norm : float or None
        Global gradient norm before clipping at the last step (None if
        ``clip_norm`` is None).
    """

    n_slots = 0

    def __init__(self, lr, clip_norm=None):
        self.lr = _positive("lr", lr)
        self.clip_norm = None if clip_norm is None else _positive("clip_norm", clip_norm)
        self.reset()

    @property
    def name(self):
        return type(self).__name__

    def reset(self):
        """Forget all state: moments/velocities, the step count ``t``, the parameter layout."""
        self.t = 0
        self.last_grad_norm = None
        self._layout = None   # tuple of (shape, dtype), one per parameter
        self._slots = None    # list (per parameter) of lists of state arrays
        self._scratch = None  # list (per parameter) of scratch arrays

    def _check_layout(self, params):
        layout = tuple((p.shape, p.dtype) for p in params)
        if self._layout is None:
            self._layout = layout
            self._slots = [[np.zeros(s, dtype=d) for _ in range(self.n_slots)]
                           for s, d in layout]
            self._scratch = [np.empty(s, dtype=d) for s, d in layout]
            return
        if layout == self._layout:
            return
        hint = "; call reset() to start over with new parameters"
        if len(layout) != len(self._layout):
            raise ShapeError(
                f"{self.name} state was created for {len(self._layout)} parameter(s), "
                f"but step() got {len(layout)}{hint}")
        for i, ((s_old, d_old), (s_new, d_new)) in enumerate(zip(self._layout, layout)):
            if s_old != s_new:
                raise ShapeError(
                    f"{self.name} state for params[{i}] has shape {s_old}, "
                    f"but params[{i}] now has shape {s_new}{hint}")
            if d_old != d_new:
                raise OptimizerError(
                    f"{self.name} state for params[{i}] has dtype {d_old}, "
                    f"but params[{i}] now has dtype {d_new}{hint}")

    def step(self, params, grads):
        """Update ``params`` in place by one step of the optimizer.

        Parameters
        ----------
        params : list of np.ndarray
            Writeable floating-point arrays, same number, order, shapes and
            dtypes on every call (until :meth:`reset`); changed in place.
        grads : list of np.ndarray
            Gradients of the loss, ``grads[i].shape == params[i].shape``.
            May have another float dtype than the parameter; the update is
            cast to the parameter's dtype. Rescaled in place if ``clip_norm``
            is set.

        Raises
        ------
        ShapeError (a ValueError)
            The lists differ in length, a gradient's shape differs from its
            parameter's, or the parameters' number/shapes differ from the
            first call.
        OptimizerError (a ValueError)
            A parameter is not a writeable float array, or its dtype changed.
        """
        params = list(params)
        grads = list(grads)
        _check_arrays(params, grads)
        self._check_layout(params)
        if self.clip_norm is not None:
            self.last_grad_norm = clip_grad_norm(grads, self.clip_norm)
        self.t += 1
        for w, g, slots, buf in zip(params, grads, self._slots, self._scratch):
            self._update(w, g, slots, buf)

    @abstractmethod
    def _update(self, w, g, slots, buf):
        """Update the parameter ``w`` in place from its gradient ``g``, with the
        optimizer's state arrays ``slots`` and a scratch array ``buf`` (same shape)."""

    def _hyper(self):
        """Hyperparameters besides lr and clip_norm, in constructor order."""
        return {}

    def get_config(self):
        """JSON-serialisable dict that :func:`get_optimizer` turns back into an equal optimizer."""
        return {"name": self.name, "lr": self.lr, **self._hyper(),
                "clip_norm": self.clip_norm}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{self.name}({args})"


class SGD(Optimizer):
    """Plain stochastic gradient descent.

    Update::

        w = w - lr * g

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    clip_norm : float or None
        See :class:`Optimizer`.
    """

    def __init__(self, lr, clip_norm=None):
        super().__init__(lr, clip_norm)

    def _update(self, w, g, slots, buf):
        np.multiply(g, self.lr, out=buf)     # lr * g
        w -= buf


class Momentum(Optimizer):
    """SGD with classical (heavy-ball) momentum.

    Update, with velocity ``v`` starting at 0::

        v = mu * v - lr * g
        w = w + v

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        ``mu``, 0 <= mu < 1 (0 gives plain SGD).
    clip_norm : float or None
        See :class:`Optimizer`.
    """

    n_slots = 1

    def __init__(self, lr, momentum=0.9, clip_norm=None):
        self.momentum = _unit_interval("momentum", momentum)
        super().__init__(lr, clip_norm)

    def _hyper(self):
        return {"momentum": self.momentum}

    def _update(self, w, g, slots, buf):
        (v,) = slots
        np.multiply(g, self.lr, out=buf)     # lr * g
        v *= self.momentum
        v -= buf                             # v = mu*v - lr*g
        w += v


class Nesterov(Momentum):
    """SGD with Nesterov momentum, in the form of Sutskever et al. (2013) /
    Bengio et al. (2013) used by ANNT, which needs only the gradient at ``w``.

    Update, with velocity ``v`` starting at 0::

        v_prev = v
        v = mu * v - lr * g
        w = w - mu * v_prev + (1 + mu) * v

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        ``mu``, 0 <= mu < 1.
    clip_norm : float or None
        See :class:`Optimizer`.
    """

    def _update(self, w, g, slots, buf):
        (v,) = slots
        mu = self.momentum
        np.multiply(v, -mu, out=buf)         # -mu * v_prev
        w += buf
        np.multiply(g, self.lr, out=buf)     # lr * g
        v *= mu
        v -= buf                             # v = mu*v - lr*g
        np.multiply(v, 1.0 + mu, out=buf)    # (1 + mu) * v
        w += buf


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): per-element step sizes shrinking with the
    sum of all past squared gradients.

    Update, with ``G`` starting at 0::

        G = G + g**2
        w = w - lr * g / (sqrt(G) + eps)

    Parameters
    ----------
    lr : float
        Learning rate, > 0 (default 0.01).
    eps : float
        Added to the denominator for stability, > 0 (default 1e-8).
    clip_norm : float or None
        See :class:`Optimizer`.
    """

    n_slots = 1

    def __init__(self, lr=0.01, eps=1e-8, clip_norm=None):
        self.eps = _positive("eps", eps)
        super().__init__(lr, clip_norm)

    def _hyper(self):
        return {"eps": self.eps}

    def _update(self, w, g, slots, buf):
        (G,) = slots
        np.multiply(g, g, out=buf)
        G += buf                             # G = G + g**2
        np.sqrt(G, out=buf)
        buf += self.eps                      # sqrt(G) + eps
        np.divide(g, buf, out=buf)
        buf *= self.lr                       # lr * g / (sqrt(G) + eps)
        w -= buf


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012): step sizes scaled by a running
    average of squared gradients.

    Update, with ``E`` starting at 0::

        E = rho * E + (1 - rho) * g**2
        w = w - lr * g / (sqrt(E) + eps)

    Parameters
    ----------
    lr : float
        Learning rate, > 0 (default 0.001).
    rho : float
        Decay rate of the average, 0 <= rho < 1 (default 0.9).
    eps : float
        Added to the denominator for stability, > 0 (default 1e-8).
    clip_norm : float or None
        See :class:`Optimizer`.
    """

    n_slots = 1

    def __init__(self, lr=0.001, rho=0.9, eps=1e-8, clip_norm=None):
        self.rho = _unit_interval("rho", rho)
        self.eps = _positive("eps", eps)
        super().__init__(lr, clip_norm)

    def _hyper(self):
        return {"rho": self.rho, "eps": self.eps}

    def _update(self, w, g, slots, buf):
        (E,) = slots
        E *= self.rho
        np.multiply(g, g, out=buf)
        buf *= 1.0 - self.rho
        E += buf                             # E = rho*E + (1-rho)*g**2
        np.sqrt(E, out=buf)
        buf += self.eps                      # sqrt(E) + eps
        np.divide(g, buf, out=buf)
        buf *= self.lr                       # lr * g / (sqrt(E) + eps)
        w -= buf


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction.

    Update, with ``m`` and ``v`` starting at 0 and ``t`` = 1, 2, ...::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        w = w - lr * m_hat / (sqrt(v_hat) + eps)

    Parameters
    ----------
    lr : float
        Learning rate, > 0 (default 0.001).
    beta1, beta2 : float
        Decay rates of the first and second moment, each in [0, 1)
        (defaults 0.9 and 0.999).
    eps : float
        Added to the denominator for stability, > 0 (default 1e-8).
    clip_norm : float or None
        See :class:`Optimizer`.
    """

    n_slots = 2

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, clip_norm=None):
        self.beta1 = _unit_interval("beta1", beta1)
        self.beta2 = _unit_interval("beta2", beta2)
        self.eps = _positive("eps", eps)
        super().__init__(lr, clip_norm)

    def _hyper(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def _update(self, w, g, slots, buf):
        m, v = slots
        b1, b2, t = self.beta1, self.beta2, self.t
        if g.dtype == w.dtype and w.flags.c_contiguous and g.flags.c_contiguous:
            # the same update in one compiled pass (annt.kernels.optimizers)
            adam_update(w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), b1, b2,
                        self.lr / (1.0 - b1 ** t), 1.0 / math.sqrt(1.0 - b2 ** t), self.eps)
            return
        m *= b1
        np.multiply(g, 1.0 - b1, out=buf)
        m += buf                             # m = b1*m + (1-b1)*g
        v *= b2
        np.multiply(g, g, out=buf)
        buf *= 1.0 - b2
        v += buf                             # v = b2*v + (1-b2)*g**2
        # sqrt(v_hat) + eps = sqrt(v) / sqrt(1 - b2**t) + eps
        np.sqrt(v, out=buf)
        buf *= 1.0 / math.sqrt(1.0 - b2 ** t)
        buf += self.eps
        # lr * m_hat / (...) = (lr / (1 - b1**t)) * m / (...)
        np.divide(m, buf, out=buf)
        buf *= self.lr / (1.0 - b1 ** t)
        w -= buf


# --------------------------------------------------------------------------- #
# (de)serialisation
# --------------------------------------------------------------------------- #
_OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam)}


def get_optimizer(config):
    """Build an optimizer from a dict made by :meth:`Optimizer.get_config`.

    ``config["name"]`` is the class name (case-insensitive: ``"adam"`` works);
    the other keys are constructor arguments, and missing ones take their
    defaults. The dict is not modified. The new optimizer has fresh state.

    Raises
    ------
    OptimizerError (a ValueError)
        ``config`` is not a dict, has no or an unknown ``name``, has keys the
        optimizer does not take, or holds invalid values.
    """
    if not isinstance(config, dict):
        raise OptimizerError(
            f"config must be a dict like {{'name': 'Adam', 'lr': 0.001}}, "
            f"but got {type(config).__name__}")
    if "name" not in config:
        raise OptimizerError(
            f"config needs a 'name' key, one of {sorted(_OPTIMIZERS)}; "
            f"found keys {sorted(config)}")
    name = config["name"]
    by_lower = {k.lower(): v for k, v in _OPTIMIZERS.items()}
    cls = by_lower.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise OptimizerError(
            f"unknown optimizer name {name!r}; expected one of {sorted(_OPTIMIZERS)}")
    kwargs = {k: v for k, v in config.items() if k != "name"}
    params = inspect.signature(cls.__init__).parameters
    allowed = set(params) - {"self"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise OptimizerError(
            f"{cls.__name__} does not take {unknown}; its arguments are {sorted(allowed)}")
    if "lr" not in kwargs and params["lr"].default is inspect.Parameter.empty:
        raise OptimizerError(f"{cls.__name__} config needs an 'lr' (it has no default)")
    return cls(**kwargs)
