"""The command line's outputs and inputs under abuse: no target is destroyed, no input gives a traceback.

* ``--json``/``--report``/``--plot`` refuse, before any work, a FIFO, a device, a socket, a directory where a file
  is expected, the input mixture file itself and the empty string; a symbolic link is written through; a
  245-character file name works (the temporary name is short).
* The tracebacks and silent acceptances found by attacking the command line: signed numbers (``--n=--5``), a huge
  ``--max-size`` with a small file, a closed standard output, an ASCII-only terminal with a non-ASCII path, empty
  values, flags the run would not use, float64 underflow and overflow in a mixture file, progress on the JSON's
  standard output, a full disk under ``--report``.

The long work is replaced by a recorder (``no_run``): each refusal must come before it.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from theory.errors import VerifyError
from theory.files import read_bytes_capped, write_bytes_atomic
from verify.cli import main

ROOT = Path(__file__).resolve().parents[2]
_MIXTURE = {"d": 1, "tasks": [{"weight": 1.0, "mean": [0.5], "cov": [[1.0]]}]}


@pytest.fixture
def no_run(monkeypatch) -> list[object]:
    """Replace the long work (claims, expansions, figures) with recorders: a refusal must come before them."""
    from verify import cli, figure_cli

    calls: list[object] = []
    monkeypatch.setattr(cli, "_claims", lambda *a, **k: calls.append(("claims", a)) or 0)
    monkeypatch.setattr(cli, "_expand", lambda *a, **k: calls.append(("expand", a)) or 0)
    monkeypatch.setattr(figure_cli, "run_figures", lambda *a, **k: calls.append(("figures", a)) or [])
    return calls


def _one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("verify: error: ") and "Traceback" not in err, err
    return err


def _mixture_file(tmp_path: Path, name: str = "m.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(_MIXTURE), encoding="utf-8")
    return path


# ----- output targets ---------------------------------------------------------------------------------------------
def _special(tmp_path: Path, kind: str) -> Path:
    """A FIFO, a socket or a character device in a private directory: as root a device node made there (never the
    real /dev); otherwise a symbolic link there to /dev/null, which the check follows to the device before any
    write (docs/cli.md: a link is written through, so its target is what is checked)."""
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    elif kind == "device":
        if os.geteuid() == 0:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # the numbers of /dev/null
        else:
            path.symlink_to("/dev/null")
        assert stat.S_ISCHR(os.stat(path).st_mode)
    return path


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
@pytest.mark.parametrize("flag", ["--json", "--report", "--plot"])
def test_a_special_file_is_refused_before_the_run_and_left_alone(tmp_path, capsys, no_run, kind: str, flag: str) -> None:
    target = _special(tmp_path, kind)
    before = os.lstat(target)
    argv = ["--claim", "C1.equality", flag, str(target)] if flag != "--report" else ["--claim", "L1", flag, str(target)]
    assert main(argv) == 2
    err = _one_error(capsys)
    assert flag in err and not no_run
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_a_special_file_inside_the_report_directory_is_refused(tmp_path, capsys, no_run, kind: str) -> None:
    target = _special(tmp_path, kind)
    os.rename(target, tmp_path / "report.json")
    assert main(["--claim", "L1", "--report", str(tmp_path)]) == 2
    assert "--report" in _one_error(capsys) and not no_run


def test_the_writer_never_replaces_a_fifo_or_a_directory(tmp_path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "dir").mkdir()
    for name in ("pipe", "dir"):
        with pytest.raises(VerifyError, match="not a regular file"):
            write_bytes_atomic(tmp_path / name, b"x")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe").st_mode) and (tmp_path / "dir").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "pipe"]  # no temporary file left


@pytest.mark.parametrize("flag", ["--json", "--report", "--plot"])
def test_an_empty_output_path_is_refused(capsys, no_run, flag: str) -> None:
    assert main(["--claim", "C1.equality", flag, ""]) == 2
    assert f"{flag}: expected a value, got an empty string" in _one_error(capsys) and not no_run


def test_json_onto_the_input_mixture_is_refused(tmp_path, capsys, no_run) -> None:
    mixture = _mixture_file(tmp_path)
    before = mixture.read_bytes()
    os.symlink(mixture, tmp_path / "link.json")
    for target in (mixture, tmp_path / "link.json"):
        assert main(["--claim", "L1", "--mixture", str(mixture), "--json", str(target)]) == 2
        assert "is the input file" in _one_error(capsys)
    assert main(["--claim", "L1", "--mixture", str(tmp_path / "report.json"), "--report", str(tmp_path)]) == 2
    capsys.readouterr()
    os.rename(mixture, tmp_path / "report.json")
    assert main(["--claim", "L1", "--mixture", str(tmp_path / "report.json"), "--report", str(tmp_path)]) == 2
    assert "is the input file" in _one_error(capsys) and not no_run
    assert (tmp_path / "report.json").read_bytes() == before


def test_a_symlink_is_written_through_to_its_target(tmp_path) -> None:
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    (real_dir / "out.json").write_text("old")
    link = tmp_path / "link.json"
    os.symlink(real_dir / "out.json", link)
    write_bytes_atomic(link, b"new")
    assert link.is_symlink() and (real_dir / "out.json").read_text() == "new"
    assert sorted(p.name for p in real_dir.iterdir()) == ["out.json"] and sorted(p.name for p in tmp_path.iterdir()) == [
        "link.json", "real"]


def test_a_symlink_to_a_fifo_is_refused(tmp_path, capsys, no_run) -> None:
    os.mkfifo(tmp_path / "pipe")
    os.symlink(tmp_path / "pipe", tmp_path / "link.json")
    assert main(["--claim", "L1", "--json", str(tmp_path / "link.json")]) == 2
    assert "FIFO" in _one_error(capsys) and stat.S_ISFIFO(os.lstat(tmp_path / "pipe").st_mode)


def test_a_245_character_file_name_is_written(tmp_path, capsys, no_run) -> None:
    target = tmp_path / ("r" * 240 + ".json")
    assert len(target.name) == 245
    assert main(["--claim", "L1", "--json", str(target)]) == 0 and no_run  # the probe passes
    write_bytes_atomic(target, b"{}\n")
    assert target.read_bytes() == b"{}\n" and sorted(p.name for p in tmp_path.iterdir()) == [target.name]


# ----- tracebacks that became one line ---------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "message"), [
    (["--all", "--n=--5"], "--n: '--5' is not an integer"),
    (["--all", "--n", "1,+-2"], "--n: '+-2' is not an integer"),
    (["--all", "--seed=--5"], "--seed: expected an integer"),
    (["--all", "--seed", "+-1"], "--seed: expected an integer"),
    (["--expand", "PT", "--order=-+2"], "--order: expected an integer"),
    (["--all", "--max-size=--4"], "--max-size: expected an integer"),
])
def test_doubly_signed_numbers_are_one_line(capsys, no_run, argv: list[str], message: str) -> None:
    assert main(argv) == 2
    assert message in _one_error(capsys) and not no_run


def test_a_large_max_size_reads_a_small_file_with_a_cap(tmp_path, capsys, no_run) -> None:
    mixture = _mixture_file(tmp_path)
    assert main(["--claim", "L1", "--mixture", str(mixture), "--max-size", "4096"]) == 0 and no_run
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 300_000)
    assert read_bytes_capped(big, 10**15) == b"x" * 300_000  # a cap far above the file allocates nothing extra
    assert read_bytes_capped(big, 299_999) is None and read_bytes_capped(big, 300_000) == b"x" * 300_000


def test_closed_standard_output_is_exit_2_with_one_line() -> None:
    proc = subprocess.run(["sh", "-c", 'exec "$0" -m verify.cli --list >&-', sys.executable], stderr=subprocess.PIPE,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("verify: error: standard output is closed")


def test_ascii_terminal_with_a_non_ascii_path(tmp_path) -> None:
    bad = tmp_path / "mélange.json"
    bad.write_text(json.dumps({"d": 1, "tasks": [{"weight": 0.5, "mean": [0], "cov": 1}]}), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run([sys.executable, "-m", "verify.cli", "--claim", "L1", "--mixture", str(bad), "--no-progress"],
                          capture_output=True, text=True, encoding="ascii", errors="strict", cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "m\\xe9lange.json" in proc.stderr and "weights: must sum to 1" in proc.stderr


# ----- silent acceptances that are refused now -------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "message"), [
    (["--claim", "L1", "--device", ""], "--device: expected a value, got an empty string"),
    (["--claim", "L1", "--paper", ""], "--paper: expected a value, got an empty string"),
    (["--claim", "L1", "--mixture", ""], "--mixture: expected a value"),
    (["--claim", "L1", "--mixture", " "], "mixture: ' ' is neither a preset"),
    (["--claim", ""], "--claim: expected a value"),
    (["--figure", ""], "--figure: expected a value"),
    (["--claim", "L1", "--max-size", "4"], "--max-size: the mixture 'fig2c' is a preset"),
    (["--claim", "L1", "--mixture", "fig2a", "--max-size", "4"], "--max-size: the mixture 'fig2a' is a preset"),
    (["--list", "--quick"], "--quick: not used with --list"),
    (["--list", "--no-progress"], "--no-progress: not used with --list"),
    (["--expand", "PT", "--quick"], "--quick: not used with --expand"),
    (["--expand", "PT", "--no-progress"], "--no-progress: not used with --expand"),
    (["--claim", "L1", "--connect-timeout", "5"], "--connect-timeout: needs --executor ray"),
    (["--figure", "2a", "--connect-timeout", "5"], "--connect-timeout: needs --executor ray"),
    (["--figure", "2a", "--executor", "ray", "--connect-timeout", "0"], "--connect-timeout: expected a number"),
    (["--figure", "2a", "--executor", "ray", "--connect-timeout", "nan"], "--connect-timeout: expected a number"),
    (["--figure", "2a", "--executor", "ray", "--connect-timeout", "-1"], "--connect-timeout: expected a number"),
])
def test_unused_and_empty_values_are_refused(capsys, no_run, argv: list[str], message: str) -> None:
    assert main(argv) == 2
    assert message in _one_error(capsys) and not no_run


@pytest.mark.parametrize(("literal", "message"), [
    ("1e-400", "a non-zero |value| must be at least 1e-12, got 1e-400"),
    ("-1e-400", "a non-zero |value| must be at least 1e-12, got -1e-400"),
    ("1e400", "|value| must be at most 1e+12, got 1e400"),
    ("-1E+400", "|value| must be at most 1e+12, got -1E+400"),
])
@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_float64_underflow_and_overflow_are_refused(tmp_path, capsys, no_run, literal: str, message: str, suffix: str) -> None:
    path = tmp_path / f"m{suffix}"
    if suffix == ".json":
        path.write_text(f'{{"d": 1, "tasks": [{{"weight": 1.0, "mean": [{literal}], "cov": 1.0}}]}}')
    else:
        path.write_text(f"d = 1\n[[tasks]]\nweight = 1.0\nmean = [{literal}]\ncov = 1.0\n")
    assert main(["--claim", "L1", "--mixture", str(path)]) == 2
    err = _one_error(capsys)
    assert "tasks[0].mean[0]" in err and message in err and not no_run


def test_json_on_stdout_gets_no_progress(monkeypatch, capsys) -> None:
    from verify import cli

    seen: dict[str, bool] = {}

    def record(args, *rest, **kw):  # type: ignore[no-untyped-def]
        seen["progress"] = cli._progress(args)
        return 0

    monkeypatch.setattr(cli, "_claims", record)
    assert main(["--claim", "L1", "--json", "-"]) == 0 and seen == {"progress": False}
    assert main(["--claim", "L1"]) == 0 and seen == {"progress": True}


def test_a_full_disk_under_report_names_report(tmp_path, monkeypatch, capsys) -> None:
    """The report's own figures are written by the figure code: a failure there names --report, not --plot."""
    from theory import files
    from verify import figure_cli
    from verify.output import write_bytes_atomic as write_output

    def full(path, data):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_bytes_atomic", full)
    monkeypatch.setattr(figure_cli, "_make", lambda *a, **k: [write_output(tmp_path / "f.png", b"", "--plot")])
    import argparse

    args = argparse.Namespace(report=str(tmp_path), figure=None, figures=False, plot=None)
    with pytest.raises(VerifyError, match=r"^--report: cannot write .*No space left on device"):
        figure_cli.after_checks(args, {}, None)


def test_ascii_standard_output_prints_a_non_ascii_name_escaped(tmp_path, monkeypatch) -> None:
    """``PYTHONIOENCODING=ascii`` makes stdout strict ASCII: the table's mixture name is printed escaped."""
    import io

    from verify import cli

    mixture = _mixture_file(tmp_path, "mélange.json")
    monkeypatch.setattr(cli, "_claims", lambda args, *a, **k: cli._console(args).print(args.mixture_name, markup=False) or 0)
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    monkeypatch.setattr(sys, "stdout", stream)
    assert main(["--claim", "L1", "--mixture", str(mixture)]) == 0
    stream.flush()
    assert "m\\xe9lange.json" in raw.getvalue().decode("ascii")
