"""The one-task model that Zhang-Frei-Bartlett (2024) and Ahn et al. (2023) both study, as a :class:`TaskMixture`.

Their data: x ~ N(0, Sigma_x), one task w ~ N(0, I_d) (K = 1, mean 0, covariance I), no label noise.  In the
terms of this toolkit that is the mixture with one component, ``means = 0``, ``covs = I`` and ``sigma2 = 0``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.mixture import TaskMixture

__all__ = ["IDENTITY_ATOL", "is_standard_task", "standard_task_mixture"]

IDENTITY_ATOL = 1e-12  # how far from I_d a task covariance may be and still count as the identity


def standard_task_mixture(sigma_x: Any) -> TaskMixture:
    """x ~ N(0, ``sigma_x``), w ~ N(0, I_d), noiseless."""
    sig = np.asarray(sigma_x, dtype=np.float64)
    d = sig.shape[0]
    return TaskMixture(sigma_x=sig, weights=np.ones(1), means=np.zeros((1, d)), covs=np.eye(d)[None], sigma2=0.0)


def is_standard_task(m: TaskMixture) -> bool:
    """Is ``m`` that model (any ``sigma_x``): K = 1, mean 0, task covariance I_d within ``IDENTITY_ATOL``, no noise?"""
    return (m.K == 1 and m.sigma2 == 0.0 and not np.any(m.means)
            and bool(np.allclose(m.covs[0], np.eye(m.d), rtol=0.0, atol=IDENTITY_ATOL)))
