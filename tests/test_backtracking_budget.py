"""Backtracking TM segment budget (``max_segments``): the count never exceeds it, the least
recently used (and never-matching) segments go first, save/load stays bit-identical once it
is reached, and the parameter is validated."""

import numpy as np
import pytest
from test_backtracking_tm import check_storage, present, random_stream, states_equal

from htmkit.backtracking_tm import (
    DEFAULT_MAX_SEGMENTS,
    BacktrackingTemporalMemory,
    BacktrackingTemporalMemoryParams,
)
from htmkit.errors import HTMKitError, ParameterError
from htmkit.kernels import backtracking_tm as K
from htmkit.sdr import SDR

N_COLS = 128
ACTIVE = 5
TINY = dict(column_dimensions=N_COLS, cells_per_column=4, activation_threshold=3,
            min_threshold=2, max_new_synapse_count=4, max_synapses_per_segment=8, seed=5)
#: one step adds at most (max_lrn_backtrack + 2) x active columns segments
PER_STEP = (BacktrackingTemporalMemoryParams().max_lrn_backtrack + 2) * ACTIVE


def stream(n, seed, alphabet=30):
    return random_stream(n, seed, size=N_COLS, active=ACTIVE, alphabet=alphabet)


def test_segment_count_never_exceeds_the_budget():
    limit = 4 * PER_STEP
    tm = BacktrackingTemporalMemory(**TINY, max_segments=limit)
    free = BacktrackingTemporalMemory(**TINY, max_segments=0)
    counts = []
    for i, sdr in enumerate(stream(200, seed=1)):
        tm.compute(sdr)
        if i < 120:
            free.compute(sdr)
        counts.append(tm.num_segments())
    assert max(counts) <= limit
    assert free.num_segments() > limit  # the stream would grow past it without one
    assert max(counts) > limit - PER_STEP - limit // 64 - PER_STEP  # and it was reached
    check_storage(tm)
    # the segment store stops growing: its slots stay within the budget plus one step
    assert int(tm._a["meta"][K.M_USED]) <= limit + PER_STEP


def test_trim_destroys_never_matching_then_least_recently_used_first():
    tm = BacktrackingTemporalMemory(**TINY, max_segments=0)
    present(tm, stream(300, seed=2))
    a = tm._a
    used = int(a["meta"][K.M_USED])
    live = np.flatnonzero(a["seg_i32"][K.SEG_CELL, :used] >= 0)
    n_syn = a["seg_i32"][K.SEG_N, live]
    last = a["seg_i64"][K.SEG_LAST, live]
    rank = np.where(n_syn < tm.params.min_threshold, 0, last + 1)
    order = live[np.lexsort((live, rank))]  # by rank, then segment id
    n_kill = len(live) // 3
    assert tm.trim(len(live) - n_kill) == n_kill
    alive = a["seg_i32"][K.SEG_CELL, :used] >= 0
    assert not alive[order[:n_kill]].any()
    assert alive[order[n_kill:]].all()
    assert tm.num_segments() == len(live) - n_kill
    check_storage(tm)
    assert tm.trim(10**6) == 0


def test_old_context_is_forgotten_first():
    """A sequence learned long ago loses its segments before the one in use."""
    rng = np.random.default_rng(3)
    cols = rng.permutation(N_COLS)
    seq_a = [SDR(N_COLS, np.sort(cols[i * ACTIVE:(i + 1) * ACTIVE])) for i in range(6)]
    seq_b = [SDR(N_COLS, np.sort(cols[(i + 6) * ACTIVE:(i + 7) * ACTIVE])) for i in range(6)]
    tm = BacktrackingTemporalMemory(**TINY, max_segments=0)
    for _ in range(8):
        present(tm, seq_a)
        tm.reset()
    for _ in range(8):
        present(tm, seq_b)
        tm.reset()
    a_cells = {c for s in seq_a for c in range(s.indices[0] * 4, s.indices[0] * 4 + 4)}
    cell_of = tm._a["seg_i32"][K.SEG_CELL]
    n_b = sum(1 for c in cell_of if c >= 0 and c not in a_cells
              and c // 4 in {int(x) for s in seq_b for x in s.indices})
    tm.trim(n_b)
    present(tm, seq_b, learn=False)
    assert present(tm, seq_b, learn=False)[1:] == [0.0] * 5  # B still predicted
    tm.reset()
    assert max(present(tm, seq_a, learn=False)[1:]) == 1.0  # A forgotten


def test_save_load_bit_identical_with_the_budget_reached(tmp_path):
    limit = 3 * PER_STEP
    data = stream(400, seed=4)
    tm = BacktrackingTemporalMemory(**TINY, max_segments=limit)
    present(tm, data[:250])
    assert tm.num_segments() > limit // 2
    loaded = BacktrackingTemporalMemory.load(tm.save(tmp_path / "btm.htm"))
    assert loaded.params.max_segments == limit
    states_equal(tm, loaded)
    assert present(tm, data[250:]) == present(loaded, data[250:])
    states_equal(tm, loaded)
    assert tm.num_segments() <= limit


@pytest.mark.parametrize("bad", [-1, True, 2.5, "many"])
def test_bad_budget_names_the_field(bad):
    with pytest.raises(ParameterError, match="max_segments"):
        BacktrackingTemporalMemory(**TINY, max_segments=bad)


def test_bad_trim_target_and_bad_saved_budget_raise():
    tm = BacktrackingTemporalMemory(**TINY)
    assert tm.params.max_segments == DEFAULT_MAX_SEGMENTS
    with pytest.raises(ParameterError, match="target"):
        tm.trim(-1)
    state = tm.get_state()
    state["params"]["max_segments"] = -5
    with pytest.raises(HTMKitError, match="max_segments"):
        BacktrackingTemporalMemory.from_state(state)
