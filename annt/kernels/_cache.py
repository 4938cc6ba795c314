"""Surviving a corrupt Numba cache file.

The kernels are compiled with ``cache=True``: Numba pickles each compiled
kernel into its cache folder (``annt/kernels/__pycache__``, or the folder
``NUMBA_CACHE_DIR`` names) and later processes load it instead of compiling
again. A cache file cut short (a full disk, a crash before the file system
wrote it) made every later run fail in Numba with ``UnpicklingError: pickle
data was truncated``.

annt's kernels (only they: nothing of Numba's changes) load their cache
through :class:`RecoveringCache`: when an entry cannot be read it warns,
naming the cache folder, compiles the kernel again and writes a fresh entry
(Numba writes a temporary file and renames it, so another process reading
the cache at that moment sees the old file or the new one).

Two processes compiling at once (``pytest -n 2``, two notebooks) must not
mix their entries either. Numba numbers a function's data files in the order
its index lists them, so two processes that each read the index before the
other wrote it chose the same number for different entries, and the second
file replaced the first: a kernel variant built for one activation or dtype
was then loaded for another ("can't unbox array", or wrong results). annt's
kernels name each data file by a digest of its key instead
(:class:`KeyedDataFiles`): the same name only for the same entry.
"""
import glob
import hashlib
import os
import warnings

from numba.core.caching import FunctionCache, IndexDataCacheFile
from numba.core.dispatcher import Dispatcher


class CorruptCacheWarning(RuntimeWarning):
    """A Numba cache file of an annt kernel could not be read; the kernel was compiled again."""


def _sources_digest():
    """A digest of every source file of annt's kernels."""
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "*.py"))):
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


SOURCES = _sources_digest()


class RecoveringCache(FunctionCache):
    """Numba's cache of one function, treating an entry it cannot read as missing,
    and keyed on all the kernels' sources.

    Numba keys a cache entry on the function's own bytecode only, but the
    kernels inline functions of other files (``_math``, ``_blas``): after an
    edit there, or an upgrade of annt, a cached kernel would still run the
    old code. The digest of every kernel source file in the key makes such an
    entry a miss, and the kernel is compiled again."""

    def _index_key(self, sig, codegen):
        # Numba's own key: the signature, the target machine, and digests of the
        # bytecode and of the closure's values (which it pickles). A kernel
        # built for one variant (KernelVariants) has the loops it calls in its
        # closure, and a compiled function pickles differently in every process:
        # the entry would never be found again. Such functions are named
        # instead (their source is in SOURCES).
        def digest(data):
            return hashlib.sha256(data).hexdigest()
        closure = self._py_func.__closure__ or ()
        values = "\n".join(_describe(cell.cell_contents) for cell in closure)
        return (sig, codegen.magic_tuple(),
                (digest(self._py_func.__code__.co_code), digest(values.encode())), SOURCES)

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except Exception as e:      # a cache entry that cannot be read means: compile
            base = os.path.join(self.cache_path, self._impl.filename_base)
            warnings.warn(
                f"annt: the Numba cache of the kernel {self._kernel} in the folder "
                f"{self.cache_path} cannot be read ({type(e).__name__}: {e}); annt compiles "
                f"the kernel again and writes a new cache entry. If this warning comes back, "
                f"delete {base}.nbi and {base}.*.nbc, or the whole folder (each kernel is "
                f"then compiled once more)", CorruptCacheWarning, stacklevel=2)
            try:
                self.flush()        # a fresh, empty index: the entry is written anew
            except OSError:
                pass                # a read-only cache: the kernel is compiled every time
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except Exception as e:      # the kernel works; only the next process compiles again
            warnings.warn(f"annt: cannot write the Numba cache of the kernel {self._kernel} "
                          f"to the folder {self.cache_path} ({type(e).__name__}: {e})",
                          CorruptCacheWarning, stacklevel=2)

    @property
    def _kernel(self):
        return f"{self._py_func.__module__}.{self._py_func.__qualname__}"


class KeyedDataFiles(IndexDataCacheFile):
    """Numba's index and data files of one function, each data file named by a
    digest of its entry's key (Numba numbers them, and two processes saving at
    once chose the same number for different entries)."""

    def save(self, key, data):
        name = self._index_name[:-len(".nbi")] + "." + _key_digest(key) + ".nbc"
        self._save_data(name, data)         # the data first: an index entry always finds it
        overloads = self._load_index()
        if overloads.get(key) != name:
            overloads[key] = name
            self._save_index(overloads)


def _key_digest(key):
    return hashlib.sha256(repr(key).encode()).hexdigest()[:20]


def _describe(value):
    """A closure value, the same in every process: a compiled function by its name."""
    if isinstance(value, Dispatcher):
        return f"{value.py_func.__module__}.{value.py_func.__qualname__}"
    return f"{type(value).__name__}:{value!r}"


def recover_from_corrupt_cache(namespace):
    """Give every cached Numba kernel in ``namespace`` (a module's globals) a
    :class:`RecoveringCache`. Returns how many it changed."""
    changed = 0
    for obj in list(namespace.values()):
        cache = getattr(obj, "_cache", None) if isinstance(obj, Dispatcher) else None
        if type(cache) is FunctionCache:
            cache.__class__ = RecoveringCache   # same state, one method more careful
            cache._cache_file.__class__ = KeyedDataFiles
            changed += 1
    return changed


class KernelVariants:
    """Kernels made by ``factory(*key)``, one per key, each built on first use and
    given a :class:`RecoveringCache`: ``variants[key]`` is the kernel.

    A kernel's variant (an activation, a convention) is a variable of the
    factory, which Numba compiles as a constant, dropping the code of the other
    variants: a model compiles only what it uses (a first run's compile time)."""

    def __init__(self, factory):
        self._factory = factory
        self._built = {}

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        kernel = self._built.get(key)
        if kernel is None:      # (two threads may both build it: either result will do)
            kernel = self._factory(*key)
            recover_from_corrupt_cache({"kernel": kernel})
            kernel = self._built.setdefault(key, kernel)
        return kernel

