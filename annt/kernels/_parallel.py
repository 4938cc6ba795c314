"""Splitting a batch over the cores, with annt's own threads.

Sequences are independent, so each kernel has a serial ``_rows`` function that
runs the whole time loop of sequences ``b0 .. b1-1``. ``run_blocks`` cuts the
batch into contiguous blocks and runs one block per thread: this thread takes
the first block, annt's worker threads the others. The ``_rows`` functions
are compiled with ``nogil=True``, so the blocks really run at the same time.

Handing a block to another thread must cost little next to the block itself
(a fraction of a millisecond on the MNIST model). Waking a thread that sleeps
costs far more on a virtual machine: 110-150 us here (Python's
``ThreadPoolExecutor``, which annt used before), three times per training
step, which made the MNIST model slower on two threads than on one. So a
worker that has finished a block keeps checking, for about 2 ms, whether the
next one has come (a hand-off then takes 5-7 us), and only then sleeps on
an event. Between two checks it yields the core (``_atomic.yield_cpu``): with
more busy threads than cores (two processes training at once), a worker that
only spun took half the CPU from the others and both ran twice as slowly. The hand-off goes through a small int64 array (``_atomic``): this
thread writes the job's number into each worker's slot, runs its own block,
and then, for each other block, either finds that its worker took it (by a
compare-and-swap on the slot) and waits for it to be done, or takes it
itself. A worker that sleeps, or that the system has not scheduled yet, holds
nothing up: its block is run here, and it is woken as the job is posted, to
be ready for long blocks and for the next call. A worker reports 'done' and
starts checking for the next job in one call that holds no GIL, so that this
thread, seeing 'done', never has to wait for the GIL.

Why not Numba's ``prange``: Numba's parallel regions run on an OpenMP thread
pool whose idle threads spin without bound unless ``OMP_WAIT_POLICY=PASSIVE``
is set in the process environment, which also slows every other OpenMP user
(PyTorch among them). annt's workers spin only for 2 ms after their last
block, annt sets no environment variable and no global thread setting, and
the serial functions compile once, faster than their parallel wrappers did.

The number of threads is ``annt.set_num_threads`` or, by default,
``NUMBA_NUM_THREADS`` (which Numba reads from the environment and sets to the
number of CPUs). Small batches stay on the calling thread. Calls from several
threads at once are safe: one of them splits its batch, the others run theirs
on their own thread.
"""
import os
import threading
import time

import numba
import numpy as np
from numba import njit

from ._atomic import atomic_cas, atomic_load, atomic_store, yield_cpu

MIN_ROWS_PER_THREAD = 8
SPIN_SECONDS = 0.002    # how long an idle worker keeps checking for a job before it sleeps

_num_threads = None     # None: numba.config.NUMBA_NUM_THREADS
_pool = None
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


# ------------------------------------------------------------ the hand-off
# Worker k owns the int64s ctrl[k * SLOT : (k + 1) * SLOT], a cache line of its own.
SLOT = 8
POSTED, CLAIMED, DONE, ASLEEP = 0, 1, 2, 3
_fast = dict(cache=True, nogil=True)


@njit(**_fast)
def _post(ctrl, n, job):
    """Announce job number ``job`` to workers 1 .. n-1."""
    for k in range(1, n):
        atomic_store(ctrl, k * SLOT + POSTED, job)


@njit(**_fast)
def _claim(ctrl, k, job):
    """Take block k of job ``job``; False if someone (the worker or this thread) has,
    or if a later job has been claimed (a worker that saw ``job`` posted, then
    was held up, must not take a later job's block as this one's)."""
    i = k * SLOT + CLAIMED
    found = atomic_load(ctrl, i)
    return found < job and atomic_cas(ctrl, i, found, job) == found


@njit(**_fast)
def _wait_done(ctrl, k, job, spins):
    """Whether worker k finishes job ``job`` within ``spins`` checks."""
    for _ in range(spins):
        if atomic_load(ctrl, k * SLOT + DONE) == job:
            return True
        yield_cpu()             # (another process's thread may need this core)
    return False


@njit(**_fast)
def _wait_posted(ctrl, k, seen, spins):
    """The next job posted to worker k after ``seen``, checked ``spins`` times;
    0 when none came: the worker is then marked asleep, and checks once more.
    A job posted meanwhile is then either seen here or, since whoever posts
    reads the mark after posting (``_Pool.post``), followed by a wake-up."""
    i = k * SLOT + POSTED
    for _ in range(spins):
        job = atomic_load(ctrl, i)
        if job != seen:
            return job
        yield_cpu()
    atomic_store(ctrl, k * SLOT + ASLEEP, 1)
    job = atomic_load(ctrl, i)
    if job != seen:
        atomic_store(ctrl, k * SLOT + ASLEEP, 0)
        return job
    return 0


@njit(**_fast)
def _finish(ctrl, k, job, spins):
    """Worker k: report job ``job`` done, then wait for the next (one call, without
    the GIL, so that the thread waiting for 'done' never waits for the GIL)."""
    _done(ctrl, k, job)
    return _wait_posted(ctrl, k, job, spins)


@njit(**_fast)
def _done(ctrl, k, job):
    atomic_store(ctrl, k * SLOT + DONE, job)


@njit(**_fast)
def _awake(ctrl, k):
    atomic_store(ctrl, k * SLOT + ASLEEP, 0)


@njit(**_fast)
def _asleep(ctrl, k):
    return atomic_load(ctrl, k * SLOT + ASLEEP) != 0


class _Pool:
    """Workers 1 .. size; this thread is block 0."""

    def __init__(self, size):
        self.size = size
        self.ctrl = np.zeros(SLOT * (size + 1), np.int64)
        self.jobs = [None] * (size + 1)
        self.errors = [None] * (size + 1)
        self.wake = [threading.Event() for _ in range(size + 1)]
        self.job = 0
        self.busy = threading.Lock()       # one parallel call at a time
        self.stopped = False
        self.spins = _spins_for(SPIN_SECONDS)
        for k in range(1, size + 1):
            threading.Thread(target=self._work, args=(k,), name=f"annt-{k}", daemon=True).start()

    def _work(self, k):
        ctrl, seen = self.ctrl, 0
        job = _wait_posted(ctrl, k, seen, self.spins)
        while not self.stopped:
            if job == 0:                    # nothing came while spinning: sleep
                self.wake[k].wait()
                self.wake[k].clear()
                _awake(ctrl, k)
                job = _wait_posted(ctrl, k, seen, self.spins)
                continue
            seen = job
            if not _claim(ctrl, k, job):    # this thread ran the block itself
                job = _wait_posted(ctrl, k, seen, self.spins)
                continue
            fn, args = self.jobs[k]
            try:
                fn(*args)
            except BaseException as e:      # raised in the calling thread
                self.errors[k] = e
            fn = args = None                # hold no array while waiting (see Layer._scratch)
            job = _finish(ctrl, k, seen, self.spins)

    def post(self, n, calls):
        """A new job: calls[k] for worker k; wakes the workers that sleep (each
        comes when it can; until then its block waits to be taken by either)."""
        self.job += 1
        self.jobs[1:n] = calls[1:]
        _post(self.ctrl, n, self.job)
        for k in range(1, n):
            if _asleep(self.ctrl, k):
                self.wake[k].set()
        return self.job

    def wait(self, n, job):
        """After the calling thread's share: wait until every block is done,
        raise a worker's error."""
        for k in range(1, n):
            while not _wait_done(self.ctrl, k, job, self.spins):
                time.sleep(1e-4)            # a worker the system has not scheduled
        errors = [e for e in self.errors[1:n] if e is not None]
        self.errors[1:n] = [None] * (n - 1)
        self.jobs[1:n] = [None] * (n - 1)  # the job's arrays are the caller's again
        if errors:
            raise errors[0]

    def stop(self):
        self.stopped = True
        self.job += 1
        _post(self.ctrl, self.size + 1, self.job)
        for event in self.wake:
            event.set()


def _spins_for(seconds):
    """How many checks of a slot take about ``seconds`` on this machine."""
    ctrl = np.zeros(SLOT * 2, np.int64)
    n = 2_000
    _wait_done(ctrl, 1, 1, 10)              # compiled (or loaded) before timing
    t0 = time.perf_counter()
    _wait_done(ctrl, 1, 1, n)
    elapsed = max(time.perf_counter() - t0, 1e-6)
    return max(int(n * seconds / elapsed), 1000)


def _workers(n):
    """A pool of at least n - 1 workers (created on first use, grown when needed)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.size < n - 1:
            if _pool is not None:
                _pool.stop()
            _pool = _Pool(n - 1)
        return _pool


def _forget_pool():
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()    # the child of a fork has no workers


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def block_bounds(N):
    """The blocks ``(b0, b1)`` that ``run_blocks`` cuts a batch of N into."""
    n = n_blocks(N)
    return [(k * N // n, (k + 1) * N // n) for k in range(n)]


def run_blocks(rows, N, *args):
    """Run ``rows(*args, b0, b1)`` over the batch ``0 .. N-1``: on this thread
    when one block is enough, else on ``n_blocks(N)`` blocks at once."""
    bounds = block_bounds(N)
    if len(bounds) == 1:
        rows(*args, 0, N)
        return
    _run(len(bounds), [(rows, args + b) for b in bounds])


def run_parts(part, n, R, *args):
    """Run ``part(*args, k, r0, r1)`` for the n blocks k of rows ``0 .. R-1`` at once."""
    _run(n, [(part, args + (k, k * R // n, (k + 1) * R // n)) for k in range(n)])


def _run(n, calls):
    """calls[k] = (fn, args): run them at once, calls[0] on this thread, the others
    on the workers, or here when a worker has not taken its call yet. Another
    thread's call meanwhile runs all its calls on its own thread."""
    pool = _workers(n)
    if not pool.busy.acquire(blocking=False):
        for fn, a in calls:
            fn(*a)
        return
    try:
        job = pool.post(n, calls)
        error = None
        for k in range(n):
            if k == 0 or _claim(pool.ctrl, k, job):
                try:
                    fn, a = calls[k]
                    fn(*a)
                except BaseException as e:
                    error = error or e
                _done(pool.ctrl, k, job)
        pool.wait(n, job)
        if error is not None:
            raise error
    finally:
        pool.busy.release()
