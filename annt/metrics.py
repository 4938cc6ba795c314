"""Metrics reported by :meth:`annt.NetworkTraining.fit` and ``evaluate``.

Each takes the network's output y ((N, K) or (N, T, K)), the targets (same
shape, or class indices of shape y.shape[:-1]) and an optional mask, and
returns a float.
"""
import numpy as np


def _labels(y, t):
    t = np.asarray(t)
    return t if t.shape == y.shape[:-1] else t.argmax(axis=-1)


def accuracy(y, t, mask=None):
    """Share of positions (that count) where argmax(y) is the target class."""
    y = np.asarray(y)
    hit = (y.argmax(axis=-1) == _labels(y, t)).astype(np.float64)
    if mask is None:
        return float(hit.mean())
    m = np.asarray(mask, np.float64)
    return float((hit * m).sum() / m.sum())


def last_step_accuracy(y, t, mask=None):
    """Accuracy of the prediction at each sequence's last real step (the class a
    many-to-many network trained with the label at every step assigns to the
    whole sequence, as in the ANNT MNIST example)."""
    y = np.asarray(y)
    if y.ndim != 3:
        return accuracy(y, t, mask)
    labels = _labels(y, t)
    N, T = y.shape[:2]
    if mask is None:
        last = np.full(N, T - 1)
    else:
        m = np.asarray(mask) > 0
        last = T - 1 - np.argmax(m[:, ::-1], axis=1)
    idx = np.arange(N)
    return float((y[idx, last].argmax(axis=-1) == labels[idx, last]).mean())


def mae(y, t, mask=None):
    """Mean absolute error over the positions that count."""
    err = np.abs(np.asarray(y, np.float64) - np.asarray(t, np.float64)).mean(axis=-1)
    if mask is None:
        return float(err.mean())
    m = np.asarray(mask, np.float64)
    return float((err * m).sum() / m.sum())


def rmse(y, t, mask=None):
    """Root mean squared error over the positions that count."""
    err = ((np.asarray(y, np.float64) - np.asarray(t, np.float64)) ** 2).mean(axis=-1)
    if mask is None:
        return float(np.sqrt(err.mean()))
    m = np.asarray(mask, np.float64)
    return float(np.sqrt((err * m).sum() / m.sum()))


METRICS = {"accuracy": accuracy, "last_step_accuracy": last_step_accuracy, "mae": mae,
           "rmse": rmse}


def get_metric(metric):
    """(name, function) from a name in METRICS or a callable."""
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)} "
                         f"or a function f(y, t, mask) -> float")
    return metric, METRICS[metric]
