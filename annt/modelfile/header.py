"""The annt header: what a model file says about the network it holds.

The header is JSON text::

    {"format": "annt-network", "version": 2, "network": {"layers": [...]}}

with each layer's ``get_config()`` in ``layers``. A reader first checks the
header, then builds the network from it *unallocated* (see
:func:`annt.layers.base.unallocated`): every parameter's name, shape and dtype
is then known, and no memory has been allocated and no random number drawn.
Only when the file's own directory (the safetensors header, the ``.npz``
members) agrees with them is :func:`fill` allowed to allocate and read.
"""
import json

import numpy as np

from ..errors import ModelFileError
from ..layers.base import unallocated
from ..network import Network

FORMAT = "annt-network"
#: The longest header annt reads: far more than any real network needs (a
#: 100-layer network's header is about 15 KB), far less than would hurt.
MAX_HEADER_BYTES = 1 << 20
#: The containers of the format versions this annt reads.
CONTAINERS = {1: "a NumPy .npz archive", 2: "a safetensors file"}


def make_header(network, version):
    """The header of ``network`` as JSON text."""
    return json.dumps({"format": FORMAT, "version": version, "network": network.get_config()})


def parse_header(text, path, version):
    """Check the header ``text`` (str or bytes) of a file of format ``version`` and
    return it as a dict; ModelFileError says what is wrong."""
    if len(text) > MAX_HEADER_BYTES:
        raise ModelFileError(f"{path!r}: the annt header is {len(text):,} bytes long; annt "
                             f"reads headers of at most {MAX_HEADER_BYTES:,} bytes")
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        header = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelFileError(f"{path!r}: the annt header is not JSON text (corrupt file?): "
                             f"{type(e).__name__}: {e}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else header
        raise ModelFileError(f"{path!r}: expected format {FORMAT!r}, found {str(found)[:80]!r}")
    found = header.get("version")
    if type(found) is not int:      # not "1", 1.0 or true
        raise ModelFileError(f"{path!r}: the format version should be an integer, the header "
                             f"says {found!r} ({type(found).__name__})")
    if found != version:
        known = " and ".join(f"version {v} ({c})" for v, c in CONTAINERS.items())
        raise ModelFileError(f"{path!r}: annt model format version {found} in "
                             f"{CONTAINERS[version]}; this annt reads {known}")
    return header


def skeleton(header, path):
    """The network the header describes, built unallocated (placeholders, no memory)."""
    config = header.get("network")
    if not (isinstance(config, dict) and isinstance(config.get("layers"), list)
            and all(isinstance(c, dict) for c in config["layers"])):
        raise ModelFileError(f"{path!r}: corrupt annt header: 'network' should be "
                             f"{{'layers': [layer configs]}}, found {str(config)[:80]}")
    try:
        with unallocated():
            return Network.from_config(config)
    except Exception as e:
        raise ModelFileError(f"{path!r}: cannot rebuild the network from its header: "
                             f"{type(e).__name__}: {e}") from e


def check_tensor(path, name, shape, dtype, found_shape, found_dtype):
    """Raise ModelFileError unless the file's tensor ``name`` has ``shape`` and ``dtype``."""
    if tuple(found_shape) != tuple(shape):
        raise ModelFileError(f"{path!r}: {name!r} should have shape {tuple(shape)}, the "
                             f"file holds {tuple(found_shape)}")
    if found_dtype != dtype:
        raise ModelFileError(f"{path!r}: {name!r} should hold {dtype} numbers, the file "
                             f"holds {found_dtype}")


def check_names(path, expected, found):
    """Raise ModelFileError unless the file's tensor names ``found`` are the
    parameter names ``expected``."""
    missing = [n for n in expected if n not in found]
    if missing:
        raise ModelFileError(f"{path!r}: the weights {missing[0]!r} are missing"
                             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    extra = [n for n in found if n not in expected]
    if extra:
        raise ModelFileError(f"{path!r}: the file holds tensors that are not parameters of "
                             f"its network: {extra[:5]}")


def fill(network, read_tensor, path):
    """Allocate the parameters of the unallocated ``network`` and copy each from
    ``read_tensor(name)`` (checked beforehand); refuse NaN and infinity, looked for
    in the parameter after the copy, so that an overflowing cast could not hide
    one. Returns the network."""
    for layer in network.layers:
        layer.allocate()
    for name, p, _ in network.parameters():
        with np.errstate(over="ignore", invalid="ignore"):
            p[...] = read_tensor(name)
        if not np.isfinite(p).all():
            raise ModelFileError(f"{path!r}: {name!r} holds NaN or infinite weights")
    return network
