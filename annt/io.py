"""Saving and loading a network: architecture and weights in one ``.npz`` file.

The file is an uncompressed NumPy zip archive (no pickle) holding

* ``__annt__``: a JSON header, stored as bytes:
  ``{"format": "annt-network", "version": 1, "network": {"layers": [...]},
  "parameters": [{"name", "key", "shape", "dtype"}, ...]}``
* ``p0``, ``p1``, ...: one array per parameter, in ``network.parameters()`` order.

Saving writes a temporary file beside the target and renames it over the
target only when complete, so a crash never leaves a half-written model.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from .errors import ModelFileError
from .network import Network

FORMAT = "annt-network"
VERSION = 1


def save(network, path):
    """Write ``network`` (architecture and weights) to ``path`` atomically."""
    path = os.fspath(path)
    params = network.parameters()
    header = {
        "format": FORMAT, "version": VERSION, "network": network.get_config(),
        "parameters": [{"name": n, "key": f"p{i}", "shape": list(p.shape), "dtype": p.dtype.name}
                       for i, (n, p, _) in enumerate(params)],
    }
    arrays = {f"p{i}": p for i, (_, p, _) in enumerate(params)}
    arrays["__annt__"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".annt-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path):
    """Read a network written by :func:`save`. Raises ModelFileError for a
    missing, truncated, corrupt or foreign file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"no model file at {path!r}")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise ModelFileError(f"cannot read {path!r} as an annt model file: {e}") from e
    if head != b"PK\x03\x04":       # every .npz is a zip archive
        raise ModelFileError(f"{path!r} is not a readable annt model file (truncated or "
                             f"corrupt?): expected a NumPy .npz (zip) archive, the file "
                             f"starts with {head!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "__annt__" not in data.files:
                raise ModelFileError(f"{path!r} is a NumPy archive but not an annt model "
                                     f"(no '__annt__' header; it holds {data.files[:5]})")
            header = json.loads(bytes(data["__annt__"]).decode("utf-8"))
            arrays = {k: data[k] for k in data.files if k != "__annt__"}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError,
            UnicodeDecodeError) as e:
        raise ModelFileError(f"{path!r} is not a readable annt model file (truncated or "
                             f"corrupt?): {type(e).__name__}: {e}") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path!r}: expected format {FORMAT!r}, found "
                             f"{header.get('format') if isinstance(header, dict) else header!r}")
    if header.get("version") != VERSION:
        raise ModelFileError(f"{path!r}: annt model format version {header.get('version')}, "
                             f"this annt reads version {VERSION}")
    try:
        network = Network.from_config(header["network"])
    except Exception as e:
        raise ModelFileError(f"{path!r}: cannot rebuild the network from its header: "
                             f"{type(e).__name__}: {e}") from e
    params = network.parameters()
    entries = header.get("parameters", [])
    if len(entries) != len(params):
        raise ModelFileError(f"{path!r}: the architecture has {len(params)} parameters, the "
                             f"file lists {len(entries)}")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ModelFileError(f"{path!r}: corrupt annt model header: 'parameters' should be a "
                             f"list of objects, found {str(entries)[:80]}")
    for entry, (name, p, _) in zip(entries, params):
        key = entry.get("key")
        if key not in arrays:
            raise ModelFileError(f"{path!r}: the weights {name!r} ({key}) are missing")
        a = arrays[key]
        if a.shape != p.shape:
            raise ModelFileError(f"{path!r}: {name!r} should have shape {p.shape}, the file "
                                 f"holds {a.shape}")
        if a.dtype.kind not in "fiu":
            raise ModelFileError(f"{path!r}: {name!r} should hold numbers, the file holds "
                                 f"an array of dtype {a.dtype}")
        if not np.isfinite(a).all():
            raise ModelFileError(f"{path!r}: {name!r} holds NaN or infinite weights")
        p[...] = a
    return network
