"""Recurrent kernels: fast Numba versions and their plain-NumPy reference.

``annt.kernels.reference`` holds the readable NumPy version of every kernel;
the modules ``rnn``, ``lstm``, ``gru`` and ``jordan`` hold the Numba versions
with the same arguments (``*_forward``/``*_backward`` for whole sequences,
``*_step`` for one step of step-by-step inference), and ``feedforward`` the
one-step kernels of Dense and the activations. Layers call the Numba ones.
"""
from . import reference
from ._math import IDENTITY, RELU, SIGMOID, TANH
from .feedforward import SOFTMAX, activation_step, all_finite, dense_step
from .gru import gru_backward, gru_forward, gru_forward_infer, gru_step
from .jordan import jordan_backward, jordan_forward, jordan_step
from .lstm import lstm_backward, lstm_forward, lstm_forward_infer, lstm_step
from .matmul import column_sums, matmul, matmul_tn, matmul_tn_many
from .rnn import rnn_backward, rnn_forward, rnn_step
from . import _parallel, feedforward, gru, jordan, lstm, matmul as _matmul_module, rnn
from ._cache import CorruptCacheWarning, recover_from_corrupt_cache

for _module in (_parallel, feedforward, gru, jordan, lstm, _matmul_module, rnn):
    recover_from_corrupt_cache(vars(_module))
del _module

ACTIVATION_CODES = {"identity": IDENTITY, "linear": IDENTITY, "tanh": TANH,
                    "sigmoid": SIGMOID, "relu": RELU}

__all__ = ["reference", "rnn_forward", "rnn_backward", "lstm_forward", "lstm_forward_infer", "lstm_backward",
           "gru_forward", "gru_forward_infer", "gru_backward", "jordan_forward", "jordan_backward",
           "rnn_step", "lstm_step", "gru_step", "jordan_step", "dense_step",
           "activation_step", "all_finite", "column_sums", "matmul", "matmul_tn", "matmul_tn_many",
           "ACTIVATION_CODES", "IDENTITY", "TANH", "SIGMOID", "RELU", "SOFTMAX"]
