"""Splitting a batch over the cores.

Sequences are independent, so each kernel has a serial ``_rows`` function that
runs the whole time loop of sequences ``b0 .. b1-1``, and a parallel
``_blocks`` function that hands one contiguous block of sequences to each
thread. The serial functions are compiled on their own, outside Numba's
parallel transformation, which keeps their inner loops vectorised (inside a
``prange`` body the same loops ran about twice as slowly here). Small batches
stay on one thread: starting threads costs more than it saves.

The number of blocks is chosen here, in Python, and passed in: calling
``numba.get_num_threads()`` inside a compiled function would stop Numba from
caching it (a "dynamic global"), and every process would compile again.
"""
import numba

MIN_ROWS_PER_THREAD = 8


def n_blocks(N):
    """How many blocks of sequences to run in parallel for a batch of N."""
    if N < 2 * MIN_ROWS_PER_THREAD:
        return 1
    return max(min(numba.get_num_threads(), N // MIN_ROWS_PER_THREAD), 1)


def run_blocks(rows, blocks, N, *args):
    """Run ``rows(*args, 0, N)`` on this thread when one block is enough, else
    ``blocks(*args, n)``, which gives each of n threads a block of rows.

    Entering a parallel region costs tens of microseconds (waking the thread
    pool), which would dominate step-by-step inference on a single sequence.
    """
    n = n_blocks(N)
    if n == 1:
        rows(*args, 0, N)
    else:
        blocks(*args, n)
