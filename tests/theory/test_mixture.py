"""TaskMixture: validation names the bad field; files and presets load."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from theory.errors import VerifyError
from theory.mixture import PRESET_ALIASES, PRESETS, TaskMixture, load_mixture, preset


def _valid() -> dict:
    return {"d": 2, "sigma_x": [[1.0, 0.2], [0.2, 0.5]], "sigma2": 0.25,
            "tasks": [{"weight": 0.3, "mean": [1.7, 1.7], "cov": [[1, 0], [0, 1]]},
                      {"weight": 0.7, "mean": [-1.3, -1.3], "cov": [[2, 0], [0, 2]]}]}


def _with(path: str, value: object) -> dict:
    data = _valid()
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    target[int(last) if last.isdigit() else last] = value
    return data


BAD_CASES = [
    ("non-spd sigma_x", _with("sigma_x", [[1.0, 2.0], [2.0, 1.0]]), "sigma_x: not positive definite"),
    ("asymmetric sigma_x", _with("sigma_x", [[1.0, 0.3], [0.2, 1.0]]), "sigma_x: not symmetric"),
    ("weights do not sum to 1", _with("tasks.1.weight", 0.6), "weights: must sum to 1"),
    ("negative weight", _with("tasks.0.weight", -0.3), "weights: must be non-negative"),
    ("wrong mean length", _with("tasks.0.mean", [1.0, 2.0, 3.0]), "tasks[0].mean: expected 2 entries"),
    ("nan in mean", _with("tasks.1.mean", [float("nan"), 0.0]), "tasks[1].mean[0]: contains NaN"),
    ("non-spd task cov", _with("tasks.1.cov", [[1, 0], [0, -1]]), "tasks[1].cov: not positive definite"),
    ("negative noise", _with("sigma2", -1.0), "sigma2: must be a finite number >= 0"),
    ("unknown key", {**_valid(), "sigma": 1}, "unknown keys ['sigma']"),
    ("d zero", _with("d", 0), "d: must be an integer >= 1"),
    ("no tasks", _with("tasks", []), "tasks: must be a non-empty list"),
    ("bad shorthand", _with("sigma_x", "eye"), "unknown matrix shorthand"),
]


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_mixture_raises_error_naming_the_field(data: dict, message: str) -> None:
    with pytest.raises(VerifyError, match=re.escape(message)):
        TaskMixture.from_dict(data)


def test_weights_are_never_renormalised() -> None:
    with pytest.raises(VerifyError, match="sum 1.1"):
        TaskMixture(np.eye(1), [0.5, 0.6], [[0.0], [0.0]], [[[1.0]], [[1.0]]])


def test_json_and_toml_give_the_same_mixture(tmp_path) -> None:
    data = _valid()
    (tmp_path / "m.json").write_text(json.dumps(data))
    toml = ['d = 2', 'sigma_x = [[1.0, 0.2], [0.2, 0.5]]', 'sigma2 = 0.25']
    for t in data["tasks"]:
        toml += ["[[tasks]]", f"weight = {t['weight']}", f"mean = {t['mean']}", f"cov = {t['cov']}"]
    (tmp_path / "m.toml").write_text("\n".join(toml))
    a, b = load_mixture(tmp_path / "m.json"), load_mixture(tmp_path / "m.toml")
    assert a.to_dict() == b.to_dict()
    assert TaskMixture.from_dict(a.to_dict()).to_dict() == a.to_dict()


def test_conveniences_expand_to_the_explicit_form() -> None:
    m = TaskMixture.from_dict({"d": 3, "sigma_x": {"diag": [1, 2, 3]},
                               "tasks": [{"weight": 1.0, "mean": 0.5, "cov": "identity"}]})
    assert np.array_equal(m.sigma_x, np.diag([1.0, 2.0, 3.0]))
    assert np.array_equal(m.means, np.full((1, 3), 0.5))


@pytest.mark.parametrize("name", PRESETS + tuple(PRESET_ALIASES))
def test_presets_are_valid_paper_configurations(name: str) -> None:
    m = preset(name)
    assert (m.d, m.K) == (10, 2)
    assert m.weights.sum() == pytest.approx(1.0, abs=1e-12)


def test_preset_values_read_off_the_paper() -> None:
    m = preset("fig2c")
    assert np.array_equal(m.means, np.stack([np.full(10, 2.1), np.full(10, -0.9)]))
    assert m.weights.tolist() == [0.3, 0.7] and m.sigma2 == 0.0
    a2 = preset("figA2-noisy")
    assert a2.sigma2 == 5.0
    assert np.allclose(np.diag(a2.covs[1]), 2 * 0.9 ** np.array([1, -1, -2, -3, -4, -5, -6, -7, -8, -9]))


def test_unknown_preset_and_missing_file_are_named() -> None:
    with pytest.raises(VerifyError, match="neither a preset"):
        load_mixture("fig9z")
    with pytest.raises(VerifyError, match="unknown preset 'fig9z'"):
        preset("fig9z")


# ----- strict loading ------------------------------------------------------------------------------------
STRICT_CASES = [
    ("string weight", _with("tasks.0.weight", "0.3"), "tasks[0].weight: expected a number, got a string"),
    ("bool weight", _with("tasks.0.weight", True), "tasks[0].weight: expected a number, got a boolean"),
    ("string in mean", _with("tasks.0.mean", ["1.7", 1.7]), "tasks[0].mean[0]: expected a number, got a string"),
    ("bool mean", _with("tasks.1.mean", False), "tasks[1].mean: expected a number, got a boolean"),
    ("string sigma2", _with("sigma2", "0.25"), "sigma2: expected a number, got a string"),
    ("bool sigma2", _with("sigma2", True), "sigma2: expected a number, got a boolean"),
    ("null cov entry", _with("tasks.0.cov", [[1, None], [0, 1]]), "tasks[0].cov[0][1]: expected a number, got null"),
    ("ragged cov", _with("tasks.0.cov", [[1, 0], [0]]), "tasks[0].cov[1]: expected 2 entries, got 1"),
    ("huge mean", _with("tasks.0.mean", [1e200, 0.0]), "tasks[0].mean[0]: |value| must be at most 1e+12"),
    ("huge int", _with("sigma2", 10**40), "sigma2: |value| must be at most 1e+12"),
    ("tiny mean", _with("tasks.0.mean", [1e-300, 0.0]), "tasks[0].mean[0]: a non-zero |value| must be at least 1e-12"),
    ("near-singular sigma_x", _with("sigma_x", [[1.0, 0.9999999999999], [0.9999999999999, 1.0]]),
     "sigma_x: smallest eigenvalue"),
    ("infinite sigma2", _with("sigma2", float("inf")), "sigma2: contains NaN or infinity"),
    ("string d", _with("d", "2"), "d: must be an integer >= 1, got '2'"),
    ("too many tasks", _with("tasks", [{"weight": 1 / 65, "mean": 0, "cov": 1}] * 65), "tasks: 65 tasks exceed the size limit 64"),
]


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in STRICT_CASES], ids=[c[0] for c in STRICT_CASES])
def test_numbers_must_be_numbers(data: dict, message: str) -> None:
    with pytest.raises(VerifyError, match=re.escape(message)):
        TaskMixture.from_dict(data)


def test_direct_construction_refuses_strings_and_bools() -> None:
    with pytest.raises(VerifyError, match="sigma2: expected a number, got a string"):
        TaskMixture(np.eye(1), [1.0], [[0.0]], [[[1.0]]], "0.5")  # type: ignore[arg-type]
    with pytest.raises(VerifyError, match="weights: expected numbers"):
        TaskMixture(np.eye(1), ["1.0"], [[0.0]], [[[1.0]]])
    with pytest.raises(VerifyError, match="weights: expected numbers"):
        TaskMixture(np.eye(1), [True], [[0.0]], [[[1.0]]])


def test_duplicate_json_keys_are_rejected(tmp_path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"d": 1, "d": 2, "tasks": [{"weight": 1, "mean": 0, "cov": 1}]}')
    with pytest.raises(VerifyError, match="duplicate key 'd'"):
        load_mixture(path)


@pytest.mark.parametrize(("content", "message"), [
    (b'{"d": 1, "tasks": [\xff]}', "not UTF-8"),
    (b"[" * 100_000, "cannot parse"),
    (b'{"d": 1e999, "tasks": []}', "d: must be an integer"),
    (b'{"d": 1, "tasks": [{"weight": 1, "mean": NaN, "cov": 1}]}', "tasks[0].mean: contains NaN"),
])
def test_unreadable_files_give_one_line(tmp_path, content: bytes, message: str) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(content)
    with pytest.raises(VerifyError, match=re.escape(message)) as info:
        load_mixture(path)
    assert "\n" not in str(info.value) and "m.json" in str(info.value)


def test_directories_and_sizes_are_named(tmp_path) -> None:
    with pytest.raises(VerifyError, match="is a directory"):
        load_mixture(tmp_path)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"d": 10**9, "tasks": [{"weight": 1, "mean": 0, "cov": "identity"}]}))
    with pytest.raises(VerifyError, match="d: 1000000000 exceeds the size limit 16"):
        load_mixture(big)
    with pytest.raises(VerifyError, match="max_size: must be an integer >= 1"):
        load_mixture(big, max_size=0)


def test_size_limits_lift_with_max_size(tmp_path) -> None:
    path = tmp_path / "d17.json"
    path.write_text(json.dumps({"d": 17, "tasks": [{"weight": 1, "mean": 0, "cov": "identity"}]}))
    with pytest.raises(VerifyError, match="d: 17 exceeds the size limit 16"):
        load_mixture(path)
    assert load_mixture(path, max_size=17).d == 17


def test_weight_zero_task_has_no_zero_division() -> None:
    from theory.asymptotics import numeric_leading_term

    m = TaskMixture.from_dict({"d": 1, "tasks": [{"weight": 1.0, "mean": 0.0, "cov": 1.0},
                                                 {"weight": 0.0, "mean": 2.0, "cov": 1.0}]})
    fit = numeric_leading_term("ratio", m)
    assert fit.exponent is None and fit.stable
