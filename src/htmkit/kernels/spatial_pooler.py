"""Numba kernels of the Spatial Pooler (see :mod:`htmkit.spatial_pooler`).

Each kernel below is one step of BAMI's "Spatial Pooling Algorithm Details"; the
:class:`~htmkit.spatial_pooler.SpatialPooler` calls them in the pseudocode's order.

Synapses live in the shared :class:`~htmkit.synapses.SynapseStore`: column ``c`` owns segment
``c`` whose block of slots holds its potential pool (sorted by input index). The SP never adds
or removes synapses, so the store's reverse index (``arena``) is static after construction and
the SP keeps two small mirrors indexed by *arena position* ``k``:

* ``col_at[k]`` -- the column of the synapse at that position,
* ``conn_at[k]`` -- 1 when that synapse is connected (``perm >= connected``).

The overlap step then streams through the buckets of the active inputs without touching the
permanences (sequential reads only); every kernel that changes a permanence keeps ``conn_at``
in step through ``rev_pos[slot]``.

Neighbourhoods over the column topology are hyper-rectangles: along each axis ``a`` the
coordinates within ``radii[a]`` of the centre, clipped at the borders, or taken modulo the axis
length with ``wrap`` (never listing a coordinate twice).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import rng as R

# ============================================================================ geometry


@njit(cache=True)
def _axis_window(center, radius, size, wrap, out):
    """Write the coordinates within ``radius`` of ``center`` on an axis of ``size`` into
    ``out`` in ascending order; return how many."""
    if wrap:
        if 2 * radius + 1 >= size:
            for i in range(size):
                out[i] = i
            return size
        lo = center - radius
        hi = center + radius
        n = 0
        if lo < 0:
            for i in range(0, hi + 1):
                out[n] = i
                n += 1
            for i in range(lo + size, size):
                out[n] = i
                n += 1
        elif hi >= size:
            for i in range(0, hi - size + 1):
                out[n] = i
                n += 1
            for i in range(lo, size):
                out[n] = i
                n += 1
        else:
            for i in range(lo, hi + 1):
                out[n] = i
                n += 1
        return n
    lo = max(0, center - radius)
    hi = min(size - 1, center + radius)
    for i in range(lo, hi + 1):
        out[i - lo] = i
    return hi - lo + 1


@njit(cache=True)
def _axis_window_len(center, radius, size, wrap):
    if wrap:
        return min(2 * radius + 1, size)
    return min(size - 1, center + radius) - max(0, center - radius) + 1


@njit(cache=True)
def _axis_intervals(center, radius, size, wrap, iv):
    """The window along one axis as at most two closed intervals ``iv[0..3]``; returns 1 or 2."""
    if wrap:
        if 2 * radius + 1 >= size:
            iv[0] = 0
            iv[1] = size - 1
            return 1
        lo = center - radius
        hi = center + radius
        if lo < 0:
            iv[0] = 0
            iv[1] = hi
            iv[2] = lo + size
            iv[3] = size - 1
            return 2
        if hi >= size:
            iv[0] = 0
            iv[1] = hi - size
            iv[2] = lo
            iv[3] = size - 1
            return 2
        iv[0] = lo
        iv[1] = hi
        return 1
    iv[0] = max(0, center - radius)
    iv[1] = min(size - 1, center + radius)
    return 1


@njit(cache=True)
def _column_center(col_coord, col_size, in_size):
    """Input coordinate under a column along one axis (BAMI / htm.core ``mapColumn``)."""
    return np.int64(math.floor((col_coord + 0.5) * (in_size / col_size)))


# ============================================================================ construction


@njit(cache=True)
def potential_pool_sizes(in_dims, col_dims, radius, pct, wrap):
    """Number of potential synapses of every column: ``round(window size * pct)``.

    ``in_dims`` and ``col_dims`` have the same length (the shorter one padded with 1s).
    """
    d = in_dims.shape[0]
    n_cols = 1
    for a in range(d):
        n_cols *= col_dims[a]
    sizes = np.empty(n_cols, dtype=np.int64)
    for c in range(n_cols):
        w = _window_size(c, in_dims, col_dims, radius, wrap)
        sizes[c] = np.int64(math.floor(w * pct + 0.5))
    return sizes


@njit(cache=True)
def _odometer_step(pos, lens):
    """Advance the multi-index ``pos`` over ``lens`` (last axis fastest, wrapping to zero)."""
    a = pos.shape[0] - 1
    while a >= 0:
        pos[a] += 1
        if pos[a] < lens[a]:
            return
        pos[a] = 0
        a -= 1


@njit(cache=True)
def _row_major_strides(dims):
    """Flat-index strides of a row-major array of shape ``dims``."""
    d = dims.shape[0]
    strides = np.ones(d, dtype=np.int64)
    for a in range(d - 2, -1, -1):
        strides[a] = strides[a + 1] * dims[a + 1]
    return strides


@njit(cache=True)
def _longest_axis(dims):
    """The largest entry of ``dims`` (at least 1)."""
    m = 1
    for a in range(dims.shape[0]):
        if dims[a] > m:
            m = dims[a]
    return m


@njit(cache=True)
def _window_size(c, in_dims, col_dims, radius, wrap):
    """Number of inputs within ``radius`` of column ``c``'s centre (its receptive window)."""
    rem = c
    w = 1
    for a in range(in_dims.shape[0] - 1, -1, -1):
        cc = rem % col_dims[a]
        rem //= col_dims[a]
        ctr = _column_center(cc, col_dims[a], in_dims[a])
        w *= _axis_window_len(ctr, radius, in_dims[a], wrap)
    return w


@njit(cache=True)
def build_potential_pools(in_dims, col_dims, radius, pct, wrap, connected, connected_pct,
                          stimulus_threshold, below_stimulus_inc, rng_state, seg_ptr, presyn,
                          perm):
    """Draw every column's potential pool and initial permanences (CSR output).

    For column ``c`` the window of inputs within ``radius`` of its centre is enumerated in
    ascending input order and a uniform random subset of ``seg_ptr[c+1] - seg_ptr[c]`` inputs
    is kept (partial Fisher-Yates, over the smaller of the kept and dropped sets). Each kept
    synapse is connected with probability ``connected_pct``: its permanence is uniform in
    ``[connected, 1)``, otherwise uniform in ``[0, connected)`` (as htm.core/NuPIC). Columns
    with fewer than ``stimulus_threshold`` connected synapses get all permanences raised by
    ``below_stimulus_inc`` until they have enough (htm.core ``raisePermanencesToThreshold``).
    """
    d = in_dims.shape[0]
    n_cols = seg_ptr.shape[0] - 1
    max_len = _longest_axis(in_dims)
    win = np.zeros((d, max_len), dtype=np.int64)
    lens = np.zeros(d, dtype=np.int64)
    strides = _row_major_strides(in_dims)
    max_w = 1
    for c in range(n_cols):
        w = _window_size(c, in_dims, col_dims, radius, wrap)
        if w > max_w:
            max_w = w
    order = np.empty(max_w, dtype=np.int64)
    mark = np.zeros(max_w, dtype=np.uint8)
    pos = np.zeros(d, dtype=np.int64)
    thr = np.float32(connected)
    one = np.float32(1.0)
    for c in range(n_cols):
        rem = c
        w = 1
        for a in range(d - 1, -1, -1):
            cc = rem % col_dims[a]
            rem //= col_dims[a]
            ctr = _column_center(cc, col_dims[a], in_dims[a])
            lens[a] = _axis_window(ctr, radius, in_dims[a], wrap, win[a])
            w *= lens[a]
        m = seg_ptr[c + 1] - seg_ptr[c]
        # choose the smaller of the kept / dropped sets at random
        take = m if 2 * m <= w else w - m
        for i in range(w):
            order[i] = i
            mark[i] = 0
        R.shuffle_prefix(rng_state, order[:w], take)
        for i in range(take):
            mark[order[i]] = 1
        keep_marked = take == m
        for a in range(d):
            pos[a] = 0
        out = seg_ptr[c]
        for j in range(w):
            if (mark[j] == 1) == keep_marked:
                flat = 0
                for a in range(d):
                    flat += win[a, pos[a]] * strides[a]
                presyn[out] = flat
                if R.rand_float(rng_state) <= connected_pct:
                    v = connected + (1.0 - connected) * R.rand_float(rng_state)
                else:
                    v = connected * R.rand_float(rng_state)
                perm[out] = np.float32(v)
                out += 1
            _odometer_step(pos, lens)  # next window position, last axis fastest
        # raise permanences until at least stimulus_threshold synapses are connected
        need = min(stimulus_threshold, m)
        if need > 0:
            while True:
                n_conn = 0
                for k in range(seg_ptr[c], seg_ptr[c + 1]):
                    if perm[k] >= thr:
                        n_conn += 1
                if n_conn >= need:
                    break
                for k in range(seg_ptr[c], seg_ptr[c + 1]):
                    v32 = perm[k] + np.float32(below_stimulus_inc)
                    perm[k] = v32 if v32 < one else one


@njit(cache=True)
def build_connected_mirror(arena, rev_start, rev_count, perm, seg_owner, cap, connected,
                           col_at, conn_at):
    """Fill ``col_at`` / ``conn_at`` for every position of the reverse index."""
    thr = np.float32(connected)
    for p in range(rev_start.shape[0]):
        s = rev_start[p]
        for k in range(s, s + rev_count[p]):
            slot = arena[k]
            col_at[k] = seg_owner[slot // cap]
            conn_at[k] = 1 if perm[slot] >= thr else 0


@njit(cache=True)
def build_dense_mirror(presyn, perm, seg_nsyn, cap, connected, slot_of, conn_dense):
    """Fill ``slot_of[c, input]`` (position in the column's block, -1 outside the pool) and
    ``conn_dense[input, c]`` (1 when connected) for dense potential pools."""
    thr = np.float32(connected)
    n_cols = slot_of.shape[0]
    for c in range(n_cols):
        for p in range(slot_of.shape[1]):
            slot_of[c, p] = -1
            conn_dense[p, c] = 0
    for c in range(n_cols):
        base = c * cap
        for k in range(seg_nsyn[c]):
            p = presyn[base + k]
            slot_of[c, p] = k
            conn_dense[p, c] = 1 if perm[base + k] >= thr else 0


# ============================================================================ phase 1: overlap


@njit(cache=True)
def calculate_overlap_sparse(active_inputs, rev_start, rev_count, col_at, conn_at, boost,
                             overlaps, boosted):
    """BAMI phase 1: ``overlap(c)`` = number of connected synapses of ``c`` on active inputs
    (walking only the active inputs' reverse-index buckets); ``boosted = overlap * boost``."""
    n = overlaps.shape[0]
    for c in range(n):
        overlaps[c] = 0
    for i in range(active_inputs.shape[0]):
        p = active_inputs[i]
        s = rev_start[p]
        for k in range(s, s + rev_count[p]):
            overlaps[col_at[k]] += conn_at[k]
    for c in range(n):
        boosted[c] = overlaps[c] * boost[c]


@njit(cache=True)
def calculate_overlap_dense(active_inputs, conn_dense, boost, overlaps, boosted):
    """:func:`calculate_overlap_sparse` for dense potential pools: sum the rows
    ``conn_dense[input]`` of the active inputs (vectorised)."""
    n = overlaps.shape[0]
    for c in range(n):
        overlaps[c] = 0
    for i in range(active_inputs.shape[0]):
        row = conn_dense[active_inputs[i]]
        for c in range(n):
            overlaps[c] += row[c]
    for c in range(n):
        boosted[c] = overlaps[c] * boost[c]


# ============================================================================ phase 2: inhibition


@njit(cache=True)
def inhibit_columns_global(boosted, stimulus_threshold, k, out):
    """BAMI phase 2 with one neighbourhood holding all columns: the ``k`` columns with the
    largest boosted overlap (ties: lower index first) among those whose boosted overlap exceeds
    ``stimulus_threshold``. Writes the winners in ascending order to ``out``; returns how many.

    Selection keeps a min-heap of the ``k`` best so far (root = weakest), so it costs
    ``O(n + r log k)`` for ``r`` replacements.
    """
    n = boosted.shape[0]
    heap = np.empty(max(k, 1), dtype=np.int64)
    size = 0
    for c in range(n):
        v = boosted[c]
        if not v > stimulus_threshold:
            continue
        if size < k:
            # sift up: parent must be weaker (smaller value, or equal value and larger index)
            i = size
            size += 1
            while i > 0:
                par = (i - 1) >> 1
                pc = heap[par]
                pv = boosted[pc]
                if pv < v or (pv == v and pc > c):
                    break
                heap[i] = pc
                i = par
            heap[i] = c
        else:
            root = heap[0]
            # scanning in index order, an equal value never beats the (lower-index) root
            if v > boosted[root]:
                i = 0
                while True:
                    lc = 2 * i + 1
                    if lc >= size:
                        break
                    rc = lc + 1
                    ch = lc
                    if rc < size:
                        a = heap[lc]
                        b = heap[rc]
                        va = boosted[a]
                        vb = boosted[b]
                        if vb < va or (vb == va and b > a):
                            ch = rc
                    cc = heap[ch]
                    cv = boosted[cc]
                    if cv < v or (cv == v and cc > c):
                        heap[i] = cc
                        i = ch
                    else:
                        break
                heap[i] = c
    win = np.sort(heap[:size])
    for i in range(size):
        out[i] = win[i]
    return size


@njit(cache=True)
def _fw_prefix(tree, w1, y, x):
    """Sum of the 2-D Fenwick tree over cells [0..y] x [0..x] (0 if y or x is negative)."""
    s = 0
    i = y + 1
    while i > 0:
        j = x + 1
        row = i * w1
        while j > 0:
            s += tree[row + j]
            j -= j & (-j)
        i -= i & (-i)
    return s


@njit(cache=True)
def _fw_add(tree, h, w, y, x):
    i = y + 1
    w1 = w + 1
    while i <= h:
        j = x + 1
        row = i * w1
        while j <= w:
            tree[row + j] += 1
            j += j & (-j)
        i += i & (-i)


@njit(cache=True)
def _neighbourhood_size(col_coords, c, col_dims, radii, wrap):
    s = 1
    for a in range(col_dims.shape[0]):
        s *= _axis_window_len(col_coords[c, a], radii[a], col_dims[a], wrap)
    return s


@njit(cache=True)
def inhibit_columns_local(boosted, stimulus_threshold, col_dims, col_coords, radii, wrap,
                          density, out):
    """BAMI phase 2 over the column topology.

    Column ``c`` is active when its boosted overlap exceeds ``stimulus_threshold`` and fewer
    than ``k(c) = round(density * |neighbourhood(c)|)`` neighbours *beat* it, a neighbour
    beating ``c`` when its boosted overlap is larger, or equal with a lower column index (i.e.
    ``overlap(c) >= kthScore(neighbours(c), k)`` with deterministic ties). ``radii[a]`` is
    the neighbourhood radius along axis ``a``.

    Exact and fast: eligible columns are visited in descending (overlap, -index) order, so the
    columns already visited are exactly those that beat the current one; a 2-D Fenwick tree
    over the non-trivial axes counts how many of them lie in the current neighbourhood before
    the current column is inserted. Axes the neighbourhood always spans entirely (e.g. the
    depth axis of (28, 28, 8) columns) are collapsed. With more than two non-trivial axes a
    direct count over the neighbourhood is used instead. Winners go to ``out`` in ascending
    order; returns how many.
    """
    n = boosted.shape[0]
    d = col_dims.shape[0]
    elig = np.empty(n, dtype=np.int64)
    m = 0
    for c in range(n):
        if boosted[c] > stimulus_threshold:
            elig[m] = c
            m += 1
    keys = np.empty(m, dtype=np.float64)
    for i in range(m):
        keys[i] = -boosted[elig[i]]
    order = np.argsort(keys, kind="mergesort")  # stable: ties keep ascending column index
    win = np.zeros(n, dtype=np.uint8)
    # axes that the neighbourhood does not always span entirely
    axes = np.empty(d, dtype=np.int64)
    nf = 0
    for a in range(d):
        size = col_dims[a]
        full = (2 * radii[a] + 1 >= size) if wrap else (radii[a] >= size - 1)
        if not full:
            axes[nf] = a
            nf += 1
    if nf <= 2:
        ay = axes[0] if nf >= 1 else -1
        ax = axes[1] if nf == 2 else -1
        h = col_dims[ay] if ay >= 0 else 1
        w = col_dims[ax] if ax >= 0 else 1
        tree = np.zeros((h + 1) * (w + 1), dtype=np.int32)
        ivy = np.zeros(4, dtype=np.int64)
        ivx = np.zeros(4, dtype=np.int64)
        w1 = w + 1
        for t in range(m):
            c = elig[order[t]]
            y = col_coords[c, ay] if ay >= 0 else 0
            x = col_coords[c, ax] if ax >= 0 else 0
            if ay >= 0:
                ny = _axis_intervals(y, radii[ay], h, wrap, ivy)
            else:
                ny = 1
                ivy[0] = 0
                ivy[1] = 0
            if ax >= 0:
                nx = _axis_intervals(x, radii[ax], w, wrap, ivx)
            else:
                nx = 1
                ivx[0] = 0
                ivx[1] = 0
            k = np.int64(math.floor(0.5 + density *
                                    _neighbourhood_size(col_coords, c, col_dims, radii, wrap)))
            cnt = 0
            for iy in range(ny):
                y0 = ivy[2 * iy]
                y1 = ivy[2 * iy + 1]
                for ix in range(nx):
                    x0 = ivx[2 * ix]
                    x1 = ivx[2 * ix + 1]
                    cnt += (_fw_prefix(tree, w1, y1, x1) - _fw_prefix(tree, w1, y0 - 1, x1)
                            - _fw_prefix(tree, w1, y1, x0 - 1)
                            + _fw_prefix(tree, w1, y0 - 1, x0 - 1))
            if cnt < k:
                win[c] = 1
            _fw_add(tree, h, w, y, x)
    else:
        _inhibit_local_direct(boosted, col_dims, col_coords, radii, wrap, density, elig[:m],
                              order, win)
    cnt = 0
    for c in range(n):
        if win[c]:
            out[cnt] = c
            cnt += 1
    return cnt


@njit(cache=True)
def _inhibit_local_direct(boosted, col_dims, col_coords, radii, wrap, density, elig, order,
                          win):
    """Fallback of :func:`inhibit_columns_local`: count beating neighbours one by one."""
    n = boosted.shape[0]
    d = col_dims.shape[0]
    big = np.int64(n + 1)
    rank = np.full(n, big, dtype=np.int64)
    for t in range(order.shape[0]):
        rank[elig[order[t]]] = t
    strides = _row_major_strides(col_dims)
    max_len = _longest_axis(col_dims)
    coords = np.zeros((d, max_len), dtype=np.int64)
    lens = np.zeros(d, dtype=np.int64)
    pos = np.zeros(d, dtype=np.int64)
    for t in range(order.shape[0]):
        c = elig[order[t]]
        size = 1
        for a in range(d):
            lens[a] = _axis_window(col_coords[c, a], radii[a], col_dims[a], wrap, coords[a])
            size *= lens[a]
            pos[a] = 0
        k = np.int64(math.floor(0.5 + density * size))
        beaten = 0
        for _j in range(size):
            nb = 0
            for a in range(d):
                nb += coords[a, pos[a]] * strides[a]
            if rank[nb] < t:
                beaten += 1
                if beaten >= k:
                    break
            _odometer_step(pos, lens)
        if beaten < k:
            win[c] = 1


# ============================================================================ phase 3: learning


@njit(cache=True)
def adapt_synapses_sparse(active_columns, active_inputs, input_mask, presyn, perm, seg_nsyn,
                          cap, rev_pos, conn_at, inc, dec, connected):
    """BAMI phase 3: for every active column, ``+inc`` on synapses from active inputs and
    ``-dec`` on the others, clipped to [0, 1] (float32, as the store's ``adapt_segment``).
    Each column's block of slots is walked contiguously; ``conn_at`` follows changes."""
    for i in range(active_inputs.shape[0]):
        input_mask[active_inputs[i]] = 1
    finc = np.float32(inc)
    fdec = np.float32(-dec)
    thr = np.float32(connected)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for j in range(active_columns.shape[0]):
        c = active_columns[j]
        base = c * cap
        for slot in range(base, base + seg_nsyn[c]):
            old = perm[slot]
            v = min(max(old + (finc if input_mask[presyn[slot]] else fdec), zero), one)
            perm[slot] = v
            if (v >= thr) != (old >= thr):
                conn_at[rev_pos[slot]] = v >= thr
    for i in range(active_inputs.shape[0]):
        input_mask[active_inputs[i]] = 0


@njit(cache=True)
def _clear_connected(conn_dense, presyn, pend_slot, pend_col, n):
    # a tight loop of independent loads: cache misses on presyn/conn_dense overlap
    for i in range(n):
        conn_dense[presyn[pend_slot[i]], pend_col[i]] = 0


@njit(cache=True)
def adapt_synapses_dense(active_columns, active_inputs, presyn, perm, seg_nsyn, cap, slot_of,
                         conn_dense, inc, dec, connected):
    """:func:`adapt_synapses_sparse` for dense potential pools, in three passes per column
    that give the same float32 results: (1) look up the slots of the active inputs in
    ``slot_of[c, input]`` and save their permanences, (2) ``-dec`` on the whole block
    (vectorised, in 64-slot chunks; the synapses that disconnect are noted), (3) set the saved
    synapses to ``min(old + inc, 1)``. ``conn_dense[input, c]`` is updated at the end, in
    batches, so that its scattered cache misses overlap."""
    n_in = active_inputs.shape[0]
    n_up = active_columns.shape[0] * n_in
    where = np.empty(n_up, dtype=np.int64)
    up_input = np.empty(n_up, dtype=np.int64)
    up_col = np.empty(n_up, dtype=np.int64)
    saved = np.empty(n_up, dtype=np.float32)
    up_conn = np.empty(n_up, dtype=np.uint8)
    finc = np.float32(inc)
    fdec = np.float32(dec)
    thr = np.float32(connected)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    chunk = 64
    buf = np.empty(chunk, dtype=np.float32)
    flags = np.empty(chunk, dtype=np.bool_)
    pend_max = 4096
    pend_slot = np.empty(pend_max, dtype=np.int64)
    pend_col = np.empty(pend_max, dtype=np.int64)
    n_pend = 0
    nu = 0
    for j in range(active_columns.shape[0]):
        c = active_columns[j]
        base = c * cap
        end = base + seg_nsyn[c]
        first = nu
        for i in range(n_in):
            k = slot_of[c, active_inputs[i]]
            if k >= 0:
                where[nu] = base + k
                up_input[nu] = active_inputs[i]
                up_col[nu] = c
                saved[nu] = perm[base + k]
                nu += 1
        # (views indexed from 0 let LLVM prove the indices non-negative and vectorise)
        blk = perm[base:end]
        for start in range(0, blk.shape[0], chunk):
            part = blk[start:start + chunk]
            cross = False
            for t in range(part.shape[0]):
                old = part[t]
                buf[t] = old
                v = max(old - fdec, zero)
                part[t] = v
                cross |= (old >= thr) & (v < thr)
            if cross:  # some synapse of this chunk disconnected: find it without branching
                for t in range(part.shape[0]):   # on the (unpredictable) permanences
                    flags[t] = (buf[t] >= thr) & (part[t] < thr)
                for t in range(part.shape[0]):
                    if flags[t]:
                        if n_pend == pend_max:
                            _clear_connected(conn_dense, presyn, pend_slot, pend_col, n_pend)
                            n_pend = 0
                        pend_slot[n_pend] = base + start + t
                        pend_col[n_pend] = c
                        n_pend += 1
        for i in range(first, nu):
            old = saved[i]
            v = min(old + finc, one)
            perm[where[i]] = v
            # the mirror bit once pass 2's disconnections are cleared, versus the final one
            mirror = (old >= thr) & (max(old - fdec, zero) >= thr)
            up_conn[i] = (v >= thr) != mirror
    _clear_connected(conn_dense, presyn, pend_slot, pend_col, n_pend)
    for i in range(nu):  # after the clearing: an active synapse ends as pass 3 left it
        if up_conn[i]:
            conn_dense[up_input[i], up_col[i]] ^= 1


@njit(cache=True)
def update_duty_cycles(overlaps, stimulus_threshold, active_columns, period, overlap_duty,
                       active_duty):
    """Exponential moving averages over ``period`` steps of "overlap > stimulus threshold"
    and "column active" (BAMI ``updateOverlapDutyCycle`` / ``updateActiveDutyCycle``)."""
    decay = (period - 1.0) / period
    inc = 1.0 / period
    for c in range(overlaps.shape[0]):
        od = overlap_duty[c] * decay
        if overlaps[c] > stimulus_threshold:
            od += inc
        overlap_duty[c] = od
        active_duty[c] *= decay
    for j in range(active_columns.shape[0]):
        active_duty[active_columns[j]] += inc


@njit(cache=True)
def window_reduce(values, col_dims, radii, wrap, use_max, out):
    """``out[c]`` = sum (or max, with ``use_max``) of ``values`` over the neighbourhood of
    ``c`` -- separably, one axis at a time (the neighbourhood is a hyper-rectangle)."""
    n = values.shape[0]
    d = col_dims.shape[0]
    cur = values.astype(np.float64)
    nxt = np.empty(n, dtype=np.float64)
    iv = np.zeros(4, dtype=np.int64)
    stride = n
    for a in range(d):
        size = col_dims[a]
        stride //= size
        outer = n // (size * stride)
        for o in range(outer):
            for s in range(stride):
                base = o * size * stride + s
                for i in range(size):
                    ni = _axis_intervals(i, radii[a], size, wrap, iv)
                    acc = -np.inf if use_max else 0.0
                    for q in range(ni):
                        for j in range(iv[2 * q], iv[2 * q + 1] + 1):
                            v = cur[base + j * stride]
                            if use_max:
                                if v > acc:
                                    acc = v
                            else:
                                acc += v
                    nxt[base + i * stride] = acc
        tmp = cur
        cur = nxt
        nxt = tmp
    for c in range(n):
        out[c] = cur[c]


@njit(cache=True)
def update_boost_factors_global(active_duty, target_density, strength, boost):
    """``boost = exp(-strength * (activeDutyCycle - targetDensity))``."""
    for c in range(boost.shape[0]):
        boost[c] = math.exp((target_density - active_duty[c]) * strength)


@njit(cache=True)
def update_boost_factors_local(active_duty, col_dims, radii, wrap, strength, boost):
    """As the global rule, the target density being the mean active duty cycle of the
    column's neighbourhood (BAMI ``mean(activeDutyCycle(neighbors(c)))``)."""
    n = active_duty.shape[0]
    sums = np.empty(n, dtype=np.float64)
    counts = np.empty(n, dtype=np.float64)
    window_reduce(active_duty, col_dims, radii, wrap, False, sums)
    window_reduce(np.ones(n, dtype=np.float64), col_dims, radii, wrap, False, counts)
    for c in range(n):
        boost[c] = math.exp((sums[c] / counts[c] - active_duty[c]) * strength)


@njit(cache=True)
def bump_up_weak_columns(overlap_duty, min_overlap_duty, presyn, perm, seg_nsyn, cap, rev_pos,
                         conn_at, conn_dense, dense, below_inc, connected):
    """Raise every permanence of each column whose overlap duty cycle is below its minimum by
    ``below_inc`` (BAMI ``increasePermanences(c, 0.1*connectedPerm)``); returns how many.
    The connected mirror in use (``conn_dense`` if ``dense``, else ``conn_at``) follows."""
    inc = np.float32(below_inc)
    thr = np.float32(connected)
    one = np.float32(1.0)
    bumped = 0
    for c in range(overlap_duty.shape[0]):
        if overlap_duty[c] >= min_overlap_duty[c]:
            continue
        bumped += 1
        base = c * cap
        for slot in range(base, base + seg_nsyn[c]):
            old = perm[slot]
            v = min(old + inc, one)
            perm[slot] = v
            if (v >= thr) & (old < thr):
                if dense:
                    conn_dense[presyn[slot], c] = 1
                else:
                    conn_at[rev_pos[slot]] = 1
    return bumped


@njit(cache=True)
def average_connected_span(presyn, perm, seg_nsyn, cap, n_cols, in_coords, connected):
    """Mean over columns of the connected receptive field span (mean over the input axes of
    ``max - min + 1`` of the connected synapses' coordinates; 0 without connected synapses)."""
    d = in_coords.shape[1]
    thr = np.float32(connected)
    lo = np.empty(d, dtype=np.int64)
    hi = np.empty(d, dtype=np.int64)
    total = 0.0
    for c in range(n_cols):
        for a in range(d):
            lo[a] = 1 << 62
            hi[a] = -1
        found = False
        base = c * cap
        for slot in range(base, base + seg_nsyn[c]):
            if perm[slot] >= thr:
                found = True
                p = presyn[slot]
                for a in range(d):
                    v = in_coords[p, a]
                    if v < lo[a]:
                        lo[a] = v
                    if v > hi[a]:
                        hi[a] = v
        if found:
            span = 0.0
            for a in range(d):
                span += hi[a] - lo[a] + 1
            total += span / d
    return total / n_cols


@njit(cache=True)
def connected_counts(perm, seg_nsyn, cap, n_cols, connected):
    """Number of connected synapses of every column."""
    thr = np.float32(connected)
    out = np.zeros(n_cols, dtype=np.int64)
    for c in range(n_cols):
        base = c * cap
        for slot in range(base, base + seg_nsyn[c]):
            if perm[slot] >= thr:
                out[c] += 1
    return out
