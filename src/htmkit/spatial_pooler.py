"""The Spatial Pooler, following Numenta's BAMI "Spatial Pooling Algorithm Details".

A :class:`SpatialPooler` turns an input SDR into an SDR of active columns with (nearly) fixed
sparsity, learning which input bits each column responds to. The steps of :meth:`compute`
carry BAMI's names; the loops behind them are numba kernels in
:mod:`htmkit.kernels.spatial_pooler`.

Initialisation
    Column ``c`` is centred over the input at ``floor((coord + 0.5) * inputDim / columnDim)``
    along each axis (htm.core ``mapColumn``). Its potential pool is a uniform random
    ``round(potential_pct * window)`` subset of the inputs within ``potential_radius`` of the
    centre (clipped at the borders, or modulo the axis with ``wrap_around``). A potential
    synapse is connected with probability ``init_connected_pct``: its permanence is then uniform
    in ``[syn_perm_connected, 1)``, otherwise uniform in ``[0, syn_perm_connected)``. Columns
    with fewer than ``stimulus_threshold`` connected synapses get their permanences raised
    until they have enough. When the column space has more axes than the input (e.g. input
    (28, 28), columns (28, 28, 8)), the extra trailing column axes are "depth": all columns
    along them share a centre. (Conversely, extra input axes are covered around their middle.)

Phase 1 -- overlap
    ``overlap(c)`` = number of connected synapses on active inputs;
    ``boostedOverlap(c) = overlap(c) * boost(c)``.

Phase 2 -- inhibition
    ``c`` is active if ``boostedOverlap(c) > stimulus_threshold`` and
    ``boostedOverlap(c) >= kthScore(neighbours(c), k)``. Ties are broken deterministically:
    a neighbour with the same score beats ``c`` when its index is lower. With global
    inhibition the neighbourhood is all columns and ``k = round(density * numColumns)``; with
    local inhibition it is the hyper-rectangle of columns within ``inhibition_radius`` and
    ``k = round(density * neighbourhood size)``; the neighbourhood always spans the extra
    "depth" axes of the columns entirely (mini-columns over the same spot compete).
    ``density`` is ``local_area_density``, or ``num_active_columns_per_inh_area / (largest
    neighbourhood size)`` (at most 0.5).

Phase 3 -- learning (``learn=True``)
    Active columns: ``+syn_perm_active_inc`` on synapses from active inputs,
    ``-syn_perm_inactive_dec`` on the others (clipped to [0, 1]). Duty cycles are moving
    averages over ``min(duty_cycle_period, iteration)`` steps. Boost factors are
    ``exp(-boost_strength * (activeDutyCycle - targetDensity))`` with the target density
    ``density`` (global inhibition) or the neighbourhood's mean active duty cycle (local).
    Columns whose overlap duty cycle is below ``min_pct_overlap_duty_cycle`` times the largest
    one in their neighbourhood get all permanences raised by ``syn_perm_below_stimulus_inc``.
    Every ``update_period`` steps the inhibition radius is recomputed from the average
    connected receptive field span (times columns per input, as htm.core; averaged over the
    axes shared by input and columns) and the minimum duty cycles are refreshed.

Nothing in :meth:`compute` is random: the same parameters and seed give the same outputs.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import FormatError, InputError, ParameterError
from .kernels import rng as R
from .kernels import spatial_pooler as K
from .kernels import synapses as KS
from .params import (
    Boolean,
    Constraints,
    Interval,
    Optional,
    Shape,
    check_index_width,
    check_memory,
    params_from_dict,
    params_to_dict,
    validate,
)
from .sdr import SDR
from .serialization import Persistable, state_array, state_int
from .synapses import SynapseStore

__all__ = ["SpatialPooler", "SpatialPoolerParams"]

#: Largest density the inhibition allows when derived from ``num_active_columns_per_inh_area``.
MAX_LOCAL_AREA_DENSITY = 0.5


@dataclass(frozen=True)
class SpatialPoolerParams:
    """Parameters of a :class:`SpatialPooler` (validated at construction).

    Parameters
    ----------
    input_dimensions, column_dimensions : int or tuple of int
        Shapes of the input space and of the column space.
    potential_radius : int
        Inputs within this distance (per axis) of a column's centre may be in its potential
        pool; a radius at least the input size covers the whole input.
    potential_pct : float in (0, 1]
        Fraction of the inputs within ``potential_radius`` that form the potential pool.
    global_inhibition : bool
        One neighbourhood of all columns (fast) instead of the column topology.
    local_area_density : float in (0, 1], optional
        Target fraction of active columns in a neighbourhood.
    num_active_columns_per_inh_area : int, optional
        Alternatively, target number of active columns per neighbourhood. Give at most one of
        the two; with neither, ``local_area_density = 0.02``.
    stimulus_threshold : int
        A column takes part in inhibition only if its boosted overlap exceeds this.
    syn_perm_inactive_dec, syn_perm_active_inc : float in [0, 1]
        Permanence decrement / increment of an active column's synapses on inactive / active
        inputs.
    syn_perm_connected : float in (0, 1)
        Permanence at which a synapse counts as connected.
    syn_perm_below_stimulus_inc : float, optional
        Increment of a weak column's permanences; default ``syn_perm_connected / 10``.
    min_pct_overlap_duty_cycle : float in [0, 1]
        A column whose overlap duty cycle falls below this fraction of the largest one in its
        neighbourhood gets its permanences bumped up.
    duty_cycle_period : int
        Period of the duty cycle moving averages.
    boost_strength : float >= 0
        0 disables boosting.
    update_period : int
        Learning steps between updates of the inhibition radius and minimum duty cycles.
    init_connected_pct : float in [0, 1]
        Fraction of potential synapses connected at initialisation.
    wrap_around : bool
        Neighbourhoods (potential pools and inhibition) wrap around the borders.
    seed : int
        Seed of the initialisation (potential pools and permanences).
    inference_min_fraction : float in [0, 1), optional
        Fractional inference. When set, :meth:`compute` with ``learn=False`` ranks the columns
        by the *fraction* of their connected synapses that are on active inputs
        (``boostedOverlap / connectedCount``) instead of the overlap, and a column takes part
        in inhibition only if that fraction exceeds this value (``stimulus_threshold`` is not
        used then). Learning (``learn=True``) is unchanged. Input noise that turns inputs on
        (or off) at random with probability ``q`` changes a column's expected overlap to
        ``(1 - 2q) overlap + q connectedCount``: columns with many connected synapses gain the
        most, so noise reorders the overlaps, but the expected fractions all go through the
        same increasing map and keep their order. ``None`` (default): off.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "input_dimensions": Shape(),
        "column_dimensions": Shape(),
        "potential_radius": Interval(int, 0),
        "potential_pct": Interval(float, 0.0, 1.0, closed="right"),
        "global_inhibition": Boolean(),
        "local_area_density": Optional(Interval(float, 0.0, 1.0, closed="right")),
        "num_active_columns_per_inh_area": Optional(Interval(int, 1)),
        "stimulus_threshold": Interval(int, 0),
        "syn_perm_inactive_dec": Interval(float, 0.0, 1.0),
        "syn_perm_active_inc": Interval(float, 0.0, 1.0),
        "syn_perm_connected": Interval(float, 0.0, 1.0, closed="neither"),
        "syn_perm_below_stimulus_inc": Optional(Interval(float, 0.0, 1.0, closed="right")),
        "min_pct_overlap_duty_cycle": Interval(float, 0.0, 1.0),
        "duty_cycle_period": Interval(int, 1),
        "boost_strength": Interval(float, 0.0),
        "update_period": Interval(int, 1),
        "init_connected_pct": Interval(float, 0.0, 1.0),
        "wrap_around": Boolean(),
        "seed": Interval(int, 0),
        "inference_min_fraction": Optional(Interval(float, 0.0, 1.0, closed="left")),
    }

    input_dimensions: tuple[int, ...]
    column_dimensions: tuple[int, ...]
    potential_radius: int = 16
    potential_pct: float = 0.5
    global_inhibition: bool = True
    local_area_density: float | None = None
    num_active_columns_per_inh_area: int | None = None
    stimulus_threshold: int = 0
    syn_perm_inactive_dec: float = 0.008
    syn_perm_active_inc: float = 0.05
    syn_perm_connected: float = 0.1
    syn_perm_below_stimulus_inc: float | None = None
    min_pct_overlap_duty_cycle: float = 0.001
    duty_cycle_period: int = 1000
    boost_strength: float = 0.0
    update_period: int = 50
    init_connected_pct: float = 0.5
    wrap_around: bool = True
    seed: int = 1
    inference_min_fraction: float | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        validate(self)
        num_columns = math.prod(self.column_dimensions)
        check_index_width("input_dimensions", self.num_inputs, "inputs")
        check_index_width("column_dimensions", num_columns, "columns")
        self._check_memory()
        if self.local_area_density is not None and self.num_active_columns_per_inh_area is not None:
            raise ParameterError(
                "give only one of local_area_density and num_active_columns_per_inh_area, "
                f"got local_area_density={self.local_area_density!r} and "
                f"num_active_columns_per_inh_area={self.num_active_columns_per_inh_area!r}"
            )
        if self.num_active_columns_per_inh_area is not None:
            if self.num_active_columns_per_inh_area > num_columns:
                raise ParameterError(
                    f"num_active_columns_per_inh_area must be <= {num_columns} (the number of "
                    f"columns), got {self.num_active_columns_per_inh_area}")
        else:
            density = 0.02 if self.local_area_density is None else self.local_area_density
            put("local_area_density", density)
            if self.global_inhibition and math.floor(density * num_columns + 0.5) < 1:
                raise ParameterError(
                    f"local_area_density={self.local_area_density} selects no column out of "
                    f"{num_columns}; raise it or add columns"
                )
        if self.syn_perm_below_stimulus_inc is None:
            put("syn_perm_below_stimulus_inc", self.syn_perm_connected / 10.0)
        sizes = self._pool_sizes()
        if int(sizes.min()) < 1:
            raise ParameterError(
                f"potential_pct={self.potential_pct} with potential_radius="
                f"{self.potential_radius} leaves some columns without potential synapses"
            )

    def estimated_bytes(self) -> dict[str, float]:
        """Bytes a :class:`SpatialPooler` of these parameters allocates, by the parameter
        that sets them (an upper estimate; computed without allocating).

        Per column: boost, three duty cycles, boosted overlaps (float64), overlaps and the
        output buffer (int32), its coordinates, its pool size and segment offset, and its
        segment in the synapse store. Per input: its coordinates, the input mask and the
        reverse-index heads. Per potential synapse (``column_dimensions`` times the largest
        potential pool, a window of ``2 * potential_radius + 1`` per axis times
        ``potential_pct``): the bulk-load buffers, the store's slots, the reverse index and
        the connected mirror.
        """
        cols = float(math.prod(self.column_dimensions))
        inputs = float(math.prod(self.input_dimensions))
        window = float(math.prod(min(d, 2 * self.potential_radius + 1)
                                 for d in self.input_dimensions))
        pool = min(inputs, math.floor(window * self.potential_pct + 0.5))
        per_column = 5 * 8 + 4 + 4 + 8 * len(self.column_dimensions) + 8 + 8
        per_input = (4 * len(self.input_dimensions) + 1 + 8 * len(self.input_dimensions)
                     + SynapseStore.estimate_bytes(0, 1, 0, 0, arena=1))
        synapses = cols * pool * (4 + 4 + 4 + 1) + SynapseStore.estimate_bytes(
            cols, 0, pool, cols, arena=cols * pool)
        return {"column_dimensions": cols * per_column,
                "input_dimensions": inputs * per_input,
                "potential_radius": synapses}

    def _check_memory(self) -> None:
        parts = self.estimated_bytes()
        total = sum(parts.values())
        if parts["potential_radius"] >= max(parts["column_dimensions"],
                                            parts["input_dimensions"]):
            names = "column_dimensions, input_dimensions and potential_radius"
            shown = (f"{self.column_dimensions}, {self.input_dimensions} and "
                     f"{self.potential_radius}")
        elif parts["column_dimensions"] >= parts["input_dimensions"]:
            names, shown = "column_dimensions", str(self.column_dimensions)
        else:
            names, shown = "input_dimensions", str(self.input_dimensions)
        check_memory(names, shown, total)

    # ------------------------------------------------------------------ derived geometry
    @property
    def num_inputs(self) -> int:
        return math.prod(self.input_dimensions)

    @property
    def num_columns(self) -> int:
        return math.prod(self.column_dimensions)

    def padded_dimensions(self) -> tuple[np.ndarray, np.ndarray]:
        """Input and column dimensions padded with trailing 1s to the same length."""
        d = max(len(self.input_dimensions), len(self.column_dimensions))

        def pad(dims: tuple[int, ...]) -> np.ndarray:
            return np.array(list(dims) + [1] * (d - len(dims)), dtype=np.int64)

        return pad(self.input_dimensions), pad(self.column_dimensions)

    def _pool_sizes(self) -> np.ndarray:
        in_dims, col_dims = self.padded_dimensions()
        return K.potential_pool_sizes(in_dims, col_dims, self.potential_radius,
                                      self.potential_pct, self.wrap_around)


class SpatialPooler(Persistable):
    """BAMI Spatial Pooler over n-dimensional inputs and columns.

    Parameters
    ----------
    params : SpatialPoolerParams, optional
        All parameters; alternatively pass them as keyword arguments
        (``SpatialPooler(input_dimensions=(28, 28), column_dimensions=(28, 28, 8), ...)``).

    Examples
    --------
    >>> sp = SpatialPooler(input_dimensions=1000, column_dimensions=2048,
    ...                    local_area_density=0.02, seed=7)
    >>> active = sp.compute(SDR.random(1000, 0.04, seed=1), learn=True)
    >>> active.shape, active.num_active
    ((2048,), 41)
    """

    #: Largest number of input x column pairs for the dense connected mirror.
    DENSE_MIRROR_MAX = 1 << 24

    def __init__(self, params: SpatialPoolerParams | None = None, **kwargs: Any):
        if params is None:
            params = SpatialPoolerParams(**kwargs)
        elif kwargs:
            raise ParameterError("pass either a SpatialPoolerParams or keyword arguments")
        elif not isinstance(params, SpatialPoolerParams):
            raise ParameterError(f"params must be a SpatialPoolerParams, got {type(params)!r}")
        self._params = params
        self._setup_geometry()
        self._initialize_synapses()
        n = params.num_columns
        self._boost = np.ones(n, dtype=np.float64)
        self._active_duty = np.zeros(n, dtype=np.float64)
        self._overlap_duty = np.zeros(n, dtype=np.float64)
        self._min_overlap_duty = np.zeros(n, dtype=np.float64)
        self._overlaps = np.zeros(n, dtype=np.int32)
        self._boosted = np.zeros(n, dtype=np.float64)
        self._active = np.zeros(0, dtype=np.int32)
        self._iteration = 0
        self._iteration_learn = 0
        self._inhibition_radius = 0
        self._update_inhibition_radius()
        self._cc_cache: np.ndarray | None = None  # connected counts for fractional inference
        self._cc_iteration = -1

    # ================================================================== set-up
    def _setup_geometry(self) -> None:
        p = self._params
        self._in_dims, self._col_dims_padded = p.padded_dimensions()
        self._col_dims = np.array(p.column_dimensions, dtype=np.int64)
        n = p.num_columns
        self._col_coords = np.ascontiguousarray(
            np.stack(np.unravel_index(np.arange(n), p.column_dimensions), axis=1), dtype=np.int64)
        # the axes shared by input and columns measure receptive fields
        shared = min(len(p.input_dimensions), len(p.column_dimensions))
        self._shared_axes = shared
        in_coords = np.unravel_index(np.arange(p.num_inputs), p.input_dimensions)
        self._in_coords = np.ascontiguousarray(np.stack(in_coords[:shared], axis=1),
                                               dtype=np.int32)
        self._columns_per_input = float(np.mean(
            [p.column_dimensions[a] / p.input_dimensions[a] for a in range(shared)]))
        self._input_mask = np.zeros(p.num_inputs, dtype=np.uint8)
        self._out = np.empty(n, dtype=np.int32)

    def _initialize_synapses(self) -> None:
        """Potential pools and initial permanences, bulk-loaded into the synapse store."""
        p = self._params
        sizes = p._pool_sizes()
        seg_ptr = np.zeros(p.num_columns + 1, dtype=np.int64)
        np.cumsum(sizes, out=seg_ptr[1:])
        presyn = np.empty(int(seg_ptr[-1]), dtype=np.int32)
        perm = np.empty(int(seg_ptr[-1]), dtype=np.float32)
        K.build_potential_pools(
            self._in_dims, self._col_dims_padded, p.potential_radius, p.potential_pct,
            p.wrap_around, p.syn_perm_connected, p.init_connected_pct, p.stimulus_threshold,
            p.syn_perm_below_stimulus_inc, R.make_state(p.seed), seg_ptr, presyn, perm)
        store = SynapseStore(p.num_columns, p.num_inputs, int(sizes.max()),
                             initial_segments=p.num_columns)
        # What SynapseStore.fill() does, minus the head-room it reserves for growth: the SP
        # never adds synapses, so the reverse index gets exactly one bucket per input
        # (reserve() would grow the arena again if anyone added synapses later).
        exact = int(np.maximum(np.bincount(presyn, minlength=p.num_inputs), 1).sum())
        store.arrays = store.arrays._replace(arena=np.zeros(exact, dtype=np.int32))
        KS.build_static(store.arrays, np.arange(p.num_columns, dtype=np.int32), seg_ptr,
                        presyn, perm)
        del presyn, perm
        self._store = store
        self._build_mirror()
        self._drop_reverse_index()

    def _build_mirror(self) -> None:
        """Build the connected-synapse mirror that the overlap step reads (see the kernels).

        Dense potential pools (at least a quarter of all input x column pairs, at most
        ``DENSE_MIRROR_MAX`` pairs) get an input-major ``conn_dense`` matrix and a
        ``slot_of[column, input]`` table; sparse ones a mirror of the store's reverse index.
        """
        p = self._params
        st = self._store.arrays
        n = p.num_columns
        if not np.array_equal(st.seg_owner[:n], np.arange(n)):
            raise AssertionError("synapse store: segment ids must equal column ids")
        cap = self._store.segment_capacity
        pairs = p.num_inputs * n
        self._dense = pairs <= self.DENSE_MIRROR_MAX and 4 * self._store.num_synapses >= pairs
        if self._dense:
            self._slot_of = np.empty((n, p.num_inputs), dtype=np.int16 if cap < 2**15 else
                                     np.int32)
            self._conn_dense = np.empty((p.num_inputs, n), dtype=np.uint8)
            self._col_at = np.zeros(0, dtype=np.int32)
            self._conn_at = np.zeros(0, dtype=np.uint8)
            K.build_dense_mirror(st.presyn, st.perm, st.seg_nsyn, cap, p.syn_perm_connected,
                                 self._slot_of, self._conn_dense)
        else:
            top = int(st.meta[KS.M_TOP])
            self._slot_of = np.zeros((0, 0), dtype=np.int16)
            self._conn_dense = np.zeros((0, 0), dtype=np.uint8)
            self._col_at = np.zeros(top, dtype=np.int32)
            self._conn_at = np.zeros(top, dtype=np.uint8)
            K.build_connected_mirror(st.arena, st.rev_start, st.rev_count, st.perm,
                                     st.seg_owner, cap, p.syn_perm_connected, self._col_at,
                                     self._conn_at)

    def _drop_reverse_index(self) -> None:
        """With the dense mirror, no step reads the store's reverse index (``arena`` and
        ``rev_pos``, 8 bytes per synapse slot): the SP never adds or removes a synapse, so the
        index is a fixed function of the potential pools. Drop it (``_lean``), keep the
        presynaptic indices as int16 where ``num_inputs`` allows, and rebuild the int32 store
        only where a whole store is needed (:meth:`get_state`, :attr:`synapses`). A store
        whose index is not the one :meth:`_reverse_index` rebuilds (not one this class built)
        is kept whole, so that saving it again gives the same arrays."""
        self._lean = False
        if not self._dense:
            return
        st = self._store.arrays
        try:
            rev_pos, arena = self._reverse_index()
        except (IndexError, ValueError):
            return
        if not (np.array_equal(rev_pos, st.rev_pos) and np.array_equal(arena, st.arena)
                and rev_pos.dtype == st.rev_pos.dtype and arena.dtype == st.arena.dtype):
            return
        empty = np.zeros(0, dtype=np.int32)
        # presynaptic indices as int16 where they fit (-1 marks an unused slot)
        presyn = st.presyn.astype(np.int16) if self._params.num_inputs <= 2**15 else st.presyn
        self._store.arrays = st._replace(presyn=presyn, rev_pos=empty, arena=empty.copy())
        self._lean = True

    def _reverse_index(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rev_pos, arena)`` as :func:`~htmkit.kernels.synapses.build_static` lays them
        out: input ``p``'s bucket starts at ``rev_start[p]`` and lists its slots column by
        column, in slot order."""
        st = self._store.arrays
        n = self._params.num_columns
        nsyn = st.seg_nsyn[:n].astype(np.int64)
        total = int(nsyn.sum())
        first_of = np.repeat(np.cumsum(nsyn) - nsyn, nsyn)
        base = st.seg_chunk[:n].astype(np.int64) * self._store.chunk
        slots = np.repeat(base, nsyn) + (np.arange(total, dtype=np.int64) - first_of)
        pre = st.presyn[slots].astype(np.int64)
        order = np.argsort(pre, kind="stable")
        pre, slots = pre[order], slots[order]
        rank = np.arange(total, dtype=np.int64) - np.searchsorted(pre, pre, side="left")
        pos = st.rev_start[pre] + rank
        arena = np.zeros(int(st.meta[KS.M_TOP]), dtype=np.int32)
        arena[pos] = slots
        rev_pos = np.zeros(st.presyn.shape[0], dtype=np.int32)
        rev_pos[slots] = pos
        return rev_pos, arena

    def _whole_store(self) -> SynapseStore:
        """The synapse store with its reverse index (a new store sharing the other arrays
        when the index was dropped, see :meth:`_drop_reverse_index`; ``presyn`` is an int32
        copy)."""
        if not getattr(self, "_lean", False):
            return self._store
        rev_pos, arena = self._reverse_index()
        whole = copy.copy(self._store)
        st = self._store.arrays
        whole.arrays = st._replace(presyn=st.presyn.astype(np.int32), rev_pos=rev_pos,
                                   arena=arena)
        return whole

    def inference_static(self) -> list[Any]:
        """The learned state that :meth:`compute` with ``learn=False`` reads but never writes
        (the synapse store, its connected mirrors, boost factors and duty cycles): a copy made
        for one inference step (``copy.deepcopy(sp, memo)`` with these in ``memo``) may share
        them with this pooler instead of copying them."""
        return [self._store, self._slot_of, self._conn_dense, self._col_at, self._conn_at,
                self._boost, self._active_duty, self._overlap_duty, self._min_overlap_duty,
                self._in_coords, self._col_coords]

    # ================================================================== compute
    def compute(self, input: SDR | Any, learn: bool = True) -> SDR:
        """Run one step: return the active columns (an SDR of shape ``column_dimensions``).

        Parameters
        ----------
        input : SDR (or a dense 0/1 array) of size ``num_inputs``
            The active input bits; its shape is ignored, only its size must match.
        learn : bool
            Adapt permanences, duty cycles, boost factors and the inhibition radius.

        Raises
        ------
        InputError
            If the input does not have ``num_inputs`` bits.
        """
        active_inputs = self._validate_input(input)
        p = self._params
        self._iteration += 1
        if learn:
            self._iteration_learn += 1
        self._calculate_overlap(active_inputs)                 # phase 1
        active = self._inhibit_columns(                       # phase 2
            fractional=not learn and p.inference_min_fraction is not None)
        if learn:                                             # phase 3
            self._adapt_synapses(active_inputs, active)
            self._update_duty_cycles(active)
            self._bump_up_weak_columns()
            self._update_boost_factors()
            if self._iteration % p.update_period == 0:
                self._update_inhibition_radius()
                self._update_min_duty_cycles()
        self._active = active
        return SDR._trusted(p.column_dimensions, active)

    def _validate_input(self, input: Any) -> np.ndarray:
        n = self._params.num_inputs
        if not isinstance(input, SDR):
            try:
                input = SDR.from_dense(np.asarray(input))
            except InputError as exc:
                raise InputError(f"input must be an SDR of size {n}: {exc}") from None
        if input.size != n:
            raise InputError(
                f"input has {input.size} bits but the spatial pooler expects {n} "
                f"(input_dimensions={self._params.input_dimensions})"
            )
        return input.indices

    # ------------------------------------------------------------------ phase 1
    def _calculate_overlap(self, active_inputs: np.ndarray) -> None:
        """overlap(c) = active connected synapses of c; boosted overlap = overlap * boost."""
        if self._dense:
            K.calculate_overlap_dense(active_inputs, self._conn_dense, self._boost,
                                      self._overlaps, self._boosted)
        else:
            st = self._store.arrays
            K.calculate_overlap_sparse(active_inputs, st.rev_start, st.rev_count, self._col_at,
                                       self._conn_at, self._boost, self._overlaps,
                                       self._boosted)

    # ------------------------------------------------------------------ phase 2
    def _inhibit_columns(self, fractional: bool = False) -> np.ndarray:
        """Columns whose boosted overlap is among the top k of their neighbourhood (with
        ``fractional``: boosted overlap / connected count, threshold
        ``inference_min_fraction``)."""
        p = self._params
        density = self._density()
        score, threshold = self._boosted, float(p.stimulus_threshold)
        if fractional:
            score = self._boosted / self._connected_counts_cached()
            assert p.inference_min_fraction is not None  # fractional inference is on
            threshold = float(p.inference_min_fraction)
        if self._uses_global_inhibition():
            k = int(math.floor(density * p.num_columns + 0.5))
            n = K.inhibit_columns_global(score, threshold, k, self._out)
        else:
            n = K.inhibit_columns_local(score, threshold, self._col_dims, self._col_coords,
                                        self._radii(), p.wrap_around, density, self._out)
        return self._out[:n].copy()

    def _connected_counts_cached(self) -> np.ndarray:
        """Connected synapses per column (at least 1, float64), recomputed after learning."""
        if self._cc_cache is None or self._cc_iteration != self._iteration_learn:
            cc = self.connected_counts().reshape(-1)
            self._cc_cache = np.maximum(cc, 1).astype(np.float64)
            self._cc_iteration = self._iteration_learn
        return self._cc_cache

    def _uses_global_inhibition(self) -> bool:
        return self._params.global_inhibition or self._inhibition_radius > int(
            self._col_dims.max())

    def _radii(self) -> np.ndarray:
        """Inhibition radius per column axis: the inhibition radius along the axes shared with
        the input, and the whole axis along the extra "depth" axes."""
        radii = self._col_dims.copy()
        radii[: self._shared_axes] = self._inhibition_radius
        return radii

    def _neighbourhood_size(self) -> int:
        """Columns in the largest inhibition neighbourhood (all columns when global)."""
        if self._uses_global_inhibition():
            return self._params.num_columns
        return math.prod(min(2 * int(r) + 1, int(d)) for r, d in zip(self._radii(),
                                                                       self._col_dims,
                                                                       strict=True))

    def _density(self) -> float:
        """Target fraction of active columns per inhibition neighbourhood."""
        p = self._params
        if p.num_active_columns_per_inh_area is not None:
            return min(p.num_active_columns_per_inh_area / self._neighbourhood_size(),
                       MAX_LOCAL_AREA_DENSITY)
        assert p.local_area_density is not None  # the params set it when the count is None
        return float(p.local_area_density)

    # ------------------------------------------------------------------ phase 3
    def _adapt_synapses(self, active_inputs: np.ndarray, active_columns: np.ndarray) -> None:
        """Active columns: reinforce synapses on active inputs, weaken the others."""
        p = self._params
        st = self._store.arrays
        cap = self._store.segment_capacity
        if self._dense:
            K.adapt_synapses_dense(active_columns, active_inputs, st.presyn, st.perm,
                                   st.seg_nsyn, cap, self._slot_of, self._conn_dense,
                                   p.syn_perm_active_inc, p.syn_perm_inactive_dec,
                                   p.syn_perm_connected)
        else:
            K.adapt_synapses_sparse(active_columns, active_inputs, self._input_mask, st.presyn,
                                    st.perm, st.seg_nsyn, cap, st.rev_pos, self._conn_at,
                                    p.syn_perm_active_inc, p.syn_perm_inactive_dec,
                                    p.syn_perm_connected)

    def _update_duty_cycles(self, active_columns: np.ndarray) -> None:
        """Moving averages of 'overlap > stimulus threshold' and 'active' per column."""
        p = self._params
        period = min(p.duty_cycle_period, self._iteration)
        K.update_duty_cycles(self._overlaps, p.stimulus_threshold, active_columns,
                             float(period), self._overlap_duty, self._active_duty)

    def _update_boost_factors(self) -> None:
        """boost = exp(-boost_strength * (activeDutyCycle - target density))."""
        p = self._params
        if p.boost_strength <= 0.0:
            return
        if self._uses_global_inhibition():
            K.update_boost_factors_global(self._active_duty, self._density(), p.boost_strength,
                                          self._boost)
        else:
            K.update_boost_factors_local(self._active_duty, self._col_dims, self._radii(),
                                         p.wrap_around, p.boost_strength, self._boost)

    def _bump_up_weak_columns(self) -> None:
        """Columns that rarely overlap their input get all permanences raised a little."""
        p = self._params
        st = self._store.arrays
        K.bump_up_weak_columns(self._overlap_duty, self._min_overlap_duty, st.presyn, st.perm,
                               st.seg_nsyn, self._store.segment_capacity, st.rev_pos,
                               self._conn_at, self._conn_dense, self._dense,
                               p.syn_perm_below_stimulus_inc, p.syn_perm_connected)

    def _update_inhibition_radius(self) -> None:
        """Radius = average connected receptive field span (in columns), as BAMI/htm.core."""
        p = self._params
        if p.global_inhibition:
            self._inhibition_radius = int(self._col_dims.max())
            return
        st = self._store.arrays
        span = K.average_connected_span(st.presyn, st.perm, st.seg_nsyn,
                                        self._store.segment_capacity, p.num_columns,
                                        self._in_coords, p.syn_perm_connected)
        diameter = span * self._columns_per_input
        radius = max(1.0, (diameter - 1.0) / 2.0)
        self._inhibition_radius = int(math.floor(radius + 0.5))

    def _update_min_duty_cycles(self) -> None:
        """minDutyCycle(c) = min_pct_overlap_duty_cycle * max overlap duty cycle nearby."""
        p = self._params
        if self._uses_global_inhibition():
            self._min_overlap_duty[:] = p.min_pct_overlap_duty_cycle * float(
                self._overlap_duty.max())
        else:
            K.window_reduce(self._overlap_duty, self._col_dims, self._radii(), p.wrap_around,
                            True, self._min_overlap_duty)
            self._min_overlap_duty *= p.min_pct_overlap_duty_cycle

    # ================================================================== read access
    @property
    def params(self) -> SpatialPoolerParams:
        return self._params

    @property
    def input_dimensions(self) -> tuple[int, ...]:
        return self._params.input_dimensions

    @property
    def column_dimensions(self) -> tuple[int, ...]:
        return self._params.column_dimensions

    @property
    def num_inputs(self) -> int:
        return self._params.num_inputs

    @property
    def num_columns(self) -> int:
        return self._params.num_columns

    @property
    def iteration(self) -> int:
        """Number of :meth:`compute` calls so far."""
        return self._iteration

    @property
    def iteration_learn(self) -> int:
        """Number of :meth:`compute` calls with ``learn=True`` so far."""
        return self._iteration_learn

    @property
    def inhibition_radius(self) -> int:
        return self._inhibition_radius

    @property
    def synapses(self) -> SynapseStore:
        """The synapse store (column ``c`` owns segment ``c``). Treat as read-only. With the
        dense connected mirror the pooler keeps its store without the reverse index, and this
        is a store rebuilt with it (sharing the pooler's other arrays)."""
        return self._whole_store()

    def _ro(self, a: np.ndarray) -> np.ndarray:
        out = a.copy()
        out.flags.writeable = False
        return out

    @property
    def overlaps(self) -> np.ndarray:
        """Overlap of every column in the last step (int32 array of ``column_dimensions``)."""
        return self._ro(self._overlaps).reshape(self.column_dimensions)

    @property
    def boosted_overlaps(self) -> np.ndarray:
        return self._ro(self._boosted).reshape(self.column_dimensions)

    @property
    def boost_factors(self) -> np.ndarray:
        return self._ro(self._boost).reshape(self.column_dimensions)

    @property
    def active_duty_cycles(self) -> np.ndarray:
        return self._ro(self._active_duty).reshape(self.column_dimensions)

    @property
    def overlap_duty_cycles(self) -> np.ndarray:
        return self._ro(self._overlap_duty).reshape(self.column_dimensions)

    @property
    def min_overlap_duty_cycles(self) -> np.ndarray:
        return self._ro(self._min_overlap_duty).reshape(self.column_dimensions)

    def _column_index(self, column: Any) -> int:
        n = self.num_columns
        if isinstance(column, (tuple, list, np.ndarray)) and np.ndim(column) == 1 and len(
                column) == len(self.column_dimensions):
            try:
                return int(np.ravel_multi_index(tuple(int(c) for c in column),
                                                self.column_dimensions))
            except ValueError:
                raise InputError(f"column {column!r} is outside {self.column_dimensions}") from None
        if isinstance(column, bool) or not isinstance(column, (int, np.integer)):
            raise InputError(f"column must be a flat index or coordinates, got {column!r}")
        if not 0 <= int(column) < n:
            raise InputError(f"column {column} is out of range for {n} columns")
        return int(column)

    def permanences(self, column: Any, dense: bool = True) -> Any:
        """Permanences of a column's potential synapses.

        ``dense=True``: a float32 array of ``input_dimensions`` (0 outside the potential pool);
        otherwise ``(input indices, permanences)`` sorted by input index.
        """
        c = self._column_index(column)
        idx, perm = self._store.segment_synapses(c)
        idx = idx.astype(np.int32, copy=False)
        if not dense:
            return idx, perm
        out = np.zeros(self.num_inputs, dtype=np.float32)
        out[idx] = perm
        return out.reshape(self.input_dimensions)

    def potential_pool(self, column: Any) -> SDR:
        """The inputs a column may connect to, as an SDR of ``input_dimensions``."""
        idx, _ = self._store.segment_synapses(self._column_index(column))
        idx = idx.astype(np.int32, copy=False)
        return SDR._trusted(self.input_dimensions, np.sort(idx))

    def connected_synapses(self, column: Any) -> SDR:
        """The inputs a column is connected to (permanence >= connected), as an SDR."""
        idx, perm = self._store.segment_synapses(self._column_index(column))
        idx = idx.astype(np.int32, copy=False)
        keep = perm >= np.float32(self._params.syn_perm_connected)
        return SDR._trusted(self.input_dimensions, np.sort(idx[keep]))

    def connected_counts(self) -> np.ndarray:
        """Number of connected synapses of every column (int array of ``column_dimensions``)."""
        st = self._store.arrays
        return K.connected_counts(st.perm, st.seg_nsyn, self._store.segment_capacity,
                                  self.num_columns, self._params.syn_perm_connected).reshape(
            self.column_dimensions)

    def __repr__(self) -> str:
        p = self._params
        kind = "global" if p.global_inhibition else "local"
        return (f"SpatialPooler(input_dimensions={p.input_dimensions}, column_dimensions="
                f"{p.column_dimensions}, {kind} inhibition, iteration={self._iteration})")

    # ================================================================== state
    def get_state(self) -> dict[str, Any]:
        return {
            "params": params_to_dict(self._params),
            "synapses": self._whole_store().get_state(),
            "boost_factors": self._boost.copy(),
            "active_duty_cycles": self._active_duty.copy(),
            "overlap_duty_cycles": self._overlap_duty.copy(),
            "min_overlap_duty_cycles": self._min_overlap_duty.copy(),
            "overlaps": self._overlaps.copy(),
            "boosted_overlaps": self._boosted.copy(),
            "active": self._active.copy(),
            "iteration": self._iteration,
            "iteration_learn": self._iteration_learn,
            "inhibition_radius": self._inhibition_radius,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SpatialPooler:
        where = "SpatialPooler"
        params = params_from_dict(SpatialPoolerParams, state["params"])
        obj = cls.__new__(cls)
        obj._params = params
        # the store's arrays (bounded by the file's size) are checked against the
        # parameters before anything is allocated from the parameters
        obj._store = SynapseStore.from_state(state["synapses"])
        n = params.num_columns
        if (obj._store.num_owners != n or obj._store.num_presynaptic != params.num_inputs
                or obj._store.num_segments != n):
            raise FormatError(f"{where}: synapse store (num_owners "
                              f"{obj._store.num_owners}, num_presynaptic "
                              f"{obj._store.num_presynaptic}) does not match the parameters")
        obj._setup_geometry()

        def arr(key: str, dtype: Any, **kw: Any) -> np.ndarray:
            return state_array(state, key, dtype, where, shape=(n,), **kw)

        obj._boost = arr("boost_factors", np.float64, finite=True, lo=0.0)
        obj._active_duty = arr("active_duty_cycles", np.float64, finite=True, lo=0.0)
        obj._overlap_duty = arr("overlap_duty_cycles", np.float64, finite=True, lo=0.0)
        obj._min_overlap_duty = arr("min_overlap_duty_cycles", np.float64, finite=True,
                                    lo=0.0)
        obj._overlaps = arr("overlaps", np.int32, lo=0, hi=params.num_inputs)
        obj._boosted = arr("boosted_overlaps", np.float64)
        obj._active = state_array(state, "active", np.int32, where, ndim=1, lo=0, hi=n - 1)
        if np.unique(obj._active).size != obj._active.size:
            raise FormatError(f"{where}: array 'active' repeats a column")
        obj._iteration = state_int(state, "iteration", where, lo=0)
        obj._iteration_learn = state_int(state, "iteration_learn", where, lo=0)
        obj._inhibition_radius = state_int(state, "inhibition_radius", where, lo=0,
                                           hi=max(params.column_dimensions))
        obj._cc_cache, obj._cc_iteration = None, -1
        try:
            obj._build_mirror()
        except AssertionError as exc:
            raise FormatError(f"{where}: {exc}") from None
        obj._drop_reverse_index()
        return obj
