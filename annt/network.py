"""A network: a stack of layers, each feeding the next (ANNT's XNeuralNetwork)."""
import numpy as np

from ._threads import single_blas
from .errors import ShapeError
from .layers.base import Layer, layer_from_config


class Network:
    """A sequence of layers.

    ``forward(X, states=None, mask=None, training=False)`` runs the layers in
    order. Recurrent layers take their initial state from ``states`` (a list
    with one entry per recurrent layer, None for zeros) and the ``mask``;
    afterwards ``final_states`` holds their final states in the same order.
    ``backward(dY)`` runs the layers in reverse and returns dL/dX; the
    gradients of the initial states are then in ``dstates0``.

    Example: the ANNT article's MNIST network
    ``Network([GRU(28, 56), Dense(56, 10), Softmax()])``.
    """

    def __init__(self, layers):
        layers = list(layers)
        if not layers:
            raise ValueError("a Network needs at least one layer")
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"expected annt layers, got {layer!r}")
        self.layers = layers
        self._align_dtypes()
        self._check_sizes()
        self.final_states = None
        self.dstates0 = None

    def _align_dtypes(self):
        """All layers with parameters must share one dtype; layers without any
        (activations, dropout) take it, so that a float64 network is float64
        throughout (a float32 activation in it would round every gradient)."""
        with_params = [layer for layer in self.layers if layer.n_params() > 0]
        dtypes = {layer.dtype for layer in with_params}
        if len(dtypes) > 1:
            found = ", ".join(f"{layer.describe()} {layer.dtype}" for layer in with_params)
            raise TypeError(f"the layers of a Network must share one dtype, found {found}; "
                            f"create them with the same dtype= or call .astype(dtype)")
        if dtypes:
            dtype = dtypes.pop()
            for layer in self.layers:
                if layer.n_params() == 0 and layer.dtype != dtype:
                    layer.astype(dtype)

    def _check_sizes(self):
        size, source = None, None
        sequence = True
        for layer in self.layers:
            if layer.input_size is not None and size is not None and layer.input_size != size:
                raise ShapeError(f"{layer.describe()} expects {layer.input_size} input features, "
                                 f"but {source.describe()} before it gives {size}")
            if layer.is_recurrent and not sequence:
                raise ShapeError(f"{layer.describe()} needs a sequence, but {source.describe()} "
                                 f"before it returns only its last step (return_sequences=False)")
            if layer.output_size is not None:
                size, source = layer.output_size, layer
            if layer.is_recurrent and not layer.return_sequences:
                sequence = False

    # -- properties ---------------------------------------------------------
    @property
    def recurrent_layers(self):
        return [layer for layer in self.layers if layer.is_recurrent]

    @property
    def input_size(self):
        for layer in self.layers:
            if layer.input_size is not None:
                return layer.input_size
        return None

    @property
    def output_size(self):
        for layer in reversed(self.layers):
            if layer.output_size is not None:
                return layer.output_size
        return None

    @property
    def dtype(self):
        return self.layers[0].dtype

    @property
    def needs_sequences(self):
        """True when some layer is recurrent: inputs must then be (batch, time, features)."""
        return any(layer.is_recurrent for layer in self.layers)

    def output_shape(self, input_shape):
        """The shape ``forward`` returns for inputs of ``input_shape``, without computing:
        (N, T, D) -> (N, T, K), or (N, K) after a layer with return_sequences=False."""
        shape = tuple(input_shape)
        for layer in self.layers:
            if layer.is_recurrent and not layer.return_sequences:
                shape = shape[:1] + shape[2:]
            if layer.output_size is not None:
                shape = shape[:-1] + (layer.output_size,)
        return shape

    def parameters(self):
        """List of (name, parameter, gradient), names like ``'0.GRU.W'``."""
        out = []
        for i, layer in enumerate(self.layers):
            out += layer.parameters(f"{i}.{type(layer).__name__}.")
        return out

    def n_params(self):
        return int(sum(p.size for _, p, _ in self.parameters()))

    def astype(self, dtype):
        for layer in self.layers:
            layer.astype(dtype)
        return self

    # -- passes -------------------------------------------------------------
    @single_blas
    def forward(self, X, states=None, mask=None, training=False, upto=None):
        """Run layers[:upto] (all by default); returns the last one's output.

        Shapes are checked by every layer; the values are not (a scan for NaN/inf
        would cost as much as a small layer): NetworkTraining and
        NetworkInference reject non-finite data before they call this."""
        layers = self.layers if upto is None else self.layers[:upto]
        n_rec = sum(layer.is_recurrent for layer in layers)
        if states is None:
            states = [None] * n_rec
        elif len(states) != n_rec:
            raise ShapeError(f"expected {n_rec} initial states (one per recurrent layer), "
                             f"got {len(states)}")
        y = X
        finals, k = [], 0
        for layer in layers:
            if layer.is_recurrent:
                y = layer.forward(y, states[k], mask, training)
                finals.append(layer.final_state)
                k += 1
            else:
                y = layer.forward(y, training)
        self.final_states = finals
        return y

    @single_blas
    def backward(self, dY, dstates=None, upto=None, input_grad=True):
        """Backpropagate dL/d(output of layers[:upto]); returns dL/dX.
        ``dstates``: gradients of the final states (list, None entries allowed).
        ``input_grad=False`` skips dL/dX (training does not need it; returns None)."""
        layers = self.layers if upto is None else self.layers[:upto]
        n_rec = sum(layer.is_recurrent for layer in layers)
        dstates = [None] * n_rec if dstates is None else list(dstates)
        d = dY
        k = n_rec
        d0 = [None] * n_rec
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            need_dx = input_grad or i > 0
            if layer.is_recurrent:
                k -= 1
                d = layer.backward(d, dstates[k], need_dx=need_dx)
                d0[k] = layer.dstate0
            else:
                d = layer.backward(d, need_dx=need_dx)
        self.dstates0 = d0
        return d

    # -- description / persistence -----------------------------------------
    def summary(self):
        """A table of the layers, their output sizes and parameter counts."""
        rows = [("layer", "output size", "parameters")]
        for layer in self.layers:
            rows.append((layer.describe(), "same" if layer.output_size is None
                         else str(layer.output_size), str(layer.n_params())))
        rows.append(("total", "", str(self.n_params())))
        w = [max(len(r[i]) for r in rows) for i in range(3)]
        return "\n".join(f"{a:<{w[0]}}  {b:>{w[1]}}  {c:>{w[2]}}" for a, b, c in rows)

    def get_config(self):
        return {"layers": [layer.get_config() for layer in self.layers]}

    @classmethod
    def from_config(cls, config):
        return cls([layer_from_config(c) for c in config["layers"]])

    def __repr__(self):
        return "Network([" + ", ".join(layer.describe() for layer in self.layers) + "])"
