"""Activation functions as layers (element-wise, any shape; Softmax over the last axis)."""
import numpy as np

from ..kernels.feedforward import softmax
from .base import Layer, register


class Activation(Layer):
    """Base of the element-wise activations: y = f(x), dx = dy * f'(x), with
    f' written in terms of the output y where that is cheaper."""

    def forward(self, x, training=False):
        x = self._cast(x)
        y = self.f(x)
        self.cache = (x, y)
        return y

    def backward(self, dy, need_dx=True):
        x, y = self.cache
        return np.asarray(dy, dtype=self.dtype) * self.df(x, y)

    def get_config(self):
        return {"type": type(self).__name__, "dtype": self.dtype.name}


@register
class Identity(Activation):
    """y = x."""
    def f(self, x):
        return x

    def df(self, x, y):
        return np.ones_like(y)


@register
class Tanh(Activation):
    """y = tanh(x);  dy/dx = 1 - y^2."""
    def f(self, x):
        return np.tanh(x)

    def df(self, x, y):
        return 1 - y * y


@register
class Sigmoid(Activation):
    """y = 1 / (1 + exp(-x)) (computed as (1 + tanh(x/2)) / 2, which never overflows);
    dy/dx = y (1 - y)."""
    def f(self, x):
        return 0.5 + 0.5 * np.tanh(0.5 * x)

    def df(self, x, y):
        return y * (1 - y)


@register
class ReLU(Activation):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0."""
    def f(self, x):
        return np.maximum(x, 0)

    def df(self, x, y):
        return (x > 0).astype(self.dtype)


@register
class Softmax(Activation):
    """y_k = exp(x_k) / sum_j exp(x_j) over the last axis.

    Its Jacobian is dy_k/dx_j = y_k (delta_kj - y_j), so
    dx = y * (dy - sum(dy * y)). When a network ending in Softmax is trained with
    :class:`~annt.costs.CrossEntropy`, the two are fused and this backward is
    skipped (the gradient of the pair is simply y - target).
    """
    def f(self, x):
        return softmax(x)       # annt.kernels.feedforward: exp(x - max) / sum, row by row

    def backward(self, dy, need_dx=True):
        _, y = self.cache
        dy = np.asarray(dy, dtype=self.dtype)
        return y * (dy - (dy * y).sum(axis=-1, keepdims=True))
