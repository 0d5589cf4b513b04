"""The ``verify`` flags for figures and the HTML report: ``--figure ID``, ``--figures``, ``--plot DIR``, ``--report DIR``.

``verify --figure 2a --plot out/`` reproduces one panel of Figure 2 (Section 6),
A1 (Appendix D) or A2 (Appendix E); ``--figures`` all of them;
``verify --all --report DIR`` runs the claims and writes the HTML/Markdown
report with the figures. ``--quick`` (default) or ``--full`` pick the budget
(:data:`verify.panels.QUICK`, :data:`verify.panels.FULL`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from montecarlo import resolve_device
from verify.figures import FigureFiles, check_output_dir, make_figures, resolve_panels
from verify.panels import FULL, PANELS, QUICK
from verify.trained import TrainedProvider, default_provider, unavailable

DEFAULT_PLOT_DIR = "figures"


def add_figure_arguments(p: argparse.ArgumentParser) -> None:
    """Add the figure and report flags to the ``verify`` parser."""
    g = p.add_argument_group("figures and report (Figures 2, A1, A2 of the paper)")
    g.add_argument("--figure", action="append", metavar="ID",
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
    """Fail fast (VerifyError) on an unknown panel id or an unwritable --plot/--report directory, before long work."""
    if wants_figures(args):
        resolve_panels(None if args.figures else args.figure)
        check_output_dir(_plot_dir(args), "--plot")
    if args.report:
        check_output_dir(args.report, "--report")


def _plot_dir(args: argparse.Namespace) -> Path:
    return Path(args.plot or DEFAULT_PLOT_DIR)


def _provider(args: argparse.Namespace, device: str) -> TrainedProvider:
    return unavailable("--no-training") if args.no_training else default_provider(device=device)


def _make(args: argparse.Namespace, ids: list[str] | None, out: Path) -> list[FigureFiles]:
    device = str(resolve_device("auto"))
    return make_figures(ids, out, budget=FULL if args.full else QUICK, seed=args.seed,
                        provider=_provider(args, device), device=device, progress=not args.no_progress)


def run_figures(args: argparse.Namespace, console: Console | None = None) -> list[FigureFiles]:
    """Make the panels named by --figure/--figures into --plot DIR and say where they went."""
    files = _make(args, None if args.figures else args.figure, _plot_dir(args))
    console = console or Console(width=160)
    for f in files:
        console.print(f"{f.figure}: {f.png} (+ .svg, .csv, .json)")
    return files


def after_checks(args: argparse.Namespace, report: dict[str, Any], console: Console | None = None) -> None:
    """After the claims ran: make requested figures, and write the HTML/Markdown report when --report is given."""
    from verify.html_report import write_report

    if not args.report:
        if wants_figures(args):
            run_figures(args, console)
        return
    out = Path(args.report)
    if wants_figures(args):
        ids = None if args.figures else args.figure
        figs = _make(args, ids, Path(args.plot) if args.plot else out / "figures")
    else:
        figs = _make(args, None, out / "figures")
    page = write_report(report, out, figs)
    (console or Console(width=160)).print(f"report: {page} (+ report.md, report.json, {len(figs)} figures)")
