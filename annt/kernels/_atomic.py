"""Atomic operations on the elements of an int64 array, for Numba code.

annt's threads hand work to each other through a small int64 array (see
``_parallel``): one thread writes a number, another waits until it sees it.
Plain reads in a waiting loop would not do: the compiler may read the value
once and loop forever, and nothing would order the writes before it. These
intrinsics emit LLVM's atomic load, store and compare-and-swap, sequentially
consistent (on x86 a load is a plain load, a store an ``xchg``).

``yield_cpu()`` lets the system run another thread that is ready on this core
(``sched_yield``; ``SwitchToThread`` on Windows): a thread that waits by
checking a number again and again calls it between checks, so that it does
not take the core from a thread with work to do when there are more threads
than cores (two processes training at once, say). It is called by a name
registered in each process, as ``_blas`` calls BLAS, so that the compiled,
cached code stays valid.
"""
import ctypes
import sys

import llvmlite.binding as llb
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _yield_address():
    if sys.platform == "win32":
        return ctypes.cast(ctypes.windll.kernel32.SwitchToThread, ctypes.c_void_p).value
    libc = ctypes.CDLL(None)
    return ctypes.cast(libc.sched_yield, ctypes.c_void_p).value


llb.add_symbol("annt_yield_cpu", _yield_address())
yield_cpu = types.ExternalFunction("annt_yield_cpu", types.int32())


def _pointer(context, builder, sig, args):
    ary_type = sig.args[0]
    ary = context.make_array(ary_type)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, ary_type, ary, [args[1]])


def _check(ary):
    if not (isinstance(ary, types.Array) and ary.ndim == 1 and ary.dtype == types.int64):
        raise TypeError(f"atomic operations need a 1-D int64 array, got {ary}")


@intrinsic
def atomic_load(typingctx, ary, i):
    """``ary[i]``, read from memory every time."""
    _check(ary)
    sig = types.int64(ary, types.intp)

    def codegen(context, builder, sig, args):
        return builder.load_atomic(_pointer(context, builder, sig, args), "seq_cst", 8)
    return sig, codegen


@intrinsic
def atomic_store(typingctx, ary, i, value):
    """``ary[i] = value``, visible to other threads in program order."""
    _check(ary)
    sig = types.void(ary, types.intp, types.int64)

    def codegen(context, builder, sig, args):
        builder.store_atomic(args[2], _pointer(context, builder, sig, args), "seq_cst", 8)
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def atomic_cas(typingctx, ary, i, expected, new):
    """If ``ary[i] == expected``, set it to ``new``, in one indivisible step;
    returns the value found (so the swap happened when it equals ``expected``)."""
    _check(ary)
    sig = types.int64(ary, types.intp, types.int64, types.int64)

    def codegen(context, builder, sig, args):
        pair = builder.cmpxchg(_pointer(context, builder, sig, args), args[2], args[3],
                               "seq_cst", "seq_cst")
        return builder.extract_value(pair, 0)
    return sig, codegen
