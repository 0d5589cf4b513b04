"""Section 4's remarks: zero means (eq. 16) and the large-n limits after Theorem 3."""

from __future__ import annotations

import numpy as np

from claims.papers.chang2025.common import NOISELESS, all_of, derived, everywhere, noiseless
from claims.papers.chang2025.corollary1 import fit, pre_asymptotic
from claims.papers.chang2025.readings import LARGE_N_READING, LIMIT, PROMPTS_N_FREE
from claims.record import Claim, Comparison, Kind, Outcome, Severity, compare, rel_error
from theory.asymptotics import LeadingFit, decide_loss_limit, decide_preconditioner_limit, decide_prompt_growth
from theory.mixture import TaskMixture
from theory.strategy import Strategy

PAPER = "chang2025"
LARGE_N = 10**6  # where "for large n" statements are evaluated
_RESULTS = ("Section 4", "Corollary 1")


def _check_zero_means(m: TaskMixture, n: int) -> Comparison:
    """Eq. (16): mu_k = 0 for all k implies L*_PT = L*_FT = L*_JT."""
    z = m.with_zero_means()
    losses = [derived(s, z, n).loss for s in (Strategy.PT, Strategy.FT, Strategy.JT)]
    return compare("L*_FT, L*_JT at zero means", [losses[0], losses[0]], losses[1:])


def _limit_comparison(quantity: str, claimed: str, fits: list[LeadingFit], m: TaskMixture) -> Comparison:
    """Every leading exponent negative: holds; a stable fit in the asymptotic regime with exponent >= 0 (or no decay):
    fails; a fit that float64 cannot stabilise, or whose n range (up to 1e6) stays short of the regime where the
    expansion in 1/n converges (corollary1.pre_asymptotic), cannot decide."""
    exps = [f.exponent for f in fits]
    short = [pre_asymptotic(m, f) for f in fits]
    ok = all(f.stable and not why and e is not None and e < 0 for f, e, why in zip(fits, exps, short, strict=True))
    refuted = any(f.stable and not why and (e is None or e >= 0) for f, e, why in zip(fits, exps, short, strict=True))
    note = f"coefficients {[f'{f.coefficient:.6g}' for f in fits]}"
    if not ok and not refuted:
        note += "; " + "; ".join(filter(None, short)) if any(short) else "; unstable fit: " + ", ".join(
            f"{f.quantity} slope {f.slope:.4f}" for f in fits if not f.stable)
    return Comparison(quantity, claimed, exps, 0.0 if ok else 1.0 if refuted else float("nan"), ok, note,
                      decided=None if ok else Outcome.FAILS if refuted else Outcome.INCONCLUSIVE)


def _check_limit_w(m: TaskMixture, n: int) -> Comparison:
    return _limit_comparison("leading exponents of ||n W_bar*_PT - I||_F, ||n W_bar*_JT - I||_F", "< 0 (n W_bar -> I)",
                             [fit(f"nWbar-I.{s}", m) for s in ("PT", "JT")], m)


def _check_limit_loss(m: TaskMixture, n: int) -> Comparison:
    return _limit_comparison("leading exponents of L*_PT, L*_FT, L*_JT", "< 0 (losses -> 0)", [fit(s, m) for s in ("PT", "FT", "JT")], m)


def _check_prompts(m: TaskMixture, n: int) -> Comparison:
    """Claimed p*_k ~ -n Sigma_x mu_k for large n; compared at n = LARGE_N (FT and JT stacked)."""
    claimed = -LARGE_N * m.means @ m.sigma_x.T
    at_large_n = [derived(s, m, LARGE_N).P for s in (Strategy.FT, Strategy.JT)]
    small_n = [derived(s, m, 1).P for s in (Strategy.FT, Strategy.JT)]
    drift = max(rel_error(a, b) for a, b in zip(at_large_n, small_n, strict=True))
    return compare(f"P*_FT, P*_JT at n = {LARGE_N:.0e}", np.stack([claimed, claimed]), np.stack(at_large_n),
                   note=f"derived prompts at n = 1e6 vs n = 1: relative difference {drift:.1e} (they do not grow with n)")


_N_INDEPENDENT_PROMPTS = ("P*_FT and P*_JT do not depend on n: p*_k = (I + (tr(Sigma_tilde) + sigma^2) Sigma_tilde^{-1}) "
                          "Sigma_x mu_k for FT and p*_k = (I + ((tr(Sigma_tilde) + sigma^2) I + Delta) Sigma_bar^{-1}) "
                          "Sigma_x mu_k for JT (from W*^{-1} = W_bar*^{-1} Sigma_x and Theorems 1 and 3); the -n Sigma_x mu_k "
                          "in the prompt formula is cancelled by W*^{-1} ~ (n+1) Sigma_x.")

def prompts_corrected(m: TaskMixture, n: int) -> Comparison:
    """The corrected large-n statement: the derived P*_FT and P*_JT at n and at n = LARGE_N both equal the
    n-independent closed forms (I + c Sigma_tilde^{-1}) Sigma_x mu_k and (I + (c I + Delta) Sigma_bar^{-1}) Sigma_x mu_k,
    c = tr(Sigma_tilde) + sigma^2; W*^{-1} = W_bar*^{-1} Sigma_x; and W*^{-1} - (n+1) Sigma_x is the same at n and
    100 n for PT and JT (so W*^{-1} ~ (n+1) Sigma_x cancels the -n Sigma_x mu_k)."""
    st, sb, sx = m.sigma_beta_tilde, m.sigma_beta_bar, m.sigma_x
    c = np.trace(st) + m.sigma2
    forms = {Strategy.FT: np.stack([sx @ mu + c * np.linalg.solve(st, sx @ mu) for mu in m.means]),
             Strategy.JT: np.stack([sx @ mu + (c * np.eye(m.d) + m.delta) @ np.linalg.solve(sb, sx @ mu) for mu in m.means])}
    parts = [compare(f"(p_k)*_{s} closed form at n = {nn}", form, derived(s, m, nn).P)
             for s, form in forms.items() for nn in (n, LARGE_N)]
    for s in (Strategy.PT, Strategy.JT):
        opt, far = derived(s, m, n), derived(s, m, 100 * n)
        parts.append(compare(f"W*_{s}^(-1) = W_bar*_{s}^(-1) Sigma_x", np.linalg.solve(opt.W_bar, sx), np.linalg.inv(opt.W)))
        parts.append(compare(f"W*_{s}^(-1) - (n+1) Sigma_x at n and 100 n", np.linalg.inv(opt.W) - (n + 1) * sx,
                             np.linalg.inv(far.W) - (100 * n + 1) * sx))
    return all_of("corrected large-n prompts", parts)


ZERO_MEANS = Claim("S4.zero-means", PAPER, "Section 4.2, eq. (16)", _RESULTS,
                   "mu_k = 0 for all k implies L*_PT = L*_FT = L*_JT.", _check_zero_means, docs="docs/corollary1.md",
                   tex={"statement": r"\mu_k = \mathbf{0},\ k \in [K] \;\Longrightarrow\; \mathcal{L}^{\star}_{\mathrm{PT}} = "
                                     r"\mathcal{L}^{\star}_{\mathrm{FT}} = \mathcal{L}^{\star}_{\mathrm{JT}}\quad \text{(eq. 16)}",
                        "claimed": r"\mu_k = \mathbf{0} \;\Longrightarrow\; \mathcal{L}^{\star}_{\mathrm{PT}} = \mathcal{L}^{\star}_{\mathrm{FT}} = "
                                   r"\mathcal{L}^{\star}_{\mathrm{JT}}"})

LIMITS = (
    Claim("S4.limit.W", PAPER, "Section 4.1, after Theorem 3", _RESULTS, "As n -> infinity, W_bar*_PT and W_bar*_JT "
          "converge to I/n (n W_bar* -> I).", _check_limit_w, scope=noiseless, scope_text=NOISELESS,
          symbolic=decide_preconditioner_limit, kind=Kind.ASYMPTOTIC, reading=LIMIT, docs="docs/asymptotics.md",
          tex={"statement": r"n\, \bar{W}^{\star}_{\mathrm{PT}} \to I,\quad n\, \bar{W}^{\star}_{\mathrm{JT}} \to I \quad (n \to \infty)",
               "claimed": r"n\, \bar{W}^{\star}_{\mathrm{PT}} - I \to 0,\quad n\, \bar{W}^{\star}_{\mathrm{JT}} - I \to 0",
               "derivation": r"expansion:nWbar-I.PT,nWbar-I.JT"}),
    Claim("S4.limit.loss", PAPER, "Section 4.1, after Theorem 3", _RESULTS,
          "As n -> infinity (d finite), L*_PT, L*_FT and L*_JT approach 0.", _check_limit_loss, scope=noiseless,
          scope_text=NOISELESS, symbolic=decide_loss_limit, kind=Kind.ASYMPTOTIC, reading=LIMIT, docs="docs/asymptotics.md",
          tex={"statement": r"\mathcal{L}^{\star}_{\mathrm{PT}},\ \mathcal{L}^{\star}_{\mathrm{FT}},\ \mathcal{L}^{\star}_{\mathrm{JT}} \to 0 \quad "
                            r"(n \to \infty,\ d < \infty,\ \sigma^2 = 0)",
               "claimed": r"\mathcal{L}^{\star}_{\mathrm{PT}},\ \mathcal{L}^{\star}_{\mathrm{FT}},\ \mathcal{L}^{\star}_{\mathrm{JT}} \to 0",
               "derivation": r"expansion:PT,FT,JT:noiseless"}),
    Claim("S4.prompts.large-n", PAPER, "Section 4.1, after Theorem 3", _RESULTS, "For a large context length n, "
          "(p_k)*_FT and (p_k)*_JT are approximately -n Sigma_x mu_k.", _check_prompts, scope=noiseless,
          scope_text=NOISELESS, symbolic=decide_prompt_growth, correction=_N_INDEPENDENT_PROMPTS,
          corrected=prompts_corrected, corrected_scope=everywhere,
          kind=Kind.ASYMPTOTIC, finding=PROMPTS_N_FREE, severity=Severity.MAIN, reading=LARGE_N_READING, docs="docs/asymptotics.md",
          tex={"statement": r"(\bar{p}_k)^{\star}_{\mathrm{FT}} \approx (\bar{p}_k)^{\star}_{\mathrm{JT}} \approx -n\, \Sigma_x \mu_k \quad "
                            r"\text{for a large context length } n",
               "claimed": r"(\bar{p}_k)^{\star}_{\mathrm{FT}} \approx -n\, \Sigma_x \mu_k,\quad (\bar{p}_k)^{\star}_{\mathrm{JT}} \approx -n\, "
                          r"\Sigma_x \mu_k",
               "derivation": r"expansion:P.FT,P.JT",
               "corrected": r"(\bar{p}_k)^{\star}_{\mathrm{FT}} = \left(I + (\operatorname{tr}(\tilde{\Sigma}_{\beta}) + \sigma^2) "
                            r"\tilde{\Sigma}_{\beta}^{-1}\right) \Sigma_x \mu_k,\quad (\bar{p}_k)^{\star}_{\mathrm{JT}} = \left(I + "
                            r"\left((\operatorname{tr}(\tilde{\Sigma}_{\beta}) + \sigma^2) I + \Delta\right) \bar{\Sigma}_{\beta}^{-1}\right) "
                            r"\Sigma_x \mu_k",
               "why": r"the optimal prompts do not depend on $n$: the $-n\,\Sigma_x \mu_k$ of the prompt formula is cancelled by $(W^{\star})^{-1} "
                      r"\approx (n+1)\,\Sigma_x$"}),
)
