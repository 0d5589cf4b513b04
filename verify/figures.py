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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from theory.errors import VerifyError
from theory.mixture import TaskMixture
from verify.asymptotics_report import gap_curves
from verify.gap_panels import gap_panel
from verify.output import write_bytes_atomic
from verify.panels import (
    PANELS,
    QUICK,
    Budget,
    PanelData,
    PanelSpec,
    PointKind,
    PointSpec,
    panel,
    panel_points,
    panel_work,
    point_cost,
)
from verify.plotting import render_gap_panel, render_gaps, render_panel
from verify.sweep import Executor, LocalExecutor, PointTask, expected_seconds, sweep, task_cost
from verify.trained import TrainedProvider, default_provider

__all__ = ["GAPS_SUFFIX", "GAP_PLOT_STEM", "FigureFiles",
           "check_output_dir", "expected_time_line", "make_figures", "resolve_panels", "write_gap_plot",
           "write_panel"]

GAP_PLOT_STEM = "asymptotics_gaps"
GAPS_SUFFIX = "gaps"  # fig_<id>_gaps.*: a panel's gaps between strategies


@dataclass(frozen=True)
class FigureFiles:
    """The files written for one panel: the loss panel, and ``gaps`` (``png``, ``svg``, ``csv``, ``json``), its gaps
    between strategies (:mod:`verify.gap_panels`)."""

    panel: str
    figure: str
    png: Path
    svg: Path
    csv: Path
    json: Path
    agreement: dict[str, dict[str, Any]]
    notes: tuple[str, ...]
    gaps: dict[str, Path] = field(default_factory=dict)


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
    """Write fig_<id>.png/.svg/.csv/.json for one panel and fig_<id>_gaps.png/.svg/.csv/.json for its gaps between
    strategies (everything is drawn and encoded before the first write)."""
    stem = out_dir / f"fig_{data.spec.id}"
    gaps = gap_panel(data)
    contents = {**render_panel(data), "csv": data.to_csv().encode("utf-8"),
                "json": json.dumps(data.to_json(), indent=2).encode("utf-8")}
    gap_contents = {**render_gap_panel(gaps), "csv": gaps.to_csv().encode("utf-8"),
                    "json": json.dumps(gaps.to_json(), indent=2).encode("utf-8")}
    paths = {ext: write_bytes_atomic(stem.with_suffix(f".{ext}"), body, "--plot") for ext, body in contents.items()}
    gap_stem = out_dir / f"fig_{data.spec.id}_{GAPS_SUFFIX}"
    gap_paths = {ext: write_bytes_atomic(gap_stem.with_suffix(f".{ext}"), body, "--plot")
                 for ext, body in gap_contents.items()}
    return FigureFiles(data.spec.id, data.spec.figure, paths["png"], paths["svg"], paths["csv"], paths["json"],
                       {str(k): v for k, v in data.agreement().items()}, tuple(data.notes), gap_paths)


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
    points = sum(panel_work(s, budget) for s in specs)
    # the bar advances by each point's expected cost (a trained stack weighs a thousand Monte Carlo points), so that
    # its time left means something; the count of points is shown beside it
    with (executor or LocalExecutor(device)) as runner, \
            Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[done]}/{task.fields[points]} points"),
                     TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), disable=not progress,
                     transient=True) as bar:
        chosen = provider or default_provider(device=runner.device)
        total = sum(point_cost(p, budget) for s in specs for p in panel_points(s, budget))
        task = bar.add_task(f"figure points ({runner.name})", total=total, done=0, points=points)
        count = [0]

        def point_done(point: PointSpec) -> None:
            count[0] += 1
            bar.update(task, advance=point_cost(point, budget), done=count[0])
            if on_point is not None:
                on_point(point)

        def panel_done(data: PanelData) -> None:
            written[data.spec.id] = write_panel(data, check_output_dir(out))

        def started(todo: list[PointTask]) -> None:
            if notify is not None:
                workers = getattr(runner, "expected_parallelism", lambda tasks: 1)(todo)
                line = expected_time_line(todo, workers, runner.name)
                if line and progress:  # above the live bar, not through it
                    bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
                elif line:
                    notify(line)

        stats = sweep(specs, out, budget=budget, seed=seed, provider=chosen, executor=runner, prepare_dir=check_output_dir,
                      on_point=point_done, on_panel=panel_done, on_start=started)
        where = runner.describe()
    if notify is not None and (stats.reused or stats.replaced or runner.name != LocalExecutor.name):
        replaced = f", {stats.replaced} unreadable records replaced" if stats.replaced else ""
        notify(f"points: {stats.reused} of {stats.points} read back from {stats.points_dir}, {stats.computed} computed "
               f"({where}){replaced}")
    return [written[spec.id] for spec in dict.fromkeys(specs)]


EXPECTED_TIME_FROM = 60.0  # seconds: a shorter run starts without a word


def expected_time_line(todo: list[PointTask], workers: int, executor: str = "local") -> str | None:
    """One line before a long figure run: how many points and trained models are left, and the expected time on this
    many idle cores (:func:`verify.sweep.expected_seconds`); None for a short run or a remote executor (whose
    machines are not these)."""
    if not todo or executor != LocalExecutor.name:
        return None
    seconds = expected_seconds(todo, workers)
    if seconds < EXPECTED_TIME_FROM:
        return None
    trained = sum(t.point.kind is PointKind.TRAINED and task_cost(t) > 0 for t in todo)
    minutes = seconds / 60
    span = f"{minutes:.0f} min" if minutes < 600 else f"{minutes / 60:.0f} h"
    return (f"figure points: {len(todo)} to compute ({trained} trained models), expected about {span} on {workers} "
            f"process{'es' if workers != 1 else ''} of an idle CPU (counted steps and samples x measured rates; a busy "
            "machine takes longer)")


def write_gap_plot(mixture: TaskMixture, mixture_name: str, out_dir: str | Path) -> list[Path]:
    """The Corollary 1 gap plot of ``mixture``: asymptotics_gaps.png and .svg in ``out_dir`` (created only once the
    images are ready: a failed run leaves no empty directory)."""
    images = render_gaps(gap_curves(mixture, mixture_name))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_bytes_atomic(out / f"{GAP_PLOT_STEM}.{ext}", body, "--plot") for ext, body in images.items()]
