"""Backtracking Temporal Memory: sequence learning, high-order context, backtracking,
capacity limits, storage invariants, determinism, save/load, validation, model/detector
wiring."""

import numpy as np
import pandas as pd
import pytest

from htmkit.backtracking_tm import (
    NAB_PARAMS,
    BacktrackingTemporalMemory,
    BacktrackingTemporalMemoryParams,
)
from htmkit.detector import AnomalyDetector
from htmkit.errors import InputError, ParameterError
from htmkit.kernels import backtracking_tm as K
from htmkit.model import HTMModel
from htmkit.sdr import SDR
from htmkit.serialization import VERSION_KEY

N_COLS = 256
SMALL = dict(column_dimensions=N_COLS, cells_per_column=8, activation_threshold=12,
             min_threshold=8, max_new_synapse_count=20, max_synapses_per_segment=32, seed=3)


def patterns(n, seed, size=N_COLS, active=20):
    """``n`` random column patterns with disjoint active columns."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(size)
    return [SDR(size, perm[i * active:(i + 1) * active]) for i in range(n)]


def predicted_columns(tm):
    """Columns holding a cell predicted with connected synapses."""
    k = tm.params.cells_per_column
    return SDR(tm.num_columns, np.unique(tm.predictive_cells.indices // k))


def present(tm, seq, learn=True):
    out = []
    for sdr in seq:
        tm.compute(sdr, learn=learn)
        out.append(tm.anomaly)
    return out


def random_stream(n, seed, size=N_COLS, active=20, alphabet=12):
    """A stream over a small alphabet of patterns with a repeating motif and random fill."""
    pats = patterns(alphabet, seed, size, active)
    rng = np.random.default_rng(seed + 1)
    out = []
    while len(out) < n:
        if rng.random() < 0.6:
            out.extend(pats[:4])
        else:
            out.extend(pats[i] for i in rng.integers(0, alphabet, 3))
    return out[:n]


def check_storage(tm):
    """The forward index lists exactly the synapses of the live segments, with the right
    connected bit; per-cell segment lists and counters agree."""
    a = tm._a
    p = tm.params
    m = p.max_synapses_per_segment
    meta = a["meta"]
    used = int(meta[K.M_USED])
    seg_cell = a["seg_i32"][K.SEG_CELL, :used]
    seg_n = a["seg_i32"][K.SEG_N, :used]
    live = np.flatnonzero(seg_cell >= 0)
    assert len(live) == tm.num_segments() == int((a["cell_segs"] >= 0).sum())
    assert int(seg_n[live].sum()) == tm.num_synapses() == int(a["out_len"][0].sum())
    assert np.array_equal(np.bincount(seg_cell[live], minlength=p.num_cells), a["cell_nseg"])
    assert np.all(seg_n[live] >= 1) and np.all(seg_n <= m)
    for seg in live:
        cell = seg_cell[seg]
        slot = a["seg_i32"][K.SEG_SLOT, seg]
        assert 0 <= slot < a["cs_cap"][cell]
        assert a["cell_segs"][a["cs_start"][cell] + slot] == seg
        ids = seg * m + np.arange(seg_n[seg])
        src = a["syn_src"][ids]
        assert len(np.unique(src)) == len(src)
        pos = a["pos_out"][ids]
        entries = a["out_pool"][pos]
        assert np.array_equal(entries >> 1, ids)
        conn = a["syn_perm"][ids] >= np.float32(p.connected_permanence)
        assert np.array_equal((entries & 1).astype(bool), conn)
        starts = a["out_start"][src]
        assert np.all((pos >= starts) & (pos < starts + a["out_len"][0, src]))
        assert np.all(a["syn_perm"][ids] > 0) and np.all(a["syn_perm"][ids] <= 1.0)


def states_equal(a, b):
    sa, sb = a.get_state(), b.get_state()
    assert sa["params"] == sb["params"]
    for key in sa["arrays"]:
        assert np.array_equal(sa["arrays"][key], sb["arrays"][key]), key


# ----------------------------------------------------------------------------- learning
def test_learns_simple_sequence_anomaly_goes_to_zero():
    tm = BacktrackingTemporalMemory(**SMALL)
    seq = patterns(4, seed=1)
    first = present(tm, seq)
    assert first == [1.0] * 4
    for _ in range(5):
        tm.reset()
        present(tm, seq)
    tm.reset()
    scores = present(tm, seq, learn=False)
    assert scores[1:] == [0.0, 0.0, 0.0]
    tm.reset()
    for cur, nxt in zip(seq[:-1], seq[1:], strict=True):
        tm.compute(cur, learn=False)
        assert predicted_columns(tm) == nxt
        assert tm.predicted_columns == nxt


def test_repeated_stream_without_resets_becomes_predictable():
    tm = BacktrackingTemporalMemory(**SMALL)
    seq = patterns(5, seed=2)
    anomalies = present(tm, seq * 30)
    assert anomalies[0] == 1.0
    assert max(anomalies[-50:]) == 0.0
    # one learning cell per active column
    cells = tm.learn_active_cells.indices
    assert len(cells) == 20
    assert len(np.unique(cells // tm.params.cells_per_column)) == 20
    check_storage(tm)


def test_shared_subsequence_predicts_from_context():
    tm = BacktrackingTemporalMemory(**SMALL)
    a, b, c, d, x, y = patterns(6, seed=4)
    for _ in range(15):
        present(tm, [a, b, c, d])
        tm.reset()
        present(tm, [x, b, c, y])
        tm.reset()
    for seq, last in (([a, b, c], d), ([x, b, c], y)):
        present(tm, seq, learn=False)
        assert predicted_columns(tm) == last
        assert tm.predicted_columns == last
        tm.compute(last, learn=False)
        assert tm.anomaly == 0.0
        tm.reset()


def test_entering_a_learned_sequence_mid_way_without_reset():
    """After unrelated inputs (no reset), the first input of a learned sequence bursts, and
    the sequence is predicted again from there on."""
    tm = BacktrackingTemporalMemory(**SMALL)
    seq = patterns(6, seed=5)
    noise = patterns(12, seed=6)[6:]
    for _ in range(12):
        present(tm, seq)
        tm.reset()
    present(tm, noise[:3], learn=False)
    scores = present(tm, seq[2:], learn=False)
    assert scores[0] == 1.0
    assert scores[1:] == [0.0] * (len(seq) - 3)


def test_capacity_limits_and_storage_invariants():
    tm = BacktrackingTemporalMemory(**{**SMALL, "max_segments_per_cell": 2,
                                       "max_synapses_per_segment": 24, "cells_per_column": 4,
                                       "seed": 7})
    stream = random_stream(900, seed=8)
    present(tm, stream)
    check_storage(tm)
    assert tm.num_segments() > 0
    assert tm._a["cell_nseg"].max() <= 2
    assert tm._a["seg_i32"][K.SEG_N].max() <= 24
    assert tm._a["cell_nseg"][::4].max() == 0  # start cells never get segments


def test_segment_pool_grows_and_stays_consistent():
    tm = BacktrackingTemporalMemory(**{**SMALL, "seed": 9})
    present(tm, random_stream(700, seed=10, alphabet=40))
    assert tm._a["seg_i32"].shape[1] > 1024  # grown
    check_storage(tm)


def test_predicted_segment_decrement_extension_changes_learning():
    stream = random_stream(300, seed=11)
    base = BacktrackingTemporalMemory(**SMALL)
    punish = BacktrackingTemporalMemory(**{**SMALL, "predicted_segment_decrement": 0.05})
    present(base, stream)
    present(punish, stream)
    check_storage(punish)
    assert not np.array_equal(base.get_state()["arrays"]["syn_perm"],
                              punish.get_state()["arrays"]["syn_perm"])


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_results_other_seed_differs():
    stream = random_stream(400, seed=12)
    t1 = BacktrackingTemporalMemory(**SMALL)
    t2 = BacktrackingTemporalMemory(**SMALL)
    t3 = BacktrackingTemporalMemory(**{**SMALL, "seed": 4})
    a1, a2, a3 = present(t1, stream), present(t2, stream), present(t3, stream)
    assert a1 == a2
    states_equal(t1, t2)
    assert len(a3) == len(a1)
    assert not np.array_equal(t1.get_state()["arrays"]["syn_src"],
                              t3.get_state()["arrays"]["syn_src"])


def test_save_load_mid_stream_is_bit_identical(tmp_path):
    stream = random_stream(600, seed=13)
    tm = BacktrackingTemporalMemory(**SMALL)
    present(tm, stream[:350])
    path = tm.save(tmp_path / "btm.htm")
    loaded = BacktrackingTemporalMemory.load(path)
    states_equal(tm, loaded)
    assert loaded.anomaly == tm.anomaly
    assert loaded.predicted_columns == tm.predicted_columns
    rest = stream[350:]
    assert present(tm, rest) == present(loaded, rest)
    states_equal(tm, loaded)
    check_storage(loaded)


def test_anomaly_modes():
    stream = random_stream(200, seed=15)
    conf = BacktrackingTemporalMemory(**SMALL)
    pred = BacktrackingTemporalMemory(**{**SMALL, "anomaly_mode": "predicted"})
    for sdr in stream:
        conf.compute(sdr)
        pred.compute(sdr)
        assert pred.anomaly == pred.anomaly_predicted == conf.anomaly_predicted
        # a column predicted with connected synapses also has non-zero confidence
        assert conf.anomaly <= conf.anomaly_predicted
    states_equal(conf, BacktrackingTemporalMemory.from_state(conf.get_state()))


def test_reset_starts_on_start_cells():
    tm = BacktrackingTemporalMemory(**SMALL)
    seq = patterns(3, seed=14)
    present(tm, seq * 3)
    tm.reset()
    assert tm.active_cells.num_active == 0 and tm.predicted_columns.num_active == 0
    tm.compute(seq[0])
    k = tm.params.cells_per_column
    assert np.all(tm.learn_active_cells.indices % k == 0)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", [
    {"cells_per_column": 1},
    {"activation_threshold": 0},
    {"min_threshold": 0},
    {"max_new_synapse_count": 40, "max_synapses_per_segment": 32},
    {"initial_permanence": 0.0},
    {"permanence_increment": 1.5},
    {"pam_length": 0},
    {"max_inf_backtrack": -1},
    {"max_seq_length": -2},
    {"seed": -1},
    {"column_dimensions": 0},
    {"max_segments_per_cell": True},
    {"anomaly_mode": "columns"},
])
def test_bad_parameters_raise(bad):
    with pytest.raises(ParameterError):
        BacktrackingTemporalMemory(**{**SMALL, **bad})


def test_unknown_parameter_and_bad_inputs():
    with pytest.raises(ParameterError, match="unknown"):
        BacktrackingTemporalMemory(colums=3)
    with pytest.raises(ParameterError, match="params"):
        BacktrackingTemporalMemory(BacktrackingTemporalMemoryParams(), seed=1)
    tm = BacktrackingTemporalMemory(**SMALL)
    with pytest.raises(InputError, match="active_columns"):
        tm.compute([1, 2, 3])
    with pytest.raises(InputError):
        tm.compute(SDR(N_COLS + 1, [1]))
    tm.compute(SDR(N_COLS))  # no active column: anomaly 0
    assert tm.anomaly == 0.0


# ----------------------------------------------------------------------------- wiring
def test_model_selects_implementation_and_rejects_unknown():
    cfg = {"value": {"encoder": {"minimum": 0, "maximum": 10}},
           "timestamp": {"encoder": {"time_of_day_width": 0}},
           "sp": {"column_dimensions": [256], "num_active_columns_per_inh_area": 10},
           "tm": {"implementation": "backtracking", "cells_per_column": 4,
                  "activation_threshold": 6, "min_threshold": 4, "max_new_synapse_count": 8,
                  "max_synapses_per_segment": 16}}
    model = HTMModel(cfg)
    assert isinstance(model.tm, BacktrackingTemporalMemory)
    for i in range(30):
        model.run(float(i % 5))
    restored = HTMModel.from_state(model.get_state())
    assert isinstance(restored.tm, BacktrackingTemporalMemory)
    assert [model.run(float(i % 5)).anomaly_score for i in range(10)] == \
        [restored.run(float(i % 5)).anomaly_score for i in range(10)]
    with pytest.raises(ParameterError, match="tm.implementation"):
        HTMModel({**cfg, "tm": {"implementation": "nupic"}})
    with pytest.raises(ParameterError, match="tm:"):
        HTMModel({**cfg, "tm": {"implementation": "backtracking", "pam_length": 0}})


def test_detector_with_backtracking_tm_runs_and_round_trips(tmp_path):
    cfg = {"tm": {"implementation": "backtracking", **NAB_PARAMS}}
    det = AnomalyDetector(min_value=0.0, max_value=10.0, probationary_period=100, seed=5,
                          config=cfg)
    times = list(pd.date_range("2026-01-01", periods=260, freq="5min"))
    values = [5 + 4 * np.sin(i / 6.0) for i in range(260)]
    for t, v in zip(times[:200], values[:200], strict=True):
        det.update(t, v)
    assert isinstance(det.model.tm, BacktrackingTemporalMemory)
    loaded = AnomalyDetector.load(det.save(tmp_path / "det.htm"))
    a = [det.update(t, v) for t, v in zip(times[200:], values[200:], strict=True)]
    b = [loaded.update(t, v) for t, v in zip(times[200:], values[200:], strict=True)]
    assert a == b
    assert all(0.0 <= x <= 1.0 for x in a)


# ----------------------------------------------------------------------------- storage
def test_storage_grows_with_what_is_held():
    """The forward-index pool is sized by the synapses held and each cell's segment list by
    its own segments (not by the widest cell or the reserved segment slots)."""
    tm = BacktrackingTemporalMemory(**SMALL)
    present(tm, random_stream(250, seed=21))
    a, p = tm._a, tm.params
    nsyn = tm.num_synapses()
    add = (p.max_lrn_backtrack + 2) * 2 * tm._max_pattern * p.max_new_synapse_count
    bound = 1.25 * (1.5 * (nsyn + add) + 4 * p.num_cells + 2 * (a["out_len"][0].max() + add))
    assert a["out_pool"].shape[0] <= bound + 32
    assert int(a["meta"][K.M_POOL_END]) <= a["out_pool"].shape[0]
    assert not a["out_pool"][int(a["meta"][K.M_POOL_END]):].any()  # zeros past the end
    caps = a["cs_cap"]
    nseg = a["cell_nseg"]
    # a cell's slot list is at most twice what it ever held (and at least two)
    assert np.all(caps[nseg > 0] <= np.maximum(2, 2 * (a["meta"][K.M_MAX_SLOT] + 1)))
    assert np.all(caps >= nseg)
    assert int(a["meta"][K.M_CS_END]) <= 2 * max(int(caps.sum()), 4096) + 1
    check_storage(tm)


def test_cell_slot_compaction_changes_nothing():
    """Closing the holes of the cells' segment slots keeps every slot number: a compacted
    TM goes on exactly as one that was not."""
    stream = random_stream(250, seed=22)
    a_tm = BacktrackingTemporalMemory(**SMALL)
    b_tm = BacktrackingTemporalMemory(**SMALL)
    present(a_tm, stream[:150])
    present(b_tm, stream[:150])
    b = b_tm._a
    K.compact_cell_slots(b["cell_segs"], b["cs_start"], b["cs_cap"], b["meta"])
    assert int(b["meta"][K.M_CS_END]) == int(b["cs_cap"].sum())
    check_storage(b_tm)
    assert present(a_tm, stream[150:]) == present(b_tm, stream[150:])
    assert np.array_equal(a_tm._a["seg_i32"], b_tm._a["seg_i32"])
    check_storage(b_tm)


def test_version1_cell_table_upgrades():
    """A state with the old cells x widest-cell table loads to the same TM."""
    tm = BacktrackingTemporalMemory(**SMALL)
    present(tm, random_stream(120, seed=23))
    state = tm.get_state()
    arrays = dict(state["arrays"])
    a = tm._a
    width = int(a["cs_cap"].max()) + 1
    table = np.full((tm.num_cells, width), -1, dtype=np.int32)
    for cell in np.flatnonzero(a["cs_cap"]):
        s0, cap = int(a["cs_start"][cell]), int(a["cs_cap"][cell])
        table[cell, :cap] = a["cell_segs"][s0: s0 + cap]
    arrays["cell_segs"] = table
    arrays["meta"] = arrays["meta"][:-1].copy()
    del arrays["cs_start"], arrays["cs_cap"]
    old = {**state, "arrays": arrays, VERSION_KEY: 1}
    loaded = BacktrackingTemporalMemory.from_state(old)
    check_storage(loaded)
    rest = random_stream(60, seed=24)
    assert present(tm, rest) == present(loaded, rest)
