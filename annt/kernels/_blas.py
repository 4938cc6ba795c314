"""Matrix products inside the kernels: ``gemm_(A, B, C, beta)`` is C = A B + beta C.

Numba compiles ``np.dot`` into a call of SciPy's BLAS. NumPy's wheels bring a
BLAS of their own (OpenBLAS, built separately), and at the kernels' small
shapes (a block of 32 sequences by 128 units by 512 gates, say) NumPy's was
measured a third faster here. ``gemm_`` calls NumPy's CBLAS ``sgemm``/``dgemm``
when it finds them, SciPy's Fortran BLAS otherwise (through a small adapter
with the same C signature). It also accumulates (``beta = 1``), which
``np.dot`` cannot: the recurrent product of a step is added straight onto the
input projection.

How a compiled, cached kernel finds a function of a library loaded at run
time: each process registers the function's address under a fixed symbol name
(``llvmlite.binding.add_symbol``) when this module is imported, and the
kernels call that name (``numba.types.ExternalFunction``), which the linker
resolves then. The cached machine code stays valid whatever the address.

Operands are row-major blocks with unit stride along their rows (a C array,
a block of its rows ``A[r0:r1]``, the rows of one step ``xw[b0:b1, t]`` of a
3-D array) or the transpose of one (``U.T``, ``A[r0:r1].T``: Numba types
these 'F', and they are passed as transposed). C must be row-major.
"""
import ctypes
import glob
import os

import llvmlite.binding as llb
import numpy as np
from numba import cfunc, types
from numba.extending import get_cython_function_address, overload

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
_F32, _F64 = types.float32, types.float64


def _signature(f):
    p = types.intp      # pointers are passed as integers (same calling convention)
    i = types.int64
    return types.void(types.int32, types.int32, types.int32, i, i, i, f, p, i, p, i, f, p, i)


_SYMBOL = {_F32: "annt_cblas_sgemm", _F64: "annt_cblas_dgemm"}
_EXTERNAL = {f: types.ExternalFunction(_SYMBOL[f], _signature(f)) for f in (_F32, _F64)}


# ---------------------------------------------------------------- NumPy's CBLAS
def _numpy_cblas():
    """{float type: address} of NumPy's bundled 64-bit-integer CBLAS gemm, or {}."""
    root = os.path.dirname(os.path.dirname(np.__file__))
    found = {}
    for lib in sorted(glob.glob(os.path.join(root, "numpy.libs", "*openblas64_*"))):
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        for ftype, names in ((_F32, ("scipy_cblas_sgemm64_", "cblas_sgemm64_")),
                             (_F64, ("scipy_cblas_dgemm64_", "cblas_dgemm64_"))):
            for name in names:
                fn = getattr(handle, name, None)
                if fn is not None:
                    found[ftype] = ctypes.cast(fn, ctypes.c_void_p).value
                    break
        if len(found) == 2:
            return found
    return {}


# ---------------------------------------------------------------- SciPy's BLAS
def _f77_type(f):
    return types.void(*[types.intp] * 13)      # Fortran: every argument by address


_F77 = {f: types.ExternalFunction(f"annt_f77_{'s' if f is _F32 else 'd'}gemm", _f77_type(f))
        for f in (_F32, _F64)}


def _register_f77():
    """SciPy's Fortran gemm under the names the adapters call. Importing SciPy's
    BLAS takes about 0.2 s, so it is done only where an adapter is needed."""
    for letter in "sd":
        llb.add_symbol(f"annt_f77_{letter}gemm",
                       get_cython_function_address("scipy.linalg.cython_blas", f"{letter}gemm"))


def _adapter(ftype):
    """A C function with CBLAS's row-major signature that calls SciPy's Fortran
    gemm (column-major): C = A B in rows is C^T = B^T A^T in columns."""
    _register_f77()
    f77 = _F77[ftype]
    np_type = np.float32 if ftype is _F32 else np.float64
    sig = _signature(ftype)

    def gemm(order, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
        ints = np.empty(6, np.int32)
        scal = np.empty(2, np_type)
        chars = np.empty(2, np.uint8)
        chars[0] = 84 if trans_b == TRANS else 78      # 'T' / 'N'
        chars[1] = 84 if trans_a == TRANS else 78
        ints[0], ints[1], ints[2] = N, M, K
        ints[3], ints[4], ints[5] = ldb, lda, ldc
        scal[0], scal[1] = alpha, beta
        c, i, s = chars.ctypes.data, ints.ctypes.data, scal.ctypes.data
        w = scal.itemsize
        f77(c, c + 1, i, i + 4, i + 8, s, B, i + 12, A, i + 16, s + w, C, i + 20)
    return cfunc(sig, cache=True)(gemm)


def _register():
    numpy_cblas = _numpy_cblas()
    for ftype in (_F32, _F64):
        address = numpy_cblas.get(ftype)
        if address is None:
            address = _adapter(ftype).address
        llb.add_symbol(_SYMBOL[ftype], address)
    return "numpy-cblas" if numpy_cblas else "scipy-f77"


BACKEND = _register()   # which BLAS the kernels call: "numpy-cblas" or "scipy-f77"


# ---------------------------------------------------------------- the kernels' calls
def gemm_(A, B, C, beta):
    """C = A @ B + beta * C (pure-Python fallback; the kernels compile the overload)."""
    C[...] = A @ B + beta * C


def _operand(layout):
    """How a 2-D operand of this layout is handed to row-major CBLAS: (transposed?,
    axis whose stride is the leading dimension). 'F' is a transposed C array
    (``U.T``); 'C' and 'A' (a block of rows of a 3-D array) have unit stride
    along their rows."""
    return (True, 1) if layout == "F" else (False, 0)


@overload(gemm_, inline="always")
def _gemm_overload(A, B, C, beta):
    ext = _EXTERNAL[C.dtype]
    ftype = C.dtype
    size = C.dtype.bitwidth // 8
    trans_a, axis_a = _operand(A.layout)
    trans_b, axis_b = _operand(B.layout)
    ta = TRANS if trans_a else NO_TRANS
    tb = TRANS if trans_b else NO_TRANS

    def impl(A, B, C, beta):
        M, K = A.shape
        N = B.shape[1]
        # a leading dimension is the stride between rows (of the stored matrix);
        # an axis of length 1 may have any stride (NumPy gives x[None] stride 0),
        # while BLAS wants at least the row length
        lda = max(A.strides[axis_a] // size, A.shape[1 - axis_a])
        ldb = max(B.strides[axis_b] // size, B.shape[1 - axis_b])
        ldc = max(C.strides[0] // size, N)
        ext(ROW_MAJOR, ta, tb, M, N, K, ftype(1.0), A.ctypes.data, lda,
            B.ctypes.data, ldb, ftype(beta), C.ctypes.data, ldc)
    return impl
