"""The mathematics: the problem, the exact loss, the derived optima, the claims (no torch)."""

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

__all__ = [
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
