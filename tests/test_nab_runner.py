"""Detectors, registry, runner output layout/alignment, scoring of run output, and the CLI."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from htmkit.errors import DataError, ParameterError
from htmkit.nab import detectors, runner, scorer
from htmkit.nab.detectors import (
    DetectorError,
    DetectorUnavailableError,
    NullDetector,
    RandomDetector,
    WindowedGaussianDetector,
)

SERIES = {
    # name: (rows, [(first, last) window rows])
    "alpha/one.csv": (120, [(60, 69)]),
    "alpha/two.csv": (80, []),
    "beta/three.csv": (150, [(40, 49), (100, 114)]),
}


def make_corpus(root: Path, start="2021-03-01 00:00:00") -> Path:
    rng = np.random.default_rng(7)
    windows = {}
    for name, (n, wins) in SERIES.items():
        ts = pd.date_range(start, periods=n, freq="5min")
        vals = rng.normal(10, 1, n).round(3)
        for a, _ in wins:
            vals[a + 2] = 60.0  # an obvious spike early in each window
        path = root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["timestamp,value"] + [
            f"{t:%Y-%m-%d %H:%M:%S},{v:g}" for t, v in zip(ts, vals, strict=True)
        ]
        path.write_text("\n".join(lines) + "\n")
        windows[name] = [
            [f"{ts[a]:%Y-%m-%d %H:%M:%S}.000000", f"{ts[b]:%Y-%m-%d %H:%M:%S}.000000"]
            for a, b in wins
        ]
    (root / "labels").mkdir(parents=True)
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows, indent=1))
    # an unlabelled CSV is ignored, as NAB does
    (root / "data" / "alpha" / "unlabelled.csv").write_text("timestamp,value\n2021-01-01,1\n")
    return root


@pytest.fixture
def nab(tmp_path):
    return make_corpus(tmp_path / "nab")


# ------------------------------------------------------------------------------------------
# Detectors and registry
# ------------------------------------------------------------------------------------------

KW = dict(min_value=0.0, max_value=1.0, probationary_period=10, seed=3)


def test_baselines():
    assert NullDetector(**KW).update(None, 5.0) == 0.5
    a = [RandomDetector(**KW).update(None, 0.0) for _ in range(3)]
    r1, r2 = RandomDetector(**KW), RandomDetector(**KW)
    s1 = [r1.update(None, 0.0) for _ in range(50)]
    s2 = [r2.update(None, 0.0) for _ in range(50)]
    assert s1 == s2 and all(0 <= x < 1 for x in s1) and len(set(a)) == 1
    r3 = RandomDetector(**{**KW, "seed": 4})
    assert [r3.update(None, 0.0) for _ in range(50)] != s1


def test_windowed_gaussian():
    d = WindowedGaussianDetector(**KW, window_size=4, step_size=2)
    out = [d.update(None, v) for v in [1.0, 1.0, 3.0, 1.0, -1.0, 1.0, 1.0, 1.0]]
    assert out[0] == 0.0  # nothing seen yet
    assert out[2] == 1.0  # std 0 -> 1e-6: any change is maximally surprising
    # two-sided: a low value is as anomalous as a high one
    mean, std = np.mean([1, 1, 3, 1]), np.std([1, 1, 3, 1])
    z = abs(-1.0 - mean) / std
    assert out[4] == pytest.approx(1 - 0.5 * math.erfc(z / math.sqrt(2)))
    one = WindowedGaussianDetector(**KW, window_size=4, step_size=2, one_sided=True)
    out1 = [one.update(None, v) for v in [1.0, 1.0, 3.0, 1.0, -1.0]]
    assert out1[4] == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))  # Phi(z) for z < 0
    # statistics refresh only every step once the window is full
    d = WindowedGaussianDetector(**KW, window_size=3, step_size=2)
    for v in [0.0, 1.0, 2.0]:
        d.update(None, v)
    assert (d._mean, d._filled) == (1.0, 3)
    d.update(None, 10.0)
    assert d._mean == 1.0  # one pending value: not yet slid
    d.update(None, 20.0)
    assert d._mean == pytest.approx(32.0 / 3)  # window is now [2, 10, 20]
    with pytest.raises(ParameterError):
        WindowedGaussianDetector(**KW, window_size=3, step_size=4)


def test_registry():
    names = detectors.available_detectors()
    assert {"null", "random", "windowed_gaussian", "htmkit"} <= set(names)
    with pytest.raises(ParameterError, match="unknown detector 'nope'.*windowed_gaussian"):
        detectors.create_detector("nope", **KW)
    with pytest.raises(ParameterError, match="already registered"):
        detectors.register_detector("null", NullDetector)
    with pytest.raises(ParameterError, match="use letters"):
        detectors.register_detector("bad/name", NullDetector)
    detectors.register_detector("null_copy", NullDetector)
    try:
        assert isinstance(detectors.create_detector("null_copy", **KW), detectors.Detector)
    finally:
        detectors.unregister_detector("null_copy")
    assert "null_copy" not in detectors.available_detectors()


def test_htmkit_detector_is_lazy_and_explains_itself(nab, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "htmkit.detector", None)  # as if the module did not exist
    with pytest.raises(DetectorUnavailableError, match="htmkit.detector"):
        detectors.create_detector("htmkit", **KW)
    with pytest.raises(DetectorUnavailableError):
        runner.run("htmkit", nab, tmp_path / "res", progress=False)
    assert not (tmp_path / "res").exists()
    monkeypatch.setitem(sys.modules, "htmkit.detector", type(sys)("htmkit.detector"))
    with pytest.raises(DetectorUnavailableError, match="defines no AnomalyDetector"):
        detectors.create_detector("htmkit", **KW)


def test_htmkit_factory_uses_for_nab_when_present(monkeypatch):
    import sys
    import types

    class Fake:
        seen = None

        def __init__(self, **kw):
            Fake.seen = ("init", kw)

        @classmethod
        def for_nab(cls, **kw):
            obj = cls.__new__(cls)
            Fake.seen = ("for_nab", kw)
            return obj

        def update(self, timestamp, value):
            return 0.25

    mod = types.ModuleType("htmkit.detector")
    mod.AnomalyDetector = Fake
    monkeypatch.setitem(sys.modules, "htmkit.detector", mod)
    det = detectors.create_detector("htmkit", **KW)
    assert det.update(None, 1.0) == 0.25
    assert Fake.seen == ("for_nab", KW)
    detectors.create_detector("htmkit", **KW, config={"levels": 2})
    assert Fake.seen == ("for_nab", {**KW, "config": {"levels": 2}})
    del Fake.for_nab
    detectors.create_detector("htmkit", **KW)
    assert Fake.seen == ("init", KW)


# ------------------------------------------------------------------------------------------
# Runner
# ------------------------------------------------------------------------------------------


def test_run_layout_and_row_alignment(nab, tmp_path):
    res = tmp_path / "results"
    summary = runner.run("null", nab, res, progress=False)
    assert [s.name for s in summary.series] == sorted(SERIES)
    assert summary.rows == sum(n for n, _ in SERIES.values())
    for name, (n, wins) in SERIES.items():
        cat, file = name.split("/")
        path = res / "null" / cat / f"null_{file}"
        assert path == runner.result_path(res, "null", name) and path.is_file()
        out = pd.read_csv(path, dtype=str)
        data = pd.read_csv(nab / "data" / name, dtype=str)
        assert list(out.columns) == ["timestamp", "value", "anomaly_score", "label"]
        assert len(out) == n
        assert out["timestamp"].tolist() == data["timestamp"].tolist()
        assert out["value"].tolist() == data["value"].tolist()  # text copied verbatim
        assert set(out["anomaly_score"]) == {"0.5"}
        expected = np.zeros(n, int)
        for a, b in wins:
            expected[a : b + 1] = 1
        assert out["label"].astype(int).tolist() == expected.tolist()
    assert not (res / "null" / "alpha" / "null_unlabelled.csv").exists()
    assert not list(res.rglob("*.tmp"))


def test_parallel_run_matches_serial_and_filters_series(nab, tmp_path):
    serial = runner.run("windowed_gaussian", nab, tmp_path / "s", progress=False)
    par = runner.run("windowed_gaussian", nab, tmp_path / "p", workers=2, progress=False)
    assert [s.name for s in par.series] == [s.name for s in serial.series]
    for s in serial.series:
        other = runner.result_path(tmp_path / "p", "windowed_gaussian", s.name)
        assert other.read_text() == s.path.read_text()
    only = runner.run("random", nab, tmp_path / "f", series="beta/*", progress=False)
    assert [s.name for s in only.series] == ["beta/three.csv"]
    with pytest.raises(DataError, match="no labelled series match"):
        runner.run("random", nab, tmp_path / "f", series="zzz", progress=False)
    with pytest.raises(ParameterError):
        runner.run("random", nab, tmp_path / "f", workers=0, progress=False)


def test_run_passes_nab_arguments_and_checks_scores(nab, tmp_path):
    seen = {}

    class Spy:
        name = "spy"

        def __init__(self, *, min_value, max_value, probationary_period, seed):
            self.args = (min_value, max_value, probationary_period, seed)
            self.rows = 0

        def update(self, timestamp, value):
            assert isinstance(timestamp, pd.Timestamp) and isinstance(value, float)
            self.rows += 1
            seen[self.args] = self.rows
            return float("nan") if value == 60.0 and self.args[3] == 99 else 0.1

    detectors.register_detector("spy", Spy)
    try:
        runner.run("spy", nab, tmp_path / "r", seed=5, series="two", progress=False)
        data = pd.read_csv(nab / "data" / "alpha" / "two.csv")
        (args,) = seen
        assert args == (data.value.min(), data.value.max(), 12, 5)  # floor(0.15 * 80) = 12
        with pytest.raises(
            DetectorError, match=r"non-finite score.*row 62 \(line 64\) of alpha/one.csv"
        ):
            runner.run("spy", nab, tmp_path / "r", seed=99, series="one", progress=False)
    finally:
        detectors.unregister_detector("spy")


def test_run_with_config_writes_under_its_label(nab, tmp_path):
    seen = []

    class Configurable:
        def __init__(self, *, min_value, max_value, probationary_period, seed, config=None):
            seen.append(config)

        def update(self, timestamp, value):
            return 0.2

    detectors.register_detector("conf", Configurable)
    try:
        res = tmp_path / "r"
        s = runner.run("conf", nab, res, series="two", progress=False,
                       config={"levels": 2}, label="conf-two")
        assert s.detector == "conf-two" and seen and all(c == {"levels": 2} for c in seen)
        assert (res / "conf-two" / "alpha" / "conf-two_two.csv").is_file()
        assert not (res / "conf").exists()
        with pytest.raises(ParameterError, match="detector name"):
            runner.run("conf", nab, res, series="two", progress=False, label="../x")
        with pytest.raises(ParameterError, match="must be a mapping"):
            detectors.create_detector("conf", **KW, config=[1])  # type: ignore[arg-type]
    finally:
        detectors.unregister_detector("conf")
    with pytest.raises(ParameterError, match="'null' takes no config"):
        runner.run("null", nab, tmp_path / "n", progress=False, config={"a": 1})
    assert not (tmp_path / "n").exists()


# ------------------------------------------------------------------------------------------
# Scoring run output
# ------------------------------------------------------------------------------------------


class WindowStart:
    """Fires exactly at each window start of the tiny corpus (uses the spike at start + 2)."""

    name = "oracle"

    def __init__(self, **kw):
        self.prev = []

    def update(self, timestamp, value):
        self.prev.append(value)
        return 1.0 if value == 60.0 else 0.0


def test_scores_of_run_output(nab, tmp_path):
    res = tmp_path / "res"
    runner.run("null", nab, res, progress=False)
    null = scorer.score("null", res, nab)
    for p in scorer.PROFILES:
        assert null.profiles[p].score == pytest.approx(0.0)
    assert null.n_windows == 3 and null.n_series == 3
    detectors.register_detector("oracle", WindowStart)
    try:
        runner.run("oracle", nab, res, progress=False)
    finally:
        detectors.unregister_detector("oracle")
    rep = scorer.score("oracle", res, nab)
    std = rep.profiles["standard"]
    assert std.windows_detected == 3 and std.fp == 0 and std.threshold == 1.0
    # detection two rows into each window: close to, but below, perfect
    assert 95 < std.score < 100
    assert rep.categories["alpha"]["standard"].windows == 1
    assert rep.categories["beta"]["standard"].windows_detected == 2
    assert rep.series["beta/three.csv"]["standard"].first_detections == (42, 102)


def test_scorer_rejects_misaligned_results(nab, tmp_path):
    res = tmp_path / "res"
    runner.run("random", nab, res, series="one", progress=False)
    path = runner.result_path(res, "random", "alpha/one.csv")
    with pytest.raises(DataError, match="random_two.csv.*does not exist"):
        scorer.score("random", res, nab)
    df = pd.read_csv(path, dtype=str)
    df.drop(index=5).to_csv(path, index=False)
    with pytest.raises(DataError, match="119 rows but alpha/one.csv has 120"):
        scorer.score("random", res, nab, series="one")
    df.loc[3, "timestamp"] = "2021-03-01 00:16:00"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match="line 5: timestamp"):
        scorer.score("random", res, nab, series="one")
    df.loc[3, "timestamp"] = pd.read_csv(nab / "data" / "alpha" / "one.csv").timestamp[3]
    df.loc[7, "anomaly_score"] = "oops"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match="line 9, column 'anomaly_score'"):
        scorer.score("random", res, nab, series="one")


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def test_cli_run_score_bench(nab, tmp_path):
    from typer.testing import CliRunner

    from htmkit.cli import commands  # noqa: F401
    from htmkit.cli.main import app

    cli = CliRunner(env={"COLUMNS": "200"})
    res = tmp_path / "res"
    common = ["--nab-dir", str(nab), "--results", str(res)]
    r = cli.invoke(app, ["nab", "run", "-d", "windowed_gaussian", "-q", *common])
    assert r.exit_code == 0, r.output
    assert "3 series" in r.output
    r = cli.invoke(app, ["nab", "score", "-d", "windowed_gaussian", *common])
    assert r.exit_code == 0, r.output
    assert "reward_low_FN_rate" in r.output and "beta" in r.output
    report = json.loads((res / "windowed_gaussian" / "scores.json").read_text())
    assert set(report["profiles"]) == set(scorer.PROFILES)
    r = cli.invoke(
        app, ["nab", "bench", "--detectors", "null,windowed_gaussian", "--reuse", "-q", *common]
    )
    assert r.exit_code == 0, r.output
    assert "published, not measured" in r.output and "ARTime" in r.output
    bench = json.loads((res / "bench.json").read_text())
    assert bench["measured"]["null"]["scores"]["standard"] == pytest.approx(0.0)
    assert bench["measured"]["windowed_gaussian"]["reused_results"] is True
    assert bench["published"]["Numenta HTM"]["standard"] == 70.1
    r = cli.invoke(app, ["nab", "score", "-d", "random", *common])
    assert r.exit_code == 2 and "does not exist" in r.output
    r = cli.invoke(app, ["nab", "run", "-d", "nope", *common])
    assert r.exit_code == 2 and "unknown detector" in r.output
    cfg = tmp_path / "window.yaml"
    cfg.write_text("window_size: 50\n")
    r = cli.invoke(app, ["nab", "run", "-d", "windowed_gaussian", "--config", str(cfg), *common])
    assert r.exit_code == 2 and "'windowed_gaussian' takes no config" in r.output
    cfg.write_text("- a list\n")
    r = cli.invoke(app, ["nab", "run", "-d", "htmkit", "--config", str(cfg), *common])
    assert r.exit_code == 2 and "top level must be a mapping" in r.output
    r = cli.invoke(app, ["nab", "run", "-d", "htmkit", "--config", str(tmp_path / "no.yaml"),
                         *common])
    assert r.exit_code == 2 and "no such file" in r.output
    r = cli.invoke(app, ["nab", "list", "--nab-dir", str(nab)])
    assert r.exit_code == 0 and "beta/three.csv  (2 windows)" in r.output
