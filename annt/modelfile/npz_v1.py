"""Format version 1: a NumPy ``.npz`` archive (written by annt before version 2;
still read, never written).

The archive is a zip file of uncompressed ``.npy`` members (``np.savez``):
``__annt__.npy``, the JSON header as a uint8 array, whose ``parameters`` list
gives each parameter's name, shape, dtype and ``key``, and ``<key>.npy``, one
array per parameter (``p0``, ``p1``, ... in ``network.parameters()`` order).

Only the members the header lists are opened, and each only after its
``.npy`` header has been checked against the network and its size in the
zip directory against the file: an archive cannot make annt decompress or
allocate more than the network it describes, which is no larger than the file.
"""
import os
import zipfile

import numpy as np

from ..errors import ModelFileError
from .header import MAX_HEADER_BYTES, check_tensor, fill, parse_header, skeleton

VERSION = 1
HEADER_MEMBER = "__annt__.npy"
# What a damaged or foreign .npz raises while it is read; zipfile raises
# NotImplementedError for a member compressed with a method it does not know.
_CORRUPT = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError,
            KeyError, RuntimeError, NotImplementedError)


def read(file, path):
    """The network in the ``.npz`` archive open as ``file`` (a regular file)."""
    try:
        archive = zipfile.ZipFile(file)
    except _CORRUPT as e:
        raise _corrupt(path, e) from None
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        if HEADER_MEMBER not in members:
            held = [name[:-4] if name.endswith(".npy") else name for name in members]
            raise ModelFileError(f"{path!r} is a NumPy archive but not an annt model (no "
                                 f"'__annt__' header; it holds {held[:5]})")
        size = os.fstat(file.fileno()).st_size
        reader = _Members(archive, members, size, path)
        blob = reader.array(HEADER_MEMBER, "__annt__", None, np.uint8).tobytes()
        header = parse_header(blob, path, VERSION)
        network = skeleton(header, path)
        keys = _keys(header, network, path)
        for name, p, _ in network.parameters():
            reader.check(keys[name] + ".npy", name, p.shape, p.dtype)
        return fill(network, lambda name: reader.array(keys[name] + ".npy", name), path)


def _keys(header, network, path):
    """{parameter name: member key} from the header's ``parameters`` list, after
    checking that it lists the network's parameters, in order, with their shapes
    and dtype."""
    entries = header.get("parameters")
    params = network.parameters()
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ModelFileError(f"{path!r}: corrupt annt model header: 'parameters' should be a "
                             f"list of objects, found {str(entries)[:80]}")
    if len(entries) != len(params):
        raise ModelFileError(f"{path!r}: the architecture has {len(params)} parameters, the "
                             f"file lists {len(entries)}")
    keys = {}
    for i, (entry, (name, p, _)) in enumerate(zip(entries, params)):
        listed = {k: entry.get(k) for k in ("name", "key", "shape", "dtype")}
        expected = {"name": name, "shape": list(p.shape), "dtype": p.dtype.name}
        wrong = [k for k in expected if listed[k] != expected[k]]
        if wrong:
            raise ModelFileError(
                f"{path!r}: parameter {i} of the header does not match the architecture: "
                + ", ".join(f"{k} should be {expected[k]!r}, found {listed[k]!r}" for k in wrong))
        key = listed["key"]
        if not isinstance(key, str) or key == "__annt__" or key in keys.values():
            raise ModelFileError(f"{path!r}: parameter {name!r} has the key {key!r}; expected "
                                 f"a name of its own for its array")
        keys[name] = key
    return keys


class _Members:
    """Reads ``.npy`` members of one archive after checking them."""

    def __init__(self, archive, members, size, path):
        self.archive, self.members, self.size, self.path = archive, members, size, path

    def check(self, member, name, shape, dtype, limit=None):
        """Check the member's ``.npy`` header (shape, dtype) and its size in the zip
        directory against the file, reading no data; returns the header's length."""
        info = self.members.get(member)
        if info is None:
            raise ModelFileError(f"{self.path!r}: the weights {name!r} ({member[:-4]}) "
                                 f"are missing")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelFileError(f"{self.path!r}: the member {member!r} is compressed; annt's "
                                 f".npz files store arrays uncompressed (np.savez) and annt "
                                 f"reads no others")
        try:
            with self.archive.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version not in ((1, 0), (2, 0)):
                    raise ValueError(f".npy format version {version}, annt reads 1.0 and 2.0")
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                found_shape, fortran, found_dtype = read_header(f)
                offset = f.tell()
        except _CORRUPT as e:
            raise _corrupt(self.path, e, member) from None
        if found_dtype.hasobject:
            raise ModelFileError(f"{self.path!r} is not a readable annt model file: the member "
                                 f"{member!r} holds Python objects (pickled data), which annt "
                                 f"never unpickles")
        if found_dtype.kind not in "biuf":
            raise ModelFileError(f"{self.path!r}: {name!r} should hold numbers, the file holds "
                                 f"an array of dtype {found_dtype}")
        if shape is None:           # the header: any length up to the limit
            if len(found_shape) != 1 or found_shape[0] > MAX_HEADER_BYTES:
                raise ModelFileError(f"{self.path!r}: the annt header should be at most "
                                     f"{MAX_HEADER_BYTES:,} bytes, the file holds an array of "
                                     f"shape {found_shape}")
            shape = found_shape
        check_tensor(self.path, name, shape, dtype, found_shape, found_dtype.newbyteorder("="))
        if fortran:
            raise ModelFileError(f"{self.path!r}: the member {member!r} holds its array in "
                                 f"Fortran order; annt's .npz files hold C-ordered arrays")
        nbytes = int(np.prod(shape, dtype=object)) * found_dtype.itemsize
        if (info.file_size != offset + nbytes
                or info.header_offset + info.compress_size > self.size):
            raise ModelFileError(f"{self.path!r}: the member {member!r} should hold "
                                 f"{offset + nbytes:,} bytes in C order, the archive's "
                                 f"directory says {info.file_size:,} (truncated or corrupt?)")

    def array(self, member, name, shape=(), dtype=None):
        """The member's array, after :meth:`check` (``shape`` None: any 1-d length;
        ``()``: checked already). Reading it to its end verifies its CRC."""
        if shape != ():
            self.check(member, name, shape, np.dtype(dtype))
        try:
            with self.archive.open(self.members[member]) as f:
                array = np.lib.format.read_array(f, allow_pickle=False)
                if f.read(1):
                    raise ValueError("data after the array")
        except _CORRUPT as e:
            raise _corrupt(self.path, e, member) from None
        return array


def _corrupt(path, error, member=None):
    where = f" (member {member!r})" if member else ""
    return ModelFileError(f"{path!r} is not a readable annt model file (truncated or "
                          f"corrupt?){where}: {type(error).__name__}: {error}")
