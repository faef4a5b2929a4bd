"""Numba kernels of the shared synapse store (see :mod:`htmkit.synapses`).

Layout (all flat arrays, grouped in the :class:`StoreArrays` named tuple):

* Segments own the synapses. Segment ``s`` has a block of ``cap`` slots
  ``s*cap .. s*cap+cap-1``; its ``seg_nsyn[s]`` synapses are packed at the front of the block.
  ``presyn[slot]`` is the presynaptic index (input bit or cell) and ``perm[slot]`` the
  permanence (float32).
* A reverse index (CSR-like, one bucket per presynaptic index in ``arena``) lists the slots
  fed by each presynaptic index, so segment activity is counted by walking only the synapses
  of the active inputs: ``arena[rev_start[p] : rev_start[p] + rev_count[p]]``.
  ``rev_pos[slot]`` is the position of the slot in its bucket (O(1) removal). A full bucket is
  moved to the top of the arena with double capacity; when the arena top is reached the arena
  is compacted in place. The owner (Python) keeps enough head-room before each step
  (:func:`arena_needs`).
* Segments belong to owners (a column for the SP, a cell for the TM), linked in a doubly linked
  list per owner (``owner_first``, ``seg_next``, ``seg_prev``; ``owner_nseg`` counts them).
  Freed segments go on a stack (``free_segs``).
* ``meta``: int64 counters [free segments, segments ever used (high water), synapses,
  arena top, iteration].
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

StoreArrays = namedtuple(
    "StoreArrays",
    [
        "presyn", "perm", "rev_pos",            # per slot
        "seg_nsyn", "seg_owner", "seg_last_used", "seg_next", "seg_prev",  # per segment
        "free_segs",                            # stack of free segment ids
        "owner_first", "owner_nseg",            # per owner
        "rev_start", "rev_count", "rev_cap",    # per presynaptic index
        "arena",                                # reverse-index storage (slot ids)
        "meta",                                 # int64 counters
    ],
)

M_FREE = 0
M_HIGH = 1
M_NSYN = 2
M_TOP = 3
M_ITER = 4
META_SIZE = 5


@njit(cache=True)
def arena_needs(st, max_new_synapses):
    """Arena length that guarantees ``max_new_synapses`` insertions succeed (after compaction)."""
    n_pre = st.rev_start.shape[0]
    return 4 * (st.meta[M_NSYN] + max_new_synapses) + 2 * n_pre + 16


@njit(cache=True)
def _compact(st):
    """Pack every bucket to the bottom of the arena (capacity = count, at least 1)."""
    n_pre = st.rev_start.shape[0]
    order = np.argsort(st.rev_start, kind="mergesort")
    top = 0
    for j in range(n_pre):
        p = order[j]
        start = st.rev_start[p]
        cnt = st.rev_count[p]
        if start != top:
            for k in range(cnt):  # start >= top, so moving downwards is safe
                slot = st.arena[start + k]
                st.arena[top + k] = slot
                st.rev_pos[slot] = top + k
        st.rev_start[p] = top
        cap = cnt if cnt > 0 else 1
        st.rev_cap[p] = cap
        top += cap
    st.meta[M_TOP] = top


@njit(cache=True)
def _rev_insert(st, p, slot):
    cnt = st.rev_count[p]
    if cnt == st.rev_cap[p]:
        new_cap = 2 * cnt if cnt >= 2 else 4
        if st.meta[M_TOP] + new_cap > st.arena.shape[0]:
            _compact(st)
        top = st.meta[M_TOP]
        start = st.rev_start[p]
        if start + st.rev_cap[p] == top:
            # bucket already sits at the top: grow in place
            st.rev_cap[p] = new_cap
            st.meta[M_TOP] = start + new_cap
        else:
            for k in range(cnt):
                s = st.arena[start + k]
                st.arena[top + k] = s
                st.rev_pos[s] = top + k
            st.rev_start[p] = top
            st.rev_cap[p] = new_cap
            st.meta[M_TOP] = top + new_cap
    pos = st.rev_start[p] + st.rev_count[p]
    st.arena[pos] = slot
    st.rev_pos[slot] = pos
    st.rev_count[p] += 1


@njit(cache=True)
def _rev_remove(st, slot):
    p = st.presyn[slot]
    pos = st.rev_pos[slot]
    last = st.rev_start[p] + st.rev_count[p] - 1
    moved = st.arena[last]
    st.arena[pos] = moved
    st.rev_pos[moved] = pos
    st.rev_count[p] -= 1


@njit(cache=True)
def segment_create(st, owner):
    """Take a free segment for ``owner``; returns its id, or -1 if none is free."""
    if st.meta[M_FREE] == 0:
        return -1
    st.meta[M_FREE] -= 1
    seg = st.free_segs[st.meta[M_FREE]]
    if seg + 1 > st.meta[M_HIGH]:
        st.meta[M_HIGH] = seg + 1
    st.seg_owner[seg] = owner
    st.seg_nsyn[seg] = 0
    st.seg_last_used[seg] = st.meta[M_ITER]
    first = st.owner_first[owner]
    st.seg_prev[seg] = -1
    st.seg_next[seg] = first
    if first >= 0:
        st.seg_prev[first] = seg
    st.owner_first[owner] = seg
    st.owner_nseg[owner] += 1
    return seg


@njit(cache=True)
def synapse_remove(st, slot):
    """Remove the synapse in ``slot``; the segment's last synapse moves into the hole.

    Callers that remove while iterating over a segment must iterate backwards.
    """
    cap = st.presyn.shape[0] // st.seg_nsyn.shape[0]
    seg = slot // cap
    _rev_remove(st, slot)
    last = seg * cap + st.seg_nsyn[seg] - 1
    if slot != last:
        st.presyn[slot] = st.presyn[last]
        st.perm[slot] = st.perm[last]
        pos = st.rev_pos[last]
        st.rev_pos[slot] = pos
        st.arena[pos] = slot
    st.presyn[last] = -1
    st.seg_nsyn[seg] -= 1
    st.meta[M_NSYN] -= 1


@njit(cache=True)
def segment_destroy(st, seg):
    """Remove all synapses of ``seg``, unlink it from its owner and free it."""
    cap = st.presyn.shape[0] // st.seg_nsyn.shape[0]
    base = seg * cap
    for k in range(st.seg_nsyn[seg] - 1, -1, -1):
        synapse_remove(st, base + k)
    owner = st.seg_owner[seg]
    prv = st.seg_prev[seg]
    nxt = st.seg_next[seg]
    if prv >= 0:
        st.seg_next[prv] = nxt
    else:
        st.owner_first[owner] = nxt
    if nxt >= 0:
        st.seg_prev[nxt] = prv
    st.owner_nseg[owner] -= 1
    st.seg_owner[seg] = -1
    st.seg_next[seg] = -1
    st.seg_prev[seg] = -1
    st.free_segs[st.meta[M_FREE]] = seg
    st.meta[M_FREE] += 1


@njit(cache=True)
def synapse_add(st, seg, p, permanence):
    """Append a synapse from presynaptic ``p`` to ``seg``; returns its slot, -1 if full."""
    cap = st.presyn.shape[0] // st.seg_nsyn.shape[0]
    n = st.seg_nsyn[seg]
    if n >= cap:
        return -1
    slot = seg * cap + n
    st.presyn[slot] = p
    st.perm[slot] = permanence
    st.seg_nsyn[seg] = n + 1
    st.meta[M_NSYN] += 1
    _rev_insert(st, p, slot)
    return slot


@njit(cache=True)
def segment_activity(st, active_presyn, connected, n_connected, n_potential, touched):
    """Count, for every segment fed by an active presynaptic index, its active potential
    synapses into ``n_potential`` and its active connected synapses (``permanence >=
    connected``) into ``n_connected``, walking only the reverse-index buckets of the active
    indices. Both arrays must be zero on entry (for at least the segments reached); the
    segments reached are listed in ``touched`` (room for every segment). Returns their
    number."""
    cap = st.presyn.shape[0] // st.seg_nsyn.shape[0]
    inv_cap = 1.0 / cap
    thr = np.float32(connected)
    # Pass 1 only loads the permanences that pass 2 reads: independent loads that the CPU
    # overlaps, where pass 2 alone would wait on more of the cache misses in turn.
    warm = np.float32(0.0)
    for i in range(active_presyn.shape[0]):
        p = active_presyn[i]
        start = st.rev_start[p]
        for k in range(start, start + st.rev_count[p]):
            warm += st.perm[st.arena[k]]
    # Pass 2, branch-free in the loop body.
    n_touched = np.int64(0)
    for i in range(active_presyn.shape[0]):
        p = active_presyn[i]
        start = st.rev_start[p]
        for k in range(start, start + st.rev_count[p]):
            slot = st.arena[k]
            seg = np.int64((slot + 0.5) * inv_cap)  # == slot // cap, without a division
            touched[n_touched] = seg                # kept only when seen the first time
            n_touched += np.int64(n_potential[seg] == 0)
            n_potential[seg] += 1
            n_connected[seg] += np.int32(st.perm[slot] >= thr)
    if warm < np.float32(-1.0):  # never true (permanences are >= 0); keeps pass 1 alive
        n_touched = np.int64(-1)
    return n_touched


@njit(cache=True)
def compute_connected(st, active_presyn, connected, n_connected):
    """Count, for every segment below the high-water mark, its active connected synapses
    (``permanence >= connected``) into ``n_connected`` (cleared first); only the synapses of
    the active presynaptic indices are visited."""
    cap = st.presyn.shape[0] // st.seg_nsyn.shape[0]
    high = st.meta[M_HIGH]
    for s in range(high):
        n_connected[s] = 0
    thr = np.float32(connected)
    for i in range(active_presyn.shape[0]):
        p = active_presyn[i]
        start = st.rev_start[p]
        for k in range(start, start + st.rev_count[p]):
            slot = st.arena[k]
            if st.perm[slot] >= thr:
                n_connected[slot // cap] += 1


@njit(cache=True)
def adapt_segment(st, seg, presyn_active, inc, dec, prune_below):
    """BAMI permanence update of one segment: ``+inc`` for synapses from active presynaptic
    indices (``presyn_active`` is a dense boolean mask), ``-dec`` for the others, clipped to
    [0, 1], in float32 (``inc, dec >= 0``). Synapses whose permanence falls below
    ``prune_below`` are removed (pass a negative value to keep all). Returns the number of
    synapses removed.

    The update loop is branch-free (a data-dependent branch per synapse costs a misprediction
    every few synapses, and this runs for every learning segment); removals follow, from the
    last synapse back, the last synapse moving into each freed slot.
    """
    cap = st.presyn.shape[0] // st.seg_nsyn.shape[0]
    base = seg * cap
    n = st.seg_nsyn[seg]
    finc = np.float32(inc)
    fdec = np.float32(dec)
    fprune = np.float32(prune_below)
    zero = np.float32(0.0)
    one = np.float32(1.0)
    any_low = False
    for slot in range(base, base + n):
        v = st.perm[slot] + (finc if presyn_active[st.presyn[slot]] else -fdec)
        v = min(max(v, zero), one)
        st.perm[slot] = v
        any_low |= v < fprune
    removed = 0
    if any_low:
        for k in range(n - 1, -1, -1):
            if st.perm[base + k] < fprune:
                synapse_remove(st, base + k)
                removed += 1
    return removed


@njit(cache=True)
def build_static(st, seg_owner_of, seg_ptr, presyn, perm):
    """Bulk-fill an empty store: segment ``i`` (owned by ``seg_owner_of[i]``) gets the
    synapses ``presyn[seg_ptr[i]:seg_ptr[i+1]]`` with permanences ``perm[...]``.

    The reverse index is built exactly (counting sort), with no spare capacity.
    """
    cap = st.presyn.shape[0] // st.seg_nsyn.shape[0]
    n_seg = seg_ptr.shape[0] - 1
    n_pre = st.rev_start.shape[0]
    counts = np.zeros(n_pre, dtype=np.int64)
    for j in range(presyn.shape[0]):
        counts[presyn[j]] += 1
    top = 0
    for p in range(n_pre):
        st.rev_start[p] = top
        st.rev_count[p] = 0
        c = counts[p] if counts[p] > 0 else 1
        st.rev_cap[p] = c
        top += c
    st.meta[M_TOP] = top
    for i in range(n_seg):
        seg = segment_create(st, seg_owner_of[i])
        base = seg * cap
        n = seg_ptr[i + 1] - seg_ptr[i]
        for k in range(n):
            j = seg_ptr[i] + k
            slot = base + k
            p = presyn[j]
            st.presyn[slot] = p
            st.perm[slot] = perm[j]
            pos = st.rev_start[p] + st.rev_count[p]
            st.arena[pos] = slot
            st.rev_pos[slot] = pos
            st.rev_count[p] += 1
        st.seg_nsyn[seg] = n
        st.meta[M_NSYN] += n


@njit(cache=True)
def check_invariants(st):
    """Full consistency check (for tests): returns an error code, 0 when consistent."""
    cap = st.presyn.shape[0] // st.seg_nsyn.shape[0]
    n_seg = st.seg_nsyn.shape[0]
    total = 0
    for s in range(n_seg):
        n = st.seg_nsyn[s]
        if n < 0 or n > cap:
            return 1
        if st.seg_owner[s] < 0 and n != 0:
            return 2
        for k in range(cap):
            slot = s * cap + k
            if k < n:
                p = st.presyn[slot]
                if p < 0 or p >= st.rev_start.shape[0]:
                    return 3
                pos = st.rev_pos[slot]
                if st.arena[pos] != slot:
                    return 4
                if pos < st.rev_start[p] or pos >= st.rev_start[p] + st.rev_count[p]:
                    return 5
                total += 1
        # owner list membership
    if total != st.meta[M_NSYN]:
        return 6
    rc = 0
    for p in range(st.rev_start.shape[0]):
        rc += st.rev_count[p]
        if st.rev_count[p] > st.rev_cap[p]:
            return 7
        if st.rev_start[p] + st.rev_cap[p] > st.meta[M_TOP]:
            return 8
    if rc != total:
        return 9
    nown = 0
    for o in range(st.owner_first.shape[0]):
        s = st.owner_first[o]
        c = 0
        while s >= 0:
            if st.seg_owner[s] != o:
                return 10
            c += 1
            s = st.seg_next[s]
        if c != st.owner_nseg[o]:
            return 11
        nown += c
    if nown + st.meta[M_FREE] != n_seg:
        return 12
    return 0


@njit(cache=True)
def validate_store(st, num_owners, num_presynaptic, cap):
    """Check every index of a store read from a file before any other kernel uses it.

    The array dtypes and lengths must have been checked already (see
    :meth:`htmkit.synapses.SynapseStore.validate`); this reads only in-range entries.
    Returns ``(code, index)``: code 0 when consistent, else the number of the first failed
    rule (see ``_STORE_RULES`` in :mod:`htmkit.synapses`) and the entry it failed at.
    """
    n_seg = st.seg_nsyn.shape[0]
    n_slots = st.presyn.shape[0]
    n_free = st.meta[M_FREE]
    high = st.meta[M_HIGH]
    top = st.meta[M_TOP]
    if n_free < 0 or n_free > n_seg:
        return 1, M_FREE
    if high < 0 or high > n_seg:
        return 1, M_HIGH
    if st.meta[M_NSYN] < 0:
        return 1, M_NSYN
    if top < 0 or top > st.arena.shape[0]:
        return 1, M_TOP
    # per presynaptic index: buckets inside [0, top), counts within capacity
    for p in range(num_presynaptic):
        if st.rev_start[p] < 0 or st.rev_cap[p] < 0 or st.rev_count[p] < 0:
            return 2, p
        if st.rev_count[p] > st.rev_cap[p] or st.rev_start[p] + st.rev_cap[p] > top:
            return 2, p
    order = np.argsort(st.rev_start, kind="mergesort")
    end = np.int64(0)
    for j in range(num_presynaptic):
        p = order[j]
        if st.rev_cap[p] == 0:
            continue
        if st.rev_start[p] < end:
            return 3, p  # buckets overlap
        end = st.rev_start[p] + st.rev_cap[p]
    # per segment
    used = 0
    total = np.int64(0)
    for s in range(n_seg):
        n = st.seg_nsyn[s]
        owner = st.seg_owner[s]
        if n < 0 or n > cap:
            return 4, s
        if owner < -1 or owner >= num_owners:
            return 5, s
        nxt = st.seg_next[s]
        prv = st.seg_prev[s]
        if nxt < -1 or nxt >= n_seg or prv < -1 or prv >= n_seg:
            return 6, s
        if owner < 0:
            if n != 0 or nxt != -1 or prv != -1:
                return 7, s
            continue
        used += 1
        if s >= high:
            return 8, s
        for slot in range(s * cap, s * cap + n):
            p = st.presyn[slot]
            if p < 0 or p >= num_presynaptic:
                return 9, slot
            v = st.perm[slot]
            if not (v >= 0.0 and v <= 1.0):
                return 10, slot
            pos = st.rev_pos[slot]
            if pos < st.rev_start[p] or pos >= st.rev_start[p] + st.rev_count[p]:
                return 11, slot
            if st.arena[pos] != slot:
                return 11, slot
        total += n
    if total != st.meta[M_NSYN]:
        return 12, M_NSYN
    rc = np.int64(0)
    for p in range(num_presynaptic):
        rc += st.rev_count[p]
        for k in range(st.rev_start[p], st.rev_start[p] + st.rev_count[p]):
            slot = st.arena[k]
            if slot < 0 or slot >= n_slots:
                return 13, k
            if st.presyn[slot] != p or st.rev_pos[slot] != k:
                return 13, k
            if st.seg_owner[slot // cap] < 0 or slot % cap >= st.seg_nsyn[slot // cap]:
                return 13, k
    if rc != total:
        return 12, M_NSYN
    if used + n_free != n_seg:
        return 14, M_FREE
    seen = np.zeros(n_seg, dtype=np.bool_)
    for i in range(n_free):
        s = st.free_segs[i]
        if s < 0 or s >= n_seg or seen[s] or st.seg_owner[s] >= 0:
            return 14, i
        seen[s] = True
    # owner lists: each a chain of that owner's segments, linked both ways, no cycles
    listed = 0
    for o in range(num_owners):
        s = st.owner_first[o]
        if s < -1 or s >= n_seg:
            return 15, o
        prev = -1
        c = 0
        while s >= 0:
            if st.seg_owner[s] != o or st.seg_prev[s] != prev or c >= n_seg:
                return 15, o
            c += 1
            prev = s
            s = st.seg_next[s]
        if c != st.owner_nseg[o]:
            return 15, o
        listed += c
    if listed != used:
        return 15, -1
    return 0, 0
