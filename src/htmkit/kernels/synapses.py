"""Numba kernels of the shared synapse store (see :mod:`htmkit.synapses`).

Layout (all flat arrays, grouped in the :class:`StoreArrays` named tuple):

* Synapse slots are grouped in *chunks* of ``meta[M_CHUNK]`` slots. Segment ``s`` holds its
  ``seg_nsyn[s]`` synapses packed at the front of one block of ``seg_nchunk[s]`` consecutive
  chunks starting at chunk ``seg_chunk[s]`` (slot ``seg_chunk[s] * chunk``);
  ``chunk_seg[c]`` is the segment owning chunk ``c`` (so a slot's segment is
  ``chunk_seg[slot // chunk]``). ``presyn[slot]`` is the presynaptic index (input bit or
  cell) and ``perm[slot]`` the permanence (float32).
* Two modes (``meta[M_FIXED]``). *Fixed* (the Spatial Pooler and temporal pooler): a chunk
  is the whole segment capacity and segment ``s`` always owns chunk ``s`` -- the classic
  ``s * capacity`` layout. *Grown* (the Temporal Memory): a segment starts with no block and
  its block grows a chunk at a time as synapses are added (up to ``meta[M_CAP]``
  synapses), so memory follows the synapses actually held. Blocks are taken from a free
  list per size (``free_blocks[k]`` heads the list of free blocks of ``k`` chunks, linked
  through their first chunk: ``chunk_seg[first] = -2 - next``) or from the top of the chunk
  area (``meta[M_CTOP]``); a block at the top grows in place. Moving a segment to a bigger
  block copies only that segment's synapses. The owner grows the slot arrays geometrically
  between steps (copying them only rarely).
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
  arena top, iteration, slots per chunk, segment capacity, chunks in use (top), largest
  bucket capacity ever, fixed mode].
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
        "seg_chunk", "seg_nchunk",              # per segment: its block of chunks
        "free_segs",                            # stack of free segment ids
        "owner_first", "owner_nseg",            # per owner
        "rev_start", "rev_count", "rev_cap",    # per presynaptic index
        "arena",                                # reverse-index storage (slot ids)
        "chunk_seg",                            # per chunk: owning segment / free-list link
        "free_blocks",                          # per block size (chunks): free-list head
        "meta",                                 # int64 counters
    ],
)

M_FREE = 0
M_HIGH = 1
M_NSYN = 2
M_TOP = 3
M_ITER = 4
M_CHUNK = 5
M_CAP = 6
M_CTOP = 7
M_MAXB = 8
M_FIXED = 9
META_SIZE = 10


@njit(cache=True)
def arena_needs(st, max_new_synapses):
    """Arena length that guarantees ``max_new_synapses`` insertions succeed (compacting
    when the top is reached): after a compaction the buckets take at most ``synapses +
    presynaptic indices`` entries, and one relocated bucket at most twice the largest bucket;
    as much again keeps compactions rare."""
    n_pre = st.rev_start.shape[0]
    live = st.meta[M_NSYN] + max_new_synapses + n_pre
    return live + live + 2 * (st.meta[M_MAXB] + max_new_synapses) + 16


@njit(cache=True)
def chunks_for(st, n_synapses):
    """Chunks of a block holding ``n_synapses`` synapses."""
    ch = st.meta[M_CHUNK]
    return (n_synapses + ch - 1) // ch


@njit(cache=True)
def _compact(st):
    """Pack every bucket to the bottom of the arena (capacity = count, at least 1; buckets
    that never held anything keep no room)."""
    n_pre = st.rev_start.shape[0]
    order = np.argsort(st.rev_start, kind="mergesort")
    top = 0
    for j in range(n_pre):
        p = order[j]
        if st.rev_cap[p] == 0:
            continue  # no room: its start may equal a real bucket's
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
        if new_cap > st.meta[M_MAXB]:
            st.meta[M_MAXB] = new_cap
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


@njit(cache=True, inline="always")
def slot_segment(st, slot):
    """The segment holding ``slot``."""
    return st.chunk_seg[slot // st.meta[M_CHUNK]]


@njit(cache=True, inline="always")
def segment_base(st, seg):
    """First slot of ``seg``'s block."""
    return np.int64(st.seg_chunk[seg]) * st.meta[M_CHUNK]


@njit(cache=True)
def _block_free(st, first, k):
    """Give back the block of ``k`` chunks at ``first`` (grown mode)."""
    for c in range(first, first + k):
        st.chunk_seg[c] = -1
    if first + k == st.meta[M_CTOP]:
        st.meta[M_CTOP] = first  # the top block: lower the top
        return
    st.chunk_seg[first] = np.int32(-2 - st.free_blocks[k])
    st.free_blocks[k] = first


@njit(cache=True)
def _block_alloc(st, k, seg):
    """A block of ``k`` chunks for ``seg`` (room checked by the owner: :func:`chunk_needs`)."""
    first = st.free_blocks[k]
    if first >= 0:
        st.free_blocks[k] = -2 - np.int64(st.chunk_seg[first])
    else:
        first = st.meta[M_CTOP]
        st.meta[M_CTOP] = first + k
    for c in range(first, first + k):
        st.chunk_seg[c] = seg
    return first


@njit(cache=True)
def _move_slots(st, src, dst, n):
    """Grown mode: move ``n`` synapse slots from ``src`` to ``dst`` (lower, or not
    overlapping), their reverse-index entries following them."""
    for j in range(n):
        st.presyn[dst + j] = st.presyn[src + j]
        st.perm[dst + j] = st.perm[src + j]
        pos = st.rev_pos[src + j]
        st.rev_pos[dst + j] = pos
        st.arena[pos] = dst + j


@njit(cache=True)
def segment_grow(st, seg, n_total):
    """Make ``seg``'s block hold at least ``n_total`` synapses (at most the segment
    capacity): grow it in place at the top of the chunk area, else move the segment to a
    block of the size needed (its reverse-index entries follow). Fixed mode: no-op."""
    if st.meta[M_FIXED]:
        return
    cap = st.meta[M_CAP]
    if n_total > cap:
        n_total = cap
    k = chunks_for(st, n_total)
    old_k = st.seg_nchunk[seg]
    if k <= old_k:
        return
    old = st.seg_chunk[seg]
    if old_k > 0 and old + old_k == st.meta[M_CTOP]:
        for c in range(old + old_k, old + k):
            st.chunk_seg[c] = seg
        st.meta[M_CTOP] = old + k
        st.seg_nchunk[seg] = k
        return
    first = _block_alloc(st, k, seg)
    ch = st.meta[M_CHUNK]
    if old_k > 0:
        src = np.int64(old) * ch
        _move_slots(st, src, np.int64(first) * ch, st.seg_nsyn[seg])
        for j in range(st.seg_nsyn[seg]):
            st.presyn[src + j] = -1
        _block_free(st, old, old_k)
    st.seg_chunk[seg] = first
    st.seg_nchunk[seg] = k


@njit(cache=True)
def compact_chunks(st):
    """Grown mode: slide every segment's block down to the bottom of the chunk area, in
    chunk order (blocks only move down, so copying forwards is safe), and forget the free
    lists; their reverse-index entries follow. Returns the new top."""
    ch = st.meta[M_CHUNK]
    top = st.meta[M_CTOP]
    dst = 0
    c = 0
    while c < top:
        s = st.chunk_seg[c]
        if s < 0 or st.seg_chunk[s] != c:
            c += 1
            continue
        k = st.seg_nchunk[s]
        if dst != c:
            _move_slots(st, np.int64(c) * ch, np.int64(dst) * ch, st.seg_nsyn[s])
            st.seg_chunk[s] = dst
        dst += k
        c += k
    for c in range(dst, top):
        st.chunk_seg[c] = -1
    for c in range(dst):
        st.chunk_seg[c] = -1
    for s in range(st.seg_nsyn.shape[0]):
        first = st.seg_chunk[s]
        for c in range(first, first + st.seg_nchunk[s]):
            st.chunk_seg[c] = s
    for i in range(dst * ch, top * ch):
        st.presyn[i] = -1
    for k in range(st.free_blocks.shape[0]):
        st.free_blocks[k] = -1
    st.meta[M_CTOP] = dst
    return dst


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
    if st.meta[M_FIXED]:
        st.seg_chunk[seg] = seg
        st.seg_nchunk[seg] = 1
        st.chunk_seg[seg] = seg
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
    seg = slot_segment(st, slot)
    _rev_remove(st, slot)
    last = segment_base(st, seg) + st.seg_nsyn[seg] - 1
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
    """Remove all synapses of ``seg``, unlink it from its owner and free it (and its block)."""
    base = segment_base(st, seg)
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
    if st.meta[M_FIXED]:
        st.chunk_seg[seg] = -1
    elif st.seg_nchunk[seg] > 0:
        _block_free(st, st.seg_chunk[seg], st.seg_nchunk[seg])
    st.seg_chunk[seg] = -1
    st.seg_nchunk[seg] = 0
    st.free_segs[st.meta[M_FREE]] = seg
    st.meta[M_FREE] += 1


@njit(cache=True)
def synapse_add(st, seg, p, permanence):
    """Append a synapse from presynaptic ``p`` to ``seg``; returns its slot, -1 if full."""
    n = st.seg_nsyn[seg]
    if n >= st.meta[M_CAP]:
        return -1
    if n >= st.seg_nchunk[seg] * st.meta[M_CHUNK]:
        segment_grow(st, seg, n + 1)
    slot = segment_base(st, seg) + n
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
    inv_ch = 1.0 / st.meta[M_CHUNK]
    thr = np.float32(connected)
    # Pass 1 only loads the permanences that pass 2 reads: independent loads that the CPU
    # overlaps, where pass 2 alone would wait on more of the cache misses in turn.
    warm = np.float32(0.0)
    for i in range(active_presyn.shape[0]):
        p = active_presyn[i]
        start = st.rev_start[p]
        for k in range(start, start + st.rev_count[p]):
            slot = st.arena[k]
            warm += st.perm[slot] + np.float32(st.chunk_seg[np.int64((slot + 0.5) * inv_ch)])
    # Pass 2, branch-free in the loop body.
    n_touched = np.int64(0)
    for i in range(active_presyn.shape[0]):
        p = active_presyn[i]
        start = st.rev_start[p]
        for k in range(start, start + st.rev_count[p]):
            slot = st.arena[k]
            seg = st.chunk_seg[np.int64((slot + 0.5) * inv_ch)]  # chunk == slot // chunk
            touched[n_touched] = seg                # kept only when seen the first time
            n_touched += np.int64(n_potential[seg] == 0)
            n_potential[seg] += 1
            n_connected[seg] += np.int32(st.perm[slot] >= thr)
    if warm < np.float32(-1e30):  # never true; keeps pass 1 alive
        n_touched = np.int64(-1)
    return n_touched


@njit(cache=True)
def compute_connected(st, active_presyn, connected, n_connected):
    """Count, for every segment below the high-water mark, its active connected synapses
    (``permanence >= connected``) into ``n_connected`` (cleared first); only the synapses of
    the active presynaptic indices are visited."""
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
                n_connected[slot_segment(st, slot)] += 1


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
    base = segment_base(st, seg)
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
        if c > st.meta[M_MAXB]:
            st.meta[M_MAXB] = c
        top += c
    st.meta[M_TOP] = top
    for i in range(n_seg):
        seg = segment_create(st, seg_owner_of[i])
        n = seg_ptr[i + 1] - seg_ptr[i]
        segment_grow(st, seg, n)
        base = segment_base(st, seg)
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
    """Full consistency check (for tests): returns an error code, 0 when consistent (the
    rules of :func:`validate_store`)."""
    code, _ = validate_store(st, st.owner_first.shape[0], st.rev_start.shape[0],
                             st.meta[M_CAP])
    return code


@njit(cache=True)
def validate_store(st, num_owners, num_presynaptic, cap):
    """Check every index of a store read from a file before any other kernel uses it.

    The array dtypes and lengths must have been checked already (see
    :meth:`htmkit.synapses.SynapseStore.validate`: in fixed mode ``chunk_seg`` has one entry
    per segment and the slots ``cap`` per segment; in grown mode the slots are ``chunk`` per
    entry of ``chunk_seg``, and ``free_blocks`` has ``ceil(cap / chunk) + 1`` entries); this
    reads only in-range entries. Returns ``(code, index)``: code 0 when consistent, else the
    number of the first failed rule (see ``_STORE_RULES`` in :mod:`htmkit.synapses`) and the
    entry it failed at.
    """
    n_seg = st.seg_nsyn.shape[0]
    n_slots = st.presyn.shape[0]
    n_chunks = st.chunk_seg.shape[0]
    n_free = st.meta[M_FREE]
    high = st.meta[M_HIGH]
    top = st.meta[M_TOP]
    ch = st.meta[M_CHUNK]
    fixed = st.meta[M_FIXED]
    ctop = st.meta[M_CTOP]
    if n_free < 0 or n_free > n_seg:
        return 1, M_FREE
    if high < 0 or high > n_seg:
        return 1, M_HIGH
    if st.meta[M_NSYN] < 0:
        return 1, M_NSYN
    if top < 0 or top > st.arena.shape[0]:
        return 1, M_TOP
    if st.meta[M_CAP] != cap:
        return 1, M_CAP
    if fixed != 0 and fixed != 1:
        return 1, M_FIXED
    if ch < 1 or ch > cap or (fixed == 1 and ch != cap) or n_slots != n_chunks * ch:
        return 1, M_CHUNK
    if ctop < 0 or ctop > n_chunks or (fixed == 1 and ctop != 0):
        return 1, M_CTOP
    if st.meta[M_MAXB] < 0:
        return 1, M_MAXB
    max_k = (cap + ch - 1) // ch
    if st.free_blocks.shape[0] != max_k + 1:
        return 16, -1
    # per presynaptic index: buckets inside [0, top), counts within capacity
    for p in range(num_presynaptic):
        if st.rev_start[p] < 0 or st.rev_cap[p] < 0 or st.rev_count[p] < 0:
            return 2, p
        if st.rev_count[p] > st.rev_cap[p] or st.rev_start[p] + st.rev_cap[p] > top:
            return 2, p
        if st.rev_cap[p] > st.meta[M_MAXB]:
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
    # chunks: owners in range; in grown mode nothing owned at or above the top
    for c in range(n_chunks):
        o = st.chunk_seg[c]
        if o >= n_seg or (o >= 0 and fixed == 0 and c >= ctop) or (fixed == 1 and o < -1):
            return 16, c
    # per segment
    used = 0
    total = np.int64(0)
    owned = np.int64(0)
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
        first = st.seg_chunk[s]
        k = st.seg_nchunk[s]
        if owner < 0:
            if n != 0 or nxt != -1 or prv != -1 or first != -1 or k != 0:
                return 7, s
            if fixed == 1 and st.chunk_seg[s] != -1:
                return 7, s
            continue
        used += 1
        if s >= high:
            return 8, s
        if fixed == 1:
            if first != s or k != 1:
                return 16, s
        elif k < 0 or k > max_k or (k == 0 and first != -1) or (
                k > 0 and (first < 0 or first > ctop - k)):
            return 16, s
        if n > k * ch:
            return 4, s
        for c in range(first, first + k):
            if st.chunk_seg[c] != s:
                return 16, s
        owned += k
        base = np.int64(first) * ch
        for slot in range(base, base + n):
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
    n_owned = np.int64(0)
    for c in range(n_chunks):
        if st.chunk_seg[c] >= 0:
            n_owned += 1
    if n_owned != owned:
        return 16, -1
    # free blocks (grown mode): each list a chain of unowned blocks below the top, no cycles
    seen_chunk = np.zeros(n_chunks, dtype=np.bool_)
    if st.free_blocks[0] != -1:
        return 16, 0
    for k in range(1, max_k + 1):
        b = st.free_blocks[k]
        steps = 0
        while b != -1:
            if fixed == 1 or b < 0 or b > ctop - k or steps > n_chunks:
                return 16, k
            for c in range(b, b + k):
                if seen_chunk[c] or (c > b and st.chunk_seg[c] != -1) or st.chunk_seg[c] >= 0:
                    return 16, k
                seen_chunk[c] = True
            b = -2 - np.int64(st.chunk_seg[b])
            steps += 1
    for c in range(n_chunks):
        if st.chunk_seg[c] < -1 and not seen_chunk[c]:
            return 16, c
    rc = np.int64(0)
    for p in range(num_presynaptic):
        rc += st.rev_count[p]
        for k in range(st.rev_start[p], st.rev_start[p] + st.rev_count[p]):
            slot = st.arena[k]
            if slot < 0 or slot >= n_slots:
                return 13, k
            if st.presyn[slot] != p or st.rev_pos[slot] != k:
                return 13, k
            s = st.chunk_seg[slot // ch]
            if s < 0 or st.seg_owner[s] < 0 or (
                    slot - np.int64(st.seg_chunk[s]) * ch >= st.seg_nsyn[s]):
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
