"""The sampled predictor of a reduced-model optimum: one function for every place that samples an optimum's loss."""

from __future__ import annotations

from typing import Any

from montecarlo import PGDPredictor, ReducedPredictor
from theory.optima import Optimum
from theory.strategy import Strategy


def parameter_predictor(predictor: str, W: Any, P: Any) -> PGDPredictor | ReducedPredictor:
    """The predictor of parameters ``(W, P)``: the debiased PGD one (eq. 18) for ``predictor == "pgd"``, else the
    reduced model's (eq. 7) with prompts ``P``."""
    return PGDPredictor(W) if predictor == "pgd" else ReducedPredictor(W, P)


def optimum_predictor(strategy: Strategy, opt: Optimum) -> PGDPredictor | ReducedPredictor:
    """The predictor at the derived optimum ``opt`` of ``strategy`` (:func:`theory.optima.optimum`): PGD's optimum
    (eq. 19) predicts with task heads, every other strategy's with the reduced model."""
    return parameter_predictor("pgd" if strategy is Strategy.PGD else "reduced", opt.W, opt.P)
