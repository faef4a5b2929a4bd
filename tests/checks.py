"""A shared battery of behaviour checks for every stateful htmkit class.

In the spirit of scikit-learn's estimator checks: each class is described once by a
:class:`ClassSpec` (how to build it from a seed, how to make one input, how to feed it), and
the same ``check_*`` functions run on every spec (``tests/test_checks.py`` parametrizes them
over :data:`SPECS`). A new class is one new entry in :data:`SPECS`.

The checks state the project's convention: ``compute(input, learn=True) -> SDR`` for the SP,
the TMs, the temporal pooler and every network region; every user error an
:class:`~htmkit.errors.HTMKitError` whose message names the parameter or field; a file
round-trip that changes nothing; the same seed giving the same stream of outputs.

All sizes are tiny so the whole battery runs in seconds.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import fnmatch
import inspect
import math
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from htmkit.errors import HTMKitError, InputError
from htmkit.sdr import SDR

#: Reason given to checks that fail today only because the API convention of issue #14 (part 3)
#: has not landed yet; the marker flips (strict xfail) once it does.
PENDING = "API convention (#14.3) pending"

#: Set to True once the API convention has landed: every xfail whose reason is PENDING is then
#: dropped (checked against the ``api`` branch at dce7722/3a8726b: exactly those flip).
API_CONVENTION_LANDED = True

#: Reason prefix of checks that fail today because of a bug found by the battery (see the
#: reason text); fixing it flips the strict xfail.
BUG = "bug: "

#: How many inputs are fed before a mid-stream save, and after it.
K_BEFORE = 6
K_AFTER = 4


# ============================================================================ helpers
def flatten_state(obj: Any, prefix: str = "") -> dict[str, Any]:
    """A nested ``get_state()`` dict as ``{"a/b/c": leaf}`` (lists index as ``a/0``)."""
    out: dict[str, Any] = {}
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            out.update(flatten_state(v, f"{prefix}/{k}" if prefix else str(k)))
    elif isinstance(obj, (list, tuple)):
        if not obj:
            out[prefix] = ()
        for i, v in enumerate(obj):
            out.update(flatten_state(v, f"{prefix}/{i}" if prefix else str(i)))
    else:
        out[prefix] = obj
    return out


def _same_leaf(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(type(a) is type(b) and a == b) or (
        isinstance(a, (int, float)) and isinstance(b, (int, float))
        and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def state_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Paths where two flattened states differ (missing keys, dtype, shape or value)."""
    diffs = [f"{k} (only in one)" for k in sorted(set(a) ^ set(b))]
    diffs += [k for k in sorted(set(a) & set(b)) if not _same_leaf(a[k], b[k])]
    return diffs


def assert_same_state(a: Any, b: Any, what: str = "state") -> None:
    """``a.get_state()`` and ``b.get_state()`` are equal leaf by leaf (arrays: dtype, shape and
    bits; NaN equals NaN)."""
    diffs = state_differences(flatten_state(a.get_state()), flatten_state(b.get_state()))
    assert not diffs, f"{what} differs at {diffs[:10]}"


def to_plain(x: Any) -> Any:
    """An output as nested plain values that compare exactly (SDRs as shape + indices,
    dataclasses as dicts, arrays as ``(dtype, shape, bytes)``)."""
    if isinstance(x, SDR):
        return ("SDR", x.shape, tuple(int(i) for i in x.indices))
    if isinstance(x, np.ndarray):
        return ("array", str(x.dtype), x.shape, x.tobytes())
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return to_plain({f.name: getattr(x, f.name) for f in dataclasses.fields(x)})
    if isinstance(x, Mapping):
        return {k: to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return "nan" if math.isnan(f) else f
    if isinstance(x, np.integer):
        return int(x)
    return x


def random_sdr(rng: np.random.Generator, shape: int | tuple[int, ...], sparsity: float) -> SDR:
    """An SDR of ``shape`` with ``round(size * sparsity)`` random active bits."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    size = math.prod(dims)
    n = max(1, round(size * sparsity))
    return SDR(dims, np.sort(rng.choice(size, size=n, replace=False)))


# ============================================================================ the spec
@dataclass(frozen=True)
class ClassSpec:
    """How the checks build, feed and inspect one class.

    Attributes
    ----------
    name : str
        Test id.
    factory : callable ``(seed, overrides) -> object``
        A small instance; ``overrides`` (a dict, possibly empty) replaces parameters, keyed
        like :attr:`bad_params`.
    make_input : callable ``(rng) -> input``
        One valid input drawn from a ``numpy.random.Generator``.
    step : callable ``(obj, input, learn) -> output``, optional
        Feeds one input with the class's streaming verb and returns what it returns (default
        ``obj.compute(input, learn=learn)``). ``learn`` is ignored by classes without one.
    compute : callable ``(obj, input, learn) -> output``, optional
        The convention call ``obj.compute(input, learn)`` (positional ``learn``), for classes
        that should follow ``compute(input, learn=True) -> SDR``; extra context (external
        inputs) may be passed by the spec.
    output_shape : callable ``(obj) -> tuple``, optional
        The declared shape of ``compute``'s SDR.
    stateful : bool
        ``False`` for pure functions of their parameters (most encoders): only the
        parameter, input, round-trip and seed checks apply.
    stochastic : bool
        Whether the seed changes the object (checked: a different seed gives another state
        or other outputs).
    has_learn : bool
        Whether the streaming verb takes ``learn``.
    learned : tuple of str
        ``fnmatch`` patterns over the flattened ``get_state()`` paths that are learned state
        (``learn=False`` must leave them unchanged); the rest is per-step activity, counters
        and stream history.
    params_class : type, optional
        Parameter dataclass whose fields generate bad values (see :func:`generated_bad_params`).
    param_prefix : str
        Prefix of generated override keys (e.g. ``"sp."`` for a section of a model config).
    skip_generated : tuple of str
        Generated ``"name=value"`` cases to drop because the value is in fact valid for that
        parameter (each drop is a decision stated in the spec).
    bad_params : dict
        Explicit bad values: override key -> list of values. The name the error message must
        contain is the key's last ``.``-separated part.
    bad_inputs : list of (id, input)
        Inputs of the wrong shape or type; each must raise an :class:`InputError`.
    prop_input : callable ``() -> hypothesis strategy``, optional
        Strategy of valid inputs for the hypothesis property (output of the declared shape).
    prop_check : callable ``(obj, input, output) -> None``, optional
        Extra assertions of the property.
    xfail : dict
        ``check name`` (or ``check name[case id]``; ``*`` matches anything) -> reason, for
        checks known to fail today (strict xfails). Check names: ``save_load_fresh``,
        ``save_load_mid_stream``, ``same_seed_same_output``, ``different_seed_differs``,
        ``bad_param[<key>=<value>]``, ``bad_input[<id>]``, ``compute_signature``,
        ``compute_returns_sdr``, ``regions_return_sdr``, ``learn_false``, ``property``.
    """

    name: str
    factory: Callable[[int, dict[str, Any]], Any]
    make_input: Callable[[np.random.Generator], Any]
    step: Callable[[Any, Any, bool], Any] | None = None
    compute: Callable[[Any, Any, bool], Any] | None = None
    output_shape: Callable[[Any], tuple[int, ...]] | None = None
    stateful: bool = True
    stochastic: bool = True
    has_learn: bool = True
    learned: tuple[str, ...] = ()
    params_class: type | None = None
    param_prefix: str = ""
    skip_generated: tuple[str, ...] = ()
    bad_params: dict[str, list[Any]] = field(default_factory=dict)
    bad_inputs: list[tuple[str, Any]] = field(default_factory=list)
    prop_input: Callable[[], Any] | None = None
    prop_check: Callable[[Any, Any, Any], None] | None = None
    xfail: dict[str, str] = field(default_factory=dict)

    def build(self, seed: int = 1, overrides: dict[str, Any] | None = None) -> Any:
        return self.factory(seed, dict(overrides or {}))

    def feed(self, obj: Any, x: Any, learn: bool = True) -> Any:
        if self.step is not None:
            return self.step(obj, x, learn)
        return obj.compute(x, learn=learn)

    def call_compute(self, obj: Any, x: Any, learn: bool) -> Any:
        if self.compute is not None:
            return self.compute(obj, x, learn)
        return obj.compute(x, learn)

    def inputs(self, n: int, seed: int = 0) -> list[Any]:
        rng = np.random.default_rng(seed)
        return [self.make_input(rng) for _ in range(n)]

    def all_bad_params(self) -> list[tuple[str, Any]]:
        """Generated and explicit (override key, bad value) cases."""
        cases = [] if self.params_class is None else generated_bad_params(
            self.params_class, self.param_prefix)
        cases = [c for c in cases if case_id(*c) not in self.skip_generated]
        explicit = [(k, v) for k, vs in self.bad_params.items() for v in vs]
        seen = {case_id(*c) for c in cases}
        return cases + [c for c in explicit if case_id(*c) not in seen]


def case_id(key: str, value: Any) -> str:
    """A short test id for a bad parameter value."""
    text = repr(value)
    text = re.sub(r"[^0-9A-Za-z_.+\-(),\[\]']", "", text)[:24]
    return f"{key}={text}"


# ============================================================================ bad values
_PROBABILITY = re.compile(r"(pct|perm|permanence|sparsity|density|fraction|alpha)")


def generated_bad_params(params_class: type, prefix: str = "") -> list[tuple[str, Any]]:
    """Bad values for each field of a parameter dataclass, from its annotation:

    * every field: a value of the wrong type (a string for numbers, shapes and flags; a
      number for strings);
    * ``int`` fields: ``-1`` (sizes, counts, seeds and thresholds are never negative);
    * shape fields (``tuple[int, ...]``): ``()`` and ``(0,)``;
    * ``float`` fields named like a probability or a permanence: ``-0.5`` and ``1.5``;
    * nested parameter dataclasses (sections): their fields, keyed ``section.field``.
    """
    cases: list[tuple[str, Any]] = []
    hints = typing.get_type_hints(params_class)
    for f in dataclasses.fields(params_class):
        if not f.init:
            continue
        ann = str(f.type).replace(" ", "")
        key = prefix + f.name
        section = hints.get(f.name)
        if isinstance(section, type) and dataclasses.is_dataclass(section):
            # a nested section: its own fields, as "section.field" overrides
            cases += generated_bad_params(section, key + ".")
            continue
        if ann.startswith("tuple[int,") or ann.startswith("tuple[int]"):
            cases += [(key, "bad"), (key, ()), (key, (0,))]
        elif ann.startswith("int"):
            cases += [(key, "bad"), (key, -1)]
        elif ann.startswith("float"):
            cases.append((key, "bad"))
            if _PROBABILITY.search(f.name):
                cases += [(key, -0.5), (key, 1.5)]
        elif ann == "bool":
            cases.append((key, "yes"))
        elif ann == "str":
            cases += [(key, 3), (key, "no-such-option")]
    return cases


# ============================================================================ checks
def check_save_load_mid_stream(spec: ClassSpec, tmp_path: Path) -> None:
    """(a) Feed k inputs, save, load; then the same next inputs give the same outputs and the
    same full state, step by step; the loaded object saves to the same state again."""
    xs = spec.inputs(K_BEFORE + K_AFTER, seed=11)
    obj = spec.build(seed=3)
    for x in xs[:K_BEFORE]:
        spec.feed(obj, x, True)
    path = obj.save(tmp_path / "mid.htm")
    back = type(obj).load(path)
    assert type(back) is type(obj)
    assert_same_state(obj, back, "state right after load")
    again = type(obj).load(back.save(tmp_path / "again.htm"))
    assert_same_state(back, again, "state of a loaded object saved and loaded again")
    for i, x in enumerate(xs[K_BEFORE:]):
        out_a = to_plain(spec.feed(obj, x, True))
        out_b = to_plain(spec.feed(back, x, True))
        assert out_a == out_b, f"outputs differ at step {K_BEFORE + i}"
        assert_same_state(obj, back, f"state after step {K_BEFORE + i}")


def check_save_load_fresh(spec: ClassSpec, tmp_path: Path) -> None:
    """(a) A fresh object round-trips through a file to the same state and the same outputs."""
    obj = spec.build(seed=4)
    back = type(obj).load(obj.save(tmp_path / "fresh.htm"))
    assert_same_state(obj, back, "fresh state after load")
    for x in spec.inputs(3, seed=12):
        assert to_plain(spec.feed(obj, x, True)) == to_plain(spec.feed(back, x, True))
    assert_same_state(obj, back, "state after 3 steps")


def check_same_seed_same_output(spec: ClassSpec) -> None:
    """(b) Two objects built with the same seed give the same outputs and state."""
    a, b = spec.build(seed=5), spec.build(seed=5)
    assert_same_state(a, b, "fresh state")
    for i, x in enumerate(spec.inputs(K_BEFORE, seed=13)):
        assert to_plain(spec.feed(a, x, True)) == to_plain(spec.feed(b, x, True)), i
    assert_same_state(a, b, "state after the stream")


def check_different_seed_differs(spec: ClassSpec) -> None:
    """(b) A stochastic class built with another seed ends in another state (or gives other
    outputs) on the same stream."""
    a, b = spec.build(seed=5), spec.build(seed=6)
    outs_a, outs_b = [], []
    for x in spec.inputs(K_BEFORE, seed=13):
        outs_a.append(to_plain(spec.feed(a, x, True)))
        outs_b.append(to_plain(spec.feed(b, x, True)))
    diffs = state_differences(flatten_state(a.get_state()), flatten_state(b.get_state()))
    diffs = [d for d in diffs if "seed" not in d.rsplit("/", 1)[-1]]
    assert diffs or outs_a != outs_b, "seed 5 and seed 6 give the same state and outputs"


def check_bad_param(spec: ClassSpec, key: str, value: Any) -> None:
    """(c) A bad parameter raises an HTMKitError whose message names the parameter."""
    name = key.rsplit(".", 1)[-1]
    try:
        spec.build(1, {key: value})
    except HTMKitError as exc:
        assert name in str(exc), f"{type(exc).__name__} does not name {name!r}: {exc}"
    except Exception as exc:  # noqa: BLE001 - the point is to report what else came out
        raise AssertionError(f"{key}={value!r} raised {type(exc).__name__} (not an "
                             f"HTMKitError): {exc}") from exc
    else:
        raise AssertionError(f"{key}={value!r} was accepted")


def check_bad_input(spec: ClassSpec, x: Any) -> None:
    """(d) A wrong input raises an InputError with a clear message (not an error from deep
    inside numpy or numba), and changes no state."""
    obj = spec.build(seed=1)
    for good in spec.inputs(2, seed=14):
        spec.feed(obj, good, True)
    before = flatten_state(obj.get_state())
    try:
        spec.feed(obj, x, True)
    except InputError as exc:
        msg = str(exc)
        assert len(msg) >= 10 and "\n" not in msg.strip(), f"unclear message: {msg!r}"
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"raised {type(exc).__name__} (not an InputError): {exc}") from exc
    else:
        raise AssertionError("a wrong input was accepted")
    diffs = state_differences(before, flatten_state(obj.get_state()))
    assert not diffs, f"a rejected input changed the state at {diffs[:10]}"


def check_compute_signature(spec: ClassSpec) -> None:
    """(e) ``compute(input, learn=True)``: one input, then ``learn`` defaulting to True."""
    obj = spec.build(seed=1)
    params = list(inspect.signature(obj.compute).parameters.values())
    assert len(params) >= 2, params
    assert params[1].name == "learn" and params[1].default is True, (
        f"second parameter of compute is {params[1]}, not learn=True")


def check_compute_returns_sdr(spec: ClassSpec) -> None:
    """(e) ``compute(input, learn)`` returns an SDR of the declared shape, learning or not."""
    obj = spec.build(seed=1)
    assert spec.output_shape is not None
    for i, x in enumerate(spec.inputs(4, seed=15)):
        out = spec.call_compute(obj, x, i % 2 == 0)
        assert isinstance(out, SDR), f"compute returned {type(out).__name__}, not an SDR"
        assert out.shape == tuple(spec.output_shape(obj)), (out.shape, spec.output_shape(obj))


def check_regions_return_sdr(spec: ClassSpec) -> None:
    """(e) In a network, every region's ``compute(inputs, learn)`` returns an SDR of the
    region's declared ``output_shape``, learning or not: ``run`` returns, per region, what
    that region's ``compute`` returned."""
    net = spec.build(seed=1)
    for i, x in enumerate(spec.inputs(4, seed=17)):
        result = spec.feed(net, x, i % 2 == 0)
        assert set(result) == set(net), sorted(result)
        for nm, out in result.items():
            assert isinstance(out, SDR), f"region {nm!r} gave {type(out).__name__}"
            assert out.shape == tuple(net[nm].output_shape), (nm, out.shape)


def learned_part(spec: ClassSpec, obj: Any) -> dict[str, Any]:
    """The learned-state leaves of ``obj.get_state()`` (see :attr:`ClassSpec.learned`)."""
    flat = flatten_state(obj.get_state())
    out = {k: v for k, v in flat.items()
           if any(fnmatch.fnmatchcase(k, pat) for pat in spec.learned)}
    assert out, f"no state path matches {spec.learned}: {sorted(flat)[:20]}"
    return out


def check_learn_false_keeps_learned_state(spec: ClassSpec) -> None:
    """(e) ``learn=False`` leaves the learned state unchanged (after some learning, so there
    is something to change)."""
    obj = spec.build(seed=2)
    xs = spec.inputs(K_BEFORE + K_AFTER, seed=16)
    for x in xs[:K_BEFORE]:
        spec.feed(obj, x, True)
    before = learned_part(spec, obj)
    for x in xs[K_BEFORE:]:
        spec.feed(obj, x, False)
    diffs = state_differences(before, learned_part(spec, obj))
    assert not diffs, f"learn=False changed learned state at {diffs[:10]}"
    # and the learning steps before did change it (the check is not vacuous)
    fresh = learned_part(spec, spec.build(seed=2))
    assert state_differences(fresh, before), "learning changed none of the learned state"


def check_property_output_shape(spec: ClassSpec) -> None:
    """(f) Any valid input gives an output of the declared shape (hypothesis)."""
    from hypothesis import HealthCheck, given, settings

    assert spec.prop_input is not None
    obj = spec.build(seed=1)

    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(spec.prop_input())
    def prop(x: Any) -> None:
        out = spec.feed(obj, x, True)
        if spec.output_shape is not None and isinstance(out, SDR):
            assert out.shape == tuple(spec.output_shape(obj))
        if spec.prop_check is not None:
            spec.prop_check(obj, x, out)

    prop()


# ============================================================================ the registry
def _sdr_strategy(shape: tuple[int, ...], max_active: int) -> Callable[[], Any]:
    def strategy() -> Any:
        from hypothesis import strategies as st

        size = math.prod(shape)
        return st.sets(st.integers(0, size - 1), max_size=max_active).map(
            lambda s: SDR(shape, sorted(s)))
    return strategy


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with dotted override keys (``"sp.potential_pct"``) set in nested dicts."""
    import copy

    out = copy.deepcopy(base)
    for key, value in overrides.items():
        d = out
        *path, last = key.split(".")
        for part in path:
            d = d.setdefault(part, {})
        d[last] = value
    return out


# ---------------------------------------------------------------- spatial pooler
SP_INPUT = 100
#: Column dimensions too large for the memory limit (#18 bounded parameters): refused before
#: anything is allocated, with a ParameterError naming column_dimensions.
HUGE_COLUMNS = (10**9,)
SP_COLUMNS = 128


def _sp(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.spatial_pooler import SpatialPooler

    kw = dict(input_dimensions=(SP_INPUT,), column_dimensions=(SP_COLUMNS,), potential_radius=
              SP_INPUT, potential_pct=0.5, global_inhibition=True,
              num_active_columns_per_inh_area=6, syn_perm_active_inc=0.05,
              syn_perm_inactive_dec=0.01, boost_strength=1.0, duty_cycle_period=20, seed=seed)
    return SpatialPooler(**{**kw, **o})


def _sp_check(sp: Any, x: SDR, out: SDR) -> None:
    """At most ``num_active_columns_per_inh_area`` columns win (fewer when ties at zero
    overlap are left out)."""
    assert out.num_active <= 6, out


def _sp_spec() -> ClassSpec:
    from htmkit.spatial_pooler import SpatialPoolerParams

    return ClassSpec(
        name="SpatialPooler",
        factory=_sp,
        make_input=lambda rng: random_sdr(rng, SP_INPUT, 0.1),
        output_shape=lambda sp: tuple(sp.column_dimensions),
        learned=("synapses/*", "boost_factors", "*duty_cycles", "iteration_learn",
                 "inhibition_radius"),
        params_class=SpatialPoolerParams,
        bad_params={"input_dimensions": [(0,), (-5,), "bad"],
                    "num_active_columns_per_inh_area": [0, SP_COLUMNS + 1],
                    "column_dimensions": [HUGE_COLUMNS]},
        bad_inputs=[("size", SDR(SP_INPUT + 1, [0])), ("list", [1, 2, 3]),
                    ("none", None), ("dense-2d", np.zeros((3, 3)))],
        prop_input=_sdr_strategy((SP_INPUT,), 30),
        prop_check=_sp_check,
    )


# ---------------------------------------------------------------- temporal memory
TM_COLUMNS = 64
TM_CELLS = 4
TM_BASAL = 40
TM_APICAL = 30


def _tm_kwargs(seed: int) -> dict[str, Any]:
    return dict(column_dimensions=(TM_COLUMNS,), cells_per_column=TM_CELLS,
                activation_threshold=3, min_threshold=2, max_new_synapse_count=6,
                initial_permanence=0.4, connected_permanence=0.5, permanence_increment=0.1,
                permanence_decrement=0.05, predicted_segment_decrement=0.01,
                max_segments_per_cell=8, max_synapses_per_segment=16, seed=seed)


def _tm(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.temporal_memory import TemporalMemory

    return TemporalMemory(**{**_tm_kwargs(seed), **o})


def _tm_ext(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.temporal_memory import TemporalMemory

    return TemporalMemory(**{**_tm_kwargs(seed), "external_basal_size": TM_BASAL,
                             "external_apical_size": TM_APICAL, **o})


def _seq_columns(rng: np.random.Generator) -> SDR:
    """Columns of a short repeating sequence (so the TM predicts and learns) with noise."""
    base = int(rng.integers(0, 4))
    cols = np.arange(base * 8, base * 8 + 6) % TM_COLUMNS
    extra = rng.choice(TM_COLUMNS, size=2, replace=False)
    return SDR(TM_COLUMNS, np.unique(np.concatenate([cols, extra])))


def _tm_step(tm: Any, x: Any, learn: bool) -> Any:
    out = tm.compute(x, learn=learn)
    return out if out is not None else ("cells", tm.active_cells, tm.predictive_cells,
                                        tm.anomaly)


def _tm_ext_input(rng: np.random.Generator) -> tuple[SDR, SDR, SDR]:
    return (_seq_columns(rng), random_sdr(rng, TM_BASAL, 0.15), random_sdr(rng, TM_APICAL, 0.15))


def _tm_ext_step(tm: Any, x: Any, learn: bool) -> Any:
    cols, basal, apical = x
    out = tm.compute(cols, learn=learn, external_basal=basal, external_apical=apical)
    return out if out is not None else ("cells", tm.active_cells, tm.predictive_cells,
                                        tm.anomaly)


_TM_BAD_INPUTS = [("size", SDR(TM_COLUMNS + 1, [0])), ("list", [1, 2, 3]), ("none", None),
                  ("array", np.array([1, 2, 3]))]


def _tm_spec() -> ClassSpec:
    from htmkit.temporal_memory import TemporalMemoryParams

    return ClassSpec(
        name="TemporalMemory",
        factory=_tm,
        make_input=_seq_columns,
        step=_tm_step,
        output_shape=lambda tm: tuple(tm.active_cells.shape),
        # learned: the synapse stores. Not learned: cell and segment activity, counters, and
        # the RNG (a bursting column draws its winner cell with learn=False too, as NuPIC)
        learned=("basal/*", "apical/*"),
        params_class=TemporalMemoryParams,
        bad_params={"column_dimensions": [(-4,), HUGE_COLUMNS], "cells_per_column": [0],
                    "initial_permanence": [0.0]},
        bad_inputs=_TM_BAD_INPUTS,
        prop_input=_sdr_strategy((TM_COLUMNS,), 16),
        xfail={"compute_returns_sdr": PENDING, "bad_input[list]": PENDING,
               "bad_input[none]": PENDING, "bad_input[array]": PENDING},
    )


def _tm_ext_spec() -> ClassSpec:
    def ext_compute(tm: Any, x: Any, learn: bool) -> Any:
        cols, basal, apical = x
        return tm.compute(cols, learn, external_basal=basal, external_apical=apical)

    return ClassSpec(
        name="TemporalMemory-external",
        factory=_tm_ext,
        make_input=_tm_ext_input,
        step=_tm_ext_step,
        compute=ext_compute,
        output_shape=lambda tm: tuple(tm.active_cells.shape),
        learned=("basal/*", "apical/*"),
        bad_params={"external_basal_size": [-1, "bad"], "external_apical_size": [-2, 1.5]},
        bad_inputs=[
            ("basal-size", (SDR(TM_COLUMNS, [1]), SDR(TM_BASAL + 1, [0]), SDR(TM_APICAL, [0]))),
            ("apical-size", (SDR(TM_COLUMNS, [1]), SDR(TM_BASAL, [0]), SDR(TM_APICAL - 1, [0]))),
            ("basal-type", (SDR(TM_COLUMNS, [1]), [0, 1], SDR(TM_APICAL, [0]))),
        ],
        xfail={"compute_returns_sdr": PENDING, "bad_input[basal-type]": PENDING},
    )


# ---------------------------------------------------------------- backtracking TM
def _btm(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.backtracking_tm import BacktrackingTemporalMemory

    kw = dict(column_dimensions=(TM_COLUMNS,), cells_per_column=TM_CELLS,
              activation_threshold=3, min_threshold=2, max_new_synapse_count=6,
              initial_permanence=0.4, connected_permanence=0.5, max_segments_per_cell=8,
              max_synapses_per_segment=12, pam_length=2, max_inf_backtrack=4,
              max_lrn_backtrack=3, max_seq_length=8, seed=seed)
    return BacktrackingTemporalMemory(**{**kw, **o})


def _btm_step(tm: Any, x: Any, learn: bool) -> Any:
    out = tm.compute(x, learn=learn)
    return out if out is not None else ("cells", tm.active_cells, tm.predictive_cells,
                                        tm.anomaly)


def _btm_spec() -> ClassSpec:
    from htmkit.backtracking_tm import BacktrackingTemporalMemoryParams

    return ClassSpec(
        name="BacktrackingTemporalMemory",
        factory=_btm,
        make_input=_seq_columns,
        step=_btm_step,
        output_shape=lambda tm: tuple(tm.active_cells.shape),
        learned=("arrays/seg_*", "arrays/syn_*", "arrays/cell_segs", "arrays/cs_*"),
        params_class=BacktrackingTemporalMemoryParams,
        bad_params={"column_dimensions": [(-4,), HUGE_COLUMNS], "cells_per_column": [0]},
        bad_inputs=_TM_BAD_INPUTS,
        prop_input=_sdr_strategy((TM_COLUMNS,), 16),
        xfail={"compute_returns_sdr": PENDING, "bad_input[list]": PENDING,
               "bad_input[none]": PENDING, "bad_input[array]": PENDING},
    )


# ---------------------------------------------------------------- temporal pooler
TP_INPUT = 256
TP_COLUMNS = 128


def _tp(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.temporal_pooler import TemporalPooler

    kw = dict(input_size=TP_INPUT, column_dimensions=(TP_COLUMNS,), active_sparsity=0.1,
              winner_sparsity=0.05, potential_pct=0.3, max_new_synapses=4,
              duty_cycle_period=20, history_length=3, seed=seed)
    return TemporalPooler(**{**kw, **o})


def _tp_spec() -> ClassSpec:
    from htmkit.temporal_pooler import TemporalPoolerParams

    return ClassSpec(
        name="TemporalPooler",
        factory=_tp,
        make_input=lambda rng: random_sdr(rng, TP_INPUT, 0.05),
        step=lambda tp, x, learn: tp.compute(x, learn=learn),
        output_shape=lambda tp: tuple(tp.column_dimensions),
        learned=("store/*", "duty_cycles", "boost"),
        params_class=TemporalPoolerParams,
        bad_params={"input_size": [0], "column_dimensions": [(-3,), HUGE_COLUMNS]},
        bad_inputs=[("size", SDR(TP_INPUT - 1, [0])), ("list", [1, 2]), ("none", None)],
        prop_input=_sdr_strategy((TP_INPUT,), 40),
        xfail={"compute_signature": PENDING, "compute_returns_sdr": PENDING,
               "bad_input[list]": PENDING, "bad_input[none]": PENDING},
    )


# ---------------------------------------------------------------- predictor
PRED_INPUT = 64


def _predictor(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.predictor import Predictor

    kw: dict[str, Any] = dict(steps=(0, 1), alpha=0.3, max_classes=5, input_size=PRED_INPUT)
    return Predictor(**{**kw, **o})


def _pred_input(rng: np.random.Generator) -> tuple[SDR, int]:
    label = int(rng.integers(0, 5))
    bits = np.arange(label * 10, label * 10 + 8)
    return SDR(PRED_INPUT, bits), label


def _pred_step(p: Any, x: Any, learn: bool) -> Any:
    pattern, label = x
    if learn:
        p.learn(pattern, label)
    return p.infer(pattern)


def _pred_strategy() -> Any:
    from hypothesis import strategies as st

    return st.tuples(_sdr_strategy((PRED_INPUT,), 20)(), st.integers(0, 4))


def _pred_check(p: Any, x: Any, out: Any) -> None:
    assert sorted(out) == [0, 1], sorted(out)
    for probs in out.values():
        assert probs.ndim == 1 and np.all(probs >= 0), probs
        assert abs(float(probs.sum()) - 1.0) < 1e-6, probs


def _likelihood_check(al: Any, x: Any, out: Any) -> None:
    assert isinstance(out, float) and 0.0 <= out <= 1.0, out


def _likelihood_strategy() -> Any:
    from hypothesis import strategies as st

    return st.tuples(st.floats(0.0, 1.0), st.floats(-1e9, 1e9))


def _predictor_spec() -> ClassSpec:
    from htmkit.predictor import PredictorParams

    return ClassSpec(
        name="Predictor",
        factory=_predictor,
        make_input=_pred_input,
        step=_pred_step,
        stochastic=False,
        learned=("weights*", "n_classes"),
        params_class=PredictorParams,
        skip_generated=("steps=(0,)",),  # a shape-like field, but step 0 is valid
        bad_params={"steps": [(), (1, 1), (-1,), "bad"], "alpha": [0.0, 2.0]},
        bad_inputs=[("size", (SDR(PRED_INPUT + 1, [0]), 1)),
                    ("label-neg", (SDR(PRED_INPUT, [0]), -1)),
                    ("label-big", (SDR(PRED_INPUT, [0]), 5)),
                    ("label-str", (SDR(PRED_INPUT, [0]), "a")),
                    ("pattern-list", ([0, 1], 1))],
        prop_input=_pred_strategy,
        prop_check=_pred_check,
        xfail={"bad_input[pattern-list]": PENDING},
    )


# ---------------------------------------------------------------- anomaly likelihood
def _likelihood(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.anomaly import AnomalyLikelihood

    kw = dict(learning_period=3, estimation_samples=4, historic_window_size=20,
              reestimation_period=3, averaging_window=2)
    return AnomalyLikelihood(**{**kw, **o})


def _likelihood_spec() -> ClassSpec:
    from htmkit.anomaly import AnomalyLikelihoodParams

    return ClassSpec(
        name="AnomalyLikelihood",
        factory=_likelihood,
        make_input=lambda rng: (float(rng.random() ** 3), float(rng.normal())),
        step=lambda al, x, learn: al.update(x[0], x[1]),
        stochastic=False,
        has_learn=False,
        params_class=AnomalyLikelihoodParams,
        bad_params={"learning_period": [-3], "estimation_samples": [0],
                    "historic_window_size": [2, 10**12]},
        bad_inputs=[("score-str", ("x", 1.0)), ("score-big", (1.5, 1.0)),
                    ("score-nan", (math.nan, 1.0))],
        prop_input=_likelihood_strategy,
        prop_check=_likelihood_check,
    )


# ---------------------------------------------------------------- HTM model
MODEL_CONFIG: dict[str, Any] = {
    "value": {"encoder": {"size": 120, "active_bits": 9, "minimum": 0.0, "maximum": 10.0}},
    "timestamp": {"encoder": {"time_of_day_width": 9, "time_of_day_radius": 4.0}},
    "sp": {"column_dimensions": [128], "num_active_columns_per_inh_area": 6,
           "syn_perm_active_inc": 0.05, "syn_perm_inactive_dec": 0.01},
    "tm": {"cells_per_column": 4, "activation_threshold": 3, "min_threshold": 2,
           "max_new_synapse_count": 6, "max_segments_per_cell": 8,
           "max_synapses_per_segment": 16},
    "predictor": {"steps": [1], "alpha": 0.2},
    "likelihood": {"learning_period": 3, "estimation_samples": 4, "historic_window_size": 20,
                   "reestimation_period": 3, "averaging_window": 2},
}

_T0 = _dt.datetime(2024, 1, 1)


def _record(rng: np.random.Generator) -> dict[str, Any]:
    k = int(rng.integers(0, 48))
    return {"timestamp": _T0 + _dt.timedelta(hours=k), "value": float(k % 5) * 2.0}


def _model(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.model import HTMModel

    return HTMModel(_merge({**MODEL_CONFIG, "seed": seed}, o))


def _model_spec() -> ClassSpec:
    from htmkit.spatial_pooler import SpatialPoolerParams
    from htmkit.temporal_memory import TemporalMemoryParams

    sp_gen = generated_bad_params(SpatialPoolerParams, "sp.")
    tm_gen = generated_bad_params(TemporalMemoryParams, "tm.")
    pick = {"sp.potential_pct", "sp.syn_perm_connected", "sp.column_dimensions",
            "tm.cells_per_column", "tm.connected_permanence", "tm.activation_threshold"}
    bad: dict[str, list[Any]] = {}
    for k, v in sp_gen + tm_gen:
        if k in pick:
            bad.setdefault(k, []).append(v)
    bad["sp.column_dimensions"].append(HUGE_COLUMNS)
    bad.update({"seed": ["bad", 1.5], "predictor.alpha": [0.0, 3.0],
                "predictor.steps": [(-1,)], "likelihood.estimation_samples": [0],
                "value.encoder.size": [0, "bad"], "value.encoder.active_bits": [-1],
                "timestamp.encoder.time_of_day_width": [-1],
                "tm.implementation": ["lstm"]})
    return ClassSpec(
        name="HTMModel",
        factory=_model,
        make_input=_record,
        step=lambda m, x, learn: m.run(x, learn=learn),
        # the parts' learned state wherever the model keeps them ("sp/..." today,
        # "network/regions/sp/state/core/..." once it runs as a network); not learned: the
        # likelihood's window and fit (stream statistics, updated with learn=False too)
        learned=("*sp/*synapses/*", "*sp/*boost_factors", "*sp/*duty_cycles",
                 "*sp/*iteration_learn", "*tm/*basal/*", "*predictor/*weights*"),
        bad_params=bad,
        bad_inputs=[("value-str", {"timestamp": _T0, "value": "x"}),
                    ("no-value", {"timestamp": _T0}),
                    ("no-timestamp", {"value": 1.0}),
                    ("tuple-3", (1, 2, 3))],
        xfail={"bad_input[value-str]": PENDING},
    )


# ---------------------------------------------------------------- anomaly detector
DETECTOR_CONFIG: dict[str, Any] = {
    "value": {"encoder": {"size": 120, "active_bits": 9}},
    "timestamp": {"encoder": {"time_of_day_width": 9, "time_of_day_radius": 4.0}},
    "sp": {"column_dimensions": [128], "num_active_columns_per_inh_area": 6},
    "tm": {"cells_per_column": 4, "activation_threshold": 3, "min_threshold": 2,
           "max_new_synapse_count": 6, "max_segments_per_cell": 8,
           "max_synapses_per_segment": 12},
}


def _detector(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.detector import AnomalyDetector

    kw: dict[str, Any] = dict(min_value=0.0, max_value=10.0, probationary_period=8, seed=seed,
                              config=DETECTOR_CONFIG, calibration_records=4)
    return AnomalyDetector(**{**kw, **o})


def _detector_spec() -> ClassSpec:
    return ClassSpec(
        name="AnomalyDetector",
        factory=_detector,
        make_input=_record,
        step=lambda d, x, learn: d.update(x["timestamp"], x["value"]),
        has_learn=False,
        bad_params={"probationary_period": [1, "bad"], "spatial_tolerance": [-0.1, 10.0],
                    "calibration_records": [0], "learning_fraction": [1.0, -0.1],
                    "ensemble": [0, 16, 1.5], "likelihood_window": [0],
                    "averaging_window": [0], "suppression": [(0.5, -1, 0.0), (0.5, 3, 2.0),
                                                             "bad"],
                    "min_value": [20.0], "seed": ["bad"]},
        bad_inputs=[("value-str", {"timestamp": _T0, "value": "x"}),
                    ("value-nan", {"timestamp": _T0, "value": math.nan}),
                    ("value-bool", {"timestamp": _T0, "value": True}),
                    ("timestamp-none", {"timestamp": None, "value": 1.0})],
        xfail={"bad_input[value-str]": PENDING, "bad_input[value-bool]": PENDING},
    )


# ---------------------------------------------------------------- encoders
def _encoder_spec(name: str, factory: Callable[[int, dict[str, Any]], Any],
                  make_input: Callable[[np.random.Generator], Any], params_class: type,
                  **kw: Any) -> ClassSpec:
    return ClassSpec(name=name, factory=factory, make_input=make_input,
                     step=lambda e, x, learn: e.encode(x), output_shape=lambda e: e.dimensions,
                     has_learn=False, params_class=params_class, **kw)


def _scalar(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.encoders import ScalarEncoder

    return ScalarEncoder(**{**dict(minimum=0.0, maximum=10.0, size=60, active_bits=7), **o})


def _rdse(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.encoders import RDSE

    return RDSE(**{**dict(size=100, active_bits=9, resolution=0.5, seed=seed), **o})


def _date(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.encoders import DateEncoder

    kw = dict(season_width=5, day_of_week_width=3, weekend_width=3, holiday_width=3,
              time_of_day_width=5)
    return DateEncoder(**{**kw, **o})


def _category(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.encoders import CategoryEncoder

    kw: dict[str, Any] = dict(categories=("a", "b"), active_bits=5, grow=True,
                              max_categories=8)
    return CategoryEncoder(**{**kw, **o})


def _multi(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.encoders import MultiEncoder

    fields = o.get("fields", {"x": _scalar(seed, {}), "when": _date(seed, {})})
    return MultiEncoder(fields)


def _image(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.encoders import ImageEncoder

    kw: dict[str, Any] = dict(image_shape=(8, 8), edges=True, orientations=2)
    return ImageEncoder(**{**kw, **o})


def _active_bits_check(n: int) -> Callable[[Any, Any, Any], None]:
    def check(enc: Any, x: Any, out: Any) -> None:
        assert out.num_active == n, (x, out.num_active)
    return check


def _float_strategy(lo: float, hi: float) -> Callable[[], Any]:
    def strategy() -> Any:
        from hypothesis import strategies as st

        return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    return strategy


def _rdse_check(enc: Any, x: Any, out: Any) -> None:
    assert 1 <= out.num_active <= 9, (x, out.num_active)


def _encoder_specs() -> list[ClassSpec]:
    from htmkit.encoders import (
        CategoryEncoderParams,
        DateEncoderParams,
        ImageEncoderParams,
        MultiEncoderParams,
        RDSEParams,
        ScalarEncoderParams,
    )

    def dates(rng: np.random.Generator) -> Any:
        return _T0 + _dt.timedelta(hours=int(rng.integers(0, 24 * 400)))

    return [
        _encoder_spec(
            "ScalarEncoder", _scalar, lambda rng: float(rng.uniform(0, 10)), ScalarEncoderParams,
            stateful=False, stochastic=False,
            bad_params={"maximum": [-1.0], "active_bits": [0, 61]},
            bad_inputs=[("above", 11.0), ("str", "x"), ("inf", math.inf), ("list", [1.0])],
            prop_input=_float_strategy(0.0, 10.0), prop_check=_active_bits_check(7),
            xfail={"bad_input[str]": PENDING, "bad_input[list]": PENDING}),
        _encoder_spec(
            "RDSE", _rdse, lambda rng: float(rng.normal() * 100), RDSEParams,
            stateful=False, stochastic=True,
            bad_params={"size": [0], "active_bits": [0, 101], "resolution": [0.0, -1.0]},
            bad_inputs=[("str", "x"), ("inf", math.inf), ("list", [1.0])],
            prop_input=_float_strategy(-1e6, 1e6), prop_check=_rdse_check,
            xfail={"bad_input[str]": PENDING, "bad_input[list]": PENDING}),
        _encoder_spec(
            "DateEncoder", _date, dates, DateEncoderParams, stateful=False, stochastic=False,
            bad_params={"holidays": [((13, 1),), "bad"]},
            bad_inputs=[("str", "not a date"), ("number", 3.5), ("list", [1, 2])],
            xfail={"bad_input[number]": PENDING, "bad_input[list]": PENDING}),
        _encoder_spec(
            "CategoryEncoder", _category, lambda rng: "abcdef"[int(rng.integers(0, 6))],
            CategoryEncoderParams, stateful=True, stochastic=False,
            bad_params={"active_bits": [0], "max_categories": [1], "categories": [("a", "a")],
                        "unknown": ["ignore-me"]},
            bad_inputs=[("list", ["a"]), ("float", 1.5)],
            xfail={"bad_input[list]": PENDING, "bad_input[float]": PENDING}),
        _encoder_spec(
            "MultiEncoder", _multi, lambda rng: {"x": float(rng.uniform(0, 10)),
                                                 "when": dates(rng)},
            MultiEncoderParams, stateful=False, stochastic=False,
            bad_params={"fields": [{}, {"x": 3}, "bad", [("x",)]]},
            bad_inputs=[("missing-field", {"x": 1.0}), ("not-a-record", 3.0),
                        ("field-out-of-range", {"x": 50.0, "when": _T0})],
            xfail={"bad_input[not-a-record]": PENDING}),
        _encoder_spec(
            "ImageEncoder", _image, lambda rng: rng.random((8, 8)), ImageEncoderParams,
            stateful=False, stochastic=False,
            # threshold is not bounded: numeric images other than uint8 / [0, 1] are
            # thresholded as they are
            bad_params={"image_shape": [(0, 8), (8,), "bad"], "edge_threshold": [-0.5],
                        "orientations": [-1], "window": [0]},
            bad_inputs=[("shape", np.zeros((9, 8))), ("3d", np.zeros((2, 8, 8))),
                        ("str", "x"), ("nan", np.full((8, 8), np.nan))],
            xfail={"bad_input[str]": PENDING}),
    ]


# ---------------------------------------------------------------- network
NET_CONFIG: dict[str, Any] = {
    "name": "checks",
    "regions": {
        "ctx": {"type": "SDRSensor", "params": {"shape": [5, 6]}},
        "x": {"type": "Encoder", "encoder": "ScalarEncoder",
              "params": {"minimum": 0.0, "maximum": 10.0, "size": 100, "active_bits": 9}},
        "sp": {"type": "SpatialPooler",
               "params": {"column_dimensions": [128], "num_active_columns_per_inh_area": 6,
                          "potential_radius": 100, "syn_perm_active_inc": 0.05,
                          "syn_perm_inactive_dec": 0.01}},
        "tm": {"type": "TemporalMemory",
               "params": {"cells_per_column": 4, "activation_threshold": 3,
                          "min_threshold": 2, "max_new_synapse_count": 6,
                          "max_segments_per_cell": 8, "max_synapses_per_segment": 16}},
        "tp": {"type": "TemporalPooler",
               "params": {"column_dimensions": [64], "active_sparsity": 0.1,
                          "winner_sparsity": 0.05, "max_new_synapses": 4}},
        "clf": {"type": "Classifier", "params": {"max_classes": 5, "steps": [0],
                                                 "alpha": 0.3}},
    },
    "links": [
        {"source": "x", "target": "sp"},
        {"source": "sp", "target": "tm"},
        {"source": "ctx", "target": "tm", "kind": "basal"},
        {"source": "tm", "target": "tp"},
        {"source": "tm", "target": "tp", "output": "predicted_active_cells", "kind": "predicted"},
        {"source": "tm", "target": "clf"},
    ],
}


def _network(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.network import Network

    seeds = {"regions.sp.params.seed": seed, "regions.tm.params.seed": seed + 1,
             "regions.tp.params.seed": seed + 2}
    return Network.from_config(_merge(NET_CONFIG, {**seeds, **o}))


def _net_input(rng: np.random.Generator) -> dict[str, Any]:
    k = int(rng.integers(0, 5))
    return {"x": 2.0 * k, "clf": k, "ctx": random_sdr(rng, (5, 6), 0.2)}


def _net_step(net: Any, x: Any, learn: bool) -> Any:
    return net.run(x, learn=learn)


def _net_shapes(net: Any, x: Any, out: Any) -> None:
    for nm, sdr in out.items():
        assert isinstance(sdr, SDR), (nm, type(sdr))
        assert sdr.shape == tuple(net[nm].output_shape), (nm, sdr.shape)


def _network_spec() -> ClassSpec:
    from htmkit.temporal_pooler import TemporalPoolerParams

    def net_input_strategy() -> Any:
        from hypothesis import strategies as st

        return st.builds(lambda v, k, c: {"x": v, "clf": k, "ctx": c},
                         st.floats(0.0, 10.0, allow_nan=False), st.integers(0, 4),
                         _sdr_strategy((5, 6), 10)())

    return ClassSpec(
        name="Network",
        factory=_network,
        params_class=TemporalPoolerParams,
        param_prefix="regions.tp.params.",
        make_input=_net_input,
        step=_net_step,
        learned=("regions/sp/state/core/synapses/*", "regions/sp/state/core/boost_factors",
                 "regions/sp/state/core/*duty_cycles", "regions/tm/state/core/basal/*",
                 "regions/tp/state/core/store/*", "regions/tp/state/core/duty_cycles",
                 "regions/clf/state/core/weights*"),
        bad_params={"regions.sp.params.potential_pct": [1.5, "bad"],
                    "regions.tm.params.cells_per_column": [0, "bad"],
                    "regions.tp.params.active_sparsity": [2.0],
                    "regions.x.params.size": [-3],
                    "regions.clf.params.alpha": [0.0],
                    "regions.sp.params.column_dimensions": [[0]]},
        bad_inputs=[("value-str", {"x": "abc", "clf": 1, "ctx": SDR((5, 6))}),
                    ("unknown-region", {"x": 1.0, "ctx": SDR((5, 6)), "y": 1.0}),
                    ("missing-sensor", {"clf": 1, "ctx": SDR((5, 6))}),
                    ("value-out-of-range", {"x": 99.0, "ctx": SDR((5, 6))}),
                    ("sensor-shape", {"x": 1.0, "ctx": SDR(31)}),
                    ("label-out-of-range", {"x": 1.0, "ctx": SDR((5, 6)), "clf": 7})],
        prop_input=net_input_strategy,
        prop_check=_net_shapes,
    )


# ---------------------------------------------------------------- vision hierarchy
VISION_PARAMS: dict[str, Any] = dict(
    eye=dict(image_shape=(8, 8), upsample=1, movie="spiral", step=1),
    level1=dict(grid=(4, 4), depth=4, radius=2, density=0.2, stimulus=1),
    level2=dict(grid=(2, 2), depth=4, radius=1, density=0.3, stimulus=1),
    tm=dict(images=2), n_learn=0)


def _vision(seed: int, o: dict[str, Any]) -> Any:
    from htmkit.vision import HierarchyParams, VisionHierarchy

    cfg: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v
                           for k, v in VISION_PARAMS.items()}
    cfg["seed"] = seed
    for key, value in o.items():  # "section.field" overrides go into their section
        section, _, name = key.rpartition(".")
        if section:
            cfg.setdefault(section, {})[name] = value
        else:
            cfg[key] = value
    return VisionHierarchy(HierarchyParams.from_dict(cfg))


def _vision_input(rng: np.random.Generator) -> np.ndarray:
    return (rng.random((2, 8, 8)) * 255).astype(np.uint8)


def _vision_step(h: Any, images: Any, learn: bool) -> Any:
    if learn:
        h.learn_unsupervised(images)
    return h.transform(images)


def _vision_spec() -> ClassSpec:
    from htmkit.vision import HierarchyParams

    return ClassSpec(
        name="VisionHierarchy",
        factory=_vision,
        make_input=_vision_input,
        step=_vision_step,
        learned=("sp1/synapses/*", "sp1/boost_factors", "sp1/*duty_cycles",
                 "sp2/synapses/*", "sp2/boost_factors", "sp2/*duty_cycles"),
        params_class=HierarchyParams,
        bad_params={"levels": [3], "eye.movie": ["blink"], "eye.threshold": [1.5]},
        bad_inputs=[("shape", np.zeros((2, 9, 8), np.uint8)), ("1d", np.zeros(8, np.uint8)),
                    ("str", "x")],
        xfail={

        },
    )


def all_specs() -> list[ClassSpec]:
    """Every stateful htmkit class (and every encoder), as :class:`ClassSpec` entries."""
    return [_sp_spec(), _tm_spec(), _tm_ext_spec(), _btm_spec(), _tp_spec(), _predictor_spec(),
            _likelihood_spec(), _model_spec(), _detector_spec(), *_encoder_specs(),
            _network_spec(), _vision_spec()]


SPECS: list[ClassSpec] = all_specs()
