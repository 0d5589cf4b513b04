"""Reading a mixture file (Definition 2's mixture as ``.json`` or ``.toml``): the path, the size caps and the bytes,
before anything is parsed.

Standard library only, so the ``verify`` command refuses a missing, oversized or non-UTF-8 file before numpy
loads; :func:`theory.mixture.load_mixture` parses what :func:`read_mixture_file` returns.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from pathlib import Path

from theory.errors import VerifyError
from theory.files import read_bytes_capped

__all__ = ["DEFAULT_MAX_D", "DEFAULT_MAX_K", "max_file_bytes", "read_mixture_file", "size_limits"]

# Size limits, checked before any array is built; load_mixture(..., max_size=N) / `verify --max-size N` set both to N.
DEFAULT_MAX_D = 16  # the BFGS cross-check grows steeply with d: 86 s for one strategy at d = 16 on a busy 2-core
# machine (measured), over 400 s at d = 50; the presets have d = 10.
DEFAULT_MAX_K = 64  # memory grows with K d^2 per sampled batch (5000 tasks went past 2.7 GB); the presets have K = 2.
_BYTES_PER_NUMBER = 32  # a float64 written in full (17 digits, sign, exponent, separators) with room to spare


def size_limits(max_size: int | None = None) -> tuple[int, int]:
    """(largest d, largest K): the defaults, or ``max_size`` for both."""
    if max_size is None:
        return DEFAULT_MAX_D, DEFAULT_MAX_K
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise VerifyError(f"max_size: must be an integer >= 1, got {max_size!r}")
    return max_size, max_size


def max_file_bytes(max_size: int | None = None) -> int:
    """The largest mixture file read: 1 MiB plus room for K covariances (and Sigma_x) of d^2 numbers at the limits."""
    d, k = size_limits(max_size)
    return (1 << 20) + _BYTES_PER_NUMBER * d * d * (k + 1)


def read_mixture_file(text: str, max_size: int | None = None, presets: Iterable[str] = ()) -> str:
    """The text (UTF-8) of the mixture file at path ``text``, or VerifyError: missing (``presets``, the names that
    are not files, are listed in the message), a directory or not a regular file, not ``.json``/``.toml``, larger
    than :func:`max_file_bytes`, unreadable, not UTF-8.  The file is streamed with that cap: memory stays within
    the file's own size whatever ``max_size`` is."""
    size_limits(max_size)
    path = Path(text)
    try:
        info = path.stat()
    except (OSError, ValueError):
        info = None
    if info is None:
        raise VerifyError(f"mixture: {text!r} is neither a preset ({', '.join(sorted(presets))}) nor an existing file")
    if stat.S_ISDIR(info.st_mode):
        raise VerifyError(f"mixture: {text!r} is a directory (expected a .json or .toml file or a preset)")
    if not stat.S_ISREG(info.st_mode):
        raise VerifyError(f"mixture: {text!r} is not a regular file (expected a .json or .toml file)")
    if path.suffix.lower() not in (".json", ".toml"):
        raise VerifyError(f"mixture file {text!r}: expected a .json or .toml file")
    limit = max_file_bytes(max_size)
    if info.st_size > limit:
        raise VerifyError(f"mixture file {text!r}: {info.st_size} bytes exceeds the limit of {limit} bytes "
                          "(lift it with --max-size N)")
    try:
        raw = read_bytes_capped(path, limit)
    except OSError as exc:
        raise VerifyError(f"mixture file {text!r}: cannot read ({exc.strerror or type(exc).__name__})") from None
    if raw is None:
        raise VerifyError(f"mixture file {text!r}: larger than the limit of {limit} bytes (lift it with --max-size N)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerifyError(f"mixture file {text!r}: not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})") from None
