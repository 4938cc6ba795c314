"""The large matrix products of a layer, split over annt's threads.

Besides its time loop, a recurrent layer makes a few products over all steps
of the batch at once: the input projections ``X U`` (forward), and in the
backward pass the weight gradients ``X^T dA``, ``H_prev^T dA`` and the input
gradient ``dA U^T``. Each has N*T rows. BLAS runs on one thread inside annt
(see ``annt._threads``), so these products are cut into blocks of rows, one
per thread, like the sequences of the time-loop kernels:

* ``matmul(A, B)``: each thread computes its rows of ``A B``;
* ``matmul_tn(A, B)`` = ``A^T B``, a sum over the rows: each thread sums its
  block into a partial result, and the partial results are added in block
  order (so the result depends on the number of threads only in its last bits,
  and not at all from run to run).

The NumPy reference backend (``reference.matmul``...) is the plain product.
"""
import numpy as np
from numba import njit

from ._blas import gemm_
from ._parallel import get_num_threads, run_parts

MIN_ROWS_PER_BLOCK = 2048    # below this, handing a share to another thread (tens of us) does not pay

_serial = dict(cache=True, nogil=True)


@njit(**_serial)
def _rows_times(A, B, out, k, r0, r1):
    gemm_(A[r0:r1], B, out[r0:r1], 0.0)


@njit(**_serial)
def _rows_transposed_times(A, B, parts, k, r0, r1):
    gemm_(A[r0:r1].T, B[r0:r1], parts[k], 0.0)


def _blocks(rows):
    return max(1, min(get_num_threads(), rows // MIN_ROWS_PER_BLOCK))


def matmul(A, B, out=None):
    """A (R, K) @ B (K, M) -> (R, M); A C-contiguous, B C- or F-contiguous."""
    R = A.shape[0]
    if out is None:
        out = np.empty((R, B.shape[1]), np.result_type(A, B))
    n = _blocks(R)
    if n == 1:
        np.dot(A, B, out)
    else:
        run_parts(_rows_times, n, R, A, B, out)
    return out


def matmul_tn(A, B, out=None):
    """A (R, K)^T @ B (R, M) -> (K, M), a sum over the R rows; split over threads when
    A and B are C-contiguous and R is large, else one np.dot."""
    R = A.shape[0]
    shape = (A.shape[1], B.shape[1])
    if out is None:
        out = np.empty(shape, np.result_type(A, B))
    n = _blocks(R)
    if n == 1 or not (A.flags.c_contiguous and B.flags.c_contiguous):
        np.dot(A.T, B, out)         # (NumPy takes strided views such as column blocks)
        return out
    parts = np.empty((n,) + shape, out.dtype)
    run_parts(_rows_transposed_times, n, R, A, B, parts)
    np.copyto(out, parts[0])
    for k in range(1, n):
        out += parts[k]
    return out
