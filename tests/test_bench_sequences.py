"""Sequence-learning benchmarks (Cui, Ahmad & Hawkins 2016): generator rules, metrics against
hand-computed values, quick CLI runs, and (when the TM exists) HTM accuracy on the task."""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from htmkit.bench import seqdata as sd
from htmkit.bench.sequences import run_markov_sequences
from htmkit.cli import commands  # noqa: F401  (registers the commands)
from htmkit.cli.bench_sequences import parse_seeds
from htmkit.cli.main import app
from htmkit.errors import DataError

HAS_TORCH = importlib.util.find_spec("torch") is not None
DATA_DIR = sd.default_sequences_dir()
HAS_TAXI = (DATA_DIR / "nyc_taxi.csv").is_file() and (DATA_DIR / "nyc_taxi_perturb.csv").is_file()


def _has_tm() -> bool:
    try:
        from htmkit.temporal_memory import TemporalMemory  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


# --------------------------------------------------------------------------- generator
def _check_set(s: sd.SequenceSet) -> None:
    seqs = s.sequences
    assert len(seqs) == 8
    assert sorted(len(q) for q in seqs) == [7, 7, 7, 7, 8, 8, 8, 8]
    for q in seqs:
        assert all(0 <= x < sd.N_SYMBOLS for x in q)
        assert len(set(q)) == len(q)
    for a, b in s.pairs:
        assert len(a) == len(b)
        assert a[1:-1] == b[1:-1]  # shared middle (5 or 6 symbols)
        assert len(a[1:-1]) in (5, 6)
        assert a[0] != b[0] and a[-1] != b[-1]
    # the first symbol with the middle decides the last: (first, middle) keys are unique
    keys = [(q[0], q[1:-1]) for q in seqs]
    assert len(set(keys)) == 8
    # two pairs per length, with the same two first symbols and crossed endings, so neither
    # the first symbol nor the middle alone decides the ending
    for length in (7, 8):
        group = [q for q in seqs if len(q) == length]
        assert len({q[1:-1] for q in group}) == 2
        by_first: dict[int, set[int]] = {}
        for q in group:
            by_first.setdefault(q[0], set()).add(q[-1])
        assert len(by_first) == 2 and all(len(v) == 2 for v in by_first.values())


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 17])
def test_random_sequence_sets_follow_the_rules(seed):
    s = sd.make_sequence_set(seed)
    _check_set(s)
    _check_set(s.perturbed())


def test_paper_set_follows_the_rules_and_perturbation_matches_the_paper():
    s = sd.paper_sequence_set()
    _check_set(s)
    assert s.perturbed().sequences == sd.PAPER_PERTURBED


@pytest.mark.parametrize("seed", [0, 5])
def test_stream_structure(seed):
    st = sd.generate_stream(seed, length=20000, switch_at=10000)
    sym = st.symbols
    assert sym.size == 20000 and st.noise_pool == 5000
    seqs, pert = st.sequence_set.sequences, st.perturbed_set.sequences
    # noise: from the pool of 5000 ids never used in a sequence
    noise = sym[st.is_noise]
    assert np.all((noise >= 10) & (noise < 5010))
    assert np.all(sym[~st.is_noise] < 10)
    # walk the stream: sequence, one noise symbol, sequence, ...
    t, n_seq, n_pert = 0, 0, 0
    while t < sym.size:
        start = t
        k = int(st.seq_id[t])
        use_pert = start >= 10000
        assert bool(st.perturbed[t]) == use_pert
        q = (pert if use_pert else seqs)[k]
        got = tuple(int(x) for x in sym[t:t + len(q)])
        assert got == q[: len(got)]
        assert st.is_last[t + len(got) - 1] == (len(got) == len(q))
        assert not st.is_last[t:t + len(got) - 1].any()
        t += len(q)
        n_seq += 1
        n_pert += use_pert
        if t < sym.size:
            assert st.is_noise[t] and st.seq_id[t] == -1 and not st.is_last[t]
            t += 1
    assert n_seq > 2000 and n_pert > 1000
    # the switch swaps the endings of each pair and keeps the middles
    for (a, b), (pa, pb) in zip(st.sequence_set.pairs, st.perturbed_set.pairs, strict=True):
        assert pa[:-1] == a[:-1] and pb[:-1] == b[:-1]
        assert pa[-1] == b[-1] and pb[-1] == a[-1]
    # every sequence occurs in both halves
    assert set(st.seq_id[:10000][st.is_last[:10000]]) == set(range(8))
    assert set(st.seq_id[10000:][st.is_last[10000:]]) == set(range(8))


def test_stream_is_deterministic_per_seed():
    a, b = sd.generate_stream(3, 2000), sd.generate_stream(3, 2000)
    c = sd.generate_stream(4, 2000)
    assert np.array_equal(a.symbols, b.symbols)
    assert not np.array_equal(a.symbols, c.symbols)
    assert sd.generate_stream(3, 2000, sequence_set="paper").sequence_set.sequences == \
        sd.PAPER_SEQUENCES


# --------------------------------------------------------------------------- metrics
def test_moving_accuracy_by_hand():
    acc = sd.moving_accuracy([1, 0, 1, 1, 0], window=2)
    assert acc.tolist() == [1.0, 0.5, 0.5, 1.0, 0.5]
    acc3 = sd.moving_accuracy([0, 1, 1, 1], window=3)
    assert np.allclose(acc3, [0.0, 0.5, 2 / 3, 1.0])


def test_accuracy_at_and_learn_time_by_hand():
    times = np.array([10, 20, 30, 40, 50, 60])
    acc = np.array([0.0, 0.5, 0.9, 0.96, 1.0, 1.0])
    assert sd.accuracy_at(times, acc, 45) == 0.96
    assert math.isnan(sd.accuracy_at(times, acc, 5))
    # 95 % of 1.0: first at time 40 (window 1: every event counts)
    assert sd.learn_time(times, acc, 1.0, start=0, window=1) == 40
    # window 3 after start=25: the first eligible event is the 3rd at/after 25 -> time 50
    assert sd.learn_time(times, acc, 1.0, start=25, window=3) == 50
    assert sd.learn_time(times, acc, 0.9, start=0, window=1) == 30  # 0.855 threshold
    assert sd.learn_time(times, np.zeros(6), 1.0) is None
    assert sd.learn_time(times, acc, float("nan")) is None


def test_summary_of_an_oracle_and_of_the_markov_baseline():
    st = sd.generate_stream(1, length=6000, switch_at=3000)
    oracle = st.symbols.copy()
    s = sd.summarize_accuracy(st, oracle)
    assert s["final_before"] == 1.0 and s["final_end"] == 1.0
    times = np.flatnonzero(st.is_last)
    assert s["learn_time"] == int(times[99])  # one full window of 100 endings
    after = times[times >= 3000]
    assert s["relearn_time"] == int(after[99]) - 3000
    nothing = sd.summarize_accuracy(st, np.full(6000, -1))
    assert nothing["final_end"] == 0.0 and nothing["learn_time"] is None
    # the first-order baseline cannot beat chance-level on the high-order endings
    preds, _ = run_markov_sequences(st)
    m = sd.summarize_accuracy(st, preds)
    assert m["final_end"] <= 0.6


def test_markov_baseline_learns_a_first_order_stream():
    # every sequence the same: its ending follows a unique penultimate symbol
    seqs = sd.SequenceSet((tuple(range(7)),) * 8)
    st = sd.generate_stream(0, length=1000, switch_at=None, sequence_set=seqs)
    preds, _ = run_markov_sequences(st)
    t, c = sd.score_stream(st, preds)
    assert c[1:].all()


def test_nrmse_mape_nll_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.0, 2.0, 3.0, 5.0])
    assert sd.nrmse(y, p) == pytest.approx(math.sqrt(0.25) / math.sqrt(1.25))
    assert sd.mape(y, p) == pytest.approx(0.1)
    # NaN predictions are left out of both
    assert sd.mape(np.array([1.0, 2.0, 10.0]), np.array([2.0, np.nan, 10.0])) == \
        pytest.approx(1 / 11)
    edges = np.array([0.0, 10.0, 20.0, 30.0])
    probs = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [0.25, 0.25, 0.5]])
    truth = np.array([5.0, 3.0, 35.0])  # buckets 0, 0 (p=0 -> floor 1e-4), clipped to 2
    want = -(math.log(0.7) + math.log(1e-4) + math.log(0.5)) / 3
    assert sd.negative_log_likelihood(probs, edges, truth) == pytest.approx(want)
    e = sd.bucket_edges()
    assert e.size == 23 and e[1] - e[0] == pytest.approx(40000 / 21)
    assert (e[0] + e[1]) / 2 == pytest.approx(0.0) and (e[-2] + e[-1]) / 2 == pytest.approx(4e4)


def test_sliding_mape_and_score():
    from htmkit.bench.taxi import score_taxi, sliding_mape

    y = np.array([10.0, 10.0, 20.0, 20.0])
    p = np.array([np.nan, 12.0, 20.0, 10.0])
    m = sliding_mape(y, p, window=2)
    assert np.isnan(m[0]) and m[1] == pytest.approx(0.2)
    assert m[2] == pytest.approx(2 / 30) and m[3] == pytest.approx(10 / 40)
    s = score_taxi(y, p, 1)
    assert s["mape"] == pytest.approx(12 / 50) and s["nll"] is None and s["coverage"] == 1.0


def test_parse_seeds():
    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("4,7") == [4, 7]
    assert parse_seeds("5,") == [5]
    for bad in ("0", "x", "-1,2", ""):
        with pytest.raises(ValueError):
            parse_seeds(bad)


# --------------------------------------------------------------------------- CLI quick runs
def _read(path):
    data = json.loads(path.read_text())  # strict JSON: no NaN
    assert data["seeds"] == [0]
    return data


@pytest.mark.slow
def test_cli_sequences_quick(tmp_path):
    out = tmp_path / "seq.json"
    plots = tmp_path / "plots"
    res = CliRunner().invoke(app, ["bench", "sequences", "--quick", "--json", str(out),
                                   "--plots", str(plots)])
    assert res.exit_code == 0, res.output
    assert "published" in res.output and "markov" in res.output
    data = _read(out)
    assert data["benchmark"] == "sequences" and data["config"]["quick"]
    assert set(data["models"]) == {"htm", "markov", "lstm-1000", "lstm-3000", "lstm-9000",
                                   "lstm-online"}
    for name, entry in data["models"].items():
        if not entry["available"]:
            assert entry["reason"] and not entry["runs"]
            continue
        (run,) = entry["runs"]
        assert 0.0 <= run["final_end"] <= 1.0 and run["wall_s"] >= 0
        assert len(entry["curve"]["times"]) == len(entry["curve"]["accuracy"]) > 100, name
    assert data["models"]["markov"]["available"]
    assert data["models"]["lstm-1000"]["available"] == HAS_TORCH
    assert data["published"]["htm"]["final"] == 1.0
    assert (plots / "sequences_accuracy.png").stat().st_size > 1000


def test_cli_rejects_bad_options():
    r = CliRunner().invoke(app, ["bench", "sequences", "--models", "nope"])
    assert r.exit_code != 0 and "unknown model" in r.output
    r = CliRunner().invoke(app, ["bench", "sequences", "--seeds", "x"])
    assert r.exit_code != 0


def test_cli_taxi_missing_data_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(app, ["bench", "taxi", "--quick", "--data-dir", str(tmp_path)])
    assert r.exit_code != 0
    assert "taxi data not found" in r.output and "nyc_taxi.csv" in r.output
    with pytest.raises(DataError):
        sd.load_taxi(tmp_path / "nyc_taxi.csv")


@pytest.mark.skipif(not HAS_TAXI, reason=f"taxi data not found in {DATA_DIR}")
@pytest.mark.slow
def test_cli_taxi_quick(tmp_path):
    out = tmp_path / "taxi.json"
    plots = tmp_path / "plots"
    res = CliRunner().invoke(app, ["bench", "taxi", "--quick", "--models", "shift,lstm-1000",
                                   "--json", str(out), "--plots", str(plots)])
    assert res.exit_code == 0, res.output
    data = _read(out)
    assert data["benchmark"] == "taxi" and data["rows"] == 3000
    shift = data["models"]["shift"]["runs"][0]
    assert 0.5 < shift["nrmse"] < 1.5 and 0.1 < shift["mape"] < 0.6
    assert data["published"]["shift"] == {"nrmse": 0.927, "mape": 0.322}
    assert "shift" in data["perturbed"]["models"]
    if HAS_TORCH:
        lstm = data["models"]["lstm-1000"]["runs"][0]
        assert lstm["nrmse"] < shift["nrmse"]
    assert (plots / "taxi_adaptation.png").stat().st_size > 1000


@pytest.mark.skipif(not HAS_TAXI, reason=f"taxi data not found in {DATA_DIR}")
def test_load_taxi_reads_the_nupic_format():
    df = sd.load_taxi(DATA_DIR / "nyc_taxi.csv")
    assert len(df) == 17520
    assert list(df.columns) == ["timestamp", "value", "timeofday", "dayofweek"]
    assert df["value"].iloc[0] == 10844 and df["timeofday"].iloc[1] == 30
    assert (df["timestamp"].dt.day_of_week == df["dayofweek"]).all()
    starts = sd.week_starts(df["timestamp"])
    assert np.all(np.diff(starts) == 336)


# --------------------------------------------------------------------------- torch parts
def _synthetic_taxi(n: int = 1500) -> pd.DataFrame:
    ts = pd.date_range("2014-07-07", periods=n, freq="30min")  # a Monday
    tod = ts.hour * 60 + ts.minute
    v = 15000 + 6000 * np.sin(2 * np.pi * tod / 1440) + 500 * np.cos(2 * np.pi * ts.day_of_week / 7)
    return pd.DataFrame({"timestamp": ts, "value": v.astype(float),
                         "timeofday": np.asarray(tod), "dayofweek": np.asarray(ts.day_of_week)})


@pytest.mark.slow
def test_lstm_taxi_uses_no_future_data():
    pytest.importorskip("torch")
    from htmkit.bench.lstm import LSTMConfig, run_lstm_taxi

    df = _synthetic_taxi()
    cfg = LSTMConfig(epochs=3, chunk=48, burn_in=8)
    a, info = run_lstm_taxi(df, 1000, seed=0, score_from=0, cfg=cfg)
    df2 = df.copy()
    cut = 1100
    df2.loc[cut + 1:, "value"] = 0.0  # change the future after row `cut`
    b, _ = run_lstm_taxi(df2, 1000, seed=0, score_from=0, cfg=cfg)
    assert info["retrainings"] >= 2
    # predictions of rows <= cut + 5 were made at rows <= cut: unchanged
    ok = np.isfinite(a[: cut + 6])
    assert ok.sum() > 100
    assert np.array_equal(a[: cut + 6][ok], b[: cut + 6][ok])
    assert not np.allclose(a[cut + 6:], b[cut + 6:], equal_nan=True)


@pytest.mark.slow
def test_lstm_sequences_learns_something():
    pytest.importorskip("torch")
    from htmkit.bench.lstm import LSTMConfig, run_lstm_sequences

    st = sd.generate_stream(0, length=3000, switch_at=None)
    preds, info = run_lstm_sequences(st, 1000, seed=0, retrain_every=1000,
                                     cfg=LSTMConfig(epochs=30))
    assert info["retrainings"] == 2
    assert (preds[:1001] == -1).all() and (preds[1001:] >= 0).all()
    t, c = sd.score_stream(st, preds)
    assert c[t > 1000].mean() > 0.2  # well above the 1/10 of guessing


# --------------------------------------------------------------------------- HTM
@pytest.mark.skipif(not _has_tm(), reason="htmkit.temporal_memory not available yet")
@pytest.mark.slow
def test_htm_learns_the_high_order_task():
    from htmkit.bench.sequences import run_htm_sequences

    st = sd.generate_stream(0, length=5500, switch_at=None)
    preds, info = run_htm_sequences(st, seed=0)
    s = sd.summarize_accuracy(st, preds)
    assert s["final_end"] >= 0.9, s["final_end"]
    assert info["tm_s"] > 0
