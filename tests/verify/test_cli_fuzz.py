"""Fuzzing the command line's numbers and text: empty strings, signed, doubly signed, exponent, non-ASCII digit and
oversized values for every numeric flag, and empty or blank values for every text flag.

Every case exits 0 or 2; exit 2 is exactly one ``verify: error:`` line; nothing prints a traceback.  The parsing
cases run in-process with the long work stubbed (``verify.cli.main``); a few run as real processes under a
timeout, so a hang is a failure too.  Derandomised under the ``ci`` profile.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
_NUMBERS = st.one_of(
    st.sampled_from(["", " ", "-", "+", "--5", "+-2", "-+2", "++1", "1e3", "1E-400", "1e400", "0x10", "1_000", "1.5",
                     "nan", "inf", "-0", "+0", "\u0663", "\uff11", "9" * 45, "1,", ",1", "1,,2", "1, 2", "-1,2"]),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.integers(min_value=-(10**12), max_value=10**12).map(lambda v: f"+{v}" if v >= 0 else f"-{v}"),
    st.text(alphabet="+-0123456789.e,", max_size=8),
)
_NUMERIC = ["--n", "--seed", "--max-size", "--order", "--theorem", "--lemma", "--connect-timeout"]
_TEXT = ["--claim", "--expand", "--paper", "--mixture", "--device", "--json", "--plot", "--report", "--address", "--figure"]
_BASE = [["--claim", "L1"], ["--all"], ["--expand", "PT"], ["--figure", "2a"], ["--figure", "2a", "--executor", "ray"], []]


def _stubbed(argv: list[str]) -> tuple[int, str]:
    from verify import cli, figure_cli

    err = io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(cli, "_claims", lambda *a, **k: 0))
        stack.enter_context(mock.patch.object(cli, "_expand", lambda *a, **k: 0))
        stack.enter_context(mock.patch.object(figure_cli, "run_figures", lambda *a, **k: []))
        stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        stack.enter_context(contextlib.redirect_stderr(err))
        status = cli.main(argv)
    return status, err.getvalue()


def _check(argv: list[str], status: int, err: str) -> None:
    assert status in (0, 2), (argv, status, err)
    assert "Traceback" not in err, (argv, err)
    if status == 2:
        assert err.count("\n") == 1 and err.startswith("verify: error: "), (argv, err)


@given(base=st.sampled_from(_BASE), flag=st.sampled_from(_NUMERIC), value=_NUMBERS, joined=st.booleans())
def test_numeric_flags(base: list[str], flag: str, value: str, joined: bool) -> None:
    argv = [*base, f"{flag}={value}"] if joined else [*base, flag, value]
    _check(argv, *_stubbed(argv))


@given(base=st.sampled_from(_BASE), flag=st.sampled_from(_TEXT), blank=st.sampled_from(["", " ", "\t", "\n"]))
def test_empty_text_is_refused_and_blank_text_judged(base: list[str], flag: str, blank: str, tmp_path_factory) -> None:
    """An empty value is always refused; a blank one is whatever the flag's own rule says (never a traceback)."""
    argv = [*base, f"{flag}={blank}"]
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("blank"))  # a blank --json/--plot name is a legal file name: keep it out of the tree
    try:
        status, err = _stubbed(argv)
    finally:
        os.chdir(cwd)
    _check(argv, status, err)
    assert status == 2 or blank != "", (argv, err)


@settings(max_examples=4)
@given(flag=st.sampled_from(["--n", "--seed", "--max-size", "--connect-timeout"]), value=_NUMBERS)
def test_as_a_process_under_a_timeout(flag: str, value: str) -> None:
    argv = ["--figure", "2a", "--executor", "ray", f"{flag}={value}", "--mixture", "nope.json"]
    proc = subprocess.run([sys.executable, "-m", "verify.cli", *argv], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 2
    _check(argv, proc.returncode, proc.stderr)
