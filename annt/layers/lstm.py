"""Long short-term memory layer."""
import numpy as np

from ..errors import ShapeError
from .._threads import single_blas
from .base import register, uniform
from .recurrent import Recurrent, previous_states


@register
class LSTM(Recurrent):
    """LSTM (Hochreiter and Schmidhuber 1997, with a forget gate).

    Gates side by side in the order i (input), f (forget), g (candidate), o (output):

        a_t = x_t U + h_{t-1} W + b                      (N, 4H)
        i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    Shapes: x (N, T, D), U (D, 4H), W (H, 4H), b (4H,); the state is the pair
    (h, c), each (N, H). The forget-gate bias starts at 1, so that the cell
    remembers by default early in training.
    BPTT carries both dh and dc back in time (see
    :func:`annt.kernels.reference.lstm_backward`).
    """

    def __init__(self, input_size, hidden_size, return_sequences=True, backend="numba",
                 dtype=np.float32, rng=None):
        super().__init__(input_size, hidden_size, return_sequences, backend, dtype)
        D, H = self.input_size, self.hidden_size
        rng = self._rng(rng)
        self._add_param("U", (D, 4 * H), uniform(rng, D + H, self.dtype))
        self._add_param("W", (H, 4 * H), uniform(rng, D + H, self.dtype))
        self._add_param("b", (4 * H,), self._forget_bias_one)

    def _forget_bias_one(self, shape):
        """The initial bias: 0, except 1 for the forget gate."""
        b = np.zeros(shape)
        H = self.hidden_size
        b[H:2 * H] = 1.0
        return b

    def zero_state(self, batch_size):
        z = np.zeros((batch_size, self.hidden_size), self.dtype)
        return (z, z.copy())

    def _check_state(self, state, N):
        if state is None:
            return self.zero_state(N)
        if not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise ShapeError(f"{self.describe()}: expected the initial state as a pair (h, c) "
                             f"of arrays ({N}, {self.hidden_size}), got {type(state).__name__}")
        return tuple(super(LSTM, self)._check_state(s, N) for s in state)

    def _forward(self, x, state, mask):
        h0, c0 = self._check_state(state, x.shape[0])
        p = self.params
        if not self.keep_cache:                 # inference: nothing kept for backward
            Hs, c_last = self.K.lstm_forward_infer(x, p["U"], p["W"], p["b"], h0, c0, mask)
            self.cache = None
            self.final_state = (Hs[:, -1].copy(), c_last)
            return Hs
        xw = self._project_input(x, p["U"], p["b"])
        N, T = x.shape[:2]
        H = self.hidden_size
        out = (self._scratch("Hs", (N, T, H)), self._scratch("Cs", (N, T, H)),
               self._scratch("Gs", (N, T, 4 * H)))
        Hs, Cs, Gs = self.K.lstm_forward(xw, p["W"], h0, c0, mask, out=out)
        self.cache = {"x": x, "h0": h0, "c0": c0, "Hs": Hs, "Cs": Cs, "Gs": Gs, "mask": mask}
        self.final_state = (Hs[:, -1].copy(), Cs[:, -1].copy())
        return Hs

    @single_blas
    def backward(self, dy, dstate=None, need_dx=True):
        c = self.cache
        dHs = self._output_grad(dy)
        dcT = np.zeros_like(c["h0"])
        if dstate is not None:
            dhT, dcT_in = dstate
            if dhT is not None:
                dHs[:, -1] += dhT
            if dcT_in is not None:
                dcT = np.ascontiguousarray(dcT_in, dtype=self.dtype)
        W = self.params["W"] if self.backend == "numpy" else self._transposed("W")
        dA, dh0, dc0 = self.K.lstm_backward(dHs, dcT, c["Cs"], c["Gs"], c["c0"], W, c["mask"],
                                            out=self._scratch("dA", c["Gs"].shape))
        self.dstate0 = (dh0, dc0)
        H = self.hidden_size
        h_prev = previous_states(c["h0"], c["Hs"], out=self._scratch("h_prev", c["Hs"].shape))
        dW = (h_prev, dA.reshape(-1, 4 * H), self.grads["W"])
        return self._input_grads(dA, need_dx=need_dx, also=[dW])
