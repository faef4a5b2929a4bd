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
