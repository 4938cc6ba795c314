"""One time step through a whole network, fast: the engine of ``NetworkInference.step``.

Stepping could simply run ``Network.forward`` on a sequence of length 1, and
that is what annt falls back to. But at one step of one sequence the
arithmetic takes well under a microsecond, while a whole-sequence pass pays
for its generality at every call: input checks and casts in every layer, a
NumPy matrix product and a kernel call per layer, fresh arrays for the
outputs, caches and final states, copies of the states. That came to about
12 us per step for an RNN of 32 units, almost none of it arithmetic.

At this scale every Python-level operation counts: a call of a compiled Numba
function costs about 0.15 us plus about 0.15 us per array argument,
``np.isfinite(x).all()`` on 32 numbers 0.8 us, a small NumPy operation 0.3 to
1 us.

A :class:`StepPlan` is built once for a network, a batch size N and a dtype.
It holds one *stepper* per layer; each owns the buffers it writes (its state,
its output), allocated once, and does its layer's whole step in ONE compiled
kernel call (``annt.kernels.rnn_step``, ``lstm_step``, ``gru_step``,
``jordan_step``, ``dense_step``, ``activation_step``; the NumPy reference
versions for layers with ``backend="numpy"``). A step is then little more than
one kernel call per layer (about 2 us for that RNN; the input's NaN check is
one more small kernel, ``all_finite``). The weights are read from the layers
at every call, so training between steps is seen at once.

The plan covers every annt layer except Bidirectional (which cannot be
stepped at all); a network with another layer (a user's own subclass, say) has
no plan and is stepped through ``Network.forward``.
"""
import numpy as np

from ._threads import needs_limit
from .kernels import ACTIVATION_CODES, SOFTMAX, activation_step, dense_step
from .layers import (GRU, LSTM, RNN, Dense, Dropout, Identity, Jordan, ReLU, Sigmoid, Softmax,
                     Tanh)


# --------------------------------------------------------------------------- #
# steppers: one per layer, called as stepper(x (N, D)) -> output (N, K)
# --------------------------------------------------------------------------- #
class _RecurrentStepper:
    """Base of the recurrent steppers. ``buffers`` holds the state arrays, updated
    in place by the kernel: (h,) for RNN and GRU, (y,) for Jordan, (h, c) for LSTM."""

    def __init__(self, layer, N, *sizes):
        self.layer = layer
        self.kernel = getattr(layer.K, self.kernel_name)   # Numba, or the NumPy reference
        self.buffers = tuple(np.zeros((N, size), layer.dtype) for size in sizes)

    def state(self):
        """A copy of the state, shaped as the layer's ``final_state``."""
        copies = tuple(b.copy() for b in self.buffers)
        return copies if len(copies) > 1 else copies[0]

    def load_state(self, state):
        """Copy ``state`` (None: zeros) into the buffers; False when it does not fit
        (the caller then steps through Network.forward, which says what is wrong)."""
        if state is None:
            for b in self.buffers:
                b.fill(0)
            return True
        if len(self.buffers) > 1:
            if not (isinstance(state, (tuple, list)) and len(state) == len(self.buffers)):
                return False
            parts = state
        else:
            parts = (state,)
        arrays = [np.asarray(s, dtype=self.layer.dtype) for s in parts]
        if any(a.shape != b.shape for a, b in zip(arrays, self.buffers)):
            return False
        for a, b in zip(arrays, self.buffers):
            b[...] = a
        return True


class _RNNStepper(_RecurrentStepper):
    kernel_name = "rnn_step"

    def __init__(self, layer, N):
        super().__init__(layer, N, layer.hidden_size)

    def __call__(self, x):
        layer = self.layer
        p = layer.params
        h, = self.buffers
        self.kernel(x, p["U"], p["W"], p["b"], h, ACTIVATION_CODES[layer.activation])
        return h


class _LSTMStepper(_RecurrentStepper):
    kernel_name = "lstm_step"

    def __init__(self, layer, N):
        super().__init__(layer, N, layer.hidden_size, layer.hidden_size)

    def __call__(self, x):
        p = self.layer.params
        h, c = self.buffers
        self.kernel(x, p["U"], p["W"], p["b"], h, c)
        return h


class _GRUStepper(_RecurrentStepper):
    kernel_name = "gru_step"

    def __init__(self, layer, N):
        super().__init__(layer, N, layer.hidden_size)
        self.no_b_hn = np.zeros(layer.hidden_size, layer.dtype)   # reset_after=False has none

    def __call__(self, x):
        layer = self.layer
        p = layer.params
        h, = self.buffers
        b_hn = p["b_hn"] if layer.reset_after else self.no_b_hn
        self.kernel(x, p["U"], p["W"], p["b"], b_hn, h, layer.reset_after)
        return h


class _JordanStepper(_RecurrentStepper):
    kernel_name = "jordan_step"

    def __init__(self, layer, N):
        super().__init__(layer, N, layer.output_size)     # the state is the previous output

    def __call__(self, x):
        layer = self.layer
        p = layer.params
        y, = self.buffers
        self.kernel(x, p["U"], p["W"], p["b"], p["V"], p["c"], y, *layer._codes())
        return y


class _DenseStepper:
    def __init__(self, layer, N):
        self.layer = layer
        self.out = np.empty((N, layer.output_size), layer.dtype)

    def __call__(self, x):
        p = self.layer.params
        dense_step(x, p["W"], p["b"], self.out)
        return self.out


class _ActivationStepper:
    def __init__(self, code, N, size, dtype):
        self.code = code
        self.out = np.empty((N, size), dtype)

    def __call__(self, x):
        activation_step(x, self.code, self.out)
        return self.out


_RECURRENT = {RNN: _RNNStepper, LSTM: _LSTMStepper, GRU: _GRUStepper, Jordan: _JordanStepper}
_ACTIVATIONS = {Tanh: ACTIVATION_CODES["tanh"], Sigmoid: ACTIVATION_CODES["sigmoid"],
                ReLU: ACTIVATION_CODES["relu"], Softmax: SOFTMAX}
_PASS_THROUGH = (Identity, Dropout)        # at inference both return their input


# --------------------------------------------------------------------------- #
# the plan
# --------------------------------------------------------------------------- #
class StepPlan:
    """The steppers of a network for inputs of one shape (N, D) and dtype.

    ``plan(x)`` advances every sequence by one step and returns the network's
    output (N, K), a new array. ``supported`` is False when some layer has no
    stepper; the plan is then only a record that this network has to be stepped
    through ``Network.forward``.

    The state lives in the steppers' buffers. ``holds_state`` says whether they
    hold the current state; ``states()`` copies it out and ``load_states``
    copies a state in, both as lists with one entry per recurrent layer (None:
    zeros), as ``Network.forward`` takes them and ``Network.final_states`` gives
    them.
    """

    def __init__(self, network, shape, dtype):
        self.network = network
        self.layers = list(network.layers)    # copies, to notice a change of the network
        self.dtypes = [layer.dtype for layer in self.layers]
        self.shape = shape
        self.dtype = dtype
        self.holds_state = False
        self.stages, self.recurrent = self._build(shape)
        self.supported = self.stages is not None
        self.limit_blas = needs_limit(network, shape[0])   # see annt._threads

    def _build(self, shape):
        N, size = shape
        stages, recurrent = [], []
        for layer in self.layers:
            kind = type(layer)            # exact types: a subclass may compute something else
            if layer.dtype != self.dtype or (layer.input_size is not None
                                             and layer.input_size != size):
                return None, None         # Network.forward casts / raises the ShapeError
            if kind in _RECURRENT:
                stepper = _RECURRENT[kind](layer, N)
                recurrent.append(stepper)
            elif kind is Dense:
                stepper = _DenseStepper(layer, N)
            elif kind in _ACTIVATIONS:
                stepper = _ActivationStepper(_ACTIVATIONS[kind], N, size, self.dtype)
            elif kind in _PASS_THROUGH:
                continue
            else:
                return None, None
            stages.append(stepper)
            size = layer.output_size if layer.output_size is not None else size
        return stages, recurrent

    def fits(self, network, x):
        """True when this plan was built for ``network`` as it is now (the same
        layers, of the same dtypes) and for x's shape and dtype. The weights and
        settings such as an activation may have changed: the steppers read them
        from the layers at each call."""
        return (network is self.network and x.shape == self.shape and x.dtype == self.dtype
                and network.layers == self.layers      # layers compare by identity
                and [layer.dtype for layer in self.layers] == self.dtypes)

    def __call__(self, x):
        """x (N, D), C-contiguous, of the plan's dtype -> the output (N, K), a new array."""
        for stage in self.stages:
            x = stage(x)              # each stage's output is a buffer it owns ...
        return x.copy()               # ... so the caller gets a copy to keep

    def states(self):
        """Copies of the current state, one entry per recurrent layer."""
        return [s.state() for s in self.recurrent]

    def load_states(self, states):
        """Copy ``states`` (None: zeros) into the buffers; False when they do not fit."""
        if states is None:
            states = [None] * len(self.recurrent)
        if len(states) != len(self.recurrent):
            return False
        return all(s.load_state(st) for s, st in zip(self.recurrent, states))
