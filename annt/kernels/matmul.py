"""The large matrix products of a layer, split over annt's threads.

Besides its time loop, a recurrent layer makes a few products over all steps
of the batch at once: the input projections ``X U`` (forward), and in the
backward pass the weight gradients ``X^T dA``, ``H_prev^T dA`` and the input
gradient ``dA U^T``. Each has N*T rows. BLAS runs on one thread inside annt
(see ``annt._threads``), so these products are cut into blocks of rows, one
per thread, like the sequences of the time-loop kernels:

* ``matmul(A, B)``: each thread computes its rows of ``A B`` (when the product
  is worth a second thread: the MNIST model's input projection, 1344 rows by
  28 by 168, is; at the book's shapes the numbers are those of one product);
* ``matmul_tn(A, B)`` = ``A^T B``, a sum over the rows: each thread sums its
  block into a partial result, and the partial results are added in block
  order (so the result depends on the number of threads only in its last bits,
  and not at all from run to run);
* ``matmul_tn_many([(A, B, out), ...])``: a layer's weight gradients, several
  products ``A^T B`` of the same rows. When each is too small to split, the
  products themselves are shared out over the threads; each is still one
  product on one thread, so the numbers are those of one after another.

* ``column_sums(A, out)``: the bias gradients, ``sum dA`` over the rows, in one
  pass on this thread (NumPy's ``A.sum(axis=0)`` takes 40 us for the MNIST
  model's 1344 x 168, this loop 4 us; both add the rows in order, so the
  numbers are the same).

Numbers first: the chapters' stored results come from training runs in
float32, where a changed last bit early on can change where a run ends. So
every path here gives NumPy's own numbers, or those of one product split into
blocks of rows (which BLAS computes alike: the tests check it at many shapes).

The NumPy reference backend (``reference.matmul``...) is the plain product.
"""
import numpy as np
from numba import njit

from ._blas import gemm_
from ._parallel import _run, get_num_threads, run_parts

MIN_ROWS_PER_BLOCK = 2048    # matmul_tn: below this, a sum is not split (its numbers would change)
MIN_MACS_PER_BLOCK = 1_000_000   # matmul: a block of rows worth a hand-off (about 15 us)
MIN_MACS_TO_SHARE = 2_000_000    # multiply-adds of several products worth a second thread

_serial = dict(cache=True, nogil=True)


@njit(**_serial)
def _rows_times(A, B, out, k, r0, r1):
    gemm_(A[r0:r1], B, out[r0:r1], 0.0)


@njit(**_serial)
def _rows_times_plus(A, B, add, out, k, r0, r1):
    # out = A B + add for the block's rows: its share of the bias too, so that
    # the pass over the whole array (1.3 ms of the LSTM's training step, 6400 x
    # 512, most of it memory traffic) is split over the threads. The product is
    # one call per block: BLAS gives the rows of smaller calls (chunks of a few
    # hundred rows) other last bits at some shapes (measured), a block's rows
    # the same bits as one product.
    gemm_(A[r0:r1], B, out[r0:r1], 0.0)
    for r in range(r0, r1):
        o = out[r]
        for j in range(o.shape[0]):
            o[j] += add[j]


@njit(**_serial)
def _rows_transposed_times(A, B, parts, k, r0, r1):
    gemm_(A[r0:r1].T, B[r0:r1], parts[k], 0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _column_sums(A, out):
    out[:] = 0
    for r in range(A.shape[0]):
        a = A[r]
        for j in range(a.shape[0]):
            out[j] += a[j]


def column_sums(A, out):
    """out = A.sum(axis=0), with NumPy's numbers.   A (R, M), out (M,).
    NumPy adds the rows of an array of several columns one after another, as
    the loop here does; a single column it sums as a vector, pairwise, and its
    numbers are kept by letting NumPy sum it."""
    if A.shape[1] == 1:
        out[...] = A.sum(axis=0)
    else:
        _column_sums(A, out)


def _blocks(rows):
    return max(1, min(get_num_threads(), rows // MIN_ROWS_PER_BLOCK))


def _row_blocks(R, macs):
    """How many blocks of rows a product of ``macs`` multiply-adds over R rows
    is cut into. Each row is still one BLAS product of a row by B: the numbers
    agree with one product's to rounding, and at the shapes of the book's
    models (checked in the tests) they are the same."""
    return max(1, min(get_num_threads(), R // 8, macs // MIN_MACS_PER_BLOCK))


def _blas_operands(A, B):
    """True when the kernels' gemm_ takes A and B as they are: rows of unit
    stride that do not overlap (a C array, a block of one's rows, the last step
    of a 3-D array; not a broadcast row) and B C- or F-contiguous."""
    return (A.ndim == 2 and A.strides[1] == A.itemsize
            and (A.shape[0] < 2 or A.strides[0] >= A.shape[1] * A.itemsize)
            and A.dtype == B.dtype and (B.flags.c_contiguous or B.flags.f_contiguous))


def matmul(A, B, out=None, add=None):
    """A (R, K) @ B (K, M) (+ add, a row (M,) added to every row: a bias) -> (R, M);
    A C-contiguous, B C- or F-contiguous."""
    R = A.shape[0]
    if out is None:
        out = np.empty((R, B.shape[1]), np.result_type(A, B))
    n = _row_blocks(R, R * A.shape[1] * B.shape[1])
    if n == 1 or not _blas_operands(A, B) or (add is not None and add.dtype != out.dtype):
        np.dot(A, B, out)
        if add is not None:
            out += add
    elif add is not None:
        run_parts(_rows_times_plus, n, R, A, B, add, out)
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


def matmul_tn_many(products):
    """Several independent products ``A^T B``, given as ``[(A, B, out), ...]`` (``out``
    (K, M), may be a view such as a column block of a gradient). Each is computed as
    :func:`matmul_tn` computes it. When none of them is split over the threads and
    together they are worth it, the products are shared out instead: this thread
    takes the first share, annt's workers the others, each product one ``np.dot``
    (which releases the GIL), so the numbers do not depend on the sharing."""
    n = min(get_num_threads(), len(products))
    macs = sum(A.shape[0] * A.shape[1] * B.shape[1] for A, B, _ in products)
    if n == 1 or macs < MIN_MACS_TO_SHARE or any(_blocks(A.shape[0]) > 1 for A, _, _ in products):
        for A, B, out in products:
            _product_tn(A, B, out)
        return
    shares, loads = [[] for _ in range(n)], [0] * n
    for A, B, out in sorted(products, key=lambda p: -p[0].shape[0] * p[0].shape[1] * p[1].shape[1]):
        k = loads.index(min(loads))         # the largest product to the least loaded share
        shares[k].append((A, B, out))
        loads[k] += A.shape[0] * A.shape[1] * B.shape[1]
    # the heaviest share on this thread: it starts at once, a worker a little later
    shares = [share for _, share in sorted(zip(loads, shares), key=lambda p: -p[0])]
    _run(n, [(_products_tn, (share,)) for share in shares])


def _product_tn(A, B, out):
    if out.flags.c_contiguous:
        matmul_tn(A, B, out=out)
    else:
        out[...] = matmul_tn(A, B)


def _products_tn(share):
    for A, B, out in share:
        _product_tn(A, B, out)
