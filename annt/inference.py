"""Inference context (ANNT's XNetworkInference): predict, step, generate, sample."""
import numpy as np

from .encoding import one_hot
from .errors import (InputValueError, ShapeError, check_finite, check_mask, check_not_empty,
                     positive_int, real_array)
from .kernels import all_finite
from .layers import Softmax
from .layers.recurrent import inference_only
from .random import get_rng
from .stepping import StepPlan
from ._threads import always_single_blas, blas_single_thread
from .training import _nested_tuple


def check_temperature(temperature, zero_allowed=True):
    """``temperature`` as a float; ValueError unless it is a finite number >= 0
    (> 0 when not ``zero_allowed``)."""
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(
            temperature, (int, float, np.integer, np.floating)):
        raise TypeError(f"temperature must be a number, got {temperature!r}")
    t = float(temperature)
    if not np.isfinite(t) or t < 0 or (t == 0 and not zero_allowed):
        bound = ">= 0 (0 takes the most probable class)" if zero_allowed else "> 0"
        raise ValueError(f"temperature must be a finite number {bound}, got {temperature}")
    return t


def softmax(z, temperature=1.0):
    """softmax(z / temperature) over the last axis (temperature finite and > 0)."""
    temperature = check_temperature(temperature, zero_allowed=False)
    z = np.asarray(z, np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sample_from_probabilities(p, temperature=1.0, rng=None):
    """Draw one class per row of p (..., K).

    temperature 1 samples from p itself; below 1 sharpens it
    (p_k^(1/T) renormalised), above 1 flattens it; 0 takes the argmax.
    p must be finite and >= 0 with some probability in every row (rows need
    not sum to 1); the temperature a finite number >= 0.
    """
    temperature = check_temperature(temperature)
    p = real_array(p, np.float64, "p (probabilities)")
    _check_probabilities(p)
    if temperature == 0:
        return p.argmax(axis=-1)
    q = softmax(np.log(np.maximum(p, 1e-300)), temperature)
    rng = get_rng(rng)
    u = rng.random(q.shape[:-1] + (1,))
    idx = (np.cumsum(q, axis=-1) < u).sum(axis=-1)
    return np.minimum(idx, q.shape[-1] - 1)


def _check_probabilities(p):
    bad = ~np.isfinite(p) | (p < 0)
    if bad.any():
        raise InputValueError(
            f"p (probabilities) must be finite and >= 0, but it holds {int(np.isnan(p).sum())} "
            f"NaN, {int(np.isinf(p).sum())} infinite and {int((p < 0).sum())} negative "
            f"value(s) (shape {p.shape})")
    empty = p.sum(axis=-1) == 0
    if p.size and empty.any():
        raise InputValueError(f"p (probabilities): {int(empty.sum())} row(s) hold no "
                              f"probability at all (they sum to 0), e.g. row "
                              f"{tuple(int(i) for i in np.argwhere(empty)[0])}")


class NetworkInference:
    """Runs a trained :class:`~annt.Network`.

    * ``predict(X)``: whole sequences (N, T, D) (or one sequence (T, D)) from a
      zero state; the stepping state is left alone.
    * ``step(x_t)``: one time step (N, D) (or (D,)) from the state left by the
      previous call: the state lives here until ``reset_state()``.
    * ``generate(prime, steps)``: closed loop: after the priming sequence, each
      output is fed back as the next input (time-series forecasting).
    * ``sample(prime, steps, temperature)``: for a network ending in Softmax:
      draw a class from each output and feed its one-hot code back.

    ``states`` is the stepping state: one entry per recurrent layer (an array
    (N, H), or the pair (h, c) of an LSTM), as ``Network.final_states`` gives
    it, or None for zeros; reading it gives copies, assigning to it sets it.

    Stepping runs through a :class:`~annt.stepping.StepPlan` (one compiled
    kernel per layer, buffers allocated once), built at the first step and
    again whenever the network, the batch size or the dtype changes; networks
    it does not cover are stepped through ``Network.forward``.
    """

    def __init__(self, network):
        self.network = network
        self._plan = None       # StepPlan of the last step
        self._states = None     # the state, when the plan does not hold it
        self.states = None

    @property
    def states(self):
        plan = self._plan
        if plan is not None and plan.holds_state:
            return plan.states()
        return self._states

    @states.setter
    def states(self, states):
        self._states = states
        if self._plan is not None:
            self._plan.holds_state = False      # its buffers are now out of date

    def reset_state(self):
        self.states = None

    def _input(self, x, ndim, what):
        x = real_array(x, self.network.dtype, what)
        check_not_empty(x, what)
        check_finite(x, what)
        single = x.ndim == ndim - 1
        if single:
            x = x[None]
        if x.ndim != ndim:
            raise ShapeError(f"{what}: expected {ndim}-d input (or {ndim - 1}-d for a single "
                             f"sample), got shape {x.shape}")
        return x, single

    @always_single_blas
    def predict(self, X, mask=None, batch_size=1024):
        """Outputs for whole sequences, each started from the zero state."""
        batch_size = positive_int(batch_size, "batch_size")
        X, single = self._input(X, 3, "X (inputs)")
        if mask is not None:
            mask = check_mask(mask)
        outs = []
        with inference_only(self.network):
            for s in range(0, X.shape[0], batch_size):
                m = None if mask is None else mask[s:s + batch_size]
                outs.append(self.network.forward(X[s:s + batch_size], None, m, training=False))
        y = np.concatenate(outs, axis=0)
        return y[0] if single else y

    def _check_causal(self):
        from .layers import Bidirectional
        for layer in self.network.layers:
            if isinstance(layer, Bidirectional):
                raise ValueError(
                    f"{layer.describe()}: a bidirectional layer's output at step t depends on "
                    f"the inputs after t, so it cannot be run one step at a time (step, "
                    f"generate, sample); use predict() on whole sequences")

    def _run(self, x_seq):
        """Feed a (N, T, D) chunk from the current state through ``Network.forward``
        (the general path); return the last step's output."""
        self._check_causal()
        y = self.network.forward(x_seq, self.states, training=False)
        self.states = [_nested_tuple(s) for s in self.network.final_states]
        return y[:, -1] if y.ndim == 3 else y

    def _ready_plan(self, x):
        """The StepPlan for x (N, D), holding the current state; None when the
        network has to be stepped through ``Network.forward``."""
        plan = self._plan
        if plan is None or not plan.fits(self.network, x):
            if x.ndim != 2 or x.size == 0:
                return None
            if plan is not None and plan.holds_state:
                self.states = plan.states()         # hand the state over to the new plan
            plan = self._plan = StepPlan(self.network, x.shape, x.dtype)
        if not plan.supported:
            return None
        if not plan.holds_state:
            # a state that does not fit (another batch size, say): Network.forward raises
            if not plan.load_states(self._states):
                return None
            plan.holds_state = True
        return plan

    def _advance(self, x):
        """One step of x (N, D) (of the network's dtype, not checked for NaN) from
        the current state; returns the outputs (N, K), a new array."""
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        plan = self._ready_plan(x)
        if plan is None:
            return self._run(x[:, None, :])
        return plan(x)

    def step(self, x_t):
        """Advance every sequence by one step; returns the outputs (N, K) (or (K,))."""
        x = (x_t if type(x_t) is np.ndarray and x_t.dtype == self.network.dtype
             else real_array(x_t, self.network.dtype, "x_t (one time step)"))
        single = x.ndim == 1
        if single:
            x = x[None]
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        plan = self._ready_plan(x)
        if plan is None or not all_finite(x):
            # the general path, which also raises the errors for bad inputs
            x, single = self._input(x_t, 2, "x_t (one time step)")
            y = self._run(x[:, None, :])
        elif not plan.limit_blas:
            y = plan(x)
        else:
            with blas_single_thread():     # see annt._threads
                y = plan(x)
        return y[0] if single else y

    @always_single_blas
    def generate(self, prime, steps, feedback=None):
        """Closed-loop generation: run ``prime`` (N, T0, D) from a zero state, then
        ``steps`` times feed the output back as the next input (``feedback(y)``
        maps an output to an input when they differ). Returns (N, steps, K)."""
        x, single = self._input(prime, 3, "prime (priming sequence)")
        self.reset_state()
        y = self._run(x)
        out = []
        for _ in range(int(steps)):
            out.append(y)
            nxt = y if feedback is None else np.asarray(feedback(y), self.network.dtype)
            if nxt.shape[-1] != x.shape[-1]:
                raise ShapeError(f"generate feeds outputs back as inputs: expected {x.shape[-1]} "
                                 f"features, the output has {nxt.shape[-1]}; pass feedback=")
            y = self._advance(nxt)
        res = np.stack(out, axis=1) if out else np.zeros((x.shape[0], 0, y.shape[-1]))
        return res[0] if single else res

    @always_single_blas
    def sample(self, prime, steps, temperature=1.0, rng=None):
        """Sample ``steps`` classes after a priming sequence of class indices
        (N, T0) (or (T0,)). Each drawn class is one-hot encoded and fed back.
        Returns the drawn indices (N, steps) (or (steps,))."""
        temperature = check_temperature(temperature)
        prime = np.asarray(prime)
        if prime.dtype.kind not in "iu":
            raise ShapeError(f"sample expects the priming sequence as class indices, got "
                             f"dtype {prime.dtype}")
        single = prime.ndim == 1
        if single:
            prime = prime[None]
        D = self.network.input_size
        rng = get_rng(rng)
        self.reset_state()
        y = self._run(one_hot(prime, D, dtype=self.network.dtype))
        probs = isinstance(self.network.layers[-1], Softmax)
        out = np.empty((prime.shape[0], int(steps)), np.int64)
        for k in range(int(steps)):
            p = y if probs else softmax(y)
            idx = sample_from_probabilities(p, temperature, rng)
            out[:, k] = idx
            y = self._advance(one_hot(idx, D, dtype=self.network.dtype))
        return out[0] if single else out
