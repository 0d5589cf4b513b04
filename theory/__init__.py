"""The mathematics: the problem, the exact loss, the derived optima and their symbolic derivations (no torch).

The claims about them, and the engine that judges claims, live one floor up in :mod:`claims`.

Every public name is imported on first use (:pep:`562`): ``import theory.errors`` or ``theory.files`` loads neither
numpy nor sympy, so the ``verify`` command answers ``--help`` and bad input before the numeric stack loads.
"""

from __future__ import annotations

from theory.lazy import lazy_exports

_HOME = {  # public name -> the module that defines it
    "Expansion": "asymptotics", "LeadingFit": "asymptotics", "numeric_leading_term": "asymptotics",
    "symbolic_expansion": "asymptotics",
    "VerifyError": "errors",
    "pgd_loss": "loss", "population_loss": "loss",
    "DEFAULT_PRESET": "mixture", "PRESETS": "mixture", "TaskMixture": "mixture", "load_mixture": "mixture",
    "preset": "mixture",
    "Optimum": "optima", "fine_tuning_optimum": "optima", "joint_training_optimum": "optima",
    "optimal_prompts": "optima", "optimum": "optima", "pgd_optimum": "optima", "plain_training_optimum": "optima",
    "Strategy": "strategy",
    "SymbolicResult": "symbolic_result",
}

__all__ = sorted(_HOME)
__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals())
