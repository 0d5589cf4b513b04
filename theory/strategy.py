"""The training strategies of Sections 4-5: one vocabulary for theory, training, figures and the JSON report.

A :class:`Strategy` is a ``str`` (``Strategy.PT == "PT"``), so it serialises as its paper name and reads back
with ``Strategy("PT")``.

>>> Strategy("JT").optimal_loss
'L*_JT'
>>> [s.value for s in Strategy]
['PT', 'FT', 'JT', 'PGD']
"""

from __future__ import annotations

from enum import StrEnum


class Strategy(StrEnum):
    """What is trained, and which optimum of the paper it reaches.

    * ``PT``: plain training of the attention weights, no prompts (eq. 10, Theorem 1);
    * ``FT``: prompts tuned on the plain-trained weights (eq. 11, Theorem 2);
    * ``JT``: prompts and weights trained jointly (eq. 12, Theorem 3);
    * ``PGD``: prompts, weights and task-specific heads trained jointly (eq. 18), whose reduced optimum is the
      debiased preconditioned gradient descent of eq. (19) (Theorem 4, Proposition 1).
    """

    PT = "PT"
    FT = "FT"
    JT = "JT"
    PGD = "PGD"

    @property
    def optimal_loss(self) -> str:
        """The paper's symbol for the strategy's optimal loss (``L*_PT``, ..., ``L~*_PGD``)."""
        return "L~*_PGD" if self is Strategy.PGD else f"L*_{self.value}"

    @property
    def preconditioner(self) -> str:
        """The paper's symbol for the optimal W_bar = Sigma_x W (``W_bar*_PT``, ...)."""
        return f"W_bar*_{self.value}"

    @property
    def description(self) -> str:
        """One line: what is trained (for legends and tables)."""
        return _DESCRIPTIONS[self]

    @property
    def equation(self) -> str:
        """The paper's objective for the strategy."""
        return _EQUATIONS[self]

    @property
    def has_prompts(self) -> bool:
        return self is not Strategy.PT

    @property
    def has_task_heads(self) -> bool:
        return self is Strategy.PGD


_DESCRIPTIONS = {
    Strategy.PT: "plain training (no prompts)",
    Strategy.FT: "fine-tuned prompts on the plain-trained model",
    Strategy.JT: "joint training of prompts and attention",
    Strategy.PGD: "joint training with task-specific heads",
}
_EQUATIONS = {Strategy.PT: "eq. (10)", Strategy.FT: "eq. (11)", Strategy.JT: "eq. (12)", Strategy.PGD: "eq. (18)"}
