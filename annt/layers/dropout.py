"""Inverted dropout."""
import numpy as np

from .base import Layer, register


@register
class Dropout(Layer):
    """During training each element is kept with probability 1 - rate and scaled
    by 1 / (1 - rate), so nothing changes at inference, where the layer is the
    identity: y = x * m / (1 - rate), m ~ Bernoulli(1 - rate); dx = dy * m / (1 - rate).
    """

    def __init__(self, rate, dtype=np.float32, rng=None):
        super().__init__(dtype)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.rng = self._rng(rng)

    def describe(self):
        return f"Dropout({self.rate})"

    def forward(self, x, training=False):
        x = self._cast(x)
        if not training or self.rate == 0:
            self.cache = None
            return x
        keep = (self.rng.random(x.shape) >= self.rate).astype(self.dtype)
        keep /= 1 - self.rate
        self.cache = keep
        return x * keep

    def backward(self, dy, need_dx=True):
        dy = np.asarray(dy, dtype=self.dtype)
        return dy if self.cache is None else dy * self.cache

    def get_config(self):
        return {"type": "Dropout", "rate": self.rate, "dtype": self.dtype.name}
