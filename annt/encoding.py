"""Turning labels, series and ragged sequences into the arrays a network eats.

Every array of sequences in annt has the layout ``(batch, time, features)``.

* :func:`one_hot` / :func:`argmax` - class indices to one-hot vectors and back
  (the ANNT article one-hot encodes its digits, MNIST labels and the
  characters of city names this way).
* :func:`sliding_windows` - a time series cut into the overlapping training
  sequences of the ANNT article's time-series example.
* :func:`pad_sequences` - ragged sequences (city names of different lengths)
  padded to one length, with a mask of which steps are real.
"""
import operator

import numpy as np

from annt.errors import InputValueError, ShapeError, check_finite

__all__ = ["one_hot", "argmax", "sliding_windows", "pad_sequences"]


def _as_count(value, what, minimum):
    """``value`` as a Python int >= ``minimum``, or a clear error."""
    if isinstance(value, (bool, np.bool_)):
        raise InputValueError(f"{what} must be an integer >= {minimum}, got the boolean {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise InputValueError(
            f"{what} must be an integer >= {minimum}, got {value!r} "
            f"of type {type(value).__name__}") from None
    if n < minimum:
        raise InputValueError(f"{what} must be an integer >= {minimum}, got {n}")
    return n


def one_hot(indices, n_classes, dtype=np.float32):
    """One-hot encode integer class indices.

    Parameters
    ----------
    indices : array_like of int, any shape
        Class indices in ``0 .. n_classes - 1``; a scalar, a vector of labels,
        a ``(batch, time)`` array of token ids, ...
    n_classes : int
        Length of the one-hot vectors.
    dtype : numpy dtype, default float32

    Returns
    -------
    ndarray of shape ``indices.shape + (n_classes,)`` with a single 1 on the
    last axis of every entry.

    Raises
    ------
    InputValueError
        If ``indices`` is not of an integer dtype (floats, even whole ones, are
        refused: convert with ``.astype(int)`` first), or holds a negative value
        or a value ``>= n_classes``.

    Examples
    --------
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    >>> one_hot([[1, 0, 1]], 10).shape       # (batch, time) -> (batch, time, 10)
    (1, 3, 10)
    """
    n = _as_count(n_classes, "one_hot: n_classes", 1)
    a = np.asarray(indices)
    if a.dtype.kind not in "iu":
        hint = (" (convert whole-number floats with .astype(int))" if a.dtype.kind == "f"
                else "")
        raise InputValueError(
            f"one_hot expects integer class indices, got an array of dtype {a.dtype} "
            f"(shape {a.shape}){hint}")
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi >= n:
            bad = (a < 0) | (a >= n)
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputValueError(
                f"one_hot: class indices must lie in 0..{n - 1} for n_classes={n}, but "
                f"{int(bad.sum())} value(s) do not (e.g. {int(a[where])} at index {where}; "
                f"min {lo}, max {hi})")
    out = np.zeros(a.shape + (n,), dtype=dtype)
    flat = out.reshape(-1, n)
    flat[np.arange(a.size), a.reshape(-1)] = 1
    return out


def argmax(y):
    """Index of the largest value over the last axis: one-hot or scores back to class ids.

    ``argmax(one_hot(i, n)) == i`` for every valid ``i``. For network outputs
    of shape ``(batch, time, n_classes)`` it gives the predicted class of every
    step, shape ``(batch, time)``.

    Raises
    ------
    ShapeError
        If ``y`` is a scalar or its last axis is empty.
    InputValueError
        If ``y`` holds NaN or infinity.
    """
    a = np.asarray(y)
    if a.ndim == 0 or a.shape[-1] == 0:
        raise ShapeError(
            f"argmax needs an array whose last axis holds at least one class score, "
            f"got shape {a.shape}")
    check_finite(a, "argmax input")
    return np.argmax(a, axis=-1)


def sliding_windows(series, window, step=1, *, holdout=0, dtype=np.float32):
    """Cut a time series into overlapping input/target training sequences.

    This is the rule of the ANNT time-series example (``rnn_time_series``):
    the last ``holdout`` values are kept out of training (they are what the
    trained network must predict), and from the remaining ``T`` values every
    ``window`` consecutive values form an input sequence whose target sequence
    is the same window shifted one step ahead. At every step the network sees
    ``v[t]`` and must output ``v[t + 1]``. With ``step=1`` there are
    ``T - window`` sequences, starting at ``0, 1, ..., T - window - 1``.

    The article's own example: 10 values, the last 2 held out for
    prediction, sequences of 4 steps give 4 training sequences
    (``0 -> 1 -> 4 -> 9 -> 16``, ``1 -> 4 -> 9 -> 16 -> 25``,
    ``4 -> 9 -> 16 -> 25 -> 16``, ``9 -> 16 -> 25 -> 16 -> 9``), each made of
    4 (input, target) pairs, e.g. ``(0, 1), (1, 4), (4, 9), (9, 16)``:

    >>> v = [0, 1, 4, 9, 16, 25, 16, 9, 4, 1]
    >>> x, t = sliding_windows(v, 4, holdout=2)   # same as sliding_windows(v[:-2], 4)
    >>> x.shape, t.shape
    ((4, 4, 1), (4, 4, 1))
    >>> x[..., 0].astype(int).tolist()
    [[0, 1, 4, 9], [1, 4, 9, 16], [4, 9, 16, 25], [9, 16, 25, 16]]
    >>> t[..., 0].astype(int).tolist()
    [[1, 4, 9, 16], [4, 9, 16, 25], [9, 16, 25, 16], [16, 25, 16, 9]]

    ANNT feeds the raw values (its example series are already small numbers);
    it does not rescale them.

    Parameters
    ----------
    series : array_like, shape (T,) or (T, F)
        A univariate series, or ``F`` features per time step.
    window : int >= 1
        Number of time steps per training sequence (ANNT's "sequence size").
    step : int >= 1, default 1
        Distance between the starts of consecutive sequences (ANNT uses 1).
    holdout : int >= 0, keyword-only, default 0
        Number of values at the end of the series to leave out (ANNT's
        "prediction size").
    dtype : numpy dtype, default float32

    Returns
    -------
    inputs, targets : ndarray, each of shape (n_sequences, window, F)
        ``F = 1`` for a 1-D series. ``targets[:, :-1] == inputs[:, 1:]``.

    Raises
    ------
    ShapeError
        If ``series`` is not 1-D or 2-D.
    InputValueError
        If it is not numeric, holds NaN/inf, or is too short: a window of
        ``window`` steps needs at least ``window + 1`` values after the holdout.
    """
    w = _as_count(window, "sliding_windows: window", 1)
    s = _as_count(step, "sliding_windows: step", 1)
    h = _as_count(holdout, "sliding_windows: holdout", 0)
    a = np.asarray(series)
    if a.ndim not in (1, 2):
        raise ShapeError(
            f"sliding_windows expects a series of shape (T,) or (T, F), got shape {a.shape}")
    if a.dtype.kind not in "biuf":
        raise InputValueError(
            f"sliding_windows expects numeric values, got an array of dtype {a.dtype}")
    check_finite(a, "sliding_windows: series")
    if a.ndim == 1:
        a = a[:, None]
    n_total = a.shape[0]
    n_train = n_total - h
    if n_train < w + 1:
        raise InputValueError(
            f"sliding_windows: a window of {w} steps needs at least {w + 1} values (inputs "
            f"plus the next value as target), but the series has {n_total} values"
            + (f", {n_train} after holding out the last {h}" if h else ""))
    starts = np.arange(0, n_train - w, s)
    idx = starts[:, None] + np.arange(w)[None, :]
    inputs = a[idx].astype(dtype, copy=False)
    targets = a[idx + 1].astype(dtype, copy=False)
    return inputs, targets


def pad_sequences(seqs, value, length=None, dtype=None):
    """Pad variable-length sequences to one length.

    Parameters
    ----------
    seqs : sequence of array_like
        ``N`` sequences of shape ``(L_i,)`` (token ids, values) or
        ``(L_i, F)`` (feature vectors, same ``F`` for all). Lengths may be 0.
        Strings are refused: map characters to ids first.
    value : scalar
        The padding value, e.g. the id of the string terminator the ANNT
        city-names example pads its words with.
    length : int, optional
        Length to pad to; default the longest sequence. Sequences are never
        truncated: a sequence longer than ``length`` is an error.
    dtype : numpy dtype, optional
        Default: the common dtype of the sequences (int64 for Python ints,
        float64 for Python floats).

    Returns
    -------
    padded : ndarray, shape (N, length) or (N, length, F)
    mask : float32 ndarray, shape (N, length)
        1.0 where ``padded`` holds a real element, 0.0 at padding.

    Examples
    --------
    Words as character ids, each followed by a terminator id 0 that the
    network must learn to predict, then padded with the terminator:

    >>> words = [[2, 15, 0], [13, 9, 1, 13, 9, 0]]   # "BO", "MIAMI" with A=1 .. Z=26, then 0
    >>> x, m = pad_sequences(words, value=0)
    >>> x.tolist()
    [[2, 15, 0, 0, 0, 0], [13, 9, 1, 13, 9, 0]]
    >>> m.tolist()
    [[1.0, 1.0, 1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]
    """
    if isinstance(seqs, (str, bytes)):
        raise InputValueError(
            "pad_sequences expects a list of sequences, got a single string; map the "
            "characters to integer ids first")
    try:
        items = list(seqs)
    except TypeError:
        raise InputValueError(
            f"pad_sequences expects a list of sequences, got {type(seqs).__name__}") from None
    if not items:
        raise InputValueError("pad_sequences got no sequences (an empty list); expected at least one")
    arrays = []
    for i, s in enumerate(items):
        if isinstance(s, (str, bytes)):
            raise InputValueError(
                f"pad_sequences: sequence {i} is a string ({s[:20]!r}); map the characters "
                f"to integer ids first")
        a = np.asarray(s)
        if a.ndim == 0:
            raise ShapeError(
                f"pad_sequences: sequence {i} is a scalar ({a!r}); every sequence must be "
                f"1-D (L,) or 2-D (L, F)")
        if a.ndim > 2:
            raise ShapeError(
                f"pad_sequences: sequence {i} has shape {a.shape}; every sequence must be "
                f"1-D (L,) or 2-D (L, F)")
        if a.size == 0 and a.dtype.kind not in "biuf":
            a = a.astype(np.int64)  # an empty list has dtype float64, [] of () objects etc.
        if a.dtype.kind not in "biuf":
            raise InputValueError(
                f"pad_sequences: sequence {i} has dtype {a.dtype}; expected numbers")
        arrays.append(a)
    nonempty = [a for a in arrays if a.shape[0] > 0]
    ndims = {a.ndim for a in nonempty} or {1}
    if len(ndims) > 1:
        raise ShapeError(
            "pad_sequences: mix of 1-D and 2-D sequences; all must be (L,) or all (L, F)")
    feat = {a.shape[1:] for a in nonempty} or {()}
    if len(feat) > 1:
        raise ShapeError(
            f"pad_sequences: sequences have different feature shapes {sorted(feat)}; "
            f"all must share the same F")
    trailing = feat.pop()
    lengths = [a.shape[0] for a in arrays]
    longest = max(lengths)
    if length is None:
        t = longest
    else:
        t = _as_count(length, "pad_sequences: length", 0)
        if longest > t:
            i = lengths.index(longest)
            raise ShapeError(
                f"pad_sequences: sequence {i} has {longest} steps, longer than length={t}; "
                f"pass a larger length (sequences are not truncated)")
    if dtype is None:
        dtype = np.result_type(*[a.dtype for a in nonempty]) if nonempty else np.asarray(value).dtype
    dtype = np.dtype(dtype)
    try:
        padded = np.full((len(arrays), t) + trailing, value, dtype=dtype)
    except (OverflowError, ValueError, TypeError) as e:
        raise InputValueError(
            f"pad_sequences: padding value {value!r} does not fit the dtype {dtype} of the "
            f"sequences ({e}); pass dtype=") from None
    mask = np.zeros((len(arrays), t), dtype=np.float32)
    for i, a in enumerate(arrays):
        n = a.shape[0]
        if n:
            padded[i, :n] = a
            mask[i, :n] = 1.0
    return padded, mask
