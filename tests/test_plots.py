"""The anomaly picture shared by ``htmkit demo``, ``htmkit run --plot`` and
``htmkit anomaly --plot`` marks exactly the flagged records, shades the probationary period
and draws the threshold; the commands write it; their help shows flags as flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import htmkit.cli.commands  # noqa: F401  (registers the commands)
from htmkit.apps.plots import flagged_records, plot_anomalies
from htmkit.apps.runner import plot_run
from htmkit.cli.main import app

pytest.importorskip("matplotlib")

runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n"


def _scatter(ax):
    from matplotlib.collections import PathCollection

    found = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(found) == 1
    return np.asarray(found[0].get_offsets())


def _span(ax):
    """(x0, x1) of the one shaded span of ``ax``."""
    from matplotlib.patches import Polygon, Rectangle

    spans = [p for p in ax.patches if isinstance(p, (Rectangle, Polygon))]
    assert len(spans) == 1
    box = spans[0].get_path().transformed(spans[0].get_patch_transform())
    xs = np.asarray(box.vertices)[:, 0]
    return float(xs.min()), float(xs.max())


def _threshold_line(ax):
    lines = [ln for ln in ax.get_lines() if str(ln.get_label()).startswith("threshold")]
    assert len(lines) == 1
    return lines[0]


@pytest.fixture
def series():
    rng = np.random.default_rng(3)
    n = 400
    values = np.sin(np.arange(n) / 7.0) + rng.normal(0, 0.1, n)
    scores = rng.uniform(0, 0.45, n)
    scores[[5, 30, 99]] = 0.9  # inside the probationary period: not flagged
    scores[[100, 150, 151, 300]] = [0.5, 0.7, 1.0, 0.55]  # flagged (0.5 is "at" the threshold)
    scores[200] = 0.4999  # just under
    return np.arange(2, n + 2), values, scores


def test_flagged_records_are_at_or_above_threshold_after_probation(series):
    _, _, scores = series
    assert np.flatnonzero(flagged_records(scores, 0.5, 100)).tolist() == [100, 150, 151, 300]
    assert np.flatnonzero(flagged_records(scores, 0.5, 0)).tolist() == [5, 30, 99, 100, 150,
                                                                        151, 300]


def test_plot_marks_exactly_the_flagged_records(series, tmp_path):
    x, values, scores = series
    path = tmp_path / "sub" / "a.png"
    fig = plot_anomalies(x, values, scores, threshold=0.5, probation=100, path=path,
                         title="t")
    ax1, ax2 = fig.axes[:2]
    flagged = [100, 150, 151, 300]
    assert np.array_equal(_scatter(ax1), np.column_stack([x[flagged], values[flagged]]))
    assert np.array_equal(_scatter(ax2), np.column_stack([x[flagged], scores[flagged]]))
    line = _threshold_line(ax2)
    assert np.all(np.asarray(line.get_ydata()) == 0.5)
    assert "0.5" in str(line.get_label())
    for ax in (ax1, ax2):  # the span covers records 0..99 and ends where record 100 starts
        assert _span(ax) == (float(x[0]), float(x[100]))
    assert "4 flagged records" in ax1.get_title() and "100" in ax1.get_title()
    assert "log" in ax2.get_ylabel()
    assert path.read_bytes()[:8] == PNG


def test_plot_with_timestamps_threshold_and_probation_longer_than_the_series(series):
    import matplotlib.dates as mdates

    _, values, scores = series
    stamps = pd.date_range("2020-01-01", periods=len(values), freq="h")
    fig = plot_anomalies(stamps.to_numpy(), values, scores, threshold=0.6, probation=140)
    ax1, ax2 = fig.axes[:2]
    flagged = [150, 151]
    assert np.allclose(_scatter(ax1), np.column_stack(
        [mdates.date2num(stamps[flagged]), values[flagged]]))
    assert np.all(np.asarray(_threshold_line(ax2).get_ydata()) == 0.6)
    assert np.allclose(_span(ax1), mdates.date2num([stamps[0], stamps[140]]))
    # a probationary period longer than the series shades all of it and flags nothing
    fig = plot_anomalies(stamps.to_numpy(), values, scores, probation=10_000)
    assert _scatter(fig.axes[0]).shape[0] == 0
    assert np.allclose(_span(fig.axes[0]), mdates.date2num([stamps[0], stamps[-1]]))


def test_plot_refuses_mismatched_lengths(series):
    x, values, scores = series
    with pytest.raises(ValueError, match="one entry per record"):
        plot_anomalies(x[:-1], values, scores)


def test_run_plot_scores_the_log_likelihood(series, tmp_path):
    x, values, scores = series
    frame = pd.DataFrame({"line": x, "value": values, "prediction_1": values,
                          "anomaly_score": np.zeros(len(x)), "anomaly_likelihood": 0.5,
                          "log_likelihood": scores})
    fig = plot_run(frame, (1,), tmp_path / "r.png", probation=100)
    flagged = [100, 150, 151, 300]
    assert np.array_equal(_scatter(fig.axes[0]), np.column_stack([x[flagged],
                                                                 values[flagged]]))
    assert np.all(np.asarray(_threshold_line(fig.axes[1]).get_ydata()) == 0.5)
    assert (tmp_path / "r.png").read_bytes()[:8] == PNG


@pytest.fixture
def hourly_csv(tmp_path):
    """Sixty hourly records in a CSV file."""
    path = tmp_path / "d.csv"
    stamps = pd.date_range("2020-01-01", periods=60, freq="h")
    pd.DataFrame({"timestamp": stamps, "value": np.arange(60) % 5}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["anomaly", "run"])
def test_cli_writes_the_png(command, hourly_csv, tmp_path):
    png = tmp_path / "out" / "p.png"
    res = runner.invoke(app, [command, str(hourly_csv), "--plot", str(png), "--quiet"])
    assert res.exit_code == 0, res.output
    assert f"wrote {png}" in res.output
    assert png.read_bytes()[:8] == PNG


@pytest.mark.parametrize("args", [["run"], ["anomaly"], ["nab", "run"], ["nab", "bench"],
                                  ["bench", "tm"], ["demo"], []])
def test_help_shows_flags_without_bool(args):
    res = runner.invoke(app, [*args, "--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.output
    assert "once it exists" not in res.output
    assert "--help" in res.output
