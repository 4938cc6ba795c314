"""annt: recurrent neural networks in NumPy + Numba, the library of the annt-book.

A Python take on Andrew Kirillov's C++ ANNT library: layers that each
implement only their own forward and backward pass, a network that stacks
them, a training context that runs backpropagation through time and an
inference context that steps through sequences. Sequences are
``(batch, time, features)`` arrays; float32 by default, float64 works
everywhere (the gradient checks use it).

    >>> import annt
    >>> annt.set_seed(0)
    >>> net = annt.Network([annt.GRU(28, 56), annt.Dense(56, 10), annt.Softmax()])
    >>> trainer = annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))
"""
import os as _os
import warnings as _warnings

# Numba's OpenMP threads would otherwise spin between kernel calls and starve
# everything else on a 2-core machine (a notebook's own work, a second test
# worker): 30x slower training on small batches was measured here. Sleeping
# waits cost a few microseconds per call instead. Set it yourself to override.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from numba.core.errors import NumbaWarning as _NumbaWarning

_warnings.simplefilter("ignore", _NumbaWarning)

from . import costs, data, encoding, errors, gradcheck, kernels, layers, metrics, optimizers  # noqa: E402,E501
from .costs import MSE, BinaryCrossEntropy, CrossEntropy  # noqa: E402
from .encoding import argmax, one_hot, pad_sequences, sliding_windows  # noqa: E402
from .errors import (AnntError, DataUnavailableError, InputValueError, ModelFileError,  # noqa: E402
                     ShapeError, TrainingDiverged)
from .gradcheck import assert_below, assert_close, check_cost, check_layer, check_network, \
    max_abs_difference, numerical_gradient, relative_error  # noqa: E402
from .inference import NetworkInference, sample_from_probabilities, softmax  # noqa: E402
from ._threads import blas_single_thread  # noqa: E402
from .io import load, save  # noqa: E402
from .layers import (GRU, LSTM, RNN, Bidirectional, Dense, Dropout, Identity, Jordan,  # noqa: E402
                     ReLU, Sigmoid, Softmax, Tanh)
from .network import Network  # noqa: E402
from .optimizers import SGD, Adagrad, Adam, Momentum, Nesterov, RMSprop, clip_grad_norm  # noqa: E402
from .random import get_rng, set_seed  # noqa: E402
from .training import NetworkTraining  # noqa: E402

__version__ = "0.1.0"
