"""annt layers: each implements only its own forward and backward pass."""
from .activations import Identity, ReLU, Sigmoid, Softmax, Tanh
from .base import LAYER_TYPES, Layer, layer_from_config
from .bidirectional import Bidirectional
from .dense import Dense
from .dropout import Dropout
from .gru import GRU
from .jordan import Jordan
from .lstm import LSTM
from .recurrent import Recurrent
from .rnn import RNN

__all__ = ["Layer", "Recurrent", "Dense", "Identity", "Tanh", "Sigmoid", "ReLU", "Softmax",
           "Dropout", "RNN", "Jordan", "LSTM", "GRU", "Bidirectional", "layer_from_config",
           "LAYER_TYPES"]
