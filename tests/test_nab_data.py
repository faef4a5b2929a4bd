"""Checks on the real NAB corpus; skipped when ../shared/data/nab is not present."""

from pathlib import Path

import numpy as np
import pytest

from htmkit.nab import corpus, runner, scorer
from htmkit.nab.detectors import WindowedGaussianDetector


def _find_nab() -> Path | None:
    for c in (Path("../shared/data/nab"), Path("/work/shared/data/nab"), corpus.default_nab_dir()):
        if (c / "data").is_dir() and (c / corpus.WINDOWS_FILE).is_file():
            return c
    return None


NAB = _find_nab()
pytestmark = pytest.mark.skipif(
    NAB is None,
    reason="NAB corpus not found at ../shared/data/nab or /work/shared/data/nab",
)
SOME = "nyc_taxi,art_daily_jumpsup,ec2_cpu_utilization_825cc2"


def test_corpus_shape_and_windows():
    names = corpus.list_series(NAB)
    windows = corpus.load_windows(NAB)
    assert len(names) == 58 and sorted(windows) == names
    assert sum(len(w) for w in windows.values()) == 116
    rows = 0
    for name in names:
        s = corpus.read_series(NAB, name)
        rows += len(s)
        b = corpus.window_bounds(s, windows[name])
        # every NAB window ends after the probationary period
        assert np.all(b[:, 1] >= corpus.probationary_period(len(s)))
    assert rows == 365_558


def test_windowed_gaussian_reproduces_nab_result_rows():
    """Values quoted from NAB's results/windowedGaussian/realKnownCause/..._nyc_taxi.csv."""
    s = corpus.read_series(NAB, "realKnownCause/nyc_taxi.csv")
    d = WindowedGaussianDetector(
        min_value=0, max_value=1, probationary_period=750, seed=0, one_sided=True
    )
    out = np.array([d.update(None, v) for v in s.values.tolist()])
    published = {
        "2014-07-01 01:00:00": 0.00795191207566,
        "2014-07-01 06:30:00": 0.993728103568,
        "2014-07-30 17:00:00": 0.542429514782,
        "2014-08-05 15:00:00": 0.641394500366,  # row 1710: sliding phase not reached yet
    }
    where = {t: i for i, t in enumerate(s.raw_timestamps)}
    for t, v in published.items():
        assert out[where[t]] == pytest.approx(v, abs=1e-11)


def test_null_and_windowed_gaussian_on_three_series(tmp_path):
    for det in ("null", "windowed_gaussian"):
        runner.run(det, NAB, tmp_path, series=SOME, progress=False)
    null = scorer.score("null", tmp_path, NAB, series=SOME)
    wg = scorer.score("windowed_gaussian", tmp_path, NAB, series=SOME)
    assert null.n_series == 3 and null.n_windows == 7
    for p in scorer.PROFILES:
        assert null.profiles[p].score == pytest.approx(0.0)
        assert null.profiles[p].threshold == scorer.NOTHING_THRESHOLD
    # regression values of this implementation (full-precision scores)
    got = {p: v.score for p, v in wg.profiles.items()}
    assert got == pytest.approx(
        {"standard": 61.41, "reward_low_FP_rate": 43.38, "reward_low_FN_rate": 72.83}, abs=0.01
    )
    assert wg.profiles["standard"].windows_detected == 6
