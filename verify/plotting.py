"""Draw one panel (matplotlib, Agg backend, no pyplot state): loss / E[y^2] against n, as in Figures 2, A1, A2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import NullFormatter, ScalarFormatter  # noqa: E402

from verify.figures import PanelData  # noqa: E402

_COLOURS = {"PT": "#1f77b4", "FT": "#ff7f0e", "JT": "#2ca02c", "PGD": "#9467bd", "HEADS": "#d62728"}


def render(data: PanelData, png: Path, svg: Path) -> None:
    """Write the panel as PNG (110 dpi) and SVG; the budget and every caveat are printed under the axes."""
    fig = Figure(figsize=(11.0, 6.0))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.07, 0.25, 0.52, 0.68))
    for s in data.series:
        colour = _COLOURS.get(s.strategy, "black")
        xs = [p.n for p in s.points if p.normalised is not None]
        ys = [p.normalised for p in s.points if p.normalised is not None]
        if not xs:
            continue
        if s.kind == "derived":
            ax.plot(xs, ys, "-", color=colour, lw=1.8, label=f"derived: {s.label}")
        elif s.kind == "reference":
            ax.plot(xs, ys, ":", color=colour, lw=1.2, alpha=0.6, label=s.label)
        elif s.kind == "unconstrained":
            ax.plot(xs, ys, "-.", color=colour, lw=1.4, marker="d", ms=3, label=s.label)
        elif s.kind == "claimed":
            ax.plot(xs, ys, "--", color=colour, lw=1.4, label=s.label)
        elif s.kind == "montecarlo":
            errs = [p.normalised_stderr or 0.0 for p in s.points if p.normalised is not None]
            ax.errorbar(xs, ys, yerr=errs, fmt="o", ms=5, mfc="none", color=colour, capsize=3,
                        label=f"{s.strategy}: Monte Carlo (±1 s.e.)")
        elif s.kind == "trained":
            errs = [p.normalised_stderr or 0.0 for p in s.points if p.normalised is not None]
            ax.errorbar(xs, ys, yerr=errs, fmt="x", ms=8, mew=2, color=colour, capsize=3, label=s.label)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(list(data.budget.ns))
    ax.set_xlabel("context length n (in-context examples, log scale)")
    ax.set_ylabel("test loss / E[y²] (dimensionless)")
    ax.set_title(f"{data.spec.figure}, preset {data.spec.preset}: normalised loss vs n", fontsize=11)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    footer = [data.spec.caption, f"E[y²] = {data.label_second_moment:.6g}; seed {data.seed}", *data.notes]
    wrapped = "\n".join(textwrap.fill(line, 170) for line in footer)
    fig.text(0.02, 0.02, wrapped, fontsize=7, va="bottom", ha="left", family="monospace")
    fig.savefig(png, dpi=110, metadata={"Software": None})
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "verify"}):  # text stays searchable text
        fig.savefig(svg, metadata={"Date": None, "Creator": None})
