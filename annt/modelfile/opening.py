"""Opening a model file to read it, safely.

``open()`` on a named pipe (FIFO) waits for a writer, possibly for ever, and a
device can be read without end; :func:`open_regular` opens without waiting
(``O_NONBLOCK``) and refuses anything that is not a regular file before a
byte is read.
"""
import os
import stat

from ..errors import ModelFileError


def open_regular(path):
    """``path`` opened for binary reading; ModelFileError if it is missing, unreadable
    or not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ModelFileError(f"no model file at {path!r}") from None
    except OSError as e:
        raise ModelFileError(f"cannot read {path!r} as an annt model file: {e.strerror}") \
            from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ModelFileError(f"{path!r} is not an annt model file: it is a {file_kind(mode)}, "
                             f"not a regular file")
    if hasattr(os, "O_NONBLOCK"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def file_kind(mode):
    """What a non-regular file of ``st_mode`` ``mode`` is, in words."""
    kinds = [(stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "named pipe (FIFO)"),
             (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device")]
    return next((name for test, name in kinds if test(mode)), "special file")
