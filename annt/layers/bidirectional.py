"""Bidirectional wrapper (Schuster and Paliwal 1997)."""
import numpy as np

from ..errors import ShapeError
from .base import Layer, layer_from_config, register
from .recurrent import Recurrent

MERGES = ("concat", "sum", "mean")


@register
class Bidirectional(Layer):
    """Run a recurrent layer forward in time and a copy of it (own weights)
    backward in time, and merge their outputs at each step:

        y_t = [h_t^fwd, h_t^bwd] (concat, 2H),  h_t^fwd + h_t^bwd (sum),  or their mean.

    With return_sequences=False the forward half gives its last output and the
    backward half gives its output after reading the whole sequence backwards
    (at t = 0). With a mask (padding at the end), the backward half passes the
    padding first with its state untouched, so it starts on the last real step.
    The state is the pair (forward state, backward state).
    """

    is_recurrent = True

    def __init__(self, layer, merge="concat", rng=None):
        if not isinstance(layer, Recurrent):
            raise TypeError(f"Bidirectional wraps a recurrent layer, got {layer!r}")
        if merge not in MERGES:
            raise ValueError(f"merge must be one of {MERGES}, got {merge!r}")
        super().__init__(layer.dtype)
        config = layer.get_config()
        config.pop("type")
        self.forward_layer = layer
        self.backward_layer = type(layer)(**config, rng=rng)
        self.merge = merge
        self.input_size = layer.input_size
        self.return_sequences = layer.return_sequences
        self.output_size = layer.output_size * (2 if merge == "concat" else 1)
        self.final_state = None
        self.dstate0 = None

    def describe(self):
        return f"Bidirectional({self.forward_layer.describe()}, merge={self.merge!r})"

    def parameters(self, prefix=""):
        return (self.forward_layer.parameters(prefix + "forward.")
                + self.backward_layer.parameters(prefix + "backward."))

    def astype(self, dtype):
        self.forward_layer.astype(dtype)
        self.backward_layer.astype(dtype)
        self.dtype = self.forward_layer.dtype
        return self

    def allocate(self):
        self.forward_layer.allocate()
        self.backward_layer.allocate()
        self.allocated = True
        return self

    def zero_state(self, batch_size):
        return (self.forward_layer.zero_state(batch_size),
                self.backward_layer.zero_state(batch_size))

    def forward(self, x, state=None, mask=None, training=False):
        x = np.asarray(x, dtype=self.dtype)
        if state is None:
            state = (None, None)
        elif not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise ShapeError(f"{self.describe()}: expected the state as a pair "
                             f"(forward state, backward state)")
        y_f = self.forward_layer.forward(x, state[0], mask, training)
        if x.ndim != 3:   # the forward half has raised already for other shapes
            raise ShapeError(f"{self.describe()}: expected a sequence, got {x.shape}")
        mask_b = None if mask is None else np.asarray(mask)[:, ::-1]
        y_b = self.backward_layer.forward(x[:, ::-1], state[1], mask_b, training)
        if self.return_sequences:
            y_b = y_b[:, ::-1]
        self.final_state = (self.forward_layer.final_state, self.backward_layer.final_state)
        if self.merge == "concat":
            return np.concatenate([y_f, y_b], axis=-1)
        y = y_f + y_b
        return y if self.merge == "sum" else y * self.dtype.type(0.5)

    def backward(self, dy, dstate=None, need_dx=True):
        dy = np.asarray(dy, dtype=self.dtype)
        H = self.forward_layer.output_size
        if dy.shape[-1] != self.output_size:
            raise ShapeError(f"{self.describe()}: expected an output gradient with "
                             f"{self.output_size} features, got {dy.shape}")
        if self.merge == "concat":
            dy_f, dy_b = dy[..., :H], dy[..., H:]
        elif self.merge == "sum":
            dy_f = dy_b = dy
        else:
            dy_f = dy_b = dy * self.dtype.type(0.5)
        if self.return_sequences:
            dy_b = dy_b[:, ::-1]
        ds_f, ds_b = (None, None) if dstate is None else dstate
        dx_f = self.forward_layer.backward(dy_f, ds_f, need_dx=need_dx)
        dx_b = self.backward_layer.backward(dy_b, ds_b, need_dx=need_dx)
        self.dstate0 = (self.forward_layer.dstate0, self.backward_layer.dstate0)
        return dx_f + dx_b[:, ::-1] if need_dx else None

    def get_config(self):
        return {"type": "Bidirectional", "layer": self.forward_layer.get_config(),
                "merge": self.merge}

    @classmethod
    def from_config(cls, config):
        return cls(layer_from_config(config["layer"]), merge=config["merge"])
