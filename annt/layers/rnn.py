"""The simple (Elman) recurrent layer."""
import numpy as np

from ..kernels import ACTIVATION_CODES
from .._threads import single_blas
from .base import register, uniform, zeros
from .recurrent import Recurrent, previous_states


@register
class RNN(Recurrent):
    """Elman RNN (Elman 1990).

        a_t = x_t U + h_{t-1} W + b,     h_t = act(a_t),   act = tanh, relu or linear

    ``activation='linear'`` (h_t = a_t, as Keras's SimpleRNN(activation=None))
    makes the recurrence a linear map: its gradients are exact powers of W.

    Shapes: x (N, T, D), U (D, H), W (H, H), b (H,), h (N, T, H).
    BPTT (see :func:`annt.kernels.reference.rnn_backward`):
        dh_t = dy_t + da_{t+1} W^T,  da_t = dh_t * act'(a_t),
        dU = sum_t x_t^T da_t,  dW = sum_t h_{t-1}^T da_t,  db = sum_t da_t.
    """

    def __init__(self, input_size, hidden_size, activation="tanh", return_sequences=True,
                 backend="numba", dtype=np.float32, rng=None):
        super().__init__(input_size, hidden_size, return_sequences, backend, dtype)
        if activation not in ("tanh", "relu", "linear"):
            raise ValueError(f"RNN activation must be 'tanh', 'relu' or 'linear', "
                             f"got {activation!r}")
        self.activation = activation
        D, H = self.input_size, self.hidden_size
        rng = self._rng(rng)
        self._add_param("U", (D, H), uniform(rng, D + H, self.dtype))
        self._add_param("W", (H, H), uniform(rng, D + H, self.dtype))
        self._add_param("b", (H,), zeros)

    def _forward(self, x, state, mask):
        h0 = self._check_state(state, x.shape[0])
        p = self.params
        xw = self._project_input(x, p["U"], p["b"])
        Hs = self.K.rnn_forward(xw, p["W"], h0, mask, ACTIVATION_CODES[self.activation])
        self.cache = {"x": x, "h0": h0, "Hs": Hs, "mask": mask}
        self.final_state = Hs[:, -1].copy()
        return Hs

    @single_blas
    def backward(self, dy, dstate=None, need_dx=True):
        c = self.cache
        dHs = self._output_grad(dy)
        if dstate is not None:
            dHs[:, -1] += dstate
        W = self.params["W"] if self.backend == "numpy" else self._transposed("W")
        dA, self.dstate0 = self.K.rnn_backward(dHs, c["Hs"], W, c["mask"],
                                               ACTIVATION_CODES[self.activation])
        H = self.hidden_size
        dW = (previous_states(c["h0"], c["Hs"]), dA.reshape(-1, H), self.grads["W"])
        return self._input_grads(dA, need_dx=need_dx, also=[dW])

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}
