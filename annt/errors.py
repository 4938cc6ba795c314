"""The errors annt raises, and the small checks that raise them.

Every message says what was expected and what was found, so that a reader who
feeds a layer the wrong thing learns what to feed it instead.
"""
import numpy as np


class AnntError(Exception):
    """Base class of every error annt raises on purpose."""


class ShapeError(AnntError, ValueError):
    """An array has the wrong shape (names the layer, the expected and the actual shape)."""


class InputValueError(AnntError, ValueError):
    """An array holds NaN or infinity, or is empty where data is needed."""


class TrainingDiverged(AnntError, FloatingPointError):
    """The loss became NaN or infinite during training."""


class ModelFileError(AnntError, OSError):
    """A model file is missing, truncated, corrupt or not an annt model, or cannot be
    written where it was asked to go."""


class DataUnavailableError(AnntError, OSError):
    """A data set is neither cached, in $ANNT_DATA_DIR, nor downloadable."""


def check_finite(array, what):
    """Raise InputValueError if ``array`` holds NaN or infinity."""
    a = np.asarray(array)
    if a.dtype.kind in "fc" and not np.isfinite(a).all():
        n_nan = int(np.isnan(a).sum())
        n_inf = int(np.isinf(a).sum())
        raise InputValueError(
            f"{what} must be finite, but it holds {n_nan} NaN and {n_inf} infinite "
            f"value(s) (shape {a.shape}); clean or impute the data first")
    return a


def real_array(x, dtype, what):
    """``x`` as an array of ``dtype`` (None: its own); raises InputValueError for complex
    numbers (whose imaginary part a cast would drop), text and other non-numbers."""
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        hint = ("; annt computes with real numbers: pass the real part (x.real) or split "
                "real and imaginary parts into features" if a.dtype.kind == "c" else "")
        raise InputValueError(f"{what} must hold real numbers, found an array of dtype "
                              f"{a.dtype} (shape {a.shape}){hint}")
    return a if dtype is None else a.astype(dtype, copy=False)


def check_mask(mask, what="mask"):
    """Raise InputValueError unless ``mask`` holds only 0 (padding) and 1 (a real step)."""
    m = np.asarray(mask)
    if m.dtype.kind not in "biuf":
        raise InputValueError(f"{what} must hold 0 (padding) and 1 (a real step), found an "
                              f"array of dtype {m.dtype}")
    bad = ~((m == 0) | (m == 1))
    if bad.any():
        examples = ", ".join(str(v) for v in np.unique(m[bad])[:3])
        raise InputValueError(f"{what} must hold only 0 (padding) and 1 (a real step), but "
                              f"{int(bad.sum())} of its {m.size} values are not 0 or 1 "
                              f"(e.g. {examples})")
    return m


def positive_int(value, what):
    """``value`` as an int; raises TypeError for a non-integer (2.9, True, "3") and
    ValueError for an integer below 1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be a positive integer, got {value!r} "
                        f"({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value}")
    return int(value)


def check_not_empty(array, what):
    """Raise InputValueError if ``array`` has a zero-length axis."""
    a = np.asarray(array)
    if a.size == 0:
        raise InputValueError(
            f"{what} is empty (shape {a.shape}); expected at least one sample "
            f"and at least one time step")
    return a
