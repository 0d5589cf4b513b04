"""Fuzzing the input contract: the mixture loader and the ``verify`` command line.

(a) Malformed mixture documents (random nesting, wrong types, bools, strings, NaN/inf, huge values, duplicate
    keys, bytes that are not UTF-8) give a TaskMixture or a one-line VerifyError, never another exception.
(b) Random argument lists built from the real flags with odd values give exit status 0, 1, 2 or 130; exit 2
    prints exactly one line on stderr starting ``verify: error:``; nothing prints a traceback. The long work
    (claim checks, expansions, figures) is replaced by stubs, so only the cheap validation paths run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from theory.errors import VerifyError
from theory.mixture import TaskMixture, load_mixture, parse_mixture_text

# ----- (a) the loader ---------------------------------------------------------------------------------------------
_LEAVES = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e200, -1e13, 1e12, 5e-324, 0.0])
           | st.text(max_size=6) | st.sampled_from(["identity", "2", "1.0", "NaN", "eye"]))
_VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.sampled_from(["d", "tasks", "weight", "mean", "cov", "diag", "sigma2",
                                                          "sigma_x", "x"]), inner, max_size=4), max_leaves=20)
_KEYS = ("d", "sigma_x", "sigma2", "tasks", "tasks.0.weight", "tasks.0.mean", "tasks.0.cov", "tasks.1.cov",
         "tasks.1.weight", "sigma_x.0", "tasks.0.mean.0", "tasks.0.cov.1.0")


def _valid() -> dict[str, Any]:
    return {"d": 2, "sigma_x": [[1.0, 0.2], [0.2, 0.5]], "sigma2": 0.25,
            "tasks": [{"weight": 0.3, "mean": [1.7, 1.7], "cov": [[1, 0], [0, 1]]},
                      {"weight": 0.7, "mean": [-1.3, -1.3], "cov": "identity"}]}


def _mutate(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target: Any = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
        if isinstance(target, str):
            return data
    last = keys[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return data


def _json_with_duplicates(pairs: list[tuple[str, Any]]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and abs(value) != float("inf") else ("nan" if value != value else
                                                                                ("inf" if value > 0 else "-inf"))
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


_DOCUMENTS = st.one_of(
    st.tuples(st.just(".json"), _VALUES.map(lambda v: json.dumps(v))),
    st.tuples(st.just(".json"), st.tuples(st.sampled_from(_KEYS), _VALUES).map(lambda kv: json.dumps(_mutate(_valid(), *kv)))),
    st.tuples(st.just(".json"), st.lists(st.tuples(st.sampled_from(["d", "tasks", "sigma2", "sigma_x"]), _LEAVES),
                                         min_size=1, max_size=5).map(_json_with_duplicates)),
    st.tuples(st.just(".json"), st.text(alphabet='{}[]":,0123456789.eE-+ ntrufalsNI', max_size=60)),
    st.tuples(st.just(".toml"), st.tuples(st.sampled_from(_KEYS), _VALUES).map(
        lambda kv: "\n".join(f"{k} = {_toml_value(v)}" for k, v in _mutate(_valid(), *kv).items()))),
    st.tuples(st.just(".toml"), st.text(max_size=60)),
    st.tuples(st.sampled_from([".json", ".toml", ".yaml"]), st.just("[" * 5000 + "]" * 5000)),
)


def _assert_contract(call: Any) -> None:
    try:
        result = call()
    except VerifyError as exc:
        message = str(exc)
        assert message and len(message.splitlines()) == 1, message
        return
    assert isinstance(result, TaskMixture)


@given(_DOCUMENTS)
def test_loader_gives_a_mixture_or_one_line_error(doc: tuple[str, str]) -> None:
    suffix, text = doc
    _assert_contract(lambda: parse_mixture_text(text, suffix, "fuzz" + suffix))


@given(st.binary(max_size=80), st.sampled_from([".json", ".toml"]))
def test_loader_reads_arbitrary_bytes_from_a_file(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"m{suffix}"
        path.write_bytes(data)
        _assert_contract(lambda: load_mixture(path))


def test_valid_document_still_loads() -> None:
    """The fuzz strategies start from this document: it must load, or every mutation test is vacuous."""
    assert parse_mixture_text(json.dumps(_valid()), ".json").K == 2


# ----- (b) the command line -----------------------------------------------------------------------------------------
_WORK = tempfile.mkdtemp(prefix="verify-fuzz-")
_BAD_MIXTURE = os.path.join(_WORK, "bad.json")
_LATIN1 = os.path.join(_WORK, "latin1.json")
_MARKUP = os.path.join(_WORK, "[bold]m[").rstrip("[") + ".json"
Path(_BAD_MIXTURE).write_text('{"d": 1, "d": 2, "tasks": []}', encoding="utf-8")
Path(_LATIN1).write_bytes(b'{"d": 1, "tasks": [{"weight": 1, "mean": [\xe9], "cov": 1}]}')
Path(_MARKUP).write_text(json.dumps({"d": 1, "tasks": [{"weight": 1.0, "mean": [0.5], "cov": [[1]]}]}), encoding="utf-8")

_INTS = st.sampled_from(["0", "1", "2", "4", "9", "-1", "+3", "1e3", "", "x", "99999999999999999999999", " 3", "\u0663",
                         "4294967295", "4294967296", "10000000", "10000001"])
_PATHS = st.sampled_from(["-", os.path.join(_WORK, "out.json"), "", "/", _WORK, os.path.join(_WORK, "no", "x.json"),
                          os.path.join(_WORK, "[/]x.json"), "/proc/verify.json", "a\nb.json"])
_VALUES_FOR = {
    "--theorem": _INTS, "--lemma": _INTS, "--proposition": _INTS, "--corollary": _INTS, "--seed": _INTS,
    "--order": _INTS, "--max-size": _INTS,
    "--claim": st.sampled_from(["L1", "T3.prompts", "C1.rate.ratio", "nope", "[/]", ""]),
    "--expand": st.sampled_from(["PT", "FT-JT", "ratio", "XX", ""]),
    "--mixture": st.sampled_from(["fig2a", "fig2c", "fig9z", _WORK, _BAD_MIXTURE, _LATIN1, _MARKUP, "", "[/]"]),
    "--n": st.sampled_from(["1", "1,10", "0", "1,1", "10000001", "a,b", ",", "1," * 30, "3"]),
    "--device": st.sampled_from(["cpu", "auto", "cuda", "cuda:999", "cuda:-1", "tpu", "", "CPU", "cuda:\u0661"]),
    "--json": _PATHS, "--plot": _PATHS, "--report": _PATHS,
    "--figure": st.sampled_from(["2a", "A1c", "9z", ""]),
    "--executor": st.sampled_from(["local", "ray", "spark", "", "RAY"]),
    "--address": st.sampled_from(["auto", "127.0.0.1:6379", "ray://head:10001", "", " ", "a b"]),
}
_SWITCHES = ["--all", "--list", "--quick", "--full", "--no-symbolic", "--no-progress", "--verbose", "--fail-on-refuted",
             "--latex", "--figures", "--no-training", "--version", "--help", "--bogus", "-x", "--theo"]
_ITEM = st.one_of(st.sampled_from(_SWITCHES).map(lambda s: [s]),
                  st.sampled_from(sorted(_VALUES_FOR)).flatmap(lambda f: _VALUES_FOR[f].map(lambda v: [f, v])),
                  st.sampled_from(sorted(_VALUES_FOR)).map(lambda f: [f]),
                  st.text(max_size=8).map(lambda t: [t]))
_ARGV = st.lists(_ITEM, max_size=6).map(lambda items: [a for item in items for a in item])


def _stubbed_main(argv: list[str]) -> tuple[int, str, str]:
    """``verify.cli.main(argv)`` with the long work replaced by stubs; returns (status, stdout, stderr)."""
    from verify import cli, figure_cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(cli, "_claims", lambda *a, **k: 0))
        stack.enter_context(mock.patch.object(cli, "_expand", lambda *a, **k: 0))
        stack.enter_context(mock.patch.object(figure_cli, "run_figures", lambda *a, **k: []))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


@given(_ARGV)
def test_command_line_contract(argv: list[str]) -> None:
    status, out, err = _stubbed_main(argv)
    assert status in (0, 1, 2, 130), (argv, status, err)
    assert "Traceback" not in err and "Traceback" not in out
    if status == 2:
        assert err.endswith("\n") and err.count("\n") == 1 and err.startswith("verify: error: "), (argv, err)


def test_the_stubs_leave_validation_in_place() -> None:
    """The fuzz test stubs the long work; make sure a stubbed run still rejects bad input and accepts good input."""
    assert _stubbed_main(["--theorem", "1", "--n", "0"])[0] == 2
    assert _stubbed_main(["--theorem", "1", "--mixture", _MARKUP, "--json", "-"])[0] == 0
    status, _, err = _stubbed_main(["--theorem", "1", "--mixture", _LATIN1])
    assert status == 2 and "not UTF-8" in err
