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
from theory.mixture_file import read_mixture_file, size_limits

Array = NDArray[np.float64]

WEIGHT_SUM_TOL = 1e-9  # DESIGN.md: weights must sum to 1 within 1e-9, never renormalised
_SYMMETRY_RTOL = 1e-12  # entries of an SPD matrix read from text must agree to ~float64

# Bounds on what a mixture file may ask for (the loader checks them before building any array); the size limits
# (DEFAULT_MAX_D, DEFAULT_MAX_K, --max-size) are theory.mixture_file's.
MAX_MAGNITUDE = 1e12  # 1e-12 <= |entry| <= 1e12 (or 0): losses are products of up to ~6 entries and n^2 (n <= 1e6 in
# the fits), (1e12)^6 * 1e12 = 1e84, far inside float64 (1e308); 1e200 would overflow into inf/NaN and numpy
# warnings, and 1e-300 underflows to 0 in the same products (a mean of 1e-300 makes sum_k pi_k |mu_k|^2 zero).
MIN_EIGENVALUE = 1e-12  # sigma_x and every Sigma_beta_k: the optima invert them; a smaller eigenvalue (1e-300) leaves
# a float64-singular matrix (LinAlgError), and the bound mirrors MAX_MAGNITUDE.


def _type_name(value: Any) -> str:
    return "a boolean" if isinstance(value, bool) else "a string" if isinstance(value, str) else \
        "null" if value is None else type(value).__name__


class _Literal(float):
    """A float read from a mixture file, with the text it was written as: a literal that float64 cannot hold
    (``1e-400`` rounds to 0, ``1e400`` to infinity) is refused as out of range instead of read as 0 or inf."""

    text: str

    def __new__(cls, text: str) -> _Literal:
        value = super().__new__(cls, text)
        value.text = text
        return value

    def __repr__(self) -> str:
        return self.text


def _out_of_float64(value: float) -> str | None:
    """``"under"`` or ``"over"`` when a literal's text names a number that float64 rounded to 0 or to infinity."""
    if not isinstance(value, _Literal):
        return None
    mantissa = value.text.lower().replace("_", "").partition("e")[0]
    if float(value) == 0.0 and any(ch in "123456789" for ch in mantissa):
        return "under"
    if math.isinf(value) and any(ch.isdigit() for ch in mantissa):
        return "over"
    return None


def _scalar(value: Any, field: str) -> float:
    """A JSON/TOML number (int or float, never a bool or a string), finite, with |value| <= MAX_MAGNITUDE, and a
    non-zero one at least 1 / MAX_MAGNITUDE (a literal beyond float64's range, like ``1e-400``, included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise VerifyError(f"{field}: expected a number, got {_type_name(value)} {_clip(value)}")
    beyond = _out_of_float64(value)
    if beyond == "over" or (math.isfinite(value) and abs(value) > MAX_MAGNITUDE):
        raise VerifyError(f"{field}: |value| must be at most {MAX_MAGNITUDE:g}, got {_clip(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise VerifyError(f"{field}: contains NaN or infinity (got {value!r})")
    if beyond == "under" or value and abs(value) < 1.0 / MAX_MAGNITUDE:
        raise VerifyError(f"{field}: a non-zero |value| must be at least {1.0 / MAX_MAGNITUDE:g}, got {_clip(value)}")
    return float(value)


def _clip(value: Any, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _vector(value: Any, field: str, d: int) -> Array:
    """d numbers: a list of d numbers, or one number repeated d times."""
    if not isinstance(value, list):
        return np.full(d, _scalar(value, field))
    if len(value) != d:
        raise VerifyError(f"{field}: expected {d} entries, got {len(value)}")
    return np.array([_scalar(v, f"{field}[{i}]") for i, v in enumerate(value)], dtype=np.float64)


def _as_matrix(value: Any, field: str, d: int) -> Array:
    """Read a d x d matrix: nested lists, ``"identity"``, a number times I, or ``{"diag": [...]}``."""
    if isinstance(value, str):
        if value != "identity":
            raise VerifyError(f"{field}: unknown matrix shorthand {_clip(value)} (expected 'identity')")
        return np.eye(d)
    if isinstance(value, dict):
        unknown = set(value) - {"diag"}
        if unknown or "diag" not in value:
            raise VerifyError(f"{field}: a matrix object must have exactly the key 'diag', got {_clip(sorted(map(str, value)))}")
        if not isinstance(value["diag"], list):
            raise VerifyError(f"{field}.diag: expected a list of {d} numbers, got {_type_name(value['diag'])}")
        return np.diag(_vector(value["diag"], f"{field}.diag", d))
    if not isinstance(value, list):
        return _scalar(value, field) * np.eye(d)
    if len(value) != d:
        raise VerifyError(f"{field}: expected shape ({d}, {d}) ({d} rows), got {len(value)} rows")
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, list):
            raise VerifyError(f"{field}[{i}]: expected a row of {d} numbers, got {_type_name(row)}")
        rows.append(_vector(row, f"{field}[{i}]", d))
    return np.array(rows, dtype=np.float64)


def _as_array(value: Any, field: str) -> Array:
    """A float64 array from numbers (bools, strings and other objects are refused, never converted)."""
    if isinstance(value, (bool, str, bytes)):
        raise VerifyError(f"{field}: expected numbers, got {_type_name(value)}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise VerifyError(f"{field}: not a number or a regular nested list of numbers") from None
    if raw.dtype.kind not in "iuf":
        raise VerifyError(f"{field}: expected numbers, got array of dtype {raw.dtype}")
    return raw.astype(np.float64)


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
        if isinstance(self.sigma2, (bool, str, bytes)) or not isinstance(self.sigma2, (int, float, np.integer, np.floating)):
            raise VerifyError(f"sigma2: expected a number, got {_type_name(self.sigma2)} {_clip(self.sigma2)}")
        sigma2 = float(self.sigma2)
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
    def from_dict(cls, data: Any, *, max_size: int | None = None) -> TaskMixture:
        """Build from the DESIGN.md file format; unknown keys, wrong types and sizes over ``max_size`` are rejected.

        Numbers must be numbers (a bool or a string such as ``"2"`` is an error, never converted), finite, and at
        most :data:`MAX_MAGNITUDE` in absolute value; ``d`` and the number of tasks K are at most
        :data:`theory.mixture_file.DEFAULT_MAX_D` and :data:`~theory.mixture_file.DEFAULT_MAX_K`, or both at most ``max_size`` when given.
        """
        if not isinstance(data, dict):
            raise VerifyError(f"mixture: expected an object with keys d, sigma_x, sigma2, tasks; got {_type_name(data)}")
        unknown = set(data) - {"d", "sigma_x", "sigma2", "tasks"}
        if unknown:
            raise VerifyError(f"mixture: unknown keys {_clip(sorted(map(str, unknown)), 80)} (allowed: d, sigma_x, sigma2, tasks)")
        for key in ("d", "tasks"):
            if key not in data:
                raise VerifyError(f"mixture: missing key {key!r}")
        d = data["d"]
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise VerifyError(f"d: must be an integer >= 1, got {_clip(d)}")
        max_d, max_k = size_limits(max_size)
        if d > max_d:
            raise VerifyError(f"d: {d} exceeds the size limit {max_d} (lift it with --max-size N)")
        tasks = data["tasks"]
        if not isinstance(tasks, list) or not tasks:
            raise VerifyError("tasks: must be a non-empty list of {weight, mean, cov} objects")
        if len(tasks) > max_k:
            raise VerifyError(f"tasks: {len(tasks)} tasks exceed the size limit {max_k} (lift it with --max-size N)")
        weights, means, covs = [], [], []
        for k, task in enumerate(tasks):
            if not isinstance(task, dict):
                raise VerifyError(f"tasks[{k}]: expected an object with keys weight, mean, cov, got {_type_name(task)}")
            unknown = set(task) - {"weight", "mean", "cov"}
            missing = {"weight", "mean", "cov"} - set(task)
            if unknown:
                raise VerifyError(f"tasks[{k}]: unknown keys {_clip(sorted(map(str, unknown)), 80)} (allowed: weight, mean, cov)")
            if missing:
                raise VerifyError(f"tasks[{k}]: missing keys {sorted(missing)}")
            weights.append(_scalar(task["weight"], f"tasks[{k}].weight"))
            means.append(_vector(task["mean"], f"tasks[{k}].mean", d))
            covs.append(_as_matrix(task["cov"], f"tasks[{k}].cov", d))
        sigma_x = _as_matrix(data.get("sigma_x", "identity"), "sigma_x", d)
        sigma2 = _scalar(data.get("sigma2", 0.0), "sigma2")
        mixture = cls(sigma_x=sigma_x, weights=np.array(weights), means=np.array(means), covs=np.array(covs), sigma2=sigma2)
        for field, mat in [("sigma_x", mixture.sigma_x)] + [(f"tasks[{k}].cov", c) for k, c in enumerate(mixture.covs)]:
            smallest = float(np.linalg.eigvalsh(mat)[0])
            if smallest < MIN_EIGENVALUE:
                raise VerifyError(f"{field}: smallest eigenvalue {smallest:.3g} is below {MIN_EIGENVALUE:g} "
                                  "(too close to singular for float64)")
        return mixture


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads`: a key given twice is an error, not 'the last one wins'."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise VerifyError(f"duplicate key {_clip(key)}")
        out[key] = value
    return out


def parse_mixture_text(raw: str, suffix: str, name: str = "mixture", *, max_size: int | None = None) -> TaskMixture:
    """Parse the text of a ``.json`` or ``.toml`` mixture document (``suffix``) strictly; VerifyError on any defect."""
    try:
        if suffix == ".toml":
            data = tomllib.loads(raw, parse_float=_Literal)
        elif suffix == ".json":
            data = json.loads(raw, object_pairs_hook=_no_duplicate_keys, parse_float=_Literal)
        else:
            raise VerifyError(f"mixture file {name!r}: expected a .json or .toml file")
    except VerifyError as exc:
        raise VerifyError(f"mixture file {name!r}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, TOMLDecodeError, over-long integers, deep nesting
        reason = " ".join(str(exc).split()) if not isinstance(exc, RecursionError) else "nested too deeply"
        raise VerifyError(f"mixture file {name!r}: cannot parse ({_clip(reason, 200)})") from None
    try:
        return TaskMixture.from_dict(data, max_size=max_size)
    except VerifyError as exc:  # name the file as well as the field
        raise VerifyError(f"mixture file {name!r}: {exc}") from None


def load_mixture(source: str | Path, *, max_size: int | None = None) -> TaskMixture:
    """A preset name or a path to a ``.json`` / ``.toml`` mixture file (sizes: see :func:`size_limits`)."""
    size_limits(max_size)
    text = str(source)
    if text in PRESETS or text in PRESET_ALIASES:
        return preset(text)
    raw = read_mixture_file(text, max_size, PRESETS + tuple(PRESET_ALIASES))
    return parse_mixture_text(raw, Path(text).suffix.lower(), text, max_size=max_size)


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
