"""Recurrent kernels: fast Numba versions and their plain-NumPy reference.

``annt.kernels.reference`` holds the readable NumPy version of every kernel;
the modules ``rnn``, ``lstm``, ``gru`` and ``jordan`` hold the Numba versions
with the same arguments (``*_forward``/``*_backward`` for whole sequences,
``*_step`` for one step of step-by-step inference), and ``feedforward`` the
one-step kernels of Dense and the activations. Layers call the Numba ones.
"""
import warnings

from numba.core.errors import NumbaDeprecationWarning, NumbaPendingDeprecationWarning, \
    NumbaPerformanceWarning, NumbaWarning

for _w in (NumbaWarning, NumbaPerformanceWarning, NumbaDeprecationWarning,
           NumbaPendingDeprecationWarning):
    warnings.simplefilter("ignore", _w)

from . import reference  # noqa: E402
from ._math import IDENTITY, RELU, SIGMOID, TANH  # noqa: E402
from .feedforward import SOFTMAX, activation_step, all_finite, dense_step  # noqa: E402
from .gru import gru_backward, gru_forward, gru_step  # noqa: E402
from .jordan import jordan_backward, jordan_forward, jordan_step  # noqa: E402
from .lstm import lstm_backward, lstm_forward, lstm_step  # noqa: E402
from .rnn import rnn_backward, rnn_forward, rnn_step  # noqa: E402
from . import feedforward, gru, jordan, lstm, rnn  # noqa: E402
from ._cache import CorruptCacheWarning, recover_from_corrupt_cache  # noqa: E402

for _module in (feedforward, gru, jordan, lstm, rnn):
    recover_from_corrupt_cache(vars(_module))
del _module

ACTIVATION_CODES = {"identity": IDENTITY, "linear": IDENTITY, "tanh": TANH,
                    "sigmoid": SIGMOID, "relu": RELU}

__all__ = ["reference", "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward",
           "gru_forward", "gru_backward", "jordan_forward", "jordan_backward",
           "rnn_step", "lstm_step", "gru_step", "jordan_step", "dense_step",
           "activation_step", "all_finite",
           "ACTIVATION_CODES", "IDENTITY", "TANH", "SIGMOID", "RELU", "SOFTMAX"]
