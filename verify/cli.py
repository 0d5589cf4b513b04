"""`verify`: check the paper's claims from a shell and print verdicts.

Exit status:

* 0: every check ran (whatever the verdicts, unless ``--fail-on-refuted``);
* 1: with ``--fail-on-refuted``, some claim was refuted; also when the toolkit itself failed (a traceback), or
  when standard output was closed early by its reader (``verify --list | head``);
* 2: bad input: one line on stderr, ``verify: error: <flag or field>: <what was expected>``, no traceback,
  found before any long work (inputs, flag combinations, output paths, the Ray address and the device are
  checked first); also when the output cannot be written (a full device, or standard output closed from the
  start: ``verify --list >&-``);
* 130: interrupted (Ctrl-C), one line ``verify: interrupted``; 143 (SIGTERM) and 129 (SIGHUP), one line
  ``verify: terminated (SIGTERM)``; no worker process outlives the command.

This module imports only the standard library at load time, and the command line, the claim index
(:mod:`verify.claim_index`) and every input check that needs no numbers run before the toolkit (numpy, sympy,
torch, matplotlib, Ray) is imported: ``--help``, ``--version``, ``--list`` and bad flags answer at once, and
Ctrl-C during start-up is an exit 130 like any other.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from rich.console import Console

N_MAX = 10**7  # --n: the exact optima are O(d^3) whatever n, but the Monte Carlo and training channels sample n tokens
N_COUNT_MAX = 20  # --n: at most this many context lengths (each one is a full pass over the selected claims)
SEED_MAX = 2**32 - 1  # --seed: numpy's SeedSequence and torch accept any int, but reports stay portable in 32 bits
ORDER_MAX = 8
SIZE_MAX_LIMIT = 4096  # --max-size cannot go above this (a 4096 x 4096 float64 matrix is 128 MiB)
CONNECT_TIMEOUT_MAX = 3600.0  # --connect-timeout: an hour (as verify.ray_executor.CONNECT_TIMEOUT_MAX, not imported here)
_INTEGER = re.compile(r"[+-]?[0-9]{1,40}")  # a plain ASCII integer, one optional sign
_DECIMAL = re.compile(r"[+]?([0-9]{1,10}(\.[0-9]{0,10})?|\.[0-9]{1,10})")  # a plain positive decimal (no exponent)
_SIGNAL_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
NUMBERED = {"theorem": (1, 2, 3, 4), "lemma": (1, 2, 3, 4), "proposition": (1,), "corollary": (1,)}
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}  # writing the output failed: exit 2, one line
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class UsageError(Exception):
    """Bad command line (raised before the toolkit is imported; printed like a VerifyError, exit 2).

    Not a ValueError: argparse would turn one raised by a ``type=`` function into a vaguer message of its own."""


class _Exit(Exception):
    """argparse asked to exit (``--help``): carry the status back to :func:`main` instead of raising SystemExit."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


class _Once(argparse.Action):
    """Store a value, refusing a second use of the flag (argparse would silently keep the last one)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        seen: set[str] = namespace.__dict__.setdefault("_given", set())
        if self.dest in seen:
            raise UsageError(f"{option_string}: given more than once (expected at most one)")
        seen.add(self.dest)
        setattr(namespace, self.dest, values)


class _Version(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and git commit, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from verify.version import git_commit, tool_version

        print(f"verify {tool_version()} (git {git_commit() or 'unknown'})")
        raise _Exit(0)


def _int_in(flag: str, low: int, high: int, valid: tuple[int, ...] | None = None) -> Callable[[str], int]:
    """An argparse ``type=``: a plain ASCII integer in [low, high] (and in ``valid`` when given), else UsageError."""
    def parse(text: str) -> int:
        stripped = text.strip()
        if not _INTEGER.fullmatch(stripped):
            raise UsageError(f"{flag}: expected an integer, got {text!r}")
        value = int(stripped)
        if valid is not None and value not in valid:
            choices = ", ".join(map(str, valid[:-1])) + (" or " if len(valid) > 1 else "") + str(valid[-1])
            raise UsageError(f"{flag}: the paper has no {flag[2:]} {value} with registered claims (expected {choices})")
        if not low <= value <= high:
            raise UsageError(f"{flag}: expected an integer from {low} to {high}, got {value}")
        return value
    return parse


def _one_of(flag: str, choices: tuple[str, ...]) -> Callable[[str], str]:
    """An argparse ``type=``: one of ``choices`` exactly, else UsageError."""
    def parse(text: str) -> str:
        if text not in choices:
            raise UsageError(f"{flag}: expected {' or '.join(choices)}, got {text!r}")
        return text
    return parse


def _seconds(flag: str, high: float) -> Callable[[str], float]:
    """An argparse ``type=``: a plain positive decimal number of seconds, at most ``high``, else UsageError."""
    def parse(text: str) -> float:
        stripped = text.strip()
        value = float(stripped) if _DECIMAL.fullmatch(stripped) else math.nan
        if not (value > 0 and value <= high):  # NaN (not a plain decimal) fails too
            raise UsageError(f"{flag}: expected a number of seconds above 0 and at most {high:g}, got {text!r}")
        return value
    return parse


def parse_ns(text: str) -> list[int]:
    """``--n 1,10,100``: distinct integers from 1 to :data:`N_MAX`, at most :data:`N_COUNT_MAX` of them."""
    parts = text.split(",")
    if len(parts) > N_COUNT_MAX:
        raise UsageError(f"--n: at most {N_COUNT_MAX} context lengths, got {len(parts)}")
    ns: list[int] = []
    for part in parts:
        part = part.strip()
        if not _INTEGER.fullmatch(part):
            raise UsageError(f"--n: {part!r} is not an integer (expected e.g. --n 1,10,50)")
        value = int(part)
        if value < 1:
            raise UsageError(f"--n: context length must be >= 1, got {value}")
        if value > N_MAX:
            raise UsageError(f"--n: context length must be at most {N_MAX}, got {value}")
        if value in ns:
            raise UsageError(f"--n: {value} given twice")
        ns.append(value)
    return ns


def build_parser() -> argparse.ArgumentParser:
    """The ``verify`` command line (strict: no abbreviations, each value flag at most once)."""
    from verify import figure_cli  # standard library and the light checks only

    p = _Parser(prog="verify", allow_abbrev=False,
                description="Check the claims of 'Provable Benefits of Task-Specific Prompts for In-context Learning' "
                            "(AISTATS 2025) and print verdicts. Exit status: 0 ran, 1 refuted with --fail-on-refuted, "
                            "2 bad input, 130 interrupted.")
    sel = p.add_mutually_exclusive_group()
    for kind, numbers in NUMBERED.items():
        sel.add_argument(f"--{kind}", action=_Once, type=_int_in(f"--{kind}", min(numbers), max(numbers), numbers),
                         metavar="N", help=f"claims of {kind.capitalize()} N ({', '.join(map(str, numbers))})")
    sel.add_argument("--claim", action=_Once, metavar="ID", help="one claim by id (see --list); shows every channel")
    sel.add_argument("--all", action="store_true", help="every registered claim")
    sel.add_argument("--list", action="store_true", help="list the claim ids and statements")
    sel.add_argument("--expand", action=_Once, metavar="QUANTITY", help="print the expansion in 1/n of one quantity: "
                     "PT, FT, JT, PGD, PT-FT, FT-JT, JT-PGD, ratio, nWbar-I.PT, nWbar-I.JT, P.FT, P.JT")
    p.add_argument("--version", action=_Version)
    p.add_argument("--pack", action=_Once, metavar="PATH",
                   help="a claim pack of your own: a .py file or package directory defining PAPER = claims.record.Paper(...) "
                        "(docs/claims.md); it is checked like the built-in ones")
    p.add_argument("--paper", action=_Once, metavar="KEY",
                   help="the claim pack (default chang2025, this paper; also zhang2024 and others: see --list --paper KEY)")
    p.add_argument("--mixture", action=_Once, metavar="PRESET|FILE",
                   help="mixture shown in the table (default fig2c; presets: fig2a-d, figA1a-d, figA2-clean, "
                        "figA2-noisy; or a .json/.toml file)")
    p.add_argument("--max-size", action=_Once, type=_int_in("--max-size", 1, SIZE_MAX_LIMIT), metavar="N",
                   help="largest d and number of tasks K accepted from a mixture file (default: d 16, K 64)")
    p.add_argument("--n", action=_Once, metavar="N1,N2,...",
                   help=f"context lengths for the table (default 1,10,100; each from 1 to {N_MAX})")
    p.add_argument("--seed", action=_Once, type=_int_in("--seed", 0, SEED_MAX),
                   help=f"seed for generated mixtures, minimiser starts and sampling (0 to {SEED_MAX}; default 0)")
    p.add_argument("--device", action=_Once, metavar="auto|cpu|cuda[:N]",
                   help="where the Monte Carlo and training evidence run (default cpu: the same numbers on every machine)")
    p.add_argument("--json", action=_Once, metavar="FILE", help="write the machine-readable report here ('-': standard "
                                                               "output, the table then goes to standard error and "
                                                               "there is no progress bar)")
    speed = p.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="small search and budgets (default)")
    speed.add_argument("--full", action="store_true", help="larger search (more n values)")
    p.add_argument("--no-symbolic", action="store_true", help="skip the symbolic (sympy) decisions")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true",
                   help="every evidence channel of every claim, below the table; with --list, each claim's statement, scope and reading")
    p.add_argument("--fail-on-refuted", action="store_true", help="exit 1 when some claim is refuted (for CI)")
    p.add_argument("--order", action=_Once, type=_int_in("--order", 0, ORDER_MAX), metavar="K",
                   help=f"with --expand: terms through n^-K (0 to {ORDER_MAX}; default 3)")
    p.add_argument("--latex", action="store_true", help="with --expand, or with claims of Corollary 1 / Section 4: LaTeX")
    figures = figure_cli.add_figure_arguments(p)  # --figure/--figures/--plot/--report/--no-training
    figures.add_argument("--executor", action=_Once, type=_one_of("--executor", figure_cli.EXECUTORS), metavar="local|ray",
                         help="where the figure points, and with --full the independent trainings of "
                              f"{', '.join(figure_cli.TRAINED_CLAIM_IDS)}, run: local (default, this machine) or ray "
                              f"(Ray tasks; a local cluster unless --address; needs {figure_cli.RAY_INSTALL_HINT}). "
                              "Finished figure points are kept under the plot directory's points/, so a rerun resumes")
    figures.add_argument("--address", action=_Once, metavar="ADDR",
                         help="with --executor ray: the cluster to connect to (auto, HOST:PORT or ray://HOST:PORT; "
                              "default: RAY_ADDRESS from the environment, else a local cluster)")
    figures.add_argument("--connect-timeout", action=_Once, type=_seconds("--connect-timeout", CONNECT_TIMEOUT_MAX),
                         metavar="SECONDS", help="with --executor ray: how long to wait for the cluster to answer "
                                                 f"(default {figure_cli.CONNECT_TIMEOUT:g})")
    return p


# ----- which flags a run uses ------------------------------------------------------------------------------------
def _mode(args: argparse.Namespace) -> str:
    from verify import figure_cli

    if args.list:
        return "list"
    if args.expand is not None:
        return "expand"
    if figure_cli.figures_only(args):
        return "figures"
    return "claims"


_MODE_FLAG = {"list": "--list", "expand": "--expand", "figures": "--figure/--figures without a claim selection",
              "claims": "a claim selection"}
_MODE_NEEDS = {"list": "--list", "expand": "--expand", "figures": "--figure/--figures", "claims": "a claim selection"}
# flag -> modes in which it does something (any other use is rejected, never ignored)
_APPLIES = {
    "paper": {"list", "claims"}, "pack": {"list", "claims"},
    "mixture": {"expand", "claims"}, "max_size": {"expand", "claims"}, "n": {"claims"}, "seed": {"claims", "figures"},
    "device": {"claims", "figures"}, "json": {"expand", "claims"}, "quick": {"claims", "figures"}, "full": {"claims", "figures"},
    "no_symbolic": {"claims"}, "no_progress": {"claims", "figures"}, "verbose": {"claims", "list"}, "fail_on_refuted": {"claims"},
    "order": {"expand"}, "report": {"claims"}, "no_training": {"claims", "figures"}, "figure": {"claims", "figures"},
    "figures": {"claims", "figures"}, "latex": {"expand", "claims"}, "plot": {"expand", "claims", "figures"},
    "executor": {"claims", "figures"}, "address": {"claims", "figures"}, "connect_timeout": {"claims", "figures"},
}
# flags whose value is text: an empty string is refused, never read as "not given" (argparse keeps "" as a value)
_TEXT_FLAGS = ("claim", "expand", "paper", "pack", "mixture", "n", "device", "json", "plot", "report", "address", "figure")


def _given(args: argparse.Namespace, dest: str) -> bool:
    value = getattr(args, dest)
    return value is not None and value is not False


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def check_combinations(args: argparse.Namespace, claims: list[Any]) -> None:
    """Reject flags the run would ignore (UsageError naming the flag and what it needs)."""
    mode = _mode(args)
    for dest, modes in _APPLIES.items():
        if _given(args, dest) and mode not in modes:
            needs = " or ".join(_MODE_NEEDS[m] for m in ("claims", "expand", "figures") if m in modes)
            raise UsageError(f"{_flag(dest)}: not used with {_MODE_FLAG[mode]} (it needs {needs})")
    from verify import figure_cli

    figure_cli.check_executor_flags(args, [c.id for c in claims] if mode == "claims" else [])
    if mode != "claims":
        return
    asymptotic = any(c.id.startswith(("C1.", "S4.")) for c in claims)
    if args.latex and not (asymptotic and not args.no_symbolic):
        raise UsageError("--latex: needs --expand, or claims of Corollary 1 / Section 4 without --no-symbolic "
                         "(nothing else is printed as LaTeX)")
    if args.plot and not (asymptotic or figure_cli.wants_figures(args)):
        raise UsageError("--plot: nothing to plot (needs --figure/--figures, --expand, or claims of Corollary 1 / Section 4)")


def _load_pack(args: argparse.Namespace) -> None:
    """``--pack PATH``: import the pack (its own code may import the numeric stack), register it, and select it."""
    from claims.packs import load_pack, register
    from claims.papers import PAPERS
    from theory.errors import VerifyError
    from verify import claim_index

    paper = load_pack(args.pack)
    if args.paper is not None and args.paper != paper.key:
        raise VerifyError(f"--paper: {args.paper!r} is not the key of the pack given by --pack ({paper.key!r}); give one of them")
    register(paper, PAPERS)
    claim_index.index.cache_clear()
    args.paper = paper.key


def _selection(args: argparse.Namespace) -> list[Any]:
    """The selected claims as :class:`verify.claim_index.ClaimEntry` (the registry itself is imported when the
    work starts: :func:`_registered`)."""
    from theory.errors import VerifyError
    from verify import claim_index

    if args.pack is not None:
        _load_pack(args)
    key = args.paper if args.paper is not None else claim_index.default_paper()
    if key not in claim_index.pack_keys():
        raise VerifyError(f"--paper: unknown pack {key!r}; expected one of {', '.join(claim_index.pack_keys())}")
    entries = claim_index.pack(key).claims
    for kind in NUMBERED:
        value = getattr(args, kind)
        if value is not None:  # claims.registry.claims_for's rule
            result = f"{kind.capitalize()} {value}"
            found = [c for c in entries if result in c.results]
            if not found:
                raise VerifyError(f"{kind} {value}: the paper has no such result with registered claims")
            return found
    if args.claim is not None:
        chosen = [c for c in entries if c.id == args.claim]
        if not chosen:
            raise VerifyError(f"--claim: unknown claim id {args.claim!r} in pack {key}; run `verify --list --paper {key}` "
                              "for the ids")
        return chosen
    if args.all:
        return list(entries)
    if args.list or args.expand is not None:
        return []
    from verify import figure_cli

    if figure_cli.figures_only(args):
        return []
    raise UsageError("nothing selected: give one of --theorem N, --lemma N, --proposition 1, --corollary 1, "
                     "--claim ID, --all, --list, --expand Q or --figures")


def _registered(entries: list[Any], key: str) -> list[Any]:
    """The registry's :class:`claims.record.Claim` for each selected entry (imports every claim module)."""
    from claims.registry import claims

    registry = claims(key)
    return [registry[e.id] for e in entries]


def _check_text_flags(args: argparse.Namespace) -> None:
    """An empty value of a text flag is a UsageError: ``--json ''`` would write nothing, ``--plot ''`` fall back to
    the default directory, ``--paper ''`` select the default pack.  A blank one (``' '``) is judged by the flag's
    own rule (a malformed address, an unknown pack; a file may be called ``' '``)."""
    for dest in _TEXT_FLAGS:
        value = getattr(args, dest, None)
        for item in value if isinstance(value, list) else [value]:
            if item == "":
                raise UsageError(f"{_flag(dest)}: expected a value, got an empty string")


_DEVICE_HELP = "expected 'auto', 'cpu', 'cuda' or 'cuda:N'"


def _check_device_form(device: str | None) -> None:
    """montecarlo.sampler.resolve_device's names (auto, cpu, cuda, cuda:N) by their form, before torch loads;
    whether this machine has that device is asked later, of torch."""
    if device is None:
        return
    kind, sep, index = device.strip().lower().partition(":")
    if (kind in ("auto", "cpu") and not sep) or (kind == "cuda" and (not sep or (index.isascii() and index.isdigit()
                                                                                 and len(index) <= 6))):
        return
    raise UsageError(f"--device: unknown device {device!r} ({_DEVICE_HELP})")


# ----- the runs ----------------------------------------------------------------------------------------------------
def _progress(args: argparse.Namespace) -> bool:
    """A progress bar unless --no-progress, or standard output carries the JSON report (``--json -``)."""
    return not args.no_progress and args.json != "-"


def _console(args: argparse.Namespace) -> Console:
    """Where people read: stdout, or stderr when the JSON report goes to stdout (``--json -``)."""
    from verify.terminal import make_console

    return make_console(sys.stderr if args.json == "-" else sys.stdout)


def _expand(args: argparse.Namespace, mixture: Any) -> int:
    """``verify --expand QUANTITY --order K [--mixture M] [--latex] [--json FILE|-] [--plot DIR]``."""
    from verify import figure_cli
    from verify.asymptotics_report import expansion_report, print_expansion
    from verify.output import write_json
    from verify.version import SCHEMA_VERSION, tool_info

    console = _console(args)
    report = expansion_report(args.expand, 3 if args.order is None else args.order, mixture, args.mixture or "fig2c")
    print_expansion(report, args.latex, console)
    if args.json:
        write_json(args.json, {"schema_version": SCHEMA_VERSION, "tool": tool_info(), **report})
    if args.plot:
        figure_cli.plot_gaps(mixture, args.mixture or "fig2c", args.plot, console)
    return 0


def _claims(args: argparse.Namespace, claims: list[Any], mixture: Any, ns: list[int], device: str) -> int:
    import time
    from contextlib import ExitStack

    from verify import figure_cli
    from verify.asymptotics_report import asymptotic_rows, print_asymptotics
    from verify.output import write_json
    from verify.report.build import build_report
    from verify.report.schema import AsymptoticRow, Report
    from verify.run import run_checks
    from verify.terminal import print_report
    from verify.workers import background_worker

    name = args.mixture_name
    seed = args.seed or 0
    console = _console(args)
    expansions = any(c.id.startswith(("C1.", "S4.")) for c in claims)  # Corollary 1 and Section 4: the expansions
    start = time.perf_counter()
    with ExitStack() as stack:
        executor = figure_cli.claims_executor(args, [c.id for c in claims])  # --full --executor ray: the trainings
        running = stack.enter_context(executor) if executor is not None else None
        # The expansions table (about 10 s of sympy) is computed by a second process beside the claim checks.
        pending = (stack.enter_context(background_worker()).submit(
            asymptotic_rows, mixture, name, None, latex=args.latex, symbolic=not args.no_symbolic) if expansions else None)
        verdicts = run_checks(claims, mixture, ns, seed=seed, full=args.full, symbolic=not args.no_symbolic,
                              progress=_progress(args), training=not args.no_training, mixture_name=name,
                              device=device, paper=args.paper, executor=running)
        rows = pending.result() if pending is not None else None
    report = build_report(verdicts, mixture, name, ns, seed, time.perf_counter() - start, device=device)
    typed = Report.from_json(report)  # what the terminal reads; the dict is what --json writes
    print_report(typed, console, verbose=args.verbose or args.claim is not None)
    if rows is not None:
        verdict_of = {c.id: c.verdict for c in typed.claims}
        for row in rows:
            row["verdict"] = verdict_of.get(row["claim"] or "", "-")
        report["asymptotics"] = rows
        print_asymptotics([AsymptoticRow.from_json(r) for r in rows], console, verbose=args.verbose or args.latex)
        if args.plot and not figure_cli.wants_figures(args):
            figure_cli.plot_gaps(mixture, name, args.plot, console)
    if args.json:
        write_json(args.json, report)
    figure_cli.after_checks(args, report, console, device=device)  # figures and --report DIR
    return 1 if args.fail_on_refuted and typed.summary.refuted else 0


def _run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    _check_text_flags(args)
    entries = _selection(args)
    check_combinations(args, entries)
    mode = _mode(args)
    if mode == "list":
        from verify.terminal import make_console, print_claim_list

        print_claim_list(make_console(), args.paper or "chang2025", verbose=args.verbose)  # --pack set args.paper
        return 0
    # Everything below is checked before any long work, and before the numeric stack is imported: output paths,
    # the Ray address, the device's form, the mixture file's bytes, the context lengths.
    from verify import claim_index, figure_cli
    from verify.output import probe_file

    key = args.paper if args.paper is not None else claim_index.default_paper()
    pack = claim_index.pack(key)
    name = args.mixture or (pack.default_mixture if mode == "claims" else "fig2c")
    preset = name in pack.presets or name in claim_index.mixture_presets()
    if args.max_size is not None and preset:
        raise UsageError(f"--max-size: the mixture {name!r} is a preset, not a file (--max-size limits a mixture file)")
    inputs = [] if preset else [name]
    if args.json is not None:
        probe_file(args.json, "--json", inputs)
    figure_cli.validate(args)
    _check_device_form(args.device)
    text = None
    if not preset:
        from theory.mixture_file import read_mixture_file

        text = read_mixture_file(name, args.max_size, (*pack.presets, *claim_index.mixture_presets()))
    ns = parse_ns(args.n if args.n is not None else "1,10,100") if mode == "claims" else []
    # The work: from here on numpy, torch and sympy load.
    from montecarlo.sampler import resolve_device
    from theory.errors import VerifyError

    try:  # work on Ray runs on the cluster's devices (figure_cli.validate checked --device for it); the driver's on cpu
        on_driver = mode != "expand" and not figure_cli.uses_ray(args)
        device = str(resolve_device(args.device or "cpu")) if on_driver else "cpu"
    except VerifyError as exc:
        raise VerifyError(f"--{exc}") from None  # "device: ..." -> "--device: ..."
    if mode == "figures":
        figure_cli.run_figures(args, _console(args), device=device)
        return 0
    args.mixture_name = name
    mixture = _mixture(key, name, text, args.max_size)
    if mode == "expand":
        return _expand(args, mixture)
    return _claims(args, _registered(entries, key), mixture, ns, device)


def _mixture(key: str, name: str, text: str | None, max_size: int | None) -> Any:
    """The selected mixture: a preset of the pack or of :mod:`theory.mixture`, or the file's text, parsed."""
    from pathlib import Path

    from claims.registry import paper
    from theory.mixture import parse_mixture_text, preset

    pack = paper(key)
    if text is None:
        return pack.presets[name]() if name in pack.presets else preset(name)
    return parse_mixture_text(text, Path(name).suffix.lower(), name, max_size=max_size)


def _one_line(text: str) -> str:
    """The message with line breaks shown as escapes (the contract is one line on stderr)."""
    return "".join(repr(ch)[1:-1] if ch in _LINE_BREAKS else ch for ch in text)


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _interrupted_in(frame: Any) -> str | None:
    """``"spawn"`` when the interrupted code is starting a worker process (multiprocessing writing the spawned
    child's start-up data: cut short, the child prints an EOFError traceback beside our one line), ``"import"``
    when it is inside an import (a frame of importlib's bootstrap is on the stack), else None."""
    importing = False
    while frame is not None:
        name = frame.f_code.co_filename
        if name.endswith(("popen_spawn_posix.py", "popen_fork.py")):
            return "spawn"
        importing = importing or name.startswith("<frozen importlib._bootstrap")
        frame = frame.f_back
    return "import" if importing else None


class Stopped(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C (workers stopped, temporary files removed), then exit
    128 + the signal's number with one line."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: Any) -> None:
    """SIGINT: KeyboardInterrupt; SIGTERM, SIGHUP: :class:`Stopped`; except inside an import, where the line is
    printed and the process exits at once (``os._exit``), and inside a worker's start, where the signal is sent
    again 50 ms later.

    A KeyboardInterrupt raised while a C extension initialises (torch's, measured) can abort the interpreter
    (exit -6) or kill it by SIGINT after our message (exit -2), instead of exit 130; waiting for the import to end
    took up to 20 s on a loaded machine (torch, sympy and scipy load one after the other), so during an import the
    process leaves without unwinding: nothing is being written then, and a worker dies with its parent."""
    where = _interrupted_in(frame)
    if where == "import":  # nothing is written or half-started during an import: leave at once, with the line
        _say("verify: interrupted" if signum == signal.SIGINT else f"verify: terminated ({signal.Signals(signum).name})")
        os._exit(_SIGNAL_STATUS[signal.Signals(signum)])  # a worker already running dies with us (PR_SET_PDEATHSIG)
    if where == "spawn":
        import threading

        timer = threading.Timer(0.05, os.kill, (os.getpid(), signum))
        timer.daemon = True
        timer.start()
        return
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Stopped(signum)



def _one_blas_thread() -> None:
    """One BLAS thread unless the user set one: the minimiser's and solvers' matrices are small, and on a busy 2-core
    machine a second spinning BLAS thread made ``verify --claim T3.W`` 3.5x slower (14.6 s vs 51 s); it also keeps
    the float reduction order fixed.  Takes effect only when numpy is not imported yet (the console script)."""
    import os

    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def main(argv: list[str] | None = None) -> int:
    """Run ``verify`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status (see the module docstring)."""
    _one_blas_thread()
    previous = {signum: signal.signal(signum, _on_signal) for signum in _SIGNAL_STATUS} if threading_main() else {}
    try:
        return _main(argv)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _escape_unencodable() -> None:
    """Standard output and error print what their encoding cannot hold as escapes (``\\xe9``), not a
    UnicodeEncodeError: ``PYTHONIOENCODING=ascii`` with a file name outside ASCII."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError, AttributeError):
                pass


def _stdout_closed() -> bool:
    """True when the process started with its standard output closed (``verify --list >&-``): Python sets
    ``sys.stdout`` to None then."""
    return sys.stdout is None


def threading_main() -> bool:
    """Signal handlers can only be installed from the main thread (tests may call main() from others)."""
    import threading

    return threading.current_thread() is threading.main_thread()


def _say(line: str) -> None:
    """One line on stderr (nothing when stderr itself is closed)."""
    if sys.stderr is not None:
        try:
            print(line, file=sys.stderr)
        except (OSError, ValueError):
            pass


def _main(argv: list[str] | None) -> int:
    try:
        if _stdout_closed():
            _say("verify: error: standard output is closed (nothing could be printed; redirect it to a file or "
                 "/dev/null instead)")
            return 2
        _escape_unencodable()
        try:
            status = _run(argv)
            sys.stdout.flush()  # a full device fails here, inside the handlers, not at interpreter exit
            return status
        except _Exit as exc:
            sys.stdout.flush()
            return exc.status
        except UsageError as exc:
            _say(f"verify: error: {_one_line(str(exc))}")
            return 2
        except ValueError as exc:
            from theory.errors import VerifyError

            if not isinstance(exc, VerifyError):
                raise
            _say(f"verify: error: {_one_line(str(exc))}")
            return 2
        except BrokenPipeError:
            _silence_stdout()
            return 1
        except SystemExit as exc:  # rich's own broken-pipe handler points stdout at /dev/null and exits 1
            return exc.code if isinstance(exc.code, int) else 1
        except OSError as exc:
            if exc.errno not in _OUTPUT_ERRNOS:
                raise
            _silence_stdout()
            _say(f"verify: error: cannot write the output: {exc.strerror or exc}")
            return 2
    except KeyboardInterrupt:
        _say("verify: interrupted")
        return 130
    except Stopped as exc:
        _say(f"verify: terminated ({signal.Signals(exc.signum).name})")
        return _SIGNAL_STATUS[signal.Signals(exc.signum)]


if __name__ == "__main__":
    sys.exit(main())
