"""Gated recurrent unit layer, in both of its conventions."""
import numpy as np

from .._threads import single_blas
from .base import register, uniform, zeros
from .recurrent import Recurrent, previous_states


@register
class GRU(Recurrent):
    """GRU (Cho et al. 2014). Gates side by side in the order z (update),
    r (reset), n (candidate); U (D, 3H), W (H, 3H), b (3H,).

        z = s(x_t U_z + h_{t-1} W_z + b_z)
        r = s(x_t U_r + h_{t-1} W_r + b_r)
        reset_after=False (default; the ANNT article, Cho et al. 2014):
            n = tanh(x_t U_n + (r * h_{t-1}) W_n + b_n)
        reset_after=True (PyTorch nn.GRU, Keras with cuDNN):
            n = tanh(x_t U_n + b_n + r * (h_{t-1} W_n + b_hn))   (extra bias b_hn (H,))
        h_t = (1 - z) * h_{t-1} + z * n

    The two conventions are different models: the same weights give different
    outputs. Mind two more conventions when porting weights: PyTorch orders its
    gates r, z, n, and its z plays the role of our 1 - z
    (h_t = (1 - z') * n + z' * h_{t-1}), i.e. z' = s(-a_z): negate the z rows.
    Initial weights: U and W uniform in +-sqrt(3 / (D + H)), biases 0 (ANNT's
    GRU draws U in +-sqrt(3 / D), W in +-sqrt(3 / H) and starts the reset bias at -1).
    BPTT: :func:`annt.kernels.reference.gru_backward`.
    """

    def __init__(self, input_size, hidden_size, reset_after=False, return_sequences=True,
                 backend="numba", dtype=np.float32, rng=None):
        super().__init__(input_size, hidden_size, return_sequences, backend, dtype)
        self.reset_after = bool(reset_after)
        D, H = self.input_size, self.hidden_size
        rng = self._rng(rng)
        self._add_param("U", (D, 3 * H), uniform(rng, D + H, self.dtype))
        self._add_param("W", (H, 3 * H), uniform(rng, D + H, self.dtype))
        self._add_param("b", (3 * H,), zeros)
        if self.reset_after:
            self._add_param("b_hn", (H,), zeros)

    def _forward(self, x, state, mask):
        h0 = self._check_state(state, x.shape[0])
        p = self.params
        H = self.hidden_size
        xw = self._project_input(x, p["U"], p["b"])
        b_hn = p["b_hn"] if self.reset_after else np.zeros(H, self.dtype)
        if not self.keep_cache:                 # inference: nothing kept for backward
            Hs = self.K.gru_forward_infer(xw, p["W"], b_hn, h0, mask, self.reset_after)
            self.cache = None
            self.final_state = Hs[:, -1].copy()
            return Hs
        N, T = x.shape[:2]
        out = (self._scratch("Hs", (N, T, H)), self._scratch("Gs", (N, T, 3 * H)),
               self._scratch("Q", (N, T, H)))
        Hs, Gs, Q = self.K.gru_forward(xw, p["W"], b_hn, h0, mask, self.reset_after, out=out)
        self.cache = {"x": x, "h0": h0, "Hs": Hs, "Gs": Gs, "Q": Q, "mask": mask}
        self.final_state = Hs[:, -1].copy()
        return Hs

    @single_blas
    def backward(self, dy, dstate=None, need_dx=True):
        c = self.cache
        H = self.hidden_size
        dHs = self._output_grad(dy)
        if dstate is not None:
            dHs[:, -1] += dstate
        W = self.params["W"] if self.backend == "numpy" else self._transposed("W")
        out = (self._scratch("dAx", c["Gs"].shape), self._scratch("dAh", c["Gs"].shape))
        dAx, dAh, self.dstate0 = self.K.gru_backward(dHs, c["Hs"], c["h0"], c["Gs"], c["Q"], W,
                                                     c["mask"], self.reset_after, out=out)
        dAh = dAh.reshape(-1, 3 * H)
        h_prev = previous_states(c["h0"], c["Hs"], out=self._scratch("h_prev", c["Hs"].shape))
        dW = self.grads["W"]
        if self.reset_after:       # every gate's product is h_{t-1} W (+ b_hn for n)
            products = [(h_prev, dAh, dW)]
            self.K.column_sums(dAh[:, 2 * H:], self.grads["b_hn"])
        else:                      # z, r: h_{t-1} W_zr; n: (r * h_{t-1}) W_n
            products = [(h_prev, dAh[:, :2 * H], dW[:, :2 * H]),
                        (c["Q"].reshape(-1, H), dAh[:, 2 * H:], dW[:, 2 * H:])]
        return self._input_grads(dAx, need_dx=need_dx, also=products)

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}
