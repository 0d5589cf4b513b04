"""How the toolkit reads the paper's sentences, and the root causes its refutations share (one finding per cause).

A rate such as 'L*_FT - L*_JT ~ O(1/n)' can be read as an upper bound or as the exact order; the records say which
reading their verdict is about and, where a weaker reading would hold, judge it beside the stronger one.
"""

from __future__ import annotations

EXACT_ORDER = "as the exact order of the leading term in 1/n (the fitted exponent of the gap equals the stated one)"
EXACT_ORDER_NEEDED = ("as the exact order of the leading term in 1/n: the paper's interpretation ('fine-tuning provides "
                      "most of the benefit for small n, joint training more for larger n') needs the gaps to have "
                      "different orders")
UPPER_BOUND = "as an upper bound only: the quantity is O(n^-1), i.e. its leading exponent is at most -1"
MEAN_ORDER = ("as the exact order in the scale t of the task means as t -> 0 (quadratic: proportional to "
              "||Delta||_F)")
DRAWN_TASKS = ("as an iff between exact identities, with 'all task means' read over the tasks of positive weight: a "
               "task of weight 0 is never drawn and enters no loss")
LIMIT = "as a limit n -> infinity, checked on the exact optimum at growing n"
LARGE_N_READING = "as an approximation that becomes exact relative to the prompt's size as n grows"

HEADS_BELOW_PGD = ("with noise and unequal task covariances, attention with task-specific heads (eq. 17) goes below the "
                   "debiased PGD optimum: a head rescales the preconditioner per task")
FT_JT_ORDER = "the FT-JT gap is of order n^-2, like the PT-FT gap, not n^-1"
ASSUMPTION1 = ("Assumption 1 is not free: the unconstrained one-layer attention (eq. 6) goes below the reduced model "
               "wherever the reduced optimum is not stationary for it")

LEMMA1_SYMMETRIC = "Lemma 1's fourth moment holds only for symmetric A (as the task second moments are)"
T2_PROMPTS_SIGMA = "the boxed prompt formula of Appendix B.2 drops a factor Sigma_x (right when Sigma_x = I)"
T2_LOSS_TRANSPOSE = ("the fine-tuning loss formula transposes W_bar*_PT: right where it is symmetric (iff Sigma_x commutes "
                     "with Sigma_tilde) or the means vanish")
T3_PROMPTS_TRANSPOSE = "the joint-training prompt formula transposes W*_JT: right only where W*_JT is symmetric"
T4_LOSS_NOISE = "the appendix's debiased PGD loss drops the noise term sigma^2"
FT_JT_QUARTIC = "the FT-JT gap is quartic in the task means, not quadratic"
PROMPTS_N_FREE = "the optimal prompts do not depend on n; they are not close to -n Sigma_x mu_k for large n"
HEADS_NOISE = ("on Figure A2's mixture label noise raises the loss of attention with task-specific heads more than plain "
               "training's (from small n on): the heads' gain shrinks under noise, so they do not mitigate it")
