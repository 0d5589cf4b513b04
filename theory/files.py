"""Files, shared by every package: atomic writes that never replace what is not a regular file, and reads with a cap.

Results are written whole or not at all (never pickle).  A write goes to a temporary file beside the target and
is renamed over it, so a reader sees the old file or the new one, never a part; before the rename the target is
looked at, and a device (``/dev/null``), a FIFO, a socket or a directory is refused instead of replaced.  A
symbolic link is written *through*: the file it points to is replaced (atomically, in that file's directory), the
link itself stays.  Temporary names are short (``.tmp`` and 8 random characters), so any legal target name works.

Standard library only: the ``verify`` command checks its outputs with this before numpy or torch load.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from theory.errors import VerifyError

__all__ = ["check_writable_target", "read_bytes_capped", "resolve_target", "write_bytes_atomic", "write_text_atomic"]

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))
_CHUNK = 1 << 16


def resolve_target(path: str | Path) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or the end of its chain of symbolic links."""
    target = Path(path)
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def check_writable_target(path: str | Path) -> Path:
    """The resolved target (:func:`resolve_target`), or VerifyError when it exists and is not a regular file
    (a directory, a device, a FIFO or a socket: replacing it would destroy it, or its reader would never get the
    data).  An empty path is a VerifyError too."""
    if not str(path):
        raise VerifyError("expected a file path, got an empty string")
    target = resolve_target(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise VerifyError(f"{str(path)!r}: cannot be examined ({exc.strerror or type(exc).__name__})") from None
    for test, kind in _KINDS:
        if test(mode):
            via = f" (via the symbolic link {str(path)!r})" if target != Path(path) else ""
            raise VerifyError(f"{str(target)!r}{via} is {kind}, not a regular file; it is never replaced")
    return target


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the target's directory, flushed to disk, then
    :func:`os.replace`: a reader sees the old file or the new one, never a part.  A symbolic link is written
    through (its final target is replaced); a target that is not a regular file is a VerifyError
    (:func:`check_writable_target`), looked at again just before the rename.  On any failure the temporary file
    is removed, the target is left as it was, and the error (an ``OSError`` or the VerifyError) propagates.
    Returns ``path`` as given."""
    target = check_writable_target(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        check_writable_target(path)  # it may have changed while the data was written
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(path)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """:func:`write_bytes_atomic` of ``text`` in UTF-8."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def read_bytes_capped(path: str | Path, limit: int) -> bytes | None:
    """The bytes of ``path``, or None when it holds more than ``limit`` bytes.  Read in 64 KiB chunks, so memory
    stays within the file's size plus a chunk whatever ``limit`` is (a file that grows while it is read is cut at
    ``limit + 1`` bytes).  ``OSError`` propagates."""
    chunks: list[bytes] = []
    total = 0
    with open(path, "rb") as handle:
        while total <= limit:
            chunk = handle.read(min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    return None if total > limit else b"".join(chunks)
