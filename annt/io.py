"""Saving and loading a network: architecture and weights in one file.

``save`` writes a safetensors file (annt model format version 2): one tensor
per parameter, named as in ``network.parameters()`` (``"0.GRU.W"``), and the
annt header ``{"format": "annt-network", "version": 2, "network": {"layers":
[...]}}`` as the metadata entry ``"annt"``. safetensors never runs code and
checks each tensor's byte range against its shape before reading it; PyTorch,
NumPy and others read the file (``safetensors.numpy.load_file(path)``).
``load`` also reads the ``.npz`` archives of format version 1 that earlier
annt versions wrote.

Saving is atomic: a crash never leaves a half-written model in place of a good
one (see :mod:`annt.modelfile.atomic`). Loading checks the file against its
header and the header against itself before it allocates anything, and
raises :class:`~annt.errors.ModelFileError` saying what is wrong.
"""
import os

from .errors import ModelFileError
from .modelfile import atomic, npz_v1, safetensors_v2
from .modelfile.opening import open_regular

SUFFIX = ".safetensors"


def save(network, path):
    """Write ``network`` (architecture and weights) to ``path`` atomically; returns ``path``.

    Raises InputValueError when a weight is NaN or infinite, ValueError for a
    ``.npz`` name (the file is not a NumPy archive), ModelFileError when the
    folder is missing or not writable: each before anything is written."""
    path = os.fspath(path)
    if path.lower().endswith(".npz"):
        raise ValueError(f"annt.save writes safetensors files (annt model format 2), not "
                         f"NumPy .npz archives: name the file {path[:-4] + SUFFIX!r} "
                         f"(annt.load still reads the .npz files of earlier annt versions)")
    atomic.replace(path, safetensors_v2.serialise(network))
    return path


def load(path):
    """Read a network written by :func:`save` (or a format-1 ``.npz`` of earlier annt
    versions). Raises ModelFileError for a missing, unreadable, truncated, corrupt,
    foreign or inconsistent file."""
    path = os.fspath(path)
    with open_regular(path) as f:
        head = f.read(9)
        if head[:4] == b"PK\x03\x04":         # a zip archive: an .npz
            f.seek(0)
            return npz_v1.read(f, path)
    if safetensors_v2.looks_like(head):
        return safetensors_v2.read(path)
    raise ModelFileError(f"{path!r} is not a readable annt model file (truncated or corrupt?): "
                         f"expected a safetensors file (annt format 2) or a NumPy .npz (zip) "
                         f"archive (format 1), the file starts with {head!r}")
