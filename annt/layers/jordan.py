"""The Jordan network layer: recurrence through the output."""
import numpy as np

from ..kernels import ACTIVATION_CODES
from .._threads import single_blas
from ..errors import positive_int
from .base import register, uniform, zeros
from .recurrent import Recurrent, previous_states


@register
class Jordan(Recurrent):
    """Jordan network (Jordan 1986): the hidden units see the layer's previous
    *output* y_{t-1} (the "context units"), not the previous hidden state.

        h_t = act(x_t U + y_{t-1} W + b)          act = tanh or relu
        y_t = out_act(h_t V + c)                   out_act = identity, tanh or sigmoid

    Shapes: x (N, T, D), U (D, H), W (O, H), b (H,), V (H, O), c (O,);
    the output and the state are y (N, T, O) and y_t (N, O).
    BPTT carries dL/dy back in time (see :func:`annt.kernels.reference.jordan_backward`).
    """

    def __init__(self, input_size, hidden_size, output_size, activation="tanh",
                 output_activation="tanh", return_sequences=True, backend="numba",
                 dtype=np.float32, rng=None):
        super().__init__(input_size, hidden_size, return_sequences, backend, dtype)
        if activation not in ("tanh", "relu"):
            raise ValueError(f"Jordan activation must be 'tanh' or 'relu', got {activation!r}")
        if output_activation not in ("identity", "tanh", "sigmoid"):
            raise ValueError("Jordan output_activation must be 'identity', 'tanh' or "
                             f"'sigmoid', got {output_activation!r}")
        self.activation, self.output_activation = activation, output_activation
        self.output_size = positive_int(output_size, "Jordan: output_size")
        D, H, O = self.input_size, self.hidden_size, self.output_size
        rng = self._rng(rng)
        self._add_param("U", (D, H), uniform(rng, D + O, self.dtype))
        self._add_param("W", (O, H), uniform(rng, D + O, self.dtype))
        self._add_param("b", (H,), zeros)
        self._add_param("V", (H, O), uniform(rng, H, self.dtype))
        self._add_param("c", (O,), zeros)

    state_size = property(lambda self: self.output_size)

    def describe(self):
        return f"Jordan({self.input_size} -> {self.hidden_size} -> {self.output_size})"

    def _codes(self):
        return ACTIVATION_CODES[self.activation], ACTIVATION_CODES[self.output_activation]

    def _forward(self, x, state, mask):
        y0 = self._check_state(state, x.shape[0])
        p = self.params
        xw = self._project_input(x, p["U"], p["b"])
        Hs, Ys = self.K.jordan_forward(xw, p["W"], p["V"], p["c"], y0, mask, *self._codes())
        self.cache = {"x": x, "y0": y0, "Hs": Hs, "Ys": Ys, "mask": mask}
        self.final_state = Ys[:, -1].copy()
        return Ys

    @single_blas
    def backward(self, dy, dstate=None, need_dx=True):
        c = self.cache
        dYs = self._output_grad(dy)
        if dstate is not None:
            dYs[:, -1] += dstate
        if self.backend == "numpy":
            W, V = self.params["W"], self.params["V"]
        else:
            W, V = self._transposed("W"), self._transposed("V")
        dAh, dAy, self.dstate0 = self.K.jordan_backward(dYs, c["Hs"], c["Ys"], W, V, c["mask"],
                                                        *self._codes())
        H, O = self.hidden_size, self.output_size
        dAy2 = dAy.reshape(-1, O)
        self.K.matmul_tn(c["Hs"].reshape(-1, H), dAy2, out=self.grads["V"])
        self.K.column_sums(dAy2, self.grads["c"])
        self.K.matmul_tn(previous_states(c["y0"], c["Ys"]), dAh.reshape(-1, H), out=self.grads["W"])
        return self._input_grads(dAh, need_dx=need_dx)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size,
                "activation": self.activation, "output_activation": self.output_activation}
