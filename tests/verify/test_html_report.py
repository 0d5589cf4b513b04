"""The HTML/Markdown report (rendered in headless Chromium) and the generated docs/findings.md."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from theory.errors import VerifyError
from theory.mixture import preset
from theory.registry import claims
from verify.cli import main
from verify.figures import make_figures
from verify.findings import load_report, render_findings
from verify.findings import main as findings_main
from verify.html_report import render_html, write_report
from verify.panels import Budget
from verify.report import build_report
from verify.report_text import NOT_COMPUTED
from verify.run import run_checks
from verify.trained import unavailable

CLAIMS = claims()
ROOT = Path(__file__).resolve().parents[2]
SELECTED = ["T4.loss.appendix", "C1.order.FT-PT"]  # one refuted, one verified
TINY = Budget("test", ns=(1, 4), mc_target_rel_se=5e-2, mc_min_samples=1_000, mc_max_samples=20_000,
              train_quick=True, train_ns=(1,))
ASYMPTOTICS = [{"quantity": "L*_PT - L*_JT", "mixture": "fig2c", "derived_leading": "c / n^2", "claimed_leading": "c / n",
                "exponent": -2, "coefficient": 1.25, "verdict": "refuted"}]


@pytest.fixture(scope="module")
def report():
    m = preset("fig2c")
    verdicts = run_checks([CLAIMS[c] for c in SELECTED], m, [1], seed=0, symbolic=False, progress=False)
    return build_report(verdicts, m, "fig2c", [1], 0, 0.0)


@pytest.fixture(scope="module")
def written(report, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    figs = make_figures(["2d"], out / "figures", budget=TINY, seed=0, provider=unavailable("not in this test"),
                        progress=False)
    return out, write_report(report, out, figs)


def test_report_files_and_content(written, report):
    out, page = written
    assert sorted(p.name for p in out.iterdir()) == ["figures", "report.html", "report.json", "report.md"]
    html = page.read_text(encoding="utf-8")
    assert html.count('<tr data-claim="') == 2
    assert 'data-claim="T4.loss.appendix"' in html and '<td class="refuted">refuted</td>' in html
    assert '<td class="verified">verified</td>' in html
    assert 'id="erratum-T4.loss.appendix"' in html and "drops the sigma^2 term" in html  # the corrected statement
    assert NOT_COMPUTED in html
    assert '<img src="figures/fig_2d.png"' in html and 'href="figures/fig_2d.svg"' in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| T4.loss.appendix |" in md and "**refuted**" in md and "![Figure 2(d)" in md and NOT_COMPUTED in md
    assert json.loads((out / "report.json").read_text(encoding="utf-8")) == report


def test_asymptotics_table_when_present(report, tmp_path):
    html = render_html({**report, "asymptotics": ASYMPTOTICS}, [], tmp_path)
    assert '<table id="asymptotics">' in html and NOT_COMPUTED not in html
    assert "<td>L*_PT - L*_JT</td>" in html and "<td>c / n^2</td>" in html and "<td>1.25</td>" in html
    assert "No figures were made" in html


def test_report_dir_must_be_writable(report, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(VerifyError, match="--report: cannot write"):
        write_report(report, blocker / "out", [])


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    return None


# Marks every image with its naturalWidth once the page has loaded, so --dump-dom shows whether it loaded.
_PROBE = ('<script>window.addEventListener("load", function () {'
          'var out = []; for (var i = 0; i < document.images.length; i++) {'
          'var im = document.images[i]; out.push(im.getAttribute("src") + "=" + im.naturalWidth); }'
          'var p = document.createElement("pre"); p.id = "probe"; p.textContent = out.join(";");'
          'document.body.appendChild(p); });</script>')


def test_report_renders_in_headless_chromium(written):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no Chromium is installed (.ci/run installs it with apt-get)")
        pytest.skip("no Chromium installed and CI unset: install it with `apt-get install -y chromium`")
    out, page = written
    probe = out / "_probe.html"  # next to the report, so its relative image paths resolve the same way
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    result = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                            capture_output=True, text=True, timeout=120, check=False)
    probe.unlink()
    dom = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(re.findall(r'<tr data-claim="', dom)) == 2
    assert '<td class="refuted">refuted</td>' in dom
    found = re.search(r'<pre id="probe">([^<]*)</pre>', dom)
    assert found, "the load probe did not run"
    widths = dict(item.rsplit("=", 1) for item in found.group(1).split(";"))
    assert widths.keys() == {"figures/fig_2d.png"}
    assert all(int(w) > 0 for w in widths.values()), widths


def test_cli_report_rejects_unwritable_dir_before_running(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["--claim", "C1.order.FT-PT", "--report", str(blocker / "r")]) == 2
    assert "--report: cannot write" in capsys.readouterr().err


# ----- docs/findings.md is generated from docs/report.json -------------------------------------------------------
def test_findings_page_is_generated_from_the_committed_report():
    report = load_report(ROOT / "docs" / "report.json")
    expected = (ROOT / "docs" / "findings.md").read_bytes()
    assert render_findings(report).encode("utf-8") == expected, (
        "docs/findings.md is stale: run `python -m verify.findings docs/report.json > docs/findings.md`")


def test_committed_report_matches_the_registry():
    report = load_report(ROOT / "docs" / "report.json")
    assert [c["id"] for c in report["claims"]] == list(CLAIMS), (
        "docs/report.json is stale: run `verify --all --json docs/report.json --no-progress`")
    assert {c["verdict"] for c in report["claims"]} <= {"verified", "refuted", "inconclusive"}
    counts = {k: sum(c["verdict"] == k for c in report["claims"]) for k in ("verified", "refuted", "inconclusive")}
    assert report["summary"] == counts
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
