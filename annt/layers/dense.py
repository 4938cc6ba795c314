"""Fully connected layer, applied independently at every time step."""
import numpy as np

from ..errors import positive_int
from ..kernels import column_sums, matmul
from .base import Layer, register, uniform, zeros


@register
class Dense(Layer):
    """y = x W + b.

    Shapes: x (N, D) -> y (N, K), or a sequence x (N, T, D) -> y (N, T, K),
    the same W (D, K) and b (K,) applied at every step.
    Backward: dW = x^T dy, db = sum(dy), dx = dy W^T (summed over N and T).
    """

    def __init__(self, input_size, output_size, dtype=np.float32, rng=None):
        super().__init__(dtype)
        self.input_size = positive_int(input_size, "Dense: input_size")
        self.output_size = positive_int(output_size, "Dense: output_size")
        D, K = self.input_size, self.output_size
        rng = self._rng(rng)
        self._add_param("W", (D, K), uniform(rng, D, self.dtype))
        self._add_param("b", (K,), zeros)

    def describe(self):
        return f"Dense({self.input_size} -> {self.output_size})"

    def forward(self, x, training=False):
        x = self._cast(x)
        self._check_features(x, self.input_size)
        x2 = x.reshape(-1, self.input_size)
        self.cache = (x2, x.shape)
        y = matmul(x2, self.params["W"], add=self.params["b"])   # split over annt's threads when large
        return y.reshape(x.shape[:-1] + (self.output_size,))

    def backward(self, dy, need_dx=True):
        x2, shape = self.cache
        dy2 = np.asarray(dy, dtype=self.dtype).reshape(-1, self.output_size)
        np.matmul(x2.T, dy2, out=self.grads["W"])
        column_sums(dy2, self.grads["b"])
        if not need_dx:
            return None
        return matmul(dy2, self.params["W"].T).reshape(shape)

    def get_config(self):
        return {"type": "Dense", "input_size": self.input_size,
                "output_size": self.output_size, "dtype": self.dtype.name}
