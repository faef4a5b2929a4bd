"""The shared battery of checks (``tests/checks.py``) on every stateful htmkit class.

Each test id is ``test_<check>[<class>]`` (bad parameters and inputs add the case:
``[<class>-<param>=<value>]``). Known failures are strict xfails declared in the class's
:class:`~checks.ClassSpec` (``xfail``), so they flip to errors once fixed and the marker can go.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from checks import (
    API_CONVENTION_LANDED,
    PENDING,
    SPECS,
    ClassSpec,
    case_id,
    check_bad_input,
    check_bad_param,
    check_compute_returns_sdr,
    check_compute_signature,
    check_different_seed_differs,
    check_learn_false_keeps_learned_state,
    check_property_output_shape,
    check_regions_return_sdr,
    check_same_seed_same_output,
    check_save_load_fresh,
    check_save_load_mid_stream,
)


def _matches(key: str, pattern: str) -> bool:
    """``key`` matches ``pattern``, where ``*`` is the only wildcard (brackets are literal)."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), key) is not None


def _param(spec: ClassSpec, check: str, *values: Any, case: str | None = None) -> Any:
    """One parametrization, marked xfail when the spec declares this check (or this case of
    it) as failing today."""
    key = check if case is None else f"{check}[{case}]"
    reason = next((r for pat, r in spec.xfail.items() if _matches(key, pat)), None)
    if reason == PENDING and API_CONVENTION_LANDED:
        reason = None
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    ident = spec.name if case is None else f"{spec.name}-{case}"
    return pytest.param(spec, *values, marks=marks, id=ident)


def _specs(check: str, when: Any = None) -> list[Any]:
    return [_param(s, check) for s in SPECS if when is None or when(s)]


@pytest.mark.parametrize("spec", _specs("save_load_fresh"))
def test_save_load_fresh(spec, tmp_path):
    check_save_load_fresh(spec, tmp_path)


@pytest.mark.parametrize("spec", _specs("save_load_mid_stream", lambda s: s.stateful))
def test_save_load_mid_stream(spec, tmp_path):
    check_save_load_mid_stream(spec, tmp_path)


@pytest.mark.parametrize("spec", _specs("same_seed_same_output"))
def test_same_seed_same_output(spec):
    check_same_seed_same_output(spec)


@pytest.mark.parametrize("spec", _specs("different_seed_differs", lambda s: s.stochastic))
def test_different_seed_differs(spec):
    check_different_seed_differs(spec)


@pytest.mark.parametrize("spec, key, value", [
    _param(s, "bad_param", k, v, case=case_id(k, v)) for s in SPECS
    for k, v in s.all_bad_params()])
def test_bad_param(spec, key, value):
    check_bad_param(spec, key, value)


@pytest.mark.parametrize("spec, x", [
    _param(s, "bad_input", x, case=cid) for s in SPECS for cid, x in s.bad_inputs])
def test_bad_input(spec, x):
    check_bad_input(spec, x)


@pytest.mark.parametrize("spec", _specs("compute_signature", lambda s: s.output_shape
                                        is not None and s.has_learn))
def test_compute_signature(spec):
    check_compute_signature(spec)


@pytest.mark.parametrize("spec", _specs("compute_returns_sdr", lambda s: s.output_shape
                                        is not None and s.has_learn))
def test_compute_returns_sdr(spec):
    check_compute_returns_sdr(spec)


@pytest.mark.parametrize("spec", _specs("regions_return_sdr", lambda s: s.name == "Network"))
def test_network_regions_return_sdr(spec):
    check_regions_return_sdr(spec)


@pytest.mark.parametrize("spec", _specs("learn_false", lambda s: s.has_learn and s.stateful))
def test_learn_false_keeps_learned_state(spec):
    check_learn_false_keeps_learned_state(spec)


@pytest.mark.parametrize("spec", _specs("property", lambda s: s.prop_input is not None))
def test_property_output_shape(spec):
    check_property_output_shape(spec)


def test_registry_names_are_unique():
    names = [s.name for s in SPECS]
    assert len(names) == len(set(names))
