"""The streaming model and the `htmkit run` command."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import htmkit.cli.commands  # noqa: F401  (registers the commands)
from htmkit.cli.main import app
from htmkit.errors import InputError, ParameterError
from htmkit.model import HTMModel
from htmkit.streams import example_stream

SMALL = {
    "value": {"encoder": {"size": 200, "active_bits": 11}},
    "sp": {"column_dimensions": [256], "num_active_columns_per_inh_area": 10},
    "tm": {"cells_per_column": 8, "activation_threshold": 6, "min_threshold": 4,
           "max_new_synapse_count": 10},
    "predictor": {"steps": [1, 3]},
    "likelihood": {"learning_period": 50, "estimation_samples": 20},
}


def _records(n=400):
    frame, _ = example_stream(n, seed=3)
    return [{"value": float(v), "timestamp": t} for v, t in zip(frame["value"],
                                                               frame["timestamp"], strict=True)]


def test_bad_config_is_named():
    with pytest.raises(ParameterError, match="unknown model config section 'spp'"):
        HTMModel({"spp": {}})
    with pytest.raises(ParameterError, match="resolution"):
        HTMModel()
    with pytest.raises(ParameterError, match="^sp: "):
        HTMModel.for_data([0, 1], {"sp": {"potential_pct": 2.0}})
    with pytest.raises(ParameterError, match="^tm: "):
        HTMModel.for_data([0, 1], {"tm": {"cells_per_column": 0}})


@pytest.mark.parametrize("tenc, name", [
    ({"time_of_day_width": -1}, "time_of_day_width"),      # no width > 0: time is off
    ({"time_of_day_width": "bad"}, "time_of_day_width"),
    ({"time_of_day_width": 0, "weekend_width": -2}, "weekend_width"),
    ({"time_of_day_width": 0, "time_of_day_radius": -1.0}, "time_of_day_radius"),
    ({"time_of_day_width": 0, "tiem_of_day_width": 3}, "tiem_of_day_width"),
])
def test_timestamp_encoder_section_is_checked_even_when_time_is_off(tenc, name):
    with pytest.raises(ParameterError, match=f"^timestamp.encoder: .*{name}"):
        HTMModel.for_data([0, 1], {"timestamp": {"encoder": tenc}})


def test_model_learns_periodic_stream_and_is_deterministic():
    recs = _records(600)
    a = HTMModel.for_data([r["value"] for r in recs], SMALL)
    b = HTMModel.for_data([r["value"] for r in recs], SMALL)
    ra = [a.run(r) for r in recs]
    rb = [b.run(r) for r in recs]
    assert [x.anomaly_score for x in ra] == [x.anomaly_score for x in rb]
    assert ra[-1].predictions == rb[-1].predictions
    early = np.mean([x.anomaly_score for x in ra[24:120]])
    late = np.mean([x.anomaly_score for x in ra[-150:]])
    assert late < early - 0.2, (early, late)
    assert set(ra[-1].predictions) == {1, 3}
    assert all(0.0 <= x.anomaly_likelihood <= 1.0 for x in ra)
    assert all(x.anomaly_likelihood == 0.5 for x in ra[:70])


def test_save_load_mid_stream_is_bit_identical(tmp_path):
    recs = _records(400)
    m = HTMModel.for_data([r["value"] for r in recs], SMALL)
    for r in recs[:250]:
        m.run(r)
    m.save(tmp_path / "m.htm")
    m2 = HTMModel.load(tmp_path / "m.htm")
    for r in recs[250:]:
        x, y = m.run(r), m2.run(r)
        assert x == y


def test_bad_records():
    m = HTMModel.for_data([0.0, 10.0], SMALL)
    with pytest.raises(InputError, match="timestamp"):
        m.run({"value": 1.0})
    with pytest.raises(TypeError, match="value"):
        m.run({"value": "abc", "timestamp": "2020-01-01"})
    r = m.run({"value": float("nan"), "timestamp": "2020-01-01 01:00"})
    assert np.isnan(r.value)


runner = CliRunner()


def test_cli_help_and_version():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0 and "demo" in res.output and "run" in res.output
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and "htmkit" in res.output


def _csv(tmp_path, n=300, bad=True):
    frame, _ = example_stream(n, seed=1)
    text = frame.to_csv(index=False)
    lines = text.splitlines()
    if bad:
        lines[10] = lines[10].split(",")[0] + ",oops"
        lines[20] = lines[19]  # repeated timestamp
    p = tmp_path / "d.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_cli_run_writes_outputs_and_reports_skips(tmp_path):
    p = _csv(tmp_path)
    out, png, model = tmp_path / "o.csv", tmp_path / "o.png", tmp_path / "m.htm"
    res = runner.invoke(app, ["run", str(p), "--field", "value", "--steps", "1,5", "--out",
                              str(out), "--plot", str(png), "--save", str(model), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "skipped 2 bad rows" in res.output and "line 11" in res.output
    frame = pd.read_csv(out)
    assert len(frame) == 298
    assert {"prediction_1", "prediction_5", "anomaly_score", "anomaly_likelihood"} <= set(frame)
    assert 11 not in set(frame["line"]) and 21 not in set(frame["line"])
    assert png.stat().st_size > 1000 and model.exists()
    HTMModel.load(model)


@pytest.mark.parametrize(
    "content, args, message",
    [
        ("", [], "empty"),
        ("timestamp,value\n2020-01-01,1\n", ["--field", "nope"], "no column 'nope'"),
        ("timestamp,value\n2020-01-01,1\n2020-01-02,x\n", ["--strict"], "line 3"),
    ],
)
def test_cli_run_bad_csv_gives_clear_error_and_no_output(tmp_path, content, args, message):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    out = tmp_path / "o.csv"
    res = runner.invoke(app, ["run", str(p), "--out", str(out), "--quiet", *args])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_cli_run_missing_file(tmp_path):
    res = runner.invoke(app, ["run", str(tmp_path / "nope.csv"), "--quiet"])
    assert res.exit_code == 2 and "no such file" in res.output


# ---------------------------------------------------------------------------- network
def _old_layout(m):
    """The state layout ``HTMModel.get_state`` wrote before the model ran as a network."""
    state = {"config": m.config, "records": m.records,
             "value_encoder": m.value_encoder.get_state(), "sp": m.sp.get_state(),
             "tm": m.tm.get_state(),
             "predictor": m.predictor.get_state() if m.predictor is not None else None,
             "likelihood": m.likelihood.get_state()}
    if m.date_encoder is not None:
        state["date_encoder"] = m.date_encoder.get_state()
    return state


def test_model_is_a_network():
    from htmkit.network import Network

    m = HTMModel.for_data([0, 100], SMALL)
    net = m.network
    assert isinstance(net, Network)
    assert net.order == ["value", "timestamp", "sp", "tm", "predictor", "likelihood"]
    assert m.sp is net["sp"].core and m.tm is net["tm"].core
    assert m.likelihood is net["likelihood"].core and m.predictor is net["predictor"].core
    assert m.input_size == m.value_encoder.size + m.date_encoder.size
    text = str(net)
    assert "ScalarPredictor" in text and "AnomalyLikelihood" in text
    assert "tm.unpredicted_columns -> likelihood" in text
    # without time and without predictor
    bare = HTMModel.for_data([0, 100], {**SMALL, "predictor": {"steps": []},
                                        "timestamp": {"encoder": {"time_of_day_width": 0}}})
    assert list(bare.network) == ["value", "sp", "tm", "likelihood"]
    assert bare.predictor is None and bare.date_encoder is None
    r = bare.run(5.0)
    assert r.predictions == {} and r.anomaly_score == 1.0


@pytest.mark.parametrize("impl", ["temporal_memory", "backtracking"])
def test_network_raw_anomaly_is_the_tm_anomaly(impl):
    cfg = {**SMALL, "tm": {**SMALL["tm"], "implementation": impl}}
    if impl == "backtracking":
        cfg["tm"] = {"implementation": "backtracking", "cells_per_column": 8,
                     "activation_threshold": 6, "min_threshold": 4, "max_new_synapse_count": 10}
    m = HTMModel.for_data([0, 100], cfg)
    seen = set()
    for rec in _records(300):
        r = m.run(rec)
        assert r.anomaly_score == m.tm.anomaly
        seen.add(round(r.anomaly_score, 3))
    assert len(seen) > 3  # not trivially all ones


def test_old_state_layout_loads_and_continues_identically(tmp_path):
    recs = _records(260)
    for impl in ("temporal_memory", "backtracking"):
        tm = ({**SMALL["tm"]} if impl == "temporal_memory" else
              {"implementation": "backtracking", "cells_per_column": 8,
               "activation_threshold": 6, "min_threshold": 4, "max_new_synapse_count": 10})
        a = HTMModel.for_data([r["value"] for r in recs], {**SMALL, "tm": tm})
        for rec in recs[:150]:
            a.run(rec)
        b = HTMModel.from_state(_old_layout(a))
        assert "network" in b.get_state() and b.records == 150
        for rec in recs[150:]:
            assert a.run(rec) == b.run(rec)


def test_reset_resets_the_network_regions():
    m = HTMModel.for_data([0, 100], SMALL)
    for rec in _records(60):
        m.run(rec)
    m.reset()
    assert m.tm.active_cells.indices.size == 0
    assert m.run(_records(1)[0]).anomaly_score == 1.0


def test_model_network_config_builds_the_same_model():
    from htmkit.network import Network

    m = HTMModel.for_data([0, 100], SMALL)
    net = Network.from_config(m.network.to_config())
    assert net.order == m.network.order
    for rec in _records(80):
        r = m.run(rec)
        v = rec["value"]
        net.run({"value": v, "timestamp": rec["timestamp"], "predictor": v,
                 "likelihood": {"value": v, "timestamp": rec["timestamp"]}})
        assert net["likelihood"].raw_anomaly == r.anomaly_score
        assert net["likelihood"].likelihood == r.anomaly_likelihood
        assert {k: p.value for k, p in net["predictor"].predictions.items()} == r.predictions
