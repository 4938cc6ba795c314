"""Training context (ANNT's XNetworkTraining): BPTT, updates, fit and evaluate."""
import sys
import time

import numpy as np
from tqdm.std import tqdm

from .costs import get_cost
from .errors import (InputValueError, ShapeError, TrainingDiverged, check_finite, check_mask,
                     check_not_empty, positive_int, real_array)
from .layers import Bidirectional
from .metrics import get_metric
from .random import get_rng
from ._threads import always_single_blas


def copy_states(states):
    """Deep copy of a list of layer states (arrays, or tuples of arrays)."""
    if states is None:
        return None
    return [tuple(np.copy(s) for s in st) if isinstance(st, tuple) else np.copy(st)
            for st in states]


def _nested_tuple(st):
    if isinstance(st, tuple):
        return tuple(_nested_tuple(s) for s in st)
    return np.copy(st)


class NetworkTraining:
    """Trains a :class:`~annt.Network` with a cost and an optimizer.

    * ``train_batch(X, Y, mask=None)``: one forward pass over whole sequences,
      full backpropagation through time, one update; returns the loss.
      ``Y`` holds one target per sequence (many-to-one: the network's last
      recurrent layer has ``return_sequences=False``) or one per step
      (many-to-many). ``mask`` (N, T) marks the real steps of padded sequences.
    * ``bptt_steps=k``: truncated BPTT for long sequences: each batch is cut into
      chunks of k steps; each chunk is a forward pass, a backward pass that stops
      at the chunk's start, and an update, and the state is carried into the
      next chunk. Only one chunk's output is kept at a time (metrics are
      computed chunk by chunk), so memory does not grow with the length.
    * ``stateful=True``: the final state of one batch is the initial state of
      the next (sequences continue across batches) until ``reset_state()``;
      ``fit`` resets it at the start of every epoch.
    * ``fit(...)`` loops over epochs and shuffled mini-batches (whole sequences
      are shuffled, never the steps inside one) and returns the history.

    A Bidirectional layer needs whole sequences, so it refuses both
    ``bptt_steps`` and ``stateful``. Data are checked before anything is
    computed (shapes, NaN, masks of 0 and 1, targets the cost accepts), for the
    validation data of ``fit`` too.

    When the network ends in the activation a cost is fused with (Softmax for
    CrossEntropy, Sigmoid for BinaryCrossEntropy), the cost is computed from
    that layer's input (see :mod:`annt.costs`).
    """

    def __init__(self, network, cost, optimizer, stateful=False, bptt_steps=None, rng=None):
        self.network = network
        self.cost = get_cost(cost)
        self.optimizer = optimizer
        self.stateful = bool(stateful)
        self.bptt_steps = None if bptt_steps is None else positive_int(bptt_steps, "bptt_steps")
        _check_whole_sequences(network, self.stateful, self.bptt_steps)
        self.rng = get_rng(rng)
        self.states = None
        self.stop_training = False
        last = network.layers[-1]
        self.fused = self.cost.fuses_with is not None and isinstance(last, self.cost.fuses_with)
        self._params = [p for _, p, _ in network.parameters()]
        self._grads = [g for _, _, g in network.parameters()]

    def reset_state(self):
        """Forget the state carried between batches (stateful training)."""
        self.states = None

    # -- checks ---------------------------------------------------------------
    def _prepare(self, X, Y, mask, what=""):
        """X, Y and mask as arrays, after checking everything that can be checked
        without computing: real, finite, non-empty data; X's shape; as many targets
        as sequences, of the shape and values the cost takes; a mask of 0 and 1."""
        dtype = self.network.dtype
        X = real_array(X, dtype, f"{what}X (inputs)")
        Y = real_array(Y, None, f"{what}Y (targets)")
        if Y.dtype.kind == "f":
            Y = Y.astype(dtype, copy=False)
        check_not_empty(X, f"{what}X (inputs)")
        check_finite(X, f"{what}X (inputs)")
        check_finite(Y, f"{what}Y (targets)")
        self._check_input_shape(X, f"{what}X (inputs)")
        if Y.ndim == 0 or Y.shape[0] != X.shape[0]:
            raise ShapeError(f"{what}X holds {X.shape[0]} sequences but Y holds "
                             f"{Y.shape[0] if Y.ndim else 'a single number as'} targets "
                             f"(X {X.shape}, Y {Y.shape})")
        if mask is not None:
            mask = check_mask(mask, f"{what}mask").astype(dtype, copy=False)
            if X.ndim != 3 or mask.shape != X.shape[:2]:
                raise ShapeError(f"expected a {what}mask of shape (batch, time) = "
                                 f"{X.shape[:2]}, got {mask.shape}")
        self.cost.check_targets(Y, self.network.output_shape(X.shape))
        return X, Y, mask

    def _check_input_shape(self, X, what):
        net = self.network
        D = net.input_size
        features = "features" if D is None else D
        expected = (f"(batch, time, {features})" if net.needs_sequences
                    else f"(batch, {features}) or (batch, time, {features})")
        if X.ndim != 3 and not (X.ndim == 2 and not net.needs_sequences):
            raise ShapeError(f"{what} must have shape {expected}, got shape {X.shape}")
        if D is not None and X.shape[-1] != D:
            first = next(layer for layer in net.layers if layer.input_size is not None)
            raise ShapeError(f"{what} has {X.shape[-1]} features, but {first.describe()} "
                             f"expects {D}: expected shape {expected}, got {X.shape}")

    # -- one pass -----------------------------------------------------------
    def forward_backward(self, X, Y, mask=None, states=None):
        """One forward and backward pass (no update): returns (loss, network output).
        The gradients are left in the layers (``network.parameters()``)."""
        net = self.network
        upto = -1 if self.fused else None
        z = net.forward(X, states, mask, training=True, upto=upto)
        cost_mask = mask if (mask is not None and z.ndim == 3) else None
        loss, dz = self.cost.loss_and_grad(z, Y, cost_mask)
        net.backward(dz, upto=upto, input_grad=False)
        out = net.layers[-1].forward(z) if self.fused else z
        return loss, out

    def _check_diverged(self, loss, where):
        """Raise TrainingDiverged when the loss or a gradient is NaN or infinite."""
        if np.isfinite(loss):
            bad = next((name for (name, _, _), g in zip(self.network.parameters(), self._grads)
                        if not np.isfinite(g).all()), None)
            if bad is None:
                return
            what = f"the gradient of {bad} became non-finite (the loss was {loss:.4g})"
        else:
            what = f"the loss became {loss}"
        lr = getattr(self.optimizer, "lr", "?")
        raise TrainingDiverged(
            f"training diverged: {what} at {where}. Try a lower learning "
            f"rate (now {lr}) or gradient clipping (clip_norm=... on the optimizer), and "
            f"check the inputs' scale")

    def _step(self, X, Y, mask, where, named=()):
        """forward, backward and update on one batch; returns (loss, weight, parts):
        the loss, the number of positions it is the mean over, and the batch's
        (total, count) for each metric of ``named``.
        NumPy's overflow warnings are silenced: a diverging run is detected from the
        loss and the gradients and stopped with TrainingDiverged instead."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._step_unchecked(X, Y, mask, where, named)

    def _step_unchecked(self, X, Y, mask, where, named):
        if self.bptt_steps is not None and X.ndim == 3 and X.shape[1] > self.bptt_steps:
            return self._truncated_step(X, Y, mask, where, named)
        states = self.states if self.stateful else None
        if states is not None and states and _batch_of(states) != X.shape[0]:
            raise ShapeError(f"stateful training carries the state of {_batch_of(states)} "
                             f"sequences, but this batch has {X.shape[0]}; keep the batch "
                             f"size fixed or call reset_state()")
        loss, out = self.forward_backward(X, Y, mask, states)
        self._check_diverged(loss, where)
        self.optimizer.step(self._params, self._grads)
        if self.stateful:
            self.states = [_nested_tuple(s) for s in self.network.final_states]
        cm = mask if (mask is not None and out.ndim == 3) else None
        parts = {n: metric.parts(out, Y, cm) for n, metric in named}
        return loss, _weight(out.shape[:-1], mask), parts

    def _truncated_step(self, X, Y, mask, where, named):
        """Truncated BPTT over chunks of ``bptt_steps`` steps; each chunk's output
        goes to the metrics' collectors and is then dropped."""
        N, T = X.shape[:2]
        if Y.ndim < 2 or Y.shape[1] != T:
            raise ShapeError(f"truncated BPTT needs a target at every step: Y of shape "
                             f"({N}, {T}, ...), got {Y.shape}")
        k = self.bptt_steps
        states = self.states if self.stateful else None
        collectors = {n: metric.chunks(mask, T) for n, metric in named}
        total, weight = 0.0, 0.0
        for s in range(0, T, k):
            m = None if mask is None else mask[:, s:s + k]
            w = float(m.sum()) if m is not None else float(N * min(k, T - s))
            if w == 0:
                # All padding: nothing to learn and the state passes through
                # unchanged, but later chunks may hold real steps again.
                out = self.network.forward(X[:, s:s + k], states, m, training=False)
            else:
                loss, out = self.forward_backward(X[:, s:s + k], Y[:, s:s + k], m, states)
                self._check_diverged(loss, f"{where}, steps {s}-{min(s + k, T) - 1}")
                self.optimizer.step(self._params, self._grads)
                total += loss * w
                weight += w
            states = [_nested_tuple(st) for st in self.network.final_states]
            for collector in collectors.values():
                collector.add(out, Y[:, s:s + k], m, s)
        if self.stateful:
            self.states = states
        if weight == 0:
            raise ValueError("the mask selects no step of this batch: nothing to learn from")
        parts = {n: collector.parts() for n, collector in collectors.items()}
        return total / weight, _weight((N, T), mask), parts

    @always_single_blas
    def train_batch(self, X, Y, mask=None):
        """Full BPTT over the batch and one update (one per chunk with bptt_steps).
        Returns the loss before the update."""
        X, Y, mask = self._prepare(X, Y, mask)
        return self._step(X, Y, mask, "this batch")[0]

    # -- evaluation -------------------------------------------------------------

    @always_single_blas
    def evaluate(self, X, Y, mask=None, metrics=(), batch_size=256):
        """Loss (and metrics) over a data set, without training; returns a dict."""
        batch_size = positive_int(batch_size, "batch_size")
        X, Y, mask = self._prepare(X, Y, mask)
        named = [get_metric(m) for m in metrics]
        net = self.network
        upto = -1 if self.fused else None
        sums = {"loss": 0.0}
        parts = {n: [0.0, 0.0] for n, _ in named}
        wsum = 0.0
        for s in range(0, X.shape[0], batch_size):
            xb, yb = X[s:s + batch_size], Y[s:s + batch_size]
            mb = None if mask is None else mask[s:s + batch_size]
            z = net.forward(xb, None, mb, training=False, upto=upto)
            cm = mb if (mb is not None and z.ndim == 3) else None
            w = _weight(z.shape[:-1], mb)
            sums["loss"] += self.cost.loss(z, yb, cm) * w
            wsum += w
            out = net.layers[-1].forward(z) if self.fused else z
            _add_parts(parts, named, out, yb, cm)
        return {"loss": sums["loss"] / wsum, **_finish_parts(parts, named)}

    # -- the loop -------------------------------------------------------------
    @always_single_blas
    def fit(self, X, Y, epochs=1, batch_size=32, shuffle=True, mask=None,
            validation_data=None, metrics=(), callbacks=(), verbose=True):
        """Train for ``epochs`` passes over (X, Y).

        validation_data: (Xv, Yv) or (Xv, Yv, mask_v), evaluated after each epoch.
        metrics: names from :mod:`annt.metrics` (``'accuracy'``, ``'last_step_accuracy'``,
        ``'mae'``, ``'rmse'``) or functions f(y, t, mask).
        callbacks: functions ``f(epoch, logs)`` called after each epoch (``logs``
        holds that epoch's numbers); returning True, or setting
        ``trainer.stop_training = True``, stops training.
        verbose: show a tqdm progress bar (on stderr).

        Returns the history: a dict of per-epoch lists (``'loss'``, each metric,
        ``'val_loss'`` and ``'val_<metric>'`` with validation data, ``'time'`` in
        seconds).

        Everything that can be checked is checked before the first update: the
        data and the validation data (see ``_prepare``), the settings, and for
        stateful training that every batch holds the same sequences.
        """
        epochs = positive_int(epochs, "epochs")
        batch_size = positive_int(batch_size, "batch_size")
        X, Y, mask = self._prepare(X, Y, mask)
        if self.stateful and shuffle:
            raise ValueError("stateful training continues each sequence in the next batch, "
                             "so batches must keep their order: pass shuffle=False")
        if self.stateful and X.shape[0] % batch_size:
            N = X.shape[0]
            raise ValueError(
                f"stateful training carries each batch's state into the next batch, so every "
                f"batch must hold the same number of sequences: {N} sequences are not a "
                f"multiple of batch_size={batch_size} (the last batch would hold "
                f"{N % batch_size}); drop or add sequences, or choose a batch_size that "
                f"divides {N}")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be (X, Y) or (X, Y, mask)")
            vX, vY, vmask = self._prepare(*validation_data,
                                          *([None] * (3 - len(validation_data))),
                                          what="validation_data: ")
        named = [get_metric(m) for m in metrics]
        N = X.shape[0]
        n_batches = (N + batch_size - 1) // batch_size
        history = {"loss": [], **{n: [] for n, _ in named}}
        if validation_data is not None:
            history["val_loss"] = []
            history.update({"val_" + n: [] for n, _ in named})
        history["time"] = []
        self.stop_training = False
        for epoch in range(epochs):
            start = time.perf_counter()
            if self.stateful:
                self.reset_state()
            order = self.rng.permutation(N) if shuffle else np.arange(N)
            sums = {"loss": 0.0}
            parts = {n: [0.0, 0.0] for n, _ in named}
            wsum = 0.0
            bar = tqdm(range(n_batches), desc=f"epoch {epoch + 1}/{epochs}", file=sys.stderr,
                       disable=not verbose, leave=True)
            for b in bar:
                idx = order[b * batch_size:(b + 1) * batch_size]
                if shuffle:
                    xb, yb = X[idx], Y[idx]
                    mb = None if mask is None else mask[idx]
                else:
                    sl = slice(b * batch_size, (b + 1) * batch_size)
                    xb, yb, mb = X[sl], Y[sl], None if mask is None else mask[sl]
                loss, w, batch_parts = self._step(
                    xb, yb, mb, f"epoch {epoch + 1}, batch {b + 1} of {n_batches}", named)
                sums["loss"] += loss * w
                wsum += w
                for n, (total, count) in batch_parts.items():
                    parts[n][0] += total
                    parts[n][1] += count
                if verbose:
                    bar.set_postfix(loss=f"{sums['loss'] / wsum:.4f}", refresh=False)
            bar.close()
            logs = {"loss": sums["loss"] / wsum}
            logs.update(_finish_parts(parts, named))
            if validation_data is not None:
                v = self.evaluate(vX, vY, vmask, metrics=[m for m in metrics])
                logs["val_loss"] = v["loss"]
                logs.update({"val_" + n: v[n] for n, _ in named})
            logs["time"] = time.perf_counter() - start
            for k, v in logs.items():
                history[k].append(v)
            for cb in callbacks:
                if cb(epoch, logs) is True:
                    self.stop_training = True
            if self.stop_training:
                break
        return history


def _add_parts(parts, named, out, targets, mask):
    for n, metric in named:
        total, count = metric.parts(out, targets, mask)
        parts[n][0] += total
        parts[n][1] += count


def _finish_parts(parts, named):
    return {n: metric.reduce(*parts[n]) for n, metric in named}


def _weight(positions, mask):
    """How many positions a mean loss is over: those the mask selects, else all of
    ``positions`` (the output's shape without its last axis)."""
    if mask is not None and len(positions) == 2:
        return float(np.asarray(mask).sum())
    return float(np.prod(positions))


def _check_whole_sequences(network, stateful, bptt_steps):
    """Refuse stateful or truncated training of a network with a Bidirectional layer."""
    if not stateful and bptt_steps is None:
        return
    for layer in network.layers:
        if isinstance(layer, Bidirectional):
            how = (f"truncated BPTT (bptt_steps={bptt_steps}) would run it on chunks of "
                   f"{bptt_steps} steps, its backward half starting at each chunk's end"
                   if bptt_steps is not None else
                   "stateful training would run it on pieces of sequences continued across "
                   "batches, its backward half starting at each piece's end")
            raise ValueError(f"{layer.describe()} reads every sequence from both ends, so it "
                             f"is trained on whole sequences only: {how}, which is not the "
                             f"model that evaluate and predict run. Use stateful=False and "
                             f"bptt_steps=None")


def _batch_of(states):
    s = states[0]
    while isinstance(s, tuple):
        s = s[0]
    return s.shape[0]


__all__ = ["NetworkTraining", "InputValueError"]
