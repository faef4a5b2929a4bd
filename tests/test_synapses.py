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


@pytest.mark.parametrize("seed,chunk", [(0, None), (1, None), (2, None), (0, 4), (1, 5)])
def test_random_operations_keep_store_consistent(seed, chunk):
    rng = np.random.default_rng(seed)
    cap = 12
    st = SynapseStore(30, 120, cap, initial_segments=2, chunk=chunk)
    for it in range(1500):
        # room for 2 segments, 40 synapses and (grown layout) one whole block per segment
        st.reserve(2, 40, 0 if chunk is None else st.num_segments_allocated * cap)
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
                base = int(a.seg_chunk[s]) * st.chunk
                K.synapse_remove(a, base + int(rng.integers(a.seg_nsyn[s])))
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
    touched = np.full(n, -1, np.int64)
    n_touched = K.segment_activity(st.arrays, active, np.float32(0.5), conn, pot, touched)
    bconn, bpot = _brute_activity(st, active, 0.5)
    assert np.array_equal(conn[: st.high_water], bconn)
    assert np.array_equal(pot[: st.high_water], bpot)
    # the segments reached, each listed once
    assert sorted(touched[:n_touched].tolist()) == np.flatnonzero(bpot).tolist()
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


def _adapt_reference(presyn, perm, mask, inc, dec, prune_below):
    """The BAMI update of one segment in plain numpy (float32): the (presyn, perm) pairs kept."""
    v = perm + np.where(mask[presyn], np.float32(inc), -np.float32(dec)).astype(np.float32)
    v = np.clip(v, np.float32(0.0), np.float32(1.0)).astype(np.float32)
    keep = v >= np.float32(prune_below)
    return sorted(zip(presyn[keep].tolist(), v[keep].tolist(), strict=True))


@pytest.mark.parametrize("typed", [True, False])
def test_adapt_segment_matches_reference(typed):
    """The store's (branch-free) adapt_segment: float32 update, clip, prune, count removed;
    the same with float32 and Python float parameters."""
    rng = np.random.default_rng(4)
    store = SynapseStore(10, 50, 16, initial_segments=8)
    store.reserve(8, 200)
    for s in range(8):
        pre = rng.choice(50, int(rng.integers(1, 17)), replace=False)
        perm = rng.choice(np.array([0.0, 0.05, 0.1, 0.3, 0.95, 1.0], np.float32), pre.size)
        seg = K.segment_create(store.arrays, s % 10)
        for p, v in zip(pre, perm, strict=True):
            K.synapse_add(store.arrays, seg, int(p), v)
    for _ in range(40):
        mask = rng.random(50) < 0.5
        seg = int(rng.integers(8))
        inc, dec = float(rng.choice([0.0, 0.1])), float(rng.choice([0.0, 0.05, 0.1]))
        prune = float(rng.choice([-1.0, 1e-6, 0.06]))
        pre, perm = store.segment_synapses(seg)
        want = _adapt_reference(pre, perm, mask, inc, dec, prune)
        args = (np.float32(inc), np.float32(dec), np.float32(prune)) if typed else (
            inc, dec, prune)
        removed = K.adapt_segment(store.arrays, seg, mask, *args)
        pre2, perm2 = store.segment_synapses(seg)
        assert sorted(zip(pre2.tolist(), perm2.tolist(), strict=True)) == want
        assert removed == pre.size - pre2.size
        store.check()


def test_store_state_carries_its_version():
    st = SynapseStore(3, 10, 4, initial_segments=1)
    state = st.get_state()
    assert (state["__class__"], state["__version__"]) == ("SynapseStore",
                                                           SynapseStore.STATE_VERSION)


def test_grown_layout_holds_what_it_holds_and_compacts():
    """Grown layout: blocks follow the synapses held (not the capacity); packing the chunk
    area keeps every segment's synapses, the reverse index and the invariants."""
    rng = np.random.default_rng(3)
    cap, ch = 64, 4
    st = SynapseStore(40, 500, cap, initial_segments=8, chunk=ch)
    for _ in range(300):
        st.reserve(1, cap, 2 * cap)
        a = st.arrays
        s = K.segment_create(a, int(rng.integers(40)))
        for p in rng.choice(500, int(rng.integers(1, 12)), replace=False):
            K.synapse_add(a, s, int(p), np.float32(rng.random()))
        if rng.random() < 0.5:
            live = np.flatnonzero(a.seg_owner >= 0)
            K.segment_destroy(a, int(rng.choice(live)))
    st.check()
    a = st.arrays
    live = np.flatnonzero(a.seg_owner >= 0)
    assert np.all(a.seg_nchunk[live] == (a.seg_nsyn[live] + ch - 1) // ch)
    before = {int(s): st.segment_synapses(int(s)) for s in live}
    top = int(a.meta[K.M_CTOP])
    new_top = K.compact_chunks(a)
    assert new_top == int(a.seg_nchunk.sum()) <= top
    st.check()
    for s, (pre, perm) in before.items():
        pre2, perm2 = st.segment_synapses(s)
        assert np.array_equal(pre, pre2) and np.array_equal(perm, perm2)
    # far smaller than reserving the capacity of every segment
    assert st.num_synapses * 4 < live.size * cap
