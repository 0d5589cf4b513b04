"""The toolkit's own error type."""

from __future__ import annotations


class VerifyError(ValueError):
    """Bad input to the toolkit: the message names the field and what was expected.

    A ``ValueError`` subclass so callers that only know the standard library
    still catch it; the ``verify`` command prints it as one line and exits 2.
    """
