"""Metrics reported by :meth:`annt.NetworkTraining.fit` and ``evaluate``.

Each takes the network's output y ((N, K) or (N, T, K)), the targets (same
shape, or class indices of shape y.shape[:-1]) and an optional mask of
shape y.shape[:-1] (1 where a position counts), and returns a float.

A data set is evaluated in batches, so each built-in metric also has a
``parts`` form that returns ``(total, count)``: the totals and counts of all
batches are summed and the metric is ``finish(total / count)``. That makes
the number of a data set independent of how it is cut into batches (the
RMSE of a set is not the mean of its batches' RMSEs, and a masked accuracy
counts positions, not sequences).

Truncated BPTT computes a batch's output chunk by chunk; ``metric.chunks(mask,
T)`` gives a collector that takes the chunks one at a time (``add``) and
returns the batch's parts at the end, so that the whole (N, T, K) output is
never kept: per-position metrics add up their parts, ``last_step_accuracy``
keeps each sequence's output at its last real step. Only a user's own
function, which needs the whole output, makes the collector keep it.
"""
import numpy as np


def _labels(y, t):
    t = np.asarray(t)
    return t if t.shape == y.shape[:-1] else t.argmax(axis=-1)


def _predicted_classes_and_labels(y, t):
    """Predicted class and target class at every position. One output (a sigmoid
    unit for a binary problem) is thresholded at 0.5; several take the argmax."""
    y = np.asarray(y)
    t = np.asarray(t)
    if y.shape[-1] == 1:
        pred = (y[..., 0] >= 0.5).astype(np.int64)
        lab = t[..., 0] if t.shape == y.shape else t
        return pred, (np.asarray(lab) >= 0.5).astype(np.int64)
    return y.argmax(axis=-1), _labels(y, t)


def _masked_sum(values, mask):
    if mask is None:
        return float(values.sum()), float(values.size)
    m = np.asarray(mask, np.float64)
    return float((values * m).sum()), float(m.sum())


def accuracy_parts(y, t, mask=None):
    pred, lab = _predicted_classes_and_labels(y, t)
    return _masked_sum((pred == lab).astype(np.float64), mask)


def last_real_steps(mask, N, T):
    """The index of each sequence's last real step (T - 1 without a mask or
    when a sequence has none): (N,)."""
    if mask is None:
        return np.full(N, T - 1)
    m = np.asarray(mask) > 0
    return T - 1 - np.argmax(m[:, ::-1], axis=1)


def last_step_accuracy_parts(y, t, mask=None):
    y = np.asarray(y)
    if y.ndim != 3:
        return accuracy_parts(y, t, None)
    N, T = y.shape[:2]
    last = last_real_steps(mask, N, T)
    idx = np.arange(N)
    t = np.asarray(t)
    t_last = t[idx, last]
    return accuracy_parts(y[idx, last], t_last, None)


def mae_parts(y, t, mask=None):
    err = np.abs(np.asarray(y, np.float64) - np.asarray(t, np.float64)).mean(axis=-1)
    return _masked_sum(err, mask)


def mse_parts(y, t, mask=None):
    err = ((np.asarray(y, np.float64) - np.asarray(t, np.float64)) ** 2).mean(axis=-1)
    return _masked_sum(err, mask)


class Metric:
    """A metric computed from summed parts: value = finish(total / count)."""

    def __init__(self, name, parts, finish=None, doc=""):
        self.__name__ = name
        self.parts = parts
        self.finish = finish or (lambda v: v)
        self.__doc__ = doc

    def __call__(self, y, t, mask=None):
        total, count = self.parts(y, t, mask)
        return self.reduce(total, count)

    def reduce(self, total, count):
        return float(self.finish(total / count)) if count else float("nan")

    def chunks(self, mask, n_steps):
        """A collector of this metric over the chunks of one batch of ``n_steps``
        steps (``mask``: the batch's (N, T) mask or None)."""
        return _PositionParts(self)

    def __repr__(self):
        return f"<metric {self.__name__}>"


class _LastStepMetric(Metric):
    def chunks(self, mask, n_steps):
        return _LastStepParts(mask, n_steps)


class _PositionParts:
    """A per-position metric over chunks: the parts of the chunks add up."""

    def __init__(self, metric):
        self.metric, self.total, self.count = metric, 0.0, 0.0

    def add(self, y, t, mask, start):
        """Take the chunk of steps start, start + 1, ...: y (N, k, K), t, mask (N, k) or None."""
        total, count = self.metric.parts(y, t, mask)
        self.total += total
        self.count += count

    def parts(self):
        return self.total, self.count


class _LastStepParts:
    """last_step_accuracy over chunks: keeps each sequence's output and target at
    its last real step, (N, K) and (N, ...), whatever the number of steps."""

    def __init__(self, mask, n_steps):
        self.mask, self.n_steps = mask, n_steps
        self.last = self.y = self.t = None

    def add(self, y, t, mask, start):
        t = np.asarray(t)
        if self.last is None:
            N = y.shape[0]
            self.last = last_real_steps(self.mask, N, self.n_steps)
            self.y = np.empty((N,) + y.shape[2:], y.dtype)
            self.t = np.empty((N,) + t.shape[2:], t.dtype)
        rows = np.nonzero((self.last >= start) & (self.last < start + y.shape[1]))[0]
        self.y[rows] = y[rows, self.last[rows] - start]
        self.t[rows] = t[rows, self.last[rows] - start]

    def parts(self):
        return accuracy_parts(self.y, self.t, None)


class _WholeOutput:
    """A metric that needs the whole output (a user's function): keeps every chunk."""

    def __init__(self, metric):
        self.metric, self.ys, self.ts, self.masks = metric, [], [], []

    def add(self, y, t, mask, start):
        self.ys.append(y)
        self.ts.append(np.asarray(t))
        self.masks.append(mask)

    def parts(self):
        mask = None if self.masks[0] is None else np.concatenate(self.masks, axis=1)
        return self.metric.parts(np.concatenate(self.ys, axis=1),
                                 np.concatenate(self.ts, axis=1), mask)


accuracy = Metric("accuracy", accuracy_parts, doc=(
    "Share of positions (that count) where the predicted class is the target: argmax "
    "of y, or y >= 0.5 for a single (sigmoid) output."))
last_step_accuracy = _LastStepMetric("last_step_accuracy", last_step_accuracy_parts, doc=(
    "Accuracy of the prediction at each sequence's last real step (the class a "
    "many-to-many network trained with the label at every step assigns to the whole "
    "sequence, as in the ANNT MNIST example)."))
mae = Metric("mae", mae_parts, doc="Mean absolute error over the positions that count.")
rmse = Metric("rmse", mse_parts, np.sqrt,
              doc="Root mean squared error over all the positions that count.")

METRICS = {"accuracy": accuracy, "last_step_accuracy": last_step_accuracy, "mae": mae,
           "rmse": rmse}


class _Plain(Metric):
    """A user function f(y, t, mask) -> float, averaged over sequences
    (weighted by each batch's number of sequences)."""

    def __init__(self, f):
        super().__init__(getattr(f, "__name__", "metric"),
                         lambda y, t, mask=None: (f(y, t, mask) * np.asarray(y).shape[0],
                                                  float(np.asarray(y).shape[0])))

    def chunks(self, mask, n_steps):
        return _WholeOutput(self)


def get_metric(metric):
    """(name, Metric) from a name in METRICS, a Metric, or a function f(y, t, mask)."""
    if isinstance(metric, Metric):
        return metric.__name__, metric
    if callable(metric):
        m = _Plain(metric)
        return m.__name__, m
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)} "
                         f"or a function f(y, t, mask) -> float")
    return metric, METRICS[metric]
