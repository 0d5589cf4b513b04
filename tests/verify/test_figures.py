"""Figure reproduction (Figures 2, A1, A2): the numbers behind each panel, the files written, the CLI flags.

Tolerances:
* derived curves are the toolkit's exact float64 optimum divided by E[y^2]: compared at 1e-12 relative;
* Monte Carlo points: |estimate - derived| <= K_SIGMA standard errors, K_SIGMA = 5 (two-sided false-alarm
  rate ~6e-7 per point; the tests below draw fewer than 40 points, so the suite's rate stays below 1e-4).
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from theory.attention import head_scaled_pgd_optimum
from theory.errors import VerifyError
from theory.mixture import preset
from theory.optima import optimum
from theory.strategy import Strategy
from theory.unconstrained import unconstrained_optimum
from verify.cli import main
from verify.figures import make_figures, write_panel
from verify.panels import CSV_COLUMNS, FULL, PANELS, QUICK, Budget, Kind, compute_panel, panel
from verify.trained import NOT_AVAILABLE, TrainedPoint, default_provider, from_training_evidence, unavailable

K_SIGMA = 5.0
EXACT_RTOL = 1e-12
TINY = Budget("test", ns=(1, 5), mc_target_rel_se=2e-2, mc_min_samples=1_000, mc_max_samples=50_000,
              train_quick=True, train_ns=(1, 5))


def fake_provider(strategy, mixture, n, *, layers, seed, quick):
    """A stand-in training channel: 1% above the derived optimum."""
    base = optimum(strategy, mixture, n).loss
    return TrainedPoint(1.01 * base, 0.001 * base, f"fake L={layers}")


@pytest.fixture(scope="module")
def panel_2c():
    return compute_panel(panel("2c"), budget=TINY, seed=0, provider=unavailable("not in this test"))


@pytest.fixture(scope="module")
def panel_a1b():
    return compute_panel(panel("A1b"), budget=TINY, seed=0, provider=fake_provider)


def _series(data, kind, strategy):
    found = [s for s in data.series if s.kind == kind and s.strategy == strategy]
    assert len(found) <= 1
    return found[0] if found else None


def test_every_panel_of_the_paper_is_registered():
    expected = ["2a", "2b", "2c", "2d", "A1a", "A1b", "A1c", "A1d", "A2a", "A2b", "A2c", "A2d", "A2e", "A2f"]
    assert list(PANELS) == expected
    assert [PANELS[f"A2{c}"].layers for c in "abcdef"] == [1, 2, 3, 1, 2, 3]
    assert panel("fig2a") is PANELS["2a"] and panel("a1D") is PANELS["A1d"]


@pytest.mark.parametrize("bad", ["2e", "A3a", "", "fig"])
def test_unknown_panel_is_a_verify_error(bad):
    with pytest.raises(VerifyError, match="unknown panel"):
        panel(bad)


def test_quick_budget_is_smaller_than_full():
    assert len(QUICK.ns) < len(FULL.ns) and QUICK.mc_target_rel_se > FULL.mc_target_rel_se
    assert QUICK.train_quick and not FULL.train_quick
    assert "quick" in QUICK.describe() and "n in {1, 3, 10, 30}" in QUICK.describe()


def test_derived_curves_are_the_optima_normalised_by_label_second_moment(panel_2c):
    m = preset("fig2c")
    ey2 = m.label_second_moment()
    assert panel_2c.label_second_moment == pytest.approx(ey2, rel=EXACT_RTOL)
    for strategy in ("PT", "FT", "JT"):
        s = _series(panel_2c, "derived", strategy)
        assert [p.n for p in s.points] == [1, 2, 3, 4, 5]
        for p in s.points:
            assert p.normalised == pytest.approx(optimum(strategy, m, p.n).loss / ey2, rel=EXACT_RTOL)
    # Corollary 1 on the plot: JT <= FT <= PT at every n.
    curves = {k: np.array([p.normalised for p in _series(panel_2c, "derived", k).points]) for k in ("PT", "FT", "JT")}
    assert np.all(curves["JT"] <= curves["FT"] + 1e-15) and np.all(curves["FT"] <= curves["PT"] + 1e-15)


def test_montecarlo_points_sit_on_the_derived_curves(panel_2c, panel_a1b):
    for data in (panel_2c, panel_a1b):
        for strategy in data.spec.strategies:
            derived = {p.n: p.loss for p in _series(data, "derived", strategy).points}
            mc = _series(data, "montecarlo", strategy)
            assert [p.n for p in mc.points] == [1, 5]
            for p in mc.points:
                assert p.stderr > 0
                assert abs(p.loss - derived[p.n]) <= K_SIGMA * p.stderr, (data.spec.id, strategy, p)
        agreement = data.agreement()
        assert all(entry["montecarlo_max_abs_z"] <= K_SIGMA for entry in agreement.values())


def test_claimed_curves_only_where_the_paper_differs(panel_2c, panel_a1b):
    assert not [s for s in panel_2c.series if s.kind == "claimed"]  # Theorems 1-3 hold on fig2c (Sigma_x = I)
    claimed = _series(panel_a1b, "claimed", "PGD")
    assert claimed is not None and claimed.claim == "T4.loss.appendix"
    derived = {p.n: p.loss for p in _series(panel_a1b, "derived", "PGD").points}
    m = preset("figA1b")
    for n, loss in derived.items():  # the derived curve of Strategy.PGD is L~*_PGD, eq. (19)
        assert loss == pytest.approx(optimum(Strategy.PGD, m, n).loss, rel=EXACT_RTOL)
    for p in claimed.points:  # Appendix C.2 drops sigma^2 = 5 from L~*_PGD
        assert derived[p.n] - p.loss == pytest.approx(5.0, rel=1e-9)
    heads = _series(panel_a1b, "head-scaled", "PGD")
    assert heads.claim == "P1.equality" and [p.n for p in heads.points] == sorted(derived)
    for p in heads.points:
        assert p.loss == pytest.approx(head_scaled_pgd_optimum(m, p.n).loss, rel=EXACT_RTOL)
        assert p.loss <= derived[p.n] * (1 + 1e-12)  # heads never do worse than L~*_PGD


def test_head_scaled_curve_says_whether_proposition_1_holds():
    tiny = Budget("test", ns=(1, 5), mc_target_rel_se=2e-2, mc_min_samples=1_000, mc_max_samples=5_000,
                  train_quick=True, train_ns=())
    clean = compute_panel(panel("2d"), budget=tiny, provider=unavailable("x"))
    noisy = compute_panel(panel("A1d"), budget=tiny, provider=unavailable("x"))
    assert "equal to L~*_PGD" in _series(clean, "head-scaled", "PGD").note
    assert "below L~*_PGD" in _series(noisy, "head-scaled", "PGD").note  # P1.equality is refuted on A1(d)
    assert not any(s.strategy == "HEADS" for s in clean.series)


def test_trained_points_from_the_provider(panel_a1b):
    for strategy in Strategy:  # Strategy.PGD is trained as attention with prompts and task-specific heads (eq. 18)
        tr = _series(panel_a1b, "trained", strategy)
        assert [p.n for p in tr.points] == [1, 5] and all(p.loss is not None for p in tr.points)
    gap = panel_a1b.agreement()["PT"]["trained_max_rel_gap"]
    assert gap == pytest.approx(0.01, rel=1e-9)
    assert not any(NOT_AVAILABLE in note for note in panel_a1b.notes)


def test_missing_training_is_stated_not_dropped(panel_2c, tmp_path):
    assert any(note.startswith(NOT_AVAILABLE) for note in panel_2c.notes)
    for strategy in ("PT", "FT", "JT"):
        tr = _series(panel_2c, "trained", strategy)
        assert [p.n for p in tr.points] == [1, 5] and all(p.loss is None for p in tr.points)
        assert all(NOT_AVAILABLE in p.note for p in tr.points)
    files = write_panel(panel_2c, tmp_path)
    rows = list(csv.DictReader(io.StringIO(files.csv.read_text(encoding="utf-8"))))
    trained = [r for r in rows if r["kind"] == "trained"]
    assert len(trained) == 6 and all(r["loss"] == "" and NOT_AVAILABLE in r["note"] for r in trained)
    assert NOT_AVAILABLE in files.svg.read_text(encoding="utf-8")
    assert any(NOT_AVAILABLE in n for n in json.loads(files.json.read_text(encoding="utf-8"))["notes"])


def test_files_written_agree_with_each_other(panel_a1b, tmp_path):
    files = write_panel(panel_a1b, tmp_path)
    assert files.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = files.svg.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "context length n" in svg and "E[y²]" in svg
    rows = list(csv.DictReader(io.StringIO(files.csv.read_text(encoding="utf-8"))))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    payload = json.loads(files.json.read_text(encoding="utf-8"))
    assert payload["panel"] == "A1b" and payload["budget"]["ns"] == [1, 5]
    from_json = [(s["kind"], s["strategy"], p["n"], p["normalised"]) for s in payload["series"] for p in s["points"]]
    from_csv = [(r["kind"], r["strategy"], int(r["n"]), float(r["loss_over_Ey2"]) if r["loss_over_Ey2"] else None) for r in rows]
    assert from_json == from_csv
    kinds = {s["kind"] for s in payload["series"]}
    assert kinds == {"derived", "claimed", "head-scaled", "montecarlo", "trained"} == {str(k) for k in Kind} - {
        "unconstrained", "reference"}
    assert {s["strategy"] for s in payload["series"]} == {"PT", "FT", "JT", "PGD"}


def test_multi_layer_panel_has_no_invented_theory(tmp_path):
    data = compute_panel(panel("A2b"), budget=TINY, seed=0, provider=unavailable("not in this test"))
    kinds = {s.kind for s in data.series}
    # no derived, no claimed, no Monte Carlo curves for L = 2: references (the one-layer optima) and trained points
    assert kinds == {"reference", "unconstrained", "trained"}
    assert any("no derived theory for 2-layer" in n for n in data.notes)
    assert any("Monte Carlo: not applicable" in n for n in data.notes)
    svg = write_panel(data, tmp_path).svg.read_text(encoding="utf-8")
    assert "no derived theory for 2-layer" in svg and "1-layer attention, best found (eq. 6): reference" in svg
    deeper = compute_panel(panel("A2b"), budget=TINY, seed=0, provider=fake_provider)
    assert all(p.note == "fake L=2" for s in deeper.series if s.kind == "trained" for p in s.points)


def test_depths_of_one_preset_share_their_training_seeds():
    """A2(c)'s 3-layer stacks continue from the 2-layer stacks of A2(b): the same seed per strategy and n, so the
    two panels differ by depth alone; other panels keep seeds of their own."""
    seeds: dict[tuple[str, int, str], int] = {}

    def recording(strategy, mixture, n, *, layers, seed, quick):
        seeds[(str(strategy), n, f"{mixture.label_second_moment():.6g}-{layers}")] = seed
        return TrainedPoint(None, None, "recorded")

    for pid in ("A2a", "A2b", "A2c", "A2e"):
        compute_panel(panel(pid), budget=TINY, seed=0, provider=recording)
    clean = preset("figA2-clean").label_second_moment()
    noisy = preset("figA2-noisy").label_second_moment()
    for strategy in ("PT", "JT", "PGD"):
        for n in TINY.train_ns:
            two, three = seeds[(strategy, n, f"{clean:.6g}-2")], seeds[(strategy, n, f"{clean:.6g}-3")]
            assert two == three
            assert seeds[(strategy, n, f"{clean:.6g}-1")] != two != seeds[(strategy, n, f"{noisy:.6g}-2")]


def test_multi_layer_panel_compares_depth_with_the_exact_one_layer_optimum():
    """The reference a stack must beat is the exact one-layer attention optimum of the same kind (shared head for
    PT and JT, task heads for PGD), at every trained n, and the agreement reports the stack's gap to it."""
    mixture = preset(panel("A2c").preset)
    data = compute_panel(panel("A2c"), budget=TINY, seed=0, provider=fake_provider)
    one_layer = {s.strategy: s for s in data.series if s.kind is Kind.UNCONSTRAINED}
    assert set(one_layer) == {Strategy.PT, Strategy.JT, Strategy.PGD}
    for strategy, series in one_layer.items():
        for p in series.points:
            exact = unconstrained_optimum(mixture, p.n, "JT" if strategy is Strategy.PGD else strategy.value,
                                          shared_head=strategy is not Strategy.PGD, starts=4).loss
            assert p.loss == exact <= optimum(strategy, mixture, p.n).loss * (1 + 1e-9)  # contains the reduced model
    headline = data.budget.headline(layers=3)
    assert "deepening" in headline and "best of 4 restarts" in headline and "320" not in headline
    assert "deepening" not in data.budget.headline(layers=2)
    gains = data.agreement()
    for strategy, entry in gains.items():
        assert [row["n"] for row in entry["depth_gain"]] == list(TINY.train_ns)
        for row in entry["depth_gain"]:
            reference = next(p.loss for p in one_layer[strategy].points if p.n == row["n"])
            trained = 1.01 * optimum(strategy, mixture, row["n"]).loss
            assert row["rel_gap"] == pytest.approx((trained - reference) / reference, rel=1e-12)
            assert row["z"] == pytest.approx((trained - reference) / (0.001 * optimum(strategy, mixture, row["n"]).loss),
                                             rel=1e-12)


def test_training_evidence_adapter():
    calls = []

    def evidence(strategy, mixture, n, *, quick=True, seed=0, device="cpu", progress=False):
        calls.append((strategy, n, quick, seed))
        return {"trained_loss": 2.0, "trained_stderr": 0.1, "derived_loss": 1.9}

    provide = from_training_evidence(evidence)
    m = preset("fig2d")
    assert provide(Strategy.PGD, m, 3, layers=1, seed=7, quick=True) == TrainedPoint(2.0, 0.1, "")
    assert calls == [("PGD", 3, True, 7)] and type(calls[0][0]) is str
    deep = provide(Strategy.JT, m, 3, layers=2, seed=7, quick=True)
    assert deep.loss is None and "no 2-layer evidence" in deep.note and len(calls) == 1

    def layered(strategy, mixture, n, *, quick=True, seed=0, device="cpu", progress=False, layers=1):
        return {"trained_loss": float(layers), "trained_stderr": None}

    assert from_training_evidence(layered)(Strategy.JT, m, 3, layers=3, seed=0, quick=True).loss == 3.0


def test_default_provider_says_when_training_is_missing(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "training.evidence", None)  # makes the import fail
    point = default_provider()(Strategy.PT, preset("fig2a"), 1, layers=1, seed=0, quick=True)
    assert point.loss is None and point.note.startswith(NOT_AVAILABLE) and "not importable" in point.note


def test_make_figures_rejects_bad_input(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(VerifyError, match="cannot write"):
        make_figures(["2c"], blocker / "sub", budget=TINY, provider=unavailable("x"), progress=False)
    with pytest.raises(VerifyError, match="unknown panel"):
        make_figures(["9z"], tmp_path, budget=TINY, provider=unavailable("x"), progress=False)


def test_cli_figure_flags(tmp_path, capsys):
    assert main(["--figure", "nope", "--plot", str(tmp_path)]) == 2
    assert "unknown panel 'nope'" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["--figure", "2b", "--plot", str(blocker / "d")]) == 2
    assert "--plot: cannot write" in capsys.readouterr().err
    out = tmp_path / "figs"
    assert main(["--figure", "A2e", "--plot", str(out), "--no-progress", "--no-training"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["fig_A2e.csv", "fig_A2e.json", "fig_A2e.png", "fig_A2e.svg",
                                                     "fig_A2e_gaps.csv", "fig_A2e_gaps.json", "fig_A2e_gaps.png",
                                                     "fig_A2e_gaps.svg", "points"]
    assert "gaps between strategies: " + str(out / "fig_A2e_gaps.png") in capsys.readouterr().out
    assert sorted(p.name.split("-")[1] for p in (out / "points").iterdir()) == ["exact"] + ["trained"] * 3  # one record a point
    assert "--no-training" in json.loads((out / "fig_A2e.json").read_text(encoding="utf-8"))["notes"][-1]


def test_quick_figure_is_reproducible_with_a_fixed_seed():
    a = compute_panel(panel("2b"), budget=TINY, seed=3, provider=unavailable("x")).to_csv()
    b = compute_panel(panel("2b"), budget=TINY, seed=3, provider=unavailable("x")).to_csv()
    c = compute_panel(panel("2b"), budget=TINY, seed=4, provider=unavailable("x")).to_csv()
    assert a == b and a != c


def test_one_style_tells_every_strategy_and_kind_apart_without_colour():
    from verify.plotting import KIND_STYLES, STRATEGY_STYLES, STYLE

    assert set(STRATEGY_STYLES) == set(Strategy) and set(KIND_STYLES) == set(Kind)
    assert len({s.dashes for s in STRATEGY_STYLES.values()}) == len(Strategy)  # greyscale: dash patterns differ
    assert len({s.marker for s in STRATEGY_STYLES.values()}) == len(Strategy)  # ... and so do the markers
    lines = [k for k in KIND_STYLES.values() if k.linewidth and k.decoration]
    assert len({k.decoration for k in lines}) == len(lines)  # the thin exact curves differ by their decoration
    assert STYLE["svg.fonttype"] == "none" and STYLE["svg.hashsalt"]


def test_plot_states_its_budget_and_is_reproducible(panel_a1b):
    from verify.plotting import render_panel

    first, second = render_panel(panel_a1b), render_panel(panel_a1b)
    assert first == second and first["png"][:8] == b"\x89PNG\r\n\x1a\n"
    svg = first["svg"].decode("utf-8")
    assert "budget test" in svg and "Adam steps" in svg and "seed 0" in svg
    assert "JT + task heads" in svg and "HEADS" not in svg


def test_exact_unconstrained_curves_at_every_integer_n_for_every_strategy(panel_2c):
    """Figure 2 draws the unconstrained attention beside the reduced model for each strategy: the exact optimum at
    every integer n of the panel (one shared head; FT tunes prompts with PT's attention frozen), not a few n joined by
    straight lines."""
    mixture = preset("fig2c")
    curves = {s.strategy: s for s in panel_2c.series if s.kind is Kind.UNCONSTRAINED}
    assert set(curves) == {Strategy.PT, Strategy.FT, Strategy.JT}
    for strategy, series in curves.items():
        assert [p.n for p in series.points] == list(range(1, max(TINY.ns) + 1))
        p = series.points[2]
        assert p.loss == unconstrained_optimum(mixture, p.n, strategy.value, starts=4).loss
        if strategy is not Strategy.FT:  # a joint optimum over a model that contains the reduced one; FT's frozen
            # attention is PT's unconstrained optimum, not the reduced one, so FT may end above the reduced FT
            assert p.loss <= optimum(strategy, mixture, p.n).loss * (1 + 1e-9)
    heads = {s.strategy for s in compute_panel(panel("2d"), budget=TINY, seed=0, provider=unavailable("x")).series
             if s.kind is Kind.UNCONSTRAINED}
    assert heads == {Strategy.PT, Strategy.JT, Strategy.PGD}  # JT with task heads: eq. (17)


def test_points_show_their_error_bars_over_the_markers_with_caps(panel_a1b):
    """Monte Carlo and trained points: the error bar is drawn after (over) its marker, with caps wider than the
    marker, so a bar shorter than the marker still shows."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from verify.plotting import ERROR_CAP, KIND_STYLES, _draw_series

    for kind in (Kind.MONTECARLO, Kind.TRAINED):
        fig = Figure()
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        series = _series(panel_a1b, kind, Strategy.JT)
        assert series is not None and _draw_series(ax, series)
        (marker,) = [ln for ln in ax.lines if ln.get_marker() not in ("_", "None", None, "")]
        (bars,) = ax.containers
        _, caps, (stems,) = bars
        assert len(caps) == 2 and stems.get_zorder() > marker.get_zorder()
        assert 2 * ERROR_CAP > KIND_STYLES[kind].size  # a cap is wider than the marker


def test_legend_shows_only_what_is_drawn():
    """Without training, a multi-layer panel has no points: its strategies' legend samples carry no marker."""
    from verify.plotting import _strategy_handle

    data = compute_panel(panel("A2b"), budget=TINY, seed=0, provider=unavailable("--no-training"))
    drawn = [s for s in data.series if any(p.normalised is not None for p in s.points)]
    assert not any(s.kind is Kind.TRAINED for s in drawn)
    for strategy in (Strategy.PT, Strategy.JT, Strategy.PGD):
        handle = _strategy_handle(strategy, drawn)
        assert handle.get_marker() in (None, "None", "") and handle.get_linestyle() not in ("None", "none")
    with_points = compute_panel(panel("A1b"), budget=TINY, seed=0, provider=fake_provider)
    shown = [s for s in with_points.series if any(p.normalised is not None for p in s.points)]
    assert _strategy_handle(Strategy.JT, shown).get_marker() == "^"


def test_a_curve_of_the_paper_the_budget_does_not_draw_is_named(panel_a1b):
    """The paper trains at every n; a budget that trains at fewer says so in the panel's notes (and footer)."""
    one_n = Budget("one-n", ns=(1, 5), mc_target_rel_se=2e-2, mc_min_samples=1_000, mc_max_samples=50_000,
                   train_quick=True, train_ns=(5,))
    data = compute_panel(panel("A1b"), budget=one_n, seed=0, provider=fake_provider)
    assert any(n.startswith("not drawn: the paper's trained curves at every n") and "n = 5 only" in n for n in data.notes)
    assert not any(n.startswith("not drawn:") for n in panel_a1b.notes)  # TINY trains at each of its n


# --- the gaps between strategies (verify.gap_panels): what the experiments' verdicts are about ---------------------------


def _gap(gaps, key, source):
    found = [s for s in gaps.series if f"{s.minuend}-{s.subtrahend}" == key and s.source == source]
    assert len(found) <= 1
    return found[0] if found else None


def test_gap_panel_draws_corollary_1_gaps_and_the_claims_crossover(panel_2c):
    """Figure 2(c): fine-tuning's and joint training's gains at every integer n = 1..50, exactly the crossover the claim
    E.C1-crossover computes, with its n* marked; the exact attention's gaps from the panel's own unconstrained curves."""
    from claims.papers.chang2025.experiments import FIGURE_RANGE, crossover
    from verify.gap_panels import gap_panel

    gaps = gap_panel(panel_2c)
    c = crossover(preset("fig2c"))
    scale = panel_2c.label_second_moment
    assert gaps.crossover == c.first == 3 and "E.C1-crossover" in gaps.claims
    ft, jt = _gap(gaps, "PT-FT", "theory"), _gap(gaps, "FT-JT", "theory")
    assert [p.n for p in ft.points] == list(FIGURE_RANGE) == [p.n for p in jt.points]
    np.testing.assert_allclose([p.value for p in ft.points], np.array(c.ft_gain) / scale, rtol=EXACT_RTOL)
    np.testing.assert_allclose([p.value for p in jt.points], np.array(c.jt_gain) / scale, rtol=EXACT_RTOL)
    # below n* fine-tuning's gain is the larger, from n* on joint training's: the crossing the vertical line marks
    assert all(f.value > j.value for f, j in zip(ft.points, jt.points, strict=True) if f.n < gaps.crossover)
    assert all(f.value <= j.value for f, j in zip(ft.points, jt.points, strict=True) if f.n >= gaps.crossover)
    attention = _gap(gaps, "PT-FT", "attention")
    exact = {s.strategy: {p.n: p.loss for p in s.points} for s in panel_2c.series if s.kind == Kind.UNCONSTRAINED}
    assert [p.n for p in attention.points] == list(range(1, max(TINY.ns) + 1))
    assert [p.value for p in attention.points] == [(exact[Strategy.PT][n] - exact[Strategy.FT][n]) / scale
                                                   for n in range(1, max(TINY.ns) + 1)]
    assert _gap(gaps, "PT-FT", "trained") is None and any("no trained gaps" in n for n in gaps.notes)
    assert _gap(gaps, "PT-PGD", "theory") is None  # no task heads on Figure 2(c)


def test_gap_panel_trained_gains_with_error_bars_and_no_crossover_out_of_scope(panel_a1b, tmp_path):
    """Figure A1(b) (noisy: Corollary 1's reading is out of scope, no n*): the gains of prompts and of prompts with
    heads from the theory's optima (as E.A2-diminishes computes them) and from the trained points, whose error bar is
    the two trainings' standard errors in quadrature; the files hold the same numbers."""
    from claims.papers.chang2025.experiments import gains
    from verify.gap_panels import GAP_CSV_COLUMNS, gap_panel

    gaps = gap_panel(panel_a1b)
    m, scale = preset("figA1b"), panel_a1b.label_second_moment
    assert gaps.crossover is None and "E.C1-crossover" not in gaps.claims
    heads = _gap(gaps, "PT-PGD", "theory")
    np.testing.assert_allclose([p.value for p in heads.points], [gains(m, p.n, exact=False)["prompts+heads"]
                                                                 for p in heads.points], rtol=EXACT_RTOL)
    trained = {s.strategy: {p.n: (p.loss, p.stderr) for p in s.points} for s in panel_a1b.series if s.kind == Kind.TRAINED}
    drawn = _gap(gaps, "PT-JT", "trained")
    assert [p.n for p in drawn.points] == list(TINY.train_ns)
    for p in drawn.points:
        (a, sa), (b, sb) = trained[Strategy.PT][p.n], trained[Strategy.JT][p.n]
        assert p.value == pytest.approx((a - b) / scale, rel=1e-14)
        assert p.stderr == pytest.approx(np.hypot(sa, sb) / scale, rel=1e-14) and p.stderr > 0
    files = write_panel(panel_a1b, tmp_path)
    assert files.gaps["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    payload = json.loads(files.gaps["json"].read_text(encoding="utf-8"))
    assert payload == json.loads(json.dumps(gaps.to_json())) and payload["crossover"]["n_star"] is None
    rows = list(csv.DictReader(io.StringIO(files.gaps["csv"].read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == GAP_CSV_COLUMNS and len(rows) == sum(len(s.points) for s in gaps.series)
    assert [float(r["stderr_over_Ey2"]) for r in rows if r["gap"] == "PT-JT" and r["source"] == "trained"] == [
        p.stderr for p in drawn.points]
    svg = files.gaps["svg"].read_text(encoding="utf-8")
    assert "gaps between strategies" in svg and "n* =" not in svg


def test_gap_panel_per_depth_compares_trained_stacks_with_one_layer_gaps(tmp_path):
    """Figure A2(b): the 2-layer stacks' trained gains beside the one-layer gains they would narrow (references), and
    Corollary 1's n* of the clean A2 mixture, where E.C1-crossover computes it."""
    from claims.papers.chang2025.experiments import crossover
    from verify.gap_panels import gap_panel

    data = compute_panel(panel("A2b"), budget=TINY, seed=0, provider=fake_provider)
    gaps = gap_panel(data)
    assert gaps.layers == 2 and gaps.crossover == crossover(preset("figA2-clean")).first == 5
    assert {"E.A2-depth", "E.C1-crossover"} <= set(gaps.claims)
    trained = _gap(gaps, "PT-PGD", "trained")
    assert trained.layers == 2 and not trained.reference and "2-layer" in trained.label
    assert _gap(gaps, "PT-PGD", "theory").reference and _gap(gaps, "PT-PGD", "attention").reference
    svg = write_panel(data, tmp_path).gaps["svg"].read_text(encoding="utf-8")
    assert "n* = 5" in svg and "2-layer attention" in svg
