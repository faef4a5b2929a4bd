"""The shared synapse store: random operation sequences keep every index consistent, and
activity counts agree with a brute-force count."""

import numpy as np
import pytest

from htmkit.kernels import synapses as K
from htmkit.synapses import SynapseStore


def _brute_activity(store, active, connected):
    mask = np.zeros(store.num_presynaptic, bool)
    mask[active] = True
    conn, pot = [], []
    for s in range(store.high_water):
        p, pm = store.segment_synapses(s)
        pot.append(int(mask[p].sum()))
        conn.append(int((mask[p] & (pm >= np.float32(connected))).sum()))
    return np.array(conn), np.array(pot)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_operations_keep_store_consistent(seed):
    rng = np.random.default_rng(seed)
    cap = 12
    st = SynapseStore(30, 120, cap, initial_segments=2)
    for it in range(1500):
        st.reserve(2, 40)
        a = st.arrays
        op = rng.integers(5)
        live = np.flatnonzero(a.seg_owner >= 0)
        if op == 0 or live.size == 0:
            assert K.segment_create(a, int(rng.integers(30))) >= 0
        elif op == 1:
            s = int(rng.choice(live))
            for _ in range(rng.integers(1, 20)):
                slot = K.synapse_add(a, s, int(rng.integers(120)), np.float32(rng.random()))
                assert slot == -1 or a.seg_nsyn[s] <= cap
        elif op == 2:
            full = np.flatnonzero(a.seg_nsyn > 0)
            if full.size:
                s = int(rng.choice(full))
                K.synapse_remove(a, s * cap + int(rng.integers(a.seg_nsyn[s])))
        elif op == 3:
            s = int(rng.choice(live))
            mask = rng.random(120) < 0.5
            K.adapt_segment(a, s, mask, 0.1, 0.05, 0.02)
        elif rng.random() < 0.3:
            K.segment_destroy(a, int(rng.choice(live)))
        if it % 250 == 0:
            st.check()
    st.check()
    assert np.all(st.arrays.seg_nsyn <= cap)
    active = np.sort(rng.choice(120, 25, replace=False)).astype(np.int32)
    n = st.num_segments_allocated
    conn, pot = np.zeros(n, np.int32), np.zeros(n, np.int32)
    K.compute_activity(st.arrays, active, 0.5, conn, pot)
    bconn, bpot = _brute_activity(st, active, 0.5)
    assert np.array_equal(conn[: st.high_water], bconn)
    assert np.array_equal(pot[: st.high_water], bpot)
    conn2 = np.zeros(n, np.int32)
    K.compute_connected(st.arrays, active, 0.5, conn2)
    assert np.array_equal(conn2, conn)


def test_build_static_and_state_roundtrip():
    rng = np.random.default_rng(3)
    n_seg, n_pre, cap = 20, 50, 30
    sizes = rng.integers(5, cap + 1, n_seg)
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    presyn = np.concatenate([rng.choice(n_pre, k, replace=False) for k in sizes]).astype(np.int32)
    perm = rng.random(ptr[-1]).astype(np.float32)
    st = SynapseStore(n_seg, n_pre, cap, initial_segments=n_seg)
    st.fill(np.arange(n_seg), ptr, presyn, perm)
    st.check()
    assert st.num_synapses == ptr[-1]
    p, pm = st.segment_synapses(4)
    assert np.array_equal(p, presyn[ptr[4] : ptr[5]])
    clone = SynapseStore.from_state(st.get_state())
    for a, b in zip(st.arrays, clone.arrays, strict=True):
        assert np.array_equal(a, b) and a.dtype == b.dtype
    clone.check()


def test_segments_of_owner_and_growth():
    st = SynapseStore(3, 10, 4, initial_segments=1)
    made = []
    for _ in range(5):
        st.reserve(1, 0)
        made.append(int(K.segment_create(st.arrays, 1)))
    assert st.num_segments == 5 and st.num_segments_allocated >= 5
    assert sorted(st.segments_of(1)) == sorted(made)
    K.segment_destroy(st.arrays, made[2])
    assert made[2] not in st.segments_of(1)
    st.check()
