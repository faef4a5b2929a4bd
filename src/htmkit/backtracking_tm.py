"""Backtracking Temporal Memory: the sequence memory of Numenta's older NuPIC (``TP``,
``BacktrackingTM`` / ``BacktrackingTMCPP``), which their NAB entry used (its published score
is in benchmarks/results/published.json).

It differs from the BAMI Temporal Memory (:mod:`htmkit.temporal_memory`) in keeping two
separate cell states:

* an **inference** state (``infActiveState`` / ``infPredictedState``): every predicted cell of
  an active column becomes active, unpredicted columns burst (all cells);
* a **learning** state (``lrnActiveState`` / ``lrnPredictedState``) with exactly one learning
  cell per active column, on which all segments are grown.

One step (:meth:`BacktrackingTemporalMemory.compute`), in the order of NuPIC's C++ ``Cells4``:

1. **Raw anomaly**: the fraction of active columns that had no confidence at t-1, i.e. no
   cell with a segment of ``>= activation_threshold`` active synapses of any permanence in the
   inference state. This is NuPIC's TM-region anomaly (``topDownCompute().nonzero()``).
2. **Inference**, ``infer_phase1``: predicted cells of the active columns become active, the
   other active columns burst; in sequence when at least half of the columns were predicted.
   ``infer_phase2``: a cell is predicted by a segment with ``>= activation_threshold`` active
   *connected* synapses; in sequence when the predicted columns number at least half the
   average input density. When either phase is out of sequence, **inference backtracking**
   replays the last ``max_inf_backtrack`` inputs from *start cells* (cell 0 of each column),
   oldest start first, and keeps the first start that stays in sequence up to the current
   input; if none does, the bursting state stands.
3. **Learning** (when ``learn``): queued segment updates of cells whose column is now active
   are applied (positive reinforcement: ``+permanence_increment`` on the synapses to the
   cells that were learning when the update was queued, ``-permanence_decrement`` on the
   others, new synapses at ``initial_permanence``); the other queued updates are dropped
   (NuPIC applies no negative reinforcement; ``predicted_segment_decrement`` > 0 adds it).
   ``learn_phase1``: in each active column the cell predicted by the learning state becomes
   the learning cell; otherwise the cell of the best matching segment (``>= min_threshold``
   active synapses of any permanence to the learning cells of t-1) learns at once, or a new
   segment with ``max_new_synapse_count`` synapses to a random sample of those cells grows on
   a random non-start cell of the column (below ``max_segments_per_cell``). In sequence when
   fewer than half the columns were unpredicted; that restarts the **pay-attention counter**
   (``pam_length``). When the counter runs out, or ``max_seq_length`` inputs were learned in a
   row, **learning backtracking** looks for the oldest start in the last
   ``max_lrn_backtrack`` inputs whose replay from start cells stays in sequence up to now and
   replays it, learning; without one, learning starts over on the start cells of the current
   input. ``learn_phase2``: in each column at most one cell is learn-predicted, the one with
   the best segment (``>= activation_threshold`` active synapses to the learning cells); its
   update is queued for the next step.

Capacity: a segment holds at most ``max_synapses_per_segment`` synapses (the weakest inactive
ones are freed first); a column whose non-start cells all hold ``max_segments_per_cell``
segments loses its segment of lowest duty cycle. Storage grows with what is held: segment
slots by a quarter at a time, the forward index with the synapses held, each cell's segment
list with its own segments (see :mod:`htmkit.kernels.backtracking_tm`). The whole TM's
segments are bounded by ``max_segments`` (an extension): past it, segments that can never
match again and then the least recently used ones are destroyed. Global decay
(``globalDecay`` / ``maxAge``) is not implemented: NuPIC requires both to be 0 in this
fixed-size mode, as in NAB.

Where NuPIC's Python ``BacktrackingTM`` and its C++ ``Cells4`` differ, this follows ``Cells4``
(``temporalImp: cpp``, what NAB ran): e.g. the best-matching searches break ties as ``Cells4``
does. In both, the cell of a new segment is random among the non-start cells below the
segment limit, not the one with the fewest segments (which would make contexts share cells).

Deviations from NuPIC: synapses are kept unordered (NuPIC sorts them by presynaptic cell, which
only matters for ties when freeing synapses of equal permanence); the duty cycle used to pick
a segment to delete is positive activations per learning step since the segment's creation
(NuPIC: a tiered moving average); random choices come from htmkit's kernel RNG; there is no
pooling (``doPooling``), no column/cell confidence values (only whether they are non-zero)
and no ``outputType`` variants.

Hot loops are numba kernels in :mod:`htmkit.kernels.backtracking_tm`; see there for storage.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import FormatError, InputError, InputTypeError, ParameterError
from .kernels import backtracking_tm as K
from .kernels import rng as krng
from .params import (
    NUPIC_BACKTRACKING_TM,
    NUPIC_TM,
    Constraints,
    Interval,
    Options,
    Shape,
    check_memory,
    params_from_dict,
    params_to_dict,
    validate,
)
from .sdr import SDR
from .serialization import Persistable, state_array, state_dict, state_int

__all__ = ["BacktrackingTemporalMemoryParams", "BacktrackingTemporalMemory", "NAB_PARAMS"]

#: Values of ``anomaly_mode``.
ANOMALY_MODES = ("confidence", "predicted")

#: TM parameters of Numenta's NAB entry with the backtracking TM (``temporalImp: cpp``):
#: :data:`htmkit.params.NUPIC_TM` and :data:`htmkit.params.NUPIC_BACKTRACKING_TM`, which are
#: also the defaults of :class:`BacktrackingTemporalMemoryParams`.
NAB_PARAMS: dict[str, Any] = {**NUPIC_TM, **NUPIC_BACKTRACKING_TM}
_NAB = NAB_PARAMS

#: Default of :attr:`BacktrackingTemporalMemoryParams.max_segments` (see
#: docs/experiments/detector-memory.md for how it was chosen).
DEFAULT_MAX_SEGMENTS = 65_536


@dataclass(frozen=True)
class BacktrackingTemporalMemoryParams:
    """Validated parameters of :class:`BacktrackingTemporalMemory` (NuPIC's names in brackets).

    Attributes
    ----------
    column_dimensions : tuple of int
        Shape of the column space.
    cells_per_column : int
        Cells per column (>= 2: cell 0 is the column's start cell) [cellsPerColumn].
    activation_threshold : int
        Active synapses for a segment to predict [activationThreshold].
    min_threshold : int
        Active synapses (any permanence) for a best matching segment [minThreshold].
    max_new_synapse_count : int
        Synapses a learning segment is brought up to / a new segment gets [newSynapseCount].
    initial_permanence, connected_permanence : float
        [initialPerm, connectedPerm].
    permanence_increment, permanence_decrement, permanence_max : float
        [permanenceInc, permanenceDec, permanenceMax].
    predicted_segment_decrement : float
        Extension, 0 in NuPIC: a queued (learn-predicted) segment whose cell's column does not
        become active loses this on the synapses that predicted it.
    max_segments_per_cell, max_synapses_per_segment : int
        Fixed-size limits [maxSegmentsPerCell, maxSynapsesPerSegment].
    pam_length : int
        Pay-attention mode: out-of-sequence steps before learning starts over [pamLength].
    max_inf_backtrack, max_lrn_backtrack : int
        Inputs kept for inference / learning backtracking [maxInfBacktrack, maxLrnBacktrack].
    max_seq_length : int
        Learning starts over after this many inputs in a row (0: never) [maxSeqLength].
    anomaly_mode : str
        What :attr:`BacktrackingTemporalMemory.anomaly` counts as predicted: ``"confidence"``
        (NuPIC's TM-region anomaly: columns of non-zero confidence, i.e. a segment with
        ``>= activation_threshold`` active synapses of any permanence) or ``"predicted"``
        (columns holding a cell predicted with connected synapses).
    seed : int
        Seed of the kernel RNG.
    max_segments : int
        Extension (NuPIC has none): the budget of segments of the whole TM, 0 for none.
        Before a learning step that could take the count above it, segments are destroyed
        (:meth:`BacktrackingTemporalMemory.trim`): first those with fewer than
        ``min_threshold`` synapses (they can never match again), then the least recently
        used (created or reinforced longest ago), down to a 64th of the budget below the
        room one step needs, so that cost and memory level off on an endless stream. The
        count never exceeds the budget when it is at least ``(max_lrn_backtrack + 2)`` times
        the largest number of active columns. The default is above what any NAB series
        reaches, so NAB scores are those of an unbounded TM.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "column_dimensions": Shape(),
        "cells_per_column": Interval(int, 2),
        **{name: Interval(int, 1) for name in (
            "activation_threshold", "min_threshold", "max_new_synapse_count",
            "max_segments_per_cell", "max_synapses_per_segment", "pam_length")},
        **{name: Interval(int, 0) for name in (
            "max_inf_backtrack", "max_lrn_backtrack", "max_seq_length", "seed",
            "max_segments")},
        "initial_permanence": Interval(float, 0.0, 1.0, closed="right"),
        "permanence_max": Interval(float, 0.0, 1.0, closed="right"),
        **{name: Interval(float, 0.0, 1.0) for name in (
            "connected_permanence", "permanence_increment", "permanence_decrement",
            "predicted_segment_decrement")},
        "anomaly_mode": Options(ANOMALY_MODES),
    }

    column_dimensions: tuple[int, ...] = (2048,)
    cells_per_column: int = _NAB["cells_per_column"]
    activation_threshold: int = _NAB["activation_threshold"]
    min_threshold: int = _NAB["min_threshold"]
    max_new_synapse_count: int = _NAB["max_new_synapse_count"]
    initial_permanence: float = _NAB["initial_permanence"]
    connected_permanence: float = _NAB["connected_permanence"]
    permanence_increment: float = _NAB["permanence_increment"]
    permanence_decrement: float = _NAB["permanence_decrement"]
    permanence_max: float = 1.0
    predicted_segment_decrement: float = _NAB["predicted_segment_decrement"]
    max_segments_per_cell: int = _NAB["max_segments_per_cell"]
    max_synapses_per_segment: int = _NAB["max_synapses_per_segment"]
    pam_length: int = _NAB["pam_length"]
    max_inf_backtrack: int = _NAB["max_inf_backtrack"]
    max_lrn_backtrack: int = _NAB["max_lrn_backtrack"]
    max_seq_length: int = _NAB["max_seq_length"]
    anomaly_mode: str = "confidence"
    seed: int = 42
    max_segments: int = DEFAULT_MAX_SEGMENTS

    def __post_init__(self) -> None:
        validate(self)
        if self.max_new_synapse_count > self.max_synapses_per_segment:
            raise ParameterError(
                f"max_new_synapse_count ({self.max_new_synapse_count}) must be <= "
                f"max_synapses_per_segment ({self.max_synapses_per_segment})")
        if self.initial_permanence > self.permanence_max:
            raise ParameterError(
                f"initial_permanence ({self.initial_permanence}) must be <= permanence_max "
                f"({self.permanence_max})")
        if self.num_cells >= 2**31:
            raise ParameterError(
                f"column_dimensions * cells_per_column must be < 2**31, got {self.num_cells}")
        check_memory("column_dimensions, cells_per_column and max_synapses_per_segment",
                     f"{self.column_dimensions} x {self.cells_per_column} x "
                     f"{self.max_synapses_per_segment}", self.estimated_bytes())

    def estimated_bytes(self) -> float:
        """Bytes a new :class:`BacktrackingTemporalMemory` of these parameters allocates
        (computed without allocating): the first 1024 segments with their synapse slots
        (source, permanence, forward position) and scratch; per cell the forward index
        (start, two lengths, its pool share), the segment slot list (start, capacity), the
        segment count, the cell states, the candidate and mark buffers; per column the lists,
        states, backtracking histories, the update queue with its sources and the scratch.
        The forward-index pool and the segment slots then grow with what is held."""
        cap, m = 1024.0, float(self.max_synapses_per_segment)
        cells, cols = float(self.num_cells), float(self.num_columns)
        segments = cap * (3 * 4 + 3 * 8 + 4 + 2 * 4 + 4) + cap * m * (4 + 4 + 4)
        per_cell = 8 + 2 * 4 + 4 * 4 + 2 * 4 + 4 + K.N_CST + 1 + 4
        history = (self.max_inf_backtrack + 1 + self.max_lrn_backtrack + 1) * 4
        per_column = 2 * 4 + 4 + history + 4 * 8 + m * 4 + 3 * 4
        return segments + cells * per_cell + cols * per_column

    @property
    def num_columns(self) -> int:
        return int(np.prod(self.column_dimensions))

    @property
    def num_cells(self) -> int:
        return self.num_columns * self.cells_per_column


#: what each failure code of :func:`htmkit.kernels.backtracking_tm.validate_state` means
_BTM_RULES = {
    1: ("free", "a free-list entry is out of range or repeated"),
    2: ("seg_i32", "a segment's cell or synapse count is out of range"),
    3: ("seg_i32/free", "the free list does not match the free segments"),
    4: ("cell_segs/cell_nseg", "a cell's segment slots do not match its segments"),
    5: ("syn_src", "a presynaptic cell is out of range"),
    6: ("syn_perm", "a permanence is out of range"),
    7: ("pos_out", "a synapse is missing from the forward index"),
    8: ("meta", "a synapse, segment or slot count does not match the segments"),
    9: ("out_start/out_len", "a forward-index list is out of range or over capacity"),
    10: ("out_pool", "a forward-index entry does not point back to its synapse"),
    11: ("out_start/out_len", "forward-index lists overlap"),
    12: ("cs_start/cs_cap", "a cell's segment slots are out of range or overlap"),
}
_SEG_FIELDS = ("seg_i32", "seg_i64", "syn_src", "syn_perm", "pos_out", "free", "out_pool",
               "cell_segs")


class BacktrackingTemporalMemory(Persistable):
    """NuPIC's backtracking Temporal Memory (see the module docstring).

    Parameters
    ----------
    params : BacktrackingTemporalMemoryParams, optional
        The parameters; or pass them as keyword arguments instead.

    Cells are numbered ``column * cells_per_column + i``; cell 0 of a column is its start cell.

    Examples
    --------
    >>> tm = BacktrackingTemporalMemory(column_dimensions=64, cells_per_column=4,
    ...                                 activation_threshold=3, min_threshold=2,
    ...                                 max_new_synapse_count=4, max_synapses_per_segment=8)
    >>> tm.compute(SDR(64, [1, 2, 3, 4])).num_active
    16
    >>> tm.anomaly
    1.0
    """

    def __init__(self, params: BacktrackingTemporalMemoryParams | None = None, **kwargs: Any):
        if params is None:
            fields = {f.name for f in dataclasses.fields(BacktrackingTemporalMemoryParams)}
            unknown = sorted(set(kwargs) - fields)
            if unknown:
                raise ParameterError(
                    f"unknown BacktrackingTemporalMemory parameter(s): {unknown}")
            params = BacktrackingTemporalMemoryParams(**kwargs)
        elif kwargs:
            raise ParameterError("params: pass either a BacktrackingTemporalMemoryParams or "
                                 "keyword arguments, not both")
        elif not isinstance(params, BacktrackingTemporalMemoryParams):
            raise ParameterError("params must be a BacktrackingTemporalMemoryParams, got "
                                 f"{type(params).__name__}")
        p = params
        self._setup(p)
        n_cells, n_cols, m = p.num_cells, p.num_columns, p.max_synapses_per_segment
        cap = 1024
        a: dict[str, np.ndarray] = {
            **_segment_arrays({}, cap, m),
            "out_start": np.zeros(n_cells, dtype=np.int64),
            "out_len": np.zeros((2, n_cells), dtype=np.int32),
            "out_pool": np.zeros(0, dtype=np.int32),
            "cell_segs": np.full(0, -1, dtype=np.int32),
            "cs_start": np.zeros(n_cells, dtype=np.int32),
            "cs_cap": np.zeros(n_cells, dtype=np.int32),
            "cell_nseg": np.zeros(n_cells, dtype=np.int32),
            "cst": np.zeros((K.N_CST, n_cells), dtype=np.uint8),
            "lists": np.zeros((2, n_cols), dtype=np.int32),
            "colst": np.zeros((4, n_cols), dtype=np.uint8),
            "inf_hist": np.zeros((p.max_inf_backtrack + 1, n_cols), dtype=np.int32),
            "inf_hlen": np.zeros(p.max_inf_backtrack + 1, dtype=np.int32),
            "lrn_hist": np.zeros((p.max_lrn_backtrack + 1, n_cols), dtype=np.int32),
            "lrn_hlen": np.zeros(p.max_lrn_backtrack + 1, dtype=np.int32),
            "upd": np.zeros((4, n_cols + 1), dtype=np.int64),
            "upd_src": np.zeros((n_cols + 1, m), dtype=np.int32),
            "meta": np.zeros(K.N_META, dtype=np.int64),
            "fmeta": np.zeros(K.N_FMETA, dtype=np.float64),
            "rng": krng.make_state(p.seed),
        }
        a["meta"][K.M_PAM] = p.pam_length
        self._a = a
        self._max_pattern = 0
        a["out_pool"] = np.zeros(self._pool_need(), dtype=np.int32)
        self._finish()

    # ------------------------------------------------------------------ setup
    def _setup(self, p: BacktrackingTemporalMemoryParams) -> None:
        self._params = p
        self._ip = np.array([p.num_columns, p.cells_per_column, p.activation_threshold,
                             p.min_threshold, p.max_new_synapse_count, p.max_segments_per_cell,
                             p.max_synapses_per_segment, p.pam_length, p.max_inf_backtrack,
                             p.max_lrn_backtrack, p.max_seq_length], dtype=np.int64)
        self._fp = np.array([p.initial_permanence, p.connected_permanence,
                             p.permanence_increment, p.permanence_decrement, p.permanence_max,
                             p.predicted_segment_decrement], dtype=np.float64)
        self._cells_shape = (p.num_cells,)

    def _pool_need(self) -> int:
        """Forward-index pool entries that let one learning step run without growing the pool:
        the in-place compaction of :func:`~htmkit.kernels.backtracking_tm._compact_pool`
        leaves at most ``3 * synapses // 2 + 4 * cells`` entries, and the list being appended to
        then moves to the end with room for twice its length. One step adds at most
        ``(max_lrn_backtrack + 2) * 2 * max_pattern * max_new_synapse_count`` synapses (per
        learning phase, each active column applies at most one queued update and one
        immediate one), which bounds both the synapse count and the longest list."""
        p = self._params
        a = self._a
        add = (p.max_lrn_backtrack + 2) * 2 * self._max_pattern * p.max_new_synapse_count
        nsyn = int(a["meta"][K.M_NSYN])
        longest = int(a["out_len"][0].max()) if a["out_len"].shape[1] else 0
        return (3 * (nsyn + add)) // 2 + 4 * p.num_cells + 2 * (longest + add) + 16

    def _finish(self) -> None:
        """(Re)build the scratch arrays sized by the segment pool and the state tuple."""
        a = self._a
        cap = a["seg_i32"].shape[1]
        n_cells, n_cols = self._params.num_cells, self._params.num_columns
        self._seg_act = np.zeros((cap, 2), dtype=np.int32)
        self._touched = np.zeros(cap, dtype=np.int32)
        if not hasattr(self, "_mark"):
            self._mark = np.zeros(n_cells, dtype=np.uint8)
            self._cand = np.zeros(max(n_cells, 1), dtype=np.int32)
            self._coltmp = np.zeros((3, n_cols), dtype=np.int32)
            self._coltmp[K.CT_BEST_SEG] = -1
        self._st = (a["seg_i32"], a["seg_i64"], a["syn_src"], a["syn_perm"], a["pos_out"],
                    a["free"], self._seg_act, self._touched, a["out_start"], a["cell_segs"],
                    a["cell_nseg"], a["cst"], a["lists"], a["colst"], self._coltmp,
                    a["inf_hist"], a["inf_hlen"], a["lrn_hist"], a["lrn_hlen"], a["upd"],
                    a["upd_src"], self._mark, self._cand, a["meta"], a["fmeta"], a["rng"],
                    a["out_len"], a["out_pool"], a["cs_start"], a["cs_cap"])

    def _ensure_room(self, n_active: int) -> None:
        """Grow the segment pool and the per-cell segment lists so that one step, which adds
        at most one segment per active column in each of its (max_lrn_backtrack + 1) learning
        phases, cannot run out."""
        p = self._params
        a = self._a
        meta = a["meta"]
        self._max_pattern = max(self._max_pattern, n_active)
        per_step = p.max_lrn_backtrack + 2
        need = per_step * self._max_pattern
        if p.max_segments and int(meta[K.M_NSEG]) > p.max_segments - need:
            self.trim(max(0, p.max_segments - need - p.max_segments // 64))
        cap = a["seg_i32"].shape[1]
        free = cap - int(meta[K.M_USED]) + int(meta[K.M_NFREE])
        grown = False
        if free < need:
            # a quarter more each time: reserved segment slots stay within a quarter of those used
            new_cap = max(cap + cap // 4, int(meta[K.M_USED]) + need + 1024)
            a.update(_segment_arrays(a, new_cap, p.max_synapses_per_segment))
            grown = True
        pool_need = self._pool_need()
        if a["out_pool"].shape[0] < pool_need:
            # the pool is sized by the synapses held (not by the reserved slots), with a
            # quarter to spare so that compactions stay rare
            old_pool = a["out_pool"]
            pool = np.zeros(pool_need + pool_need // 4, dtype=np.int32)
            pool[: old_pool.shape[0]] = old_pool
            a["out_pool"] = pool
            grown = True
        # the cells' segment slots: holes left by moved slots are closed when they outgrow
        # the slots in use (a function of the state alone), and room is kept for a step's
        # new segments each moving its cell's slots to the end with up to
        # max_segments_per_cell of room
        held = int(a["cs_cap"].sum())
        if int(meta[K.M_CS_END]) - held > max(held, 4096):
            K.compact_cell_slots(a["cell_segs"], a["cs_start"], a["cs_cap"], meta)
        room = int(meta[K.M_CS_END]) + need * p.max_segments_per_cell
        if a["cell_segs"].shape[0] < room:
            if room >= 2**31:
                raise ParameterError("max_segments_per_cell: the cells' segment slots would "
                                     "outgrow int32 indices")
            cs = np.full(room + room // 4, -1, dtype=np.int32)
            cs[: a["cell_segs"].shape[0]] = a["cell_segs"]
            a["cell_segs"] = cs
            grown = True
        if grown:
            self._finish()

    # ------------------------------------------------------------------ properties
    @property
    def params(self) -> BacktrackingTemporalMemoryParams:
        return self._params

    @property
    def num_columns(self) -> int:
        return self._params.num_columns

    @property
    def num_cells(self) -> int:
        return self._params.num_cells

    def _cells(self, row: int) -> SDR:
        return SDR._trusted(self._cells_shape, np.flatnonzero(self._a["cst"][row]))

    @property
    def active_cells(self) -> SDR:
        """Active cells of the inference state (predicted cells, bursts or start cells)."""
        return self._cells(K.INF_ACT)

    @property
    def predictive_cells(self) -> SDR:
        """Cells predicted by the inference state for the next step (a segment with
        ``>= activation_threshold`` active connected synapses)."""
        return self._cells(K.INF_PRED)

    @property
    def learn_active_cells(self) -> SDR:
        """Learning cells of the last step (at most one per active column)."""
        return self._cells(K.LRN_ACT)

    @property
    def learn_predicted_cells(self) -> SDR:
        """Cells predicted by the learning state (at most one per column)."""
        return self._cells(K.LRN_PRED)

    @property
    def predicted_columns(self) -> SDR:
        """Columns with non-zero confidence for the next step: a cell with a segment of
        ``>= activation_threshold`` active synapses of any permanence. The next step's
        :attr:`anomaly` is the fraction of its active columns not in here."""
        return SDR._trusted((self.num_columns,),
                            np.flatnonzero(self._a["colst"][K.COL_CONF]))

    @property
    def anomaly(self) -> float:
        """Raw anomaly of the last step (zero when no column was active): with
        ``anomaly_mode="confidence"`` (NuPIC's), the fraction of its active columns that were
        not in the :attr:`predicted_columns` of the step before; with ``"predicted"``,
        :attr:`anomaly_predicted`."""
        if self._params.anomaly_mode == "predicted":
            return self.anomaly_predicted
        return float(self._a["fmeta"][K.F_ANOMALY])

    @property
    def anomaly_predicted(self) -> float:
        """Fraction of the last step's active columns without a cell in the
        :attr:`predictive_cells` of the step before (connected synapses only)."""
        return float(self._a["fmeta"][K.F_ANOMALY_PRED])

    @property
    def iteration(self) -> int:
        """Learning steps so far."""
        return int(self._a["meta"][K.M_LRN_ITER])

    def num_segments(self) -> int:
        return int(self._a["meta"][K.M_NSEG])

    def trim(self, target: int) -> int:
        """Destroy segments until at most ``target`` remain: those with fewer than
        ``min_threshold`` synapses first, then the least recently used (created or
        reinforced longest ago; ties: the lower segment id). Queued updates of destroyed
        segments are dropped. Returns how many were destroyed. Learning calls this when
        ``max_segments`` is reached."""
        if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or target < 0:
            raise ParameterError(f"target must be an int >= 0, got {target!r}")
        return int(K.trim_segments(self._st, self._ip, int(target)))

    def num_synapses(self) -> int:
        return int(self._a["meta"][K.M_NSYN])

    def inference_static(self) -> list[Any]:
        """The learned state that :meth:`compute` with ``learn=False`` reads but never writes
        (the segments, their synapses and the indexes over them): a copy made for one
        inference step (``copy.deepcopy(tm, memo)`` with these in ``memo``) may share them with
        this TM instead of copying them."""
        a = self._a
        return [a[k] for k in (*_SEG_FIELDS, "out_start", "out_len", "cs_start", "cs_cap",
                               "cell_nseg")]

    # ------------------------------------------------------------------ algorithm
    def compute(self, active_columns: SDR, learn: bool = True) -> SDR:
        """Run one step: raw anomaly, inference (with backtracking), and learning when
        ``learn``. Returns the active cells of the inference state (:attr:`active_cells`).

        Raises
        ------
        InputError
            If ``active_columns`` is not an SDR or has the wrong size.
        """
        if not isinstance(active_columns, SDR):
            raise InputTypeError(
                f"active_columns must be an SDR, got {type(active_columns).__name__}")
        if active_columns._size != self.num_columns:
            raise InputError(f"active_columns must have size {self.num_columns}, got an SDR "
                             f"of size {active_columns._size}")
        cols = np.asarray(active_columns._indices, dtype=np.int32)
        learn = bool(learn)
        if learn:
            self._ensure_room(cols.shape[0])
        K.btm_compute(self._st, self._ip, self._fp, cols, learn)
        return self.active_cells

    def reset(self) -> None:
        """Start a new sequence: clear all cell states, queued updates and input histories;
        the next input starts on start cells."""
        K.btm_reset(self._st)

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        a = self._a
        used = int(a["meta"][K.M_USED])
        nfree = int(a["meta"][K.M_NFREE])
        m = self._params.max_synapses_per_segment
        arrays = {k: v.copy() for k, v in a.items() if k not in _SEG_FIELDS}
        arrays.update(
            seg_i32=a["seg_i32"][:, :used].copy(), seg_i64=a["seg_i64"][:, :used].copy(),
            syn_src=a["syn_src"][: used * m].copy(), syn_perm=a["syn_perm"][: used * m].copy(),
            pos_out=a["pos_out"][: used * m].copy(), free=a["free"][:nfree].copy(),
            out_pool=a["out_pool"][: int(a["meta"][K.M_POOL_END])].copy(),
            cell_segs=a["cell_segs"][: int(a["meta"][K.M_CS_END])].copy())
        return {"params": params_to_dict(self._params), "arrays": arrays,
                "max_pattern": self._max_pattern, "pool_size": int(a["out_pool"].shape[0])}

    #: 2: the cells' segment slots are variable-length lists in one array (``cell_segs``,
    #: ``cs_start``, ``cs_cap``, end in ``meta``); 1: a cells x widest-cell table.
    STATE_VERSION = 2

    @classmethod
    def _upgrade_state(cls, state: dict[str, Any], from_version: int) -> dict[str, Any]:
        if from_version != 1:
            return super()._upgrade_state(state, from_version)
        where = "BacktrackingTemporalMemory"
        saved = state_dict(state, "arrays", where)
        table = saved.get("cell_segs")
        meta = saved.get("meta")
        if (not isinstance(table, np.ndarray) or table.ndim != 2
                or table.dtype.kind not in "iu"):
            raise FormatError(f"{where}: array 'cell_segs' has the wrong shape")
        if not isinstance(meta, np.ndarray) or meta.shape != (K.N_META - 1,):
            raise FormatError(f"{where}: array 'meta' has the wrong shape")
        if table.size and int(table.min()) < -1:
            raise FormatError(f"{where}: array 'cell_segs' holds {int(table.min())} "
                              "(an empty slot is -1)")
        # each cell keeps its slots up to its last segment (slot numbers unchanged)
        held = table >= 0
        width = table.shape[1]
        last = np.where(held.any(axis=1), width - np.argmax(held[:, ::-1], axis=1), 0)
        caps = last.astype(np.int32)
        keep = np.arange(width)[None, :] < caps[:, None]
        starts = (np.cumsum(caps, dtype=np.int64) - caps).astype(np.int32)
        arrays = dict(saved)
        arrays["cell_segs"] = np.ascontiguousarray(table[keep], dtype=np.int32)
        arrays["cs_start"] = np.where(caps > 0, starts, 0).astype(np.int32)
        arrays["cs_cap"] = caps
        arrays["meta"] = np.concatenate([meta, np.array([int(caps.sum())], dtype=meta.dtype)])
        return {**state, "arrays": arrays}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BacktrackingTemporalMemory:
        where = "BacktrackingTemporalMemory"
        params = params_from_dict(BacktrackingTemporalMemoryParams, state["params"])
        p = params
        saved = state_dict(state, "arrays", where)
        # every saved array's shape is checked against the parameters before anything is
        # allocated from the parameters (the arrays are bounded by the file's size)
        n_cells, n_cols, m = p.num_cells, p.num_columns, p.max_synapses_per_segment
        meta = state_array(saved, "meta", np.int64, where, shape=(K.N_META,), lo=0)
        used, nfree = int(meta[K.M_USED]), int(meta[K.M_NFREE])
        if nfree > used:
            raise FormatError(f"{where}: array 'meta': more free segments than used ones")
        shapes: dict[str, tuple[int, ...]] = {
            "seg_i32": (3, used), "seg_i64": (3, used), "syn_src": (used * m,),
            "syn_perm": (used * m,), "pos_out": (used * m,), "free": (nfree,),
            "out_pool": (int(meta[K.M_POOL_END]),), "cell_segs": (int(meta[K.M_CS_END]),),
            "cs_start": (n_cells,), "cs_cap": (n_cells,),
            "out_start": (n_cells,), "out_len": (2, n_cells), "cell_nseg": (n_cells,),
            "cst": (K.N_CST, n_cells), "lists": (2, n_cols), "colst": (4, n_cols),
            "inf_hist": (p.max_inf_backtrack + 1, n_cols),
            "inf_hlen": (p.max_inf_backtrack + 1,),
            "lrn_hist": (p.max_lrn_backtrack + 1, n_cols),
            "lrn_hlen": (p.max_lrn_backtrack + 1,), "upd": (4, n_cols + 1),
            "upd_src": (n_cols + 1, m), "fmeta": (K.N_FMETA,), "rng": (1,),
        }
        for key, shape in shapes.items():
            got = saved.get(key)
            if not isinstance(got, np.ndarray):
                raise FormatError(f"{where}: array {key!r} is missing")
            if got.shape != shape:
                raise FormatError(f"{where}: array {key!r} has shape {got.shape}, expected "
                                  f"{shape}")
        max_segs = p.max_segments_per_cell
        arrs = {"meta": meta}
        i32 = np.int32
        for key, dtype, lo, hi in (
                ("seg_i32", i32, -1, None), ("seg_i64", np.int64, None, None),
                ("syn_src", i32, None, None), ("syn_perm", np.float32, None, None),
                ("pos_out", i32, 0, None), ("free", i32, 0, used - 1),
                ("out_pool", i32, None, None), ("out_start", np.int64, 0, None),
                ("out_len", i32, 0, None), ("cell_segs", i32, -1, used - 1),
                ("cs_start", i32, 0, None), ("cs_cap", i32, 0, max_segs),
                ("cell_nseg", i32, 0, max_segs), ("cst", np.uint8, None, None),
                ("lists", i32, 0, n_cells - 1), ("colst", np.uint8, None, None),
                ("inf_hist", i32, 0, n_cols - 1), ("inf_hlen", i32, 0, n_cols),
                ("lrn_hist", i32, 0, n_cols - 1), ("lrn_hlen", i32, 0, n_cols),
                ("upd", np.int64, -1, None), ("upd_src", i32, 0, n_cells - 1),
                ("fmeta", np.float64, None, None), ("rng", np.uint64, None, None)):
            arrs[key] = state_array(saved, key, dtype, where, lo=lo, hi=hi)
        # counters that size or bound the kernels' loops
        for idx, hi, what in ((K.M_NUPD, n_cols + 1, "queued updates"),
                              (K.M_INF_NH, p.max_inf_backtrack + 1, "inference history"),
                              (K.M_LRN_NH, p.max_lrn_backtrack + 1, "learning history"),
                              (K.M_NLRN, n_cols, "learning cells"),
                              (K.M_NLRN1, n_cols, "learning cells"),
                              (K.M_MAX_SLOT, max_segs - 1, "segment slots")):
            if meta[idx] > hi:
                raise FormatError(f"{where}: array 'meta': count of {what} "
                                  f"{int(meta[idx])} is above {hi}")
        upd = arrs["upd"]
        nupd = int(meta[K.M_NUPD])
        if nupd and (upd[K.U_CELL, :nupd].max() >= n_cells or upd[K.U_CELL, :nupd].min() < 0
                     or upd[K.U_SEG, :nupd].max() >= used or upd[K.U_N, :nupd].max() > m
                     or upd[K.U_N, :nupd].min() < 0):
            raise FormatError(f"{where}: array 'upd' holds an update out of range")
        code, index = K.validate_state(
            arrs["seg_i32"], arrs["syn_src"], arrs["syn_perm"], arrs["pos_out"], arrs["free"],
            arrs["out_start"], arrs["out_len"], arrs["out_pool"], arrs["cell_segs"],
            arrs["cs_start"], arrs["cs_cap"], arrs["cell_nseg"], meta, m, n_cells,
            max(1.0, float(p.permanence_max)), max_segs)
        if code:
            field, what = _BTM_RULES[int(code)]
            raise FormatError(f"{where}: {field}: {what} (at entry {int(index)})")
        max_pattern = state_int(state, "max_pattern", where, lo=0, hi=n_cols) if (
            "max_pattern" in state) else 0
        obj = cls(params)
        a = obj._a
        cap = max(1024, used + used // 4)
        for key in a:
            if key not in _SEG_FIELDS:
                a[key] = arrs[key]
        saved_pool = arrs["out_pool"]
        a.update(_segment_arrays(arrs, cap, m), out_pool=saved_pool,
                 cell_segs=arrs["cell_segs"].copy())
        obj._max_pattern = max_pattern
        need = obj._pool_need()
        # the pool's size decides when it is compacted, which moves forward-index entries:
        # a state restores its size so that a loaded TM's arrays stay identical to the
        # original's (files without it get the size a growing pool would have)
        size = state_int(state, "pool_size", where, lo=0, hi=2**31 - 1) if (
            "pool_size" in state) else need + need // 4
        size = min(size, 4 * need + saved_pool.shape[0])  # bounded by the state's contents
        pool = np.zeros(max(size, need, saved_pool.shape[0]), dtype=np.int32)
        pool[: saved_pool.shape[0]] = saved_pool
        a["out_pool"] = pool
        obj._finish()
        return obj

    def __repr__(self) -> str:
        p = self._params
        return (f"BacktrackingTemporalMemory(columns={p.column_dimensions}, cells_per_column="
                f"{p.cells_per_column}, segments={self.num_segments()}, "
                f"synapses={self.num_synapses()})")


def _segment_arrays(src: dict[str, Any], cap: int, m: int) -> dict[str, np.ndarray]:
    """Segment and synapse arrays for ``cap`` segments of ``m`` synapse slots, holding
    ``src``'s arrays (full-size or trimmed to the used segments; none for a new TM) as their
    first entries; the other segments are empty."""
    out: dict[str, np.ndarray] = {
        "seg_i32": np.full((3, cap), -1, dtype=np.int32),
        "seg_i64": np.zeros((3, cap), dtype=np.int64),
        "syn_src": np.zeros(cap * m, dtype=np.int32),
        "syn_perm": np.zeros(cap * m, dtype=np.float32),
        "pos_out": np.zeros(cap * m, dtype=np.int32),
        "free": np.zeros(cap, dtype=np.int32),
    }
    out["seg_i32"][K.SEG_N] = 0
    for key, arr in out.items():
        if key in src:
            given = np.asarray(src[key])
            arr[..., : given.shape[-1]] = given
    return out
