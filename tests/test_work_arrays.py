"""Work arrays kept from one pass to the next (``Layer._scratch``), and the
small kernels that replaced NumPy calls in a training step.

A recurrent layer reuses the arrays of its previous pass (gates, projections,
gradients) instead of allocating them again, but only when nothing outside
the layer still refers to them: an output the caller kept, or a view of it,
is never overwritten.
"""
import sys
import weakref

import numpy as np
import pytest

import annt
from annt.kernels import column_sums, matmul, reference
from annt.kernels import _parallel


def _refs(layer):
    # weak references: they do not count as holders (so they do not stop a reuse), and
    # unlike id() they cannot mistake a new array at a freed one's address for the old one
    return {name: weakref.ref(a) for name, a in layer.__dict__.get("_work", {}).items()}


def _mnist_model(return_sequences=False, cls=annt.GRU):
    annt.set_seed(0)
    net = annt.Network([cls(28, 56, return_sequences=return_sequences), annt.Dense(56, 10),
                        annt.Softmax()])
    return net, annt.NetworkTraining(net, annt.CrossEntropy(), annt.Adam(0.001))


@pytest.mark.parametrize("cls", [annt.GRU, annt.LSTM])
def test_a_training_step_reuses_the_layer_s_arrays(cls):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (48, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, (48, 28))
    net, trainer = _mnist_model(True, cls)
    trainer.train_batch(X, y)
    first = _refs(net.layers[0])
    for name in ("xw", "Gs", "dY", "h_prev"):
        assert name in first
    for _ in range(3):
        trainer.train_batch(X, y)
    work = net.layers[0]._work
    # everything but Hs, whose view the Dense layer's cache still holds, is the same array
    reused = {name for name, ref in first.items() if ref() is work[name]}
    assert reused == set(first) - {"Hs"}


def test_an_output_the_caller_keeps_is_never_overwritten():
    rng = np.random.default_rng(1)
    layer = annt.GRU(5, 7)
    x1, x2 = (rng.standard_normal((4, 6, 5)).astype(np.float32) for _ in range(2))
    y1 = layer.forward(x1)
    kept = y1.copy()
    view = layer.forward(x1)[:, 2:]                  # only a view of the second output is kept
    kept_view = view.copy()
    y3 = layer.forward(x2)
    assert np.array_equal(y1, kept) and np.array_equal(view, kept_view)
    assert not np.shares_memory(y3, y1) and not np.shares_memory(y3, view)
    # and a layer's gradients do not depend on whether its arrays were reused
    dy = rng.standard_normal(y3.shape).astype(np.float32)
    dx = layer.backward(dy)
    fresh = annt.GRU(5, 7)
    for k in layer.params:
        fresh.params[k][...] = layer.params[k]
    fresh.forward(x2)
    dx_fresh = fresh.backward(dy)
    assert np.array_equal(dx, dx_fresh)
    for k in layer.grads:
        assert np.array_equal(layer.grads[k], fresh.grads[k])


def test_arrays_of_another_shape_or_dtype_are_new():
    layer = annt.GRU(3, 4)
    layer._scratch("a", (2, 3))
    a = id(layer._work["a"])
    assert id(layer._scratch("a", (2, 3))) == a
    assert id(layer._scratch("a", (3, 2))) != a
    b = layer._scratch("a", (3, 2), np.float64)
    assert b.dtype == np.float64


def test_the_pool_keeps_no_reference_to_a_job_s_arrays(threads):
    annt.set_num_threads(2)
    seen = []

    def part(a, k, r0, r1):
        a[r0:r1] = k
        seen.append(k)

    a = np.zeros(64)
    before = sys.getrefcount(a)
    for _ in range(5):
        _parallel.run_parts(part, 2, 64, a)
    assert sorted(set(seen)) == [0, 1]
    assert sys.getrefcount(a) == before


@pytest.mark.parametrize("shape", [(1344, 168), (6400, 512), (48, 10), (5, 3), (0, 4),
                                   (1344, 1), (100, 1), (16, 1), (9, 2)])
def test_column_sums_are_numpy_s_to_the_last_bit(shape):
    A = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    out = np.full(shape[1], np.nan, np.float32)
    column_sums(A, out)
    assert np.array_equal(out, A.sum(axis=0))
    view = A[:, 1:]                                  # a column block, as the GRU's b_hn takes
    out = np.empty(view.shape[1], np.float32)
    column_sums(view, out)
    assert np.array_equal(out, view.sum(axis=0))
    ref = np.empty_like(out)
    reference.column_sums(view, ref)
    assert np.array_equal(ref, out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("R, K, M", [(1344, 28, 168), (1344, 168, 28), (6400, 128, 10),
                                     (6400, 64, 512), (6400, 10, 128), (1344, 64, 168),
                                     (5000, 128, 5), (6400, 128, 2), (700, 30, 1),
                                     (5000, 1, 30), (512, 64, 10), (3000, 30, 10)])
def test_matmul_split_over_threads_gives_numpy_s_numbers(R, K, M, n_threads, dtype, threads):
    # the book's models' products (MNIST's input projection and its dX, the LSTM's
    # Dense forward and backward and its input projection) and shapes at which
    # smaller BLAS calls than one per block of rows gave other last bits
    annt.set_num_threads(n_threads)
    rng = np.random.default_rng(3)
    A = rng.standard_normal((R, K)).astype(dtype)
    B = rng.standard_normal((K, M)).astype(dtype)
    assert np.array_equal(matmul(A, B), A @ B)
    BT = np.ascontiguousarray(B.T)
    assert np.array_equal(matmul(A, BT.T), A @ BT.T)     # (NumPy's own numbers for this layout)
    strided = np.repeat(A, 2, axis=1)[:, ::2]        # rows without unit stride: NumPy's product
    assert np.array_equal(matmul(strided, B), A @ B)
    broadcast = np.broadcast_to(A[3], A.shape)       # one row, R times (stride 0)
    np.testing.assert_allclose(matmul(broadcast, B), np.broadcast_to(A[3] @ B, (R, M)),
                               rtol=1e-5, atol=1e-4)
    # with a bias added to every row (chunk by chunk): the product, then the addition
    b = rng.standard_normal(M).astype(dtype)
    expected = A @ B
    expected += b
    assert np.array_equal(matmul(A, B, add=b), expected)
    assert np.array_equal(matmul(strided, B, add=b), expected)
    assert np.array_equal(reference.matmul(A, B, add=b), expected)
