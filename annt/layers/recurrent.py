"""What every recurrent layer shares: input checks, initial and final states,
many-to-many vs many-to-one output, masks, and the choice of kernels."""
import contextlib

import numpy as np

from .. import kernels as numba_kernels
from .._threads import single_blas
from ..errors import InputValueError, ShapeError, positive_int
from ..kernels import reference as numpy_kernels
from .base import Layer

BACKENDS = ("numba", "numpy")


def previous_states(S0, S, out=None):
    """(N, T, H) array of the states *entering* each step: [s_0, s_1, ..., s_{T-2}]
    with s_0 the initial state, flattened to (N*T, H) for the weight gradients
    (written into ``out``, an (N, T, H) C array, when given)."""
    N, T, H = S.shape
    prev = np.empty_like(S) if out is None else out
    prev[:, 0] = S0
    prev[:, 1:] = S[:, :-1]
    return prev.reshape(N * T, H)


class Recurrent(Layer):
    """Base of RNN, Jordan, LSTM and GRU.

    ``forward(x, state=None, mask=None)`` takes x (N, T, D) and returns the
    output at every step (N, T, H) when ``return_sequences`` is true
    (many-to-many), or only the last one (N, H) (many-to-one). ``state`` is
    the initial state (zeros when None); afterwards ``final_state`` holds the
    state after the last step, ready to be passed on. ``mask`` (N, T) marks real
    steps with 1 and padding with 0: padding leaves the state unchanged, so
    the last output of a padded sequence is that of its last real step.

    ``backward(dy, dstate=None, need_dx=True)`` takes the gradient of the output (and of the
    final state, if the final state was used downstream), returns the gradient
    of the input and leaves the gradient of the initial state in ``dstate0``.
    """

    is_recurrent = True
    keep_cache = True       # False inside inference_only(): forward keeps nothing for backward

    def __init__(self, input_size, hidden_size, return_sequences=True,
                 backend="numba", dtype=np.float32):
        super().__init__(dtype)
        self.input_size = positive_int(input_size, f"{type(self).__name__}: input_size")
        self.hidden_size = positive_int(hidden_size, f"{type(self).__name__}: hidden_size")
        self.output_size = self.hidden_size
        self.return_sequences = bool(return_sequences)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.backend = backend
        self.final_state = None
        self.dstate0 = None

    @property
    def K(self):
        """The kernel module in use: Numba (fast) or the NumPy reference."""
        return numba_kernels if self.backend == "numba" else numpy_kernels

    def describe(self):
        return f"{type(self).__name__}({self.input_size} -> {self.hidden_size})"

    # -- state --------------------------------------------------------------
    state_size = property(lambda self: self.hidden_size)

    def zero_state(self, batch_size):
        return np.zeros((batch_size, self.state_size), self.dtype)

    def _check_state(self, state, N):
        if state is None:
            return self.zero_state(N)
        s = np.ascontiguousarray(state, dtype=self.dtype)
        if s.shape != (N, self.state_size):
            raise ShapeError(f"{self.describe()}: expected an initial state of shape "
                             f"({N}, {self.state_size}), got {s.shape}")
        return s

    # -- checks ---------------------------------------------------------------
    def _check_input(self, x, mask):
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ShapeError(f"{self.describe()}: expected input of shape "
                             f"(batch, time, {self.input_size}), got {x.shape}")
        N, T, _ = x.shape
        if N == 0 or T == 0:
            raise InputValueError(f"{self.describe()}: empty input of shape {x.shape}; "
                                  f"expected at least one sequence of at least one step")
        if mask is None:
            mask = self._ones_mask(N, T)
        else:
            mask = np.ascontiguousarray(mask, dtype=self.dtype)
            if mask.shape != (N, T):
                raise ShapeError(f"{self.describe()}: expected a mask of shape ({N}, {T}), "
                                 f"got {mask.shape}")
        return x, mask

    def _ones_mask(self, N, T):
        """An all-ones (N, T) mask, kept for the next call of the same shape
        (step-by-step inference asks for a (N, 1) one at every step)."""
        cached = getattr(self, "_ones", None)
        if cached is None or cached.shape != (N, T) or cached.dtype != self.dtype:
            cached = self._ones = np.ones((N, T), self.dtype)
        return cached

    def _project_input(self, x, U, b):
        """All steps' input projections in one matrix product: (N,T,D) -> (N,T,G)."""
        N, T, D = x.shape
        xw = self.K.matmul(x.reshape(N * T, D), U, out=self._scratch("xw", (N * T, U.shape[1])),
                           add=b)
        return xw.reshape(N, T, -1)

    def _input_grads(self, dA, U_name="U", b_name="b", need_dx=True, also=()):
        """dU = X^T dA, db = sum dA, dX = dA U^T for the cached input
        (dX only when ``need_dx``: the first layer's is not needed in training).
        ``also``: the layer's other weight-gradient products ``(A, B, out)``,
        computed together with dU (see ``kernels.matmul_tn_many``)."""
        x = self.cache["x"]
        N, T, D = x.shape
        dA2 = dA.reshape(N * T, -1)
        self.K.matmul_tn_many([*also, (x.reshape(N * T, D), dA2, self.grads[U_name])])
        self.K.column_sums(dA2, self.grads[b_name])
        if not need_dx:
            return None
        return self.K.matmul(dA2, self.params[U_name].T).reshape(N, T, D)

    def _transposed(self, name):
        return np.ascontiguousarray(self.params[name].T)

    # -- forward / backward ---------------------------------------------------
    @single_blas
    def forward(self, x, state=None, mask=None, training=False):
        self.cache = None           # (its arrays can be reused by this pass: see _scratch)
        x, mask = self._check_input(x, mask)
        outputs = self._forward(x, state, mask)
        return outputs if self.return_sequences else outputs[:, -1]

    def _output_grad(self, dy):
        """Gradient of the whole output sequence (N, T, H) from dy."""
        if self.cache is None:
            raise RuntimeError(f"{self.describe()}: backward needs the cache of a forward pass "
                               f"(Layer.forward or Network.forward); there is none (no forward "
                               f"pass yet, or the last one was inference only, as "
                               f"NetworkInference.predict runs)")
        N, T = self.cache["x"].shape[:2]
        dy = np.asarray(dy, dtype=self.dtype)
        if self.return_sequences:
            expected = (N, T, self.output_size)
            if dy.shape != expected:
                raise ShapeError(f"{self.describe()}: expected an output gradient of shape "
                                 f"{expected}, got {dy.shape}")
            dY = self._scratch("dY", expected)
            np.copyto(dY, dy)
            return dY
        if dy.shape != (N, self.output_size):
            raise ShapeError(f"{self.describe()}: expected an output gradient of shape "
                             f"{(N, self.output_size)}, got {dy.shape}")
        dY = self._scratch("dY", (N, T, self.output_size))
        dY[:, :-1] = 0
        dY[:, -1] = dy
        return dY

    def get_config(self):
        return {"type": type(self).__name__, "input_size": self.input_size,
                "hidden_size": self.hidden_size, "return_sequences": self.return_sequences,
                "backend": self.backend, "dtype": self.dtype.name}


@contextlib.contextmanager
def inference_only(network_or_layers):
    """Within the block, the forward passes of the recurrent layers of a network
    (or of a list of layers) keep nothing for a backward pass: layers that have
    an inference kernel (the LSTM and the GRU) skip storing their gates and cell states.
    The previous setting is restored on exit, also after an error."""
    layers = list(getattr(network_or_layers, "layers", network_or_layers))
    recurrent = []
    while layers:
        layer = layers.pop()
        if isinstance(layer, Recurrent):
            recurrent.append(layer)
        for name in ("forward_layer", "backward_layer"):     # Bidirectional
            inner = getattr(layer, name, None)
            if inner is not None:
                layers.append(inner)
    saved = [(layer, layer.__dict__.get("keep_cache")) for layer in recurrent]
    try:
        for layer in recurrent:
            layer.keep_cache = False
        yield
    finally:
        for layer, value in saved:
            if value is None:
                layer.__dict__.pop("keep_cache", None)
            else:
                layer.keep_cache = value
