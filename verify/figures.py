"""The figure files: each panel of Figures 2, A1, A2 as ``fig_<id>.png``, ``.svg``, ``.csv``, ``.json``, and the
asymptotic gap plot as ``asymptotics_gaps.png``, ``.svg``.

The figure system has three parts, one job each: :mod:`verify.panels` computes a panel's numbers,
:mod:`verify.plotting` draws them, and this module writes the files (:func:`make_figures` for the
panels, :func:`write_gap_plot` for the gaps). :mod:`verify.sweep` runs a figure run's points on an
executor and keeps each finished point as a record under ``DIR/points/``, so a rerun resumes.
:mod:`verify.figure_cli` is the command line on top. Every file is written atomically: it appears whole or
not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from theory.errors import VerifyError
from theory.mixture import TaskMixture
from verify.asymptotics_report import gap_curves
from verify.output import write_bytes_atomic
from verify.panels import PANELS, QUICK, Budget, PanelData, PanelSpec, PointSpec, panel, panel_work
from verify.plotting import render_gaps, render_panel
from verify.sweep import Executor, LocalExecutor, sweep
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
                 provider: TrainedProvider | None = None, device: str = "cpu", progress: bool = True,
                 executor: Executor | None = None, on_point: Callable[[PointSpec], Any] | None = None,
                 notify: Callable[[str], Any] | None = None) -> list[FigureFiles]:
    """Compute and write the selected panels (all for ``ids=None``), with a progress bar over their points.

    The points run on ``executor`` (default :class:`verify.sweep.LocalExecutor` on ``device``; an executor's own
    device wins) and each is kept as a record under ``out_dir/points/`` as soon as it is done, so a rerun resumes
    where an interrupted one stopped (:func:`verify.sweep.sweep`). A panel's files are written as soon as its last
    point is done. ``provider`` (default: the training channel on the executor's device) gives the trained points;
    ``on_point(point)`` is called after each point; ``notify(line)`` gets one line saying how many points were read
    back and where the points ran, when some were read back or the executor is not the local one.
    """
    specs = resolve_panels(ids)
    out = Path(out_dir)
    written: dict[str, FigureFiles] = {}
    with (executor or LocalExecutor(device)) as runner, \
            Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                     disable=not progress, transient=True) as bar:
        chosen = provider or default_provider(device=runner.device)
        task = bar.add_task(f"figure points ({runner.name})", total=sum(panel_work(s, budget) for s in specs))

        def point_done(point: PointSpec) -> None:
            bar.advance(task)
            if on_point is not None:
                on_point(point)

        def panel_done(data: PanelData) -> None:
            written[data.spec.id] = write_panel(data, check_output_dir(out))

        stats = sweep(specs, out, budget=budget, seed=seed, provider=chosen, executor=runner, prepare_dir=check_output_dir,
                      on_point=point_done, on_panel=panel_done)
        where = runner.describe()
    if notify is not None and (stats.reused or stats.replaced or runner.name != LocalExecutor.name):
        replaced = f", {stats.replaced} unreadable records replaced" if stats.replaced else ""
        notify(f"points: {stats.reused} of {stats.points} read back from {stats.points_dir}, {stats.computed} computed "
               f"({where}){replaced}")
    return [written[spec.id] for spec in dict.fromkeys(specs)]


def write_gap_plot(mixture: TaskMixture, mixture_name: str, out_dir: str | Path) -> list[Path]:
    """The Corollary 1 gap plot of ``mixture``: asymptotics_gaps.png and .svg in ``out_dir`` (created only once the
    images are ready: a failed run leaves no empty directory)."""
    images = render_gaps(gap_curves(mixture, mixture_name))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_bytes_atomic(out / f"{GAP_PLOT_STEM}.{ext}", body, "--plot") for ext, body in images.items()]
