"""Tests of annt.data.

No test uses the network: downloads go to a throw-away HTTP server on
127.0.0.1 or to a fake URL opener, and the cache is a temporary folder. Tests
on the real MNIST / tiny Shakespeare files run when ANNT_DATA_DIR points to a
folder holding them (CI: ANNT_DATA_DIR=../shared/data) and are skipped
otherwise.
"""
import gzip
import hashlib
import http.server
import os
import socket
import struct
import threading
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import annt.data as data
from annt.data import (annt_digit_sequences, digit_sequence_dataset, load_mnist,
                       load_tiny_shakespeare, mnist_splits, parse_idx)
from annt.encoding import argmax
from annt.errors import DataUnavailableError, InputValueError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _real_data_dir():
    value = os.environ.get("ANNT_DATA_DIR", "").strip()
    if not value:
        return None
    p = Path(value)
    if not p.is_absolute() and not p.exists():
        p = PROJECT_ROOT / p
    return p.resolve()


REAL_DATA_DIR = _real_data_dir()
MNIST_NAMES = [r.name for r in data.MNIST_FILES.values()]


def needs_real(*relpaths):
    """Skip unless ANNT_DATA_DIR is set and holds the given files."""
    if REAL_DATA_DIR is None:
        return pytest.mark.skip(
            reason="ANNT_DATA_DIR is not set; set it to the offline data folder "
                   "(e.g. ANNT_DATA_DIR=/work/shared/data, CI: ../shared/data) to test the real data")
    missing = [p for p in relpaths if not (REAL_DATA_DIR / p).is_file()]
    return pytest.mark.skipif(bool(missing),
                              reason=f"ANNT_DATA_DIR={REAL_DATA_DIR} lacks {missing}")


# ------------------------------------------------------------------ fixtures

@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """A private cache, and a URL opener that only reaches 127.0.0.1."""
    monkeypatch.setenv("ANNT_CACHE_DIR", str(tmp_path / "cache"))
    real_urlopen = data._urlopen
    calls = []

    def guarded(req, *args, **kwargs):
        url = getattr(req, "full_url", req)
        calls.append(url)
        if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise urllib.error.URLError(f"tests must not use the network (asked for {url})")
        return real_urlopen(req, *args, **kwargs)

    monkeypatch.setattr(data, "_urlopen", guarded)
    return calls


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("ANNT_DATA_DIR", raising=False)


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


class _Server:
    def __init__(self):
        self.files = {}       # URL path -> bytes
        self.requests = []
        files, requests = self.files, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def _idx(arr, type_code=0x08):
    arr = np.asarray(arr)
    header = struct.pack(">BBBB", 0, 0, type_code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.tobytes()


def _res_for(res, content):
    return res._replace(nbytes=len(content), md5=hashlib.md5(content).hexdigest())


@pytest.fixture
def fake_mnist(monkeypatch):
    """A tiny synthetic MNIST test split; MNIST_FILES patched to its checksums."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    raw = {"test-images": _idx(images), "test-labels": _idx(labels)}
    files = dict(data.MNIST_FILES)
    for key, content in raw.items():
        files[key] = _res_for(files[key], content)
    monkeypatch.setattr(data, "MNIST_FILES", files)
    gz = {files[k].name: gzip.compress(v) for k, v in raw.items()}
    return images, labels, gz, raw


def _all_files(folder):
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) \
        if folder.exists() else []


# ------------------------------------------------------------------ digit sequences

def test_annt_digit_sequences_exact():
    s = annt_digit_sequences()
    assert s.shape == (10, 11) and s.dtype == np.int64
    assert s[0].tolist() == [1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1]
    assert s[4].tolist() == [5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 5]
    assert s[5].tolist() == [6, 0, 1, 2, 4, 4, 4, 6, 7, 8, 6]
    assert s[-1].tolist() == [0, 0, 1, 2, 4, 4, 4, 6, 7, 8, 0]
    np.testing.assert_array_equal(s[:, 0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 0])
    np.testing.assert_array_equal(s[:, -1], s[:, 0])
    np.testing.assert_array_equal(s[:5, 1:10], np.tile(np.arange(9), (5, 1)))
    np.testing.assert_array_equal(s[5:, 1:10], np.tile([0, 1, 2, 4, 4, 4, 6, 7, 8], (5, 1)))
    s[0, 0] = 99  # a copy: the module's table is not changed
    assert annt_digit_sequences()[0, 0] == 1


def test_digit_sequence_dataset_like_annt():
    x, y = digit_sequence_dataset()
    assert x.shape == y.shape == (10, 10, 10)
    assert x.dtype == y.dtype == np.float32
    assert x[..., 0].size == 100  # the article's 100 one-hot training samples
    seqs = annt_digit_sequences()
    np.testing.assert_array_equal(argmax(x), seqs[:, :-1])
    np.testing.assert_array_equal(argmax(y), seqs[:, 1:])
    np.testing.assert_array_equal(x.sum(-1), 1)
    # next-digit task: the target at t is the input at t + 1
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])


def test_digit_sequence_dataset_repeats():
    x, y = digit_sequence_dataset(repeats=10)
    assert x.shape == y.shape == (100, 10, 10)
    seqs = annt_digit_sequences()
    np.testing.assert_array_equal(argmax(x)[:10], np.repeat(seqs[:1, :-1], 10, axis=0))
    np.testing.assert_array_equal(argmax(y)[90:], np.repeat(seqs[9:, 1:], 10, axis=0))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InputValueError):
            digit_sequence_dataset(repeats=bad)


# ------------------------------------------------------------------ parse_idx

def test_parse_idx_round_trip():
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    out = parse_idx(_idx(a.astype(">i4"), 0x0C))
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, a)
    u = parse_idx(_idx(np.array([3, 1, 2], dtype=np.uint8)))
    u[0] = 7  # writable
    assert u.tolist() == [7, 1, 2]


@pytest.mark.parametrize("buf, match", [
    (b"\x00\x00", "only 2 bytes"),
    (b"\x00\x01\x08\x01" + b"\x00" * 8, "bad magic number"),
    (b"\x00\x00\x07\x01" + b"\x00" * 8, "bad magic number"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
    (_idx(np.zeros((3, 2), np.uint8))[:-1], "truncated or corrupt"),
    (_idx(np.zeros((3, 2), np.uint8)) + b"\x00", "truncated or corrupt"),
])
def test_parse_idx_corrupt(buf, match):
    with pytest.raises(DataUnavailableError, match=match):
        parse_idx(buf, "thing.idx")


@pytest.mark.parametrize("dims", [(2**31 - 1, 2**31 - 1, 3), (2**31, 2**31, 2**31)])
def test_parse_idx_huge_sizes_are_reported_exactly(dims):
    """The byte count used to overflow int64: negative, or 0 (then a raw reshape error)."""
    buf = struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    with pytest.raises(DataUnavailableError) as info:
        parse_idx(buf, "huge.idx")
    expected = 4 + 4 * len(dims) + dims[0] * dims[1] * dims[2]
    msg = str(info.value)
    assert f"announces {expected:,} bytes but there are 16" in msg, msg


# ------------------------------------------------------------------ MNIST: lookup and download

def test_download_from_local_mirror_with_fallback(no_env, fake_mnist, server, cache_dir, monkeypatch):
    images, labels, gz, _ = fake_mnist
    for name, body in gz.items():
        server.files[f"/mnist/{name}"] = body
    monkeypatch.setattr(data, "MNIST_MIRRORS", [server.base + "/gone/", server.base + "/mnist/"])
    x, y = load_mnist("test")
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    # first mirror answered 404, the second one served the files
    assert "/gone/t10k-images-idx3-ubyte.gz" in server.requests
    assert _all_files(cache_dir) == ["mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"]
    assert (cache_dir / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes() == gz["t10k-labels-idx1-ubyte.gz"]
    # second load: from the cache, no request at all, even with the network gone
    server.requests.clear()
    monkeypatch.setattr(data, "MNIST_MIRRORS", [_closed_port_url()])
    x2, y2 = load_mnist("test")
    np.testing.assert_array_equal(x2, images)
    assert server.requests == []


def test_no_network(no_env, fake_mnist, cache_dir, monkeypatch):
    dead = _closed_port_url()
    monkeypatch.setattr(data, "MNIST_MIRRORS", [dead])
    with pytest.raises(DataUnavailableError) as err:
        load_mnist("test")
    msg = str(err.value)
    for part in ("t10k-images-idx3-ubyte.gz", "$ANNT_DATA_DIR: not set", "data_dir argument: not given",
                 str(cache_dir / "mnist"), dead, data.MNIST_FILES["test-images"].md5,
                 "set ANNT_DATA_DIR", "connect to the internet"):
        assert part in msg, (part, msg)
    assert _all_files(cache_dir) == []


def test_real_mirrors_are_not_contacted_in_tests(no_env, offline):
    # the guard turns any real download into "no network": the message must say so
    with pytest.raises(DataUnavailableError, match="tests must not use the network"):
        load_mnist("test")
    assert offline and all(u.startswith("https://") for u in offline)
    assert offline[0] == data.MNIST_MIRRORS[0] + "t10k-images-idx3-ubyte.gz"
    assert offline[1] == data.MNIST_MIRRORS[1] + "t10k-images-idx3-ubyte.gz"


def test_checksum_mismatch_download(no_env, fake_mnist, server, cache_dir, monkeypatch):
    _, _, gz, raw = fake_mnist
    wrong = bytearray(raw["test-images"])
    wrong[-1] ^= 0xFF
    server.files["/mnist/t10k-images-idx3-ubyte.gz"] = gzip.compress(bytes(wrong))
    monkeypatch.setattr(data, "MNIST_MIRRORS", [server.base + "/mnist/"])
    with pytest.raises(DataUnavailableError) as err:
        load_mnist("test")
    msg = str(err.value)
    assert "has md5 " + hashlib.md5(bytes(wrong)).hexdigest() in msg
    assert "expected " + data.MNIST_FILES["test-images"].md5 in msg
    assert "ANNT_DATA_DIR" in msg
    assert _all_files(cache_dir) == []  # nothing kept, no temporary file left


def test_wrong_size_download(no_env, fake_mnist, server, cache_dir, monkeypatch):
    server.files["/mnist/t10k-images-idx3-ubyte.gz"] = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x00")
    monkeypatch.setattr(data, "MNIST_MIRRORS", [server.base + "/mnist/"])
    with pytest.raises(DataUnavailableError, match="holds 8 bytes after decompression"):
        load_mnist("test")
    assert _all_files(cache_dir) == []


@pytest.mark.parametrize("corrupt", ["truncated", "not-gzip"])
def test_corrupt_gzip_download(no_env, fake_mnist, server, cache_dir, monkeypatch, corrupt):
    _, _, gz, _ = fake_mnist
    good = gz["t10k-images-idx3-ubyte.gz"]
    server.files["/mnist/t10k-images-idx3-ubyte.gz"] = (
        good[: len(good) // 2] if corrupt == "truncated" else b"<html>rate limited</html>")
    monkeypatch.setattr(data, "MNIST_MIRRORS", [server.base + "/mnist/"])
    with pytest.raises(DataUnavailableError, match="gzip"):
        load_mnist("test")
    assert _all_files(cache_dir) == []


class _FailingResponse:
    """Gives some bytes, then the connection breaks (or the user interrupts)."""

    def __init__(self, exc):
        self.exc, self.sent = exc, False

    def read(self, n=-1):
        if not self.sent:
            self.sent = True
            return b"\x1f\x8b" + b"\x00" * 1000
        raise self.exc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("exc", [ConnectionResetError("connection reset by peer"), KeyboardInterrupt()])
def test_interrupted_download_leaves_nothing(no_env, fake_mnist, cache_dir, monkeypatch, exc):
    monkeypatch.setattr(data, "_urlopen", lambda req, timeout=None: _FailingResponse(exc))
    expected = DataUnavailableError if isinstance(exc, Exception) else KeyboardInterrupt
    with pytest.raises(expected):
        load_mnist("test")
    assert (cache_dir / "mnist").is_dir()
    assert _all_files(cache_dir) == []  # neither the final file nor a *.tmp


def test_final_name_appears_only_when_complete(no_env, fake_mnist, cache_dir, monkeypatch):
    _, _, gz, _ = fake_mnist
    seen = []

    class Response:
        def __init__(self, body):
            self.chunks = [body[:10], body[10:], b""]

        def read(self, n=-1):
            # while streaming: only a temporary file, in the cache folder itself
            folder = cache_dir / "mnist"
            seen.append(sorted(p.name for p in folder.iterdir()))
            return self.chunks.pop(0)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def opener(req, timeout=None):
        return Response(gz[req.full_url.rsplit("/", 1)[1]])

    monkeypatch.setattr(data, "_urlopen", opener)
    load_mnist("test")
    assert seen and all(len(names) >= 1 for names in seen)
    first = seen[0]  # during the images download
    assert first[0].startswith(".t10k-images-idx3-ubyte.gz.") and first[0].endswith(".tmp")
    assert "t10k-images-idx3-ubyte.gz" not in first
    assert _all_files(cache_dir) == ["mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"]


def test_bad_cached_file_is_downloaded_again(no_env, fake_mnist, server, cache_dir, monkeypatch):
    images, _, gz, _ = fake_mnist
    (cache_dir / "mnist").mkdir(parents=True)
    (cache_dir / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"garbage")
    for name, body in gz.items():
        server.files[f"/m/{name}"] = body
    monkeypatch.setattr(data, "MNIST_MIRRORS", [server.base + "/m/"])
    x, _ = load_mnist("test")
    np.testing.assert_array_equal(x, images)
    assert (cache_dir / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes() == gz["t10k-images-idx3-ubyte.gz"]


def _write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_bytes(body)


def test_lookup_order(fake_mnist, tmp_path, cache_dir, monkeypatch, offline):
    images, labels, gz, raw = fake_mnist
    bad = {name: b"\x1f\x8b broken" for name in gz}
    monkeypatch.setattr(data, "MNIST_MIRRORS", [_closed_port_url()])
    arg_dir, env_dir = tmp_path / "arg", tmp_path / "env"
    monkeypatch.setenv("ANNT_DATA_DIR", str(env_dir))

    # data_dir (good) is used before $ANNT_DATA_DIR (broken)
    _write(arg_dir, gz)
    _write(env_dir / "mnist", bad)
    np.testing.assert_array_equal(load_mnist("test", data_dir=arg_dir)[0], images)
    # a broken file in data_dir is an error naming it, even though $ANNT_DATA_DIR is good
    _write(arg_dir, bad)
    _write(env_dir / "mnist", gz)
    with pytest.raises(DataUnavailableError, match="found via data_dir") as err:
        load_mnist("test", data_dir=arg_dir)
    assert str(arg_dir / "t10k-images-idx3-ubyte.gz") in str(err.value)
    assert "Replace it" in str(err.value)
    # $ANNT_DATA_DIR/mnist is used before the cache, and the cache is left alone
    _write(cache_dir / "mnist", bad)
    np.testing.assert_array_equal(load_mnist("test")[1], labels)
    assert (cache_dir / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes() == b"\x1f\x8b broken"
    # data_dir may also be the parent of mnist/, and files may be uncompressed
    (env_dir / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    (env_dir / "mnist" / "t10k-images-idx3-ubyte").write_bytes(raw["test-images"])
    np.testing.assert_array_equal(load_mnist("test", data_dir=env_dir)[0], images)
    assert offline == []  # never tried to download


def test_relative_data_dir_resolved_against_project_root(fake_mnist, tmp_path, monkeypatch):
    images, _, gz, _ = fake_mnist
    target = tmp_path / "shared"
    _write(target / "mnist", gz)
    rel = os.path.relpath(target, PROJECT_ROOT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # rel does not exist from here
    monkeypatch.setenv("ANNT_DATA_DIR", rel)
    np.testing.assert_array_equal(load_mnist("test")[0], images)


def test_wrong_magic_is_reported(no_env, fake_mnist, tmp_path, monkeypatch):
    # a labels file where the images file should be (checksums patched to match)
    _, _, gz, raw = fake_mnist
    files = dict(data.MNIST_FILES)
    files["test-images"] = _res_for(files["test-images"], raw["test-labels"])
    monkeypatch.setattr(data, "MNIST_FILES", files)
    _write(tmp_path / "d", {"t10k-images-idx3-ubyte.gz": gz["t10k-labels-idx1-ubyte.gz"],
                            "t10k-labels-idx1-ubyte.gz": gz["t10k-labels-idx1-ubyte.gz"]})
    with pytest.raises(DataUnavailableError, match="magic number 2049, expected 2051"):
        load_mnist("test", data_dir=tmp_path / "d")


def test_load_mnist_bad_split():
    with pytest.raises(InputValueError, match="'train' or 'test'"):
        load_mnist("validation")


# ------------------------------------------------------------------ tiny Shakespeare: download

def test_tiny_shakespeare_download_and_mismatch(no_env, server, cache_dir, monkeypatch):
    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n"
    body = text.encode()
    monkeypatch.setattr(data, "TINY_SHAKESPEARE", _res_for(data.TINY_SHAKESPEARE, body))
    monkeypatch.setattr(data, "TINY_SHAKESPEARE_URLS", [server.base + "/input.txt"])
    server.files["/input.txt"] = body.upper()
    with pytest.raises(DataUnavailableError, match="md5") as err:
        load_tiny_shakespeare()
    assert "text/ subfolder" in str(err.value)
    assert _all_files(cache_dir) == []
    server.files["/input.txt"] = body
    assert load_tiny_shakespeare() == text
    assert _all_files(cache_dir) == ["text/tinyshakespeare.txt"]
    monkeypatch.setattr(data, "TINY_SHAKESPEARE_URLS", [_closed_port_url()])
    assert load_tiny_shakespeare() == text  # from the cache


# ------------------------------------------------------------------ the real files

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@needs_real(*[f"mnist/{n}" for n in MNIST_NAMES])
def test_real_mnist(offline):
    t0 = time.perf_counter()
    x, y = load_mnist("train")
    elapsed = time.perf_counter() - t0
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.uint8
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y).tolist() == MNIST_TRAIN_COUNTS
    assert x.min() == 0 and x.max() == 255
    assert elapsed < 10, f"loading MNIST train took {elapsed:.1f}s"
    xt, yt = load_mnist("test")
    assert xt.shape == (10000, 28, 28)
    assert yt[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(yt).tolist() == MNIST_TEST_COUNTS
    assert offline == []


@needs_real(*[f"mnist/{n}" for n in MNIST_NAMES])
def test_real_mnist_splits():
    (xtr, ytr), (xva, yva), (xte, yte) = splits = mnist_splits()
    assert xtr.shape == (50000, 28, 28) and xva.shape == (10000, 28, 28) and xte.shape == (10000, 28, 28)
    for x, y in splits:
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.min() == -1.0 and x.max() == 1.0
    raw_x, raw_y = load_mnist("train")
    np.testing.assert_array_equal(yva, raw_y[50000:])
    np.testing.assert_array_equal(ytr, raw_y[:50000])
    np.testing.assert_allclose(xva, raw_x[50000:] / 255 * 2 - 1, atol=1e-6)
    assert splits.validation is splits[1]
    assert np.bincount(yte).tolist() == MNIST_TEST_COUNTS


@needs_real("mnist/t10k-labels-idx1-ubyte.gz")
def test_real_file_through_download_path(no_env, server, cache_dir, monkeypatch):
    body = (REAL_DATA_DIR / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    server.files["/mnist/t10k-labels-idx1-ubyte.gz"] = body
    monkeypatch.setattr(data, "MNIST_MIRRORS", [server.base + "/mnist/"])
    content = data._obtain(data.MNIST_FILES["test-labels"], None, data.MNIST_MIRRORS, "t")
    assert hashlib.md5(content).hexdigest() == "27ae3e4e09519cfbb04c329615203637"
    assert _all_files(cache_dir) == ["mnist/t10k-labels-idx1-ubyte.gz"]


@needs_real("text/tinyshakespeare.txt")
def test_real_tiny_shakespeare(offline):
    text = load_tiny_shakespeare()
    assert isinstance(text, str) and len(text) == 1_115_394
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert len(set(text)) == 65
    assert offline == []


# ------------------------------------------------------------------ files that cannot be used

def test_stale_temporary_downloads_are_removed(no_env, fake_mnist, cache_dir, capsys):
    """A download killed mid-way cannot remove its temporary file: annt removes it when
    it has not changed for an hour, and leaves a running download's file alone."""
    _, _, gz, _ = fake_mnist
    folder = cache_dir / "mnist"
    _write(folder, gz)
    stale = folder / ".t10k-images-idx3-ubyte.gz.k1lled.tmp"
    running = folder / ".t10k-images-idx3-ubyte.gz.runnng.tmp"
    other = folder / "notes.tmp"
    for path in (stale, running, other):
        path.write_bytes(b"\x1f\x8b partial")
    two_hours_ago = time.time() - 7200
    for path in (stale, other):
        os.utime(path, (two_hours_ago, two_hours_ago))
    load_mnist("test")
    assert not stale.exists() and running.exists() and other.exists()
    assert f"removed {stale}" in capsys.readouterr().err


def _unreadable(monkeypatch, path, times=None):
    """Path.read_bytes of ``path`` raises PermissionError (simulated: the tests may run
    as root, who reads everything), ``times`` times or always."""
    real = Path.read_bytes
    left = [times]

    def read_bytes(self):
        if self == path and left[0] != 0:
            left[0] = None if left[0] is None else left[0] - 1
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_unreadable_data_file(fake_mnist, tmp_path, monkeypatch, offline):
    """Used to raise a raw PermissionError."""
    _, _, gz, _ = fake_mnist
    env = tmp_path / "env"
    _write(env / "mnist", gz)
    monkeypatch.setenv("ANNT_DATA_DIR", str(env))
    target = env / "mnist" / "t10k-images-idx3-ubyte.gz"
    _unreadable(monkeypatch, target)
    with pytest.raises(DataUnavailableError) as info:
        load_mnist("test")
    msg = str(info.value)
    for fragment in ("MNIST test-images", "found via $ANNT_DATA_DIR cannot be used", str(target),
                     "cannot be read (PermissionError: Permission denied)", "Make it readable"):
        assert fragment in msg, msg
    assert offline == []


def test_folder_that_cannot_be_searched(fake_mnist, tmp_path, monkeypatch):
    env = tmp_path / "env"
    monkeypatch.setenv("ANNT_DATA_DIR", str(env))
    real = Path.is_file

    def is_file(self):
        if env in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "is_file", is_file)
    with pytest.raises(DataUnavailableError) as info:
        load_mnist("test")
    msg = str(info.value)
    assert "cannot look for" in msg and "via $ANNT_DATA_DIR" in msg and \
        "PermissionError: Permission denied" in msg, msg


def test_unreadable_cached_file_is_downloaded_again(no_env, fake_mnist, server, cache_dir,
                                                    monkeypatch, capsys):
    images, _, gz, _ = fake_mnist
    _write(cache_dir / "mnist", gz)
    for name, body in gz.items():
        server.files[f"/m/{name}"] = body
    monkeypatch.setattr(data, "MNIST_MIRRORS", [server.base + "/m/"])
    _unreadable(monkeypatch, cache_dir / "mnist" / "t10k-images-idx3-ubyte.gz", times=1)
    np.testing.assert_array_equal(load_mnist("test")[0], images)
    assert "cannot be read (PermissionError" in capsys.readouterr().err
    assert server.requests == ["/m/t10k-images-idx3-ubyte.gz"]
