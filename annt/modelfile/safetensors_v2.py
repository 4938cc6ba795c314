"""Format version 2: a safetensors file (what ``annt.save`` writes).

safetensors (https://github.com/huggingface/safetensors) is a container made
for weights from untrusted sources: an 8-byte length, a JSON header giving
each tensor's name, dtype, shape and byte range, then the raw little-endian
bytes. Its reader checks that the byte ranges match the shapes and cover the
file exactly before a tensor is read, and it never runs code. PyTorch,
NumPy, JAX and others read it (``safetensors.numpy.load_file(path)``).

annt stores one tensor per parameter, named as in ``network.parameters()``
(``"0.GRU.W"``), and its own header (see :mod:`annt.modelfile.header`) as the
metadata entry ``"annt"``.
"""
import numpy as np
import safetensors
import safetensors.numpy

from ..errors import InputValueError, ModelFileError
from .header import check_names, check_tensor, fill, make_header, parse_header, skeleton

VERSION = 2
METADATA_KEY = "annt"
DTYPES = {"F32": np.dtype(np.float32), "F64": np.dtype(np.float64)}


def serialise(network):
    """The bytes of the file for ``network``. Raises InputValueError, before
    anything is written, when a parameter holds NaN or infinity: such a file
    could not be loaded again."""
    params = network.parameters()
    for name, p, _ in params:
        if not np.isfinite(p).all():
            raise InputValueError(
                f"cannot save the network: its parameter {name!r} holds "
                f"{int(np.isnan(p).sum())} NaN and {int(np.isinf(p).sum())} infinite "
                f"value(s), and a model file must hold finite weights (annt.load would "
                f"refuse it); nothing was written")
    tensors = {name: p for name, p, _ in params}
    return safetensors.numpy.save(tensors, metadata={METADATA_KEY: make_header(network, VERSION)})


def looks_like(head):
    """True when the first bytes ``head`` (at least 9) may start a safetensors file:
    a little-endian header length, then the JSON header's ``{``."""
    return len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") > 1


def read(path):
    """The network in the safetensors file ``path`` (a regular file)."""
    try:
        with safetensors.safe_open(path, framework="numpy", backend="pread") as f:
            metadata = f.metadata() or {}
            names = f.keys()
            if METADATA_KEY not in metadata:
                raise ModelFileError(f"{path!r} is a safetensors file but not an annt model "
                                     f"(no {METADATA_KEY!r} entry in its metadata; it holds "
                                     f"the tensors {names[:5]})")
            network = skeleton(parse_header(metadata[METADATA_KEY], path, VERSION), path)
            expected = {name: p for name, p, _ in network.parameters()}
            check_names(path, expected, names)
            for name, p in expected.items():
                view = f.get_slice(name)
                dtype = view.get_dtype()
                check_tensor(path, name, p.shape, p.dtype, view.get_shape(),
                             DTYPES.get(dtype, dtype))
            return fill(network, f.get_tensor, path)
    except safetensors.SafetensorError as e:
        raise ModelFileError(f"{path!r} is not a readable annt model file (truncated or "
                             f"corrupt?): the safetensors reader says: {e}") from None
