"""The ``verify`` command line for figures and the HTML report: ``--figure ID``, ``--figures``, ``--plot DIR``,
``--report DIR``, ``--no-training``, and the gap plot of ``--expand ... --plot DIR``.

``verify --figure 2a --plot out/`` reproduces one panel of Figure 2 (Section 6),
A1 (Appendix D) or A2 (Appendix E); ``--figures`` all of them; ``--executor ray
[--address ADDR]`` runs their points as Ray tasks (:mod:`verify.ray_executor`),
and every finished point is kept under ``DIR/points/`` so a rerun resumes;
``verify --all --report DIR`` runs the claims and writes the HTML/Markdown
report with the figures. ``--quick`` (default) or ``--full`` pick the budget
(:data:`verify.panels.QUICK`, :data:`verify.panels.FULL`). The files are
written by :mod:`verify.figures`.

Only the standard library and the light :mod:`verify.ray_executor` checks load with this module: the parser and
the checks of :func:`validate` run before matplotlib, torch or Ray are imported.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from theory.errors import VerifyError
from verify.output import probe_dir
from verify.ray_executor import (
    CONNECT_TIMEOUT,
    RAY_INSTALL_HINT,
    check_address,
    check_ray_device,
    probe_address,
    ray_installed,
)

if TYPE_CHECKING:
    from rich.console import Console

    from theory.mixture import TaskMixture
    from verify.figures import FigureFiles
    from verify.ray_executor import RayExecutor
    from verify.sweep import Executor

__all__ = ["CONNECT_TIMEOUT", "DEFAULT_PLOT_DIR", "EXECUTORS", "PANEL_IDS", "RAY_INSTALL_HINT", "REPORT_FILES",
           "TRAINED_CLAIM_IDS", "add_figure_arguments", "after_checks", "check_executor_flags", "claims_executor",
           "figures_only", "makes_figures", "plot_gaps",
           "ray_address", "run_figures", "trains_on_executor", "uses_ray", "validate", "wants_figures"]

DEFAULT_PLOT_DIR = "figures"
EXECUTORS = ("local", "ray")  # --executor
# The ids of verify.panels.PANELS, for the parser and the input checks without importing the panels (numpy, torch);
# tests/verify/test_cli_startup.py checks that they are the same.
# The claims with trained evidence to distribute under --full (verify.evidence.experiments.TRAINED_CLAIMS, the same
# test), known here without importing the evidence channels.
TRAINED_CLAIM_IDS = ("E.2c-predicts", "E.A1-aligns", "E.A2-depth")
PANEL_IDS = ("2a", "2b", "2c", "2d", "A1a", "A1b", "A1c", "A1d", "A2a", "A2b", "A2c", "A2d", "A2e", "A2f")
REPORT_FILES = ("report.html", "report.md", "report.json")  # what verify.report.files.write_report writes in DIR


def add_figure_arguments(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add the figure and report flags to the ``verify`` parser; return their group (:mod:`verify.cli` adds
    ``--executor`` and ``--address`` to it, with its strict value checks)."""
    g = p.add_argument_group("figures and report (Figures 2, A1, A2 of the paper)")
    g.add_argument("--figure", action="append", metavar="ID",  # repeatable: each use adds a panel
                   help=f"reproduce one panel (repeatable): {', '.join(PANEL_IDS)}")
    g.add_argument("--figures", action="store_true", help="reproduce every panel")
    g.add_argument("--plot", metavar="DIR", help=f"where figures go: PNG, SVG, CSV, JSON per panel (default {DEFAULT_PLOT_DIR}/)")
    g.add_argument("--report", metavar="DIR", help="with a claim selection: write report.html, report.md, report.json "
                                                   "and the figures (default: every panel) into DIR")
    g.add_argument("--no-training", action="store_true", help="figures without trained points (marked 'not available')")
    return g


def wants_figures(args: argparse.Namespace) -> bool:
    return bool(args.figure or args.figures)


def figures_only(args: argparse.Namespace) -> bool:
    """True when no claim is selected: the run makes figures and nothing else."""
    selectors = (args.theorem, args.lemma, args.proposition, args.corollary, args.claim)
    return wants_figures(args) and not args.all and not args.list and all(s is None for s in selectors)


def makes_figures(args: argparse.Namespace) -> bool:
    """True when the run writes figures: --figure/--figures, or --report (which has every panel by default)."""
    return wants_figures(args) or bool(getattr(args, "report", None))


def uses_ray(args: argparse.Namespace) -> bool:
    return getattr(args, "executor", None) == "ray"


def ray_address(args: argparse.Namespace) -> tuple[str | None, str]:
    """The cluster a Ray run connects to and where that came from: ``--address``, else ``RAY_ADDRESS`` from the
    environment (which ``ray.init`` would read), else None (a local cluster)."""
    address = getattr(args, "address", None)
    if address is not None:
        return address, "--address"
    env = os.environ.get("RAY_ADDRESS")
    return (env, "RAY_ADDRESS") if env else (None, "--address")


def trains_on_executor(args: argparse.Namespace, claim_ids: Sequence[str]) -> list[str]:
    """The selected claims whose trained evidence the run trains (``--full`` and not ``--no-training``): the work
    ``--executor`` distributes besides figure points."""
    if not getattr(args, "full", False) or getattr(args, "no_training", False):
        return []
    return [c for c in claim_ids if c in TRAINED_CLAIM_IDS]


def check_executor_flags(args: argparse.Namespace, claim_ids: Sequence[str] = ()) -> None:
    """``--executor`` only where it has work (figures, or the trained evidence of the selected ``claim_ids`` under
    ``--full``), ``--address`` and ``--connect-timeout`` only with ``--executor ray``, and the address's form (also
    one from ``RAY_ADDRESS``): VerifyError, one line; the flags alone, before anything is imported or contacted."""
    executor, address = getattr(args, "executor", None), getattr(args, "address", None)
    if executor is not None and not makes_figures(args) and not trains_on_executor(args, claim_ids):
        trained = [c for c in claim_ids if c in TRAINED_CLAIM_IDS]
        if not trained:
            what = f"claim {claim_ids[0]} has" if len(claim_ids) == 1 else "the selected claims have"
            raise VerifyError(f"--executor: {what} no trained work to distribute (it runs figure points, with "
                              f"--figure/--figures or --report, and the trained evidence of {', '.join(TRAINED_CLAIM_IDS)} "
                              "with --full)")
        if getattr(args, "no_training", False):
            raise VerifyError("--executor: --no-training leaves no trained work to distribute")
        raise VerifyError(f"--executor: at the quick budget {', '.join(trained)} trains nothing (add --full: the "
                          "paper's protocol, whose independent trainings it distributes)")
    if address is not None and executor != "ray":
        raise VerifyError("--address: needs --executor ray (the local executor runs in this process)")
    if getattr(args, "connect_timeout", None) is not None and executor != "ray":
        raise VerifyError("--connect-timeout: needs --executor ray (nothing else connects to a network)")
    if executor == "ray":
        where, source = ray_address(args)
        if where is not None:
            check_address(where, source)


def claims_executor(args: argparse.Namespace, claim_ids: Sequence[str]) -> RayExecutor | None:
    """The executor of the selected claims' trainings: Ray (``--executor ray``, with ``--address`` or RAY_ADDRESS,
    ``--connect-timeout`` and ``--device`` as Ray reads them) when the run trains some (:func:`trains_on_executor`);
    None: they run in this process."""
    if not uses_ray(args) or not trains_on_executor(args, claim_ids):
        return None
    from verify.ray_executor import RayExecutor

    return RayExecutor(ray_address(args)[0], args.device, connect_timeout=_timeout(args))


def validate(args: argparse.Namespace) -> None:
    """Fail fast (VerifyError) on an unknown or repeated panel id, both --figure and --figures, or an unwritable
    --plot/--report directory (or a report file in it that is a device, FIFO, socket, directory or the input
    mixture), --executor ray without Ray installed, with a --device Ray cannot honour, or with a cluster address
    that does not answer within --connect-timeout seconds, before long work. Nothing is created here (no empty
    directory after a failed run)."""
    inputs = [args.mixture] if getattr(args, "mixture", None) else []
    if args.figure and args.figures:
        raise VerifyError("--figure: not used with --figures (which already makes every panel)")
    if args.figure:
        repeated = sorted({f for f in args.figure if args.figure.count(f) > 1})
        if repeated:
            raise VerifyError(f"--figure: panel {repeated[0]!r} given more than once")
        for panel_id in args.figure:
            _check_panel(panel_id)
    if wants_figures(args):
        probe_dir(_plot_dir(args), "--plot")
    elif args.plot is not None:
        probe_dir(args.plot, "--plot")
    if args.report is not None:
        probe_dir(args.report, "--report", REPORT_FILES, inputs)
    if uses_ray(args):
        if not ray_installed():
            raise VerifyError(f"--executor: ray is not installed (install the extra: {RAY_INSTALL_HINT})")
        check_ray_device(args.device)
        where, source = ray_address(args)
        if where is not None:
            probe_address(where, _timeout(args), source)


def _timeout(args: argparse.Namespace) -> float:
    value = getattr(args, "connect_timeout", None)
    return CONNECT_TIMEOUT if value is None else float(value)


def _check_panel(panel_id: str) -> None:
    """:func:`verify.panels.panel`'s rule (case-insensitive, an optional "fig" prefix) on :data:`PANEL_IDS`."""
    key = panel_id.strip()
    if key.lower().startswith("fig"):
        key = key[3:].lstrip("-_ ")
    if not any(pid.lower() == key.lower() for pid in PANEL_IDS):
        raise VerifyError(f"--figure: unknown panel {panel_id!r}; expected one of {', '.join(PANEL_IDS)}")


def _plot_dir(args: argparse.Namespace) -> Path:
    return Path(DEFAULT_PLOT_DIR if args.plot is None else args.plot)


def _executor(args: argparse.Namespace, device: str) -> Executor:
    """--executor: the local one on ``device`` (default; on a CPU, a process per core), or Ray (--address or
    RAY_ADDRESS, --connect-timeout, and --device as Ray reads it)."""
    if uses_ray(args):
        from verify.ray_executor import RayExecutor

        return RayExecutor(ray_address(args)[0], args.device, connect_timeout=_timeout(args))
    from verify.sweep import LocalExecutor, local_workers

    return LocalExecutor(device, workers=local_workers(device))


def _make(args: argparse.Namespace, ids: list[str] | None, out: Path, device: str, console: Console) -> list[FigureFiles]:
    """The figures into ``out``; the trained points from the training channel on the executor's device (default)."""
    from verify.figures import make_figures
    from verify.panels import FULL, QUICK
    from verify.trained import unavailable

    return make_figures(ids, out, budget=FULL if args.full else QUICK, seed=0 if args.seed is None else args.seed,
                        provider=unavailable("--no-training") if args.no_training else None, device=device,
                        progress=not args.no_progress and getattr(args, "json", None) != "-", executor=_executor(args, device),
                        notify=lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))


def run_figures(args: argparse.Namespace, console: Console | None = None, *, device: str = "cpu") -> list[FigureFiles]:
    """Make the panels named by --figure/--figures into --plot DIR (on ``device``, or on the executor's) and say where
    they went."""
    from rich.console import Console

    console = console or Console()
    files = _make(args, None if args.figures else args.figure, _plot_dir(args), device, console)
    for f in files:
        gaps = f"; gaps between strategies: {f.gaps['png']} (+ .svg, .csv, .json)" if "png" in f.gaps else ""
        console.print(f"{f.figure}: {f.png} (+ .svg, .csv, .json){gaps}", markup=False, highlight=False, soft_wrap=True)
    return files


def plot_gaps(mixture: TaskMixture, mixture_name: str, out_dir: str | Path, console: Console | None = None) -> list[Path]:
    """``--plot DIR`` with asymptotics: write the Corollary 1 gap plot of the mixture and say where it went."""
    from rich.console import Console

    from verify.figures import write_gap_plot

    paths = write_gap_plot(mixture, mixture_name, out_dir)
    console = console or Console()
    for path in paths:
        console.print(f"gap plot: {path}", markup=False, highlight=False, soft_wrap=True)
    return paths


def after_checks(args: argparse.Namespace, report: dict[str, Any], console: Console | None = None, *,
                 device: str = "cpu") -> None:
    """After the claims ran: make requested figures, and write the HTML/Markdown report when --report is given."""
    from rich.console import Console

    from verify.output import files_for
    from verify.report.files import write_report

    if not args.report:
        if wants_figures(args):
            run_figures(args, console, device=device)
        return
    out = Path(args.report)
    console = console or Console()
    if wants_figures(args):
        ids = None if args.figures else args.figure
        figs = _make(args, ids, Path(args.plot) if args.plot is not None else out / "figures", device, console)
    else:
        with files_for("--report"):  # the report's own figures: a failed write names --report, not --plot
            figs = _make(args, None, out / "figures", device, console)
    page = write_report(report, out, figs)
    console.print(f"report: {page} (+ report.md, report.json, {len(figs)} figures)", markup=False, highlight=False,
                  soft_wrap=True)
