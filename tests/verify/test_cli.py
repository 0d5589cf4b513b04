"""The verify command: exit codes, one-line errors, the JSON report."""

from __future__ import annotations

import errno
import importlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verify.cli import main


def test_list_exits_zero(capsys) -> None:
    assert main(["--list"]) == 0
    assert "T3.prompts" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--theorem", "1", "--mixture", "fig9z"], "fig9z"),
    (["--theorem", "1", "--n", "0"], "--n: context length must be >= 1"),
    (["--theorem", "1", "--n", "ten"], "'ten' is not an integer"),
    (["--claim", "T9.nope"], "unknown claim id 'T9.nope'"),
    (["--theorem", "7"], "theorem 7"),
    (["--corollary", "2"], "--corollary: the paper has no corollary 2 with registered claims (expected 1)"),
    (["--lemma", "0"], "(expected 1, 2, 3 or 4)"),
    (["--theorem", "1", "--theorem", "2"], "--theorem: given more than once"),
    (["--theorem", "1", "--latex"], "--latex: needs --expand"),
    (["--theorem", "1", "--order", "2"], "--order: not used with a claim selection"),
    (["--theorem", "1", "--plot", "out"], "--plot: nothing to plot"),
    (["--figures", "--json", "r.json"], "--json: not used with --figure/--figures without a claim selection"),
    (["--list", "--mixture", "fig2a"], "--mixture: not used with --list"),
    (["--theorem", "1", "--n", "20000000"], "--n: context length must be at most 10000000"),
    (["--theorem", "1", "--seed", "4294967296"], "--seed: expected an integer from 0 to 4294967295"),
    (["--theorem", "1", "--device", "tpu"], "--device: unknown device 'tpu'"),
    (["--theorem", "1", "--device", "cuda:999"], "--device: 'cuda:999' requested but"),
    (["--theo", "1"], "unrecognized arguments: --theo"),
    ([], "nothing selected"),
    (["--bogus"], "unrecognized arguments"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_bad_mixture_file_is_named(tmp_path, capsys) -> None:
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"d": 1, "tasks": [{"weight": 0.9, "mean": [0], "cov": [[1]]}]}))
    assert main(["--theorem", "1", "--mixture", str(bad), "--no-progress", "--no-symbolic"]) == 2
    assert "weights: must sum to 1" in capsys.readouterr().err


def test_claim_report_json(tmp_path) -> None:
    out = tmp_path / "r.json"
    assert main(["--claim", "T4.loss.appendix", "--mixture", "figA1b", "--n", "1,10", "--json", str(out),
                 "--no-progress", "--no-symbolic"]) == 0
    report = json.loads(out.read_text())
    (claim,) = report["claims"]
    assert claim["id"] == "T4.loss.appendix" and claim["verdict"] == "refuted"
    assert claim["counterexample"]["mixture"]["d"] == 1
    assert claim["correction"].startswith("L~*_PGD = tr(Sigma_bar) + sigma^2")
    assert [r["n"] for r in claim["evidence"]["selected_mixture"]] == [1, 10]
    assert claim["evidence"]["minimiser"]["agrees"]
    # Sampling at the paper's own parameters reaches the derived optimum, not the claimed (sigma^2-less) loss.
    at = claim["evidence"]["montecarlo_at_claimed"]
    k = claim["evidence"]["montecarlo"]["k_sigma"]
    assert abs(at["z_vs_derived_optimum"]) < k
    assert at["z_vs_claimed_loss"] > k


def test_console_script_runs_theorem_3() -> None:
    proc = subprocess.run([sys.executable, "-m", "verify.cli", "--theorem", "3", "--no-progress", "--no-symbolic"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "T3.prompts" in proc.stdout and "refuted" in proc.stdout


def test_expand_prints_and_writes_the_leading_term(tmp_path, capsys) -> None:
    out = tmp_path / "e.json"
    assert main(["--expand", "FT-JT", "--order", "2", "--mixture", "fig2c", "--json", str(out), "--plot", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "n^-2" in text and "2148.11" in text
    report = json.loads(out.read_text())
    assert report["numeric_fit"]["exponent"] == -2 and report["numeric_fit"]["stable"]
    iso = next(e for e in report["expansions"] if e["setting"] == "isotropic")
    assert iso["leading_exponent"] == -2 and iso["applies_to_mixture"]
    assert (tmp_path / "asymptotics_gaps.png").stat().st_size > 0


@pytest.mark.parametrize(("argv", "message"), [
    (["--expand", "PT-XX"], "unknown quantity 'PT-XX'"),
    (["--expand", "PT", "--order", "99"], "--order: expected an integer from 0 to 8, got 99"),
])
def test_bad_expansion_input_exits_2(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_corollary_report_carries_the_asymptotics(tmp_path) -> None:
    out = tmp_path / "c.json"
    assert main(["--claim", "C1.rate.ratio", "--n", "4", "--json", str(out), "--no-progress", "--no-symbolic",
                 "--no-training"]) == 0
    report = json.loads(out.read_text())
    (claim,) = report["claims"]
    assert claim["verdict"] == "refuted" and claim["counterexample"]["derived_value"] == 0
    rows = {r["quantity"]: r for r in report["asymptotics"]}
    assert rows["ratio"]["exponent"] == 0 and rows["ratio"]["verdict"] == "refuted"
    assert rows["PT-FT"]["exponent"] == rows["FT-JT"]["exponent"] == -2


def test_shared_head_attention_sampled_below_the_reduced_optimum(tmp_path) -> None:
    """The direct estimator runs the attention itself at the exact unconstrained optimum: on fig2a at n = 100 it
    sits on the exact loss and k standard errors below the reduced model's L*_JT; the JSON carries the optimum's
    parameters in eq. (6)'s convention."""
    out = tmp_path / "s6.json"
    assert main(["--claim", "S6.shared-head", "--mixture", "fig2a", "--n", "100", "--json", str(out), "--no-progress",
                 "--no-training"]) == 0
    (claim,) = json.loads(out.read_text())["claims"]
    exact = claim["evidence"]["unconstrained"]
    (mc,) = exact["montecarlo"]
    (opt,) = exact["optima"]
    assert claim["verdict"] == "measured" and abs(mc["z_exact"]) < mc["k_sigma"] and mc["z_reduced"] < -mc["k_sigma"]
    assert opt["n"] == 100 and len(opt["A"]) == 11 and len(opt["a"]) == 11 and len(opt["prompts"]) == 2


# ----- the input/output contract -------------------------------------------------------------------------
_W0 = {"d": 1, "tasks": [{"weight": 1.0, "mean": [0], "cov": [[1]]}, {"weight": 0.0, "mean": [2], "cov": [[1]]}]}


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("verify: error: ") and "Traceback" not in err, err
    return err


@pytest.fixture
def no_run(monkeypatch) -> list[object]:
    """Replace the long work (run_checks) with a recorder: a contract test must fail before it is reached."""
    import verify.run

    calls: list[object] = []
    monkeypatch.setattr(verify.run, "run_checks", lambda *a, **k: calls.append((a, k)) or [])
    return calls


def test_directory_as_mixture_is_one_line(tmp_path, capsys, no_run) -> None:
    assert main(["--theorem", "1", "--mixture", str(tmp_path)]) == 2
    assert "is a directory" in _one_error_line(capsys) and not no_run


def test_non_utf8_mixture_file_is_one_line(tmp_path, capsys, no_run) -> None:
    bad = tmp_path / "m.json"
    bad.write_bytes(b'{"d": 1, "tasks": [\xff\xfe]}')
    assert main(["--theorem", "1", "--mixture", str(bad)]) == 2
    assert "not UTF-8" in _one_error_line(capsys) and not no_run


@pytest.mark.parametrize("name", ["[bold]x.json", "[/]x.json", "[red]"])
def test_markup_in_a_file_name_is_printed_literally(tmp_path, capsys, no_run, name: str) -> None:
    bad = tmp_path / (name if name.endswith(".json") else name + ".json")  # "[/]x.json" is x.json in a directory "["
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text(json.dumps({"d": 1, "tasks": [{"weight": 0.5, "mean": [0], "cov": [[1]]}]}))
    assert main(["--theorem", "1", "--mixture", str(bad)]) == 2
    assert str(bad) in _one_error_line(capsys)


def test_markup_in_names_does_not_reach_rich(capsys) -> None:
    from verify.report.schema import Report
    from verify.terminal import make_console, print_report

    report = {"mixture": {"name": "[/]m[bold].json"}, "n": [1], "summary": {"verified": 0, "refuted": 1, "inconclusive": 0},
              "claims": [{"id": "X[/]", "verdict": "refuted", "statement": "[bold]s", "notes": ["[/red]"],
                          "evidence": {}, "counterexample": None, "correction": "[/]c", "reason": "because [/] x"}]}
    print_report(Report.from_json(report), make_console(), verbose=True)
    out = capsys.readouterr().out
    assert "[/]m[bold].json" in out and "because [/] x" in out and "corrected: [/]c" in out


def test_large_d_is_rejected_quickly_and_the_limit_lifts(tmp_path, capsys, no_run) -> None:
    import time

    from theory.mixture import load_mixture

    big = tmp_path / "big.json"
    big.write_text(json.dumps({"d": 100, "tasks": [{"weight": 1.0, "mean": 0.0, "cov": "identity"}]}))
    start = time.perf_counter()
    assert main(["--theorem", "1", "--mixture", str(big)]) == 2
    assert time.perf_counter() - start < 5.0
    assert "d: 100 exceeds the size limit 16 (lift it with --max-size N)" in _one_error_line(capsys)
    assert load_mixture(big, max_size=100).d == 100


def test_json_into_a_directory_fails_before_the_run(tmp_path, capsys, no_run) -> None:
    assert main(["--claim", "L1", "--json", str(tmp_path)]) == 2
    assert "--json: " in _one_error_line(capsys) and not no_run
    assert main(["--claim", "L1", "--json", str(tmp_path / "missing" / "r.json")]) == 2
    assert "does not exist" in _one_error_line(capsys) and not no_run


def test_json_dash_writes_the_report_to_stdout_and_the_table_to_stderr(capsys) -> None:
    assert main(["--claim", "L1", "--json", "-", "--no-progress", "--no-symbolic", "--fail-on-refuted"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["claims"][0]["id"] == "L1" and report["claims"][0]["verdict"] == "refuted"
    assert "L1" in captured.err and "refuted" in captured.err
    assert not (Path("-")).exists()


def test_fail_on_refuted_is_opt_in(tmp_path) -> None:
    out = tmp_path / "r.json"
    assert main(["--claim", "L1", "--json", str(out), "--no-progress", "--no-symbolic"]) == 0
    assert json.loads(out.read_text())["summary"]["refuted"] == 1


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch) -> None:
    import os

    from theory.errors import VerifyError
    from verify.output import write_json, write_text_atomic

    target = tmp_path / "r.json"
    target.write_text("old")

    def fail(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(VerifyError, match="No space left on device"):
        write_text_atomic(target, "new", "--json")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    monkeypatch.undo()
    write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1} and sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_unwritable_output_place_fails_before_the_run(tmp_path, capsys, no_run) -> None:
    import os

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # running as root: permissions do not apply, probe a missing directory instead
            target = tmp_path / "nope" / "r.json"
        else:
            target = ro / "r.json"
        assert main(["--claim", "L1", "--json", str(target)]) == 2
        assert "--json" in _one_error_line(capsys) and not no_run
    finally:
        ro.chmod(0o700)


def test_plot_and_report_directories_are_not_created_by_validation(tmp_path, capsys, no_run) -> None:
    report = tmp_path / "rep"
    assert main(["--claim", "L1", "--report", str(report), "--n", "0"]) == 2
    _one_error_line(capsys)
    assert not report.exists()


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(r"verify \S+ \(git ([0-9a-f]{40}|unknown)\)\n", out)


def test_help_exits_zero(capsys) -> None:
    assert main(["--help"]) == 0
    assert "--fail-on-refuted" in capsys.readouterr().out


@pytest.mark.parametrize("where", ["verify.cli.build_parser", "theory.mixture.preset", "verify.run.run_checks"])
def test_ctrl_c_anywhere_exits_130_with_one_line(monkeypatch, capsys, where: str) -> None:
    module, _, attr = where.rpartition(".")

    def interrupt(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module(module), attr, interrupt)
    assert main(["--claim", "L1", "--no-progress"]) == 130
    assert capsys.readouterr().err == "verify: interrupted\n"


def test_ctrl_c_during_start_up_of_the_process() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "verify.cli", "--all", "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # inside the imports of main() on a 2-core machine; any later moment is covered too
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err == "verify: interrupted\n", err


def test_broken_pipe_is_quiet() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "verify.cli", "--list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.communicate(timeout=120)[1].decode()
    assert proc.returncode in (0, 1) and "Traceback" not in err and "Exception ignored" not in err


def test_weight_zero_task_does_not_divide_by_zero(tmp_path, capsys) -> None:
    m = tmp_path / "w0.json"
    m.write_text(json.dumps(_W0))
    assert main(["--expand", "ratio", "--mixture", str(m), "--order", "1"]) == 2
    assert "every task of positive weight has mean zero" in _one_error_line(capsys)


def test_fitted_coefficients_carry_their_uncertainty(capsys) -> None:
    """The FT-JT fit on fig2c prints its uncertainty, and the exact isotropic value lies inside it."""
    assert main(["--expand", "FT-JT", "--order", "2", "--mixture", "fig2c"]) == 0
    out = capsys.readouterr().out
    fit = re.search(r"float64 fit on fig2c .*: (\d+\.\d+)\((\d+)\) n\^-2", out)
    exact = re.search(r"on fig2c: (\S+) n\^-2", out)
    assert fit and exact, out
    decimals = len(fit.group(1).split(".")[1])
    assert abs(float(fit.group(1)) - float(exact.group(1))) <= int(fit.group(2)) * 10.0 ** -decimals


def test_latex_is_one_expression_with_its_order_term(capsys) -> None:
    assert main(["--expand", "PT-FT", "--order", "3", "--latex", "--mixture", "fig2c"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "\\frac" in ln]
    assert lines and all(ln.rstrip().endswith("+ O(n^{-4})") for ln in lines)


def test_piped_table_is_plain_ascii_and_fits_80_columns(tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "verify.cli", "--list"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "80"})
    assert proc.returncode == 0 and proc.stdout.isascii()
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80


class _FullDevice(io.TextIOBase):
    """A stdout on a full device (what ``verify --list > /dev/full`` meets): every write fails with ENOSPC."""

    def __init__(self) -> None:
        super().__init__()
        self.fd = os.open(os.devnull, os.O_WRONLY)

    def fileno(self) -> int:
        return self.fd

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("flag", ["--list", "--version"])
def test_output_into_a_full_device_is_one_line(flag: str, monkeypatch, capsys) -> None:
    full = _FullDevice()
    monkeypatch.setattr(sys, "stdout", full)
    try:
        assert main([flag]) == 2
    finally:
        os.close(full.fd)
    assert capsys.readouterr().err == "verify: error: cannot write the output: No space left on device\n"


def test_compact_table_fits_80_columns_and_says_why(monkeypatch) -> None:
    import io

    from verify.report.schema import Report
    from verify.terminal import make_console, print_report

    monkeypatch.setenv("COLUMNS", "80")
    long_note = "the numerical minimiser disagrees with the derived optimum " * 3
    report = {"mixture": {"name": "fig2c"}, "n": [1, 10], "timings": {"total_seconds": 1.25},
              "summary": {"verified": 1, "refuted": 1, "inconclusive": 1},
              "claims": [
                  {"id": "T1.W", "verdict": "inconclusive", "notes": [long_note], "evidence": {}, "counterexample": None},
                  {"id": "T2.loss", "verdict": "verified", "notes": [], "counterexample": None,
                   "evidence": {"theory": {"cases_checked": 10, "cases_failed": 0, "max_rel_error": 1e-15}},
                   "on_selected_mixture": {"verdict": "fails", "max_rel_error": 0.5, "n": [1, 10], "first_failing_n": 10}},
                  {"id": "T4.loss.appendix", "verdict": "refuted", "notes": [], "evidence": {},
                   "counterexample": {"mixture": {"d": 1, "tasks": [{}], "sigma2": 1.0}, "n": 1, "quantity": "L",
                                      "claimed": 0.75, "derived": 1.75}},
              ]}
    out = io.StringIO()
    print_report(Report.from_json(report), make_console(out))
    text = out.getvalue()
    assert text.isascii() and max(len(line) for line in text.splitlines()) <= 80, text
    assert "inconclusive  n/a" in text and "the numerical minimiser" in text and "fails at n=10" in text and "n/a" in text
    assert "d=1 K=1 n=1: claimed 0.75" in text and "in 1.2 s" in text


@pytest.mark.parametrize(("value", "err", "text"), [
    (2148.112869495763, 4.4e-5, "2148.112869(44)"),
    (317.89999950644193, 1.9e-6, "317.8999995(19)"),
    (1.2345e-7, 1.2e-10, "1.2345(12)e-07"),
    (12345.6, 230.0, "12350 +- 230"),
    (0.5, None, "0.5"),
    (0.1, 0.5, "0.1 +- 0.5"),
])
def test_numbers_keep_the_digits_they_have(value: float, err: float | None, text: str) -> None:
    from verify.numbers import uncertain

    assert uncertain(value, err) == text


def test_evaluated_exact_values_drop_only_rounding_noise() -> None:
    from verify.numbers import evaluated, exact

    assert evaluated(207.90000000000003) == "207.9" and evaluated(2148.112881997928) == "2148.1128819979"
    assert exact(317.9) == "317.9" and exact(0.1 + 0.2) == "0.30000000000000004"


class _ClosedPipe(io.TextIOBase):
    """A stdout whose reader has gone away (``verify --list | head -1``); its descriptor is a private /dev/null."""

    def __init__(self) -> None:
        super().__init__()
        self.fd = os.open(os.devnull, os.O_WRONLY)

    def fileno(self) -> int:
        return self.fd

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self) -> bool:
        return False


def test_broken_pipe_during_output_is_exit_1_without_traceback(monkeypatch, capsys) -> None:
    pipe = _ClosedPipe()
    monkeypatch.setattr(sys, "stdout", pipe)
    try:
        assert main(["--list"]) == 1
    finally:
        os.close(pipe.fd)
    assert capsys.readouterr().err == ""


def test_a_measured_claim_shows_its_measurement_not_failures() -> None:
    """An assumption's or qualitative claim's search measures a cost (its verdict is "measured", never a failure):
    ``--claim ID`` shows the cases measured and the largest value, with no failing-case count and no counterexample;
    a refuted claim of the same report still shows both."""
    import io

    from verify.report.schema import Report
    from verify.terminal import make_console, print_claim_details

    report = Report.from_json(json.loads((Path(__file__).resolve().parents[2] / "docs" / "report.json").read_text()))
    by_id = {c.id: c for c in report.claims}
    for claim_id in ("A1.PT", "E.A2-depth"):
        claim = by_id[claim_id]
        m = claim.measurement
        assert claim.verdict == "measured" and m is not None and claim.counterexample is not None
        out = io.StringIO()
        print_claim_details(claim, make_console(out))
        text = out.getvalue()
        assert "cases fail" not in text and "counterexample:" not in text, text
        assert f"search: measured on {m.cases} cases, zero on {m.zero_cases} of them" in text
        assert f"measured: {m.quantity}: largest {100 * abs(m.largest):.3g}% at {m.at}" in text
    refuted = next(c for c in report.claims if c.verdict == "refuted" and c.counterexample is not None)
    out = io.StringIO()
    print_claim_details(refuted, make_console(out))
    th = refuted.evidence.theory
    assert f"search: {th.cases_failed}/{th.cases_checked} cases fail" in out.getvalue()
    assert "counterexample: " in out.getvalue()
