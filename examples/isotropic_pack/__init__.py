"""A worked example of a claim pack written outside the toolkit (docs/claims.md is the authoring guide).

One claim of its own, checked by every channel ``verify`` has for a loss claim: the search over this pack's family,
the numerical minimiser, Monte Carlo at the derived optimum and at the stated parameters, and training.

The claim: for one task with mean zero, isotropic features and task vectors (``Sigma_x = I_d``, ``Sigma_beta = I_d``)
and label noise ``sigma^2``, the optimal one-layer linear attention without prompts (the reduced model of
eq. 7, plain training) has ``W* = I_d / (n + d + 1 + sigma^2)`` and the loss
``L* = sigma^2 + d (d + 1 + sigma^2) / (n + d + 1 + sigma^2)``.

Run it from the repository root::

    verify --pack examples/isotropic_pack --all
"""

from __future__ import annotations

import numpy as np

from claims.record import Case, Claim, Comparison, Kind, Paper, StatedParameters, compare, not_applicable
from theory.mixture import TaskMixture
from theory.optima import optimum
from theory.strategy import Strategy

KEY = "isotropic-example"
SCOPE = "one task, mean zero, Sigma_x = I, Sigma_beta = I, any noise"


def in_scope(m: TaskMixture) -> bool:
    """The pack's hypothesis: one task of mean zero, identity feature and task covariances."""
    eye = np.eye(m.d)
    return m.K == 1 and not np.any(m.means) and np.array_equal(m.sigma_x, eye) and np.array_equal(m.covs[0], eye)


def claimed_loss(d: int, n: int, sigma2: float) -> float:
    """The pack's formula for the optimal loss."""
    return sigma2 + d * (d + 1 + sigma2) / (n + d + 1 + sigma2)


def stated(m: TaskMixture, n: int) -> StatedParameters:
    """The parameters the claim states as optimal: W = I / (n + d + 1 + sigma^2), no prompts."""
    return StatedParameters("reduced", np.eye(m.d) / (n + m.d + 1 + m.sigma2), np.zeros((m.K, m.d)))


def check(m: TaskMixture, n: int) -> Comparison:
    """Claimed L* against the toolkit's derived plain-training optimum (theory.optima)."""
    if not in_scope(m):
        return not_applicable("L*_PT", f"outside the claim's scope ({SCOPE})")
    return compare("L*_PT", claimed_loss(m.d, n, m.sigma2), optimum(Strategy.PT, m, n).loss)


def isotropic(d: int, sigma2: float) -> TaskMixture:
    """The pack's data model for dimension d and noise sigma2."""
    return TaskMixture(np.eye(d), np.array([1.0]), np.zeros((1, d)), np.eye(d)[None], sigma2)


def cases(ns: tuple[int, ...], seed: int) -> list[Case]:
    """The search family: d = 1..4, noise 0, 0.5 and 2, at every n of the search."""
    del seed  # the family is fixed
    return [Case(f"iso d={d} sigma2={s2:g}", isotropic(d, s2), n) for d in range(1, 5) for s2 in (0.0, 0.5, 2.0) for n in ns]


LOSS = Claim(
    "ISO.loss", KEY, "this example pack (derived from the paper's Theorem 1 with one task)", ("Theorem 1",),
    "For one zero-mean task with Sigma_x = Sigma_beta = I_d and noise sigma^2, the optimal loss of plain training is "
    "L* = sigma^2 + d (d + 1 + sigma^2) / (n + d + 1 + sigma^2), at W* = I_d / (n + d + 1 + sigma^2).",
    check, scope=in_scope, scope_text=SCOPE, optimum=Strategy.PT, loss=True, stated=stated, kind=Kind.RESULT,
    docs="examples/isotropic_pack/__init__.py")

PAPER = Paper(
    key=KEY, title="An example claim pack: the isotropic one-task optimum",
    citation="examples/isotropic_pack (a worked example for pack authors)", claims=(LOSS,), cases=cases,
    default_mixture="iso-d2-noisy", mapping="Definition 2 with one task of mean zero and identity covariances.",
    docs="docs/claims.md", presets={"iso-d2-noisy": lambda: isotropic(2, 0.5), "iso-d1": lambda: isotropic(1, 0.0)})
