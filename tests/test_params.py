"""Declarative parameter constraints (htmkit.params) and the one compute convention."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from htmkit.errors import HTMKitError, InputError, InputTypeError, ParameterError
from htmkit.params import (
    NUPIC_BACKTRACKING_TM,
    NUPIC_TM,
    Boolean,
    Constraints,
    Custom,
    Interval,
    IntSequence,
    Optional,
    Options,
    Shape,
    validate,
)
from htmkit.sdr import SDR


def _even(name: str, value: int) -> int:
    if value % 2:
        raise ParameterError(f"{name} must be even, got {value}")
    return value


@dataclass(frozen=True)
class _Params:
    _parameter_constraints: ClassVar[Constraints] = {
        "size": Interval(int, 1, 10),
        "rate": Interval(float, 0, 1, closed="right"),
        "mode": Options(("fast", "exact")),
        "flag": Boolean(),
        "shape": Shape(),
        "limit": Optional(Interval(int, 1)),
        "steps": IntSequence(0, min_length=1, unique=True, sort=True),
        "even": Custom(lambda name, v: _even(name, v), "an even int"),
    }
    size: int = 3
    rate: float = 1
    mode: str = "fast"
    flag: bool = False
    shape: tuple[int, ...] = (4,)
    limit: int | None = None
    steps: tuple[int, ...] = (1,)
    even: int = 2

    def __post_init__(self) -> None:
        validate(self)


def test_constraints_normalise_values():
    p = _Params(size=np.int64(4), rate=1, flag=np.bool_(True), shape=5, steps=[3, 1])
    assert (p.size, type(p.size)) == (4, int)
    assert (p.rate, type(p.rate)) == (1.0, float)
    assert p.flag is True and p.shape == (5,) and p.steps == (1, 3)
    assert _Params(steps=2).steps == (2,)
    assert dataclasses.replace(p, limit=7).limit == 7


@pytest.mark.parametrize("field, value, match", [
    ("size", 0, "size must be >= 1"),
    ("size", 11, "size must be <= 10"),
    ("size", 2.5, "size must be an integer"),
    ("size", True, "size must be an integer"),
    ("rate", 0.0, "rate must be > 0"),
    ("rate", float("nan"), "rate must be finite"),
    ("rate", "x", "rate must be a number"),
    ("mode", "slow", "mode must be one of"),
    ("flag", 1, "flag must be True or False"),
    ("shape", (2, 0), r"shape\[1\] must be >= 1"),
    ("shape", (), "shape must have at least one dimension"),
    ("limit", 0, "limit must be >= 1"),
    ("steps", [], "steps must hold at least 1"),
    ("steps", [1, 1], "steps must not repeat"),
    ("steps", [-1], r"steps\[0\] must be >= 0"),
    ("even", 3, "even must be even"),
])
def test_bad_values_raise_parameter_error_naming_the_field(field, value, match):
    with pytest.raises(ParameterError, match=match):
        _Params(**{field: value})


def test_interval_bounds_and_description():
    assert Interval(int, 0, 5, closed="neither").check("k", 4) == 4
    with pytest.raises(ParameterError):
        Interval(int, 0, 5, closed="neither").check("k", 5)
    with pytest.raises(ParameterError):
        Interval(float, 0, 1, closed="left").check("x", 1.0)
    assert Interval(float, 0, 1, closed="left").describe() == "a number in [0, 1)"
    assert Optional(Options(("a",))).check("o", None) is None


def test_every_params_dataclass_declares_its_constraints():
    from htmkit.anomaly import AnomalyLikelihoodParams
    from htmkit.backtracking_tm import BacktrackingTemporalMemoryParams
    from htmkit.encoders import (
        CategoryEncoderParams,
        DateEncoderParams,
        ImageEncoderParams,
        MultiEncoderParams,
        RDSEParams,
        ScalarEncoderParams,
    )
    from htmkit.predictor import PredictorParams
    from htmkit.spatial_pooler import SpatialPoolerParams
    from htmkit.temporal_memory import TemporalMemoryParams
    from htmkit.temporal_pooler import TemporalPoolerParams
    from htmkit.vision.hierarchy import (
        EyeParams,
        HierarchyParams,
        LevelParams,
        ReadoutParams,
        SequenceParams,
        SynapseParams,
    )

    for cls in (AnomalyLikelihoodParams, BacktrackingTemporalMemoryParams, CategoryEncoderParams,
                DateEncoderParams, ImageEncoderParams, MultiEncoderParams, RDSEParams,
                ScalarEncoderParams, PredictorParams, SpatialPoolerParams,
                TemporalMemoryParams, TemporalPoolerParams, EyeParams, HierarchyParams,
                LevelParams, ReadoutParams, SequenceParams, SynapseParams):
        names = {f.name for f in dataclasses.fields(cls)}
        declared = set(cls._parameter_constraints)
        assert declared <= names, cls
        # every field is declared, except the sections of HierarchyParams (dataclasses)
        assert names - declared <= {"eye", "level1", "level2", "synapses", "tm", "readout"}, cls


def test_nupic_parameter_set_is_written_once():
    from htmkit.backtracking_tm import NAB_PARAMS, BacktrackingTemporalMemoryParams
    from htmkit.detector import DETECTOR_CONFIG
    from htmkit.model import DEFAULT_CONFIG
    from htmkit.temporal_memory import TemporalMemoryParams

    assert NAB_PARAMS == {**NUPIC_TM, **NUPIC_BACKTRACKING_TM}
    btm, tm = BacktrackingTemporalMemoryParams(), TemporalMemoryParams()
    assert all(getattr(btm, k) == v for k, v in NAB_PARAMS.items())
    assert all(getattr(tm, k) == v for k, v in NUPIC_TM.items())
    assert all(DEFAULT_CONFIG["tm"][k] == v for k, v in NUPIC_TM.items())
    for section in ("value", "timestamp", "sp"):
        assert DETECTOR_CONFIG[section] == DEFAULT_CONFIG[section]


# ----------------------------------------------------------------------------- compute
def test_compute_returns_an_sdr_and_learn_is_second():
    from htmkit.backtracking_tm import BacktrackingTemporalMemory
    from htmkit.spatial_pooler import SpatialPooler
    from htmkit.temporal_memory import TemporalMemory
    from htmkit.temporal_pooler import TemporalPooler

    sp = SpatialPooler(input_dimensions=100, column_dimensions=64, seed=1)
    tm = TemporalMemory(column_dimensions=64, cells_per_column=4, seed=1)
    btm = BacktrackingTemporalMemory(column_dimensions=64, cells_per_column=4,
                                     max_new_synapse_count=4, max_synapses_per_segment=8)
    tp = TemporalPooler(input_size=256, column_dimensions=(32,))
    cols = sp.compute(SDR.random(100, 0.1, seed=2), True)
    cells = tm.compute(cols, True)
    assert isinstance(cells, SDR) and cells == tm.active_cells and cells.size == 256
    kept = cells.indices.copy()
    tm.compute(SDR(64, [5, 6, 7]), False)
    assert np.array_equal(cells.indices, kept)          # the returned SDR stays valid
    b = btm.compute(cols, True)
    assert isinstance(b, SDR) and b == btm.active_cells
    out = tp.compute(cells, True, predicted_active_cells=cells)
    assert isinstance(out, SDR) and out.shape == (32,)
    with pytest.raises(TypeError):                       # predicted cells are keyword-only
        tp.compute(cells, True, cells)
    with pytest.raises(TypeError):                       # so are the TM's external inputs
        tm.compute(cols, True, None)


@pytest.mark.parametrize("make, call", [
    (lambda: __import__("htmkit.temporal_memory", fromlist=["x"]).TemporalMemory(
        column_dimensions=16, cells_per_column=2), lambda o: o.compute([1, 2])),
    (lambda: __import__("htmkit.backtracking_tm", fromlist=["x"]).BacktrackingTemporalMemory(
        column_dimensions=16, cells_per_column=2, max_new_synapse_count=2,
        max_synapses_per_segment=4), lambda o: o.compute(np.zeros(16))),
    (lambda: __import__("htmkit.temporal_pooler", fromlist=["x"]).TemporalPooler(
        input_size=32, column_dimensions=(8,)), lambda o: o.compute("cells")),
])
def test_wrong_input_type_is_an_input_error_and_a_type_error(make, call):
    with pytest.raises(InputTypeError) as info:
        call(make())
    assert isinstance(info.value, (HTMKitError, InputError, TypeError))


def test_one_verb_for_streaming_objects():
    from htmkit.anomaly import AnomalyLikelihood
    from htmkit.detector import AnomalyDetector
    from htmkit.nab.detectors import Detector, NullDetector

    assert not hasattr(AnomalyDetector, "handle_record")
    assert not hasattr(AnomalyLikelihood, "anomaly_probability")
    assert isinstance(NullDetector(), Detector) and NullDetector().update(None, 1.0) == 0.5
