"""Raw anomaly score and Numenta's anomaly likelihood."""

import collections
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmkit.anomaly import (
    AnomalyLikelihood,
    AnomalyLikelihoodParams,
    compute_log_likelihood,
    raw_anomaly,
    tail_probability,
)
from htmkit.errors import FormatError, InputError, ParameterError
from htmkit.sdr import SDR

# ---------------------------------------------------------------------------- raw score


def test_raw_anomaly_hand_cases():
    assert raw_anomaly(SDR(10, [1, 2, 3, 4]), SDR(10, [1, 2])) == 0.5
    assert raw_anomaly(SDR(10, [1, 2, 3, 4]), SDR(10, [1, 2, 3, 4, 5])) == 0.0
    assert raw_anomaly(SDR(10, [1, 2, 3, 4]), SDR(10)) == 1.0
    assert raw_anomaly(SDR(10, [0, 5, 9]), SDR(10, [9])) == pytest.approx(2 / 3)
    assert raw_anomaly(SDR(10), SDR(10, [1, 2])) == 0.0  # nothing active: nothing unexpected
    assert raw_anomaly(SDR(10), SDR(10)) == 0.0
    # index arrays are accepted as well
    assert raw_anomaly(np.array([3, 1]), [1]) == 0.5


def test_raw_anomaly_size_mismatch():
    with pytest.raises(InputError):
        raw_anomaly(SDR(10, [1]), SDR(11, [1]))
    with pytest.raises(InputError):
        raw_anomaly(np.array([0.5]), [1])


sdr_pairs = st.integers(1, 200).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.sets(st.integers(0, n - 1), max_size=n),
        st.sets(st.integers(0, n - 1), max_size=n),
    )
)


@settings(max_examples=200, deadline=None)
@given(sdr_pairs)
def test_raw_anomaly_properties(case):
    n, active, predicted = case
    a, p = SDR(n, sorted(active)), SDR(n, sorted(predicted))
    score = raw_anomaly(a, p)
    assert 0.0 <= score <= 1.0
    expected = len(active - predicted) / len(active) if active else 0.0
    assert score == pytest.approx(expected)
    # active subset of predicted -> no anomaly
    assert raw_anomaly(a, a | p) == 0.0
    # nothing predicted -> full anomaly whenever something is active
    assert raw_anomaly(a, SDR(n)) == (1.0 if active else 0.0)


# ---------------------------------------------------------------------------- helpers


def test_log_likelihood_hand_values():
    denom = math.log(1.0 - 0.9999999999)
    for lk in (0.0, 0.5, 0.9, 0.999, 0.99999, 1.0):
        assert compute_log_likelihood(lk) == pytest.approx(math.log(1.0000000001 - lk) / denom)
    assert compute_log_likelihood(0.5) == pytest.approx(0.0301, abs=1e-4)
    assert compute_log_likelihood(0.99999) == pytest.approx(0.5, abs=1e-5)
    assert compute_log_likelihood(1.0) == pytest.approx(1.0)
    assert abs(compute_log_likelihood(0.0)) < 1e-9
    assert AnomalyLikelihood.compute_log_likelihood(0.999) == compute_log_likelihood(0.999)
    assert denom == pytest.approx(-23.02585084720009, rel=1e-15)


def test_tail_probability():
    assert tail_probability(0.5, 0.5, 0.1) == 0.5
    # symmetric around the mean
    assert tail_probability(0.7, 0.5, 0.1) == pytest.approx(tail_probability(0.3, 0.5, 0.1))
    assert tail_probability(0.5 + 0.1, 0.5, 0.1) == pytest.approx(0.1587, abs=1e-3)
    assert tail_probability(2.0, 0.0, 0.1) < 1e-40


# ---------------------------------------------------------------------------- reference
# A literal (slow) transcription of the NuPIC algorithm with lists and a deque, used to check the
# vectorised implementation, including re-estimation, skip records and the red-zone filter.


class _Reference:
    def __init__(self, learning, estimation, window, reestimation, averaging=10):
        self.it = 0
        self.hist = collections.deque(maxlen=window)
        self.learning, self.reest, self.avg_w = learning, reestimation, averaging
        self.prob = learning + estimation
        self.dist = None

    @staticmethod
    def _tail(x, d):
        if x < d["mean"]:
            x = 2 * d["mean"] - x
        return 0.5 * math.erfc((x - d["mean"]) / d["stdev"] / 1.4142)

    def _moving(self, window, total, v):
        if len(window) == self.avg_w:
            total -= window.pop(0)
        window.append(v)
        total += v
        return total / len(window), window, total

    def _estimate(self):
        shifted = max(0, self.it - self.hist.maxlen)
        skip = min(self.it, max(0, self.learning - shifted))
        window, total, avgs = [], 0.0, []
        for _, _, s in self.hist:
            a, window, total = self._moving(window, total, s)
            avgs.append(a)
        if len(avgs) <= skip:
            d = {"mean": 0.5, "stdev": 1e3}
        else:
            data = np.array(avgs[skip:])
            mean, var = max(np.mean(data), 0.03), max(np.var(data), 0.0003)
            d = {"mean": mean, "stdev": math.sqrt(var)}
            vals = [r[1] for r in self.hist]
            if all(v is not None for v in vals) and np.var(vals[skip:]) < 1.5e-5:
                d = {"mean": 0.5, "stdev": 1e3}
        lks = [self._tail(a, d) for a in avgs]
        self.dist = {"d": d, "window": window, "total": total, "lks": lks[-self.avg_w:]}

    def update(self, score, value=None):
        if self.it < self.prob:
            out = 0.5
        else:
            if self.dist is None or self.it % self.reest == 0:
                self._estimate()
            p = self.dist
            a, p["window"], p["total"] = self._moving(p["window"], p["total"], score)
            lk = self._tail(a, p["d"])
            all_lks = p["lks"] + [lk]
            red, yellow = 1 - 0.99999, 1 - 0.999
            filt = yellow if (lk <= red and all_lks[-2] <= red) else lk
            p["lks"] = all_lks[-self.avg_w:]
            out = 1.0 - filt
        self.hist.append((self.it, value, score))
        self.it += 1
        return out


def _stream(rng, n, spikes=()):
    s = np.clip(rng.normal(0.1, 0.05, n), 0, 1)
    for start, length in spikes:
        s[start:start + length] = 1.0
    return [float(x) for x in s]


@pytest.mark.parametrize("with_values", [False, True])
def test_matches_reference_transcription(with_values):
    rng = np.random.default_rng(1)
    params = dict(learning_period=30, estimation_samples=20, historic_window_size=120,
                  reestimation_period=7, averaging_window=5)
    al = AnomalyLikelihood(**params)
    ref = _Reference(30, 20, 120, 7, 5)
    scores = _stream(rng, 700, spikes=[(300, 6), (500, 2), (650, 30)])
    values = rng.normal(size=700)
    values[400:560] = 3.0  # a flat stretch -> null distribution while it fills the window
    for i, s in enumerate(scores):
        v = float(values[i]) if with_values else None
        assert al.update(s, v) == pytest.approx(ref.update(s, v), abs=1e-9)


# ---------------------------------------------------------------------------- behaviour


def test_probationary_period_returns_half():
    al = AnomalyLikelihood(learning_period=50, estimation_samples=30)
    assert al.probationary_period == 80
    rng = np.random.default_rng(0)
    out = [al.update(s) for s in _stream(rng, 80, spikes=[(60, 20)])]
    assert out == [0.5] * 80
    assert al.distribution is None
    assert al.update(0.1) != 0.5
    assert al.distribution is not None


def test_stationary_noise_stays_moderate():
    rng = np.random.default_rng(2)
    al = AnomalyLikelihood()
    scores = np.clip(rng.normal(0.2, 0.1, 4000), 0, 1)
    out = np.array([al.update(float(s)) for s in scores])[al.probationary_period:]
    assert np.all((out >= 0.5) & (out <= 1.0))  # 1 - a one-sided tail probability
    assert 0.6 < out.mean() < 0.85
    assert np.median(out) < 0.9
    assert (out > 0.9999).mean() < 0.01


def test_sustained_spike_after_quiet_period_is_flagged():
    rng = np.random.default_rng(3)
    al = AnomalyLikelihood()
    scores = _stream(rng, 3000) + [1.0] * 15
    out = [al.update(s) for s in scores]
    quiet, spike = out[al.probationary_period:3000], out[3000:]
    assert max(quiet) < 0.9999
    assert max(spike) > 0.99999
    # NuPIC's filter turns a run of red-zone values into yellow (0.999) after the first
    assert all(x >= 0.999 - 1e-12 for x in spike[1:])
    assert compute_log_likelihood(max(spike)) > 0.5


def test_flat_metric_is_not_anomalous():
    al = AnomalyLikelihood(learning_period=20, estimation_samples=20, historic_window_size=200,
                           reestimation_period=10)
    rng = np.random.default_rng(4)
    out = [al.update(s, value=5.0) for s in _stream(rng, 300, spikes=[(250, 20)])]
    assert al.distribution["null"]
    assert max(out[40:]) < 0.51  # null distribution: everything is likely


def test_bad_raw_scores():
    al = AnomalyLikelihood()
    for bad in (-0.1, 1.5, math.nan, math.inf, "0.5", None, True):
        with pytest.raises(InputError):
            al.update(bad)
    assert al.iteration == 0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"learning_period": -1}, "learning_period"),
        ({"learning_period": 2.5}, "learning_period"),
        ({"estimation_samples": 0}, "estimation_samples"),
        ({"historic_window_size": 0}, "historic_window_size"),
        ({"historic_window_size": 50, "estimation_samples": 100}, "historic_window_size"),
        ({"reestimation_period": 0}, "reestimation_period"),
        ({"averaging_window": 0}, "averaging_window"),
        ({"averaging_window": True}, "averaging_window"),
    ],
)
def test_bad_params_name_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        AnomalyLikelihood(**kwargs)
    with pytest.raises(ParameterError, match=name):
        AnomalyLikelihoodParams(**kwargs)


def test_params_object_or_kwargs():
    p = AnomalyLikelihoodParams(learning_period=5)
    assert AnomalyLikelihood(p).params == p
    with pytest.raises(ParameterError):
        AnomalyLikelihood(p, learning_period=5)


# ---------------------------------------------------------------------------- persistence


@pytest.mark.parametrize("stop", [10, 65, 260, 777])
def test_save_load_mid_stream_continues_identically(tmp_path, stop):
    rng = np.random.default_rng(5)
    params = dict(learning_period=30, estimation_samples=20, historic_window_size=150,
                  reestimation_period=13, averaging_window=6)
    scores = _stream(rng, 1000, spikes=[(400, 5), (800, 40)])
    values = rng.normal(size=1000)
    al = AnomalyLikelihood(**params)
    for i in range(stop):
        al.update(scores[i], float(values[i]))
    al.save(tmp_path / "al.htm")
    loaded = AnomalyLikelihood.load(tmp_path / "al.htm")
    assert loaded.iteration == al.iteration and loaded.params == al.params
    a = [al.update(scores[i], float(values[i])) for i in range(stop, 1000)]
    b = [loaded.update(scores[i], float(values[i])) for i in range(stop, 1000)]
    assert a == b  # bit-identical


def test_load_wrong_class_fails(tmp_path):
    from htmkit.serialization import save_state

    save_state(tmp_path / "x.htm", "Predictor", {"a": 1})
    with pytest.raises(FormatError):
        AnomalyLikelihood.load(tmp_path / "x.htm")
