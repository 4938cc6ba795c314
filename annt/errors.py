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
    """A model file is missing, truncated, corrupt or not an annt model."""


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


def check_not_empty(array, what):
    """Raise InputValueError if ``array`` has a zero-length axis."""
    a = np.asarray(array)
    if a.size == 0:
        raise InputValueError(
            f"{what} is empty (shape {a.shape}); expected at least one sample "
            f"and at least one time step")
    return a
