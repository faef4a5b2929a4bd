"""River's detectors as NAB baselines (river-hst, river-pad) and the records/s the runner
reports."""

from __future__ import annotations

import math

import numpy as np
import pytest

from htmkit.nab import bench, detectors, runner

pytest.importorskip("river", reason="River is not installed (pip install 'htmkit[river]')")
# importing River's detectors takes seconds: the slow tier
pytestmark = pytest.mark.slow

from test_nab_runner import make_corpus  # noqa: E402


def _series(n=600, seed=0):
    rng = np.random.default_rng(seed)
    vals = 10 + np.sin(np.arange(n) / 6.0) + 0.05 * rng.standard_normal(n)
    vals[500] = 30.0  # far outside everything seen
    return vals


@pytest.mark.parametrize("name", ["river-hst", "river-pad", "river-gaussian"])
def test_river_baselines_score_in_unit_interval_and_flag_a_spike(name):
    assert name in detectors.available_detectors()
    vals = _series()

    def run(seed):
        det = detectors.create_detector(name, min_value=float(vals.min()),
                                        max_value=float(vals.max()), probationary_period=100,
                                        seed=seed)
        return np.array([det.update(None, float(v)) for v in vals])

    a, b = run(1), run(1)
    assert np.array_equal(a, b)  # same seed, same scores
    assert np.all((a >= 0) & (a <= 1)) and np.all(np.isfinite(a))
    # the spike scores at least as high as every ordinary record between the warm-up and the
    # spike (PAD caps its score at 1) and above nearly all of them
    normal = a[300:500]
    assert a[500] >= normal.max() and a[500] > np.percentile(normal, 95)


def test_hst_seed_matters():
    vals = _series()
    out = []
    for seed in (1, 2):
        det = detectors.create_detector("river-hst", min_value=float(vals.min()),
                                        max_value=float(vals.max()), probationary_period=100,
                                        seed=seed)
        out.append([det.update(None, float(v)) for v in vals])
    assert out[0] != out[1]


def test_flat_series_is_scored():
    det = detectors.create_detector("river-hst", min_value=5.0, max_value=5.0,
                                    probationary_period=10, seed=1)
    assert all(math.isfinite(det.update(None, 5.0)) for _ in range(300))


def test_bench_reports_records_per_second(tmp_path):
    nab = make_corpus(tmp_path / "nab")
    rows = bench.bench(["river-hst", "null"], nab, tmp_path / "res", progress=False)
    for row in rows:
        assert row.records_per_second is not None and row.records_per_second > 0
    data = bench.bench_to_dict(rows)
    assert data["measured"]["river-hst"]["records_per_second"] == rows[0].records_per_second
    s = runner.run("river-pad", nab, tmp_path / "res", progress=False)
    assert s.rows == 350 and all(r.detect_seconds > 0 for r in s.series)
    assert s.records_per_second == pytest.approx(
        s.rows / sum(r.detect_cpu_seconds for r in s.series))
