"""The layer interface shared by every annt layer.

A layer owns its parameters (``params``) and the gradients of the loss with
respect to them (``grads``, same keys and shapes). ``forward`` computes the
output and keeps what ``backward`` needs in ``self.cache``; ``backward`` takes
dL/d(output), writes the parameter gradients and returns dL/d(input). A layer
knows nothing about the layers around it (as in ANNT).

Layers built inside :func:`unallocated` hold placeholders instead of
parameters (see there): that is how ``annt.load`` learns every parameter's
shape from a file's header before it allocates anything.
"""
import contextlib
import contextvars
import math
import sys

import numpy as np

from ..errors import ShapeError
from ..random import get_rng

LAYER_TYPES = {}
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_UNALLOCATED = contextvars.ContextVar("annt_unallocated", default=False)


@contextlib.contextmanager
def unallocated():
    """Layers built inside this block get placeholders instead of parameters:
    read-only arrays of the parameters' shapes and dtype that take no memory
    (``np.broadcast_to`` of one zero) and draw no random numbers. Their shapes
    can then be checked, and ``layer.allocate()`` gives each layer real arrays
    (uninitialised, to be filled). PyTorch's "meta" device plays the same role."""
    token = _UNALLOCATED.set(True)
    try:
        yield
    finally:
        _UNALLOCATED.reset(token)


def float_dtype(dtype, owner):
    """``np.dtype(dtype)`` if it is float32 or float64 (the kernels' types), else TypeError."""
    try:
        d = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"{owner}: dtype must be float32 or float64, got {dtype!r} ({e})") \
            from None
    if d not in FLOAT_DTYPES:
        raise TypeError(f"{owner}: dtype must be float32 or float64 (the types annt's kernels "
                        f"compute in), got {d}")
    return d


def register(cls):
    """Class decorator: make a layer type known to :func:`layer_from_config`."""
    LAYER_TYPES[cls.__name__] = cls
    return cls


def layer_from_config(config):
    config = dict(config)
    kind = config.pop("type")
    if kind not in LAYER_TYPES:
        raise ValueError(f"unknown layer type {kind!r}; known: {sorted(LAYER_TYPES)}")
    return LAYER_TYPES[kind].from_config(config)


def uniform_init(rng, fan_in, shape, dtype):
    """Uniform in +-sqrt(3 / fan_in): variance 1/fan_in, the form of ANNT's initialisation.

    The fan-in is the caller's choice. annt's recurrent layers pass D + H (a unit
    reads x_t and h_{t-1} together) for both U and W; ANNT's own GRU
    (XGRULayer.cpp) uses D for its input and H for its recurrent weights, so
    annt's initial weights are smaller than ANNT's.
    """
    limit = np.sqrt(3.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def uniform(rng, fan_in, dtype):
    """The initial value ``shape -> uniform_init(rng, fan_in, shape, dtype)``."""
    return lambda shape: uniform_init(rng, fan_in, shape, dtype)


def zeros(shape):
    """The initial value zero."""
    return np.zeros(shape)


def _references_when_unused():
    """What ``sys.getrefcount`` says, in :meth:`Layer._scratch`, of an array that
    only the layer's own dict refers to (measured with the same code, so that it
    holds whatever the interpreter's way of counting)."""
    work = {"a": np.empty(0)}
    buf = work.get("a")
    return sys.getrefcount(buf)


_UNUSED = _references_when_unused()


class Layer:
    """Base class. Subclasses set ``input_size``/``output_size`` (None when the
    layer keeps the size of its input, as activations do)."""

    is_recurrent = False
    input_size = None
    output_size = None

    def __init__(self, dtype=np.float32):
        self.dtype = float_dtype(dtype, type(self).__name__)
        self.params = {}
        self.grads = {}
        self.cache = None
        self.allocated = not _UNALLOCATED.get()

    # -- work arrays ----------------------------------------------------------
    def _scratch(self, name, shape, dtype=None):
        """An uninitialised array for one pass, kept by the layer for the next: the
        previous pass's array of that name when its shape and dtype match and
        nothing outside the layer's store refers to it any more (no caller that
        kept an output, no view of it, no cache), else a new one.

        Why: a training step of the MNIST model allocates about 5 MB of arrays
        and frees them; the C library hands that memory back to the system at the
        end of every step and the next step takes it again, page by page: 480
        page faults per step, a third of the step's time on a virtual machine
        (measured). Arrays kept from step to step are touched once."""
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        work = self.__dict__.setdefault("_work", {})
        buf = work.get(name)
        if (buf is not None and buf.shape == shape and buf.dtype == dtype
                and sys.getrefcount(buf) <= _UNUSED):
            return buf
        buf = work[name] = np.empty(shape, dtype)
        return buf

    # -- parameters ---------------------------------------------------------
    def _add_param(self, name, shape, initial):
        """Add parameter ``name`` of ``shape``, starting at ``initial(shape)`` (cast to the
        layer's dtype); inside :func:`unallocated` a placeholder instead, and
        ``initial`` is not called."""
        if not self.allocated:
            nbytes = math.prod(shape) * self.dtype.itemsize
            if nbytes > np.iinfo(np.intp).max:
                raise ValueError(f"{type(self).__name__}: the parameter {name} of shape "
                                 f"{shape} would take {nbytes:.3g} bytes, more than any "
                                 f"computer can hold")
            self.params[name] = self.grads[name] = np.broadcast_to(
                np.zeros((), self.dtype), shape)
            return
        self.params[name] = np.ascontiguousarray(initial(shape), dtype=self.dtype)
        self.grads[name] = np.zeros_like(self.params[name])

    def allocate(self):
        """Replace the placeholders of a layer built inside :func:`unallocated` by real
        arrays: parameters uninitialised (``np.empty``; fill them), gradients zero."""
        if not self.allocated:
            for k, p in self.params.items():
                self.params[k] = np.empty(p.shape, self.dtype)
                self.grads[k] = np.zeros(p.shape, self.dtype)
            self.allocated = True
        return self

    def parameters(self, prefix=""):
        """List of (name, parameter, gradient) triples."""
        return [(prefix + k, self.params[k], self.grads[k]) for k in self.params]

    def n_params(self):
        return int(sum(p.size for _, p, _ in self.parameters()))

    def astype(self, dtype):
        """Convert parameters (and gradients) to ``dtype`` in place; returns self."""
        self.dtype = float_dtype(dtype, self.describe())
        for k in list(self.params):
            self.params[k] = np.ascontiguousarray(self.params[k], dtype=self.dtype)
            self.grads[k] = np.zeros_like(self.params[k])
        self.cache = None
        return self

    # -- configuration (for save/load) --------------------------------------
    def get_config(self):
        return {"type": type(self).__name__}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # -- helpers --------------------------------------------------------------
    def describe(self):
        return type(self).__name__

    def _check_features(self, x, size):
        if x.ndim not in (2, 3) or x.shape[-1] != size:
            raise ShapeError(
                f"{self.describe()}: expected input of shape (batch, {size}) or "
                f"(batch, time, {size}), got {x.shape}")

    def _cast(self, x):
        return np.asarray(x, dtype=self.dtype)

    def __repr__(self):
        return self.describe()

    @staticmethod
    def _rng(rng):
        return get_rng(rng)
