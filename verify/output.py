"""Where the ``verify`` command writes: output paths probed before any long work, files written atomically.

* :func:`probe_file` checks, before the run, that a file can be written at a path: not empty, not an existing
  directory, device, FIFO or socket (:func:`theory.files.check_writable_target`; a symbolic link is judged by
  what it points to, and written through), not one of the run's input files, its directory exists, and a
  temporary file can be created (and removed) there. ``-`` means standard output and is always accepted.
* :func:`write_text_atomic` writes to a temporary file in the target's directory and renames it over the
  target (:func:`os.replace`), so a reader never sees a partial file and a failed write leaves the old file
  (or nothing) in place.
* :func:`write_json` writes a report to a path, or to standard output for ``-``.

Every failure is a :class:`~theory.errors.VerifyError` naming the flag and the path, one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from theory import files
from theory.errors import VerifyError

STDOUT = "-"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _same_file(a: Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def probe_file(path: str | Path, flag: str, inputs: Iterable[str | Path] = ()) -> None:
    """Fail now (VerifyError) if a file cannot be written at ``path``; ``-`` (standard output) always passes.

    Refused: an empty path; an existing directory, device, FIFO or socket (also behind a symbolic link); a file
    that is one of ``inputs`` (the same inode: the run would overwrite what it reads).  The probe then creates
    and removes a temporary file in the target's directory, so a missing directory, a read-only place and a full
    device (no room for a directory entry) are all found before the run.
    """
    text = str(path)
    if text == STDOUT:
        return
    if not text:
        raise VerifyError(f"{flag}: expected a file path or '-' for standard output, got an empty string")
    try:
        target = files.check_writable_target(text)
    except VerifyError as exc:
        raise VerifyError(f"{flag}: {exc}") from None
    for source in inputs:
        if _same_file(target, source):
            raise VerifyError(f"{flag}: {text!r} is the input file {str(source)!r} (the run would overwrite it)")
    parent = target.parent
    if not parent.is_dir():
        raise VerifyError(f"{flag}: directory {str(parent)!r} does not exist")
    _probe_in(parent, flag, text)


def _probe_in(directory: Path, flag: str, text: str) -> None:
    """Create, write a few bytes to and remove a temporary file in ``directory`` (short name: any target fits)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp", suffix=".probe", dir=directory)
        try:
            os.write(fd, b"{}\n")  # a byte of data: a full device fails here rather than after the run
        finally:
            os.close(fd)
            os.unlink(tmp)
    except OSError as exc:
        raise VerifyError(f"{flag}: cannot write to {text!r}: {_reason(exc)}") from None


_NAMED: ContextVar[str | None] = ContextVar("verify_output_flag", default=None)


@contextlib.contextmanager
def files_for(flag: str) -> Iterator[None]:
    """Inside the block, a write that fails names ``flag`` (the figures of ``--report DIR`` are written by the
    figure code, which otherwise names ``--plot``)."""
    token = _NAMED.set(flag)
    try:
        yield
    finally:
        _NAMED.reset(token)


def write_text_atomic(path: str | Path, text: str, flag: str = "output") -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory and :func:`os.replace`.

    On any failure the temporary file is removed and ``path`` is left as it was; the error is a VerifyError.
    """
    return write_bytes_atomic(path, text.encode("utf-8"), flag)


def write_bytes_atomic(path: str | Path, data: bytes, flag: str = "output") -> Path:
    """Bytes version of :func:`write_text_atomic` (:func:`theory.files.write_bytes_atomic`, its OSError as a
    VerifyError naming ``flag``)."""
    flag = _NAMED.get() or flag
    try:
        return files.write_bytes_atomic(path, data)
    except VerifyError as exc:
        raise VerifyError(f"{flag}: {exc}") from None
    except OSError as exc:
        raise VerifyError(f"{flag}: cannot write {str(path)!r}: {_reason(exc)}") from None


def json_text(report: Any) -> str:
    """The report as indented JSON text (the report's own fields decide its content; nothing is coerced here)."""
    return json.dumps(report, indent=2) + "\n"


def write_json(path: str | Path, report: Any, flag: str = "--json") -> str:
    """Write ``report`` as JSON to ``path`` atomically, or to standard output when ``path`` is ``-``.

    Returns where it went (the path, or ``<stdout>``).
    """
    text = json_text(report)
    if str(path) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return "<stdout>"
    return str(write_text_atomic(path, text, flag))


def probe_dir(path: str | Path, flag: str, files_inside: Iterable[str] = (), inputs: Iterable[str | Path] = ()) -> None:
    """Fail now (VerifyError) if files cannot be written into directory ``path``; nothing is created.

    An existing directory must take a temporary file; a missing one needs its nearest existing ancestor to be a
    writable directory (it is created only when the first file is written, so a failed run leaves no empty one).
    ``files_inside``: names the run writes in it, each checked like :func:`probe_file` (not a device, FIFO,
    socket or directory, not one of ``inputs``).
    """
    text = str(path)
    if not text:
        raise VerifyError(f"{flag}: expected a directory path, got an empty string")
    target = Path(text)
    probe_at = target
    while not probe_at.exists():
        if probe_at.is_symlink():  # a dangling link
            raise VerifyError(f"{flag}: {str(probe_at)!r} is a broken symbolic link")
        if probe_at.parent == probe_at:
            break
        probe_at = probe_at.parent
    if not probe_at.is_dir():
        raise VerifyError(f"{flag}: cannot write to {text!r}: {str(probe_at)!r} is not a directory")
    _probe_in(probe_at, flag, text)
    for name in files_inside:
        inside = target / name
        try:
            checked = files.check_writable_target(inside)
        except VerifyError as exc:
            raise VerifyError(f"{flag}: {exc}") from None
        for source in inputs:
            if _same_file(checked, source):
                raise VerifyError(f"{flag}: {str(inside)!r} is the input file {str(source)!r} (the run would overwrite it)")
