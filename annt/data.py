"""The data sets of the book: the ANNT article's digit sequences, MNIST, tiny Shakespeare.

Where files are looked for, in this order (the first hit is used):

1. the ``data_dir`` argument, if given (the files directly in it, or in its
   ``mnist/`` / ``text/`` subfolder);
2. ``$ANNT_DATA_DIR/mnist/`` and ``$ANNT_DATA_DIR/text/`` - a shared offline
   copy (a relative ``ANNT_DATA_DIR`` is taken relative to the current
   directory, or else to the project root, so ``ANNT_DATA_DIR=../shared/data``
   works from the book's folder too);
3. the user cache: ``$ANNT_CACHE_DIR/{mnist,text}/``, default
   ``~/.cache/annt/`` (or ``$XDG_CACHE_HOME/annt/``);
4. a download from a public mirror into the cache. The file is written to a
   temporary file next to its final place and renamed with ``os.replace``
   only once it has been verified, so an interrupted download never leaves a
   partial file behind. A process killed during a download cannot remove its
   temporary file; annt removes such files from the cache when they have not
   changed for an hour (a running download writes to its own at least every
   30 seconds, or fails).

Every file is verified (size and md5 of the decompressed bytes) each time it
is loaded. A file found in places 1-2 that fails verification is an error
(annt does not replace data you pointed it to); a bad file in the cache is
deleted and downloaded again. When nothing works :class:`DataUnavailableError`
says where annt looked, what it expected and how to fix it.

Nothing is cached besides the downloaded files themselves.
"""
import gzip
import hashlib
import math
import os
import struct
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from annt.encoding import one_hot
from annt.errors import DataUnavailableError, InputValueError

__all__ = [
    "annt_digit_sequences", "digit_sequence_dataset",
    "load_mnist", "mnist_splits", "MnistSplits", "parse_idx",
    "load_tiny_shakespeare",
    "MNIST_FILES", "MNIST_MIRRORS", "TINY_SHAKESPEARE",
]

# --------------------------------------------------------------------------
# The ANNT article's one-hot sequence-prediction example
# --------------------------------------------------------------------------

_ANNT_DIGIT_SEQUENCES = (
    (1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1),
    (2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 2),
    (3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 3),
    (4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 4),
    (5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 5),
    (6, 0, 1, 2, 4, 4, 4, 6, 7, 8, 6),
    (7, 0, 1, 2, 4, 4, 4, 6, 7, 8, 7),
    (8, 0, 1, 2, 4, 4, 4, 6, 7, 8, 8),
    (9, 0, 1, 2, 4, 4, 4, 6, 7, 8, 9),
    (0, 0, 1, 2, 4, 4, 4, 6, 7, 8, 0),
)


def annt_digit_sequences():
    """The 10 digit sequences of the ANNT article's sequence-prediction example.

    Source: A. Kirillov, "ANNT: Recurrent neural networks", CodeProject 2018
    (https://www.codeproject.com/Articles/1272354/ANNT-Recurrent-neural-networks),
    section on sequence prediction; the same list is in the ANNT repository,
    ``examples/rnn_sequence/README.md`` and ``examples/rnn_sequence/rnn_sequence.cpp``
    (https://github.com/cvsandbox/ANNT)::

        1 0 1 2 3 4 5 6 7 8 1        6 0 1 2 4 4 4 6 7 8 6
        2 0 1 2 3 4 5 6 7 8 2        7 0 1 2 4 4 4 6 7 8 7
        3 0 1 2 3 4 5 6 7 8 3        8 0 1 2 4 4 4 6 7 8 8
        4 0 1 2 3 4 5 6 7 8 4        9 0 1 2 4 4 4 6 7 8 9
        5 0 1 2 3 4 5 6 7 8 5        0 0 1 2 4 4 4 6 7 8 0

    After ``2`` the first five continue with ``3`` and the last five with
    ``4``, and the last digit repeats the first: only a network that remembers
    the start of the sequence can predict every next digit.

    Returns
    -------
    int64 ndarray of shape (10, 11), a fresh copy.
    """
    return np.array(_ANNT_DIGIT_SEQUENCES, dtype=np.int64)


def digit_sequence_dataset(repeats=1, dtype=np.float32):
    """The article's training set for next-digit prediction, one-hot encoded.

    ANNT builds it like this (``rnn_sequence.cpp``): every sequence of 11
    digits is one-hot encoded (10 classes); its first 10 digits are the
    inputs and its last 10 digits the targets, so the input at step ``t`` is
    digit ``t`` and the target is digit ``t + 1``. 10 sequences x 10
    transitions give the article's "100 training samples", fed as a single
    batch with a training sequence length of 10. Nothing is repeated: the
    100 samples are 10 sequences of 10 time steps.

    Parameters
    ----------
    repeats : int >= 1, default 1
        Repeat every sequence this many times in a row (``np.repeat`` on the
        batch axis), e.g. ``repeats=10`` for 100 sequences. The default
        reproduces the article exactly.

    Returns
    -------
    X, Y : ndarray of shape (10 * repeats, 10, 10), layout (batch, time, classes)
        ``argmax(X) == annt_digit_sequences()[:, :-1]`` and
        ``argmax(Y) == annt_digit_sequences()[:, 1:]`` (for ``repeats=1``).
    """
    if isinstance(repeats, (bool, np.bool_)) or not isinstance(repeats, (int, np.integer)) \
            or repeats < 1:
        raise InputValueError(f"digit_sequence_dataset: repeats must be an integer >= 1, "
                              f"got {repeats!r}")
    seqs = np.repeat(annt_digit_sequences(), int(repeats), axis=0)
    return one_hot(seqs[:, :-1], 10, dtype), one_hot(seqs[:, 1:], 10, dtype)


# --------------------------------------------------------------------------
# Locating, downloading and verifying files
# --------------------------------------------------------------------------

class _Resource(NamedTuple):
    name: str            # file name in the cache / on the mirror
    subdir: str          # "mnist" or "text"
    nbytes: int          # size of the (decompressed) content
    md5: str             # md5 of the (decompressed) content
    gz: bool             # the canonical file is gzip-compressed


MNIST_FILES = {
    "train-images": _Resource("train-images-idx3-ubyte.gz", "mnist", 47_040_016,
                              "6bbc9ace898e44ae57da46a324031adb", True),
    "train-labels": _Resource("train-labels-idx1-ubyte.gz", "mnist", 60_008,
                              "a25bea736e30d166cdddb491f175f624", True),
    "test-images": _Resource("t10k-images-idx3-ubyte.gz", "mnist", 7_840_016,
                             "2646ac647ad5339dbf082846283269ea", True),
    "test-labels": _Resource("t10k-labels-idx1-ubyte.gz", "mnist", 10_008,
                             "27ae3e4e09519cfbb04c329615203637", True),
}

#: Public MNIST mirrors, tried in order (the file name is appended).
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]

TINY_SHAKESPEARE = _Resource("tinyshakespeare.txt", "text", 1_115_394,
                             "6fb458f1232090904fb40fe944165e91", False)
#: Where tiny Shakespeare is downloaded from (char-rnn's copy).
TINY_SHAKESPEARE_URLS = [
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
]

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_TIMEOUT = 30.0
_CHUNK = 1 << 20
_STALE_AFTER = 3600.0   # seconds without a change after which a temporary download is dead
_urlopen = urllib.request.urlopen  # tests replace this to stay off the network


class _BadFile(Exception):
    """A file exists but its content is not what was expected."""


class _Unreadable(_BadFile):
    """A file exists but cannot be read (permissions, a folder in its place, ...)."""


def _env_dir(var):
    """The folder named by environment variable ``var``, or None if unset."""
    value = os.environ.get(var, "").strip()
    if not value:
        return None
    p = Path(value).expanduser()
    if not p.is_absolute() and not p.exists() and (_PROJECT_ROOT / p).exists():
        p = _PROJECT_ROOT / p
    return p


def _cache_root():
    root = _env_dir("ANNT_CACHE_DIR")
    if root is not None:
        return root
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "annt"


def _variants(res):
    """File names that may hold ``res``: compressed first, then uncompressed."""
    if res.gz:
        return [res.name, res.name[:-3]]
    return [res.name]


def _verify(path, res, label=None, gz=None):
    """Read ``path`` and return its verified content.

    ``gz``: True = must be gzip data, None = gzip if named ``*.gz``, else
    decompressed only if it starts with the gzip magic bytes.
    """
    label = label or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise _Unreadable(f"{label} cannot be read ({type(e).__name__}: "
                          f"{e.strerror or e})") from None
    if gz is None:
        gz = True if str(path).endswith(".gz") else raw[:2] == b"\x1f\x8b"
    if gz:
        if raw[:2] != b"\x1f\x8b":
            raise _BadFile(f"{label} is not gzip data (it starts with {raw[:8]!r})")
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise _BadFile(f"{label} is not a valid gzip file ({type(e).__name__}: {e}); "
                           f"it is corrupt or truncated") from None
    else:
        data = raw
    after = " after decompression" if gz else ""
    if len(data) != res.nbytes:
        raise _BadFile(f"{label} holds {len(data):,} bytes{after}, expected {res.nbytes:,}")
    md5 = hashlib.md5(data).hexdigest()
    if md5 != res.md5:
        raise _BadFile(f"{label} has md5 {md5}{after}, expected {res.md5}")
    return data


def _temporary_prefix(dest):
    return f".{dest.name}."


def _remove_stale_downloads(dest):
    """Remove the temporary files of downloads of ``dest`` that were killed: those
    unchanged for ``_STALE_AFTER`` seconds (a running download's is younger)."""
    try:
        names = os.listdir(dest.parent)
    except OSError:
        return
    prefix = _temporary_prefix(dest)
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp"):
            path = dest.parent / name
            try:
                if time.time() - path.stat().st_mtime > _STALE_AFTER:
                    path.unlink()
                    print(f"annt: removed {path}, left by a download that was interrupted",
                          file=sys.stderr)
            except OSError:
                pass


def _download(url, dest, res):
    """Download ``url`` to ``dest`` atomically; return the verified content."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(dest), suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            req = urllib.request.Request(url, headers={"User-Agent": "annt-book data loader"})
            with _urlopen(req, timeout=_TIMEOUT) as resp:
                while True:
                    chunk = resp.read(_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
        data = _verify(tmp, res, label="the download", gz=res.gz)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is a normal file
        os.replace(tmp, dest)
        return data
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _obtain(res, data_dir, urls, what):
    """Find, verify (and if needed download) ``res``; return its content bytes."""
    looked = []
    # 1. data_dir argument, 2. $ANNT_DATA_DIR/<subdir>
    user_dirs = []
    if data_dir is not None:
        d = Path(data_dir).expanduser()
        user_dirs += [(d, "data_dir"), (d / res.subdir, "data_dir")]
    else:
        looked.append("data_dir argument: not given")
    env = _env_dir("ANNT_DATA_DIR")
    if env is not None:
        user_dirs.append((env / res.subdir, "$ANNT_DATA_DIR"))
    else:
        looked.append("$ANNT_DATA_DIR: not set")
    for folder, origin in user_dirs:
        for fname in _variants(res):
            path = folder / fname
            if _is_file(path, what, origin):
                try:
                    return _verify(path, res)
                except _Unreadable as e:
                    raise DataUnavailableError(
                        f"{what}: the file found via {origin} cannot be used: {e}. Make it "
                        f"readable or remove it (annt then looks further and downloads it "
                        f"if it can)") from None
                except _BadFile as e:
                    raise DataUnavailableError(
                        f"{what}: the file found via {origin} is not the expected one: {e}. "
                        f"Expected {res.nbytes:,} bytes with md5 {res.md5}"
                        f"{' after gzip decompression' if res.gz else ''}. "
                        f"Replace it with a good copy or remove it (annt then looks further "
                        f"and downloads it if it can)") from None
        looked.append(f"{origin}: {folder}/{_variants(res)[0]} not found")
    # 3. the user cache
    cache = _cache_root() / res.subdir
    dest = cache / res.name
    _remove_stale_downloads(dest)
    for fname in _variants(res):
        path = cache / fname
        if _is_file(path, what, "the cache"):
            try:
                return _verify(path, res)
            except _BadFile as e:
                print(f"annt: discarding a bad cached file ({e}); downloading it again",
                      file=sys.stderr)
                try:
                    path.unlink()
                except OSError:
                    pass
    looked.append(f"cache: {dest} not found")
    # 4. download
    failures = []
    for base in urls:
        url = base + res.name if base.endswith("/") else base
        try:
            print(f"annt: downloading {url} -> {dest}", file=sys.stderr)
            return _download(url, dest, res)
        except _BadFile as e:
            failures.append(f"{url}: {e}")
        except (urllib.error.URLError, OSError, ValueError) as e:  # HTTPError is a URLError
            reason = getattr(e, "reason", None) or e
            failures.append(f"{url}: {type(e).__name__}: {reason}")
    looked += [f"download {f}" for f in failures] or ["download: no URL to try"]
    raise DataUnavailableError(
        f"{what} is not available. annt looked for {res.name} in:\n  - "
        + "\n  - ".join(looked)
        + f"\nExpected {res.nbytes:,} bytes with md5 {res.md5}"
        + (" after gzip decompression" if res.gz else "")
        + f".\nTo fix: set ANNT_DATA_DIR to a folder whose {res.subdir}/ subfolder holds "
        f"{res.name} (for example ANNT_DATA_DIR=../shared/data from the project root), "
        f"pass data_dir=..., or connect to the internet so annt can download it into {cache}.")


def _is_file(path, what, origin):
    """``path.is_file()``, or DataUnavailableError when its folder cannot be searched."""
    try:
        return path.is_file()
    except OSError as e:
        raise DataUnavailableError(
            f"{what}: cannot look for {path} (via {origin}): {type(e).__name__}: "
            f"{e.strerror or e}. Make the folder readable, or point annt elsewhere") from None


# --------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------

_IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def parse_idx(buf, source="IDX data"):
    """Parse the bytes of an (uncompressed) IDX file into an array.

    IDX (the MNIST format): a big-endian 32-bit magic number - two zero
    bytes, a type code (``0x08`` = unsigned byte, ...) and the number of
    dimensions - then one big-endian 32-bit size per dimension, then the data.
    MNIST images have magic 2051 (``0x00000803``: ubyte, 3 dims ``n, 28, 28``),
    labels 2049 (``0x00000801``: ubyte, 1 dim ``n``).

    Returns a writable array in native byte order. Raises
    :class:`DataUnavailableError` naming ``source`` if the header is invalid
    or the data size does not match it.
    """
    buf = memoryview(buf).cast("B")
    if len(buf) < 4:
        raise DataUnavailableError(f"{source} is not an IDX file: only {len(buf)} bytes, "
                                   f"shorter than the 4-byte magic number")
    magic = struct.unpack(">I", buf[:4])[0]
    if buf[0] != 0 or buf[1] != 0 or buf[2] not in _IDX_TYPES or buf[3] == 0:
        raise DataUnavailableError(
            f"{source} is not an IDX file: bad magic number {magic} (0x{magic:08x}); "
            f"expected 0x0000TTDD with a type code TT in "
            f"{sorted(hex(t) for t in _IDX_TYPES)} and DD >= 1 dimensions "
            f"(MNIST images 2051, labels 2049)")
    dtype, ndim = _IDX_TYPES[buf[2]], buf[3]
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DataUnavailableError(f"{source}: truncated IDX header ({len(buf)} bytes, "
                                   f"{header} needed for {ndim} dimensions)")
    dims = struct.unpack(f">{ndim}I", buf[4:header])
    count = math.prod(dims)            # exact: Python integers do not overflow
    expected = header + count * dtype.itemsize
    if len(buf) != expected:
        raise DataUnavailableError(
            f"{source}: IDX header (magic {magic}, shape {dims}) announces {expected:,} "
            f"bytes but there are {len(buf):,}; the file is truncated or corrupt")
    arr = np.frombuffer(buf, dtype=dtype, count=count, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _mnist_part(key, data_dir, expect_magic, expect_shape):
    res = MNIST_FILES[key]
    data = _obtain(res, data_dir, MNIST_MIRRORS, f"MNIST {key} ({res.name})")
    magic = struct.unpack(">I", data[:4])[0] if len(data) >= 4 else None
    if magic != expect_magic:
        raise DataUnavailableError(
            f"MNIST {key} ({res.name}): magic number {magic}, expected {expect_magic}")
    arr = parse_idx(data, f"MNIST {key} ({res.name})")
    if arr.shape[1:] != expect_shape:
        raise DataUnavailableError(f"MNIST {key} ({res.name}): shape {arr.shape}, "
                                   f"expected (n,) + {expect_shape}")
    return arr


def load_mnist(split="train", data_dir=None):
    """Load MNIST (LeCun, Cortes, Burges), as in the original IDX files.

    Parameters
    ----------
    split : "train" (60,000 images) or "test" (10,000 images)
    data_dir : str or Path, optional
        Folder holding the ``.gz`` files (or an ``mnist/`` subfolder with
        them); see the module docstring for the lookup order, the cache and
        the download.

    Returns
    -------
    images : uint8 ndarray of shape (n, 28, 28), 0 = background, 255 = ink
    labels : uint8 ndarray of shape (n,), digits 0-9

    Raises
    ------
    DataUnavailableError
        If the files are nowhere to be found or downloaded, fail their md5
        check, or are corrupt.
    """
    if split not in ("train", "test"):
        raise InputValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    images = _mnist_part(f"{split}-images", data_dir, 2051, (28, 28))
    labels = _mnist_part(f"{split}-labels", data_dir, 2049, ())
    if len(images) != len(labels):
        raise DataUnavailableError(f"MNIST {split}: {len(images)} images but {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise DataUnavailableError(f"MNIST {split}: labels must be digits 0-9, "
                                   f"found {int(labels.max())}")
    return images, labels


class MnistSplits(NamedTuple):
    """``(images, labels)`` pairs; unpack as ``(xtr, ytr), (xva, yva), (xte, yte)``."""
    train: tuple
    validation: tuple
    test: tuple


def _scale_pixels(images):
    # ANNT's MNIST parser maps a pixel p to (p / 255) * (max - min) + min with min=-1, max=1
    return (images.astype(np.float32) / np.float32(255)) * np.float32(2) - np.float32(1)


def mnist_splits(data_dir=None):
    """MNIST split as in the ANNT article's recurrent MNIST example.

    The last sixth of the 60,000 training images (the last 10,000) is the
    validation set, the first 50,000 are for training, the 10,000 test images
    are the test set (ANNT ``examples/rnn_mnist/rnn_mnist.cpp``,
    ``ExtractValidationSamples``). Pixels are scaled from 0..255 to -1..1 as
    ANNT's MNIST parser does. Each image is a sequence of its 28 rows: 28
    time steps of 28 features.

    Returns
    -------
    MnistSplits(train=(x, y), validation=(x, y), test=(x, y))
        ``x``: float32 (n, 28, 28) in [-1, 1]; ``y``: int64 (n,) digits.
        n = 50,000, 10,000 and 10,000.
    """
    tr_x, tr_y = load_mnist("train", data_dir)
    te_x, te_y = load_mnist("test", data_dir)
    n_val = len(tr_x) // 6
    n_tr = len(tr_x) - n_val
    return MnistSplits(
        train=(_scale_pixels(tr_x[:n_tr]), tr_y[:n_tr].astype(np.int64)),
        validation=(_scale_pixels(tr_x[n_tr:]), tr_y[n_tr:].astype(np.int64)),
        test=(_scale_pixels(te_x), te_y.astype(np.int64)),
    )


# --------------------------------------------------------------------------
# Tiny Shakespeare
# --------------------------------------------------------------------------

def load_tiny_shakespeare(data_dir=None):
    """The 1,115,394-character "tiny Shakespeare" corpus of char-rnn (Karpathy).

    Looked for as ``tinyshakespeare.txt`` in ``data_dir`` (or its ``text/``
    subfolder), ``$ANNT_DATA_DIR/text/``, the cache, else downloaded from
    char-rnn's repository (md5 6fb458f1232090904fb40fe944165e91).

    Returns
    -------
    str
    """
    data = _obtain(TINY_SHAKESPEARE, data_dir, TINY_SHAKESPEARE_URLS, "Tiny Shakespeare")
    return data.decode("utf-8")
