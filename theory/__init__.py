"""The mathematics: the problem, the exact loss, the derived optima, the claim records and packs (no torch)."""

from theory.asymptotics import Expansion, LeadingFit, numeric_leading_term, symbolic_expansion
from theory.errors import VerifyError
from theory.loss import pgd_loss, population_loss
from theory.mixture import DEFAULT_PRESET, PRESETS, TaskMixture, load_mixture, preset
from theory.optima import (
    Optimum,
    fine_tuning_optimum,
    joint_training_optimum,
    optimal_prompts,
    optimum,
    pgd_optimum,
    plain_training_optimum,
)
from theory.papers import DEFAULT_PAPER, PAPERS
from theory.record import AGREE_RTOL, REFUTE_RTOL, Case, Claim, Comparison, Outcome, Paper, StatedParameters, SymbolicResult
from theory.registry import claim, claims, claims_for, paper
from theory.strategy import Strategy
from theory.verdicts import ClaimVerdict, Verdict, judge

__all__ = [
    "AGREE_RTOL",
    "Case",
    "Claim",
    "ClaimVerdict",
    "Comparison",
    "DEFAULT_PAPER",
    "Outcome",
    "PAPERS",
    "Paper",
    "REFUTE_RTOL",
    "StatedParameters",
    "Strategy",
    "SymbolicResult",
    "Verdict",
    "claim",
    "claims",
    "claims_for",
    "judge",
    "paper",
    "DEFAULT_PRESET",
    "Expansion",
    "LeadingFit",
    "PRESETS",
    "Optimum",
    "TaskMixture",
    "VerifyError",
    "fine_tuning_optimum",
    "joint_training_optimum",
    "load_mixture",
    "numeric_leading_term",
    "optimal_prompts",
    "optimum",
    "pgd_loss",
    "pgd_optimum",
    "plain_training_optimum",
    "population_loss",
    "preset",
    "symbolic_expansion",
]
