"""NAB scoring on hand-built cases, and the vectorised sweep against a plain per-row loop."""

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmkit.nab import scorer
from htmkit.nab.scorer import PROFILES, layout_series, scaled_sigmoid, score_layouts, sweep
from htmkit.serialization import write_json_atomic

STD = PROFILES["standard"]
N = 100  # probation = floor(0.15 * 100) = 15
WINDOWS = [[40, 49], [70, 79]]


def spikes(rows, n=N, value=1.0):
    s = np.zeros(n)
    s[list(rows)] = value
    return s


def one(scores, windows=WINDOWS, name="cat/a.csv"):
    return [layout_series(name, scores, windows)]


def raw_at(scores, threshold=1.0, cost=STD, windows=WINDOWS):
    return scorer.score_series(layout_series("cat/a.csv", scores, windows), cost, threshold).raw


# ------------------------------------------------------------------------------------------
# Reference: the rules written out row by row (independent of the vectorised code)
# ------------------------------------------------------------------------------------------


def sig(x):
    return -1.0 if x > 3.0 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def reference_raw(scores, windows, cost, threshold):
    n = len(scores)
    probation = min(math.floor(0.15 * n), 0.15 * 5000)
    total = 0.0
    best = {}  # window index -> best reward so far
    for k, (_a, b) in enumerate(windows):
        if b >= probation:
            best[k] = -cost.fn
    for i in range(n):
        if i < probation or scores[i] < threshold:
            continue
        inside = [k for k, (a, b) in enumerate(windows) if a <= i <= b]
        if inside:
            k = inside[0]
            a, b = windows[k]
            reward = cost.tp * sig(-(b - i + 1) / (b - a + 1)) / sig(-1.0)
            best[k] = max(best[k], reward)
        else:
            before = [(a, b) for (a, b) in windows if b < i]
            if not before:
                total -= cost.fp
            else:
                a, b = before[-1]
                # a one-row window has no width to scale by: treated as far away
                total += cost.fp * (sig((i - b) / (b - a)) if b > a else -1.0)
    return total + sum(best.values())


# ------------------------------------------------------------------------------------------
# Hand-built cases
# ------------------------------------------------------------------------------------------


def test_scaled_sigmoid_landmarks():
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.5) == -1.0
    assert np.all(np.diff(scaled_sigmoid(np.linspace(-1, 3, 50))) < 0)


def test_perfect_detector_scores_100_and_null_scores_0():
    perfect = score_layouts("perfect", one(spikes([40, 70])))
    null = score_layouts("null", one(np.full(N, 0.5)))
    never = score_layouts("never", one(np.zeros(N)))
    for p in PROFILES:
        assert perfect.profiles[p].score == pytest.approx(100.0)
        assert perfect.profiles[p].raw == pytest.approx(2.0)
        assert null.profiles[p].score == pytest.approx(0.0)
        assert never.profiles[p].score == pytest.approx(0.0)
    # the null baseline is the never-firing score: -A_FN per window
    assert null.profiles["standard"].null == pytest.approx(-2.0)
    assert null.profiles["reward_low_FN_rate"].null == pytest.approx(-4.0)
    assert perfect.profiles["standard"].windows_detected == 2


def test_earlier_detection_in_window_scores_more():
    first = raw_at(spikes([40, 70]))
    middle = raw_at(spikes([45, 70]))
    last = raw_at(spikes([49, 70]))
    assert first == pytest.approx(2.0)
    assert first > middle > last > 1.0  # still a true positive at the last row
    # the reward at the last row is sigma(-1/10) / sigma(-1)
    assert last - 1.0 == pytest.approx(scaled_sigmoid(-0.1) / scaled_sigmoid(-1.0))
    # only the first detection in a window counts
    assert raw_at(spikes([40, 41, 45, 70])) == pytest.approx(first)


def test_false_positive_after_window_costs_less_than_far_away():
    base = raw_at(spikes([40, 70]))
    near = raw_at(spikes([40, 70, 50])) - base  # right after the first window
    far = raw_at(spikes([40, 70, 65])) - base  # (65-49)/9 > 1 past the first window
    before_any = raw_at(spikes([40, 70, 20])) - base  # no preceding window
    assert 0 > near > far > -STD.fp
    assert before_any == pytest.approx(-STD.fp)
    assert near == pytest.approx(STD.fp * scaled_sigmoid(1 / 9))
    assert far == pytest.approx(STD.fp * scaled_sigmoid(16 / 9))
    # more than 3 (window widths - 1) past a window costs the full weight
    narrow = [[40, 42]]
    assert raw_at(spikes([40, 49]), windows=narrow) - raw_at(spikes([40]), windows=narrow) == (
        pytest.approx(-STD.fp)
    )


def test_missed_window_penalty_per_profile():
    for name, cost in PROFILES.items():
        hit_both = raw_at(spikes([40, 70]), cost=cost)
        miss_one = raw_at(spikes([40]), cost=cost)
        assert hit_both - miss_one == pytest.approx(cost.tp + cost.fn), name


def test_probationary_rows_are_not_scored():
    assert raw_at(spikes([40, 70, 3, 14])) == pytest.approx(2.0)  # rows < 15 ignored
    assert raw_at(spikes([40, 70, 15])) == pytest.approx(2.0 - STD.fp)
    # probation is min(floor(0.15 n), 750)
    big = layout_series("x", np.zeros(10_000), [])
    assert big.probation == 750
    # a window that ends inside probation counts neither as hit nor as miss
    rep = score_layouts("x", [layout_series("c/x.csv", np.zeros(N), [[5, 10], [40, 49]])])
    assert rep.profiles["standard"].null == pytest.approx(-1.0)
    assert rep.profiles["standard"].perfect == pytest.approx(2.0)  # NAB counts every window


def test_profiles_are_nabs():
    assert PROFILES["standard"] == scorer.CostMatrix(tp=1.0, fp=0.11, fn=1.0, tn=1.0)
    assert PROFILES["reward_low_FP_rate"] == scorer.CostMatrix(tp=1.0, fp=0.22, fn=1.0)
    assert PROFILES["reward_low_FN_rate"] == scorer.CostMatrix(tp=1.0, fp=0.11, fn=2.0)


# ------------------------------------------------------------------------------------------
# Threshold sweep
# ------------------------------------------------------------------------------------------


def test_sweep_finds_the_optimum_on_a_toy_case():
    # 0.9: early hits in both windows; 0.8: one FP far away (worth it only if cheap);
    # 0.7: many FPs. The best threshold is 0.9 for every profile.
    s = np.full(N, 0.1)
    s[[41, 72]] = 0.9
    s[95] = 0.8
    s[20:30] = 0.7
    sw = sweep(one(s), STD)
    assert sw.thresholds[0] == scorer.NOTHING_THRESHOLD
    assert sw.scores[0] == pytest.approx(-2.0)  # nothing detected: two misses
    assert list(sw.thresholds[:5]) == pytest.approx([1.1, 0.9, 0.8, 0.7, 0.1])
    assert sw.threshold == pytest.approx(0.9)
    assert sw.score == pytest.approx(raw_at(s, 0.9))
    assert sw.scores[2] == pytest.approx(sw.scores[1] + STD.fp * scaled_sigmoid(16 / 9))
    assert sw.tp[1] == 2 and sw.fp[1] == 0 and sw.fp[2] == 1
    # counts always add up to the scored rows
    assert np.all(sw.tp + sw.fp + sw.fn + sw.tn == N - 15)
    rep = score_layouts("toy", one(s))
    assert rep.profiles["standard"].threshold == pytest.approx(0.9)


def test_sweep_optimises_the_corpus_total_not_each_series():
    # series a wants threshold 0.6, series b 0.9; the corpus optimum is one shared threshold
    a = np.zeros(N)
    a[45] = 0.6
    b = np.zeros(N)
    b[[41, 71]] = 0.9
    b[90:92] = 0.6
    layouts = [layout_series("c/a.csv", a, [[40, 49]]), layout_series("c/b.csv", b, WINDOWS)]
    sw = sweep(layouts, STD)
    totals = {
        t: sum(scorer.score_series(L, STD, t).raw for L in layouts) for t in (1.1, 0.9, 0.6, 0.0)
    }
    assert sw.score == pytest.approx(max(totals.values()))
    assert sw.threshold == max(totals, key=lambda t: (totals[t], t))


def test_ties_go_to_the_higher_threshold():
    s = np.zeros(N)  # 0.5 marks nothing useful and nothing harmful: rows in probation
    s[:10] = 0.5
    sw = sweep(one(s), STD)
    assert sw.threshold == scorer.NOTHING_THRESHOLD


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=20, max_size=70),
    st.lists(st.tuples(st.integers(0, 69), st.integers(0, 8)), max_size=3),
    st.sampled_from(list(PROFILES)),
)
def test_sweep_matches_the_row_by_row_rules(levels, raw_windows, profile):
    n = len(levels)
    scores = np.array(levels, dtype=float) / 6.0
    windows = []
    for a, w in sorted(raw_windows):
        b = a + w
        if b < n and (not windows or a > windows[-1][1]):
            windows.append([a, b])
    cost = PROFILES[profile]
    sw = sweep([layout_series("c/x.csv", scores, windows)], cost)
    for t, got in zip(sw.thresholds, sw.scores, strict=True):
        assert got == pytest.approx(reference_raw(scores, windows, cost, t), abs=1e-9)
        direct = scorer.score_series(layout_series("c/x.csv", scores, windows), cost, t).raw
        assert direct == pytest.approx(got, abs=1e-9)
    # every distinct score is a candidate
    assert set(np.round(sw.thresholds[1:], 12)) == set(
        np.round(np.unique(scores[n * 15 // 100 :]), 12)
    )


def test_sweep_is_fast_on_a_nab_sized_corpus():
    rng = np.random.default_rng(0)
    layouts = [
        layout_series(f"c{k % 7}/s{k}.csv", rng.random(6300), [[2000, 2300], [4000, 4300]])
        for k in range(58)
    ]
    t0 = time.perf_counter()
    rep = score_layouts("random", layouts)
    assert time.perf_counter() - t0 < 10.0  # ~0.5 s here: three profiles plus the null sweeps
    assert set(rep.categories) == {f"c{k}" for k in range(7)}
    total = sum(rep.series[n]["standard"].raw for n in rep.series)
    assert total == pytest.approx(rep.profiles["standard"].raw)


def test_digits_rounding_merges_near_ties():
    s = np.zeros(N)
    s[[40, 70]] = 1.0
    s[95] = 0.99999999999995  # a false positive that 12 significant digits turn into 1.0
    full = score_layouts("x", one(s))
    rounded = score_layouts("x", one(s), digits=12)
    assert full.profiles["standard"].threshold == 1.0
    assert full.profiles["standard"].score == pytest.approx(100.0)
    assert rounded.profiles["standard"].fp == 1
    assert rounded.profiles["standard"].score < 100.0
    assert rounded.digits == 12


def test_report_to_dict_is_json_ready(tmp_path):
    import json

    rep = score_layouts("perfect", one(spikes([40, 70])))
    path = write_json_atomic(rep.to_dict(), tmp_path / "r.json")
    back = json.loads(path.read_text())
    assert back["profiles"]["standard"]["score"] == pytest.approx(100.0)
    assert back["series"]["cat/a.csv"]["standard"]["first_detections"] == [40, 70]
    assert back["categories"]["cat"]["standard"]["windows"] == 2
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


def test_bad_inputs_raise_data_errors():
    from htmkit.errors import DataError

    with pytest.raises(DataError, match="row 3"):
        layout_series("c/x.csv", [0, 0, 0, np.nan] + [0] * 10, [])
    with pytest.raises(DataError, match="outside"):
        layout_series("c/x.csv", np.zeros(10), [[5, 12]])
    with pytest.raises(DataError, match="overlap"):
        layout_series("c/x.csv", np.zeros(30), [[5, 12], [10, 20]])
