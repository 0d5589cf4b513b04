"""Where the ``verify`` command writes: output paths probed before any long work, files written atomically.

* :func:`probe_file` checks, before the run, that a file can be written at a path: its parent directory exists,
  the path is not a directory, and a temporary file can be created (and removed) next to it. ``-`` means
  standard output and is always accepted.
* :func:`write_text_atomic` writes to a temporary file in the target's directory and renames it over the
  target (:func:`os.replace`), so a reader never sees a partial file and a failed write leaves the old file
  (or nothing) in place.
* :func:`write_json` writes a report to a path, or to standard output for ``-``.

Every failure is a :class:`~theory.errors.VerifyError` naming the flag and the path, one line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from theory import files
from theory.errors import VerifyError

STDOUT = "-"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def probe_file(path: str | Path, flag: str) -> None:
    """Fail now (VerifyError) if a file cannot be written at ``path``; ``-`` (standard output) always passes.

    The probe creates and removes a temporary file in the target's directory, so a missing directory, a
    read-only place and a full device (no room for a directory entry) are all found before the run.
    """
    text = str(path)
    if text == STDOUT:
        return
    if not text:
        raise VerifyError(f"{flag}: expected a file path or '-' for standard output, got an empty string")
    target = Path(text)
    if target.is_dir():
        raise VerifyError(f"{flag}: {text!r} is a directory (expected a file path)")
    parent = target.parent
    if not parent.is_dir():
        raise VerifyError(f"{flag}: directory {str(parent)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=parent)
        try:
            os.write(fd, b"{}\n")  # a byte of data: a full device fails here rather than after the run
        finally:
            os.close(fd)
            os.unlink(tmp)
    except OSError as exc:
        raise VerifyError(f"{flag}: cannot write to {text!r}: {_reason(exc)}") from None


def write_text_atomic(path: str | Path, text: str, flag: str = "output") -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory and :func:`os.replace`.

    On any failure the temporary file is removed and ``path`` is left as it was; the error is a VerifyError.
    """
    return write_bytes_atomic(path, text.encode("utf-8"), flag)


def write_bytes_atomic(path: str | Path, data: bytes, flag: str = "output") -> Path:
    """Bytes version of :func:`write_text_atomic` (:func:`theory.files.write_bytes_atomic`, its OSError as a
    VerifyError naming ``flag``)."""
    try:
        return files.write_bytes_atomic(path, data)
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


def probe_dir(path: str | Path, flag: str) -> None:
    """Fail now (VerifyError) if files cannot be written into directory ``path``; nothing is created.

    An existing directory must take a temporary file; a missing one needs its nearest existing ancestor to be a
    writable directory (it is created only when the first file is written, so a failed run leaves no empty one).
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
    try:
        fd, tmp = tempfile.mkstemp(prefix=".verify-", suffix=".probe", dir=probe_at)
        try:
            os.write(fd, b"{}\n")
        finally:
            os.close(fd)
            os.unlink(tmp)
    except OSError as exc:
        raise VerifyError(f"{flag}: cannot write to {text!r}: {_reason(exc)}") from None
