"""annt's own threads, the products split over them, and the BLAS the kernels call.

The kernels run blocks of sequences on annt's threads (``kernels._parallel``),
split the large products over them (``kernels.matmul``) and call NumPy's CBLAS,
or SciPy's BLAS through an adapter with the same signature (``kernels._blas``).
Each path must compute what NumPy computes, for every thread count.
"""
import sys
import threading
import time

import numpy as np
import pytest
from numba import njit

import annt
from annt._threads import BLAS_THREADS_ABOVE, blas_width, needs_limit
from annt.kernels import _blas, _cache, matmul, reference
from annt.kernels._blas import gemm_
from annt.kernels import _parallel
from annt.kernels._parallel import run_blocks


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float64, 1e-12)])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_matmul_over_threads_is_the_product(dtype, tol, n_threads, threads):
    annt.set_num_threads(n_threads)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2000, 37)).astype(dtype)
    B = rng.standard_normal((37, 19)).astype(dtype)
    D = rng.standard_normal((2000, 19)).astype(dtype)
    np.testing.assert_allclose(annt.kernels.matmul(A, B), A @ B, rtol=0, atol=tol)
    np.testing.assert_allclose(annt.kernels.matmul(D, B.T), D @ B.T, rtol=0, atol=tol)
    np.testing.assert_allclose(annt.kernels.matmul_tn(A, D), A.T @ D, rtol=0, atol=tol * 50)
    out = np.empty((37, 19), dtype)
    assert annt.kernels.matmul_tn(A, D, out=out) is out


def test_matmul_tn_is_the_same_from_run_to_run(threads):
    annt.set_num_threads(2)
    rng = np.random.default_rng(1)
    A = rng.standard_normal((5000, 8)).astype(np.float32)
    B = rng.standard_normal((5000, 9)).astype(np.float32)
    first = annt.kernels.matmul_tn(A, B)
    assert all(np.array_equal(first, annt.kernels.matmul_tn(A, B)) for _ in range(5))


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_matmul_tn_many_shares_the_products_and_keeps_their_numbers(n_threads, threads,
                                                                    monkeypatch):
    # a GRU's weight gradients for a batch of 48 x 28 steps: too few rows to split each
    # product, enough work together to share them; the out of two is a column block
    annt.set_num_threads(n_threads)
    rng = np.random.default_rng(3)
    R, D, H = 48 * 28, 28, 56
    h_prev, q = (rng.standard_normal((R, H)).astype(np.float32) for _ in range(2))
    x = rng.standard_normal((R, D)).astype(np.float32)
    dA_h = rng.standard_normal((R, 3 * H)).astype(np.float32)
    dA_x = rng.standard_normal((R, 3 * H)).astype(np.float32)
    dW, dU = np.empty((H, 3 * H), np.float32), np.empty((D, 3 * H), np.float32)
    shared = []
    module = sys.modules["annt.kernels.matmul"]      # (annt.kernels.matmul is the function)
    real_run = module._run
    monkeypatch.setattr(module, "_run", lambda n, calls: (shared.append(n), real_run(n, calls)))
    annt.kernels.matmul_tn_many([(h_prev, dA_h[:, :2 * H], dW[:, :2 * H]),
                                 (q, dA_h[:, 2 * H:], dW[:, 2 * H:]), (x, dA_x, dU)])
    assert shared == ([] if n_threads == 1 else [min(n_threads, 3)])
    # the same numbers as the products one after another on this thread
    assert np.array_equal(dW[:, :2 * H], np.dot(h_prev.T, dA_h[:, :2 * H]))
    assert np.array_equal(dW[:, 2 * H:], np.dot(q.T, dA_h[:, 2 * H:]))
    assert np.array_equal(dU, np.dot(x.T, dA_x))
    small = np.empty((3, 2), np.float32)          # too little work: no thread is woken
    annt.kernels.matmul_tn_many([(x[:10, :3], dA_x[:10, :2], small)] * 2)
    assert len(shared) == (0 if n_threads == 1 else 1)
    ref = np.empty_like(dU)
    reference.matmul_tn_many([(x, dA_x, ref)])
    np.testing.assert_allclose(ref, dU, rtol=0, atol=1e-3)


@njit
def _gemm(A, B, C, beta):
    gemm_(A, B, C, beta)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_accumulates_and_takes_transposed_and_strided_operands(dtype):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((6, 5)).astype(dtype)
    B = rng.standard_normal((5, 4)).astype(dtype)
    C = rng.standard_normal((6, 4)).astype(dtype)
    C0 = C.copy()
    _gemm(A, B, C, 1.0)
    np.testing.assert_allclose(C, A @ B + C0, rtol=1e-5)
    _gemm(A, np.ascontiguousarray(B.T).T, C, 0.0)              # B given as a transpose
    np.testing.assert_allclose(C, A @ B, rtol=1e-5)
    X = rng.standard_normal((6, 3, 5)).astype(dtype)           # the rows of one step
    _gemm(X[:, 1], B, C, 0.0)
    np.testing.assert_allclose(C, X[:, 1] @ B, rtol=1e-5)
    row = A[2][None]                                           # NumPy gives it stride 0
    out = np.zeros((1, 4), dtype)
    _gemm(row, B, out, 0.0)
    np.testing.assert_allclose(out, row @ B, rtol=1e-5)


@pytest.mark.parametrize("dtype, letter", [(np.float32, "s"), (np.float64, "d")])
def test_scipy_blas_adapter_computes_as_cblas(dtype, letter):
    """The fallback used where NumPy brings no CBLAS of its own."""
    adapter = _blas._adapter(_blas._F32 if dtype == np.float32 else _blas._F64).ctypes
    rng = np.random.default_rng(3)
    A = rng.standard_normal((7, 5)).astype(dtype)
    B = rng.standard_normal((5, 3)).astype(dtype)
    C = rng.standard_normal((7, 3)).astype(dtype)
    C0 = C.copy()
    adapter(_blas.ROW_MAJOR, _blas.NO_TRANS, _blas.NO_TRANS, 7, 3, 5, 2.0, A.ctypes.data, 5,
            B.ctypes.data, 3, 1.0, C.ctypes.data, 3)
    np.testing.assert_allclose(C, 2 * A @ B + C0, rtol=1e-5)
    T = np.zeros((5, 3), dtype)
    adapter(_blas.ROW_MAJOR, _blas.TRANS, _blas.NO_TRANS, 5, 3, 7, 1.0, A.ctypes.data, 5,
            C0.ctypes.data, 3, 0.0, T.ctypes.data, 3)
    np.testing.assert_allclose(T, A.T @ C0, rtol=1e-5)


def test_reference_backend_products_are_numpy():
    A, B = np.arange(6.0).reshape(3, 2), np.arange(8.0).reshape(2, 4)
    assert np.array_equal(reference.matmul(A, B), A @ B)
    assert np.array_equal(reference.matmul_tn(A, A @ B), A.T @ (A @ B))


def test_thread_count_is_annt_s_own(threads):
    annt.set_num_threads(1)
    assert annt.get_num_threads() == 1
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive int"):
            annt.set_num_threads(bad)


def test_an_error_in_a_block_reaches_the_caller(threads):
    annt.set_num_threads(2)

    def rows(out, b0, b1):
        if b0 > 0:
            raise RuntimeError("block failed")
        out[b0:b1] = 1

    with pytest.raises(RuntimeError, match="block failed"):
        run_blocks(rows, 64, np.zeros(64))


@njit(nogil=True)
def _count_block(counts, b0, b1):
    for i in range(b0, b1):
        counts[i] += 1


@pytest.mark.parametrize("n_threads", [2, 3])
def test_every_block_runs_once_however_the_workers_are_timed(n_threads, threads):
    """The hand-off (``_parallel``): a worker spinning, asleep, or held up must
    neither lose a block nor run one twice. Pauses longer than the workers' spin
    send them to sleep between some of the calls."""
    annt.set_num_threads(n_threads)
    counts = np.zeros(48, np.int64)
    calls = 3000
    for i in range(calls):
        run_blocks(_count_block, 48, counts)
        if i % 300 == 0:
            time.sleep(3 * _parallel.SPIN_SECONDS)
    assert (counts == calls).all()


def test_a_worker_held_up_does_not_take_a_later_job():
    """A worker that saw job 5 posted and was held up before claiming it finds
    job 6 claimed: it must not take job 6's block as job 5's."""
    ctrl = np.zeros(2 * _parallel.SLOT, np.int64)
    assert _parallel._claim(ctrl, 1, 5)            # the first to claim job 5 gets it
    assert not _parallel._claim(ctrl, 1, 5)
    assert _parallel._claim(ctrl, 1, 6)
    assert not _parallel._claim(ctrl, 1, 5)        # stale: job 6 is already claimed
    assert ctrl[_parallel.SLOT + _parallel.CLAIMED] == 6


def test_waiting_threads_yield_the_core():
    """The spin loops give the core away between checks (``sched_yield``), through a
    symbol registered in every process: the compiled call works and returns 0."""
    from annt.kernels._atomic import yield_cpu

    @njit
    def twice():
        return yield_cpu() + yield_cpu()
    assert twice() == 0
    assert isinstance(_parallel._wait_done._cache, _cache.RecoveringCache)


def test_calls_from_several_threads_at_once(threads):
    annt.set_num_threads(2)
    counts = np.zeros((4, 48), np.int64)

    def caller(row):
        for _ in range(500):
            run_blocks(_count_block, 48, counts[row])
    callers = [threading.Thread(target=caller, args=(r,)) for r in range(4)]
    for c in callers:
        c.start()
    for c in callers:
        c.join()
    assert (counts == 500).all()


def test_idle_workers_go_to_sleep(threads):
    """Workers check for work for a moment after a call, then sleep: an idle
    annt takes no CPU from other libraries."""
    annt.set_num_threads(2)
    run_blocks(_count_block, 48, np.zeros(48, np.int64))
    pool = _parallel._pool
    deadline = time.monotonic() + 5
    while not _parallel._asleep(pool.ctrl, 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _parallel._asleep(pool.ctrl, 1)
    counts = np.zeros(48, np.int64)
    run_blocks(_count_block, 48, counts)           # woken, or its block run here
    assert (counts == 1).all()


def test_the_pool_grows_with_the_thread_count(threads):
    annt.set_num_threads(2)
    counts = np.zeros(48, np.int64)
    run_blocks(_count_block, 48, counts)
    annt.set_num_threads(4)
    run_blocks(_count_block, 48, counts)
    assert _parallel._pool.size == 3 and (counts == 2).all()


def test_blas_limit_where_openblas_would_thread():
    """OpenBLAS threads a product when m k n > 65536 * 4: an LSTM of 128 units
    sampled at batch 10 qualifies (10 x 128 x 512), a 32-unit RNN stepped at
    batch 1 does not, and it took 16 ms instead of 0.3 ms per step on a busy
    machine without the limit."""
    lstm = annt.Network([annt.LSTM(65, 128), annt.Dense(128, 65)])
    rnn = annt.Network([annt.RNN(32, 32)])
    assert blas_width(lstm) == 128 * 512
    assert needs_limit(lstm, 10) and 10 * 128 * 512 > BLAS_THREADS_ABOVE
    assert not needs_limit(rnn, 1)
    assert needs_limit(rnn, 16)          # the kernels split a batch of 16 over threads


def test_two_processes_saving_at_once_keep_each_entry(tmp_path):
    """Two processes compile two variants of one kernel at once: each read the
    function's cache index before the other wrote it. Numba's own numbering gave
    both data files the same name, and one variant was later loaded for the other."""
    files = _cache.KeyedDataFiles
    first = files(str(tmp_path), "kernel", "stamp")
    second = files(str(tmp_path), "kernel", "stamp")
    first.save(("relu", "float64"), "code of relu")
    second._load_index = lambda: {}                 # read before the first one saved
    second.save(("tanh", "float64"), "code of tanh")
    third = files(str(tmp_path), "kernel", "stamp")
    assert third.load(("tanh", "float64")) == "code of tanh"
    assert third.load(("relu", "float64")) in (None, "code of relu")   # lost: compiled again
    relu_file = "kernel." + _cache._key_digest(("relu", "float64")) + ".nbc"
    assert first._load_data(relu_file) == "code of relu"   # not replaced by tanh's


def test_annt_kernels_name_their_data_files_by_key():
    from annt.kernels.rnn import _rnn_forward_rows
    kernel = _rnn_forward_rows[annt.kernels.RELU]
    assert type(kernel._cache._cache_file) is _cache.KeyedDataFiles
    assert type(_parallel._wait_done._cache._cache_file) is _cache.KeyedDataFiles


def test_cache_entries_are_keyed_on_every_kernel_source():
    """An edit in a file the kernels inline (``_math``, ``_blas``) must not leave
    an old compiled kernel in use."""
    from annt.kernels.lstm import _lstm_forward_rows
    cache = _lstm_forward_rows._cache
    assert isinstance(cache, _cache.RecoveringCache)
    z = np.zeros((1, 2, 4), np.float32)
    annt.kernels.lstm_forward(z, np.zeros((1, 4), np.float32), z[:, 0, :1], z[:, 0, :1],
                              np.ones((1, 2), np.float32))
    sig = _lstm_forward_rows.signatures[0]
    key = cache._index_key(sig, _lstm_forward_rows.targetctx.codegen())
    assert key[-1] == _cache.SOURCES
    assert len(_cache.SOURCES) == 64
