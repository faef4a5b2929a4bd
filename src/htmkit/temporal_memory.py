"""Temporal Memory: sequence learning in the cells of the columns (BAMI).

This follows Numenta's BAMI chapter "Temporal Memory Algorithm Details". Each step, given the
active columns:

* ``activate_predicted_column`` -- in an active column holding predictive cells (cells with an
  active distal segment), those cells become active and winners, and each of their active
  segments learns: ``+permanence_increment`` on synapses from previously active cells,
  ``-permanence_decrement`` on the others, then ``grow_synapses`` adds
  ``max_new_synapse_count - (active potential synapses)`` synapses to a random sample of the
  previous winner cells it is not yet connected to.
* ``burst_column`` -- an active column without predictive cells activates all its cells. The
  winner is the cell of ``best_matching_segment`` (the matching segment with the most active
  potential synapses), which learns as above; otherwise ``least_used_cell`` (fewest segments,
  random tie-break from the kernel RNG) grows a new segment with ``max_new_synapse_count``
  synapses to previous winners (no segment is created when there are none, e.g. right after
  :meth:`TemporalMemory.reset`).
* ``punish_predicted_column`` -- matching segments in inactive columns lose
  ``predicted_segment_decrement`` on their synapses from previously active cells.
* ``activate_dendrites`` -- segment activity from the new active cells: a segment is *active*
  with ``>= activation_threshold`` active connected synapses (``permanence >=
  connected_permanence``) and *matching* with ``>= min_threshold`` active potential synapses;
  the owners of active segments are the *predictive cells* for the next step.

Cleanup, as in htm.core: synapses whose permanence reaches 0 are removed, and a segment
that is adapted (learning or punishment) and left with fewer than ``min(min_threshold,
activation_threshold)`` synapses is destroyed: it could never be matching (``min_threshold``
active potential synapses) nor active (``activation_threshold`` active connected synapses)
again, so it would never be chosen to learn or grow; a cell at ``max_segments_per_cell``
loses its least recently used segment (used = active while learning, or learning) before
growing a new one; a segment that would
exceed ``max_synapses_per_segment`` first loses its weakest synapses (lowest permanence, ties
by lowest presynaptic index; synapses to the current growth candidates are kept).

External inputs (optional, sizes fixed at construction):

* ``external_basal`` -- distal context from elsewhere (another region, a motor signal). Its bits
  are presynaptic indices ``num_cells + i`` in the basal segments' presynaptic space, next to the
  TM's own cells: they take part in segment activation and in learning exactly like active
  cells (and like winner cells as growth candidates).
* ``external_apical`` -- top-down feedback onto a second set of segments per cell (apical
  segments, their own :class:`~htmkit.synapses.SynapseStore`). Apical activity alone never
  predicts a cell; it breaks ties (htm.research's ApicalTiebreakTemporalMemory): in a column
  where some cells have an active basal *and* an active apical segment, only those cells are
  predictive. Every winner cell learns apically as well: its active apical segments learn,
  else its best matching apical segment, else it grows a new apical segment; matching apical
  segments in inactive columns are punished.

  With ``apical_mode="gate"`` apical support can also change which *columns* are predicted:
  when some basally predicted cells of the layer have an active apical segment, only those
  cells are predictive, and a column whose predicted cells all lack apical support drops out;
  when none has, the basal prediction stands (without feedback the mode is the plain TM).
  Learning is as above, and (with ``predicted_segment_decrement > 0``) an active apical
  segment on a cell that was not predicted, in a column that other cells predicted and that
  became active, is punished too.

Timing: the caller passes each step's external inputs with that step's active columns. They
are used, with the cells that become active in this step, to compute the predictions for the
*next* step, and they are the presynaptic activity that the next step learns from (the TM
keeps them internally). This matches htm.research's sequence memories.

Ties: the best matching segment is the first by (most active potential synapses, lowest
cell, lowest segment id); the least recently used segment the first by (oldest use, lowest
segment id). A synapse whose permanence falls below 1e-6 counts as zero (float32 rounding).
The apical segments use the same permanences and limits as the basal ones, and the same
thresholds and sample size unless ``apical_activation_threshold`` / ``apical_min_threshold`` /
``apical_max_new_synapse_count`` are set.

Storage: the synapse stores use the grown layout (:class:`~htmkit.synapses.SynapseStore`
with ``chunk=STORE_CHUNK``): a segment's slots grow a chunk at a time, so the memory follows
the synapses held, not ``max_synapses_per_segment``.

Every step is one call of a fused numba kernel
(:func:`htmkit.kernels.temporal_memory.tm_compute_basal`, or ``tm_compute`` with apical
segments) that activates cells, learns and computes the next predictions. The kernel first
checks that the synapse stores have room for everything the step may create (a segment per
active column, ``max_new_synapse_count`` synapses per learning segment); when they do not, it
returns without changing anything, :meth:`SynapseStore.reserve` makes the room, and the
kernel runs again. The steps above are kernel functions of the same names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import FormatError, InputError, InputTypeError, ParameterError
from .kernels import rng as krng
from .kernels import temporal_memory as K
from .params import (
    NUPIC_TM,
    Constraints,
    Interval,
    Options,
    Shape,
    check_index_width,
    check_memory,
    params_from_dict,
    params_to_dict,
    validate,
)
from .sdr import SDR
from .serialization import Persistable, state_array, state_float
from .synapses import SynapseStore

__all__ = ["TemporalMemoryParams", "TemporalMemory"]

_EMPTY = np.zeros(0, dtype=np.int32)
_EMPTY.flags.writeable = False

#: slots per chunk of the TM's synapse stores (a segment's block grows this many at a time)
STORE_CHUNK = 16
#: bytes a store spends per synapse slot it reserves (presynaptic index, permanence, reverse
#: position and reverse-index entry), for the per-step room check of the parameters
SLOT_BYTES = 16


@dataclass(frozen=True)
class TemporalMemoryParams:
    """Validated Temporal Memory parameters (htm.core's names and defaults; the learning
    parameters are NuPIC's, :data:`htmkit.params.NUPIC_TM`).

    Attributes
    ----------
    column_dimensions : tuple of int
        Shape of the column space (the size of the active-columns SDR).
    cells_per_column : int
        Cells in each column.
    activation_threshold : int
        Active connected synapses that make a segment active (cell predictive).
    min_threshold : int
        Active potential synapses that make a segment matching (eligible to learn).
    initial_permanence, connected_permanence : float
        Permanence of new synapses; permanence at which a synapse is connected.
    max_new_synapse_count : int
        Target number of active potential synapses of a learning segment (sample size).
    permanence_increment, permanence_decrement : float
        Learning steps of a learning segment.
    predicted_segment_decrement : float
        Punishment of matching segments in inactive columns (0 disables it).
    max_segments_per_cell, max_synapses_per_segment : int
        Capacity limits (least-recently-used segment / weakest synapses are removed).
    seed : int
        Seed of the kernel RNG (tie-breaks and synapse sampling).
    external_basal_size, external_apical_size : int
        Sizes of the optional external basal (distal context) and apical (feedback) inputs.
    apical_mode : {"tiebreak", "gate"}
        How apical support selects predictions (module docstring): ``"tiebreak"`` chooses
        cells inside basally predicted columns; ``"gate"`` can also drop whole columns.
    apical_activation_threshold, apical_min_threshold, apical_max_new_synapse_count : int
        The apical segments' thresholds and sample size; 0 (default) means the basal value.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "column_dimensions": Shape(),
        "cells_per_column": Interval(int, 1),
        "activation_threshold": Interval(int, 1),
        "min_threshold": Interval(int, 1),
        "initial_permanence": Interval(float, 0.0, 1.0, closed="right"),
        "connected_permanence": Interval(float, 0.0, 1.0),
        "permanence_increment": Interval(float, 0.0, 1.0),
        "permanence_decrement": Interval(float, 0.0, 1.0),
        "predicted_segment_decrement": Interval(float, 0.0, 1.0),
        "max_new_synapse_count": Interval(int, 0),
        "max_segments_per_cell": Interval(int, 1),
        "max_synapses_per_segment": Interval(int, 1),
        "seed": Interval(int, 0),
        "external_basal_size": Interval(int, 0),
        "external_apical_size": Interval(int, 0),
        "apical_mode": Options(("tiebreak", "gate")),
        "apical_activation_threshold": Interval(int, 0),
        "apical_min_threshold": Interval(int, 0),
        "apical_max_new_synapse_count": Interval(int, 0),
    }

    column_dimensions: tuple[int, ...] = (2048,)
    cells_per_column: int = NUPIC_TM["cells_per_column"]
    activation_threshold: int = NUPIC_TM["activation_threshold"]
    min_threshold: int = NUPIC_TM["min_threshold"]
    initial_permanence: float = NUPIC_TM["initial_permanence"]
    connected_permanence: float = NUPIC_TM["connected_permanence"]
    max_new_synapse_count: int = NUPIC_TM["max_new_synapse_count"]
    permanence_increment: float = NUPIC_TM["permanence_increment"]
    permanence_decrement: float = NUPIC_TM["permanence_decrement"]
    predicted_segment_decrement: float = NUPIC_TM["predicted_segment_decrement"]
    max_segments_per_cell: int = 255
    max_synapses_per_segment: int = 255
    seed: int = 42
    external_basal_size: int = 0
    external_apical_size: int = 0
    apical_mode: str = "tiebreak"
    apical_activation_threshold: int = 0
    apical_min_threshold: int = 0
    apical_max_new_synapse_count: int = 0

    def __post_init__(self) -> None:
        validate(self)
        n_cells = int(np.prod(self.column_dimensions)) * self.cells_per_column
        if n_cells + self.external_basal_size >= 2**31:
            raise ParameterError(
                "column_dimensions * cells_per_column + external_basal_size must be < 2**31, "
                f"got {n_cells + self.external_basal_size}"
            )
        check_index_width("external_apical_size", self.external_apical_size, "inputs")
        check_memory("column_dimensions and cells_per_column",
                     f"{self.column_dimensions} x {self.cells_per_column}",
                     self.estimated_bytes())
        # one learning step may grow max_new_synapse_count synapses on a segment per active
        # column (and as many apical ones): the stores reserve that room before the step
        ap_new = (self.apical_max_new_synapse_count or self.max_new_synapse_count
                  if self.external_apical_size else 0)
        step = float(self.num_columns) * float(self.max_new_synapse_count + ap_new) * SLOT_BYTES
        check_memory("max_new_synapse_count", f"{self.max_new_synapse_count} (per step, for "
                     f"{self.num_columns} columns)", step)

    def estimated_bytes(self) -> float:
        """Bytes a new :class:`TemporalMemory` of these parameters allocates (computed
        without allocating): the per-cell and per-column state buffers of the kernel layout
        (int32 fields and flags) and the basal (and apical) synapse stores with their first
        segments."""
        lay = K.layout(self.num_columns, self.cells_per_column, self.external_basal_size,
                       self.external_apical_size)
        n_i32 = len(K.I32_FIELDS) + 1
        state = float(lay[n_i32 - 1]) * 4 + float(lay[-1] - lay[n_i32]) * 1
        segments = 1024
        seg = float(len(K.SEG_FIELDS) + len(K.APSEG_FIELDS)) * segments * 4
        n = float(self.num_cells)
        slots = 64.0 * STORE_CHUNK
        stores = SynapseStore.estimate_bytes(n, n + self.external_basal_size,
                                             self.max_synapses_per_segment, segments,
                                             slots=slots)
        if self.external_apical_size:
            stores += SynapseStore.estimate_bytes(n, self.external_apical_size,
                                                  self.max_synapses_per_segment, segments,
                                                  slots=slots)
        return state + seg + stores

    @property
    def num_columns(self) -> int:
        return int(np.prod(self.column_dimensions))

    @property
    def num_cells(self) -> int:
        return self.num_columns * self.cells_per_column


class TemporalMemory(Persistable):
    """BAMI Temporal Memory on the shared :class:`~htmkit.synapses.SynapseStore`.

    Parameters
    ----------
    params : TemporalMemoryParams, optional
        The parameters; or pass them as keyword arguments instead
        (``TemporalMemory(column_dimensions=1024, cells_per_column=16)``).

    Cells are numbered ``column * cells_per_column + i``; every cell SDR is one-dimensional of
    size :attr:`num_cells`. See the module docstring for the algorithm and external inputs.

    Examples
    --------
    >>> tm = TemporalMemory(column_dimensions=64, cells_per_column=4, activation_threshold=3,
    ...                     min_threshold=2, max_new_synapse_count=4, seed=1)
    >>> tm.compute(SDR(64, [1, 2, 3, 4])).num_active
    16
    """

    #: 2: grown-layout synapse stores, two more step counters (1: fixed-layout stores)
    STATE_VERSION = 2

    @classmethod
    def _upgrade_state(cls, state: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Version 1 -> 2: ``counts`` gains the two chunk counters (zero); the stores are
        upgraded by :class:`SynapseStore` and moved to the grown layout in :meth:`from_state`.
        """
        if from_version != 1:
            return super()._upgrade_state(state, from_version)
        counts = state.get("counts")
        if not isinstance(counts, np.ndarray) or counts.ndim != 1 or counts.shape[0] != 22:
            raise FormatError("TemporalMemory: array 'counts' must be a vector of 22 entries "
                              "(state version 1)")
        return {**state, "counts": np.concatenate([counts, np.zeros(2, dtype=counts.dtype)])}

    def __init__(self, params: TemporalMemoryParams | None = None, **kwargs: Any):
        if params is None:
            fields = {f.name for f in dataclasses.fields(TemporalMemoryParams)}
            unknown = sorted(set(kwargs) - fields)
            if unknown:
                raise ParameterError(f"unknown TemporalMemory parameter(s): {unknown}")
            params = TemporalMemoryParams(**kwargs)
        elif kwargs:
            raise ParameterError("params: pass either a TemporalMemoryParams or keyword "
                                 "arguments, not both")
        elif not isinstance(params, TemporalMemoryParams):
            raise ParameterError(
                f"params must be a TemporalMemoryParams, got {type(params).__name__}")
        p = params
        n_cells = p.num_cells
        self._setup(p)
        self._basal = SynapseStore(n_cells, n_cells + p.external_basal_size,
                                   p.max_synapses_per_segment, initial_segments=1024,
                                   chunk=STORE_CHUNK)
        self._apical = (SynapseStore(n_cells, p.external_apical_size,
                                     p.max_synapses_per_segment, initial_segments=1024,
                                     chunk=STORE_CHUNK)
                        if p.external_apical_size else None)
        self._rng = krng.make_state(p.seed)
        self._counts, self._i32, self._flags, self._seg, self._apseg = K.new_buffers(
            self._layout, self._basal.num_segments_allocated,
            self._apical.num_segments_allocated if self._apical is not None else 0)
        self._make_views()
        self._anomaly = 0.0

    def _setup(self, p: TemporalMemoryParams) -> None:
        self._params = p
        self._num_columns = p.num_columns
        self._num_cells = p.num_cells
        self._ip, self._fp = K.config_arrays(
            p.cells_per_column, p.num_cells, p.activation_threshold, p.min_threshold,
            p.max_new_synapse_count, p.max_segments_per_cell, p.max_synapses_per_segment,
            p.external_apical_size > 0,
            p.initial_permanence, p.connected_permanence, p.permanence_increment,
            p.permanence_decrement, p.predicted_segment_decrement, K.PRUNE_EPSILON,
            apical_gate=p.apical_mode == "gate",
            apical_thresholds=(p.apical_activation_threshold, p.apical_min_threshold,
                               p.apical_max_new_synapse_count))
        self._layout = K.layout(p.num_columns, p.cells_per_column, p.external_basal_size,
                                p.external_apical_size)
        self._cells_shape = (p.num_cells,)
        self._sdr_cache: dict[str, SDR] = {}

    def _make_views(self) -> None:
        """Python-side views of the state buffers (the kernel slices them the same way), and
        the argument list of the kernel call."""
        self._state = K.views(self._rng, self._counts, self._i32, self._flags, self._seg,
                              self._apseg, self._layout)
        buffers = (self._rng, self._counts, self._i32, self._flags, self._seg, self._apseg,
                   self._layout, self._ip, self._fp)
        self._args_of = self._basal.arrays
        self._ap_args_of = self._apical.arrays if self._apical is not None else None
        self._kernel: Any
        self._args: tuple[Any, ...]
        if self._apical is None:
            self._kernel = K.tm_compute_basal
            self._args = (*self._basal.arrays, *buffers)
        else:
            self._kernel = K.tm_compute
            self._args = (*self._basal.arrays, *self._apical.arrays, *buffers)

    # ------------------------------------------------------------------ properties
    @property
    def params(self) -> TemporalMemoryParams:
        return self._params

    @property
    def num_columns(self) -> int:
        return self._num_columns

    @property
    def num_cells(self) -> int:
        return self._num_cells

    @property
    def basal_store(self) -> SynapseStore:
        """The basal (distal) segments: owners are cells, presynaptic indices are cells then
        external basal bits."""
        return self._basal

    @property
    def apical_store(self) -> SynapseStore | None:
        """The apical segments (None without apical input)."""
        return self._apical

    def _cells_sdr(self, key: str, buf: np.ndarray, count_index: int) -> SDR:
        sdr = self._sdr_cache.get(key)
        if sdr is None:
            n = int(self._counts[count_index])
            sdr = SDR._trusted(self._cells_shape, buf[:n])
            self._sdr_cache[key] = sdr
        return sdr

    @property
    def active_cells(self) -> SDR:
        """Cells active in the last step."""
        return self._cells_sdr("active", self._state.active_presyn, K.C_ACTIVE)

    @property
    def winner_cells(self) -> SDR:
        """Winner (learning) cells of the last step."""
        return self._cells_sdr("winner", self._state.winner_presyn, K.C_WINNER)

    @property
    def predictive_cells(self) -> SDR:
        """Cells predicted for the next step (computed at the end of :meth:`compute`)."""
        return self._cells_sdr("predictive", self._state.predictive, K.C_PREDICTIVE)

    @property
    def predicted_active_cells(self) -> SDR:
        """Cells of the last step that were predicted and became active."""
        return self._cells_sdr("pred_active", self._state.pred_active, K.C_PRED_ACTIVE)

    @property
    def active_segments(self) -> int:
        """Number of active basal segments (those that made :attr:`predictive_cells`)."""
        return int(self._counts[K.C_ACTIVE_SEGS])

    @property
    def matching_segments(self) -> int:
        """Number of matching basal segments."""
        return int(self._counts[K.C_MATCHING_SEGS])

    @property
    def anomaly(self) -> float:
        """Raw anomaly of the last step: fraction of active columns that were not predicted
        (zero when no column was active)."""
        return self._anomaly

    @property
    def iteration(self) -> int:
        """Number of learning steps so far (the clock of least-recently-used cleanup)."""
        return int(self._basal.arrays.meta[K.M_ITER])

    def num_segments(self, apical: bool = False) -> int:
        """Number of basal (or apical) segments."""
        if apical:
            return self._apical.num_segments if self._apical is not None else 0
        return self._basal.num_segments

    def num_synapses(self, apical: bool = False) -> int:
        """Number of basal (or apical) synapses."""
        if apical:
            return self._apical.num_synapses if self._apical is not None else 0
        return self._basal.num_synapses

    def cells_for_column(self, column: int) -> np.ndarray:
        """Indices of the cells of ``column``."""
        column = int(column)
        if not 0 <= column < self._num_columns:
            raise InputError(f"column {column} out of range [0, {self._num_columns})")
        k = self._params.cells_per_column
        return np.arange(column * k, column * k + k)

    def column_for_cell(self, cell: int) -> int:
        """The column holding ``cell``."""
        cell = int(cell)
        if not 0 <= cell < self._num_cells:
            raise InputError(f"cell {cell} out of range [0, {self._num_cells})")
        return cell // self._params.cells_per_column

    # ------------------------------------------------------------------ algorithm
    def _external(self, sdr: Any, size: int, name: str) -> np.ndarray:
        if sdr is None:
            return _EMPTY
        if not isinstance(sdr, SDR):
            raise InputTypeError(f"{name} must be an SDR or None, got {type(sdr).__name__}")
        if sdr._size != size:
            if size == 0:
                raise InputError(f"{name} given, but this TemporalMemory was built with "
                                 f"{name}_size=0")
            raise InputError(f"{name} must have size {size}, got an SDR of size {sdr._size}")
        return sdr._indices

    def compute(self, active_columns: SDR, learn: bool = True, *,
                external_basal: SDR | None = None, external_apical: SDR | None = None) -> SDR:
        """Run one step: activate cells from ``active_columns`` (and the predictions of the
        last step), learn when ``learn``, then compute the predictions for the next step.
        Returns the active cells (an SDR of size :attr:`num_cells`, the same as
        :attr:`active_cells`).

        Parameters
        ----------
        active_columns : SDR
            Active columns, of size :attr:`num_columns` (its shape is not checked).
        learn : bool
            Whether synapses and segments are updated.
        external_basal, external_apical : SDR, optional
            This step's external inputs (sizes ``external_basal_size`` /
            ``external_apical_size``); omitted means no active bits.

        Raises
        ------
        InputError
            If an input is not an SDR or has the wrong size.
        """
        if not isinstance(active_columns, SDR):
            raise InputTypeError(
                f"active_columns must be an SDR, got {type(active_columns).__name__}")
        if active_columns._size != self._num_columns:
            raise InputError(f"active_columns must have size {self._num_columns}, got an SDR "
                             f"of size {active_columns._size}")
        if external_basal is None and external_apical is None:
            ext_b = ext_a = _EMPTY
        else:
            ext_b = self._external(external_basal, self._params.external_basal_size,
                                   "external_basal")
            ext_a = self._external(external_apical, self._params.external_apical_size,
                                   "external_apical")
        learn = learn is True or bool(learn)
        # One fused kernel call. It first checks that the stores have room for all that the
        # step may create (kernels.temporal_memory.has_room); if not, it returns -1 with
        # nothing changed, we reserve that room (SynapseStore.reserve) and call again.
        if self._args_of is not self._basal.arrays or (
                self._apical is not None and self._ap_args_of is not self._apical.arrays):
            self._make_views()  # a store was grown (reserve() replaces its arrays)
        anomaly = self._kernel(*self._args, active_columns._indices, ext_b, ext_a, learn)
        if anomaly < 0.0:
            self._make_room()
            anomaly = self._kernel(*self._args, active_columns._indices, ext_b, ext_a, learn)
        self._anomaly = anomaly
        # the returned SDR owns a copy of the indices (SDR._trusted copies): it stays valid
        # after the next step
        active = SDR._trusted(self._cells_shape,
                              self._state.active_presyn[: self._counts[K.C_ACTIVE]])
        self._sdr_cache = {"active": active}
        return active

    def _make_room(self) -> None:
        """Reserve what the kernel asked for (``counts[C_NEED_*]``) and lengthen the
        per-segment activity arrays to the stores' sizes."""
        c = self._counts
        self._basal.reserve(int(c[K.C_NEED_SEGS]), int(c[K.C_NEED_SYNAPSES]),
                            int(c[K.C_NEED_CHUNKS]))
        self._seg = _lengthen(self._seg, self._basal.num_segments_allocated)
        if self._apical is not None:
            self._apical.reserve(int(c[K.C_NEED_AP_SEGS]), int(c[K.C_NEED_AP_SYNAPSES]),
                                 int(c[K.C_NEED_AP_CHUNKS]))
            self._apseg = _lengthen(self._apseg, self._apical.num_segments_allocated)
        self._make_views()

    def reset(self) -> None:
        """Start a new sequence: clear active, winner and predictive cells, segment activity
        and the remembered external inputs. Nothing is learned across the boundary."""
        K.reset_state(self._rng, self._counts, self._i32, self._flags, self._seg, self._apseg,
                      self._layout, self._ip, self._fp)
        self._anomaly = 0.0
        self._sdr_cache = {}

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        return {
            "params": params_to_dict(self._params),
            "basal": self._basal.get_state(),
            "apical": self._apical.get_state() if self._apical is not None else None,
            "rng": self._rng.copy(),
            "counts": self._counts.copy(),
            "i32": self._i32.copy(),
            "flags": self._flags.copy(),
            "seg": self._seg.copy(),
            "apseg": self._apseg.copy(),
            "anomaly": float(self._anomaly),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TemporalMemory:
        where = "TemporalMemory"
        obj = cls.__new__(cls)
        params = params_from_dict(TemporalMemoryParams, state["params"])
        p = params
        n = p.num_cells
        # the stores (bounded by the file's size) are checked against the parameters before
        # anything is allocated from the parameters
        obj._basal = SynapseStore.from_state(state["basal"])
        if state["apical"] is not None and not p.external_apical_size:
            raise FormatError(f"{where}: field 'apical' is set without external_apical_size")
        if state["apical"] is None and p.external_apical_size:
            raise FormatError(f"{where}: field 'apical' is missing")
        obj._apical = (SynapseStore.from_state(state["apical"])
                       if state["apical"] is not None else None)
        for name, store, pre in (("basal", obj._basal, n + p.external_basal_size),
                                 ("apical", obj._apical, p.external_apical_size)):
            if store is not None and (store.num_owners != n or store.num_presynaptic != pre
                                      or store.segment_capacity
                                      != p.max_synapses_per_segment):
                raise FormatError(f"{where}: synapse store {name!r} does not match the "
                                  "parameters")
        # files of the fixed layout (state version 1) move to the grown layout
        if obj._basal.fixed:
            obj._basal = obj._basal.regrown(STORE_CHUNK)
        if obj._apical is not None and obj._apical.fixed:
            obj._apical = obj._apical.regrown(STORE_CHUNK)
        obj._setup(params)
        lay = obj._layout
        n_seg = obj._basal.num_segments_allocated
        n_ap = obj._apical.num_segments_allocated if obj._apical is not None else 0
        obj._rng = state_array(state, "rng", np.uint64, where, shape=(1,))
        obj._counts = state_array(state, "counts", np.int64, where, shape=(K.N_COUNTS,), lo=0)
        obj._i32 = state_array(state, "i32", np.int32, where,
                               shape=(int(lay[len(K.I32_FIELDS)]),), lo=-1)
        obj._flags = state_array(state, "flags", np.bool_, where, shape=(int(lay[-1]),))
        obj._seg = state_array(state, "seg", np.int32, where, shape=(len(K.SEG_FIELDS), n_seg),
                               lo=-1, hi=max(n_seg - 1, p.max_synapses_per_segment))
        obj._apseg = state_array(state, "apseg", np.int32, where,
                                 shape=(len(K.APSEG_FIELDS), n_ap), lo=-1,
                                 hi=max(n_ap - 1, p.max_synapses_per_segment))
        obj._anomaly = state_float(state, "anomaly", where)
        obj._make_views()
        _validate_tm_state(obj._state, p, n_seg, n_ap)
        return obj

    def __repr__(self) -> str:
        p = self._params
        return (f"TemporalMemory(columns={p.column_dimensions}, cells_per_column="
                f"{p.cells_per_column}, segments={self.num_segments()}, "
                f"synapses={self.num_synapses()})")


def _lengthen(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` (rows x segments) with at least ``n`` zero-filled columns."""
    if a.shape[1] >= n:
        return a
    out = np.zeros((a.shape[0], n), dtype=a.dtype)
    out[:, : a.shape[1]] = a
    return out


def _validate_tm_state(ts: Any, p: TemporalMemoryParams, n_seg: int, n_ap: int) -> None:
    """Check the index ranges, list lengths and segment chains of a loaded TM state (the
    views of its buffers); raise ``FormatError`` naming the field."""
    where = "TemporalMemory"
    n = p.num_cells
    nb = n + p.external_basal_size
    na = p.external_apical_size
    nap = n if na else 0
    # (field, values are indices below this bound, or -1 where allowed)
    bounds = {
        "active_presyn": nb, "winner_presyn": nb, "winner_pos": nb, "new_active": n,
        "new_winner": n, "pred_active": n, "predictive": n,
        "col_pred": p.cells_per_column + 1, "col_act_head": n_seg, "col_match_head": n_seg,
        "act_cols": p.num_columns, "match_cols": p.num_columns, "cand": max(nb, na),
        "cell_ap_act_head": n_ap, "cell_ap_match_head": n_ap, "ap_cells": nap,
        "prev_apical": na, "apical_pos": na,
        "touched": n_seg, "active_segs": n_seg, "matching_segs": n_seg,
        "act_next": n_seg, "match_next": n_seg, "seg_nconn": p.max_synapses_per_segment + 1,
        "seg_npot": p.max_synapses_per_segment + 1,
        "ap_touched": n_ap, "ap_active_segs": n_ap, "ap_matching_segs": n_ap,
        "ap_act_next": n_ap, "ap_match_next": n_ap, "ap_nconn": p.max_synapses_per_segment + 1,
        "ap_npot": p.max_synapses_per_segment + 1,
    }
    for name, bound in bounds.items():
        a = getattr(ts, name)
        if a.size and (int(a.max()) >= max(bound, 0) or int(a.min()) < -1):
            raise FormatError(f"{where}: array {name!r} holds an index outside "
                              f"[-1, {bound - 1}]")
    c = ts.counts
    # (count, list it counts, longest the list can be)
    lists = (
        (K.C_ACTIVE, "active_presyn", n), (K.C_ACTIVE_PRESYN, "active_presyn", nb),
        (K.C_WINNER, "winner_presyn", n), (K.C_WINNER_PRESYN, "winner_presyn", nb),
        (K.C_PREDICTIVE, "predictive", n), (K.C_PRED_ACTIVE, "pred_active", n),
        (K.C_TOUCHED, "touched", n_seg), (K.C_ACTIVE_SEGS, "active_segs", n_seg),
        (K.C_MATCHING_SEGS, "matching_segs", n_seg), (K.C_ACT_COLS, "act_cols", p.num_columns),
        (K.C_MATCH_COLS, "match_cols", p.num_columns), (K.C_AP_TOUCHED, "ap_touched", n_ap),
        (K.C_AP_ACTIVE_SEGS, "ap_active_segs", n_ap),
        (K.C_AP_MATCHING_SEGS, "ap_matching_segs", n_ap), (K.C_AP_CELLS, "ap_cells", 2 * nap),
        (K.C_PREV_APICAL, "prev_apical", na), (K.C_NEW_ACTIVE, "new_active", n),
        (K.C_NEW_WINNER, "new_winner", n),
    )
    for ci, name, most in lists:
        a = getattr(ts, name)
        k = int(c[ci])
        if k > min(most, a.shape[0]):
            raise FormatError(f"{where}: counts[{ci}] = {k} is longer than the list {name!r}")
        if k and int(a[:k].min()) < 0:
            raise FormatError(f"{where}: array {name!r} lists a negative index")
    if int(c[K.C_ACTIVE]) > int(c[K.C_ACTIVE_PRESYN]) or int(c[K.C_WINNER]) > int(
            c[K.C_WINNER_PRESYN]):
        raise FormatError(f"{where}: counts of active/winner cells exceed their lists")
    # segment chains: a column's (or cell's) head is set exactly when it is listed, and each
    # chain ends without a cycle
    for heads, listed, count, nxt, size in (
            ("col_act_head", "act_cols", K.C_ACT_COLS, "act_next", n_seg),
            ("col_match_head", "match_cols", K.C_MATCH_COLS, "match_next", n_seg),
            ("cell_ap_act_head", "ap_cells", K.C_AP_CELLS, "ap_act_next", n_ap),
            ("cell_ap_match_head", "ap_cells", K.C_AP_CELLS, "ap_match_next", n_ap)):
        head = getattr(ts, heads)
        if not head.size:
            continue
        members = getattr(ts, listed)[: int(c[count])]
        mask = np.zeros(head.shape[0], dtype=bool)
        mask[members] = True
        if np.any(head[~mask] >= 0):
            raise FormatError(f"{where}: array {heads!r} has a head outside {listed!r}")
        link = getattr(ts, nxt)
        seen = np.zeros(size, dtype=bool)
        for h in head[mask]:
            s = int(h)
            while s >= 0:
                if seen[s]:
                    raise FormatError(f"{where}: array {nxt!r} links a segment twice")
                seen[s] = True
                s = int(link[s])
