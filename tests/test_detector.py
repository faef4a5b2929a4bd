"""The ready AnomalyDetector and the `htmkit anomaly` command."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import htmkit.cli.commands  # noqa: F401  (registers the commands)
from htmkit.cli.main import app
from htmkit.detector import AnomalyDetector
from htmkit.errors import InputError, ParameterError
from htmkit.streams import example_stream

SMALL = {"sp": {"column_dimensions": [512], "num_active_columns_per_inh_area": 20},
         "tm": {"cells_per_column": 8, "activation_threshold": 10, "min_threshold": 7,
                "max_new_synapse_count": 16}}


def _saved(model, path):
    """The saved file's members, name -> bytes (the zip's own timestamps left out)."""
    import zipfile

    model.save(path)
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _stream(n=600):
    frame, starts = example_stream(n, seed=2)
    return list(frame["timestamp"]), frame["value"].to_numpy(float), starts


def test_same_seed_same_scores_and_range():
    ts, vals, _ = _stream(400)
    a = AnomalyDetector(float(vals.min()), float(vals.max()), 100, seed=3, config=SMALL)
    b = AnomalyDetector(float(vals.min()), float(vals.max()), 100, seed=3, config=SMALL)
    sa = [a.update(t, v) for t, v in zip(ts, vals, strict=True)]
    sb = [b.update(t, v) for t, v in zip(ts, vals, strict=True)]
    assert sa == sb
    assert all(0.0 <= s <= 1.0 for s in sa)


def test_save_load_mid_stream(tmp_path):
    ts, vals, _ = _stream(400)
    a = AnomalyDetector(probationary_period=100, seed=1, config=SMALL, calibration_records=50)
    for t, v in zip(ts[:220], vals[:220], strict=True):
        a.update(t, v)
    a.save(tmp_path / "d.htm")
    b = AnomalyDetector.load(tmp_path / "d.htm")
    for t, v in zip(ts[220:], vals[220:], strict=True):
        assert a.update(t, v) == b.update(t, v)


def test_calibration_holds_then_replays():
    ts, vals, _ = _stream(100)
    d = AnomalyDetector(probationary_period=40, seed=1, config=SMALL, calibration_records=30)
    out = [d.update(t, v) for t, v in zip(ts[:29], vals[:29], strict=True)]
    assert out == [0.0] * 29 and d.model is None
    d.update(ts[29], vals[29])
    assert d.model is not None and d.model.records == 30


def test_spatial_anomaly_scores_one():
    ts, vals, _ = _stream(300)
    d = AnomalyDetector(float(vals.min()), float(vals.max()), 50, seed=1, config=SMALL)
    for t, v in zip(ts[:299], vals[:299], strict=True):
        d.update(t, v)
    assert d.update(ts[299], float(vals.max()) * 3) == 1.0


def test_bad_input():
    with pytest.raises(ParameterError, match="probationary_period"):
        AnomalyDetector(probationary_period=0)
    with pytest.raises(ParameterError, match="both"):
        AnomalyDetector(min_value=1.0)
    d = AnomalyDetector(0.0, 1.0, 10, config=SMALL)
    with pytest.raises(TypeError, match="number"):
        d.update(pd.Timestamp("2020-01-01"), "x")
    with pytest.raises(InputError, match="finite"):
        d.update(pd.Timestamp("2020-01-01"), float("inf"))


@pytest.mark.slow
def test_cli_anomaly(tmp_path):
    frame, starts = example_stream(600, seed=4)
    p = tmp_path / "s.csv"
    frame.to_csv(p, index=False)
    out, png = tmp_path / "o.csv", tmp_path / "o.png"
    res = CliRunner().invoke(app, ["anomaly", str(p), "--out", str(out), "--plot", str(png),
                                   "--quiet"])
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(out)
    assert len(scores) == 600 and {"anomaly_score", "flagged"} <= set(scores)
    assert np.all((scores["anomaly_score"] >= 0) & (scores["anomaly_score"] <= 1))
    assert png.stat().st_size > 1000
    res = CliRunner().invoke(app, ["anomaly", str(p), "--value", "nope", "--quiet"])
    assert res.exit_code == 2 and "no column 'nope'" in res.output
    # --refractory 0 switches the refractory period off: higher scores after alarms, more flags
    out0 = tmp_path / "o0.csv"
    res = CliRunner().invoke(app, ["anomaly", str(p), "--out", str(out0), "--refractory", "0",
                                   "--quiet"])
    assert res.exit_code == 0, res.output
    off = pd.read_csv(out0)
    assert np.all(off["anomaly_score"] >= scores["anomaly_score"])
    assert (off["anomaly_score"] > scores["anomaly_score"]).any()
    assert off["flagged"].sum() > scores["flagged"].sum()
    res = CliRunner().invoke(app, ["anomaly", str(p), "--refractory", "-3", "--quiet"])
    assert res.exit_code == 2 and "--refractory" in res.output


def test_suppression_damps_likelihood_scores_after_an_alarm():
    from htmkit.detector import DEFAULT_SUPPRESSION

    ts, vals, _ = _stream(300)
    lo, hi = float(vals.min()), float(vals.max())
    plain = AnomalyDetector(lo, hi, 50, seed=1, config=SMALL, suppression=None)
    damped = AnomalyDetector(lo, hi, 50, seed=1, config=SMALL, suppression=(0.5, 4, 0.25))
    assert AnomalyDetector().settings["suppression"] == list(DEFAULT_SUPPRESSION)
    seq = [float(v) for v in vals]
    seq[290], seq[292] = hi * 3, hi * 4  # spatial anomalies
    a = [plain.update(t, v) for t, v in zip(ts, seq, strict=True)]
    b = [damped.update(t, v) for t, v in zip(ts, seq, strict=True)]
    first = next(i for i, s in enumerate(a) if s >= 0.5)
    assert first < 290 and b[: first + 1] == a[: first + 1]  # identical until the first alarm
    assert a[290] == a[292] == b[290] == b[292] == 1.0  # spatial anomalies are never damped
    # the alarm at 290 damps the likelihood scores of the next 4 records (the spatial one at
    # 292 neither is damped nor restarts the period), then scores pass unchanged again
    assert b[291] == a[291] * 0.25 and b[293] == a[293] * 0.25 and b[294] == a[294] * 0.25
    assert b[295:] == a[295:]


def test_suppression_state_survives_save_load(tmp_path):
    d = AnomalyDetector(0.0, 1.0, 10, seed=1, config=SMALL, suppression=(0.5, 5, 0.5))
    p = AnomalyDetector(0.0, 1.0, 10, seed=1, config=SMALL, suppression=None)
    t0 = pd.Timestamp("2020-01-01")
    stamps = [t0 + pd.Timedelta(minutes=5 * i) for i in range(30)]
    values = [0.4 + 0.2 * (i % 2) for i in range(20)] + [10.0] + [0.5] * 9
    for t, v in zip(stamps[:21], values[:21], strict=True):
        a, b = d.update(t, v), p.update(t, v)
    assert a == b == 1.0  # the spatial anomaly at record 20 starts the refractory period
    d.save(tmp_path / "s.htm")
    e = AnomalyDetector.load(tmp_path / "s.htm")
    rest = [(d.update(t, v), e.update(t, v), p.update(t, v))
            for t, v in zip(stamps[21:], values[21:], strict=True)]
    assert all(x == y for x, y, _ in rest)
    assert any(z > 0 for _, _, z in rest[:5])
    assert [x for x, _, _ in rest[:5]] == [z * 0.5 for _, _, z in rest[:5]]
    assert [x for x, _, _ in rest[5:]] == [z for _, _, z in rest[5:]]


def test_new_options_validated_and_wired():
    with pytest.raises(ParameterError, match="learning_fraction"):
        AnomalyDetector(learning_fraction=1.0)
    with pytest.raises(ParameterError, match="likelihood_window"):
        AnomalyDetector(likelihood_window=0)
    with pytest.raises(ParameterError, match="averaging_window"):
        AnomalyDetector(averaging_window=0)
    with pytest.raises(ParameterError, match="suppression"):
        AnomalyDetector(suppression=(0.5, 10))
    with pytest.raises(ParameterError, match="suppression"):
        AnomalyDetector(suppression=(0.5, 10, 1.5))
    d = AnomalyDetector(0.0, 1.0, 100, config=SMALL, learning_fraction=0.7,
                        likelihood_window=500, averaging_window=7)
    p = d.model.likelihood.params
    assert (p.learning_period, p.estimation_samples, p.historic_window_size) == (70, 30, 500)
    assert p.averaging_window == 7
    # the window is raised to the estimation period when shorter
    d = AnomalyDetector(0.0, 1.0, 100, config=SMALL, learning_fraction=0.7,
                        likelihood_window=5)
    assert d.model.likelihood.params.historic_window_size == 30


def test_tm_implementation_sections():
    from htmkit.backtracking_tm import BacktrackingTemporalMemory
    from htmkit.detector import TM_SECTIONS
    from htmkit.temporal_memory import TemporalMemory

    d = AnomalyDetector(0.0, 1.0, 100)
    assert isinstance(d.model.tm, BacktrackingTemporalMemory)
    assert d.model.tm.params.max_seq_length == 0
    # naming the BAMI TM starts its section from that TM's parameters, not the default's
    d = AnomalyDetector(0.0, 1.0, 100, config={"tm": {"implementation": "temporal_memory",
                                                      "cells_per_column": 8}})
    assert isinstance(d.model.tm, TemporalMemory)
    assert d.model.tm.params.cells_per_column == 8
    assert (d.model.tm.params.activation_threshold
            == TM_SECTIONS["temporal_memory"]["activation_threshold"])
    with pytest.raises(ParameterError, match="implementation"):
        AnomalyDetector(0.0, 1.0, 100, config={"tm": {"implementation": "lstm"}})


def test_ensemble_feeds_the_median_raw_anomaly_to_the_likelihood():
    from htmkit.anomaly import AnomalyLikelihood, compute_log_likelihood

    ts, vals, _ = _stream(300)
    lo, hi = float(vals.min()), float(vals.max())
    ens = AnomalyDetector(lo, hi, 100, seed=5, config=SMALL, spatial_tolerance=None,
                          ensemble=3, suppression=None)
    singles = [AnomalyDetector(lo, hi, 100, seed=5 + i, config=SMALL, spatial_tolerance=None,
                               suppression=None) for i in range(3)]
    assert len(ens.members) == 2 and all(not d.members for d in singles)
    ref = AnomalyLikelihood(ens.model.likelihood.params)
    differ = 0
    for t, v in zip(ts, vals, strict=True):
        score = ens.update(t, v)
        for d in singles:
            d.update(t, v)
        raws = [d.model.tm.anomaly for d in singles]
        # every model of the ensemble is the single detector of its seed
        assert [ens.model.tm.anomaly] + [m.tm.anomaly for m in ens.members] == raws
        expected = compute_log_likelihood(ref.update(float(np.median(raws)), v, t))
        assert score == pytest.approx(min(max(expected, 0.0), 1.0), abs=1e-12)
        differ += len(set(raws)) > 1
    assert differ > 0  # the seeds give different models


def test_ensemble_save_load_and_validation(tmp_path):
    ts, vals, _ = _stream(300)
    a = AnomalyDetector(float(vals.min()), float(vals.max()), 100, seed=2, config=SMALL,
                        ensemble=3)
    for t, v in zip(ts[:150], vals[:150], strict=True):
        a.update(t, v)
    a.save(tmp_path / "e.htm")
    b = AnomalyDetector.load(tmp_path / "e.htm")
    assert len(b.members) == 2
    rest = list(zip(ts[150:], vals[150:], strict=True))
    assert [a.update(t, v) for t, v in rest] == [b.update(t, v) for t, v in rest]
    for bad in (0, 16, 2.5, True, "3"):
        with pytest.raises(ParameterError, match="ensemble"):
            AnomalyDetector(0.0, 1.0, 100, ensemble=bad)


def test_ensemble_detector_is_registered_for_nab():
    from htmkit.nab.detectors import available_detectors, create_detector

    assert "htmkit-ensemble" in available_detectors()
    det = create_detector("htmkit-ensemble", min_value=0.0, max_value=1.0,
                          probationary_period=100, seed=1)
    assert det.settings["ensemble"] == 3


# ---------------------------------------------------------------------------- network
def _old_model_layout(m):
    state = {"config": m.config, "records": m.records,
             "value_encoder": m.value_encoder.get_state(), "sp": m.sp.get_state(),
             "tm": m.tm.get_state(),
             "predictor": m.predictor.get_state() if m.predictor is not None else None,
             "likelihood": m.likelihood.get_state()}
    if m.date_encoder is not None:
        state["date_encoder"] = m.date_encoder.get_state()
    return state


def _unversioned(state):
    from htmkit.serialization import CLASS_KEY, VERSION_KEY

    return {k: v for k, v in state.items() if k not in (CLASS_KEY, VERSION_KEY)}


def _old_layout(d):
    """The state layout ``AnomalyDetector.get_state`` wrote before the detector ran as a
    network: the spatial range, the refractory count and the ensemble likelihood beside the
    models (each model with its own likelihood)."""
    region = d.network["likelihood"]
    state = _unversioned(d.get_state())  # 0.1 files carry no state versions
    state["suppress_left"] = region.suppress_left
    state["seen"] = list(region.seen_range)
    state["model"] = _old_model_layout(d.model)
    state["members"] = [_old_model_layout(m) for m in d.members]
    state["ensemble_likelihood"] = region.core.get_state() if d.members else None
    return state


def test_detector_is_a_network():
    from htmkit.network import Network

    d = AnomalyDetector(probationary_period=100, seed=1, config=SMALL, calibration_records=20)
    assert d.network is None  # still calibrating
    ts, vals, _ = _stream(40)
    for t, v in zip(ts, vals, strict=True):
        d.update(t, v)
    assert isinstance(d.network, Network) and d.network is d.model.network
    region = d.network["likelihood"]
    assert "refractory 210 records" in str(d.network)
    assert d.update(ts[0], float(vals[0])) == region.score
    lo, hi = region.seen_range
    assert lo == float(vals.min()) and hi == float(vals.max())


@pytest.mark.parametrize("ensemble", [1, 3])
def test_old_state_layout_loads_and_continues_identically(ensemble):
    ts, vals, _ = _stream(420)
    a = AnomalyDetector(probationary_period=100, seed=4, config=SMALL, calibration_records=40,
                        ensemble=ensemble, suppression=(0.3, 20, 0.0))
    for t, v in zip(ts[:250], vals[:250], strict=True):
        a.update(t, v)
    b = AnomalyDetector.from_state(_old_layout(a))
    assert b.network["likelihood"].seen_range == a.network["likelihood"].seen_range
    for t, v in zip(ts[250:], vals[250:], strict=True):
        assert a.update(t, v) == b.update(t, v)
    # still calibrating: nothing to convert
    c = AnomalyDetector(seed=4, config=SMALL, calibration_records=40)
    for t, v in zip(ts[:10], vals[:10], strict=True):
        c.update(t, v)
    state = _unversioned(c.get_state()) | {"suppress_left": 0, "seen": [np.nan, np.nan],
                             "ensemble_likelihood": None}
    e = AnomalyDetector.from_state(state)
    for t, v in zip(ts[10:80], vals[10:80], strict=True):
        assert c.update(t, v) == e.update(t, v)


@pytest.mark.slow
@pytest.mark.parametrize("kw", [
    {"ensemble": 2, "suppression": (0.3, 5, 0.5)},
    {"config": {**SMALL, "tm": {"implementation": "temporal_memory"}}},
])
def test_score_changes_nothing_and_equals_the_learning_step(tmp_path, kw):
    """AnomalyDetector.score (an inference step on a trial copy sharing the learned synapses)
    leaves the saved detector byte-identical and returns what update would, from the
    calibration records on (ensemble, refractory period and the BAMI TM included)."""
    import copy

    args = {"config": SMALL, **kw}
    d = AnomalyDetector(probationary_period=40, seed=1, calibration_records=20, **args)
    stamps, vals, _ = _stream(90)
    for i, (t, v) in enumerate(zip(stamps, vals, strict=True)):
        if i in (3, 19, 20, 45, 89):
            before = _saved(d, tmp_path / "a.htm")
            twin = copy.deepcopy(d)
            score = d.score(t, float(v) * 1.3)
            assert _saved(d, tmp_path / "b.htm") == before
            assert score == twin.update(t, float(v) * 1.3)
        d.update(t, float(v))
