"""The layer interface shared by every annt layer.

A layer owns its parameters (``params``) and the gradients of the loss with
respect to them (``grads``, same keys and shapes). ``forward`` computes the
output and keeps what ``backward`` needs in ``self.cache``; ``backward`` takes
dL/d(output), writes the parameter gradients and returns dL/d(input). A layer
knows nothing about the layers around it (as in ANNT).
"""
import numpy as np

from ..errors import ShapeError
from ..random import get_rng

LAYER_TYPES = {}


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
    """ANNT's initialisation: uniform in +-sqrt(3 / fan_in) (unit variance times 1/fan_in)."""
    limit = np.sqrt(3.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


class Layer:
    """Base class. Subclasses set ``input_size``/``output_size`` (None when the
    layer keeps the size of its input, as activations do)."""

    is_recurrent = False
    input_size = None
    output_size = None

    def __init__(self, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        self.params = {}
        self.grads = {}
        self.cache = None

    # -- parameters ---------------------------------------------------------
    def _add_param(self, name, value):
        self.params[name] = np.ascontiguousarray(value, dtype=self.dtype)
        self.grads[name] = np.zeros_like(self.params[name])

    def parameters(self, prefix=""):
        """List of (name, parameter, gradient) triples."""
        return [(prefix + k, self.params[k], self.grads[k]) for k in self.params]

    def n_params(self):
        return int(sum(p.size for _, p, _ in self.parameters()))

    def astype(self, dtype):
        """Convert parameters (and gradients) to ``dtype`` in place; returns self."""
        self.dtype = np.dtype(dtype)
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
