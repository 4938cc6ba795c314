"""Splitting a batch over the cores, with annt's own threads.

Sequences are independent, so each kernel has a serial ``_rows`` function that
runs the whole time loop of sequences ``b0 .. b1-1``. ``run_blocks`` cuts the
batch into contiguous blocks and runs one block per thread: this thread takes
the first block, a small pool of annt's own worker threads the others. The
``_rows`` functions are compiled with ``nogil=True``, so the blocks really run
at the same time.

Why not Numba's ``prange``: Numba's parallel regions run on an OpenMP thread
pool whose idle threads spin between kernel calls, starving everything else
on a small machine unless ``OMP_WAIT_POLICY=PASSIVE`` is set, and setting that
in the process environment would also slow down every other OpenMP user
(PyTorch among them). annt's threads block on a queue when idle, annt sets no
environment variable and no global thread setting, and the serial functions
compile once, faster than their parallel wrappers did.

The number of threads is ``annt.set_num_threads`` or, by default,
``NUMBA_NUM_THREADS`` (which Numba reads from the environment and sets to the
number of CPUs). Small batches stay on the calling thread: handing work to
another thread costs tens of microseconds, more than it saves.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

import numba

MIN_ROWS_PER_THREAD = 8

_num_threads = None     # None: numba.config.NUMBA_NUM_THREADS
_pool = None
_pool_size = 0
_pool_lock = threading.Lock()


def get_num_threads():
    """How many threads annt's kernels split a batch over."""
    if _num_threads is not None:
        return _num_threads
    return max(int(numba.config.NUMBA_NUM_THREADS), 1)


def set_num_threads(n):
    """Let annt's kernels use ``n`` threads (1: everything on the calling thread).
    Affects annt only."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of threads must be a positive int, got {n!r}")
    _num_threads = n


def n_blocks(N):
    """How many blocks of sequences to run in parallel for a batch of N."""
    if N < 2 * MIN_ROWS_PER_THREAD:
        return 1
    return max(min(get_num_threads(), N // MIN_ROWS_PER_THREAD), 1)


def _workers(n):
    """A pool of at least n threads (created on first use, grown when needed)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < n:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="annt")
            _pool_size = n
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def run_blocks(rows, N, *args):
    """Run ``rows(*args, b0, b1)`` over the batch ``0 .. N-1``: on this thread
    when one block is enough, else on ``n_blocks(N)`` blocks at once."""
    n = n_blocks(N)
    if n == 1:
        rows(*args, 0, N)
        return
    _run(n, [(rows, args + (k * N // n, (k + 1) * N // n)) for k in range(n)])


def run_parts(part, n, R, *args):
    """Run ``part(*args, k, r0, r1)`` for the n blocks k of rows ``0 .. R-1`` at once."""
    _run(n, [(part, args + (k, k * R // n, (k + 1) * R // n)) for k in range(n)])


def _run(n, calls):
    """calls[0] on this thread, the others on the pool; wait for all."""
    pool = _workers(n - 1)
    futures = [pool.submit(fn, *a) for fn, a in calls[1:]]
    try:
        fn, a = calls[0]
        fn(*a)
    finally:
        for f in futures:       # wait for every block, then raise the first error
            f.result()
