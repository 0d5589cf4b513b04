"""A mixture on which the exact-loss minimiser once stopped early (tests/theory/test_minimise.py,
tests/verify/test_minimiser_channel.py)."""

from __future__ import annotations

import numpy as np

from theory.mixture import TaskMixture

# A d = 3, K = 3 mixture on which BFGS with central-difference gradients (the minimiser before the Newton polish
# and the prompts solved at each W) stopped 0.30% (sigma2 = 0) and 0.32% (sigma2 = 1) above the JT optimum at
# n = 1, after 2240 iterations (on the generated family such stops sat near a singular W with prompts of norm ~1e4).
EARLY_STOP = {
    "sigma_x": [[2.0, 1.4, -1.0], [1.4, 1.9, -0.8], [-1.0, -0.8, 1.5]],
    "weights": [0.11, 0.06, 0.83],
    "means": [[2.5, 0.8, 1.9], [0.5, 2.0, 0.4], [-1.3, -2.6, -1.6]],
    "covs": [[[1.2, -0.8, 0.0], [-0.8, 2.1, -0.1], [0.0, -0.1, 0.7]],
             [[0.6, -0.1, 0.0], [-0.1, 0.9, -0.5], [0.0, -0.5, 1.3]],
             [[1.1, -0.1, -0.5], [-0.1, 1.7, -1.4], [-0.5, -1.4, 2.9]]],
}


def early_stop_mixture(sigma2: float) -> TaskMixture:
    """:data:`EARLY_STOP` with noise variance ``sigma2``."""
    e = EARLY_STOP
    weights = np.array(e["weights"])
    weights[-1] = 1.0 - weights[:-1].sum()
    return TaskMixture(np.array(e["sigma_x"]), weights, np.array(e["means"]), np.array(e["covs"]), sigma2)


