"""Numba kernels of the Temporal Memory (see :mod:`htmkit.temporal_memory`).

The whole per-step work of :meth:`TemporalMemory.compute` is one call of
:func:`tm_compute_basal` (:func:`tm_compute` with apical segments), which checks that the
synapse stores have room for the step (:func:`has_room`) and then runs :func:`tm_step`,
following BAMI's "Temporal Memory Algorithm Details" step by step:

1. :func:`activate_cells` -- for every active column (in index order):
   :func:`activate_predicted_column` if the column holds predictive cells, else
   :func:`burst_column` (which uses :func:`best_matching_segment` or :func:`least_used_cell`);
   learning on the chosen segments is :func:`learn_on_segment` = the synapse store's
   :func:`~htmkit.kernels.synapses.adapt_segment` + :func:`grow_synapses`; then
   :func:`punish_predicted_column` for every inactive column with matching segments.
2. :func:`learn_apical` -- apical segments of the winner cells (apical tie-break extension).
3. :func:`commit_step` -- the new active / winner cells become the "previous" ones.
4. :func:`activate_dendrites` -- segment activity from the new active cells (plus the external
   basal bits, and the apical input for the apical segments), giving the active and matching
   segments and the predictive cells for the next step.

Segment activity is counted only from the synapses of active presynaptic cells, through the
synapse store's reverse index (:func:`~htmkit.kernels.synapses.segment_activity`); every
per-segment, per-cell and per-column scratch array is cleared sparsely from the lists that
filled it, so a step costs time in proportion to the activity, not to the size of the network.

State layout (:class:`TMState`: views into a few flat buffers -- int32 ``i32``, bool
``flags``, int64 ``counts``, the RNG, and the ``(7, segments)`` arrays ``seg`` / ``apseg`` --
sliced by :func:`unpack` inside the kernels; ``N`` cells, ``C`` columns, ``NB = N +
external_basal_size`` basal presynaptic indices, ``A`` apical inputs, ``S``/``SA`` allocated
basal/apical segments):

* ``active_presyn[:counts[C_ACTIVE_PRESYN]]`` -- active cells (the first ``counts[C_ACTIVE]``
  entries, sorted) followed by the active external basal bits shifted by ``N``;
  ``active_mask`` is the same set as a dense boolean mask over ``NB``.
* ``winner_presyn[:counts[C_WINNER_PRESYN]]`` -- winner cells then external basal bits (the
  growth candidates of the next step); ``winner_pos[p]`` is the position of ``p`` in that list
  or -1.
* ``seg_nconn`` / ``seg_npot`` -- active connected / active potential synapses per basal
  segment (non-zero only for the ``touched`` segments); ``active_segs`` / ``matching_segs`` list
  the active / matching segments, chained per column (``col_act_head[col]`` then
  ``act_next[seg]``, -1 ends; likewise ``col_match_head`` / ``match_next``) for the columns
  listed in ``act_cols`` / ``match_cols``.
* ``predictive`` (sorted cells) with ``cell_pred`` (dense) and ``col_pred`` (number of
  predictive cells per column).
* the ``ap_*`` / ``cell_ap_*`` arrays: the same for apical segments, chained per cell.
* ``prev_apical`` / ``apical_mask`` / ``apical_pos`` -- the previous step's apical input.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

from .rng import rand_below, shuffle_prefix
from .synapses import (
    M_CAP,
    M_CHUNK,
    M_CTOP,
    M_FIXED,
    M_FREE,
    M_ITER,
    StoreArrays,
    adapt_segment,
    arena_needs,
    segment_activity,
    segment_base,
    segment_create,
    segment_destroy,
    segment_grow,
    synapse_add,
    synapse_remove,
)

#: Permanences below this are treated as zero: the synapse is removed.
PRUNE_EPSILON = 1e-6

TMConfig = namedtuple(
    "TMConfig",
    [
        "cells_per_column", "num_cells", "activation_threshold", "min_threshold",
        "max_new_synapse_count", "max_segments_per_cell", "max_synapses_per_segment",
        "has_apical", "apical_gate", "ap_activation_threshold", "ap_min_threshold",
        "ap_max_new_synapse_count",
        "initial_permanence", "connected_permanence", "permanence_increment",
        "permanence_decrement", "predicted_segment_decrement", "prune_below",
    ],
)
# (the first 12 fields of TMConfig travel in an int64 array, the rest in a float32 array)

# indices into TMState.counts
C_ACTIVE = 0            # active cells
C_ACTIVE_PRESYN = 1     # active cells + active external basal bits
C_WINNER = 2            # winner cells
C_WINNER_PRESYN = 3     # winner cells + external basal bits (growth candidates)
C_PREDICTIVE = 4        # predictive cells (for the next step)
C_PRED_ACTIVE = 5       # predicted active cells of the last step
C_TOUCHED = 6           # basal segments with at least one active potential synapse
C_ACTIVE_SEGS = 7
C_MATCHING_SEGS = 8
C_ACT_COLS = 9          # columns with active segments
C_MATCH_COLS = 10       # columns with matching segments
C_AP_TOUCHED = 11
C_AP_ACTIVE_SEGS = 12
C_AP_MATCHING_SEGS = 13
C_AP_CELLS = 14         # entries of ap_cells (cells with active or matching apical segments)
C_PREV_APICAL = 15      # bits of the previous apical input
C_NEW_ACTIVE = 16       # scratch counters of the step in progress
C_NEW_WINNER = 17
C_NEED_SEGS = 18        # room the step needs, written when tm_compute asks for more
C_NEED_SYNAPSES = 19
C_NEED_AP_SEGS = 20
C_NEED_AP_SYNAPSES = 21
C_NEED_CHUNKS = 22      # chunks a step may take from the top of the basal / apical store
C_NEED_AP_CHUNKS = 23
N_COUNTS = 24

# The state lives in a few flat buffers (cheap to pass to numba: a namedtuple of ~40 arrays
# costs ~5 us per call to unbox); the kernel slices them into the TMState views.
# (name, length) -- lengths: N cells, C columns, NB basal presynaptic, NA apical inputs,
# NS scratch = max(NB, NA), NAP = N with apical input else 0.
I32_FIELDS = (
    ("active_presyn", "NB"), ("winner_presyn", "NB"), ("winner_pos", "NB"),
    ("new_active", "N"), ("new_winner", "N"), ("pred_active", "N"), ("predictive", "N"),
    ("col_pred", "C"), ("col_act_head", "C"), ("col_match_head", "C"), ("act_cols", "C"),
    ("match_cols", "C"), ("cand", "NS"), ("cell_ap_act_head", "NAP"),
    ("cell_ap_match_head", "NAP"), ("ap_cells", "2NAP"), ("prev_apical", "NA"),
    ("apical_pos", "NA"),
)
#: int32 fields that start at -1 ("not in the list" / "empty list")
I32_MINUS_ONE = ("winner_pos", "apical_pos", "col_act_head", "col_match_head",
                 "cell_ap_act_head", "cell_ap_match_head")
BOOL_FIELDS = (
    ("active_mask", "NB"), ("cell_pred", "N"), ("col_active", "C"), ("taken", "NS"),
    ("apical_mask", "NA"),
)
#: rows of the (7, allocated segments) int32 arrays ``seg`` (basal) and ``apseg`` (apical)
SEG_FIELDS = ("seg_nconn", "seg_npot", "touched", "active_segs", "matching_segs", "act_next",
              "match_next")
APSEG_FIELDS = ("ap_nconn", "ap_npot", "ap_touched", "ap_active_segs", "ap_matching_segs",
                "ap_act_next", "ap_match_next")

_namedtuple: Any = namedtuple  # (mypy cannot read fields built from the lists above)
TMState = _namedtuple(
    "TMState",
    ["rng", "counts"] + [f for f, _ in I32_FIELDS] + [f for f, _ in BOOL_FIELDS]
    + list(SEG_FIELDS) + list(APSEG_FIELDS),
)


def layout(num_columns: int, cells_per_column: int, external_basal: int,
           external_apical: int) -> np.ndarray:
    """Cumulative offsets of the int32 fields, then of the bool fields, in their buffers."""
    n = num_columns * cells_per_column
    nb = n + external_basal
    sizes = {"N": n, "C": num_columns, "NB": nb, "NA": external_apical,
             "NS": max(nb, external_apical), "NAP": n if external_apical else 0,
             "2NAP": 2 * n if external_apical else 0}
    i32 = np.cumsum([0] + [sizes[k] for _, k in I32_FIELDS])
    bools = np.cumsum([0] + [sizes[k] for _, k in BOOL_FIELDS])
    return np.concatenate([i32, bools]).astype(np.int64)


def new_buffers(lay: np.ndarray, basal_segments: int, apical_segments: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fresh (counts, i32, flags, seg, apseg) buffers for an empty TM."""
    n_i32 = len(I32_FIELDS) + 1
    i32 = np.zeros(int(lay[n_i32 - 1]), dtype=np.int32)
    for j, (name, _) in enumerate(I32_FIELDS):
        if name in I32_MINUS_ONE:
            i32[lay[j]: lay[j + 1]] = -1
    flags = np.zeros(int(lay[-1]), dtype=np.bool_)
    seg = np.zeros((len(SEG_FIELDS), basal_segments), dtype=np.int32)
    apseg = np.zeros((len(APSEG_FIELDS), apical_segments), dtype=np.int32)
    return np.zeros(N_COUNTS, dtype=np.int64), i32, flags, seg, apseg


def views(rng, counts, i32, flags, seg, apseg, lay) -> Any:  # a TMState
    """The TMState views of the buffers (Python side; :func:`unpack` is the kernel twin)."""
    n_i32 = len(I32_FIELDS) + 1
    out = [rng, counts]
    out += [i32[lay[j]: lay[j + 1]] for j in range(len(I32_FIELDS))]
    out += [flags[lay[n_i32 + j]: lay[n_i32 + j + 1]] for j in range(len(BOOL_FIELDS))]
    out += [seg[j] for j in range(len(SEG_FIELDS))]
    out += [apseg[j] for j in range(len(APSEG_FIELDS))]
    return TMState(*out)


# ---------------------------------------------------------------- un-reference-counted views
# Numba reference-counts every array passed into a jitted function (an atomic increment and
# decrement per array per call). With ~60 arrays in the state and store tuples, that cost
# dominated a step. Inside the kernels the state is therefore viewed through "borrowed" arrays
# whose memory-info pointer is null, which makes those operations no-ops. This is safe because
# the Python owner keeps the real arrays alive for the whole call and no kernel keeps an array
# beyond it (arrays a kernel allocates itself are still managed normally).


def _borrow(typingctx, arr):
    """``arr`` viewed without reference counting (valid while the caller holds ``arr``)."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        src = context.make_array(arr)(context, builder, value=args[0])
        out = context.make_array(arr)(context, builder)
        out.nitems = src.nitems
        out.itemsize = src.itemsize
        out.data = src.data
        out.shape = src.shape
        out.strides = src.strides
        out.meminfo = cgutils.get_null_value(out.meminfo.type)
        out.parent = cgutils.get_null_value(out.parent.type)
        return out._getvalue()

    return arr(arr), codegen


#: :func:`_borrow` as a numba intrinsic, called from kernels as ``borrow(arr)``
borrow: Any = intrinsic(_borrow)


# unpack() below spells out these counts
assert len(I32_FIELDS) == 18 and len(BOOL_FIELDS) == 5 and len(SEG_FIELDS) == 7


@njit(cache=True)
def _iv(buf, lay, j):
    return buf[lay[j]: lay[j + 1]]


@njit(cache=True)
def unpack(rng, counts, i32, flags, seg, apseg, lay):
    """Slice the state buffers into a :class:`TMState` of borrowed views (same order as
    :func:`views`)."""
    b = 19  # len(I32_FIELDS) + 1: start of the bool offsets in ``lay``
    rng = borrow(rng)
    counts = borrow(counts)
    i32 = borrow(i32)
    flags = borrow(flags)
    seg = borrow(seg)
    apseg = borrow(apseg)
    return TMState(
        rng, counts,
        _iv(i32, lay, 0), _iv(i32, lay, 1), _iv(i32, lay, 2), _iv(i32, lay, 3),
        _iv(i32, lay, 4), _iv(i32, lay, 5), _iv(i32, lay, 6), _iv(i32, lay, 7),
        _iv(i32, lay, 8), _iv(i32, lay, 9), _iv(i32, lay, 10), _iv(i32, lay, 11),
        _iv(i32, lay, 12), _iv(i32, lay, 13), _iv(i32, lay, 14), _iv(i32, lay, 15),
        _iv(i32, lay, 16), _iv(i32, lay, 17),
        _iv(flags, lay, b), _iv(flags, lay, b + 1), _iv(flags, lay, b + 2),
        _iv(flags, lay, b + 3), _iv(flags, lay, b + 4),
        seg[0], seg[1], seg[2], seg[3], seg[4], seg[5], seg[6],
        apseg[0], apseg[1], apseg[2], apseg[3], apseg[4], apseg[5], apseg[6],
    )


def config_arrays(cells_per_column: int, num_cells: int, activation_threshold: int,
                  min_threshold: int, max_new_synapse_count: int, max_segments_per_cell: int,
                  max_synapses_per_segment: int, has_apical: bool, *floats: float,
                  apical_gate: bool = False, apical_thresholds: tuple[int, int, int] = (0, 0, 0)
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(iparams int64, fparams float32) holding a :class:`TMConfig`. ``apical_thresholds``:
    the apical segments' (activation threshold, min threshold, max new synapses); 0 means
    the basal value."""
    ap = [v or b for v, b in zip(apical_thresholds, (activation_threshold, min_threshold,
                                                       max_new_synapse_count), strict=True)]
    ip = np.array([cells_per_column, num_cells, activation_threshold, min_threshold,
                   max_new_synapse_count, max_segments_per_cell, max_synapses_per_segment,
                   int(has_apical), int(apical_gate), *ap], dtype=np.int64)
    return ip, np.array(floats, dtype=np.float32)


@njit(cache=True)
def unpack_config(ip, fp):
    return TMConfig(ip[0], ip[1], ip[2], ip[3], ip[4], ip[5], ip[6], ip[7] != 0, ip[8] != 0,
                    ip[9], ip[10], ip[11], fp[0], fp[1], fp[2], fp[3], fp[4], fp[5])


@njit(cache=True)
def apical_config(cfg):
    """``cfg`` with the apical thresholds and sample size in place of the basal ones (the
    learning helpers read those fields)."""
    return TMConfig(cfg.cells_per_column, cfg.num_cells, cfg.ap_activation_threshold,
                    cfg.ap_min_threshold, cfg.ap_max_new_synapse_count,
                    cfg.max_segments_per_cell, cfg.max_synapses_per_segment, cfg.has_apical,
                    cfg.apical_gate, cfg.ap_activation_threshold, cfg.ap_min_threshold,
                    cfg.ap_max_new_synapse_count, cfg.initial_permanence,
                    cfg.connected_permanence, cfg.permanence_increment,
                    cfg.permanence_decrement, cfg.predicted_segment_decrement,
                    cfg.prune_below)


# ====================================================================== segment activity
@njit(cache=True)
def _link(st, segs, n, divisor, heads, next_seg, groups):
    """Chain ``segs[:n]`` into one list per group ``owner // divisor`` (``heads[g]`` first,
    ``next_seg[s]`` next, -1 ends; ``heads`` must be -1 on entry) and list the groups met in
    ``groups``; returns their number."""
    n_groups = 0
    for i in range(n):
        s = segs[i]
        g = st.seg_owner[s] // divisor
        if heads[g] < 0:
            groups[n_groups] = g
            n_groups += 1
        next_seg[s] = heads[g]
        heads[g] = s
    return n_groups


@njit(cache=True)
def _split_by_threshold(touched, n_touched, nconn, npot, act_thr, match_thr, active, matching):
    n_act = 0
    n_match = 0
    for i in range(n_touched):
        s = touched[i]
        if nconn[s] >= act_thr:
            active[n_act] = s
            n_act += 1
        if npot[s] >= match_thr:
            matching[n_match] = s
            n_match += 1
    return n_act, n_match


@njit(cache=True)
def clear_predictions(ts, cfg):
    """Forget the segment activity and predictions of the last step (sparse clearing)."""
    c = ts.counts
    k = cfg.cells_per_column
    for i in range(c[C_PREDICTIVE]):
        cell = ts.predictive[i]
        ts.cell_pred[cell] = False
        ts.col_pred[cell // k] = 0
    for i in range(c[C_ACT_COLS]):
        ts.col_act_head[ts.act_cols[i]] = -1
    for i in range(c[C_MATCH_COLS]):
        ts.col_match_head[ts.match_cols[i]] = -1
    for i in range(c[C_TOUCHED]):
        s = ts.touched[i]
        ts.seg_nconn[s] = 0
        ts.seg_npot[s] = 0
    for i in range(c[C_AP_CELLS]):
        cell = ts.ap_cells[i]
        ts.cell_ap_act_head[cell] = -1
        ts.cell_ap_match_head[cell] = -1
    for i in range(c[C_AP_TOUCHED]):
        s = ts.ap_touched[i]
        ts.ap_nconn[s] = 0
        ts.ap_npot[s] = 0
    for j in (C_PREDICTIVE, C_ACT_COLS, C_MATCH_COLS, C_TOUCHED, C_ACTIVE_SEGS,
              C_MATCHING_SEGS, C_AP_CELLS, C_AP_TOUCHED, C_AP_ACTIVE_SEGS, C_AP_MATCHING_SEGS):
        c[j] = 0


@njit(cache=True)
def activate_dendrites(st, ap, ts, cfg, apical_input, learn):
    """BAMI ``activateDendrites``: from the active cells (+ external basal bits) find the
    active segments (``>= activation_threshold`` active connected synapses) and matching
    segments (``>= min_threshold`` active potential synapses), and the predictive cells.

    With apical input, a cell is predictive when it has an active basal segment, except that
    in a column where some such cells also have an active apical segment, only those cells
    are predictive (apical tie-break); with ``apical_gate``, when any such cell of the layer
    has an active apical segment, only those cells are predictive (whole columns drop out).
    When learning, active segments are marked as used at
    this iteration (for the least-recently-used cleanup), and the iteration advances.
    """
    c = ts.counts
    k = cfg.cells_per_column
    clear_predictions(ts, cfg)

    # basal segments, chained per column
    n_touched = segment_activity(st, ts.active_presyn[: c[C_ACTIVE_PRESYN]],
                                 cfg.connected_permanence, ts.seg_nconn, ts.seg_npot,
                                 ts.touched)
    n_act, n_match = _split_by_threshold(ts.touched, n_touched, ts.seg_nconn, ts.seg_npot,
                                         cfg.activation_threshold, cfg.min_threshold,
                                         ts.active_segs, ts.matching_segs)
    c[C_TOUCHED] = n_touched
    c[C_ACTIVE_SEGS] = n_act
    c[C_MATCHING_SEGS] = n_match
    c[C_ACT_COLS] = _link(st, ts.active_segs, n_act, k, ts.col_act_head, ts.act_next,
                          ts.act_cols)
    c[C_MATCH_COLS] = _link(st, ts.matching_segs, n_match, k, ts.col_match_head,
                            ts.match_next, ts.match_cols)

    # apical segments, chained per cell
    if cfg.has_apical:
        n_ap = segment_activity(ap, apical_input, cfg.connected_permanence, ts.ap_nconn,
                                ts.ap_npot, ts.ap_touched)
        n_ap_act, n_ap_match = _split_by_threshold(
            ts.ap_touched, n_ap, ts.ap_nconn, ts.ap_npot, cfg.ap_activation_threshold,
            cfg.ap_min_threshold, ts.ap_active_segs, ts.ap_matching_segs)
        c[C_AP_TOUCHED] = n_ap
        c[C_AP_ACTIVE_SEGS] = n_ap_act
        c[C_AP_MATCHING_SEGS] = n_ap_match
        m = _link(ap, ts.ap_active_segs, n_ap_act, 1, ts.cell_ap_act_head, ts.ap_act_next,
                  ts.ap_cells)
        c[C_AP_CELLS] = m + _link(ap, ts.ap_matching_segs, n_ap_match, 1,
                                  ts.cell_ap_match_head, ts.ap_match_next, ts.ap_cells[m:])

    # apical gate: when some basally predicted cell of the layer has an active apical
    # segment, only such cells are predictive (whole columns drop out); else none is gated
    gate = False
    if cfg.has_apical and cfg.apical_gate:
        for j in range(n_act):
            if ts.cell_ap_act_head[st.seg_owner[ts.active_segs[j]]] >= 0:
                gate = True
                break

    # predictive cells: owners of active basal segments, column by column (apical tie-break)
    n_pred = 0
    for g in range(c[C_ACT_COLS]):
        col = ts.act_cols[g]
        apical_wins = gate
        if cfg.has_apical and not gate:
            s = ts.col_act_head[col]
            while s >= 0:
                if ts.cell_ap_act_head[st.seg_owner[s]] >= 0:
                    apical_wins = True
                    break
                s = ts.act_next[s]
        s = ts.col_act_head[col]
        while s >= 0:
            cell = st.seg_owner[s]
            s = ts.act_next[s]
            if ts.cell_pred[cell] or (apical_wins and ts.cell_ap_act_head[cell] < 0):
                continue
            ts.predictive[n_pred] = cell
            n_pred += 1
            ts.cell_pred[cell] = True
            ts.col_pred[col] += 1
    ts.predictive[:n_pred].sort()
    c[C_PREDICTIVE] = n_pred

    if learn:
        it = st.meta[M_ITER]
        for j in range(n_act):
            st.seg_last_used[ts.active_segs[j]] = it
        if cfg.has_apical:
            for j in range(c[C_AP_ACTIVE_SEGS]):
                ap.seg_last_used[ts.ap_active_segs[j]] = it
        st.meta[M_ITER] = it + 1
        ap.meta[M_ITER] = it + 1


# ====================================================================== learning helpers
@njit(cache=True, inline="always")
def dead_threshold(cfg):
    """Synapse count below which a segment is dead: ``min(min_threshold,
    activation_threshold)``. Such a segment can never be matching (that takes
    ``min_threshold`` active potential synapses) nor active (``activation_threshold`` active
    connected synapses), so it is never chosen to learn and never grows again; it is
    destroyed when it is adapted (learning or punishment), as in htm.core."""
    return min(cfg.min_threshold, cfg.activation_threshold)


@njit(cache=True)
def destroy_weakest_synapses(st, seg, n, protect_pos):
    """Remove the ``n`` weakest synapses of ``seg`` (lowest permanence, ties by lowest
    presynaptic index), sparing synapses from presynaptic indices with ``protect_pos >= 0``
    (the current growth candidates). Returns how many were removed."""
    base = segment_base(st, seg)
    removed = 0
    while removed < n:
        best = -1
        best_perm = np.float32(2.0)
        best_pre = 0
        for j in range(st.seg_nsyn[seg]):
            slot = base + j
            p = st.presyn[slot]
            if protect_pos[p] >= 0:
                continue
            v = st.perm[slot]
            if best < 0 or v < best_perm or (v == best_perm and p < best_pre):
                best = slot
                best_perm = v
                best_pre = p
        if best < 0:
            break
        synapse_remove(st, best)
        removed += 1
    return removed


@njit(cache=True, inline="always")
def grow_synapses(st, seg, n_desired, candidates, n_candidates, cand_pos, buf, taken, rng,
                  initial_permanence, max_synapses):
    """BAMI ``growSynapses``: add up to ``n_desired`` synapses (permanence
    ``initial_permanence``) from a random sample of ``candidates[:n_candidates]`` (the previous
    winner cells) that the segment is not already connected to. If the segment would exceed
    ``max_synapses``, its weakest synapses are removed first. Returns the number grown."""
    if n_desired <= 0 or n_candidates == 0:
        return 0
    base = segment_base(st, seg)
    for j in range(n_candidates):
        taken[j] = False
    for j in range(st.seg_nsyn[seg]):
        pos = cand_pos[st.presyn[base + j]]
        if pos >= 0:
            taken[pos] = True
    m = 0
    for j in range(n_candidates):
        if not taken[j]:
            buf[m] = candidates[j]
            m += 1
    n_actual = n_desired if n_desired < m else m
    if n_actual == 0:
        return 0
    overrun = st.seg_nsyn[seg] + n_actual - max_synapses
    if overrun > 0:
        destroy_weakest_synapses(st, seg, overrun, cand_pos)
    room = max_synapses - st.seg_nsyn[seg]
    if n_actual > room:
        n_actual = room
    segment_grow(st, seg, st.seg_nsyn[seg] + n_actual)
    shuffle_prefix(rng, buf[:m], n_actual)
    for j in range(n_actual):
        synapse_add(st, seg, buf[j], initial_permanence)
    return n_actual


@njit(cache=True, inline="always")
def create_segment(st, cell, max_segments):
    """A new segment on ``cell``; if the cell has ``max_segments`` already, its least recently
    used segment (ties: lowest id) is destroyed first."""
    while st.owner_nseg[cell] >= max_segments:
        victim = -1
        s = st.owner_first[cell]
        while s >= 0:
            if victim < 0 or st.seg_last_used[s] < st.seg_last_used[victim] or (
                    st.seg_last_used[s] == st.seg_last_used[victim] and s < victim):
                victim = s
            s = st.seg_next[s]
        segment_destroy(st, victim)
    return segment_create(st, cell)


@njit(cache=True, inline="always")
def learn_on_segment(st, seg, n_active_potential, active_mask, candidates, n_candidates,
                     cand_pos, ts, cfg):
    """Reinforce ``seg`` (``+inc`` active / ``-dec`` inactive presynaptic, BAMI) and grow
    ``max_new_synapse_count - n_active_potential`` synapses to previous winners."""
    adapt_segment(st, seg, active_mask, cfg.permanence_increment,
                       cfg.permanence_decrement, cfg.prune_below)
    st.seg_last_used[seg] = st.meta[M_ITER]
    grow_synapses(st, seg, cfg.max_new_synapse_count - n_active_potential, candidates,
                  n_candidates, cand_pos, ts.cand, ts.taken, ts.rng, cfg.initial_permanence,
                  cfg.max_synapses_per_segment)
    if st.seg_nsyn[seg] < dead_threshold(cfg):
        segment_destroy(st, seg)


@njit(cache=True, inline="always")
def learn_on_new_segment(st, cell, candidates, n_candidates, cand_pos, ts, cfg):
    """Grow a new segment on ``cell`` with ``max_new_synapse_count`` synapses to previous
    winners (nothing is created when there are no candidates)."""
    if n_candidates == 0 or cfg.max_new_synapse_count == 0:
        return -1
    seg = create_segment(st, cell, cfg.max_segments_per_cell)
    grow_synapses(st, seg, cfg.max_new_synapse_count, candidates, n_candidates, cand_pos,
                  ts.cand, ts.taken, ts.rng, cfg.initial_permanence,
                  cfg.max_synapses_per_segment)
    if st.seg_nsyn[seg] == 0:
        segment_destroy(st, seg)
        return -1
    return seg


@njit(cache=True, inline="always")
def _push(buf, counts, which, value):
    buf[counts[which]] = value
    counts[which] += 1


# ====================================================================== BAMI steps
@njit(cache=True, inline="always")
def _best_in_list(st, first, next_seg, n_potential):
    """The segment of a list with the most active potential synapses (ties: lowest owner
    cell, then lowest segment id), or -1 for an empty list."""
    best = -1
    s = first
    while s >= 0:
        if best < 0 or n_potential[s] > n_potential[best] or (
                n_potential[s] == n_potential[best]
                and (st.seg_owner[s] < st.seg_owner[best]
                     or (st.seg_owner[s] == st.seg_owner[best] and s < best))):
            best = s
        s = next_seg[s]
    return best


@njit(cache=True, inline="always")
def best_matching_segment(st, ts, column):
    """The column's matching segment with the most active potential synapses (ties: lowest
    cell, then lowest segment id), or -1."""
    return _best_in_list(st, ts.col_match_head[column], ts.match_next, ts.seg_npot)


@njit(cache=True, inline="always")
def least_used_cell(st, ts, cfg, column):
    """A cell of ``column`` with the fewest segments; ties broken by the kernel RNG."""
    k = cfg.cells_per_column
    first = column * k
    fewest = np.int32(2147483647)
    ties = 0
    for cell in range(first, first + k):
        n = st.owner_nseg[cell]
        if n < fewest:
            fewest = n
            ties = 1
        elif n == fewest:
            ties += 1
    pick = rand_below(ts.rng, ties) if ties > 1 else 0
    for cell in range(first, first + k):
        if st.owner_nseg[cell] == fewest:
            if pick == 0:
                return cell
            pick -= 1
    return first  # unreachable


@njit(cache=True, inline="always")
def activate_predicted_column(st, ts, cfg, column, learn):
    """BAMI ``activatePredictedColumn``: the predictive cells of the column become active and
    winners; each of their active segments learns (reinforce + grow)."""
    c = ts.counts
    k = cfg.cells_per_column
    for cell in range(column * k, column * k + k):
        if ts.cell_pred[cell]:
            _push(ts.new_active, c, C_NEW_ACTIVE, cell)
            _push(ts.new_winner, c, C_NEW_WINNER, cell)
            _push(ts.pred_active, c, C_PRED_ACTIVE, cell)
    if learn:
        seg = ts.col_act_head[column]
        while seg >= 0:
            if ts.cell_pred[st.seg_owner[seg]]:
                learn_on_segment(st, seg, ts.seg_npot[seg], ts.active_mask, ts.winner_presyn,
                                 c[C_WINNER_PRESYN], ts.winner_pos, ts, cfg)
            seg = ts.act_next[seg]


@njit(cache=True, inline="always")
def burst_column(st, ts, cfg, column, learn):
    """BAMI ``burstColumn``: all cells become active; the winner is the cell of the best
    matching segment (which learns), else the least used cell (which grows a new segment)."""
    c = ts.counts
    k = cfg.cells_per_column
    for cell in range(column * k, column * k + k):
        _push(ts.new_active, c, C_NEW_ACTIVE, cell)
    seg = best_matching_segment(st, ts, column)
    if seg >= 0:
        winner = st.seg_owner[seg]
    else:
        winner = least_used_cell(st, ts, cfg, column)
    _push(ts.new_winner, c, C_NEW_WINNER, winner)
    if learn:
        if seg >= 0:
            learn_on_segment(st, seg, ts.seg_npot[seg], ts.active_mask, ts.winner_presyn,
                             c[C_WINNER_PRESYN], ts.winner_pos, ts, cfg)
        else:
            learn_on_new_segment(st, winner, ts.winner_presyn, c[C_WINNER_PRESYN],
                                 ts.winner_pos, ts, cfg)


@njit(cache=True, inline="always")
def punish_segment(st, seg, active_mask, decrement, prune_below, dead_below):
    """Decrease the permanence of the synapses of ``seg`` from active presynaptic indices;
    remove synapses that reach zero, and the segment if it is left with fewer than
    ``dead_below`` synapses (:func:`dead_threshold`: it could never match again)."""
    base = segment_base(st, seg)
    dec = np.float32(decrement)
    for j in range(st.seg_nsyn[seg] - 1, -1, -1):
        slot = base + j
        if active_mask[st.presyn[slot]]:
            v = st.perm[slot] - dec
            if v < prune_below:
                synapse_remove(st, slot)
            else:
                st.perm[slot] = v
    if st.seg_nsyn[seg] < dead_below:
        segment_destroy(st, seg)


@njit(cache=True, inline="always")
def punish_predicted_column(st, ts, cfg, column):
    """BAMI ``punishPredictedColumn``: the matching segments of an inactive column lose
    ``predicted_segment_decrement`` on their synapses from previously active cells."""
    seg = ts.col_match_head[column]
    while seg >= 0:
        nxt = ts.match_next[seg]  # read first: punishing may destroy the segment
        punish_segment(st, seg, ts.active_mask, cfg.predicted_segment_decrement,
                       cfg.prune_below, dead_threshold(cfg))
        seg = nxt


@njit(cache=True)
def activate_cells(st, ts, cfg, active_columns, learn):
    """BAMI's main loop over columns: predicted / bursting active columns, then punishment
    of matching segments in inactive columns. Returns the number of active columns that
    were predicted."""
    n_predicted = 0
    for i in range(active_columns.shape[0]):
        col = active_columns[i]
        if ts.col_pred[col] > 0:
            n_predicted += 1
            activate_predicted_column(st, ts, cfg, col, learn)
        else:
            burst_column(st, ts, cfg, col, learn)
    if learn and cfg.predicted_segment_decrement > 0:
        for g in range(ts.counts[C_MATCH_COLS]):
            col = ts.match_cols[g]
            if not ts.col_active[col]:
                punish_predicted_column(st, ts, cfg, col)
    return n_predicted


@njit(cache=True)
def learn_apical(ap, ts, basal_cfg):
    """Apical learning (as htm.research's ApicalTiebreakTemporalMemory), for every winner
    cell of this step, from the previous step's apical input: its active apical segments
    learn; else its best matching apical segment learns; else it grows a new apical segment.
    Matching apical segments in inactive columns are punished. The apical thresholds and
    sample size apply (:func:`apical_config`)."""
    cfg = apical_config(basal_cfg)
    c = ts.counts
    k = cfg.cells_per_column
    n_cand = c[C_PREV_APICAL]
    for i in range(c[C_NEW_WINNER]):
        cell = ts.new_winner[i]
        seg = ts.cell_ap_act_head[cell]
        if seg >= 0:
            while seg >= 0:
                learn_on_segment(ap, seg, ts.ap_npot[seg], ts.apical_mask, ts.prev_apical,
                                 n_cand, ts.apical_pos, ts, cfg)
                seg = ts.ap_act_next[seg]
            continue
        best = _best_in_list(ap, ts.cell_ap_match_head[cell], ts.ap_match_next, ts.ap_npot)
        if best >= 0:
            learn_on_segment(ap, best, ts.ap_npot[best], ts.apical_mask, ts.prev_apical,
                             n_cand, ts.apical_pos, ts, cfg)
        else:
            learn_on_new_segment(ap, cell, ts.prev_apical, n_cand, ts.apical_pos, ts, cfg)
    if cfg.predicted_segment_decrement > 0:
        for j in range(c[C_AP_MATCHING_SEGS]):
            seg = ts.ap_matching_segs[j]
            owner = ap.seg_owner[seg]
            if owner >= 0 and not ts.col_active[owner // k]:
                punish_segment(ap, seg, ts.apical_mask, cfg.predicted_segment_decrement,
                               cfg.prune_below, dead_threshold(cfg))
            elif (owner >= 0 and cfg.apical_gate and ts.col_pred[owner // k] > 0
                  and not ts.cell_pred[owner] and ts.ap_nconn[seg] >= cfg.activation_threshold):
                # gate: an active apical segment on a cell of a predicted active column that
                # did not become active (its column was predicted by other cells)
                punish_segment(ap, seg, ts.apical_mask, cfg.predicted_segment_decrement,
                               cfg.prune_below, dead_threshold(cfg))


@njit(cache=True)
def commit_step(ts, cfg, external_basal, external_apical):
    """The cells activated this step (plus this step's external inputs) become the previous
    active / winner sets that the next step learns from."""
    c = ts.counts
    n_cells = cfg.num_cells
    for i in range(c[C_ACTIVE_PRESYN]):
        ts.active_mask[ts.active_presyn[i]] = False
    for i in range(c[C_WINNER_PRESYN]):
        ts.winner_pos[ts.winner_presyn[i]] = -1
    n_act = c[C_NEW_ACTIVE]
    n_win = c[C_NEW_WINNER]
    for i in range(n_act):
        ts.active_presyn[i] = ts.new_active[i]
    for i in range(n_win):
        ts.winner_presyn[i] = ts.new_winner[i]
    for i in range(external_basal.shape[0]):
        ts.active_presyn[n_act + i] = n_cells + external_basal[i]
        ts.winner_presyn[n_win + i] = n_cells + external_basal[i]
    c[C_ACTIVE] = n_act
    c[C_WINNER] = n_win
    c[C_ACTIVE_PRESYN] = n_act + external_basal.shape[0]
    c[C_WINNER_PRESYN] = n_win + external_basal.shape[0]
    for i in range(c[C_ACTIVE_PRESYN]):
        ts.active_mask[ts.active_presyn[i]] = True
    for i in range(c[C_WINNER_PRESYN]):
        ts.winner_pos[ts.winner_presyn[i]] = i
    if cfg.has_apical:
        for i in range(c[C_PREV_APICAL]):
            ts.apical_mask[ts.prev_apical[i]] = False
            ts.apical_pos[ts.prev_apical[i]] = -1
        for i in range(external_apical.shape[0]):
            a = external_apical[i]
            ts.prev_apical[i] = a
            ts.apical_mask[a] = True
            ts.apical_pos[a] = i
        c[C_PREV_APICAL] = external_apical.shape[0]


@njit(cache=True)
def tm_step(st, ap, ts, cfg, active_columns, external_basal, external_apical, learn):
    """One Temporal Memory step (see the module docstring). ``active_columns`` and the
    external inputs are sorted unique index arrays. Returns the raw anomaly score: the
    fraction of active columns that were not predicted (0 when no column is active)."""
    c = ts.counts
    c[C_NEW_ACTIVE] = 0
    c[C_NEW_WINNER] = 0
    c[C_PRED_ACTIVE] = 0
    for i in range(active_columns.shape[0]):
        ts.col_active[active_columns[i]] = True
    n_predicted = activate_cells(st, ts, cfg, active_columns, learn)
    if learn and cfg.has_apical:
        learn_apical(ap, ts, cfg)
    for i in range(active_columns.shape[0]):
        ts.col_active[active_columns[i]] = False
    commit_step(ts, cfg, external_basal, external_apical)
    activate_dendrites(st, ap, ts, cfg, external_apical, learn)
    n = active_columns.shape[0]
    if n == 0:
        return 0.0
    return (n - n_predicted) / n


@njit(cache=True)
def _chunks_needed(st, segs, n_segs, new):
    """Chunks that the learning segments ``segs[:n_segs]`` may take from the top of a
    grown-layout store in one step: each moves at most once, to a block for ``min(its
    synapses + new, capacity)`` synapses."""
    if st.meta[M_FIXED]:
        return 0
    ch = st.meta[M_CHUNK]
    cap = st.meta[M_CAP]
    total = 0
    for i in range(n_segs):
        n = st.seg_nsyn[segs[i]] + new
        total += (min(n, cap) + ch - 1) // ch
    return total


@njit(cache=True)
def has_room(st, ap, ts, cfg, n_columns, learn):
    """Whether the stores and segment arrays have room for everything one step may create:
    a basal segment per active column, ``max_new_synapse_count`` synapses per learning
    segment and the chunks that learning segments may move to (and for the apical store: a
    segment and its synapses per learning cell); nothing is created without ``learn``. When
    not, the needed room is written to ``counts[C_NEED_*]`` for the owner to reserve."""
    c = ts.counts
    k = cfg.cells_per_column
    new = cfg.max_new_synapse_count if learn else 0
    if not learn:
        n_columns = 0
    need_segs = n_columns
    need_syn = (n_columns + c[C_ACTIVE_SEGS]) * new
    need_chunks = _chunks_needed(st, ts.active_segs, c[C_ACTIVE_SEGS], new) if learn else 0
    if not st.meta[M_FIXED]:
        # a bursting column's learning segment: its best matching segment or a new one
        biggest = min(new, st.meta[M_CAP])
        for i in range(c[C_MATCHING_SEGS]):
            n = min(st.seg_nsyn[ts.matching_segs[i]] + new, st.meta[M_CAP])
            if n > biggest:
                biggest = n
        ch = st.meta[M_CHUNK]
        need_chunks += n_columns * ((biggest + ch - 1) // ch)
    ok = (st.meta[M_FREE] >= need_segs and st.arena.shape[0] >= arena_needs(st, need_syn)
          and ts.seg_nconn.shape[0] >= st.seg_nsyn.shape[0]
          and st.chunk_seg.shape[0] >= st.meta[M_CTOP] + need_chunks)
    need_ap_segs = 0
    need_ap_syn = 0
    need_ap_chunks = 0
    if cfg.has_apical:
        need_ap_segs = min(n_columns * k, n_columns + c[C_PREDICTIVE])
        need_ap_syn = (need_ap_segs + c[C_AP_ACTIVE_SEGS]) * (
            cfg.ap_max_new_synapse_count if learn else 0)
        if learn and not ap.meta[M_FIXED]:
            ch = ap.meta[M_CHUNK]
            need_ap_chunks = (need_ap_segs + c[C_AP_ACTIVE_SEGS]) * (
                (ap.meta[M_CAP] + ch - 1) // ch)
        ok = ok and (ap.meta[M_FREE] >= need_ap_segs
                     and ap.arena.shape[0] >= arena_needs(ap, need_ap_syn)
                     and ts.ap_nconn.shape[0] >= ap.seg_nsyn.shape[0]
                     and ap.chunk_seg.shape[0] >= ap.meta[M_CTOP] + need_ap_chunks)
    c[C_NEED_SEGS] = need_segs
    c[C_NEED_SYNAPSES] = need_syn
    c[C_NEED_AP_SEGS] = need_ap_segs
    c[C_NEED_AP_SYNAPSES] = need_ap_syn
    c[C_NEED_CHUNKS] = need_chunks
    c[C_NEED_AP_CHUNKS] = need_ap_chunks
    return ok


# The entry points take the synapse stores' arrays as separate arguments: numba unboxes a
# namedtuple of 20 arrays about twice as slowly as 20 plain array arguments.
@njit(cache=True)
def store_of(presyn, perm, rev_pos, seg_nsyn, seg_owner, seg_last_used, seg_next, seg_prev,
             seg_chunk, seg_nchunk, free_segs, owner_first, owner_nseg, rev_start, rev_count,
             rev_cap, arena, chunk_seg, free_blocks, meta):
    """A :class:`StoreArrays` of borrowed views of the given arrays (see :func:`borrow`)."""
    return StoreArrays(
        borrow(presyn), borrow(perm), borrow(rev_pos), borrow(seg_nsyn), borrow(seg_owner),
        borrow(seg_last_used), borrow(seg_next), borrow(seg_prev), borrow(seg_chunk),
        borrow(seg_nchunk), borrow(free_segs), borrow(owner_first), borrow(owner_nseg),
        borrow(rev_start), borrow(rev_count), borrow(rev_cap), borrow(arena),
        borrow(chunk_seg), borrow(free_blocks), borrow(meta),
    )


@njit(cache=True)
def tm_compute_basal(presyn, perm, rev_pos, seg_nsyn, seg_owner, seg_last_used, seg_next,
                     seg_prev, seg_chunk, seg_nchunk, free_segs, owner_first, owner_nseg,
                     rev_start, rev_count, rev_cap, arena, chunk_seg, free_blocks, meta,
                     rng, counts, i32, flags, seg, apseg, lay, ip, fp,
                     active_columns, external_basal, external_apical, learn):
    """Entry point of :meth:`TemporalMemory.compute` (no apical segments): the basal store's
    20 arrays (``StoreArrays`` order), the state buffers and the step's inputs. Unpacks them
    and runs :func:`tm_step`; returns -1.0 without changing anything when the store needs
    more room first (see :func:`has_room`)."""
    st = store_of(presyn, perm, rev_pos, seg_nsyn, seg_owner, seg_last_used, seg_next,
                  seg_prev, seg_chunk, seg_nchunk, free_segs, owner_first, owner_nseg,
                  rev_start, rev_count, rev_cap, arena, chunk_seg, free_blocks, meta)
    ts = unpack(rng, counts, i32, flags, seg, apseg, lay)
    cfg = unpack_config(ip, fp)
    if not has_room(st, st, ts, cfg, active_columns.shape[0], learn):
        return -1.0
    return tm_step(st, st, ts, cfg, active_columns, external_basal, external_apical, learn)


@njit(cache=True)
def tm_compute(presyn, perm, rev_pos, seg_nsyn, seg_owner, seg_last_used, seg_next, seg_prev,
               seg_chunk, seg_nchunk, free_segs, owner_first, owner_nseg, rev_start,
               rev_count, rev_cap, arena, chunk_seg, free_blocks, meta,
               a_presyn, a_perm, a_rev_pos, a_seg_nsyn, a_seg_owner, a_seg_last_used,
               a_seg_next, a_seg_prev, a_seg_chunk, a_seg_nchunk, a_free_segs, a_owner_first,
               a_owner_nseg, a_rev_start, a_rev_count, a_rev_cap, a_arena, a_chunk_seg,
               a_free_blocks, a_meta,
               rng, counts, i32, flags, seg, apseg, lay, ip, fp,
               active_columns, external_basal, external_apical, learn):
    """:func:`tm_compute_basal` with apical segments: the apical store's 20 arrays follow the
    basal store's."""
    st = store_of(presyn, perm, rev_pos, seg_nsyn, seg_owner, seg_last_used, seg_next,
                  seg_prev, seg_chunk, seg_nchunk, free_segs, owner_first, owner_nseg,
                  rev_start, rev_count, rev_cap, arena, chunk_seg, free_blocks, meta)
    ap = store_of(a_presyn, a_perm, a_rev_pos, a_seg_nsyn, a_seg_owner, a_seg_last_used,
                  a_seg_next, a_seg_prev, a_seg_chunk, a_seg_nchunk, a_free_segs,
                  a_owner_first, a_owner_nseg, a_rev_start, a_rev_count, a_rev_cap, a_arena,
                  a_chunk_seg, a_free_blocks, a_meta)
    ts = unpack(rng, counts, i32, flags, seg, apseg, lay)
    cfg = unpack_config(ip, fp)
    if not has_room(st, ap, ts, cfg, active_columns.shape[0], learn):
        return -1.0
    return tm_step(st, ap, ts, cfg, active_columns, external_basal, external_apical, learn)


@njit(cache=True)
def reset_state(rng, counts, i32, flags, seg, apseg, lay, ip, fp):
    """Clear all activity and predictions (between sequences); learned synapses stay."""
    ts = unpack(rng, counts, i32, flags, seg, apseg, lay)
    cfg = unpack_config(ip, fp)
    c = ts.counts
    clear_predictions(ts, cfg)
    for i in range(c[C_ACTIVE_PRESYN]):
        ts.active_mask[ts.active_presyn[i]] = False
    for i in range(c[C_WINNER_PRESYN]):
        ts.winner_pos[ts.winner_presyn[i]] = -1
    for i in range(c[C_PREV_APICAL]):
        ts.apical_mask[ts.prev_apical[i]] = False
        ts.apical_pos[ts.prev_apical[i]] = -1
    for j in range(N_COUNTS):
        c[j] = 0
