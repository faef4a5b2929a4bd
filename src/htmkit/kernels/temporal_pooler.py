"""Numba kernels of the union-style temporal pooler (see :mod:`htmkit.temporal_pooler`).

The pooler keeps one proximal segment per pooler cell in the shared synapse store, with
segment id == cell id (the store is bulk-filled in cell order), so per-segment counts from
:func:`~htmkit.kernels.synapses.compute_connected` are per-cell counts.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .rng import shuffle_prefix
from .synapses import adapt_segment, compute_connected, synapse_add


@njit(cache=True)
def weighted_overlaps(st, active, predicted, connected, w_active, w_predicted,
                      ov_active, ov_predicted, out):
    """``out[c] = w_active * (connected synapses of cell c from active inputs)
    + w_predicted * (connected synapses from predicted-active inputs)``.

    ``ov_active`` / ``ov_predicted`` (int32, one per cell) receive the raw counts.
    """
    compute_connected(st, active, connected, ov_active)
    compute_connected(st, predicted, connected, ov_predicted)
    for c in range(out.shape[0]):
        out[c] = w_active * ov_active[c] + w_predicted * ov_predicted[c]


@njit(cache=True)
def top_k(score, tie_order, k, floor):
    """Sorted ids of the (at most) ``k`` cells with the largest ``score`` strictly above
    ``floor``. Equal scores are ranked by position in ``tie_order`` (a fixed random
    permutation of the cells), so ties are broken randomly but reproducibly."""
    n = tie_order.shape[0]
    s = np.empty(n, dtype=np.float64)
    for j in range(n):
        s[j] = -score[tie_order[j]]
    order = np.argsort(s, kind="mergesort")  # stable: ties keep tie_order's order
    out = np.empty(min(k, n), dtype=np.int64)
    m = 0
    for j in range(n):
        if m >= k:
            break
        c = tie_order[order[j]]
        if score[c] <= floor:
            break
        out[m] = c
        m += 1
    return np.sort(out[:m])


@njit(cache=True)
def pool_step(activation, overlap, boost, tie_order, n_winners, stimulus_threshold, decay_rate,
              n_active, min_activation):
    """One pooling step, in place on ``activation`` (float64, one per cell).

    1. winners: the ``n_winners`` cells with the largest boosted overlap ``overlap * boost``
       among those whose ``overlap`` is above ``stimulus_threshold``;
    2. every cell's pooling activation decays: ``a *= 1 - decay_rate``;
    3. each winner adds its weighted overlap to its activation;
    4. the output is the ``n_active`` cells with the largest activation above
       ``min_activation``.

    Returns ``(winners, output)``, both sorted int64 arrays.
    """
    n = overlap.shape[0]
    boosted = np.empty(n, dtype=np.float64)
    for c in range(n):
        boosted[c] = overlap[c] * boost[c] if overlap[c] > stimulus_threshold else -1.0
    winners = top_k(boosted, tie_order, n_winners, -0.5)
    keep = 1.0 - decay_rate
    for c in range(activation.shape[0]):
        activation[c] *= keep
    for i in range(winners.shape[0]):
        c = winners[i]
        activation[c] += overlap[c]
    output = top_k(activation, tie_order, n_active, min_activation)
    return winners, output


@njit(cache=True)
def learn_cells(st, cells, recent_mask, inc, dec, prune_below, grow_from, max_new, new_perm,
                rng_state, mark):
    """Hebbian update of the segments of ``cells`` (segment id == cell id).

    * ``+inc`` for synapses from inputs in ``recent_mask`` (dense bool over the input),
      ``-dec`` for the others; synapses whose permanence drops below ``prune_below`` are
      removed (negative: keep all).
    * Growth: each cell then adds up to ``max_new`` synapses (permanence ``new_perm``) to
      inputs of ``grow_from`` (sorted int32) it has no synapse to yet, chosen at random with
      the kernel RNG ``rng_state``, as far as its segment has room.

    ``mark`` is a scratch bool array over the input, all False on entry and on return. The
    caller reserves room for ``len(cells) * max_new`` new synapses beforehand.
    """
    cap = st.presyn.shape[0] // st.seg_nsyn.shape[0]
    cand = np.empty(grow_from.shape[0], dtype=np.int32)
    for i in range(cells.shape[0]):
        c = cells[i]
        adapt_segment(st, c, recent_mask, inc, dec, prune_below)
        if max_new <= 0 or grow_from.shape[0] == 0:
            continue
        room = cap - st.seg_nsyn[c]
        if room <= 0:
            continue
        base = c * cap
        n = st.seg_nsyn[c]
        for k in range(n):
            mark[st.presyn[base + k]] = True
        m = 0
        for j in range(grow_from.shape[0]):
            p = grow_from[j]
            if not mark[p]:
                cand[m] = p
                m += 1
        for k in range(n):
            mark[st.presyn[base + k]] = False
        want = min(max_new, m, room)
        if want <= 0:
            continue
        sub = cand[:m]
        shuffle_prefix(rng_state, sub, want)
        for j in range(want):
            synapse_add(st, c, sub[j], new_perm)
