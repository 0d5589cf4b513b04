"""The figure files: each panel of Figures 2, A1, A2 as ``fig_<id>.png``, ``.svg``, ``.csv``, ``.json``, and the
asymptotic gap plot as ``asymptotics_gaps.png``, ``.svg``.

The figure system has three parts, one job each: :mod:`verify.panels` computes a panel's numbers,
:mod:`verify.plotting` draws them, and this module writes the files (:func:`make_figures` for the
panels, :func:`write_gap_plot` for the gaps). :mod:`verify.figure_cli` is the command line on top.
Every file is written atomically: it appears whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from theory.errors import VerifyError
from theory.mixture import TaskMixture
from verify.asymptotics_report import gap_curves
from verify.output import write_bytes_atomic
from verify.panels import PANELS, QUICK, Budget, PanelData, PanelSpec, compute_panel, panel, panel_work
from verify.plotting import render_gaps, render_panel
from verify.trained import TrainedProvider, default_provider

__all__ = ["GAP_PLOT_STEM", "FigureFiles", "check_output_dir", "make_figures", "resolve_panels", "write_gap_plot",
           "write_panel"]

GAP_PLOT_STEM = "asymptotics_gaps"


@dataclass(frozen=True)
class FigureFiles:
    """The files written for one panel."""

    panel: str
    figure: str
    png: Path
    svg: Path
    csv: Path
    json: Path
    agreement: dict[str, dict[str, Any]]
    notes: tuple[str, ...]


def check_output_dir(path: str | Path, flag: str = "--plot") -> Path:
    """Create ``path`` if needed and make sure files can be written there, else VerifyError with one line."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise VerifyError(f"{flag}: cannot write to {str(out)!r}: {exc.strerror or exc}") from None
    return out


def write_panel(data: PanelData, out_dir: Path) -> FigureFiles:
    """Write fig_<id>.png/.svg/.csv/.json for one panel (everything is drawn and encoded before the first write)."""
    stem = out_dir / f"fig_{data.spec.id}"
    contents = {**render_panel(data), "csv": data.to_csv().encode("utf-8"),
                "json": json.dumps(data.to_json(), indent=2).encode("utf-8")}
    paths = {ext: write_bytes_atomic(stem.with_suffix(f".{ext}"), body, "--plot") for ext, body in contents.items()}
    return FigureFiles(data.spec.id, data.spec.figure, paths["png"], paths["svg"], paths["csv"], paths["json"],
                       {str(k): v for k, v in data.agreement().items()}, tuple(data.notes))


def resolve_panels(ids: Iterable[str] | None) -> list[PanelSpec]:
    """Panel specs for the given ids (all panels for None), VerifyError for an unknown id."""
    return list(PANELS.values()) if ids is None else [panel(i) for i in ids]


def make_figures(ids: Iterable[str] | None, out_dir: str | Path, *, budget: Budget = QUICK, seed: int = 0,
                 provider: TrainedProvider | None = None, device: str = "cpu", progress: bool = True) -> list[FigureFiles]:
    """Compute and write the selected panels (all for ``ids=None``), with a progress bar."""
    specs = resolve_panels(ids)
    out: Path | None = None  # created when the first panel is ready: a run that fails first leaves no empty directory
    provider = provider or default_provider(device=device)
    files = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=not progress, transient=True) as bar:
        task = bar.add_task("figures", total=sum(panel_work(s, budget) for s in specs))
        for spec in specs:
            bar.update(task, description=f"{spec.figure}")
            data = compute_panel(spec, budget=budget, seed=seed, provider=provider, device=device,
                                 advance=lambda: bar.advance(task))
            out = out or check_output_dir(out_dir)
            files.append(write_panel(data, out))
    return files


def write_gap_plot(mixture: TaskMixture, mixture_name: str, out_dir: str | Path) -> list[Path]:
    """The Corollary 1 gap plot of ``mixture``: asymptotics_gaps.png and .svg in ``out_dir`` (created only once the
    images are ready: a failed run leaves no empty directory)."""
    images = render_gaps(gap_curves(mixture, mixture_name))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_bytes_atomic(out / f"{GAP_PLOT_STEM}.{ext}", body, "--plot") for ext, body in images.items()]
