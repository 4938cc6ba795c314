"""Replacing a file in one step: the new content appears under the target's
name complete, or not at all.

:func:`replace` writes the data to a new temporary file (``.annt-<8 random characters>.tmp``)
in the target's folder, asks the operating system to put it on disk
(``os.fsync``) and renames it over the target with ``os.replace``, which other
programs see as one step. The rename is atomic only within one file system,
hence the folder. If anything fails, the temporary file is removed and the
target is untouched.

The new file is what ``open(path, "w")`` would give: its permissions are
those of the file it replaces, or for a new file those the umask allows (the
operating system applies it as it creates the temporary file). A symbolic
link is followed: the file it points to is replaced and the link stays.
"""
import os
import secrets
import stat

from ..errors import ModelFileError
from .opening import file_kind


def replace(path, data):
    """Write the bytes ``data`` to ``path`` atomically (see the module docstring)."""
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise ModelFileError(f"cannot save to {path!r}: the folder {folder!r} does not exist")
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    except OSError as e:
        raise ModelFileError(f"cannot save to {path!r}: {e.strerror}") from e
    if old is not None and not stat.S_ISREG(old.st_mode):
        raise ModelFileError(f"cannot save to {path!r}: it exists and is not a regular file "
                             f"(a {file_kind(old.st_mode)}); annt replaces only files")
    fd, tmp = _create_temporary(folder, path)
    try:
        if old is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, stat.S_IMODE(old.st_mode))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _create_temporary(folder, path):
    """A new file ``folder/.annt-<8 random characters>.tmp``, created with mode 0666 less the
    umask; returns (file descriptor, name)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".annt-{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as e:
            raise ModelFileError(f"cannot save to {path!r}: cannot create a file in "
                                 f"{folder!r}: {e.strerror}") from e
    raise ModelFileError(f"cannot save to {path!r}: no free temporary name in {folder!r}")

