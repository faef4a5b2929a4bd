"""The River adapter (htmkit.river_adapter): River's anomaly-detector protocol around the HTM
AnomalyDetector, score_one changing nothing, inside River pipelines."""

from __future__ import annotations

import math
import pickle
import sys

import numpy as np
import pandas as pd
import pytest

# river.base alone imports fast; the tests that need River's pipelines and detectors (whose
# import takes seconds) are in the slow tier
pytest.importorskip("river.base", reason="River is not installed (pip install 'htmkit[river]')")

import htmkit.river_adapter as ra  # noqa: E402
from htmkit.detector import AnomalyDetector  # noqa: E402
from htmkit.errors import InputError, ParameterError  # noqa: E402
from htmkit.river_adapter import HTMAnomalyDetector  # noqa: E402

# a small model: these tests are about the protocol, not about detection quality
TINY = {"value": {"encoder": {"size": 200, "active_bits": 11}},
        "sp": {"column_dimensions": [256], "num_active_columns_per_inh_area": 10},
        "tm": {"cells_per_column": 4, "activation_threshold": 6, "min_threshold": 4,
               "max_new_synapse_count": 8}}
PARAMS = {"config": TINY}


def _values(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 0.5 + 0.35 * np.sin(t / 4.0) + 0.02 * rng.standard_normal(n)


def _saved(model, path):
    """The saved file's members, name -> bytes (the zip's own timestamps left out)."""
    import zipfile

    model.save(path)
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _adapter(**kw):
    args = {"min_value": 0.0, "max_value": 1.0, "probationary_period": 40, "seed": 3,
            "detector_params": PARAMS, **kw}
    return HTMAnomalyDetector(**args)


def _plain(seed: int = 3, **kw) -> AnomalyDetector:
    return AnomalyDetector(min_value=0.0, max_value=1.0, probationary_period=40, seed=seed,
                           use_timestamp=False, config=TINY, **kw)


def test_is_a_river_anomaly_detector():
    from river.base import AnomalyDetector as RiverBase

    det = _adapter()
    assert isinstance(det, RiverBase)
    assert not det._supervised
    fresh = det.clone()  # River's clone: same parameters, nothing learned
    assert type(fresh) is type(det) and fresh.detector.records == 0
    assert fresh._get_params() == det._get_params()


def test_score_one_changes_nothing_and_the_loop_equals_update(monkeypatch):
    """The River loop (score_one then learn_one on the same x) gives AnomalyDetector.update's
    scores bit for bit, even with extra score_one calls on other records in between: score_one
    runs an inference step on a trial copy and never calls update (only learn_one does)."""
    vals = _values(80)
    ref = _plain()
    expected = [ref.update(None, float(v)) for v in vals]

    steps = {"n": 0}
    original = AnomalyDetector.update

    def counted(self, timestamp, value):
        steps["n"] += 1
        return original(self, timestamp, value)

    monkeypatch.setattr(AnomalyDetector, "update", counted)
    det = _adapter()
    got = []
    for i, v in enumerate(vals):
        if i % 10 == 5:  # a look at another record first: must change nothing
            det.score_one({"x": float(v) + 0.25})
            det.score_one({"x": float(v) + 0.25})  # cached
        got.append(det.score_one({"x": float(v)}))
        assert det.score_one({"x": float(v)}) == got[-1]  # cached
        det.learn_one({"x": float(v)})
    assert got == expected
    assert max(got) > 0.0
    assert steps["n"] == len(vals)
    assert det.detector.records == len(vals)


def test_score_one_leaves_the_saved_model_byte_identical(tmp_path):
    """score_one on the live model changes nothing that is saved, and its score equals that
    of a deep copy of the detector learning the same record (the adapter's first behaviour)."""
    import copy

    det = _adapter()
    vals = _values(70, seed=2)
    for i, v in enumerate(vals):
        x = {"x": float(v)}
        if i in (5, 39, 40, 55, 69):  # before and after the likelihood's learning period
            before = _saved(det.detector, tmp_path / "a.htm")
            twin = copy.deepcopy(det.detector)
            score = det.score_one({"x": float(v) + 0.3})
            assert _saved(det.detector, tmp_path / "b.htm") == before
            assert score == twin.update(None, float(v) + 0.3)
        det.learn_one(x)


def test_learn_one_alone_advances_the_model():
    vals = _values(80)
    det, ref = _adapter(), _plain()
    for v in vals:
        det.learn_one({"x": float(v)})
        ref.update(None, float(v))
    assert det.detector.records == len(vals)
    nxt = 0.77
    assert det.score_one({"x": nxt}) == ref.update(None, nxt)
    det.learn_one({"x": 0.1})  # another record than the last score_one's
    assert det.detector.records == len(vals) + 1


def test_same_seed_same_scores_other_seed_other_scores():
    vals = _values(40, seed=1)

    def run(seed):
        det = _adapter(seed=seed)
        out = []
        for v in vals:
            det.learn_one({"x": float(v)})
            out.append(det.score_one({"x": 0.5}))
        return out, _arrays(det.detector.model.sp.get_state())

    (a, model_a), (b, model_b), (_, model_c) = run(5), run(5), run(6)
    assert a == b and _same(model_a, model_b)
    assert not _same(model_a, model_c)  # the seed reaches the model (its scores may agree)


def _arrays(state, prefix=""):
    """Every array of a state dict, by its path."""
    out = {}
    for k, v in state.items():
        if isinstance(v, dict):
            out.update(_arrays(v, f"{prefix}{k}/"))
        elif isinstance(v, np.ndarray):
            out[prefix + k] = v
    return out


def _same(x, y):
    return x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)


@pytest.mark.slow
def test_timestamp_feature_and_value_key():
    frame = pd.DataFrame({"timestamp": pd.date_range("2026-01-05", periods=40, freq="h"),
                          "value": _values(40)})
    det = _adapter(value_key="value", timestamp_key="timestamp")
    ref = AnomalyDetector(min_value=0.0, max_value=1.0, probationary_period=40, seed=3,
                          config=TINY)
    for t, v in zip(frame["timestamp"], frame["value"], strict=True):
        x = {"timestamp": t, "value": float(v), "other": 123.0}  # other features are ignored
        s = det.score_one(x)
        det.learn_one(x)
        assert s == ref.update(t, float(v))
    assert det.detector.settings["use_timestamp"]


@pytest.mark.slow
def test_inside_a_river_pipeline():
    """MinMaxScaler | adapter in River's progressive loop: the scaler's first NaN is a missing
    value (scored 0), the scores are those of the detector fed the scaled values, and a value
    far outside everything seen scores 1 (the spatial check)."""
    from river import anomaly, compose, preprocessing

    model = preprocessing.MinMaxScaler() | _adapter()
    assert isinstance(model, compose.Pipeline)
    scaler, ref = preprocessing.MinMaxScaler(), _plain()
    vals = 10.0 + 5.0 * _values(100)
    scores = []
    for v in vals:
        scores.append(model.score_one({"load": float(v)}))
        model.learn_one({"load": float(v)})
        scaler.learn_one({"load": float(v)})
        ref.update(None, scaler.transform_one({"load": float(v)})["load"])
    spike = model.score_one({"load": 100.0})
    assert ref.update(None, scaler.transform_one({"load": 100.0})["load"]) == spike
    assert scores[0] == 0.0  # the scaler has seen nothing: NaN -> missing
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert spike == 1.0 and float(np.median(scores[-50:])) < 0.5
    # River's own filters wrap it too
    filt = anomaly.ThresholdFilter(_adapter(), threshold=0.9)
    for v in _values(10):
        filt.learn_one({"x": float(v)})
    assert filt.classify(filt.score_one({"x": 0.5})) in (True, False)


@pytest.mark.slow
def test_pickle_round_trip_continues_identically():
    det = _adapter()
    for v in _values(30):
        det.learn_one({"x": float(v)})
    det.score_one({"x": 0.4})  # a cached score travels too
    twin = pickle.loads(pickle.dumps(det))
    for v in _values(10, seed=4):
        x = {"x": float(v)}
        assert twin.score_one(x) == det.score_one(x)
        twin.learn_one(x)
        det.learn_one(x)


def test_bad_input_and_parameters():
    det = _adapter()
    with pytest.raises(InputError, match="dict of features"):
        det.score_one([0.5])
    with pytest.raises(InputError, match="value_key"):
        det.learn_one({"a": 0.1, "b": 0.2})
    with pytest.raises(InputError, match="must be a number"):
        _adapter(value_key="v").score_one({"v": "high"})
    with pytest.raises(InputError, match="finite"):
        det.score_one({"x": math.inf})
    det.learn_one({"x": 0.5})  # fixes the value feature to "x"
    with pytest.raises(InputError, match="'x'"):
        det.learn_one({"y": 0.5})
    with pytest.raises(InputError, match="timestamp_key"):
        _adapter(timestamp_key="t").learn_one({"x": 0.5})
    assert det.score_one({"x": None}) == 0.0 and det.detector.records == 1
    det.learn_one({"x": float("nan")})  # missing: skipped
    assert det.detector.records == 1
    with pytest.raises(ParameterError, match="seed"):
        _adapter(detector_params={"seed": 1})
    with pytest.raises(ParameterError, match="value_key"):
        _adapter(value_key=3)
    with pytest.raises(ParameterError, match="probationary_period"):
        _adapter(probationary_period=0)


def test_without_river_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setattr(ra, "_built", None)
    monkeypatch.setitem(sys.modules, "river.base", None)
    with pytest.raises(ImportError, match=r"htmkit\[river\]"):
        ra._build_class()


@pytest.mark.slow
def test_river_estimator_checks_without_data_sets():
    """River's own conventions checks (parameters, clone, repr, pickling, docs); the checks
    that need River's downloadable data sets are left out."""
    from river import checks

    model = _adapter()
    ran = 0
    for check in checks.yield_checks(model):
        if "dataset" in getattr(check, "keywords", {}):
            continue
        check(model.clone())
        ran += 1
    assert ran >= 10
