"""Temporal Memory: sequence learning, high-order disambiguation, anomaly, reset, capacity
limits, determinism, save/load, validation, external basal context and apical tie-break."""

import dataclasses

import numpy as np
import pytest

from htmkit.errors import InputError, InputTypeError, ParameterError
from htmkit.sdr import SDR
from htmkit.temporal_memory import TemporalMemory, TemporalMemoryParams

N_COLS = 512
SMALL = dict(
    column_dimensions=N_COLS, cells_per_column=8, activation_threshold=12, min_threshold=8,
    max_new_synapse_count=20, initial_permanence=0.21, connected_permanence=0.5,
    permanence_increment=0.1, permanence_decrement=0.1, seed=3,
)


def patterns(n, seed, size=N_COLS, active=20):
    """``n`` random column patterns with disjoint active columns."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(size)
    return [SDR(size, perm[i * active:(i + 1) * active]) for i in range(n)]


def predicted_columns(tm):
    return SDR(tm.num_columns, np.unique(tm.predictive_cells.indices
                                          // tm.params.cells_per_column))


def present(tm, seq, learn=True, **ext):
    anomalies = []
    for sdr in seq:
        tm.compute(sdr, learn=learn, **ext)
        anomalies.append(tm.anomaly)
    return anomalies


# ----------------------------------------------------------------------------- learning
def test_learns_simple_sequence_and_predicts_next_columns_exactly():
    tm = TemporalMemory(**SMALL)
    a, b, c, d = patterns(4, seed=1)
    seq = [a, b, c, d]
    for _ in range(6):
        present(tm, seq)
        tm.reset()
    for cur, nxt in zip(seq[:-1], seq[1:], strict=True):
        tm.compute(cur, learn=False)
        assert predicted_columns(tm) == nxt
    tm.reset()
    scores = present(tm, seq, learn=False)
    assert scores[0] == 1.0          # first element after reset cannot be predicted
    assert scores[1:] == [0.0, 0.0, 0.0]
    # after D nothing was learned to follow
    assert tm.predictive_cells.num_active == 0


def test_first_element_bursts_then_predicted_cells_activate():
    tm = TemporalMemory(**SMALL)
    a, b = patterns(2, seed=2)
    for _ in range(5):
        present(tm, [a, b])
        tm.reset()
    tm.compute(a, learn=False)
    assert tm.active_cells.num_active == a.num_active * tm.params.cells_per_column   # burst
    tm.compute(b, learn=False)
    # one cell per column: only the predicted cells became active
    assert tm.active_cells.num_active == b.num_active
    assert tm.predicted_active_cells == tm.active_cells
    assert tm.winner_cells == tm.active_cells
    cols = np.unique(tm.active_cells.indices // tm.params.cells_per_column)
    assert np.array_equal(cols, b.indices)


def test_high_order_sequences_are_disambiguated_by_cells():
    """A B C D and X B C Y: after training, the cells active for C differ by context. (While
    B still bursts in the X context the A-context cells of C are reused, and Y learns from
    them; ``predicted_segment_decrement`` unlearns that spurious A B C -> Y prediction.)"""
    a, b, c, d, x, y = patterns(6, seed=4)
    params = {**SMALL, "predicted_segment_decrement": 0.05}
    tm = TemporalMemory(**params)
    for _ in range(15):
        present(tm, [a, b, c, d])
        tm.reset()
        present(tm, [x, b, c, y])
        tm.reset()
    present(tm, [a, b, c], learn=False)
    assert predicted_columns(tm) == d
    tm.reset()
    present(tm, [x, b, c], learn=False)
    assert predicted_columns(tm) == y
    tm.reset()
    assert present(tm, [a, b, c, d], learn=False)[1:] == [0.0, 0.0, 0.0]
    tm.reset()
    assert present(tm, [x, b, c, y], learn=False)[1:] == [0.0, 0.0, 0.0]

    # a first-order model (one cell per column) cannot tell the two contexts apart
    first = TemporalMemory(**{**params, "cells_per_column": 1})
    for _ in range(15):
        present(first, [a, b, c, d])
        first.reset()
        present(first, [x, b, c, y])
        first.reset()
    present(first, [a, b, c], learn=False)
    assert predicted_columns(first) == d | y


def test_anomaly_zero_on_learned_sequence_one_on_novel_transition():
    a, b, c, d = patterns(4, seed=5)
    tm = TemporalMemory(**SMALL)
    for _ in range(6):
        present(tm, [a, b, c, d])
        tm.reset()
    assert present(tm, [a, b, c], learn=False)[1:] == [0.0, 0.0]
    tm.compute(a, learn=False)            # C -> A was never seen
    assert tm.anomaly == 1.0
    half = SDR(N_COLS, np.concatenate([d.indices[:10], a.indices[:10]]))
    tm.reset()
    present(tm, [a, b, c], learn=False)
    tm.compute(half, learn=False)         # half of the columns predicted
    assert tm.anomaly == pytest.approx(0.5)
    tm.compute(SDR(N_COLS), learn=False)  # no active column
    assert tm.anomaly == 0.0


def test_reset_clears_state_and_nothing_is_learned_across_it():
    a, b = patterns(2, seed=6)
    tm = TemporalMemory(**SMALL)
    for _ in range(5):
        present(tm, [a, b])
        tm.reset()
    tm.compute(a)
    assert tm.predictive_cells.num_active > 0
    tm.reset()
    for sdr in (tm.active_cells, tm.winner_cells, tm.predictive_cells,
                tm.predicted_active_cells):
        assert sdr.num_active == 0
    assert tm.anomaly == 0.0 and tm.active_segments == 0 and tm.matching_segments == 0
    segs, syns = tm.num_segments(), tm.num_synapses()
    tm.compute(b)                          # b after the boundary: bursts, learns nothing
    assert tm.anomaly == 1.0
    assert tm.active_cells.num_active == b.num_active * tm.params.cells_per_column
    assert (tm.num_segments(), tm.num_synapses()) == (segs, syns)
    tm.basal_store.check()


# ----------------------------------------------------------------------------- capacity
def _brute_force_predictive(tm):
    """Owners of basal segments with >= activation_threshold active connected synapses."""
    store = tm.basal_store
    active = np.zeros(store.num_presynaptic, bool)
    active[tm.active_cells.indices] = True
    thr = np.float32(tm.params.connected_permanence)
    cells = set()
    for s in range(store.high_water):
        owner = int(store.arrays.seg_owner[s])
        if owner < 0:
            continue
        pre, perm = store.segment_synapses(s)
        if int(np.sum(active[pre] & (perm >= thr))) >= tm.params.activation_threshold:
            cells.add(owner)
    return np.array(sorted(cells), dtype=np.int64)


def test_capacity_limits_hold_under_stress():
    params = dict(column_dimensions=64, cells_per_column=2, activation_threshold=3,
                  min_threshold=2, max_new_synapse_count=5, max_segments_per_cell=2,
                  max_synapses_per_segment=6, initial_permanence=0.3,
                  connected_permanence=0.4, permanence_increment=0.05,
                  permanence_decrement=0.08, predicted_segment_decrement=0.05, seed=9)
    tm = TemporalMemory(**params)
    rng = np.random.default_rng(0)
    seqs = [[SDR(64, rng.choice(64, 6, replace=False)) for _ in range(5)] for _ in range(4)]
    store = tm.basal_store
    for step in range(1200):
        if rng.random() < 0.3:
            sdr = SDR(64, rng.choice(64, 6, replace=False))
        else:
            sdr = seqs[step // 5 % 4][step % 5]
        tm.compute(sdr)
        st = store.arrays
        assert st.owner_nseg.max() <= 2
        assert st.seg_nsyn.max() <= 6
        if step % 100 == 99:
            store.check()
            assert np.array_equal(tm.predictive_cells.indices, _brute_force_predictive(tm))
            live = st.seg_owner >= 0
            assert np.all(st.seg_nsyn[live] > 0)             # no empty segment survives
            perms = np.concatenate([store.segment_synapses(s)[1]
                                    for s in np.flatnonzero(live)])
            assert perms.min() > 0.0 and perms.max() <= 1.0  # zero-permanence synapses go
    store.check()
    assert tm.num_segments() > 0 and tm.num_segments() <= 2 * tm.num_cells
    assert tm.num_synapses() <= 6 * tm.num_segments()


def test_least_recently_used_segment_is_replaced():
    params = dict(column_dimensions=32, cells_per_column=1, activation_threshold=2,
                  min_threshold=2, max_new_synapse_count=3, max_segments_per_cell=1, seed=1)
    tm = TemporalMemory(**params)
    a, b, c = (SDR(32, [0, 1, 2]), SDR(32, [3, 4, 5]), SDR(32, [6, 7, 8]))
    present(tm, [a, c])            # c's cells get one segment each (from a)
    tm.reset()
    seg_before = [tm.basal_store.segments_of(int(cell)) for cell in c.indices]
    present(tm, [b, c])            # c bursts after b: the only segment is replaced
    seg_after = [tm.basal_store.segments_of(int(cell)) for cell in c.indices]
    assert all(len(s) == 1 for s in seg_before + seg_after)
    for cell in c.indices:
        pre, _ = tm.basal_store.segment_synapses(tm.basal_store.segments_of(int(cell))[0])
        assert set(pre.tolist()) == set(b.indices.tolist())   # now grown from b's cells
    tm.basal_store.check()


# ----------------------------------------------------------------------------- determinism
def _stream(n, seed):
    rng = np.random.default_rng(seed)
    base = patterns(8, seed=seed)
    out = []
    for i in range(n):
        s = base[i % 8]
        out.append(s.add_noise(0.1, seed=int(rng.integers(1 << 30))) if i % 3 else s)
    return out


def test_same_seed_same_results_different_seed_differs():
    stream = _stream(300, seed=11)
    runs = []
    for seed in (5, 5, 6):
        tm = TemporalMemory(**{**SMALL, "seed": seed})
        trace = []
        for sdr in stream:
            tm.compute(sdr)
            trace.append(tm.winner_cells.indices.tobytes())
        runs.append((trace, tm.num_segments(), tm.num_synapses()))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


def _assert_same_state(t1, t2):
    s1, s2 = t1.get_state(), t2.get_state()
    for key in ("rng", "counts", "i32", "flags", "seg", "apseg"):
        assert np.array_equal(s1[key], s2[key]), key
    for store in ("basal", "apical"):
        a1, a2 = s1[store]["arrays"], s2[store]["arrays"]
        for name, arr in a1.items():
            if name == "free_segs":  # only the stack below its top is meaningful
                arr, other = arr[: a1["meta"][0]], a2[name][: a2["meta"][0]]
            else:
                other = a2[name]
            assert np.array_equal(arr, other), (store, name)


def test_save_load_mid_stream_continues_bit_identically(tmp_path):
    params = {**SMALL, "external_basal_size": 40, "external_apical_size": 30,
              "predicted_segment_decrement": 0.02}
    tm = TemporalMemory(**params)
    stream = _stream(160, seed=12)
    rng = np.random.default_rng(1)
    ext = [(SDR(40, rng.choice(40, 5, replace=False)), SDR(30, rng.choice(30, 4, replace=False)))
           for _ in stream]
    for sdr, (eb, ea) in zip(stream[:80], ext[:80], strict=True):
        tm.compute(sdr, external_basal=eb, external_apical=ea)
    path = tm.save(tmp_path / "tm.htm")
    clone = TemporalMemory.load(path)
    _assert_same_state(tm, clone)
    assert clone.anomaly == tm.anomaly
    assert clone.predictive_cells == tm.predictive_cells
    for sdr, (eb, ea) in zip(stream[80:], ext[80:], strict=True):
        for t in (tm, clone):
            t.compute(sdr, external_basal=eb, external_apical=ea)
        assert clone.active_cells == tm.active_cells
        assert clone.winner_cells == tm.winner_cells
        assert clone.predictive_cells == tm.predictive_cells
        assert clone.anomaly == tm.anomaly
    _assert_same_state(tm, clone)
    assert tm.num_segments(apical=True) > 0
    tm.basal_store.check()
    tm.apical_store.check()


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("name, value", [
    ("column_dimensions", 0), ("column_dimensions", (4, -1)), ("cells_per_column", 0),
    ("activation_threshold", 0), ("min_threshold", -1), ("initial_permanence", 0.0),
    ("initial_permanence", 1.5), ("connected_permanence", -0.1),
    ("permanence_increment", 2.0), ("permanence_decrement", float("nan")),
    ("predicted_segment_decrement", -0.01), ("max_new_synapse_count", -1),
    ("max_segments_per_cell", 0), ("max_synapses_per_segment", 0), ("seed", -3),
    ("seed", 1.5), ("external_basal_size", -1), ("external_apical_size", "3"),
    ("cells_per_column", True),
])
def test_bad_parameters_raise_parameter_error_naming_them(name, value):
    with pytest.raises(ParameterError, match=name):
        TemporalMemoryParams(**{name: value})
    with pytest.raises(ParameterError, match=name):
        TemporalMemory(**{name: value})


def test_constructor_forms():
    p = TemporalMemoryParams(column_dimensions=(8, 8), cells_per_column=4)
    tm = TemporalMemory(p)
    assert tm.num_columns == 64 and tm.num_cells == 256 and tm.params is p
    with pytest.raises(ParameterError, match="bogus"):
        TemporalMemory(bogus=1)
    with pytest.raises(ParameterError, match="params"):
        TemporalMemory(p, cells_per_column=2)
    with pytest.raises(ParameterError, match="params"):
        TemporalMemory({"cells_per_column": 2})
    assert dataclasses.replace(p, seed=1).seed == 1
    assert list(tm.cells_for_column(3)) == [12, 13, 14, 15]
    assert tm.column_for_cell(13) == 3
    with pytest.raises(InputError):
        tm.column_for_cell(256)
    with pytest.raises(InputError):
        tm.cells_for_column(-1)


def test_bad_inputs():
    tm = TemporalMemory(column_dimensions=(8, 8), cells_per_column=4, external_basal_size=10)
    with pytest.raises(InputError, match="64"):
        tm.compute(SDR(65, [1]))
    with pytest.raises(InputTypeError, match="active_columns"):
        tm.compute(np.array([1, 2, 3]))
    with pytest.raises(InputError, match="active_columns"):
        tm.compute([1, 2, 3])
    tm.compute(SDR((8, 8), [1, 2]))        # any shape of the right size
    tm.compute(SDR(64, [1, 2]), external_basal=SDR(10, [3]))
    with pytest.raises(InputError, match="10"):
        tm.compute(SDR(64, [1]), external_basal=SDR(11, [3]))
    with pytest.raises(InputError, match="external_basal"):
        tm.compute(SDR(64, [1]), external_basal=[3])
    with pytest.raises(InputError, match="external_apical"):
        tm.compute(SDR(64, [1]), external_apical=SDR(5, [1]))


# ----------------------------------------------------------------------------- external input
def test_external_basal_context_disambiguates_a_first_order_memory():
    """With one cell per column, A B -> C or D is ambiguous from the cells alone; an external
    context (e.g. from another region) given with each step tells which one comes next."""
    a, b, c, d = patterns(4, seed=7)
    rng = np.random.default_rng(2)
    ctx = [SDR(200, idx) for idx in rng.permutation(200)[:40].reshape(2, 20)]
    # a segment samples 24 of the 20 previous cells + 20 context bits (~12 each): it takes
    # both the cells and the context to reach the threshold of 18
    params = {**SMALL, "cells_per_column": 1, "max_new_synapse_count": 24,
              "activation_threshold": 18, "min_threshold": 14, "external_basal_size": 200}
    tm = TemporalMemory(**params)
    for _ in range(8):
        present(tm, [a, b, c], external_basal=ctx[0])
        tm.reset()
        present(tm, [a, b, d], external_basal=ctx[1])
        tm.reset()
    for context, expected in ((ctx[0], c), (ctx[1], d)):
        present(tm, [a, b], learn=False, external_basal=context)
        assert predicted_columns(tm) == expected
        tm.compute(expected, learn=False, external_basal=context)
        assert tm.anomaly == 0.0
        tm.reset()
    # without the context, the same memory cannot decide
    plain = TemporalMemory(**{**params, "external_basal_size": 0})
    for _ in range(8):
        present(plain, [a, b, c])
        plain.reset()
        present(plain, [a, b, d])
        plain.reset()
    present(plain, [a, b], learn=False)
    assert predicted_columns(plain) == c | d


def test_apical_input_breaks_ties_between_predicted_cells():
    """Two cell sets of column set B are both predicted by A∪C (B learned after A and after
    C). Apical feedback learned with each context selects one of them; apical input alone
    never predicts."""
    a, b, c, z = patterns(4, seed=8)
    rng = np.random.default_rng(3)
    p1, p2 = [SDR(60, idx) for idx in rng.permutation(60)[:40].reshape(2, 20)]
    tm = TemporalMemory(**{**SMALL, "external_apical_size": 60})
    for _ in range(8):
        tm.compute(a, external_apical=p1)
        tm.compute(b)
        tm.reset()
        tm.compute(c, external_apical=p2)
        tm.compute(b)
        tm.reset()
    tm.compute(a, learn=False)
    b_after_a = tm.predictive_cells
    tm.reset()
    tm.compute(c, learn=False)
    b_after_c = tm.predictive_cells
    tm.reset()
    assert predicted_columns(tm) == SDR(N_COLS)
    assert b_after_a.num_active == b.num_active and b_after_c.num_active == b.num_active
    assert b_after_a.overlap(b_after_c) == 0

    both = a | c
    tm.compute(both, learn=False)                       # no apical: both cell sets
    assert tm.predictive_cells == b_after_a | b_after_c
    tm.reset()
    tm.compute(both, learn=False, external_apical=p1)   # apical p1: the cells of A B
    assert tm.predictive_cells == b_after_a
    tm.compute(b, learn=False)
    assert tm.active_cells == b_after_a and tm.anomaly == 0.0
    tm.reset()
    tm.compute(both, learn=False, external_apical=p2)   # apical p2: the cells of C B
    assert tm.predictive_cells == b_after_c
    tm.reset()
    tm.compute(z, learn=False, external_apical=p1)      # apical alone predicts nothing
    assert tm.predictive_cells.num_active == 0
    tm.apical_store.check()
    assert tm.num_segments(apical=True) > 0


def test_repr_and_counts():
    tm = TemporalMemory(**SMALL)
    a, b = patterns(2, seed=9)
    for _ in range(5):
        present(tm, [a, b])
        tm.reset()
    tm.compute(a)
    assert tm.active_segments == b.num_active
    assert tm.matching_segments >= tm.active_segments
    assert "TemporalMemory" in repr(tm)
    assert tm.num_synapses() == tm.basal_store.num_synapses
    assert tm.iteration == 11


def test_kernel_state_views_match_python_views():
    """The kernel's unpack() slices the state buffers exactly like the Python-side views."""
    from numba import literal_unroll, njit

    from htmkit.kernels import temporal_memory as K

    @njit
    def lengths_and_sums(rng, counts, i32, flags, seg, apseg, lay):
        ts = K.unpack(rng, counts, i32, flags, seg, apseg, lay)
        out = np.zeros((len(ts), 2))
        i = 0
        for a in literal_unroll(ts):
            out[i, 0] = a.shape[0]
            out[i, 1] = a.astype(np.float64).sum()
            i += 1
        return out

    tm = TemporalMemory(column_dimensions=12, cells_per_column=3, external_basal_size=5,
                        external_apical_size=7)
    views = tm._state
    for k, v in enumerate(views):
        v[:] = (k % 2 == 1) if v.dtype == np.bool_ else k
    got = lengths_and_sums(tm._rng, tm._counts, tm._i32, tm._flags, tm._seg, tm._apseg,
                           tm._layout)
    want = np.array([[v.shape[0], v.astype(np.float64).sum()] for v in views])
    assert np.array_equal(got, want)


def _active_segments_by_cell(store, active, params):
    mask = np.zeros(store.num_presynaptic, bool)
    mask[active] = True
    thr = np.float32(params["connected_permanence"])
    out = {}
    for s in range(store.high_water):
        owner = int(store.arrays.seg_owner[s])
        if owner < 0:
            continue
        pre, perm = store.segment_synapses(s)
        if int(np.sum(mask[pre] & (perm >= thr))) >= params["activation_threshold"]:
            out.setdefault(owner, []).append(s)
    return out


def test_predictions_match_brute_force_with_external_inputs_resets_and_tiny_limits():
    rng = np.random.default_rng(0)
    params = dict(column_dimensions=40, cells_per_column=3, activation_threshold=3,
                  min_threshold=2, max_new_synapse_count=4, max_segments_per_cell=3,
                  max_synapses_per_segment=7, initial_permanence=0.4,
                  connected_permanence=0.45, permanence_increment=0.06,
                  permanence_decrement=0.03, predicted_segment_decrement=0.02, seed=1,
                  external_basal_size=15, external_apical_size=12)
    tm = TemporalMemory(**params)
    seqs = [[SDR(40, rng.choice(40, 5, replace=False)) for _ in range(6)] for _ in range(3)]
    for step in range(1500):
        if rng.random() < 0.8:
            cols = seqs[step // 6 % 3][step % 6]
        else:
            cols = SDR(40, rng.choice(40, 5, replace=False))
        eb = SDR(15, rng.choice(15, 3, replace=False)) if rng.random() < 0.7 else None
        ea = SDR(12, [step % 12, (step + 5) % 12]) if rng.random() < 0.7 else None
        tm.compute(cols, learn=rng.random() < 0.9, external_basal=eb, external_apical=ea)
        if rng.random() < 0.01:
            tm.reset()
            continue
        if step % 50 == 49:
            tm.basal_store.check()
            tm.apical_store.check()
            for store in (tm.basal_store, tm.apical_store):
                assert store.arrays.owner_nseg.max() <= 3
                assert store.arrays.seg_nsyn.max() <= 7
            active = list(tm.active_cells.indices)
            if eb is not None:
                active += [tm.num_cells + i for i in eb.indices]
            basal = _active_segments_by_cell(tm.basal_store, np.array(active, int), params)
            apical = _active_segments_by_cell(
                tm.apical_store, np.array([] if ea is None else ea.indices, int), params)
            expected = set()
            for col in range(40):
                cells = [c for c in tm.cells_for_column(col) if c in basal]
                both = [c for c in cells if c in apical]
                expected |= set(both or cells)
            assert tm.predictive_cells.indices.tolist() == sorted(expected)
            assert tm.active_segments == sum(len(v) for v in basal.values())
    assert tm.num_segments() > 200 and tm.num_segments(apical=True) > 100


def test_dead_segments_are_destroyed_when_adapted():
    """A segment left with fewer than min(min_threshold, activation_threshold) synapses can
    never match again: brute force over every step, no segment that was adapted (its
    synapses changed) survives below that count, and some segments do die that way."""
    params = dict(column_dimensions=48, cells_per_column=3, activation_threshold=4,
                  min_threshold=3, max_new_synapse_count=5, max_segments_per_cell=4,
                  max_synapses_per_segment=8, initial_permanence=0.21,
                  connected_permanence=0.3, permanence_increment=0.05,
                  permanence_decrement=0.05, predicted_segment_decrement=0.1, seed=4)
    tm = TemporalMemory(**params)
    dead_below = min(params["min_threshold"], params["activation_threshold"])
    store = tm.basal_store
    rng = np.random.default_rng(1)
    seqs = [[SDR(48, rng.choice(48, 5, replace=False)) for _ in range(4)] for _ in range(3)]
    killed = 0
    for step in range(600):
        sdr = (SDR(48, rng.choice(48, 5, replace=False)) if rng.random() < 0.4
               else seqs[step // 4 % 3][step % 4])
        before = {s: store.segment_synapses(s) for s in np.flatnonzero(
            store.arrays.seg_owner >= 0)}
        owners = store.arrays.seg_owner.copy()
        tm.compute(sdr)
        st = store.arrays
        for s, (pre, perm) in before.items():
            if st.seg_owner[s] != owners[s]:
                if pre.size >= dead_below:
                    killed += 1   # gone (destroyed, maybe reused by a new segment)
                continue
            pre2, perm2 = store.segment_synapses(s)
            adapted = pre2.size != pre.size or not np.array_equal(perm2, perm)
            if adapted:
                assert pre2.size >= dead_below, (step, s, pre2.size)
    store.check()
    assert killed > 0


# ---------------------------------------------------------------------- apical gate
def _two_branch_tm(mode):
    """X -> C under apical context ``a``, X -> D under context ``b`` (a reset before X, so X
    always bursts and both C and D are basally predicted after it)."""
    tm = TemporalMemory(column_dimensions=(48,), cells_per_column=4, activation_threshold=4,
                        min_threshold=3, max_new_synapse_count=6, initial_permanence=0.6,
                        connected_permanence=0.5, permanence_increment=0.1,
                        permanence_decrement=0.05, predicted_segment_decrement=0.01,
                        external_apical_size=32, apical_mode=mode, seed=3)
    x, c, d = SDR(48, range(0, 6)), SDR(48, range(12, 18)), SDR(48, range(24, 30))
    a, b = SDR(32, range(0, 6)), SDR(32, range(16, 22))
    for _ in range(10):
        for nxt, ctx in ((c, a), (d, b)):
            tm.reset()
            tm.compute(x, external_apical=ctx)
            tm.compute(nxt, external_apical=ctx)
    return tm, x, a, b


def _predicted_columns_after(tm, x, ctx):
    tm.reset()
    tm.compute(x, learn=False, external_apical=ctx)
    return sorted({int(i) // tm.params.cells_per_column for i in tm.predictive_cells.sparse})


def test_apical_gate_changes_which_columns_are_predicted():
    c_cols, d_cols = list(range(12, 18)), list(range(24, 30))
    tm, x, a, b = _two_branch_tm("gate")
    assert _predicted_columns_after(tm, x, a) == c_cols
    assert _predicted_columns_after(tm, x, b) == d_cols
    # without feedback the gate lets the basal prediction stand
    assert _predicted_columns_after(tm, x, None) == c_cols + d_cols
    # the tie-break mode never changes the predicted columns
    tm, x, a, b = _two_branch_tm("tiebreak")
    for ctx in (a, b, None):
        assert _predicted_columns_after(tm, x, ctx) == c_cols + d_cols


def test_apical_mode_validated_and_saved(tmp_path):
    with pytest.raises(ParameterError, match="apical_mode"):
        TemporalMemoryParams(apical_mode="veto")
    tm, x, a, _ = _two_branch_tm("gate")
    clone = TemporalMemory.load(tm.save(tmp_path / "tm.htm"))
    assert clone.params.apical_mode == "gate"
    for t in (tm, clone):
        t.compute(x, external_apical=a)
    assert np.array_equal(tm.predictive_cells.sparse, clone.predictive_cells.sparse)


def test_apical_thresholds_and_sample_size_are_their_own():
    with pytest.raises(ParameterError, match="apical_activation_threshold"):
        TemporalMemoryParams(apical_activation_threshold=-1)
    tm = TemporalMemory(column_dimensions=(48,), cells_per_column=4, activation_threshold=4,
                        min_threshold=3, max_new_synapse_count=6, external_apical_size=32,
                        apical_max_new_synapse_count=3, seed=3)
    tm.compute(SDR(48, range(6)), external_apical=SDR(32, range(8)))
    tm.compute(SDR(48, range(12, 18)), external_apical=SDR(32, range(8)))
    # one new apical segment per winner cell, each with 3 synapses (6 on a basal segment)
    assert tm.num_segments(apical=True) == 6
    assert tm.num_synapses(apical=True) == 18
    assert tm.num_synapses() == 36
