"""verify's evidence from the unconstrained channel: parameters in eq. (6)'s convention that re-simulate, and their brackets."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from claims.registry import claim, claims
from theory.mixture import TaskMixture, preset
from verify.evidence.unconstrained import UnconstrainedEvidence

K_SIGMA = float(norm.isf(1e-6 / 2))


def _resimulate(m: TaskMixture, n: int, A: np.ndarray, a: np.ndarray, prompts: np.ndarray, samples: int, seed: int
                ) -> tuple[float, float]:
    """A few lines of numpy, as a reader would write them: Z = [p_k, z_1..z_n, z], f = (z^T A Z^T) M Z a."""
    rng = np.random.default_rng(seed)
    task = rng.choice(m.K, size=samples, p=m.weights)
    beta = m.means[task] + np.einsum("bij,bj->bi", np.linalg.cholesky(m.covs)[task], rng.standard_normal((samples, m.d)))
    X = rng.standard_normal((samples, n, m.d)) @ np.linalg.cholesky(m.sigma_x).T
    y = np.einsum("bti,bi->bt", X, beta) + np.sqrt(m.sigma2) * rng.standard_normal((samples, n))
    x = rng.standard_normal((samples, m.d)) @ np.linalg.cholesky(m.sigma_x).T
    target = np.einsum("bi,bi->b", x, beta) + np.sqrt(m.sigma2) * rng.standard_normal(samples)
    Z = np.concatenate([prompts[task][:, None, :], np.concatenate([X, y[..., None]], -1)], axis=1)  # masked rows only
    query = np.concatenate([x, np.zeros((samples, 1))], -1)
    f = np.einsum("bi,ij,btj,btk,k->b", query, A, Z, Z, a, optimize=True)
    sq = (f - target) ** 2
    return float(sq.mean()), float(sq.std() / np.sqrt(samples))


def test_s6_evidence_carries_a_re_simulable_optimum_below_the_reduced_one() -> None:
    """fig2a, n = 10: A (d+1 rows), a, K prompts; the reader's re-simulation gives the reported loss (k-sigma)."""
    m = preset("fig2a")
    found = UnconstrainedEvidence(m, [10]).for_claim(claim("S6.shared-head"))
    assert found is not None
    ev = found.data
    assert ev is not None
    (opt,) = ev["optima"]
    A, a, prompts = np.array(opt["A"]), np.array(opt["a"]), np.array(opt["prompts"])
    assert A.shape == (11, 11) and a.shape == (11,) and prompts.shape == (2, 11)
    assert opt["relative_gain"] == pytest.approx(0.015139, rel=1e-3)
    mean, se = _resimulate(m, 10, A, a, prompts, 100_000, seed=5)
    assert abs(mean - opt["loss"]) <= K_SIGMA * se
    mc = ev["montecarlo"][0]
    assert abs(mc["z_exact"]) <= mc["k_sigma"]
    paired = mc["paired"]  # the same sequences through both models: resolves the 1.5% gap that plain sampling cannot
    assert abs(paired["z_exact"]) <= K_SIGMA and paired["resolvable_difference"] < -paired["exact_difference"]
    assert paired["z_zero"] < -K_SIGMA


def test_every_exact_channel_claim_has_evidence_and_others_none() -> None:
    """On fig2b (zero means) every optimum equals its reduced counterpart; claims outside the channel get none."""
    ev = UnconstrainedEvidence(preset("fig2b"), [3])
    deciding = [c for c in claims().values() if c.unconstrained and not c.id.startswith("E.")]  # the paper's results
    assert {c.id for c in deciding} == {"A1.PT", "A1.FT", "A1.JT", "S6.shared-head", "S6.aligns-closely", "P1.equality",
                                        "T4.lower-bound"}
    assert ev.for_claim(claim("S6.aligns-closely")) is None  # out of its scope (the alignment figures)
    deciding = [c for c in deciding if c.id != "S6.aligns-closely"]
    for c in deciding:
        out = ev.for_claim(c)
        assert out is not None and all(o["relative_gain"] == pytest.approx(0.0, abs=1e-9) for o in out.data["optima"])
    assert ev.for_claim(claim("T3.loss")) is None


def test_the_reported_k_is_the_k_it_decides_with() -> None:
    """``k_sigma`` and the resolvable gaps are those of the run's k; a z beyond the reported k is a finding."""
    m = TaskMixture(np.eye(2), np.array([0.3, 0.7]), np.array([[1.0, -0.5], [0.0, 2.0]]), np.stack([np.eye(2)] * 2), 0.5)
    c = claim("A1.JT")
    strict_channel = UnconstrainedEvidence(m, [2], k=1e6)
    strict = strict_channel.for_claim(c)
    assert strict is not None and not strict.findings
    (mc,) = strict.data["montecarlo"]
    assert mc["k_sigma"] == 1e6
    paired = mc["paired"]
    scale = max(paired["stderr"], 1e-9 * mc["reduced"])
    assert paired["resolvable_difference"] == pytest.approx(1e6 * scale, rel=1e-12)
    assert mc["resolvable_relative_gap"] == pytest.approx(1e6 * mc["stderr"] / mc["exact"], rel=1e-12)
    worst = max(abs(mc["z_exact"]), abs(paired["z_exact"]))
    loose_channel = UnconstrainedEvidence(m, [2], k=worst / 2)
    loose_channel._optima = strict_channel._optima  # the same optima (seeded); only the k differs
    loose = loose_channel.for_claim(c)
    assert loose is not None and loose.findings and loose.data["montecarlo"][0]["k_sigma"] == worst / 2
    assert all(f.contradicts for f in loose.findings)


def test_optima_carry_their_bracket_and_exact_is_said_only_when_certified() -> None:
    """fig2c, n = 10 (asymmetric): every optimum carries {"loss", "lower_bound", "certified"}; none is certified, so
    the terminal and the report say 'best found ... (lower bound ...)' and never 'exact optimum'.  fig2b (symmetric):
    certified, and called exact."""
    from verify.report.schema import Evidence
    from verify.report.text import evidence_rows
    from verify.terminal import evidence_lines

    found = UnconstrainedEvidence(preset("fig2c"), [10]).for_claim(claim("A1.PT"))
    assert found is not None and found.data is not None
    (opt,) = found.data["optima"]
    assert opt["certified"] is False and opt["lower_bound"] < opt["loss"]
    lines = [text for name, text in evidence_lines(Evidence.from_json({"unconstrained": found.data})) if "unconstrained" in name]
    assert lines and all("exact optimum" not in t for t in lines) and "best found" in lines[0]
    theory = {"tolerance": {"agree_rtol": 1e-9, "refute_rtol": 1e-6}, "cases_checked": 0}
    rows = [r for r in evidence_rows({"evidence": {"theory": theory, "unconstrained": found.data}}, {})
            if r.channel.startswith("Unconstrained")]
    assert rows and "exact" not in rows[0].result and "best found" in rows[0].result
    symmetric = UnconstrainedEvidence(preset("fig2b"), [3]).for_claim(claim("A1.JT"))
    assert symmetric is not None and symmetric.data is not None
    assert all(o["certified"] for o in symmetric.data["optima"])
    lines = [t for name, t in evidence_lines(Evidence.from_json({"unconstrained": symmetric.data})) if name.startswith("unconstrained JT")]
    assert lines[0].startswith("exact optimum")

