"""The reports (verify.report): typeset forms of every claim, the HTML page rendered in headless Chromium, its
Markdown twin, the counterexample files, and the generated docs/findings.md."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from claims.registry import claims
from theory.errors import VerifyError
from theory.mixture import load_mixture, preset
from verify.cli import main
from verify.figures import make_figures
from verify.panels import PANELS, Budget
from verify.report.build import FIGURES_OF_RESULT, GAPS_CAPTION, build_report, claim_tex, derived_forms
from verify.report.files import write_report
from verify.report.findings import load_report, render_findings
from verify.report.findings import main as findings_main
from verify.report.html import render_html
from verify.report.markdown import render_markdown
from verify.report.text import NOT_COMPUTED, counterexample_file, evidence_rows, reproduce_command
from verify.report.typeset import highlight_difference, inline_html, number_tex, quantity_tex, tex_to_mathml
from verify.run import run_checks
from verify.trained import unavailable

CLAIMS = claims()
ROOT = Path(__file__).resolve().parents[2]
SELECTED = ["T4.loss.appendix", "C1.order.FT-PT"]  # one refuted, one verified
TINY = Budget("test", ns=(1, 4), mc_target_rel_se=5e-2, mc_min_samples=1_000, mc_max_samples=20_000,
              train_quick=True, train_ns=(1,))
ASYMPTOTICS = [{"quantity": "FT-JT", "mixture": "fig2c", "derived_leading": "2148.112869(44) n^-2",
                "derived_general": "a**2/n**2 + O(n^-3)", "claimed_leading": "O(n^-1) ||Delta||_F", "exponent": -2,
                "coefficient": 2148.1, "verdict": "refuted", "claim": "C1.rate.FT-JT",
                "quantity_tex": r"\mathcal{L}^{\star}_{\mathrm{FT}} - \mathcal{L}^{\star}_{\mathrm{JT}}",
                "derived_general_tex": r"\frac{a^{2}}{n^{2}} + O(n^{-3})",
                "claimed_leading_tex": r"\mathcal{O}(n^{-1}) \lVert \Delta \rVert_F"}]
# What must not be left in a formula area once it is typeset: TeX and the ASCII notation of the text fields.
RAW = ("\\frac", "\\mathcal", "\\Sigma", "\\left", "\\text", "\\operatorname", "$", "Sigma_tilde", "Sigma_bar",
       "Sigma_x", "W_bar", "L*_", "sigma^2", "^T", "^{", "_{")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    m = preset("fig2c")
    verdicts = run_checks([CLAIMS[c] for c in SELECTED], m, [1], seed=0, symbolic=False, progress=False)
    return build_report(verdicts, m, "fig2c", [1], 0, 0.0)


@pytest.fixture(scope="module")
def written(report, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    figs = make_figures(["2d"], out / "figures", budget=TINY, seed=0, provider=unavailable("not in this test"),
                        progress=False)
    return out, write_report(report, out, figs), figs


@pytest.fixture(scope="module")
def full(written, tmp_path_factory):
    """The committed report of every claim (docs/report.json) rendered with the one panel made above."""
    _, _, figs = written
    out = tmp_path_factory.mktemp("full")
    shutil.copytree(figs[0].png.parent, out / "figures")
    moved = [replace(f, png=out / "figures" / f.png.name, svg=out / "figures" / f.svg.name, csv=out / "figures" / f.csv.name,
                     json=out / "figures" / f.json.name, gaps={k: out / "figures" / p.name for k, p in f.gaps.items()})
             for f in figs]
    return out, write_report(load_report(ROOT / "docs" / "report.json"), out, moved)


def test_report_files_and_content(written, report):
    out, page, _ = written
    assert sorted(p.name for p in out.iterdir()) == ["counterexamples", "figures", "report.html", "report.json", "report.md"]
    html = page.read_text(encoding="utf-8")
    assert html.count('<article class="claim ') == 2
    assert 'id="claim-T4.loss.appendix"' in html and 'class="claim refuted"' in html and 'class="claim verified"' in html
    assert '<span class="badge refuted">refuted</span>' in html and "<math" in html
    assert NOT_COMPUTED in html
    assert '<img src="figures/fig_2d.png"' in html and 'href="figures/fig_2d.svg"' in html
    assert 'href="#figure-2d"' in html  # T4.loss.appendix concerns Figure 2(d)
    ce = report["claims"][0]["counterexample"]
    assert reproduce_command("T4.loss.appendix", ce) in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "### T4.loss.appendix" in md and "**refuted**" in md and "![Figure 2(d)" in md and NOT_COMPUTED in md
    assert "$$\n\\tilde{\\mathcal{L}}^{\\star}_{\\mathrm{PGD}}" in md
    assert json.loads((out / "report.json").read_text(encoding="utf-8")) == report


def test_gallery_shows_each_panels_gaps_beside_it(written):
    """The gap panel that verify.figures writes next to a loss panel (fig_<id>_gaps.*) is in the HTML gallery right
    after its panel, with its files, and in report.md after the panel's lines."""
    out, page, figs = written
    assert set(figs[0].gaps) == {"png", "svg", "csv", "json"} and all(p.is_file() for p in figs[0].gaps.values())
    html = page.read_text(encoding="utf-8")
    figures = re.findall(r'<figure id="([^"]+)"', html)
    assert figures == ["figure-2d", "figure-2d-gaps"], figures  # the gaps next to their panel, nothing between
    gallery = html[html.index('id="figure-2d-gaps"'):html.index("</section>", html.index('id="figure-2d-gaps"'))]
    assert '<img src="figures/fig_2d_gaps.png"' in gallery and GAPS_CAPTION.split(":")[0] in gallery
    for ext in ("png", "svg", "csv", "json"):
        assert f'href="figures/fig_2d_gaps.{ext}"' in gallery
    md = (out / "report.md").read_text(encoding="utf-8")
    image = "![Figure 2(d): gaps between strategies against n](figures/fig_2d_gaps.png)"
    assert md.index("![Figure 2(d): loss") < md.index(image) < md.index("## Claims")
    assert "[SVG](figures/fig_2d_gaps.svg) · [CSV](figures/fig_2d_gaps.csv) · [JSON](figures/fig_2d_gaps.json)" in md


def test_gallery_without_gap_files_shows_no_gaps(written, report, tmp_path):
    """A panel whose gaps were not written (a FigureFiles without them) gets no gap figure and no sentence about one."""
    _, _, figs = written
    bare = [replace(f, gaps={}) for f in figs]
    html = render_html(report, bare, tmp_path)
    assert 'id="figure-2d"' in html and "gaps between strategies" not in html.lower()
    md = render_markdown(report, bare, tmp_path)
    assert "![Figure 2(d): loss" in md and "gaps between strategies" not in md.lower()


def test_counterexample_file_reproduces_the_failure(written, report, tmp_path):
    """The report's one command, with its mixture file, fails the claim on that mixture."""
    out, _, _ = written
    ce = report["claims"][0]["counterexample"]
    file = out / counterexample_file("T4.loss.appendix")
    assert load_mixture(str(file)).to_dict() == {k: v for k, v in ce["mixture"].items()}
    assert reproduce_command("T4.loss.appendix", ce).split() == [
        "verify", "--claim", "T4.loss.appendix", "--mixture", counterexample_file("T4.loss.appendix"), "--n", str(ce["n"])]
    again = tmp_path / "again.json"
    assert main(["--claim", "T4.loss.appendix", "--mixture", str(file), "--n", str(ce["n"]), "--json", str(again),
                 "--no-progress", "--no-symbolic", "--no-training"]) == 0
    (claim,) = json.loads(again.read_text(encoding="utf-8"))["claims"]
    assert claim["verdict"] == "refuted" and claim["on_selected_mixture"]["verdict"] == "fails"


def test_asymptotics_table_when_present(report, tmp_path):
    html = render_html({**report, "asymptotics": ASYMPTOTICS}, [], tmp_path)
    assert '<table class="expansions" id="asymptotics">' in html and NOT_COMPUTED not in html
    assert "C1.rate.FT-JT" in html and 'href="#claim-C1.rate.FT-JT"' not in html  # not in this report: no dead link
    assert "<mn>2148.112869</mn>" in html
    assert "No figures were made" in html


def test_report_dir_must_be_writable(report, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(VerifyError, match="--report: cannot write"):
        write_report(report, blocker / "out", [])


def test_cli_report_rejects_unwritable_dir_before_running(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["--claim", "C1.order.FT-PT", "--report", str(blocker / "r")]) == 2
    assert "--report: cannot write" in capsys.readouterr().err


# ----- typeset forms ------------------------------------------------------------------------------------------------
def test_every_claim_has_typeset_forms():
    report = load_report(ROOT / "docs" / "report.json")
    verdicts = {c["id"]: c["verdict"] for c in report["claims"]}
    forms = derived_forms()
    for cid, claim in CLAIMS.items():
        tex = claim.tex
        assert tex.get("statement") and tex.get("claimed"), cid
        assert bool(tex.get("derivation")) != bool(tex.get("derived")) or not tex.get("derived"), cid
        if tex.get("derivation"):
            assert forms[cid].derivation == tex["derivation"], f"{cid}: run python -m verify.report.derivation --write"
        if verdicts[cid] == "refuted":
            assert tex.get("corrected") and tex.get("why"), f"{cid} is refuted: its record needs corrected and why"
        for key in ("statement", "claimed", "derived", "corrected"):
            if tex.get(key):
                assert "<math" in tex_to_mathml(tex[key]), (cid, key)
                assert "$" not in tex[key], (cid, key)
        assert "<math" in inline_html(tex.get("why", "")) or not tex.get("why")


def test_committed_report_carries_the_records_tex():
    report = load_report(ROOT / "docs" / "report.json")
    for c in report["claims"]:
        assert c["tex"] == claim_tex(CLAIMS[c["id"]], c["verdict"] == "refuted"), (
            f"{c['id']}: docs/report.json's tex is stale (rebuild the report or its tex keys)")
        for key in ("claimed", "derived", "statement", "corrected", "difference"):
            if c["tex"].get(key):
                tex_to_mathml(c["tex"][key])


def test_figures_of_results_are_panels():
    assert {p for panels in FIGURES_OF_RESULT.values() for p in panels} <= set(PANELS)


@pytest.mark.slow
def test_derived_forms_are_current():
    """verify/report/derived_forms.json equals a fresh sympy derivation (about a minute of sympy)."""
    from verify.report.derivation import FORMS_PATH, stale
    from verify.report.derivation import derived_forms as fresh_forms

    stored = json.loads(FORMS_PATH.read_text(encoding="utf-8"))
    assert stale(stored, fresh_forms(list(CLAIMS.values()))) == [], "run python -m verify.report.derivation --write"


def test_derived_forms_say_what_they_show():
    forms = derived_forms()
    assert str(forms["T4.loss.appendix"].difference_tex).endswith(r"= - \sigma^{2}")  # the dropped sigma^2, from sympy
    assert forms["T1.W"].tex == r"\bar{W}^{\star}_{\mathrm{PT}} = \frac{1}{n + 2}"  # d = 1, sigma = 0
    assert "n^{2}" in forms["C1.rate.FT-JT"].tex  # Theta(n^-2), not n^-1
    for cid, form in forms.items():
        assert form.mathml.startswith("<math") and "Sigma" not in form.mathml, cid


def test_highlight_marks_the_misplaced_transpose():
    claimed, corrected = CLAIMS["T2.loss"].tex["claimed"], CLAIMS["T2.loss"].tex["corrected"]
    a, _, marked = highlight_difference(tex_to_mathml(claimed), tex_to_mathml(corrected))
    assert marked > 0 and a.count('class="diff"') == 1 and '<mo class="diff">\u22a4</mo>' in a  # the transpose


def test_typeset_helpers():
    assert number_tex(1.5e-8) == r"1.5 \times 10^{-8}" and number_tex(0.0) == "0" and number_tex(3) == "3"
    assert quantity_tex("W_bar*_PT") == r"\bar{W}^{\star}_{\mathrm{PT}}" and quantity_tex("something else") is None
    assert inline_html("a $x$ < b").startswith("a <math") and "&lt; b" in inline_html("a $x$ < b")
    assert 'mathvariant="normal"' in tex_to_mathml(r"\Sigma")  # capital Greek upright


def test_evidence_rows_state_their_resolution():
    report = load_report(ROOT / "docs" / "report.json")
    claim = next(c for c in report["claims"] if c["id"] == "T2.loss")
    rows = {r.channel: r for r in evidence_rows(claim, report)}
    assert "10^{-8}" in rows["Theory: search over mixtures"].resolution
    mc = claim["evidence"]["montecarlo"]
    assert f"{mc['k_sigma'] * mc['stderr']:.2g}" in rows["Monte Carlo at the derived optimum"].resolution
    assert "5%" in rows["Training"].resolution


# ----- the page in a real browser --------------------------------------------------------------------------------------
def _chromium() -> str | None:
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for path in ("/usr/lib/chromium/chromium", "/usr/lib/chromium-browser/chromium-browser"):
        if os.path.exists(path):
            return path
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


def _browser_or_skip() -> str:
    browser = _chromium()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover - installed by the test extras
        browser = None
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no Chromium (or no playwright) is installed: .ci/run installs both")
        pytest.skip("no Chromium installed and CI unset: `apt-get install -y chromium` and `pip install -e '.[test]'`")
    return browser


# Runs in the page: every formula area, every math element, image and in-page link, measured after layout; the
# formulas wider than their box; the fences of matrices; the page's text outside code and mathematics.
_PROBE = """() => {
  const NS = 'http://www.w3.org/1998/Math/MathML';
  const visible = el => !el.closest('details:not([open])');
  const areas = [...document.querySelectorAll('.formula')].map(el => ({
    text: el.innerText, maths: el.querySelectorAll('math').length,
    mathml: [...el.querySelectorAll('math')].every(m => m.namespaceURI === NS) }));
  const maths = [...document.querySelectorAll('math')].filter(visible).map(m => {
    const r = m.getBoundingClientRect(); return {w: r.width, h: r.height, ns: m.namespaceURI,
      display: getComputedStyle(m).display}; });
  const block = el => { let a = el.parentElement;
    while (a && getComputedStyle(a).display.startsWith('inline')) a = a.parentElement; return a; };
  const wide = [];
  document.querySelectorAll('.formula').forEach(f => { if (!visible(f)) return;
    const r = f.getBoundingClientRect(), parent = f.parentElement.getBoundingClientRect();
    if (r.right > parent.right + 1 || r.left < parent.left - 1) wide.push(f.textContent.slice(0, 80)); });
  document.querySelectorAll('math').forEach(m => { if (!visible(m) || m.closest('.formula')) return;
    const r = m.getBoundingClientRect(), b = block(m).getBoundingClientRect();
    if (r.right > b.right + 1) wide.push(m.textContent.slice(0, 80)); });
  const fences = [...document.querySelectorAll('mtable')].map(t => [t.previousElementSibling, t.nextElementSibling]
    .filter(e => e && e.localName === 'mo').map(e => e.getAttribute('stretchy'))).flat();
  const shown = [...document.querySelectorAll('#run .formula, .counterexample > .formula')].map(f => f.textContent);
  const full = [...document.querySelectorAll('details.full-values')].map(d => d.querySelectorAll('mtr').length);
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, math').forEach(e => e.remove());
  const images = [...document.images].map(im => ({src: im.getAttribute('src'), w: im.naturalWidth}));
  const links = [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  return {areas, maths, images, links, ids, wide, fences, shown, full, prose: clone.textContent,
          page: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth};
}"""
# ASCII notation that must be typeset wherever it is read (outside code blocks): the records' names of the paper's
# symbols, and the powers and transposes of their formulas.
ASCII_NAMES = re.compile(r"Sigma_\w+|Sigma_tilde|W_bar|\btr\(|L~?\*_\w+|\b\d+(?:\.\d+)?\^-\d|\bsigma\^2|\bmu_\w|\bpi_\w|\^T\b|\*\*")


def _check_page(page_path: Path, probe: dict[str, Any], messages: list[tuple[str, str]]) -> None:
    assert not [m for m in messages if m[0] in ("error", "pageerror", "warning")], messages
    areas = probe["areas"]
    assert areas, "no formula areas"
    for area in areas:
        assert area["maths"] >= 1 and area["mathml"], area
        leftover = [raw for raw in RAW if raw in area["text"]]
        assert not leftover, f"raw TeX/ASCII {leftover} left in a formula area: {area['text'][:200]!r}"
    assert probe["maths"] and all(m["ns"] == "http://www.w3.org/1998/Math/MathML" for m in probe["maths"])
    flat = [m for m in probe["maths"] if m["w"] <= 0 or m["h"] <= 0]
    assert not flat, f"{len(flat)} math elements have no layout size (is MathML rendered?)"
    assert not probe["wide"], f"{len(probe['wide'])} formulas are wider than their box: {probe['wide'][:5]}"
    assert probe["page"] <= probe["viewport"], f"the page is {probe['page']} px wide in a {probe['viewport']} px window"
    assert probe["fences"] and set(probe["fences"]) == {"true"}, "a matrix's brackets do not stretch"
    names = sorted(set(ASCII_NAMES.findall(probe["prose"])))
    assert not names, f"ASCII formula names left in the page's text: {names}"
    assert probe["images"] and all(im["w"] > 0 for im in probe["images"]), probe["images"]
    ids = set(probe["ids"])
    base = page_path.parent
    for href in probe["links"]:
        parsed = urlparse(href)
        assert not parsed.scheme and not parsed.netloc, f"external link {href} (the report is offline)"
        if href.startswith("#"):
            assert unquote(href[1:]) in ids, f"anchor {href} has no target"
        else:
            target = base / unquote(parsed.path)
            assert target.is_file(), f"link {href} does not resolve to a file"
            if parsed.fragment:
                assert parsed.fragment in ids


def test_report_renders_in_headless_chromium(written, full):
    """Chromium renders every formula as MathML with a layout size, loads every figure, resolves every link and
    anchor, and logs no console error; at 1280 and 800 px no formula is wider than its box, matrices' brackets
    stretch, structured matrices are abbreviated (every entry one click away), and no ASCII formula name is left
    outside code; on the two-claim report of a run and on the committed report of all claims."""
    browser = _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chrome = p.chromium.launch(executable_path=browser, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            for page_path in (written[1], full[1]):
                for width in (1280, 800):
                    messages: list[tuple[str, str]] = []
                    page = chrome.new_page(viewport={"width": width, "height": 1600})
                    page.on("console", lambda m, msgs=messages: msgs.append((m.type, m.text)))
                    page.on("pageerror", lambda e, msgs=messages: msgs.append(("pageerror", str(e))))
                    page.goto(page_path.as_uri(), wait_until="load")
                    probe = page.evaluate(_PROBE)
                    _check_page(page_path, probe, messages)
                    assert {"summary", "figures", "claims-section", "expansions", "top"} <= set(probe["ids"])
                    if page_path == written[1]:  # fig2c (d = 10): I_10 and 2.1 1_10, every entry in a details
                        run = " ".join(probe["shown"])
                        assert "I10" in run.replace(" ", "") and "110" in run.replace(" ", ""), run[:300]
                        assert probe["full"] and max(probe["full"]) >= 10, probe["full"]  # the 10 x 10 rows
                    page.close()
        finally:
            chrome.close()
    html = full[1].read_text(encoding="utf-8")
    assert html.count('<article class="claim ') == len(CLAIMS)


# ----- docs/findings.md is generated from docs/report.json -------------------------------------------------------
def test_findings_page_is_generated_from_the_committed_report():
    report = load_report(ROOT / "docs" / "report.json")
    expected = (ROOT / "docs" / "findings.md").read_bytes()
    assert render_findings(report).encode("utf-8") == expected, (
        "docs/findings.md is stale: run `python -m verify.report.findings docs/report.json > docs/findings.md`")


def test_committed_report_matches_the_registry():
    report = load_report(ROOT / "docs" / "report.json")
    assert [c["id"] for c in report["claims"]] == list(CLAIMS), (
        "docs/report.json is stale: run `verify --all --json docs/report.json --no-progress`")
    assert {c["verdict"] for c in report["claims"]} <= {"verified", "refuted", "inconclusive", "measured"}
    counts = {k: sum(c["verdict"] == k for c in report["claims"]) for k in ("verified", "refuted", "inconclusive", "measured")}
    assert {k: report["summary"][k] for k in counts} == counts
    for c in report["claims"]:
        assert c["statement"] == CLAIMS[c["id"]].statement
        if c["verdict"] == "refuted":
            assert c["counterexample"] and c["correction"] == CLAIMS[c["id"]].correction


def test_findings_cli(tmp_path, capsys):
    assert findings_main([str(ROOT / "docs" / "report.json")]) == 0
    assert capsys.readouterr().out == (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert findings_main([str(bad)]) == 2
    assert "is not JSON" in capsys.readouterr().err
    assert findings_main([str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
