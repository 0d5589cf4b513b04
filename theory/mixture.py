"""The multi-task in-context regression problem as data (Definitions 1-2).

A :class:`TaskMixture` holds the feature covariance ``sigma_x``, the label
noise variance ``sigma2`` and K tasks ``(weight pi_k, mean mu_k, cov
Sigma_beta_k)``.  It is validated on construction and never repaired: a bad
field raises :class:`~theory.errors.VerifyError` naming the field.

Context length ``n`` is not part of the mixture; every function that needs it
takes it as an argument.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from theory.errors import VerifyError

Array = NDArray[np.float64]

WEIGHT_SUM_TOL = 1e-9  # DESIGN.md: weights must sum to 1 within 1e-9, never renormalised
_SYMMETRY_RTOL = 1e-12  # entries of an SPD matrix read from text must agree to ~float64


def _as_matrix(value: Any, field: str, d: int) -> Array:
    """Read a d x d matrix: nested lists, ``"identity"``, a scalar times I, or ``{"diag": [...]}``."""
    if isinstance(value, str):
        if value != "identity":
            raise VerifyError(f"{field}: unknown matrix shorthand {value!r} (expected 'identity')")
        return np.eye(d)
    if isinstance(value, dict):
        unknown = set(value) - {"diag"}
        if unknown or "diag" not in value:
            raise VerifyError(f"{field}: a matrix object must have exactly the key 'diag', got {sorted(value)}")
        diag = _as_array(value["diag"], f"{field}.diag")
        if diag.shape != (d,):
            raise VerifyError(f"{field}.diag: expected {d} entries, got shape {diag.shape}")
        return np.diag(diag)
    arr = _as_array(value, field)
    if arr.ndim == 0:
        return float(arr) * np.eye(d)
    return arr


def _as_array(value: Any, field: str) -> Array:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise VerifyError(f"{field}: not a number or nested list of numbers ({exc})") from None
    return arr


def _check_finite(arr: Array, field: str) -> None:
    if not np.all(np.isfinite(arr)):
        raise VerifyError(f"{field}: contains NaN or infinity")


def _check_spd(mat: Array, field: str, d: int) -> None:
    if mat.shape != (d, d):
        raise VerifyError(f"{field}: expected shape ({d}, {d}), got {mat.shape}")
    _check_finite(mat, field)
    scale = max(1.0, float(np.max(np.abs(mat))))
    if not np.allclose(mat, mat.T, rtol=0.0, atol=_SYMMETRY_RTOL * scale):
        raise VerifyError(f"{field}: not symmetric (max |A - A^T| = {np.max(np.abs(mat - mat.T)):.3g})")
    try:
        np.linalg.cholesky(mat)
    except np.linalg.LinAlgError:
        smallest = float(np.linalg.eigvalsh(mat)[0])
        raise VerifyError(f"{field}: not positive definite: smallest eigenvalue {smallest:.6g}") from None


@dataclass(frozen=True, eq=False)
class TaskMixture:
    """K Gaussian task priors sharing one feature distribution (Definition 2).

    Parameters
    ----------
    sigma_x : (d, d) SPD feature covariance Sigma_x.
    weights : (K,) task probabilities pi_k, non-negative, summing to 1 within 1e-9.
    means : (K, d) task means mu_k (the rows of the paper's M_mu).
    covs : (K, d, d) SPD task covariances Sigma_beta_k.
    sigma2 : label noise variance sigma^2 >= 0.

    Example
    -------
    >>> m = TaskMixture(sigma_x=np.eye(1), weights=[1.0], means=[[0.5]], covs=[[[1.0]]])
    >>> m.d, m.K
    (1, 1)
    """

    sigma_x: Array
    weights: Array
    means: Array
    covs: Array
    sigma2: float = 0.0

    def __post_init__(self) -> None:
        sigma_x = _as_array(self.sigma_x, "sigma_x")
        if sigma_x.ndim != 2 or sigma_x.shape[0] != sigma_x.shape[1] or sigma_x.shape[0] < 1:
            raise VerifyError(f"sigma_x: expected a square d x d matrix with d >= 1, got shape {sigma_x.shape}")
        d = sigma_x.shape[0]
        _check_spd(sigma_x, "sigma_x", d)
        weights = _as_array(self.weights, "weights")
        if weights.ndim != 1 or weights.size < 1:
            raise VerifyError(f"weights: expected a non-empty list of K numbers, got shape {weights.shape}")
        K = weights.size
        _check_finite(weights, "weights")
        if np.any(weights < 0):
            raise VerifyError(f"weights: must be non-negative, got {weights.tolist()}")
        total = float(weights.sum())
        if abs(total - 1.0) > WEIGHT_SUM_TOL:
            raise VerifyError(f"weights: must sum to 1 (within {WEIGHT_SUM_TOL:g}), got sum {total!r}")
        means = _as_array(self.means, "means")
        if means.shape != (K, d):
            raise VerifyError(f"means: expected shape ({K}, {d}) (K tasks, d = {d}), got {means.shape}")
        _check_finite(means, "means")
        covs = _as_array(self.covs, "covs")
        if covs.shape != (K, d, d):
            raise VerifyError(f"covs: expected shape ({K}, {d}, {d}), got {covs.shape}")
        for k in range(K):
            _check_spd(covs[k], f"tasks[{k}].cov", d)
        try:
            sigma2 = float(self.sigma2)
        except (TypeError, ValueError):
            raise VerifyError(f"sigma2: not a number: {self.sigma2!r}") from None
        if not math.isfinite(sigma2) or sigma2 < 0:
            raise VerifyError(f"sigma2: must be a finite number >= 0, got {sigma2!r}")
        for name, arr in (("sigma_x", sigma_x), ("weights", weights), ("means", means), ("covs", covs)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "sigma2", sigma2)

    # ----- shape -------------------------------------------------------------
    @property
    def d(self) -> int:
        return int(self.sigma_x.shape[0])

    @property
    def K(self) -> int:
        return int(self.weights.size)

    # ----- the paper's derived statistics (eq. 14) ----------------------------
    @property
    def second_moments(self) -> Array:
        """(K, d, d) E[beta_k beta_k^T] = Sigma_beta_k + mu_k mu_k^T."""
        return self.covs + np.einsum("ki,kj->kij", self.means, self.means)

    @property
    def mean_outer(self) -> Array:
        """sum_k pi_k mu_k mu_k^T (Sigma_x^{-1} Delta in Corollary 1)."""
        return np.einsum("k,ki,kj->ij", self.weights, self.means, self.means)

    @property
    def cov_average(self) -> Array:
        """sum_k pi_k Sigma_beta_k."""
        return np.einsum("k,kij->ij", self.weights, self.covs)

    @property
    def sigma_beta_bar(self) -> Array:
        """Debiased mixed-task covariance, eq. (14a): Sigma_x sum_k pi_k Sigma_beta_k."""
        return self.sigma_x @ self.cov_average

    @property
    def sigma_beta_tilde(self) -> Array:
        """Biased mixed-task covariance, eq. (14b): Sigma_x sum_k pi_k (Sigma_beta_k + mu_k mu_k^T)."""
        return self.sigma_x @ (self.cov_average + self.mean_outer)

    @property
    def delta(self) -> Array:
        """Delta = Sigma_tilde - Sigma_bar = Sigma_x sum_k pi_k mu_k mu_k^T (Corollary 1)."""
        return self.sigma_x @ self.mean_outer

    def label_second_moment(self) -> float:
        """E[y^2] = tr(Sigma_tilde) + sigma^2, the paper's normalisation of losses (Section 6)."""
        return float(np.trace(self.sigma_beta_tilde)) + self.sigma2

    # ----- variants -------------------------------------------------------------
    def with_zero_means(self) -> TaskMixture:
        """The same mixture with every mu_k = 0 (the debiased problem of Theorem 4)."""
        return TaskMixture(self.sigma_x, self.weights, np.zeros_like(self.means), self.covs, self.sigma2)

    # ----- serialisation ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The explicit JSON form of DESIGN.md (nested lists)."""
        return {
            "d": self.d,
            "sigma_x": self.sigma_x.tolist(),
            "sigma2": self.sigma2,
            "tasks": [
                {"weight": float(w), "mean": mu.tolist(), "cov": c.tolist()}
                for w, mu, c in zip(self.weights, self.means, self.covs, strict=True)
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> TaskMixture:
        """Build from the DESIGN.md file format; unknown keys are rejected."""
        if not isinstance(data, dict):
            raise VerifyError(f"mixture: expected an object with keys d, sigma_x, sigma2, tasks; got {type(data).__name__}")
        unknown = set(data) - {"d", "sigma_x", "sigma2", "tasks"}
        if unknown:
            raise VerifyError(f"mixture: unknown keys {sorted(unknown)} (allowed: d, sigma_x, sigma2, tasks)")
        for key in ("d", "tasks"):
            if key not in data:
                raise VerifyError(f"mixture: missing key {key!r}")
        d = data["d"]
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise VerifyError(f"d: must be an integer >= 1, got {d!r}")
        tasks = data["tasks"]
        if not isinstance(tasks, list) or not tasks:
            raise VerifyError("tasks: must be a non-empty list of {weight, mean, cov} objects")
        weights, means, covs = [], [], []
        for k, task in enumerate(tasks):
            if not isinstance(task, dict):
                raise VerifyError(f"tasks[{k}]: expected an object with keys weight, mean, cov")
            unknown = set(task) - {"weight", "mean", "cov"}
            missing = {"weight", "mean", "cov"} - set(task)
            if unknown:
                raise VerifyError(f"tasks[{k}]: unknown keys {sorted(unknown)} (allowed: weight, mean, cov)")
            if missing:
                raise VerifyError(f"tasks[{k}]: missing keys {sorted(missing)}")
            weights.append(_as_array(task["weight"], f"tasks[{k}].weight"))
            mean = _as_array(task["mean"], f"tasks[{k}].mean")
            if mean.ndim == 0:
                mean = np.full(d, float(mean))
            if mean.shape != (d,):
                raise VerifyError(f"tasks[{k}].mean: expected {d} entries, got shape {mean.shape}")
            means.append(mean)
            cov = _as_matrix(task["cov"], f"tasks[{k}].cov", d)
            if cov.shape != (d, d):
                raise VerifyError(f"tasks[{k}].cov: expected shape ({d}, {d}), got {cov.shape}")
            covs.append(cov)
        sigma_x = _as_matrix(data.get("sigma_x", "identity"), "sigma_x", d)
        if sigma_x.shape != (d, d):
            raise VerifyError(f"sigma_x: expected shape ({d}, {d}), got {sigma_x.shape}")
        for k, w in enumerate(weights):
            if w.ndim != 0:
                raise VerifyError(f"tasks[{k}].weight: expected a number, got shape {w.shape}")
        return cls(sigma_x=sigma_x, weights=np.array([float(w) for w in weights]),
                   means=np.array(means), covs=np.array(covs), sigma2=data.get("sigma2", 0.0))


def load_mixture(source: str | Path) -> TaskMixture:
    """A preset name or a path to a ``.json`` / ``.toml`` mixture file."""
    text = str(source)
    if text in PRESETS or text in PRESET_ALIASES:
        return preset(text)
    path = Path(text)
    if not path.exists():
        raise VerifyError(
            f"mixture: {text!r} is neither a preset ({', '.join(sorted(PRESETS))}) nor an existing file"
        )
    raw = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(raw)
        elif path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            raise VerifyError(f"mixture file {text!r}: expected a .json or .toml file")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VerifyError(f"mixture file {text!r}: cannot parse ({exc})") from None
    return TaskMixture.from_dict(data)


# ----- presets read off the paper (Section 6, Appendices D and E) -----------------
_NONISO_DIAG = [0.9 ** e for e in [1, -1, -2, -3, -4, -5, -6, -7, -8, -9]]  # diag{0.9, 0.9^-1, ..., 0.9^-9}


def _two_task(mu1: float, mu2: float, cov1: Any, cov2: Any, pi1: float, sigma2: float = 0.0) -> TaskMixture:
    d = 10
    return TaskMixture.from_dict({
        "d": d, "sigma_x": "identity", "sigma2": sigma2,
        "tasks": [{"weight": pi1, "mean": mu1, "cov": cov1},
                  {"weight": round(1.0 - pi1, 12), "mean": mu2, "cov": cov2}],
    })


def _noniso(scale: float) -> dict[str, list[float]]:
    return {"diag": [scale * v for v in _NONISO_DIAG]}


_PRESET_BUILDERS = {
    # Figure 2(a): validates Assumption 1, non-zero means.
    "fig2a": lambda: _two_task(1.7, -1.3, "identity", "identity", 0.3),
    # Figure 2(b): zero means, Sigma_beta2 = 2 I.
    "fig2b": lambda: _two_task(0.0, 0.0, "identity", 2.0, 0.5),
    # Figure 2(c): validates Theorems 1-3.
    "fig2c": lambda: _two_task(2.1, -0.9, "identity", "identity", 0.3),
    # Figure 2(d): task-specific heads (Theorem 4).
    "fig2d": lambda: _two_task(1.4, -0.6, "identity", 2.0, 0.3),
    # Figure A1(a),(b): the fig2a and fig2c configurations with sigma^2 = 5 (Appendix D.1).
    "figA1a": lambda: _two_task(1.7, -1.3, "identity", "identity", 0.3, sigma2=5.0),
    "figA1b": lambda: _two_task(2.1, -0.9, "identity", "identity", 0.3, sigma2=5.0),
    # Figure A1(c),(d): fig2a and fig2d with I_10 -> diag{0.9, 0.9^-1, ..., 0.9^-9} in Sigma_beta, sigma^2 = 5 (D.2).
    "figA1c": lambda: _two_task(1.7, -1.3, _noniso(1.0), _noniso(1.0), 0.3, sigma2=5.0),
    "figA1d": lambda: _two_task(1.4, -0.6, _noniso(1.0), _noniso(2.0), 0.3, sigma2=5.0),
    # Figure A2: the multi-layer configuration of Appendix E, clean and noisy.
    "figA2-clean": lambda: _two_task(1.7, -1.3, _noniso(1.0), _noniso(2.0), 0.3, sigma2=0.0),
    "figA2-noisy": lambda: _two_task(1.7, -1.3, _noniso(1.0), _noniso(2.0), 0.3, sigma2=5.0),
}
PRESETS: tuple[str, ...] = tuple(_PRESET_BUILDERS)
PRESET_ALIASES = {"figA1-noisy": "figA1b", "figA1-noniso": "figA1d"}
DEFAULT_PRESET = "fig2c"


def preset(name: str) -> TaskMixture:
    """The mixture behind a figure of the paper, e.g. ``preset("fig2c")``."""
    key = PRESET_ALIASES.get(name, name)
    if key not in _PRESET_BUILDERS:
        raise VerifyError(f"unknown preset {name!r}; known: {', '.join(PRESETS + tuple(PRESET_ALIASES))}")
    return _PRESET_BUILDERS[key]()
