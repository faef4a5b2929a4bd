"""Numba kernels of the backtracking Temporal Memory (:mod:`htmkit.backtracking_tm`).

Storage (all flat numpy arrays, grown by the Python class between steps):

* a segment pool: segment ``s`` owns synapse slots ``s * M .. s * M + M - 1`` (``M`` =
  ``max_synapses_per_segment``) in ``syn_src`` (presynaptic cell) and ``syn_perm``
  (float32 permanence); ``seg_i32[SEG_CELL, s]`` is its cell (-1 when free),
  ``seg_i32[SEG_SLOT, s]`` its position in the cell's segment list and ``seg_i32[SEG_N, s]``
  its synapse count; released segments go to a free list;
* the cells' segment slots: slot ``j`` of ``cell`` is
  ``cell_segs[cs_start[cell] + j]`` for ``j < cs_cap[cell]`` (the segment, -1 empty); the
  slot order is the cell's segment order (ties of the best-matching searches). A cell with
  no free slot moves its slots to the end of ``cell_segs`` (``meta[M_CS_END]``) with twice
  the room (at most ``max_segments_per_cell``); the Python class keeps room for one step
  and compacts the slots between steps (:func:`compact_cell_slots`); past the end and in
  the holes left by moves ``cell_segs`` holds -1;
* a forward index: the synapses of each presynaptic cell are listed contiguously in a pool
  (``out_start``, ``out_len``, ``out_pool``, ``pos_out``), so segment activity is counted
  from the active cells only;
* the eight cell states (inference / learning, active / predicted, at t and t-1) as dense
  uint8 rows of ``cst``, plus backups used by the backtracks;
* the input histories of the two backtracks and the queue of segment updates.

Every state array travels in one tuple (``st``, order given by the ``ST_*`` constants) so the
functions below keep short signatures.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import rng as krng

# ---------------------------------------------------------------- tuple layout of the state
(ST_SEG_I32, ST_SEG_I64, ST_SYN_SRC, ST_SYN_PERM, ST_POS_OUT, ST_FREE, ST_SEG_ACT,
 ST_TOUCHED, ST_OUT_START, ST_CELL_SEGS, ST_CELL_NSEG, ST_CST, ST_LISTS, ST_COLST, ST_COLTMP,
 ST_INF_HIST, ST_INF_HLEN, ST_LRN_HIST, ST_LRN_HLEN, ST_UPD, ST_UPD_SRC, ST_MARK, ST_CAND,
 ST_META, ST_FMETA, ST_RNG, ST_OUT_LEN, ST_OUT_POOL, ST_CS_START, ST_CS_CAP) = range(30)

# seg_i32 rows / seg_i64 rows
SEG_CELL, SEG_SLOT, SEG_N = 0, 1, 2
SEG_POS, SEG_LAST, SEG_BORN = 0, 1, 2
# cst rows (dense cell states)
INF_ACT, INF_ACT1, INF_PRED, INF_PRED1, LRN_ACT, LRN_ACT1, LRN_PRED, LRN_PRED1, \
    INF_ACT_BAK, INF_PRED_BAK = range(10)
N_CST = 10
# lists rows: learning active cells at t and t-1 (sorted cell indices)
L_LRN, L_LRN1 = 0, 1
# colst rows: column confidence (non-zero) at t and t-1, column flags (scratch), column marks
COL_CONF, COL_CONF1, COL_FLAG, COL_MARK = 0, 1, 2, 3
# coltmp rows: best activity / best segment per column (learn phase 2), touched columns
CT_BEST_ACT, CT_BEST_SEG, CT_LIST = 0, 1, 2
# upd rows: cell, segment, time stamp, number of sources
U_CELL, U_SEG, U_TIME, U_N = 0, 1, 2, 3
# meta
(M_USED, M_NFREE, M_LRN_ITER, M_ITER, M_MAX_SLOT, M_PAM, M_SEQ_LEN, M_RESET, M_NUPD,
 M_INF_NH, M_LRN_NH, M_NLRN, M_NLRN1, M_NSYN, M_NSEG, M_NTOUCH, M_NPROP, M_NVISIT,
 M_NINF_BT, M_NLRN_BT, M_POOL_END, M_CS_END) = range(22)
N_META = 22
# fmeta
F_AVG_DENSITY, F_ANOMALY, F_ANOMALY_PRED = 0, 1, 2
N_FMETA = 3
# integer parameters (ip)
(P_NCOLS, P_K, P_ACT_THR, P_MIN_THR, P_NEW_SYN, P_MAX_SEGS, P_MAX_SYNS, P_PAM_LEN,
 P_MAX_INF_BT, P_MAX_LRN_BT, P_MAX_SEQ_LEN) = range(11)
N_IP = 11
# float parameters (fp)
F_INIT, F_CONN, F_INC, F_DEC, F_PMAX, F_PRED_DEC = range(6)
N_FP = 6
#: Queued updates expire after this many learning steps (NuPIC: 1 without pooling).
UPDATE_VALID_DURATION = 1


# ---------------------------------------------------------------- synapse / segment storage
# Forward index: the synapses of presynaptic cell c are listed, as ``2 * synapse id +
# connected``, in ``out_pool[out_start[c] : out_start[c] + out_len[0, c]]`` (capacity
# ``out_len[1, c]``); ``pos_out[synapse id]`` is the synapse's position in the pool. A full
# list moves to the end of the pool with twice the room; when the pool's end is reached it is
# compacted in place (the Python class keeps the pool large enough for that to succeed);
# past its end the pool holds zeros.
@njit(cache=True)
def _compact_pool(st):
    start = st[ST_OUT_START]
    olen = st[ST_OUT_LEN]
    pool = st[ST_OUT_POOL]
    pos = st[ST_POS_OUT]
    order = np.argsort(start)
    write = 0
    for oi in range(order.shape[0]):
        c = order[oi]
        cap = olen[1, c]
        if cap == 0:
            continue
        n = olen[0, c]
        s0 = start[c]
        new_cap = min(cap, max(n + n // 2, 4))
        for i in range(n):
            e = pool[s0 + i]
            pool[write + i] = e
            pos[e >> 1] = write + i
        start[c] = write
        olen[1, c] = new_cap
        write += new_cap
    # everything past the end stays zero (a saved pool ends there: a loaded TM's pool then
    # equals the original's entry for entry)
    pool[write: st[ST_META][M_POOL_END]] = 0
    st[ST_META][M_POOL_END] = write


@njit(cache=True)
def _out_append(st, src, syn_id, connected):
    start = st[ST_OUT_START]
    olen = st[ST_OUT_LEN]
    pool = st[ST_OUT_POOL]
    pos = st[ST_POS_OUT]
    meta = st[ST_META]
    n = olen[0, src]
    if n == olen[1, src]:
        new_cap = max(8, 2 * n)
        if meta[M_POOL_END] + new_cap > pool.shape[0]:
            _compact_pool(st)
        s0 = start[src]
        s1 = meta[M_POOL_END]
        for i in range(n):
            e = pool[s0 + i]
            pool[s1 + i] = e
            pos[e >> 1] = s1 + i
        start[src] = s1
        olen[1, src] = new_cap
        meta[M_POOL_END] = s1 + new_cap
    p = start[src] + n
    pool[p] = 2 * syn_id + (1 if connected else 0)
    pos[syn_id] = p
    olen[0, src] = n + 1


@njit(cache=True)
def _out_remove(st, src, syn_id):
    olen = st[ST_OUT_LEN]
    pool = st[ST_OUT_POOL]
    pos = st[ST_POS_OUT]
    p = pos[syn_id]
    last = st[ST_OUT_START][src] + olen[0, src] - 1
    if p != last:
        e = pool[last]
        pool[p] = e
        pos[e >> 1] = p
    olen[0, src] -= 1


@njit(cache=True)
def _set_perm(st, syn_id, value, conn):
    """Set a synapse's permanence, keeping its connected bit in the forward index."""
    st[ST_SYN_PERM][syn_id] = value
    p = st[ST_POS_OUT][syn_id]
    st[ST_OUT_POOL][p] = 2 * syn_id + (1 if value >= conn else 0)


@njit(cache=True)
def _add_synapse(st, seg, m, src, perm, conn):
    seg_i32 = st[ST_SEG_I32]
    n = seg_i32[SEG_N, seg]
    syn_id = seg * m + n
    st[ST_SYN_SRC][syn_id] = src
    st[ST_SYN_PERM][syn_id] = perm
    _out_append(st, src, syn_id, perm >= conn)
    seg_i32[SEG_N, seg] = n + 1
    st[ST_META][M_NSYN] += 1


@njit(cache=True)
def _remove_synapse(st, seg, m, j):
    """Remove synapse ``j`` of ``seg``; the segment's last synapse moves into slot ``j``."""
    seg_i32 = st[ST_SEG_I32]
    syn_src = st[ST_SYN_SRC]
    syn_perm = st[ST_SYN_PERM]
    pool = st[ST_OUT_POOL]
    pos = st[ST_POS_OUT]
    syn_id = seg * m + j
    _out_remove(st, syn_src[syn_id], syn_id)
    last = seg * m + seg_i32[SEG_N, seg] - 1
    if last != syn_id:
        syn_src[syn_id] = syn_src[last]
        syn_perm[syn_id] = syn_perm[last]
        p = pos[last]
        pool[p] = 2 * syn_id + (pool[p] & 1)
        pos[syn_id] = p
    seg_i32[SEG_N, seg] -= 1
    st[ST_META][M_NSYN] -= 1


@njit(cache=True)
def _release_segment(st, seg, m):
    seg_i32 = st[ST_SEG_I32]
    meta = st[ST_META]
    while seg_i32[SEG_N, seg] > 0:
        _remove_synapse(st, seg, m, seg_i32[SEG_N, seg] - 1)
    cell = seg_i32[SEG_CELL, seg]
    st[ST_CELL_SEGS][st[ST_CS_START][cell] + seg_i32[SEG_SLOT, seg]] = -1
    st[ST_CELL_NSEG][cell] -= 1
    seg_i32[SEG_CELL, seg] = -1
    st[ST_FREE][meta[M_NFREE]] = seg
    meta[M_NFREE] += 1
    meta[M_NSEG] -= 1


@njit(cache=True)
def _new_segment(st, cell, max_segs):
    """A new empty segment on ``cell`` in its first free slot (room is ensured by Python)."""
    meta = st[ST_META]
    seg_i32 = st[ST_SEG_I32]
    seg_i64 = st[ST_SEG_I64]
    cell_segs = st[ST_CELL_SEGS]
    cs_start = st[ST_CS_START]
    cs_cap = st[ST_CS_CAP]
    if meta[M_NFREE] > 0:
        meta[M_NFREE] -= 1
        seg = st[ST_FREE][meta[M_NFREE]]
    else:
        seg = meta[M_USED]
        meta[M_USED] += 1
    s0 = cs_start[cell]
    cap = cs_cap[cell]
    slot = 0
    while slot < cap and cell_segs[s0 + slot] >= 0:
        slot += 1
    if slot == cap:
        # no free slot: move the cell's slots to the end with twice the room
        new_cap = min(max(2, 2 * cap), max_segs)
        end = meta[M_CS_END]
        for j in range(cap):
            cell_segs[end + j] = cell_segs[s0 + j]
            cell_segs[s0 + j] = -1
        for j in range(cap, new_cap):
            cell_segs[end + j] = -1
        cs_start[cell] = end
        cs_cap[cell] = new_cap
        meta[M_CS_END] = end + new_cap
        s0 = end
    cell_segs[s0 + slot] = seg
    if slot > meta[M_MAX_SLOT]:
        meta[M_MAX_SLOT] = slot
    st[ST_CELL_NSEG][cell] += 1
    seg_i32[SEG_CELL, seg] = cell
    seg_i32[SEG_SLOT, seg] = slot
    seg_i32[SEG_N, seg] = 0
    seg_i64[SEG_POS, seg] = 1
    seg_i64[SEG_LAST, seg] = meta[M_LRN_ITER]
    seg_i64[SEG_BORN, seg] = meta[M_LRN_ITER]
    meta[M_NSEG] += 1
    return seg


# ---------------------------------------------------------------- segment activity
@njit(cache=True)
def _propagate(st, state, cols, ncols, k, m):
    """Count, for every segment reached from the cells of ``state`` in ``cols``, its active
    synapses (``seg_act[seg, 0]``, any permanence) and active connected synapses
    (``seg_act[seg, 1]``). The reached segments are listed in ``touched[:nt]``; returns nt."""
    seg_act = st[ST_SEG_ACT]
    touched = st[ST_TOUCHED]
    start = st[ST_OUT_START]
    olen = st[ST_OUT_LEN]
    pool = st[ST_OUT_POOL]
    nt = 0
    nv = 0
    for ci in range(ncols):
        c0 = cols[ci] * k
        for cell in range(c0, c0 + k):
            if state[cell] == 0:
                continue
            s0 = start[cell]
            n = olen[0, cell]
            nv += n
            for i in range(s0, s0 + n):
                e = pool[i]
                seg = (e >> 1) // m
                if seg_act[seg, 0] == 0:
                    touched[nt] = seg
                    nt += 1
                seg_act[seg, 0] += 1
                seg_act[seg, 1] += e & 1
    meta = st[ST_META]
    meta[M_NTOUCH] = nt
    meta[M_NPROP] += 1
    meta[M_NVISIT] += nv
    return nt


@njit(cache=True)
def _propagate_list(st, cells, ncells, m):
    """As :func:`_propagate`, from the cells ``cells[:ncells]`` (only ``seg_act[:, 0]``)."""
    seg_act = st[ST_SEG_ACT]
    touched = st[ST_TOUCHED]
    start = st[ST_OUT_START]
    olen = st[ST_OUT_LEN]
    pool = st[ST_OUT_POOL]
    nt = 0
    nv = 0
    for ci in range(ncells):
        cell = cells[ci]
        s0 = start[cell]
        n = olen[0, cell]
        nv += n
        for i in range(s0, s0 + n):
            seg = (pool[i] >> 1) // m
            if seg_act[seg, 0] == 0:
                touched[nt] = seg
                nt += 1
            seg_act[seg, 0] += 1
    meta = st[ST_META]
    meta[M_NTOUCH] = nt
    meta[M_NPROP] += 1
    meta[M_NVISIT] += nv
    return nt


@njit(cache=True)
def _best_segments(st, nt, thr, k):
    """Per column, the best of the touched segments with activity ``>= thr``: the most
    active, ties to the later cell, then to the earlier segment of that cell (NuPIC's
    best-matching-cell order). Fills ``coltmp`` and returns how many columns have one."""
    seg_i32 = st[ST_SEG_I32]
    seg_act = st[ST_SEG_ACT]
    touched = st[ST_TOUCHED]
    coltmp = st[ST_COLTMP]
    nbest = 0
    for i in range(nt):
        seg = touched[i]
        a = seg_act[seg, 0]
        if a < thr:
            continue
        cell = seg_i32[SEG_CELL, seg]
        c = cell // k
        b = coltmp[CT_BEST_SEG, c]
        if b < 0:
            coltmp[CT_LIST, nbest] = c
            nbest += 1
            coltmp[CT_BEST_SEG, c] = seg
            coltmp[CT_BEST_ACT, c] = a
            continue
        ba = coltmp[CT_BEST_ACT, c]
        bcell = seg_i32[SEG_CELL, b]
        if a > ba or (a == ba and (cell > bcell or (
                cell == bcell and seg_i32[SEG_SLOT, seg] < seg_i32[SEG_SLOT, b]))):
            coltmp[CT_BEST_SEG, c] = seg
            coltmp[CT_BEST_ACT, c] = a
    return nbest


@njit(cache=True)
def _clear_best(st, nbest):
    coltmp = st[ST_COLTMP]
    for i in range(nbest):
        c = coltmp[CT_LIST, i]
        coltmp[CT_BEST_SEG, c] = -1
        coltmp[CT_BEST_ACT, c] = 0


@njit(cache=True)
def _clear_activity(st, nt):
    seg_act = st[ST_SEG_ACT]
    touched = st[ST_TOUCHED]
    for i in range(nt):
        seg = touched[i]
        seg_act[seg, 0] = 0
        seg_act[seg, 1] = 0


# ---------------------------------------------------------------- inference
@njit(cache=True)
def infer_phase1(st, ip, cols, ncols, use_start_cells):
    """Active inference cells from the predictions of t-1: predicted cells of the active
    columns, or the whole column (burst); only start cells (cell 0) when
    ``use_start_cells``. True when at least half of the columns were predicted."""
    k = ip[P_K]
    cst = st[ST_CST]
    act = cst[INF_ACT]
    pred1 = cst[INF_PRED1]
    act[:] = 0
    if use_start_cells:
        for ci in range(ncols):
            act[cols[ci] * k] = 1
        return True
    npred = 0
    for ci in range(ncols):
        c0 = cols[ci] * k
        hit = 0
        for cell in range(c0, c0 + k):
            if pred1[cell]:
                act[cell] = 1
                hit += 1
        if hit > 0:
            npred += 1
        else:
            for cell in range(c0, c0 + k):
                act[cell] = 1
    return npred >= 0.5 * ncols


@njit(cache=True)
def infer_phase2(st, ip, fp, cols, ncols):
    """Predicted inference cells (a segment with >= activation_threshold active connected
    synapses) and the columns of non-zero confidence (a segment with >= activation_threshold
    active synapses of any permanence). True when the predicted columns are at least half
    the average input density."""
    k = ip[P_K]
    m = ip[P_MAX_SYNS]
    thr = ip[P_ACT_THR]
    cst = st[ST_CST]
    colst = st[ST_COLST]
    seg_i32 = st[ST_SEG_I32]
    seg_act = st[ST_SEG_ACT]
    touched = st[ST_TOUCHED]
    pred = cst[INF_PRED]
    pred[:] = 0
    conf = colst[COL_CONF]
    conf[:] = 0
    mark = colst[COL_MARK]
    nt = _propagate(st, cst[INF_ACT], cols, ncols, k, m)
    npred_cols = 0
    for i in range(nt):
        seg = touched[i]
        if seg_act[seg, 0] < thr:
            continue
        cell = seg_i32[SEG_CELL, seg]
        c = cell // k
        conf[c] = 1
        if seg_act[seg, 1] >= thr and seg_i32[SEG_N, seg] >= thr:
            pred[cell] = 1
            if mark[c] == 0:
                mark[c] = 1
                npred_cols += 1
    for i in range(nt):
        seg = touched[i]
        mark[seg_i32[SEG_CELL, seg] // k] = 0
    _clear_activity(st, nt)
    return npred_cols >= 0.5 * st[ST_FMETA][F_AVG_DENSITY]


@njit(cache=True)
def _push_history(hist, hlen, nh, cap, cols, ncols):
    """Append ``cols`` to a history of at most ``cap + 1`` patterns (oldest dropped first)."""
    if nh > cap:
        _pop_history(hist, hlen, nh, 1)
        nh -= 1
    hist[nh, :ncols] = cols[:ncols]
    hlen[nh] = ncols
    return nh + 1


@njit(cache=True)
def _pop_history(hist, hlen, nh, npop):
    for i in range(npop, nh):
        n = hlen[i]
        hist[i - npop, :n] = hist[i, :n]
        hlen[i - npop] = n


@njit(cache=True)
def infer_backtrack(st, ip, fp, cols, ncols):
    """Replay the inference history from start cells, oldest start first, and keep the first
    start that stays in sequence up to the current input (its state is then the current
    one); when none does, go back to the state on entry (bursting) and predict from it.
    Starts that failed, and those up to the chosen one, leave the history."""
    meta = st[ST_META]
    cst = st[ST_CST]
    hist = st[ST_INF_HIST]
    hlen = st[ST_INF_HLEN]
    nh = meta[M_INF_NH]
    if nh <= 0:
        return
    meta[M_NINF_BT] += 1
    cst[INF_ACT_BAK][:] = cst[INF_ACT]
    cst[INF_PRED_BAK][:] = cst[INF_PRED1]
    bad = np.zeros(nh, dtype=np.bool_)
    cand = -1
    for start in range(nh):
        in_seq = False
        for off in range(start, nh):
            cst[INF_PRED1][:] = cst[INF_PRED]
            in_seq = infer_phase1(st, ip, hist[off], hlen[off], off == start)
            if not in_seq:
                break
            in_seq = infer_phase2(st, ip, fp, hist[off], hlen[off])
            if not in_seq:
                break
        if not in_seq:
            bad[start] = True
            continue
        cand = start
        break
    if cand < 0:
        cst[INF_ACT][:] = cst[INF_ACT_BAK]
        infer_phase2(st, ip, fp, cols, ncols)
    npop = 0
    for i in range(nh):
        if bad[i] or (cand >= 0 and i <= cand):
            npop += 1
        else:
            break
    if npop > 0:
        _pop_history(hist, hlen, nh, npop)
        meta[M_INF_NH] = nh - npop
    cst[INF_PRED1][:] = cst[INF_PRED_BAK]


@njit(cache=True)
def update_inference_state(st, ip, fp, cols, ncols):
    meta = st[ST_META]
    cst = st[ST_CST]
    colst = st[ST_COLST]
    cst[INF_ACT1][:] = cst[INF_ACT]
    cst[INF_PRED1][:] = cst[INF_PRED]
    colst[COL_CONF1][:] = colst[COL_CONF]
    if ip[P_MAX_INF_BT] > 0:
        meta[M_INF_NH] = _push_history(st[ST_INF_HIST], st[ST_INF_HLEN], meta[M_INF_NH],
                                       ip[P_MAX_INF_BT], cols, ncols)
    in_seq = infer_phase1(st, ip, cols, ncols, meta[M_RESET] != 0)
    if not in_seq:
        infer_backtrack(st, ip, fp, cols, ncols)
        return
    if not infer_phase2(st, ip, fp, cols, ncols):
        infer_backtrack(st, ip, fp, cols, ncols)


# ---------------------------------------------------------------- learning: updates
@njit(cache=True)
def _build_list(st, row, lrow, cols, ncols, k):
    """The sorted list of cells set in ``cst[row]`` within ``cols`` into ``lists[lrow]``."""
    state = st[ST_CST][row]
    out = st[ST_LISTS][lrow]
    n = 0
    for ci in range(ncols):
        c0 = cols[ci] * k
        for cell in range(c0, c0 + k):
            if state[cell]:
                out[n] = cell
                n += 1
    return n


@njit(cache=True)
def _copy_learn_t_to_t1(st):
    cst = st[ST_CST]
    meta = st[ST_META]
    lists = st[ST_LISTS]
    cst[LRN_ACT1][:] = cst[LRN_ACT]
    cst[LRN_PRED1][:] = cst[LRN_PRED]
    n = meta[M_NLRN]
    lists[L_LRN1, :n] = lists[L_LRN, :n]
    meta[M_NLRN1] = n


@njit(cache=True)
def compute_update(st, ip, cell, seg, row, lrow, nlist):
    """Queue the update of ``seg`` (-1: a new segment) of ``cell``: the presynaptic cells of
    its synapses active in ``cst[row]``, plus new synapses to a random sample of the learning
    cells ``lists[lrow][:nlist]`` it has no synapse to, up to ``new_synapse_count`` in all.
    Returns the index of the queued update, or -1 when there is nothing to learn."""
    m = ip[P_MAX_SYNS]
    meta = st[ST_META]
    upd = st[ST_UPD]
    upd_src = st[ST_UPD_SRC]
    state = st[ST_CST][row]
    mark = st[ST_MARK]
    cand = st[ST_CAND]
    src = st[ST_SYN_SRC]
    lst = st[ST_LISTS][lrow]
    u = meta[M_NUPD]
    n = 0
    nseg = 0
    if seg >= 0:
        nseg = st[ST_SEG_I32][SEG_N, seg]
        base = seg * m
        for j in range(nseg):
            s = src[base + j]
            mark[s] = 1
            if state[s]:
                upd_src[u, n] = s
                n += 1
    n_add = ip[P_NEW_SYN] - n
    if n_add > 0:
        nc = 0
        for i in range(nlist):
            c = lst[i]
            if mark[c] == 0:
                cand[nc] = c
                nc += 1
        if nc > n_add:
            krng.shuffle_prefix(st[ST_RNG], cand[:nc], n_add)
            nc = n_add
        for i in range(nc):
            upd_src[u, n] = cand[i]
            n += 1
    if seg >= 0:
        base = seg * m
        for j in range(nseg):
            mark[src[base + j]] = 0
    if n == 0:
        return -1
    upd[U_CELL, u] = cell
    upd[U_SEG, u] = seg
    upd[U_TIME, u] = meta[M_LRN_ITER]
    upd[U_N, u] = n
    meta[M_NUPD] = u + 1
    return u


@njit(cache=True)
def adapt_segment(st, ip, fp, u):
    """Apply update ``u``: a new segment with its sources at the initial permanence, or, on
    an existing segment, +increment on the synapses to its sources, -decrement on the others
    (synapses reaching 0 are removed), the weakest synapses freed when the new ones would
    exceed max_synapses_per_segment (inactive ones first), then the new synapses added."""
    m = ip[P_MAX_SYNS]
    upd = st[ST_UPD]
    upd_src = st[ST_UPD_SRC]
    seg_i32 = st[ST_SEG_I32]
    seg_i64 = st[ST_SEG_I64]
    meta = st[ST_META]
    mark = st[ST_MARK]
    src = st[ST_SYN_SRC]
    perm = st[ST_SYN_PERM]
    cell = upd[U_CELL, u]
    seg = upd[U_SEG, u]
    n = upd[U_N, u]
    init = np.float32(fp[F_INIT])
    conn = np.float32(fp[F_CONN])
    if seg < 0:
        seg = _new_segment(st, cell, ip[P_MAX_SEGS])
        for i in range(n):
            _add_synapse(st, seg, m, upd_src[u, i], init, conn)
        return
    if seg_i32[SEG_CELL, seg] != cell or seg_i32[SEG_N, seg] == 0:
        return  # the segment was released since the update was queued
    inc = np.float32(fp[F_INC])
    dec = np.float32(fp[F_DEC])
    pmax = np.float32(fp[F_PMAX])
    seg_i64[SEG_LAST, seg] = meta[M_LRN_ITER]
    seg_i64[SEG_POS, seg] += 1
    for i in range(n):
        mark[upd_src[u, i]] = 1
    base = seg * m
    j = seg_i32[SEG_N, seg] - 1
    while j >= 0:  # descending: a removal moves an already visited synapse into slot j
        s = src[base + j]
        if mark[s]:
            mark[s] = 2  # exists already
            p = perm[base + j] + inc
            _set_perm(st, base + j, pmax if p > pmax else p, conn)
        else:
            p = perm[base + j] - dec
            if p <= 0.0:
                _remove_synapse(st, seg, m, j)
            else:
                _set_perm(st, base + j, p, conn)
        j -= 1
    n_new = 0
    for i in range(n):
        if mark[upd_src[u, i]] == 1:
            n_new += 1
    n_free = n_new + seg_i32[SEG_N, seg] - m
    while n_free > 0:  # weakest inactive synapse first, then the weakest active one
        best = -1
        best_key = np.float32(0.0)
        for jj in range(seg_i32[SEG_N, seg]):
            key = perm[base + jj]
            if mark[src[base + jj]] == 2:
                key += pmax
            if best < 0 or key < best_key:
                best = jj
                best_key = key
        mark[src[base + best]] = 0
        _remove_synapse(st, seg, m, best)
        n_free -= 1
    for i in range(n):
        s = upd_src[u, i]
        if mark[s] == 1:
            _add_synapse(st, seg, m, s, init, conn)
        mark[s] = 0
    if seg_i32[SEG_N, seg] == 0:
        _release_segment(st, seg, m)


@njit(cache=True)
def _punish_segment(st, ip, fp, u):
    """Extension (off at predicted_segment_decrement 0, as in NuPIC): a queued prediction
    that failed lowers the permanences of the synapses that made it."""
    m = ip[P_MAX_SYNS]
    upd = st[ST_UPD]
    upd_src = st[ST_UPD_SRC]
    seg_i32 = st[ST_SEG_I32]
    mark = st[ST_MARK]
    src = st[ST_SYN_SRC]
    perm = st[ST_SYN_PERM]
    cell = upd[U_CELL, u]
    seg = upd[U_SEG, u]
    if seg < 0 or seg_i32[SEG_CELL, seg] != cell:
        return
    dec = np.float32(fp[F_PRED_DEC])
    conn = np.float32(fp[F_CONN])
    n = upd[U_N, u]
    for i in range(n):
        mark[upd_src[u, i]] = 1
    base = seg * m
    j = seg_i32[SEG_N, seg] - 1
    while j >= 0:
        if mark[src[base + j]]:
            p = perm[base + j] - dec
            if p <= 0.0:
                _remove_synapse(st, seg, m, j)
            else:
                _set_perm(st, base + j, p, conn)
        j -= 1
    for i in range(n):
        mark[upd_src[u, i]] = 0
    if seg_i32[SEG_N, seg] == 0:
        _release_segment(st, seg, m)


@njit(cache=True)
def process_segment_updates(st, ip, fp, cols, ncols):
    """Apply the queued updates of cells whose column is active now (positive
    reinforcement); drop the others (and expired ones). Without pooling no update outlives
    this."""
    meta = st[ST_META]
    upd = st[ST_UPD]
    flag = st[ST_COLST][COL_FLAG]
    k = ip[P_K]
    for ci in range(ncols):
        flag[cols[ci]] = 1
    for u in range(meta[M_NUPD]):
        if upd[U_SEG, u] == -2:
            continue  # cleaned (segment deleted)
        if meta[M_LRN_ITER] - upd[U_TIME, u] > UPDATE_VALID_DURATION:
            continue
        if flag[upd[U_CELL, u] // k]:
            adapt_segment(st, ip, fp, u)
        elif fp[F_PRED_DEC] > 0.0:
            _punish_segment(st, ip, fp, u)
    for ci in range(ncols):
        flag[cols[ci]] = 0
    meta[M_NUPD] = 0


# ---------------------------------------------------------------- learning: cell choice
@njit(cache=True)
def _duty_cycle(st, seg):
    seg_i64 = st[ST_SEG_I64]
    age = st[ST_META][M_LRN_ITER] - seg_i64[SEG_BORN, seg] + 1
    return seg_i64[SEG_POS, seg] / max(age, 1)


@njit(cache=True)
def cell_for_new_segment(st, ip, col):
    """A random non-start cell of ``col`` below max_segments_per_cell; when all are full, the
    segment with the lowest duty cycle in the column is deleted to make room."""
    k = ip[P_K]
    m = ip[P_MAX_SYNS]
    nseg = st[ST_CELL_NSEG]
    cand = st[ST_CAND]
    nc = 0
    for cell in range(col * k + 1, col * k + k):
        if nseg[cell] < ip[P_MAX_SEGS]:
            cand[nc] = cell
            nc += 1
    if nc > 0:
        return cand[krng.rand_below(st[ST_RNG], nc)]
    cell_segs = st[ST_CELL_SEGS]
    cs_start = st[ST_CS_START]
    cs_cap = st[ST_CS_CAP]
    best_seg = -1
    best_dc = 0.0
    for cell in range(col * k + 1, col * k + k):
        for j in range(cs_cap[cell]):
            seg = cell_segs[cs_start[cell] + j]
            if seg < 0:
                continue
            dc = _duty_cycle(st, seg)
            if best_seg < 0 or dc < best_dc:
                best_seg = seg
                best_dc = dc
    cell = st[ST_SEG_I32][SEG_CELL, best_seg]
    upd = st[ST_UPD]
    for u in range(st[ST_META][M_NUPD]):
        if upd[U_SEG, u] == best_seg:
            upd[U_SEG, u] = -2
    _release_segment(st, best_seg, m)
    return cell


# ---------------------------------------------------------------- learning phases
@njit(cache=True)
def _set_start_cells(st, ip, cols, ncols):
    k = ip[P_K]
    act = st[ST_CST][LRN_ACT]
    act[:] = 0
    lst = st[ST_LISTS][L_LRN]
    for ci in range(ncols):
        cell = cols[ci] * k
        act[cell] = 1
        lst[ci] = cell
    st[ST_META][M_NLRN] = ncols


@njit(cache=True)
def learn_phase1(st, ip, fp, cols, ncols, read_only):
    """One learning cell per active column: the cell predicted at t-1; else (not
    ``read_only``) the cell of the best matching segment (>= min_threshold active synapses
    to the learning cells of t-1), reinforced at once, or a new segment on a cell chosen by
    :func:`cell_for_new_segment`. True when fewer than half the columns were unpredicted."""
    k = ip[P_K]
    meta = st[ST_META]
    cst = st[ST_CST]
    act = cst[LRN_ACT]
    pred1 = cst[LRN_PRED1]
    act[:] = 0
    n_unpred = 0
    nbest = -1  # best matching segments per column, computed at the first unpredicted column
    coltmp = st[ST_COLTMP]
    for ci in range(ncols):
        col = cols[ci]
        hit = -1
        for cell in range(col * k, col * k + k):
            if pred1[cell]:
                hit = cell
        if hit >= 0:
            act[hit] = 1
            continue
        n_unpred += 1
        if read_only:
            continue
        if nbest < 0:
            # Activity against the learning cells of t-1. Learning in one column changes
            # only that column's segments, so one count serves the whole phase.
            nt = _propagate_list(st, st[ST_LISTS][L_LRN1], meta[M_NLRN1], ip[P_MAX_SYNS])
            nbest = _best_segments(st, nt, ip[P_MIN_THR], k)
            _clear_activity(st, nt)
        seg = coltmp[CT_BEST_SEG, col]
        if seg >= 0:
            cell = st[ST_SEG_I32][SEG_CELL, seg]
        else:
            cell = cell_for_new_segment(st, ip, col)
        act[cell] = 1
        u = compute_update(st, ip, cell, seg, LRN_ACT1, L_LRN1, meta[M_NLRN1])
        if u >= 0:
            adapt_segment(st, ip, fp, u)
            meta[M_NUPD] -= 1  # applied at once, not queued
    if nbest > 0:
        _clear_best(st, nbest)
    meta[M_NLRN] = _build_list(st, LRN_ACT, L_LRN, cols, ncols, k)
    return n_unpred < ncols // 2


@njit(cache=True)
def learn_phase2(st, ip, fp, cols, ncols, read_only):
    """Learning predictions: in each column at most one cell, the one with the best segment
    by active synapses (any permanence) to the learning cells of t, at least
    activation_threshold (ties: the later cell, then the earlier segment). Unless
    ``read_only``, that segment's update is queued for the next step."""
    k = ip[P_K]
    m = ip[P_MAX_SYNS]
    thr = ip[P_ACT_THR]
    meta = st[ST_META]
    cst = st[ST_CST]
    seg_i32 = st[ST_SEG_I32]
    coltmp = st[ST_COLTMP]
    pred = cst[LRN_PRED]
    pred[:] = 0
    nt = _propagate_list(st, st[ST_LISTS][L_LRN], meta[M_NLRN], m)
    nbest = _best_segments(st, nt, thr, k)
    _clear_activity(st, nt)
    for i in range(nbest):
        c = coltmp[CT_LIST, i]
        seg = coltmp[CT_BEST_SEG, c]
        cell = seg_i32[SEG_CELL, seg]
        pred[cell] = 1
        if not read_only:
            compute_update(st, ip, cell, seg, LRN_ACT, L_LRN, meta[M_NLRN])
    _clear_best(st, nbest)


@njit(cache=True)
def learn_backtrack_from(st, ip, fp, start, read_only):
    """Replay the learning history from start cells at ``start``; True when it stays in
    sequence up to the current input. Unless ``read_only`` the replay learns."""
    meta = st[ST_META]
    hist = st[ST_LRN_HIST]
    hlen = st[ST_LRN_HLEN]
    nh = meta[M_LRN_NH]
    cur = nh - 1
    if not read_only:
        meta[M_NUPD] = 0
    in_seq = True
    for off in range(start, nh):
        _copy_learn_t_to_t1(st)
        cols = hist[off]
        ncols = hlen[off]
        if not read_only:
            process_segment_updates(st, ip, fp, cols, ncols)
        if off == start:
            _set_start_cells(st, ip, cols, ncols)
            in_seq = True
        else:
            in_seq = learn_phase1(st, ip, fp, cols, ncols, read_only)
        if not in_seq or off == cur:
            break
        learn_phase2(st, ip, fp, cols, ncols, read_only)
    return in_seq


@njit(cache=True)
def learn_backtrack(st, ip, fp):
    """Find the oldest start in the learning history (the current input excluded) whose
    replay from start cells stays in sequence up to now; replay it again, learning. Returns
    how many steps back it starts (0: none found, the history is cleared)."""
    meta = st[ST_META]
    nprev = meta[M_LRN_NH] - 1
    if nprev <= 0:
        return 0
    meta[M_NLRN_BT] += 1
    bad = np.zeros(nprev, dtype=np.bool_)
    found = -1
    for start in range(nprev):
        if learn_backtrack_from(st, ip, fp, start, True):
            found = start
            break
        bad[start] = True
    if found < 0:
        meta[M_LRN_NH] = 0
        return 0
    learn_backtrack_from(st, ip, fp, found, False)
    npop = 0
    for i in range(nprev):
        if bad[i] or i <= found:
            npop += 1
        else:
            break
    nh = meta[M_LRN_NH]
    _pop_history(st[ST_LRN_HIST], st[ST_LRN_HLEN], nh, npop)
    meta[M_LRN_NH] = nh - npop
    return nprev - found


@njit(cache=True)
def update_learning_state(st, ip, fp, cols, ncols):
    meta = st[ST_META]
    _copy_learn_t_to_t1(st)
    if ip[P_MAX_LRN_BT] > 0:
        meta[M_LRN_NH] = _push_history(st[ST_LRN_HIST], st[ST_LRN_HLEN], meta[M_LRN_NH],
                                       ip[P_MAX_LRN_BT], cols, ncols)
    process_segment_updates(st, ip, fp, cols, ncols)
    if meta[M_PAM] > 0:
        meta[M_PAM] -= 1
    meta[M_SEQ_LEN] += 1
    reset_called = meta[M_RESET] != 0
    if not reset_called:
        if learn_phase1(st, ip, fp, cols, ncols, False):
            meta[M_PAM] = ip[P_PAM_LEN]
    max_seq = ip[P_MAX_SEQ_LEN]
    if reset_called or meta[M_PAM] == 0 or (max_seq != 0 and meta[M_SEQ_LEN] >= max_seq):
        back = 0
        if not reset_called:
            back = learn_backtrack(st, ip, fp)
        if reset_called or back == 0:
            _set_start_cells(st, ip, cols, ncols)
            meta[M_LRN_NH] = 0
        meta[M_PAM] = ip[P_PAM_LEN]
        meta[M_SEQ_LEN] = back
        meta[M_NUPD] = 0
    learn_phase2(st, ip, fp, cols, ncols, False)


# ---------------------------------------------------------------- one step
@njit(cache=True)
def btm_compute(st, ip, fp, cols, learn):
    """One step: the raw anomaly (active columns without confidence at t-1; and, in
    ``fmeta[F_ANOMALY_PRED]``, active columns without a cell predicted at t-1), the inference
    update (with backtracking), then, when ``learn``, the learning update. Returns the
    anomaly."""
    meta = st[ST_META]
    fmeta = st[ST_FMETA]
    ncols = cols.shape[0]
    if learn:
        meta[M_LRN_ITER] += 1
    meta[M_ITER] += 1
    conf = st[ST_COLST][COL_CONF]
    pred = st[ST_CST][INF_PRED]
    k = ip[P_K]
    anomaly = 0.0
    anomaly_pred = 0.0
    if ncols > 0:
        hit = 0
        hit_pred = 0
        for ci in range(ncols):
            c = cols[ci]
            if conf[c]:
                hit += 1
            for cell in range(c * k, c * k + k):
                if pred[cell]:
                    hit_pred += 1
                    break
        anomaly = (ncols - hit) / ncols
        anomaly_pred = (ncols - hit_pred) / ncols
    avg = np.float32(fmeta[F_AVG_DENSITY])
    if avg == 0.0:
        avg = np.float32(ncols)
    else:
        avg = np.float32(0.99) * avg + np.float32(0.01) * np.float32(ncols)
    fmeta[F_AVG_DENSITY] = avg
    update_inference_state(st, ip, fp, cols, ncols)
    if learn:
        update_learning_state(st, ip, fp, cols, ncols)
    meta[M_RESET] = 0
    fmeta[F_ANOMALY] = anomaly
    fmeta[F_ANOMALY_PRED] = anomaly_pred
    return anomaly


@njit(cache=True)
def btm_reset(st):
    meta = st[ST_META]
    st[ST_CST][:, :] = 0
    colst = st[ST_COLST]
    colst[COL_CONF][:] = 0
    colst[COL_CONF1][:] = 0
    meta[M_NUPD] = 0
    meta[M_RESET] = 1
    meta[M_INF_NH] = 0
    meta[M_LRN_NH] = 0
    meta[M_NLRN] = 0
    meta[M_NLRN1] = 0
    st[ST_FMETA][F_ANOMALY] = 0.0
    st[ST_FMETA][F_ANOMALY_PRED] = 0.0


# ---------------------------------------------------------------- cell slot compaction
@njit(cache=True)
def compact_cell_slots(cell_segs, cs_start, cs_cap, meta):
    """Close the holes of ``cell_segs`` (between steps): each cell's slots, in their order
    and with their capacity, move down in order of position; -1 past the new end. A
    function of the state alone (so a loaded TM compacts exactly when the original does)."""
    order = np.argsort(cs_start, kind="mergesort")
    write = 0
    for oi in range(order.shape[0]):
        c = order[oi]
        cap = cs_cap[c]
        if cap == 0:
            cs_start[c] = 0
            continue
        s0 = cs_start[c]
        for j in range(cap):
            cell_segs[write + j] = cell_segs[s0 + j]
        cs_start[c] = write
        write += cap
    cell_segs[write: meta[M_CS_END]] = -1
    meta[M_CS_END] = write


# ---------------------------------------------------------------- validation of loaded state
@njit(cache=True)
def validate_state(seg_i32, syn_src, syn_perm, pos_out, free, out_start, out_len, out_pool,
                   cell_segs, cs_start, cs_cap, cell_nseg, meta, m, n_cells, perm_max,
                   max_segs):
    """Check every index of the segment pool and forward index of a state read from a file
    (array shapes already checked by the caller; ``seg_i32`` etc. hold the ``M_USED`` saved
    segments). Returns ``(code, index)``: 0 when consistent, else the failed rule's number
    (see ``_BTM_RULES`` in :mod:`htmkit.backtracking_tm`) and the entry it failed at."""
    used = seg_i32.shape[1]
    cs_end = cell_segs.shape[0]
    for c in range(n_cells):
        if (cs_cap[c] < 0 or cs_cap[c] > max_segs or cs_start[c] < 0
                or cs_start[c] + cs_cap[c] > cs_end):
            return 12, c
    order = np.argsort(cs_start)
    end = np.int64(0)
    for oi in range(n_cells):
        c = order[oi]
        if cs_cap[c] == 0:
            continue
        if cs_start[c] < end:
            return 12, c
        end = cs_start[c] + cs_cap[c]
    nfree = free.shape[0]
    pool_end = out_pool.shape[0]
    total = np.int64(0)
    n_live = 0
    is_free = np.zeros(used, dtype=np.bool_)
    for i in range(nfree):
        s = free[i]
        if s < 0 or s >= used or is_free[s]:
            return 1, i
        is_free[s] = True
    for s in range(used):
        cell = seg_i32[SEG_CELL, s]
        n = seg_i32[SEG_N, s]
        if n < 0 or n > m or cell < -1 or cell >= n_cells:
            return 2, s
        if cell < 0:
            if n != 0 or not is_free[s]:
                return 3, s
            continue
        if is_free[s]:
            return 3, s
        n_live += 1
        slot = seg_i32[SEG_SLOT, s]
        if slot < 0 or slot >= cs_cap[cell] or cell_segs[cs_start[cell] + slot] != s:
            return 4, s
        for j in range(s * m, s * m + n):
            src = syn_src[j]
            if src < 0 or src >= n_cells:
                return 5, j
            v = syn_perm[j]
            if not (v >= 0.0 and v <= perm_max):
                return 6, j
            p = pos_out[j]
            if p < out_start[src] or p >= out_start[src] + out_len[0, src]:
                return 7, j
            if out_pool[p] >> 1 != j:
                return 7, j
        total += n
    if total != meta[M_NSYN] or n_live != meta[M_NSEG]:
        return 8, 0
    for c in range(n_cells):
        cnt = 0
        for j in range(cs_cap[c]):
            s = cell_segs[cs_start[c] + j]
            if s < -1 or s >= used:
                return 4, c
            if s >= 0:
                if seg_i32[SEG_CELL, s] != c or seg_i32[SEG_SLOT, s] != j:
                    return 4, c
                cnt += 1
                if j > meta[M_MAX_SLOT]:
                    return 8, c
        if cnt != cell_nseg[c]:
            return 4, c
    # forward index: lists inside the pool, not overlapping, each entry a live synapse of
    # that cell at its recorded position
    rc = np.int64(0)
    for c in range(n_cells):
        if out_start[c] < 0 or out_len[0, c] < 0 or out_len[0, c] > out_len[1, c]:
            return 9, c
        if out_start[c] + out_len[1, c] > pool_end:
            return 9, c
        rc += out_len[0, c]
        for i in range(out_start[c], out_start[c] + out_len[0, c]):
            e = out_pool[i]
            j = e >> 1
            if e < 0 or j >= used * m:
                return 10, i
            s = j // m
            if seg_i32[SEG_CELL, s] < 0 or j - s * m >= seg_i32[SEG_N, s]:
                return 10, i
            if syn_src[j] != c or pos_out[j] != i:
                return 10, i
    if rc != total:
        return 10, -1
    order = np.argsort(out_start)
    end = np.int64(0)
    for oi in range(n_cells):
        c = order[oi]
        if out_len[1, c] == 0:
            continue
        if out_start[c] < end:
            return 11, c
        end = out_start[c] + out_len[1, c]
    return 0, 0


# ---------------------------------------------------------------- segment budget
@njit(cache=True)
def trim_segments(st, ip, target):
    """Destroy segments until at most ``target`` remain: first those with fewer synapses
    than ``min_threshold`` (they can never be matching or active again), then the least
    recently used (``seg_i64[SEG_LAST]``: creation or last reinforcement; ties: the lower
    segment id first). Queued updates of a destroyed segment are dropped. Returns the number
    destroyed."""
    meta = st[ST_META]
    seg_i32 = st[ST_SEG_I32]
    seg_i64 = st[ST_SEG_I64]
    m = ip[P_MAX_SYNS]
    min_thr = ip[P_MIN_THR]
    n_kill = meta[M_NSEG] - target
    if n_kill <= 0:
        return 0
    used = meta[M_USED]
    keys = np.empty(meta[M_NSEG], dtype=np.int64)
    n = 0
    for s in range(used):
        if seg_i32[SEG_CELL, s] < 0:
            continue
        rank = 0 if seg_i32[SEG_N, s] < min_thr else seg_i64[SEG_LAST, s] + 1
        keys[n] = rank * used + s
        n += 1
    keys = np.sort(keys[:n])
    if n_kill > n:
        n_kill = n
    upd = st[ST_UPD]
    nupd = meta[M_NUPD]
    for i in range(n_kill):
        seg = keys[i] % used
        for u in range(nupd):
            if upd[U_SEG, u] == seg:
                upd[U_SEG, u] = -2
        _release_segment(st, seg, m)
    return n_kill
