"""Draw the figures (matplotlib, Agg canvas, no pyplot state): the loss-vs-n panels and the asymptotic gap plot.

One style for every plot: :data:`STYLE` (matplotlib rc parameters, applied around each figure),
:data:`STRATEGY_STYLES` (colour, dash pattern and marker of each strategy, so that curves stay
distinguishable in greyscale) and :data:`KIND_STYLES` (how each kind of series is drawn: line weight,
decoration marker, hollow or filled points). A panel's legend sits below the axes, in two parts: which
strategy (colour, dash, marker) and which kind of series (line weight, decoration, fill); the budget is
stated under the title and the caption and caveats in a footer right under the legend.

:func:`render_panel` and :func:`render_gaps` return the encoded images (PNG and SVG bytes); writing them is
:mod:`verify.figures`' job.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from matplotlib import rc_context
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter
from matplotlib.transforms import Bbox

from theory.strategy import Strategy
from verify.panels import STRATEGY_LABELS, THEOREMS, Kind, PanelData, Series

if TYPE_CHECKING:
    from verify.asymptotics_report import GapCurves
    from verify.gap_panels import GapPanel, GapSeries

__all__ = ["FORMATS", "GAP_STYLES", "KIND_STYLES", "STRATEGY_STYLES", "STYLE", "KindStyle", "StrategyStyle", "plot_text",
           "render_gap_panel", "render_gaps", "render_panel"]

FORMATS = ("png", "svg")
PNG_DPI = 150
PANEL_SIZE = (6.4, 4.0)  # inches: the axes and their labels; the legend and the footer are added below
GAPS_SIZE = (11.0, 4.2)
FOOTER_FONTSIZE = 6.8
NEUTRAL = "#333333"  # kind samples in the legend, and quantities that are no strategy's
ERROR_CAP = 4.0  # points: half the width of an error bar's cap, wider than the largest point marker's radius

STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",  # shipped with matplotlib: the same glyphs on every machine
    "font.size": 8.5,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.linewidth": 0.8,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.direction": "out",
    "ytick.direction": "out",
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "legend.handlelength": 3.2,
    "legend.columnspacing": 1.6,
    "legend.handletextpad": 0.6,
    "legend.borderaxespad": 0.0,
    "lines.solid_capstyle": "butt",
    "lines.dash_capstyle": "butt",
    "errorbar.capsize": 2.0,
    "savefig.dpi": PNG_DPI,
    "savefig.facecolor": "white",
    "svg.fonttype": "none",  # text stays searchable text
    "svg.hashsalt": "verify",  # the same ids on every run
}


@dataclass(frozen=True)
class StrategyStyle:
    """How a strategy looks: colour (Okabe-Ito / Tol, colour-blind safe), dash pattern, point marker, and the weight
    of its main curve relative to the kind's (each strategy's a little thinner than the one before, so that curves
    that coincide, like PT = FT = JT on Figure 2(b), show as nested stripes rather than one hiding the others)."""

    colour: str
    dashes: Literal["-"] | tuple[float, tuple[float, ...]]
    marker: str
    weight: float


STRATEGY_STYLES: dict[Strategy, StrategyStyle] = {
    Strategy.PT: StrategyStyle("#0072B2", "-", "o", 1.35),
    Strategy.FT: StrategyStyle("#E69F00", (0, (5.0, 1.8)), "s", 1.05),
    Strategy.JT: StrategyStyle("#009E73", (0, (6.0, 1.6, 1.4, 1.6)), "^", 0.8),
    Strategy.PGD: StrategyStyle("#882255", (0, (1.3, 1.3)), "v", 0.8),
}
# The kinds drawn with the strategy's weight and dash pattern. The other line kinds are thin solid lines with a
# decoration marker, so that one running along a main curve (the head-scaled optimum on L~*_PGD in Figure 2(d), the
# unconstrained optimum on L*_JT) shows through the gaps of its dashes.
_WEIGHTED = (Kind.DERIVED, Kind.REFERENCE)


@dataclass(frozen=True)
class KindStyle:
    """How a kind of series is drawn, whatever its strategy: a line (weight, decoration marker) or points."""

    legend: str
    linewidth: float = 0.0  # 0: points, no line
    decoration: str = ""  # marker along a line, spread evenly along it
    hollow: bool = False  # points: the strategy's marker hollow (Monte Carlo) or filled (trained)
    size: float = 5.0
    alpha: float = 1.0
    zorder: float = 2.0


KIND_STYLES: dict[Kind, KindStyle] = {
    Kind.DERIVED: KindStyle("derived optimum", linewidth=2.0, zorder=2.0),
    Kind.REFERENCE: KindStyle("1-layer derived optimum (reference only)", linewidth=1.3, alpha=0.75, zorder=2.0),
    Kind.HEAD_SCALED: KindStyle("per-task head scales c_k, exact (eq. 18)", linewidth=1.0, decoration="+", size=6.0,
                                zorder=3.0),
    Kind.UNCONSTRAINED: KindStyle("unconstrained attention, best found (eq. 6)", linewidth=1.0, decoration="d", size=3.8,
                                  zorder=3.0),
    Kind.CLAIMED: KindStyle("paper's formula, where it differs", linewidth=1.0, decoration="x", size=4.5, zorder=3.0),
    Kind.MONTECARLO: KindStyle("Monte Carlo at the derived optimum, ±1 s.e.", hollow=True, size=4.5, zorder=4.0),
    Kind.TRAINED: KindStyle("trained", size=5.5, zorder=5.0),
}
_DECORATION_SPACING = {Kind.HEAD_SCALED: (0.07, 0.14), Kind.UNCONSTRAINED: (0.0, 0.09), Kind.CLAIMED: (0.03, 0.12)}


_SUB = str.maketrans("0123456789kx", "\u2080\u2081\u2082\u2083\u2084\u2085\u2086\u2087\u2088\u2089\u2096\u2093")
_SUP = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
# The panels' ASCII notation (verify.panels captions and notes) in the Unicode the plots' font has (DejaVu Sans has
# the subscripts, superscripts and the subscript beta used here), whole names only.
_UNICODE: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"\bSigma_tilde\b"), lambda m: "\u03a3\u0303\u1d66"),
    (re.compile(r"\bSigma_bar\b"), lambda m: "\u03a3\u0304\u1d66"),
    (re.compile(r"\bSigma_beta_?([0-9k]?)\b"), lambda m: "\u03a3\u1d66" + m.group(1).translate(_SUB)),
    (re.compile(r"\bSigma_x\b"), lambda m: "\u03a3\u2093"),
    (re.compile(r"\bsigma\^2\b"), lambda m: "\u03c3\u00b2"),
    (re.compile(r"\b(mu|pi|c|p|m)_k\b"), lambda m: {"mu": "\u03bc", "pi": "\u03c0"}.get(m.group(1), m.group(1)) + "\u2096"),
    (re.compile(r"\bmu\b"), lambda m: "\u03bc"),
    (re.compile(r"\bpi\b"), lambda m: "\u03c0"),
    (re.compile(r"\b([I1])_(\d+)\b"), lambda m: m.group(1) + m.group(2).translate(_SUB)),
    (re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\^(-?\d+)\b"), lambda m: m.group(1) + m.group(2).translate(_SUP)),
    (re.compile(r"L~\*"), lambda m: "L\u0303*"),
    (re.compile(r"->"), lambda m: "\u2192"),
]


def plot_text(text: str) -> str:
    """A caption, note or label of :mod:`verify.panels` with its ASCII notation in Unicode (``Sigma_beta1`` as Σᵦ₁,
    ``0.9^-9`` as 0.9⁻⁹, ``sigma^2`` as σ², ``mu`` as μ)."""
    for pattern, repl in _UNICODE:
        text = pattern.sub(repl, text)
    return text


@contextmanager
def _styled() -> Iterator[None]:
    with rc_context(cast(Any, STYLE)):  # matplotlib's stubs type rc keys as literals
        yield


def _new_figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _encode(fig: Figure) -> dict[str, bytes]:
    """PNG and SVG bytes, cropped to what was drawn (no blank bands), with no date in the metadata."""
    out = {}
    for fmt in FORMATS:
        buf = io.BytesIO()
        meta: dict[str, str | None] = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
        fig.savefig(buf, format=fmt, bbox_inches="tight", pad_inches=0.08, metadata=meta)
        out[fmt] = buf.getvalue()
    return out


# --- the loss-vs-n panels ---------------------------------------------------------------------------------------------


def render_panel(data: PanelData) -> dict[str, bytes]:
    """One panel of Figure 2, A1 or A2 as ``{"png": ..., "svg": ...}``."""
    with _styled():
        fig = _new_figure(PANEL_SIZE)
        ax = fig.add_axes((0.1, 0.12, 0.87, 0.72))
        drawn = [s for s in sorted(data.series, key=lambda s: KIND_STYLES[s.kind].zorder) if _draw_series(ax, s)]
        _decorate_axes(ax, data)
        frame = _labelled_extent(ax)  # the axes with their tick and axis labels: what the legend and footer align to
        _heading(ax, data)
        bottom = _legend_below(ax, frame, drawn, data.spec.layers)
        _footer(ax, frame, bottom, _footer_lines(data))
        return _encode(fig)


def _xy(s: Series) -> tuple[list[int], list[float], list[float]]:
    pts = [p for p in s.points if p.normalised is not None]
    return [p.n for p in pts], [float(p.normalised or 0.0) for p in pts], [float(p.normalised_stderr or 0.0) for p in pts]


def _draw_series(ax: Axes, s: Series) -> bool:
    """Draw one series in its strategy's and its kind's style; False when it has no point to draw."""
    xs, ys, errs = _xy(s)
    if not xs:
        return False
    st, ks = STRATEGY_STYLES[s.strategy], KIND_STYLES[s.kind]
    if ks.linewidth:
        start, step = _DECORATION_SPACING.get(s.kind, (0.0, 0.0))
        main = s.kind in _WEIGHTED
        ax.plot(xs, ys, color=st.colour, linestyle=st.dashes if main else "-", linewidth=ks.linewidth * (st.weight if main else 1.0),
                alpha=ks.alpha, zorder=ks.zorder, marker=ks.decoration or None, markersize=ks.size, markeredgewidth=1.0, markerfacecolor=st.colour,
                markevery=(start, step) if ks.decoration and step else None, label="_")
    else:
        # The markers first, then the error bars over them with caps wider than a marker: a bar shorter than the
        # marker still shows its caps, and a hollow marker shows the bar through it.
        ax.plot(xs, ys, linestyle="none", marker=st.marker, markersize=ks.size, color=st.colour,
                markerfacecolor="none" if ks.hollow else st.colour, markeredgecolor=st.colour if ks.hollow else "black",
                markeredgewidth=1.1 if ks.hollow else 0.6, zorder=ks.zorder, label="_")
        if any(errs):
            ax.errorbar(xs, ys, yerr=errs, fmt="none", ecolor=st.colour if ks.hollow else "black", elinewidth=1.0,
                        capsize=ERROR_CAP, capthick=1.0, zorder=ks.zorder + 0.5, label="_")
    return True


def _log_n_axis(ax: Axes, top: int, ylabel: str) -> None:
    """The context length n on a log axis up to ``top``, labelled at round values, and the normalised loss on y."""
    ax.set_xscale("log")
    ax.set_xlim(0.85, top * 1.15)
    ticks = [t for t in (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 500, 1000) if t <= top]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="major")
    ax.grid(False, which="minor")
    ax.set_xlabel("context length n (log scale)")
    ax.set_ylabel(ylabel)


def _decorate_axes(ax: Axes, data: PanelData) -> None:
    _log_n_axis(ax, max(data.budget.ns), "test loss / E[y²]")


def _heading(ax: Axes, data: PanelData) -> None:
    """Title (figure, preset, depth) and, under it, the budget in small type."""
    spec = data.spec
    depth = "" if spec.layers == 1 else f", {spec.layers}-layer attention"
    width = ax.get_window_extent(_renderer(ax)).width
    def shown(kind: Kind) -> bool:
        return any(p.loss is not None for s in data.series if s.kind is kind for p in s.points)

    headline = data.budget.headline(sampled=shown(Kind.MONTECARLO), trained=shown(Kind.TRAINED), layers=spec.layers)
    budget = f"{headline}; seed {data.seed}"
    sub = ax.annotate("\n".join(_wrap(ax, budget, width, 7.0)),
                      xy=(0.0, 1.0), xycoords="axes fraction", xytext=(0, 5), textcoords="offset points",
                      ha="left", va="bottom", fontsize=7, color="#555555")
    ax.annotate(f"{spec.figure}, preset {spec.preset}{depth}", xy=(0.0, 1.0), xycoords=sub, xytext=(0, 3),
                textcoords="offset points", ha="left", va="bottom", fontsize=10, fontweight="bold")


def _strategy_handle(strategy: Strategy, drawn: Sequence[Series]) -> Line2D:
    """The strategy's legend sample: its colour, with its dash pattern when one of its main curves is drawn and its
    marker when some of its points are (an undrawn style in the legend would promise what the plot lacks)."""
    st = STRATEGY_STYLES[strategy]
    mine = [s for s in drawn if s.strategy is strategy]
    line = any(s.kind in _WEIGHTED for s in mine)
    points = any(not KIND_STYLES[s.kind].linewidth for s in mine)
    return Line2D([], [], color=st.colour, linestyle=st.dashes if line else "none", linewidth=2.0 * st.weight,
                  marker=st.marker if points else None, markersize=5.5, markerfacecolor=st.colour,
                  markeredgecolor="black", markeredgewidth=0.6)


def _kind_handle(kind: Kind) -> Line2D:
    ks = KIND_STYLES[kind]
    if ks.linewidth:
        return Line2D([], [], color=NEUTRAL, linewidth=ks.linewidth, alpha=ks.alpha, marker=ks.decoration or None,
                      markersize=ks.size, markerfacecolor=NEUTRAL)
    return Line2D([], [], color=NEUTRAL, linestyle="none", marker="o", markersize=ks.size - 0.5,
                  markerfacecolor="none" if ks.hollow else NEUTRAL, markeredgecolor=NEUTRAL if ks.hollow else "black",
                  markeredgewidth=1.1 if ks.hollow else 0.6)


def _kind_text(kind: Kind, series: Sequence[Series], layers: int) -> str:
    text = KIND_STYLES[kind].legend
    if kind is Kind.CLAIMED:
        return f"{text} ({', '.join(sorted({s.claim for s in series if s.kind is kind and s.claim}))})"
    if kind is Kind.TRAINED:
        return f"trained, {layers}-layer" + (", ±1 s.e." if any(p.stderr for s in series if s.kind is kind
                                                                   for p in s.points) else "")
    if kind is Kind.UNCONSTRAINED and layers != 1:
        return "1-layer attention, best found (eq. 6): reference"
    return text


def _legend_below(ax: Axes, frame: Bbox, drawn: list[Series], layers: int) -> float:
    """The legend under the axes, in two blocks: the strategies (colour, dash, marker) on one row, then the kinds of
    series (line weight and decoration, hollow or filled points), each block in as many columns as the width allows.
    Returns the display height where the legend ends (the footer goes under it)."""
    if not drawn:
        return float(frame.y0)
    strategies = [s for s in Strategy if any(d.strategy is s for d in drawn)]
    kinds = [k for k in KIND_STYLES if any(s.kind is k for s in drawn)]
    s_items = [(_strategy_handle(s, drawn), f"{STRATEGY_LABELS[s]} ({THEOREMS[s]})") for s in strategies]
    k_items = [(_kind_handle(k), _kind_text(k, drawn, layers)) for k in kinds]
    middle = _fitted_legend(ax, frame, s_items, frame.y0 - 10.0, len(s_items))
    return _fitted_legend(ax, frame, k_items, middle - 3.0, 3)


def _fitted_legend(ax: Axes, frame: Bbox, items: Sequence[tuple[Artist, str]], top: float, most: int) -> float:
    """A legend block centred under ``frame`` with its top at display height ``top``, in the most columns (up to
    ``most``) that fit in the frame's width; entries read row by row. Returns the display height of its bottom."""
    renderer = _renderer(ax)
    anchor = ax.transAxes.inverted().transform(((frame.x0 + frame.x1) / 2, top))
    legend = None
    for ncol in range(min(most, len(items)), 0, -1):
        if legend is not None:
            legend.remove()
        handles, labels = _rows_first([(h, plot_text(label)) for h, label in items], ncol)
        legend = Legend(ax, handles, labels, ncol=ncol, loc="upper center", bbox_to_anchor=tuple(anchor),
                        bbox_transform=ax.transAxes)
        ax.add_artist(legend)
        legend.set_clip_on(False)  # outside the axes: unclipped, so that the cropped image keeps all of it
        if legend.get_window_extent(renderer).width <= frame.width * 1.02:
            break
    assert legend is not None
    return top - float(legend.get_window_extent(renderer).height)


def _rows_first(items: Sequence[tuple[Artist, str]], ncol: int) -> tuple[list[Artist], list[str]]:
    """Handles and labels in the order that makes a legend of ``ncol`` columns read row by row (matplotlib fills
    a legend column by column)."""
    blank: tuple[Artist, str] = (Line2D([], [], linestyle="none"), "")
    rows = [list(items[i:i + ncol]) for i in range(0, len(items), ncol)]
    rows[-1] = rows[-1] + [blank] * (ncol - len(rows[-1])) if len(rows) > 1 else rows[-1]
    ordered = [row[c] for c in range(len(rows[0])) for row in rows]
    return [h for h, _ in ordered], [label for _, label in ordered]


def _figure(ax: Axes) -> Figure:
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    return fig


def _renderer(ax: Axes) -> Any:
    canvas = _figure(ax).canvas
    assert isinstance(canvas, FigureCanvasAgg)
    return canvas.get_renderer()


def _labelled_extent(ax: Axes) -> Bbox:
    """What is drawn of the axes so far (with tick labels and axis labels), in display units."""
    box = ax.get_tightbbox(_renderer(ax))
    assert box is not None
    return box


def _wrap(ax: Axes, text: str, width: float, fontsize: float) -> list[str]:
    """``text`` wrapped to lines of at most ``width`` display units in this font (measured, not guessed)."""
    renderer = _renderer(ax)
    measured, _, _ = renderer.get_text_width_height_descent(text, FontProperties(size=fontsize), ismath=False)
    per_char = measured / max(1, len(text))
    return textwrap.wrap(text, max(40, int(width / per_char * 0.98)), subsequent_indent="  ")


def _footer_lines(data: PanelData) -> list[str]:
    describe = data.budget.describe()  # already under the title, as the budget's headline
    remarks = [f"{s.label}: {s.note}" for s in data.series if s.kind in (Kind.HEAD_SCALED, Kind.CLAIMED) and s.note]
    return [data.spec.caption, f"losses divided by E[y²] = {data.label_second_moment:.6g}", *remarks,
            *[n for n in data.notes if n != describe]]


def _footer(ax: Axes, frame: Bbox, top: float, lines: list[str]) -> None:
    """Caption and caveats in small type, right under the legend (whose bottom is at display height ``top``), as
    wide as ``frame`` (the axes and their labels)."""
    fig = _figure(ax)
    left, y = fig.transFigure.inverted().transform((frame.x0, top - 8.0))
    text = "\n".join(wrapped for line in lines for wrapped in _wrap(ax, plot_text(line), frame.width, FOOTER_FONTSIZE))
    fig.text(left, y, text, ha="left", va="top", fontsize=FOOTER_FONTSIZE, color="#444444", linespacing=1.35)


# --- the asymptotic gaps (Corollary 1) --------------------------------------------------------------------------------


def render_gaps(curves: GapCurves) -> dict[str, bytes]:
    """Log-log plot of the Corollary 1 gaps with their derived leading terms and the claimed rates (left), and the
    ratio of the gaps with its derived limit and the claimed n^-1 rate (right), as ``{"png": ..., "svg": ...}``.
    Exact values are drawn as derived curves, the paper's rates as claimed ones (:data:`KIND_STYLES`)."""
    with _styled():
        fig = _new_figure(GAPS_SIZE)
        ax, ax_ratio = fig.add_axes((0.07, 0.14, 0.41, 0.74)), fig.add_axes((0.57, 0.14, 0.41, 0.74))
        ns = np.asarray(curves.ns, dtype=float)
        for gap in curves.gaps:
            colour = STRATEGY_STYLES[gap.lower].colour
            ax.loglog(ns, gap.values, **_gap_line(Kind.DERIVED, colour), label=f"{gap.name} (exact)")
            ax.loglog(ns, gap.leading_coefficient * ns ** gap.leading_exponent, **_gap_line(None, colour),
                      label=f"derived leading term {gap.leading_coefficient:.4g} n^{gap.leading_exponent}")
            ax.loglog(ns, gap.anchor * (ns / 10.0) ** gap.claimed_exponent, **_gap_line(Kind.CLAIMED, colour),
                      label=f"claimed rate n^{gap.claimed_exponent} (through n = 10)")
        _gap_axes(ax, f"Corollary 1 gaps on {curves.mixture_name}", "loss gap (same units as the loss)")
        if curves.ratio is not None:
            r = curves.ratio
            ax_ratio.loglog(ns, r.values, **_gap_line(Kind.DERIVED, NEUTRAL), label="(L*_PT - L*_FT) / (L*_FT - L*_JT) (exact)")
            ax_ratio.loglog(ns, np.full_like(ns, r.limit), **_gap_line(None, NEUTRAL), label=f"derived limit {r.limit:.4g}")
            ax_ratio.loglog(ns, r.anchor * 10.0 / ns, **_gap_line(Kind.CLAIMED, NEUTRAL),
                            label="claimed rate n^-1 (through n = 10)")
        else:
            ax_ratio.text(0.5, 0.5, "all task means are zero: both gaps vanish", ha="center", transform=ax_ratio.transAxes)
        _gap_axes(ax_ratio, "Corollary 1, part 2: ratio of the gaps", "gap ratio (dimensionless)")
        return _encode(fig)


def _gap_line(kind: Kind | None, colour: str) -> dict[str, Any]:
    """Line properties on the gap plot: a kind's style, or (None) the thin dotted line of a leading term."""
    if kind is None:
        return {"color": colour, "linewidth": 1.0, "linestyle": (0, (1.3, 1.3)), "zorder": 2.0}
    ks = KIND_STYLES[kind]
    spacing = _DECORATION_SPACING.get(kind, (0.0, 0.0))
    return {"color": colour, "linewidth": ks.linewidth, "linestyle": "-",
            "marker": ks.decoration or None, "markersize": ks.size, "markevery": spacing if ks.decoration else None,
            "alpha": ks.alpha, "zorder": ks.zorder}


def _gap_axes(ax: Axes, title: str, ylabel: str) -> None:
    ax.set_xlabel("context length n")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.grid(True, which="major")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)


# --- the gaps between strategies on a panel (the experiments' claims) -------------------------------------------------

# Each gap in the colour and dash pattern of the strategy it adds (FT for PT - FT, JT for FT - JT, PGD for PT - PGD);
# the prompts' gain PT - JT, which shares JT with FT - JT on Figure A1(b), in Tol's sky blue with a solid line.
GAP_STYLES: dict[tuple[Strategy, Strategy], StrategyStyle] = {
    (Strategy.PT, Strategy.FT): STRATEGY_STYLES[Strategy.FT],
    (Strategy.FT, Strategy.JT): STRATEGY_STYLES[Strategy.JT],
    (Strategy.PT, Strategy.JT): StrategyStyle("#56B4E9", "-", "D", 1.0),
    (Strategy.PT, Strategy.PGD): STRATEGY_STYLES[Strategy.PGD],
}
_GAP_KINDS = {"theory": Kind.DERIVED, "attention": Kind.UNCONSTRAINED, "trained": Kind.TRAINED}


def render_gap_panel(gaps: GapPanel) -> dict[str, bytes]:
    """A panel's gaps between strategies against n (:mod:`verify.gap_panels`), as ``{"png": ..., "svg": ...}``: the
    theory's gaps as weighted curves, the exact attention's as thin curves with diamonds, trained gaps as filled
    markers with ±1 s.e. bars; a dotted vertical line at the crossover n* where its claim computes it."""
    with _styled():
        fig = _new_figure(PANEL_SIZE)
        ax = fig.add_axes((0.1, 0.12, 0.87, 0.72))
        for s in sorted(gaps.series, key=lambda s: KIND_STYLES[_GAP_KINDS[s.source]].zorder):
            _draw_gap(ax, s)
        ax.axhline(0.0, color=NEUTRAL, linewidth=0.6, zorder=1.0)
        top = max((p.n for s in gaps.series for p in s.points), default=1)
        if gaps.crossover is not None:
            ax.axvline(gaps.crossover, color=NEUTRAL, linewidth=1.0, linestyle=(0, (2.0, 2.0)), zorder=1.5,
                       label=f"n* = {gaps.crossover} (E.C1-crossover: joint training's gain ≥ fine-tuning's from here)")
        _log_n_axis(ax, top, "loss gap / E[y²]")
        depth = "" if gaps.layers == 1 else f", {gaps.layers}-layer attention"
        ax.set_title(f"{gaps.figure}: gaps between strategies, preset {gaps.preset}{depth}", loc="left")
        frame = _labelled_extent(ax)
        handles, labels = ax.get_legend_handles_labels()
        items = [(h, label) for h, label in zip(handles, labels, strict=True) if not label.startswith("_")]
        bottom = _fitted_legend(ax, frame, cast(Any, items), frame.y0 - 10.0, 1) if items else float(frame.y0)
        claims = f"claims: {', '.join(gaps.claims)}" if gaps.claims else "no experiments' claim on this preset"
        _footer(ax, frame, bottom, [claims, *gaps.notes])
        return _encode(fig)


def _draw_gap(ax: Axes, s: GapSeries) -> None:
    st, ks = GAP_STYLES[s.minuend, s.subtrahend], KIND_STYLES[_GAP_KINDS[s.source]]
    xs, ys = [p.n for p in s.points], [p.value for p in s.points]
    if not xs:
        return
    if s.source == "trained":
        ax.plot(xs, ys, linestyle="none", marker=st.marker, markersize=ks.size, color=st.colour,
                markeredgecolor="black", markeredgewidth=0.6, zorder=ks.zorder, label=plot_text(s.label))
        errs = [p.stderr or 0.0 for p in s.points]
        if any(errs):
            ax.errorbar(xs, ys, yerr=errs, fmt="none", ecolor="black", elinewidth=1.0, capsize=ERROR_CAP, capthick=1.0,
                        zorder=ks.zorder + 0.5, label="_")
        return
    theory = s.source == "theory"
    start, step = _DECORATION_SPACING.get(_GAP_KINDS[s.source], (0.0, 0.0))
    ax.plot(xs, ys, color=st.colour, linestyle=st.dashes if theory else "-",
            linewidth=ks.linewidth * (0.75 if s.reference else 1.0),
            alpha=0.75 if s.reference else ks.alpha, zorder=ks.zorder, marker=ks.decoration or None,
            markersize=ks.size, markerfacecolor=st.colour, markevery=(start, step) if ks.decoration and step else None,
            label=plot_text(s.label))
