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
from . import costs, data, encoding, errors, gradcheck, kernels, layers, metrics, optimizers  # noqa: E501
from .costs import MSE, BinaryCrossEntropy, CrossEntropy
from .encoding import argmax, one_hot, pad_sequences, sliding_windows
from .errors import (AnntError, DataUnavailableError, InputValueError, ModelFileError,
                     ShapeError, TrainingDiverged)
from .gradcheck import assert_below, assert_close, check_cost, check_layer, check_network, \
    max_abs_difference, numerical_gradient, relative_error
from .inference import NetworkInference, sample_from_probabilities, softmax
from ._threads import blas_single_thread
from .kernels._parallel import get_num_threads, set_num_threads
from .io import load, save
from .layers import (GRU, LSTM, RNN, Bidirectional, Dense, Dropout, Identity, Jordan,
                     ReLU, Sigmoid, Softmax, Tanh)
from .network import Network
from .optimizers import SGD, Adagrad, Adam, Momentum, Nesterov, RMSprop, clip_grad_norm
from .random import get_rng, set_seed
from .training import NetworkTraining

__version__ = "0.1.0"
