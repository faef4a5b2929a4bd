"""A slow, literal reference of NuPIC's backtracking Temporal Memory, in plain Python.

This is our own transcription of the algorithm of NuPIC's ``BacktrackingTM``
(``nupic/algorithms/backtracking_tm.py``) and of its C++ twin ``Cells4``
(``nupic.core/src/nupic/algorithms/Cells4.cpp``), written with sets, lists and small objects so
that each rule can be read off one method: inference with backtracking (``_inferBacktrack``,
``_inferPhase1``, ``_inferPhase2``), learning with backtracking (``_learnBacktrack``,
``_learnBacktrackFrom``, ``_learnPhase1``, ``_learnPhase2``), segment updates queued and then
applied (``_getSegmentActiveSynapses``, ``_chooseCellsToLearnFrom``, ``_processSegmentUpdates``,
``_adaptSegment``), the pay-attention counter, ``maxSeqLength``, ``_getBestMatchingCell``,
``_getCellForNewSegment`` with the ``maxSegmentsPerCell`` clean-up, ``maxSynapsesPerSegment``
(``freeNSynapses``) and ``predictedSegmentDecrement``. It is used by
``tests/test_backtracking_golden.py`` to check :class:`htmkit.backtracking_tm.
BacktrackingTemporalMemory` step by step, and by ``tools/make_btm_golden.py`` to write the
golden trace ``tests/data/btm_golden.json``.

Cells are numbered ``column * cells_per_column + i`` (NuPIC: ``(column, i)``); cell 0 of a
column is its start cell. Parameters have htmkit's names (NuPIC's are listed in
:class:`htmkit.backtracking_tm.BacktrackingTemporalMemoryParams`).

Where this reference departs from NuPIC's Python ``BacktrackingTM``
---------------------------------------------------------------------
It follows the choices that htmkit's port documents (most of them are those of ``Cells4``,
which NAB ran with ``temporalImp: cpp``), so that the two can be compared exactly:

1. **Random numbers.** NuPIC draws from ``nupic.bindings.math.Random``; here, as in the port,
   every draw comes from the SplitMix64 generator of :mod:`htmkit.kernels.rng` (re-written
   below in pure Python, seeded the same way), with ``rand_below(n) = next() % n``:
   - the cell of a new segment is ``candidates[rand_below(len(candidates))]`` (as NuPIC);
   - the new synapses of an update: when there are more candidate cells than synapses to add,
     a partial Fisher-Yates shuffle (``shuffle_prefix``) of the candidate list (the learning
     cells in increasing cell order, less those the segment already reaches) takes the first
     ``n``; they are added in that shuffled order. NuPIC samples with ``Random.sample`` and
     sorts the sample, and draws once (``getUInt32``) when ``n == 1``.
2. **Order of the draws in learning phase 2.** NuPIC (both versions) walks the columns in
   increasing order, queueing updates (and so drawing) column after column. The port walks
   the columns in the order its forward index first reaches a segment with
   ``>= activation_threshold`` active synapses (learning cells in increasing order, then each
   cell's outgoing synapses in index order), which is not the column order: both are
   deterministic and choose the same cells and segments, but hand the random stream to the
   columns in another order, so traces part as soon as two phase-2 updates in one step draw.
   ``phase2_order="column"`` (the default) walks NuPIC's order; ``phase2_order="port"``
   rebuilds the port's order from a per-cell list of outgoing synapses kept as the port keeps
   it (appended; a removed synapse's place taken by the list's last). The golden stream uses
   ``activation_threshold >= max_new_synapse_count``, where a phase-2 update never draws and
   both orders give the same trace; the other tests use ``"port"``.
3. **Best matching segment / cell.** Most active segment of the column, ties to the later cell
   and, within a cell, to the earlier segment (both NuPIC versions). Segments of a cell sit in
   *slots*: a released segment leaves an empty slot that the next new segment of that cell
   takes (``Cells4``'s free-segment reuse); NuPIC's Python appends to a list.
4. **Empty updates create nothing.** An update with no synapse (a new segment while there are
   no learning cells at t-1) is dropped, as in ``Cells4``; NuPIC's Python adds an empty
   segment. The cell of that would-be segment still becomes the learning cell (and was drawn).
5. **Synapse removal and freeing (``Cells4``).** A synapse whose permanence falls to ``<= 0``
   is removed at once (NuPIC's Python clamps it to 0 and, at the end of the update, trims the
   segment's synapses below 1e-5, so a permanence left in (0, 1e-5) survives here and in
   ``Cells4`` but not there); a segment left without synapses is released. Before adding new
   synapses beyond ``max_synapses_per_segment`` the weakest inactive synapses (by permanence)
   are freed first, then the weakest active ones; ties go to the first in the segment's
   synapse order. That order is the port's: new synapses are appended, and a removed
   synapse's place is taken by the segment's last synapse (NuPIC keeps them in insertion
   order, ``Cells4`` sorted by presynaptic cell); reinforcement walks the synapses from last
   to first.
6. **Permanences are float32** and every sum is rounded to float32 (``Cells4``'s ``Real``);
   increments are capped at ``permanence_max``.
7. **Duty cycle** (which segment a full column loses): positive activations (1 at creation, +1
   per reinforcement) divided by the learning steps since creation (inclusive), the port's
   choice; NuPIC uses ``positiveActivations / lrnIterationIdx`` for 100 steps then tiered
   moving averages, and starts the search at 1.0 (so a segment with duty cycle >= 1 is never
   chosen there); here the lowest duty cycle always loses (ties: first cell, then first slot).
   Queued updates of the deleted segment are cleaned (NuPIC's ``_cleanUpdatesList``).
8. **Column confidence** is kept only as "non-zero or not": a column is confident when one of
   its segments has ``>= activation_threshold`` active synapses of any permanence (NuPIC sums
   the duty cycles of those segments, which are always positive). The raw anomaly is the
   fraction of active columns not confident at t-1 (the TM region's anomaly).
9. **Average input density** is kept in float32 (``Cells4``) as ``0.99f * avg + 0.01f * n``
   (the port's constants; ``Cells4`` writes ``(1 - 0.99f) * n``, i.e. 0.00999999f, and NuPIC's
   Python uses float64), and starts from the first input whenever it is still 0 (NuPIC's
   Python: from the first input, even an empty one).
10. **reset()** also clears the column confidences and the anomaly (``Cells4``); NuPIC's Python
   keeps ``colConfidence``.
11. **Phase 1 with several learn-predicted cells in a column** (cannot happen) takes the last;
   learning phase 1 counts a step in sequence when ``unpredicted < len(columns) // 2`` (integer
   division, as Python 2 and ``Cells4``).
12. Not transcribed: pooling (``doPooling``), global decay / ``maxAge`` (NuPIC requires both 0
   with fixed-size resources), ``outputType`` variants, cell confidences and statistics.
13. ``predicted_segment_decrement`` (htmkit's extension; 0 in NuPIC): a queued update whose
   cell's column is not active lowers the permanences of the synapses it lists by that amount
   (removing those reaching ``<= 0``) instead of being dropped.
14. ``compute`` always runs inference, then learning when ``learn`` (the TM region's call;
   NuPIC's ``BacktrackingTM.compute`` skips inference while learning unless asked).

Not differences, although the port is written otherwise: the port counts the phase-1 segment
activity once per phase (here, as in NuPIC, per column when it is reached; learning in one
column changes only that column's segments), keeps one flat queue of updates (NuPIC: a dict
per cell; without pooling every update is applied or dropped at the next learning step, so
their order does not matter), and counts segment activity through a forward index (here by
walking every segment).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

MASK64 = (1 << 64) - 1


class SplitMix64:
    """Pure-Python copy of :mod:`htmkit.kernels.rng` (same seeding, same stream)."""

    def __init__(self, seed: int):
        state = np.random.SeedSequence(int(seed) & MASK64).generate_state(1, np.uint64)
        self.state = int(state[0])

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def rand_below(self, n: int) -> int:
        return self.next_u64() % n

    def shuffle_prefix(self, items: list, k: int) -> list:
        """Partial Fisher-Yates: the first ``k`` of ``items`` (shuffled in place)."""
        n = len(items)
        k = min(k, n)
        for i in range(k):
            j = i + self.rand_below(n - i)
            items[i], items[j] = items[j], items[i]
        return items[:k]


f32 = np.float32


class Synapse:
    __slots__ = ("src", "perm", "segment")

    def __init__(self, src: int, perm: np.float32, segment: Segment):
        self.src = src
        self.perm = perm
        self.segment = segment


class Segment:
    def __init__(self, cell: int, born: int):
        self.cell = cell
        self.syns: list[Synapse] = []
        self.positive_activations = 1
        self.born = born
        self.alive = True

    def remove_synapse(self, j: int) -> None:
        """Remove synapse ``j``; the last synapse takes its place (see docstring, item 5)."""
        last = self.syns.pop()
        if j < len(self.syns):
            self.syns[j] = last

    def activity(self, active: set[int], connected_perm: np.float32 | None = None) -> int:
        """Active synapses (any permanence, or only those ``>= connected_perm``)."""
        return sum(1 for s in self.syns if s.src in active
                   and (connected_perm is None or s.perm >= connected_perm))


@dataclass
class Update:
    cell: int
    segment: Segment | None
    sources: list[int]
    time: int


@dataclass
class ReferenceParams:
    num_columns: int
    cells_per_column: int = 32
    activation_threshold: int = 13
    min_threshold: int = 10
    max_new_synapse_count: int = 20
    initial_permanence: float = 0.21
    connected_permanence: float = 0.5
    permanence_increment: float = 0.1
    permanence_decrement: float = 0.1
    permanence_max: float = 1.0
    predicted_segment_decrement: float = 0.0
    max_segments_per_cell: int = 128
    max_synapses_per_segment: int = 32
    pam_length: int = 3
    max_inf_backtrack: int = 10
    max_lrn_backtrack: int = 5
    max_seq_length: int = 32
    seed: int = 42
    phase2_order: str = "column"


class NupicBacktrackingTM:
    """The reference. ``compute(active_columns, learn)`` returns the raw anomaly; the states
    after the step are the sets ``inf_active``, ``inf_predicted``, ``lrn_active``,
    ``lrn_predicted`` (cells) and ``confident_columns``."""

    def __init__(self, **kwargs: Any):
        self.p = p = ReferenceParams(**kwargs)
        if p.phase2_order not in ("column", "port"):
            raise ValueError(f"phase2_order must be 'column' or 'port', got {p.phase2_order!r}")
        self.K = p.cells_per_column
        self.rng = SplitMix64(p.seed)
        # cells[cell] = list of slots, each a Segment or None (a free slot)
        self.cells: list[list[Segment | None]] = [[] for _ in range(p.num_columns * self.K)]
        # out[cell]: the synapses whose presynaptic cell is ``cell``, in the port's forward
        # index order (appended; a removed one's place taken by the last); used only by
        # ``phase2_order="port"``
        self.out: list[list[Synapse]] = [[] for _ in range(p.num_columns * self.K)]
        self.inf_active: set[int] = set()
        self.inf_active_1: set[int] = set()
        self.inf_predicted: set[int] = set()
        self.inf_predicted_1: set[int] = set()
        self.confident_columns: set[int] = set()
        self.lrn_active: set[int] = set()
        self.lrn_active_1: set[int] = set()
        self.lrn_predicted: set[int] = set()
        self.lrn_predicted_1: set[int] = set()
        self.prev_inf_patterns: list[list[int]] = []
        self.prev_lrn_patterns: list[list[int]] = []
        self.segment_updates: list[Update] = []
        self.pam_counter = p.pam_length
        self.learned_seq_length = 0
        self.avg_input_density = f32(0.0)
        self.reset_called = False
        self.lrn_iteration = 0
        self.iteration = 0
        self.anomaly = 0.0
        #: how often each rule fired (to check that a stream exercises them)
        self.events = dict.fromkeys(
            ("infer_backtrack", "infer_lock_on", "learn_backtrack", "learn_lock_on",
             "max_seq_length", "pam_expired", "new_segment", "segment_deleted",
             "synapses_freed", "synapse_removed", "segment_released", "update_applied",
             "new_synapses_drawn"), 0)
        self.init_perm = f32(p.initial_permanence)
        self.conn_perm = f32(p.connected_permanence)
        self.inc = f32(p.permanence_increment)
        self.dec = f32(p.permanence_decrement)
        self.pmax = f32(p.permanence_max)
        self.pred_dec = f32(p.predicted_segment_decrement)

    # ------------------------------------------------------------------ helpers
    def column_cells(self, c: int) -> range:
        return range(c * self.K, (c + 1) * self.K)

    def segments(self, cell: int) -> list[Segment]:
        return [s for s in self.cells[cell] if s is not None]

    def all_segments(self) -> Iterator[tuple[int, Segment]]:
        """(cell, segment) of every segment, cells in increasing order, segments by slot."""
        for cell, slots in enumerate(self.cells):
            for seg in slots:
                if seg is not None:
                    yield cell, seg

    def num_segments(self) -> int:
        return sum(len(self.segments(c)) for c in range(len(self.cells)))

    def num_synapses(self) -> int:
        return sum(len(s.syns) for c in range(len(self.cells)) for s in self.segments(c))

    def add_synapse(self, seg: Segment, src: int) -> None:
        syn = Synapse(src, self.init_perm, seg)
        seg.syns.append(syn)
        self.out[src].append(syn)

    def remove_synapse(self, seg: Segment, j: int) -> None:
        out = self.out[seg.syns[j].src]
        i = out.index(seg.syns[j])
        out[i] = out[-1]
        out.pop()
        seg.remove_synapse(j)

    def release_segment(self, seg: Segment) -> None:
        self.events["segment_released"] += 1
        for j in range(len(seg.syns) - 1, -1, -1):
            self.remove_synapse(seg, j)
        slots = self.cells[seg.cell]
        slots[slots.index(seg)] = None
        seg.alive = False

    def new_segment(self, cell: int) -> Segment:
        seg = Segment(cell, self.lrn_iteration)
        slots = self.cells[cell]
        for j, s in enumerate(slots):
            if s is None:
                slots[j] = seg
                return seg
        slots.append(seg)
        return seg

    # ------------------------------------------------------------------ top level
    def reset(self) -> None:
        for name in ("inf_active", "inf_active_1", "inf_predicted", "inf_predicted_1",
                     "confident_columns", "lrn_active", "lrn_active_1", "lrn_predicted",
                     "lrn_predicted_1"):
            setattr(self, name, set())
        self.segment_updates = []
        self.reset_called = True
        self.prev_inf_patterns = []
        self.prev_lrn_patterns = []
        self.anomaly = 0.0

    def compute(self, active_columns: list[int], learn: bool = True) -> float:
        cols = sorted(int(c) for c in active_columns)
        if learn:
            self.lrn_iteration += 1
        self.iteration += 1
        # the TM region's raw anomaly: active columns without confidence at t-1
        if cols:
            unexpected = sum(1 for c in cols if c not in self.confident_columns)
            anomaly = unexpected / len(cols)
        else:
            anomaly = 0.0
        if self.avg_input_density == 0.0:
            self.avg_input_density = f32(len(cols))
        else:
            self.avg_input_density = (f32(0.99) * self.avg_input_density
                                      + f32(0.01) * f32(len(cols)))
        self.update_inference_state(cols)
        if learn:
            self.update_learning_state(cols)
        self.reset_called = False
        self.anomaly = anomaly
        return anomaly

    # ------------------------------------------------------------------ inference
    def update_inference_state(self, cols: list[int]) -> None:
        self.inf_active_1 = set(self.inf_active)
        self.inf_predicted_1 = set(self.inf_predicted)
        if self.p.max_inf_backtrack > 0:
            if len(self.prev_inf_patterns) > self.p.max_inf_backtrack:
                self.prev_inf_patterns.pop(0)
            self.prev_inf_patterns.append(cols)
        if not self.infer_phase1(cols, self.reset_called):
            self.infer_backtrack(cols)
            return
        if not self.infer_phase2():
            self.infer_backtrack(cols)

    def infer_phase1(self, cols: list[int], use_start_cells: bool) -> bool:
        self.inf_active = set()
        if use_start_cells:
            for c in cols:
                self.inf_active.add(c * self.K)
            return True
        n_predicted = 0
        for c in cols:
            predicted = [cell for cell in self.column_cells(c) if cell in self.inf_predicted_1]
            if predicted:
                self.inf_active.update(predicted)
                n_predicted += 1
            else:
                self.inf_active.update(self.column_cells(c))  # burst
        return n_predicted >= 0.5 * len(cols)

    def infer_phase2(self) -> bool:
        self.inf_predicted = set()
        self.confident_columns = set()
        thr = self.p.activation_threshold
        predicted_columns = set()
        for cell, seg in self.all_segments():
            if seg.activity(self.inf_active) < thr:
                continue
            self.confident_columns.add(cell // self.K)
            if seg.activity(self.inf_active, self.conn_perm) >= thr:
                self.inf_predicted.add(cell)
                predicted_columns.add(cell // self.K)
        return len(predicted_columns) >= 0.5 * float(self.avg_input_density)

    def infer_backtrack(self, cols: list[int]) -> None:
        patterns = self.prev_inf_patterns
        n = len(patterns)
        if n <= 0:
            return
        backup_active = set(self.inf_active)
        backup_predicted_1 = set(self.inf_predicted_1)
        self.events["infer_backtrack"] += 1
        bad: list[int] = []
        candidate = None
        for start in range(n):
            in_sequence = False
            for offset in range(start, n):
                self.inf_predicted_1 = set(self.inf_predicted)
                in_sequence = self.infer_phase1(patterns[offset], offset == start)
                if not in_sequence:
                    break
                in_sequence = self.infer_phase2()
                if not in_sequence:
                    break
            if not in_sequence:
                bad.append(start)
                continue
            candidate = start  # the oldest start that locks on; its state stands
            self.events["infer_lock_on"] += 1
            break
        if candidate is None:
            self.inf_active = backup_active
            self.infer_phase2()
        for i in range(n):
            if i in bad or (candidate is not None and i <= candidate):
                patterns.pop(0)
            else:
                break
        self.inf_predicted_1 = backup_predicted_1

    # ------------------------------------------------------------------ learning
    def update_learning_state(self, cols: list[int]) -> None:
        self.lrn_predicted_1 = set(self.lrn_predicted)
        self.lrn_active_1 = set(self.lrn_active)
        if self.p.max_lrn_backtrack > 0:
            if len(self.prev_lrn_patterns) > self.p.max_lrn_backtrack:
                self.prev_lrn_patterns.pop(0)
            self.prev_lrn_patterns.append(cols)
        self.process_segment_updates(cols)
        if self.pam_counter > 0:
            self.pam_counter -= 1
        self.learned_seq_length += 1
        if not self.reset_called:
            if self.learn_phase1(cols):
                self.pam_counter = self.p.pam_length
        max_seq = self.p.max_seq_length
        if (self.reset_called or self.pam_counter == 0
                or (max_seq != 0 and self.learned_seq_length >= max_seq)):
            if self.pam_counter == 0:
                self.events["pam_expired"] += 1
            elif not self.reset_called:
                self.events["max_seq_length"] += 1
            back_steps = 0
            if not self.reset_called:
                back_steps = self.learn_backtrack()
            if self.reset_called or back_steps == 0:
                back_steps = 0
                self.lrn_active = {c * self.K for c in cols}
                self.prev_lrn_patterns = []
            self.pam_counter = self.p.pam_length
            self.learned_seq_length = back_steps
            self.segment_updates = []
        self.learn_phase2()

    def best_matching_cell(self, c: int, active: set[int], min_threshold: int
                           ) -> tuple[int | None, Segment | None]:
        """Most active segment (any permanence) of column ``c``, ``>= min_threshold``; ties to
        the later cell, then the earlier segment of the cell."""
        best_activity = min_threshold
        best_cell, best_seg = None, None
        for cell in self.column_cells(c):
            max_activity, max_seg = 0, None
            for seg in self.segments(cell):
                a = seg.activity(active)
                if a > max_activity:
                    max_activity, max_seg = a, seg
            if max_seg is not None and max_activity >= best_activity:
                best_activity, best_cell, best_seg = max_activity, cell, max_seg
        return best_cell, best_seg

    def learn_phase1(self, cols: list[int], read_only: bool = False) -> bool:
        self.lrn_active = set()
        n_unpredicted = 0
        for c in cols:
            predicted = [cell for cell in self.column_cells(c) if cell in self.lrn_predicted_1]
            if predicted:
                self.lrn_active.add(predicted[-1])
                continue
            n_unpredicted += 1
            if read_only:
                continue
            cell, seg = self.best_matching_cell(c, self.lrn_active_1, self.p.min_threshold)
            if seg is None:
                cell = self.cell_for_new_segment(c)
            assert cell is not None
            self.lrn_active.add(cell)
            update = self.segment_active_synapses(cell, seg, self.lrn_active_1)
            if update is not None:
                self.adapt_segment(update)  # applied at once
        return n_unpredicted < len(cols) // 2

    def phase2_columns(self) -> list[int]:
        """The order in which learning phase 2 visits the columns: increasing (NuPIC), or
        the port's: columns in the order their segments are first reached from the learning
        cells (in increasing order) through the forward index, keeping only columns with a
        segment of ``>= activation_threshold`` active synapses, counted at first reach of
        such a segment."""
        if self.p.phase2_order == "column":
            return list(range(self.p.num_columns))
        reached: list[Segment] = []
        seen: set[int] = set()
        for cell in sorted(self.lrn_active):
            for syn in self.out[cell]:
                if id(syn.segment) not in seen:
                    seen.add(id(syn.segment))
                    reached.append(syn.segment)
        order: list[int] = []
        for seg in reached:
            c = seg.cell // self.K
            if c not in order and seg.activity(self.lrn_active) >= self.p.activation_threshold:
                order.append(c)
        return order

    def learn_phase2(self, read_only: bool = False) -> None:
        self.lrn_predicted = set()
        for c in self.phase2_columns():
            cell, seg = self.best_matching_cell(c, self.lrn_active,
                                                self.p.activation_threshold)
            if seg is None:
                continue
            assert cell is not None
            self.lrn_predicted.add(cell)
            if read_only:
                continue
            update = self.segment_active_synapses(cell, seg, self.lrn_active)
            if update is not None:
                self.segment_updates.append(update)

    def learn_backtrack_from(self, start: int, read_only: bool) -> bool:
        patterns = self.prev_lrn_patterns
        current = len(patterns) - 1
        if not read_only:
            self.segment_updates = []
        in_sequence = True
        for offset in range(start, len(patterns)):
            self.lrn_predicted_1 = set(self.lrn_predicted)
            self.lrn_active_1 = set(self.lrn_active)
            cols = patterns[offset]
            if not read_only:
                self.process_segment_updates(cols)
            if offset == start:
                self.lrn_active = {c * self.K for c in cols}
                in_sequence = True
            else:
                in_sequence = self.learn_phase1(cols, read_only)
            if not in_sequence or offset == current:
                break
            self.learn_phase2(read_only)
        return in_sequence

    def learn_backtrack(self) -> int:
        n_prev = len(self.prev_lrn_patterns) - 1
        if n_prev <= 0:
            return 0
        self.events["learn_backtrack"] += 1
        bad: list[int] = []
        found = None
        for start in range(n_prev):
            if self.learn_backtrack_from(start, read_only=True):
                found = start
                break
            bad.append(start)
        if found is None:
            self.prev_lrn_patterns = []
            return 0
        self.events["learn_lock_on"] += 1
        self.learn_backtrack_from(found, read_only=False)
        for i in range(n_prev):
            if i in bad or i <= found:
                self.prev_lrn_patterns.pop(0)
            else:
                break
        return n_prev - found

    # ------------------------------------------------------------------ segment updates
    def segment_active_synapses(self, cell: int, seg: Segment | None, active: set[int]
                                ) -> Update | None:
        """The update of ``seg`` (None: a new segment): the sources of its synapses active in
        ``active``, then new sources drawn from ``active`` up to max_new_synapse_count."""
        sources = [] if seg is None else [s.src for s in seg.syns if s.src in active]
        n_add = self.p.max_new_synapse_count - len(sources)
        if n_add > 0:
            sources += self.choose_cells_to_learn_from(seg, n_add, active)
        if not sources:
            return None
        return Update(cell, seg, sources, self.lrn_iteration)

    def choose_cells_to_learn_from(self, seg: Segment | None, n: int, active: set[int]
                                   ) -> list[int]:
        already = set() if seg is None else {s.src for s in seg.syns}
        candidates = [c for c in sorted(active) if c not in already]
        if len(candidates) <= n:
            return candidates
        self.events["new_synapses_drawn"] += 1
        return self.rng.shuffle_prefix(candidates, n)

    def cell_for_new_segment(self, c: int) -> int:
        candidates = [cell for cell in self.column_cells(c)
                      if cell != c * self.K
                      and len(self.segments(cell)) < self.p.max_segments_per_cell]
        if candidates:
            return candidates[self.rng.rand_below(len(candidates))]
        victim, victim_dc = None, 0.0
        for cell in self.column_cells(c):
            if cell == c * self.K:
                continue
            for seg in self.segments(cell):
                dc = seg.positive_activations / max(self.lrn_iteration - seg.born + 1, 1)
                if victim is None or dc < victim_dc:
                    victim, victim_dc = seg, dc
        assert victim is not None
        self.events["segment_deleted"] += 1
        self.segment_updates = [u for u in self.segment_updates if u.segment is not victim]
        self.release_segment(victim)
        return victim.cell

    def process_segment_updates(self, cols: list[int]) -> None:
        active_columns = set(cols)
        for update in self.segment_updates:
            if self.lrn_iteration - update.time > 1:  # segUpdateValidDuration
                continue
            if update.cell // self.K in active_columns:
                self.adapt_segment(update)
            elif self.pred_dec > 0.0:
                self.punish_segment(update)
        self.segment_updates = []

    def adapt_segment(self, update: Update) -> None:
        seg = update.segment
        self.events["update_applied"] += 1
        if seg is None:
            self.events["new_segment"] += 1
            seg = self.new_segment(update.cell)
            for src in update.sources:
                self.add_synapse(seg, src)
            return
        if not seg.alive:
            return
        seg.positive_activations += 1
        sources = set(update.sources)
        reinforced = set()
        for j in range(len(seg.syns) - 1, -1, -1):
            syn = seg.syns[j]
            if syn.src in sources:
                reinforced.add(syn.src)
                syn.perm = min(f32(syn.perm + self.inc), self.pmax)
            else:
                syn.perm = f32(syn.perm - self.dec)
                if syn.perm <= 0.0:
                    self.events["synapse_removed"] += 1
                    self.remove_synapse(seg, j)
        new_sources = [s for s in update.sources if s not in reinforced]
        n_free = len(new_sources) + len(seg.syns) - self.p.max_synapses_per_segment
        if n_free > 0:
            self.events["synapses_freed"] += 1
        for _ in range(max(n_free, 0)):
            # weakest inactive synapse first, then the weakest active one
            best, best_key = -1, f32(0.0)
            for j, syn in enumerate(seg.syns):
                key = f32(syn.perm + self.pmax) if syn.src in reinforced else syn.perm
                if best < 0 or key < best_key:
                    best, best_key = j, key
            reinforced.discard(seg.syns[best].src)
            self.remove_synapse(seg, best)
        for src in new_sources:
            self.add_synapse(seg, src)
        if not seg.syns:
            self.release_segment(seg)

    def punish_segment(self, update: Update) -> None:
        seg = update.segment
        if seg is None or not seg.alive:
            return
        sources = set(update.sources)
        for j in range(len(seg.syns) - 1, -1, -1):
            syn = seg.syns[j]
            if syn.src in sources:
                syn.perm = f32(syn.perm - self.pred_dec)
                if syn.perm <= 0.0:
                    self.remove_synapse(seg, j)
        if not seg.syns:
            self.release_segment(seg)
