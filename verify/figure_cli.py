"""The ``verify`` command line for figures and the HTML report: ``--figure ID``, ``--figures``, ``--plot DIR``,
``--report DIR``, ``--no-training``, and the gap plot of ``--expand ... --plot DIR``.

``verify --figure 2a --plot out/`` reproduces one panel of Figure 2 (Section 6),
A1 (Appendix D) or A2 (Appendix E); ``--figures`` all of them;
``verify --all --report DIR`` runs the claims and writes the HTML/Markdown
report with the figures. ``--quick`` (default) or ``--full`` pick the budget
(:data:`verify.panels.QUICK`, :data:`verify.panels.FULL`). The files are
written by :mod:`verify.figures`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from theory.errors import VerifyError
from theory.mixture import TaskMixture
from verify.figures import FigureFiles, make_figures, resolve_panels, write_gap_plot
from verify.output import probe_dir
from verify.panels import FULL, PANELS, QUICK
from verify.trained import TrainedProvider, default_provider, unavailable

__all__ = ["DEFAULT_PLOT_DIR", "add_figure_arguments", "after_checks", "figures_only", "plot_gaps", "run_figures",
           "validate", "wants_figures"]

DEFAULT_PLOT_DIR = "figures"


def add_figure_arguments(p: argparse.ArgumentParser) -> None:
    """Add the figure and report flags to the ``verify`` parser."""
    g = p.add_argument_group("figures and report (Figures 2, A1, A2 of the paper)")
    g.add_argument("--figure", action="append", metavar="ID",  # repeatable: each use adds a panel
                   help=f"reproduce one panel (repeatable): {', '.join(PANELS)}")
    g.add_argument("--figures", action="store_true", help="reproduce every panel")
    g.add_argument("--plot", metavar="DIR", help=f"where figures go: PNG, SVG, CSV, JSON per panel (default {DEFAULT_PLOT_DIR}/)")
    g.add_argument("--report", metavar="DIR", help="with a claim selection: write report.html, report.md, report.json "
                                                   "and the figures (default: every panel) into DIR")
    g.add_argument("--no-training", action="store_true", help="figures without trained points (marked 'not available')")


def wants_figures(args: argparse.Namespace) -> bool:
    return bool(args.figure or args.figures)


def figures_only(args: argparse.Namespace) -> bool:
    """True when no claim is selected: the run makes figures and nothing else."""
    selectors = (args.theorem, args.lemma, args.proposition, args.corollary, args.claim)
    return wants_figures(args) and not args.all and not args.list and all(s is None for s in selectors)


def validate(args: argparse.Namespace) -> None:
    """Fail fast (VerifyError) on an unknown or repeated panel id, both --figure and --figures, or an unwritable
    --plot/--report directory, before long work. Nothing is created here (no empty directory after a failed run)."""
    if args.figure and args.figures:
        raise VerifyError("--figure: not used with --figures (which already makes every panel)")
    if args.figure:
        repeated = sorted({f for f in args.figure if args.figure.count(f) > 1})
        if repeated:
            raise VerifyError(f"--figure: panel {repeated[0]!r} given more than once")
    if wants_figures(args):
        resolve_panels(None if args.figures else args.figure)
        probe_dir(_plot_dir(args), "--plot")
    elif args.plot:
        probe_dir(args.plot, "--plot")
    if args.report:
        probe_dir(args.report, "--report")


def _plot_dir(args: argparse.Namespace) -> Path:
    return Path(args.plot or DEFAULT_PLOT_DIR)


def _provider(args: argparse.Namespace, device: str) -> TrainedProvider:
    return unavailable("--no-training") if args.no_training else default_provider(device=device)


def _make(args: argparse.Namespace, ids: list[str] | None, out: Path, device: str) -> list[FigureFiles]:
    return make_figures(ids, out, budget=FULL if args.full else QUICK, seed=0 if args.seed is None else args.seed,
                        provider=_provider(args, device), device=device, progress=not args.no_progress)


def run_figures(args: argparse.Namespace, console: Console | None = None, *, device: str = "cpu") -> list[FigureFiles]:
    """Make the panels named by --figure/--figures into --plot DIR (on ``device``) and say where they went."""
    files = _make(args, None if args.figures else args.figure, _plot_dir(args), device)
    console = console or Console()
    for f in files:
        console.print(f"{f.figure}: {f.png} (+ .svg, .csv, .json)", markup=False, highlight=False, soft_wrap=True)
    return files


def plot_gaps(mixture: TaskMixture, mixture_name: str, out_dir: str | Path, console: Console | None = None) -> list[Path]:
    """``--plot DIR`` with asymptotics: write the Corollary 1 gap plot of the mixture and say where it went."""
    paths = write_gap_plot(mixture, mixture_name, out_dir)
    console = console or Console()
    for path in paths:
        console.print(f"gap plot: {path}", markup=False, highlight=False, soft_wrap=True)
    return paths


def after_checks(args: argparse.Namespace, report: dict[str, Any], console: Console | None = None, *,
                 device: str = "cpu") -> None:
    """After the claims ran: make requested figures, and write the HTML/Markdown report when --report is given."""
    from verify.report.files import write_report

    if not args.report:
        if wants_figures(args):
            run_figures(args, console, device=device)
        return
    out = Path(args.report)
    if wants_figures(args):
        ids = None if args.figures else args.figure
        figs = _make(args, ids, Path(args.plot) if args.plot else out / "figures", device)
    else:
        figs = _make(args, None, out / "figures", device)
    page = write_report(report, out, figs)
    (console or Console()).print(f"report: {page} (+ report.md, report.json, {len(figs)} figures)", markup=False,
                                 highlight=False, soft_wrap=True)
