"""Temporal pooling: a slowly changing representation of a sequence (union pooler).

The :class:`TemporalPooler` sits on top of a Temporal Memory. At every step it receives the
TM's active cells and predicted-active cells and produces an SDR of pooler cells that stays
(nearly) the same across the steps of a sequence while the TM predicts it correctly: a stable
name for "the thing being looked at". It follows the idea of Numenta's *Union Temporal
Pooler* (htmresearch), re-implemented on the shared :class:`~htmkit.synapses.SynapseStore`.

Algorithm, one :meth:`TemporalPooler.compute` call:

1. **Overlap.** Every pooler cell has one proximal segment with a fixed random potential pool
   (``potential_pct`` of the input cells). Its weighted overlap is
   ``active_weight * (connected synapses from active cells) + predicted_weight * (connected
   synapses from predicted-active cells)``; predicted-active input counts much more.
2. **Winners.** The ``winner_sparsity`` fraction of cells with the largest weighted overlap
   (above ``stimulus_threshold``) win this step (global inhibition). While learning, overlaps
   are multiplied by homeostatic boost factors ``exp(-boost_strength * (duty - target))``
   (``duty``: moving average of how often the cell wins, ``target = winner_sparsity``), as in
   the Spatial Pooler, so that no cell wins for every sequence.
3. **Pooling activation.** Every cell's pooling activation decays by the factor
   ``1 - decay_rate``; each winner adds its weighted overlap. Activation accumulates while a
   cell keeps winning and fades slowly when it stops.
4. **Output.** The ``active_sparsity`` fraction of cells with the largest pooling activation
   (above ``min_activation``) is the output (the "union").
5. **Learning** (``learn=True``). Hebbian: every output cell moves its synapses from the
   predicted-active cells of the last ``history_length`` steps (this one included) up by
   ``permanence_increment`` and all its other synapses down by ``permanence_decrement``, then
   grows up to ``max_new_synapses`` new synapses to current predicted-active cells it is not
   yet connected to (as in the Temporal Memory; synapses that decay to 0 are then pruned).
   Cells that pooled a sequence thus connect to all of its elements, win at every step of it,
   and the output becomes stable.

:meth:`TemporalPooler.reset` clears the pooling activation and the history (between images or
sequences); learned synapses are kept. Ties are broken by a fixed random order of the cells
drawn from ``seed``; synapse growth uses the savable kernel RNG, so save/load is bit-identical.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import FormatError, InputError, InputTypeError, ParameterError
from .kernels import temporal_pooler as K
from .kernels.rng import make_state as make_rng_state
from .params import (
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

__all__ = ["TemporalPooler", "TemporalPoolerParams"]

#: With growth on, synapses whose permanence decays below this are pruned (frees room).
_PRUNE_BELOW = 1e-3


@dataclass(frozen=True, kw_only=True)
class TemporalPoolerParams:
    """Parameters of a :class:`TemporalPooler` (validated at construction).

    Attributes
    ----------
    input_size : int
        Number of input cells (the TM's cells: columns x cells per column).
    column_dimensions : tuple of int
        Shape of the pooler's cells (one proximal segment each); the output SDR's shape.
    active_sparsity : float
        Fraction of pooler cells in the output (the union), in ``(0, 1]``.
    winner_sparsity : float
        Fraction of pooler cells that win (are excited) each step, ``<= active_sparsity``.
    potential_pct : float
        Fraction of the input cells in each cell's potential pool, in ``(0, 1]``. Memory is
        about 50 bytes per synapse slot, ``num_cells * segment_capacity`` slots (e.g. 1024
        cells over 16384 inputs at 0.1: ~140 MB); lower it for large inputs, growth
        (``max_new_synapses``) does the learning.
    connected_permanence : float
        A synapse counts in the overlap when its permanence is ``>= connected_permanence``.
    initial_permanence_spread : float
        Initial permanences are uniform in ``connected_permanence +- spread`` (clipped to
        [0, 1]), so about half the potential synapses start connected.
    permanence_increment, permanence_decrement : float
        Hebbian learning steps (see the module docstring).
    active_weight, predicted_weight : float
        Weights of the overlap with active cells and with predicted-active cells (``>= 0``, not
        both 0). Predicted-active cells are usually also active, so they count
        ``active_weight + predicted_weight``.
    stimulus_threshold : float
        A cell needs a weighted overlap above this value to win.
    decay_rate : float
        Fraction of the pooling activation lost per step, in ``[0, 1]``; small values pool
        over long sequences.
    min_activation : float
        Cells need a pooling activation above this to be in the output.
    history_length : int
        Number of recent steps (the current one included) whose predicted-active inputs an
        output cell learns.
    boost_strength : float
        Strength of the homeostatic boosting (0: off).
    duty_cycle_period : int
        Period of the moving average of the win frequency.
    max_new_synapses : int
        Synapses an output cell may grow per learning step to current predicted-active cells
        (0: no growth, no pruning; only the fixed potential pools learn).
    max_synapses_per_cell : int or None
        Segment capacity (``>= potential size``); ``None``: the potential size plus 512 when
        growth is on, else the potential size.
    seed : int
        Seed of the potential pools, initial permanences and tie-breaking order.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "input_size": Interval(int, 1),
        "column_dimensions": Shape(),
        **{name: Interval(float, 0.0, 1.0, closed="right")
           for name in ("active_sparsity", "winner_sparsity", "potential_pct")},
        **{name: Interval(float, 0.0, 1.0)
           for name in ("connected_permanence", "initial_permanence_spread",
                        "permanence_increment", "permanence_decrement", "decay_rate")},
        **{name: Interval(float, 0.0)
           for name in ("active_weight", "predicted_weight", "stimulus_threshold",
                        "min_activation")},
        "history_length": Interval(int, 1),
        "boost_strength": Interval(float, 0.0),
        "duty_cycle_period": Interval(int, 1),
        "max_new_synapses": Interval(int, 0),
        "max_synapses_per_cell": Optional(Interval(int, 1)),
        "seed": Interval(int, 0),
    }

    input_size: int
    column_dimensions: tuple[int, ...] = (1024,)
    active_sparsity: float = 0.05
    winner_sparsity: float = 0.02
    potential_pct: float = 0.1
    connected_permanence: float = 0.2
    initial_permanence_spread: float = 0.1
    permanence_increment: float = 0.04
    permanence_decrement: float = 0.008
    active_weight: float = 0.1
    predicted_weight: float = 1.0
    stimulus_threshold: float = 0.0
    decay_rate: float = 0.1
    min_activation: float = 0.0
    history_length: int = 10
    boost_strength: float = 10.0
    duty_cycle_period: int = 1000
    max_new_synapses: int = 16
    max_synapses_per_cell: int | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        validate(self)
        if self.winner_sparsity > self.active_sparsity:
            raise ParameterError(
                f"winner_sparsity ({self.winner_sparsity}) must be <= active_sparsity "
                f"({self.active_sparsity})"
            )
        if self.active_weight == 0.0 and self.predicted_weight == 0.0:
            raise ParameterError("active_weight and predicted_weight must not both be 0")
        if round(self.potential_pct * self.input_size) < 1:
            raise ParameterError(
                f"potential_pct ({self.potential_pct}) leaves no potential synapse for "
                f"input_size {self.input_size}"
            )
        if (self.max_synapses_per_cell is not None
                and self.max_synapses_per_cell < self.potential_size):
            raise ParameterError(
                f"max_synapses_per_cell ({self.max_synapses_per_cell}) must be >= the potential "
                f"pool size ({self.potential_size} = potential_pct * input_size)"
            )
        check_index_width("column_dimensions", self.num_cells, "cells")
        check_memory("column_dimensions, input_size and potential_pct",
                     f"{self.column_dimensions}, {self.input_size} and {self.potential_pct}",
                     self.estimated_bytes())
        # one learning step may grow max_new_synapses synapses per cell (16 bytes a slot)
        check_memory("max_new_synapses", f"{self.max_new_synapses} (per step, for "
                     f"{self.num_cells} cells)",
                     float(self.num_cells) * float(self.max_new_synapses) * 16)

    def estimated_bytes(self) -> float:
        """Bytes a new :class:`TemporalPooler` of these parameters allocates (computed
        without allocating): the initial synapses (int32 sources, float64 then float32
        permanences) and the synapse store with ``segment_capacity`` slots per cell; per
        cell its activation, overlaps, duty cycle, boosts and tie order; per input the
        history count, the mark and one permutation drawn per cell."""
        n, m = float(self.num_cells), float(self.potential_size)
        initial = n * m * (4 + 8 + 4)
        store = SynapseStore.estimate_bytes(n, self.input_size, self.segment_capacity, n)
        per_cell = 8 + 4 + 4 + 8 + 8 + 8 + 8 + 8
        per_input = 4 + 1 + 8
        return initial + store + n * per_cell + float(self.input_size) * per_input

    @property
    def num_cells(self) -> int:
        return int(np.prod(self.column_dimensions))

    @property
    def num_active(self) -> int:
        """Output size: ``max(1, round(active_sparsity * num_cells))``."""
        return max(1, int(round(self.active_sparsity * self.num_cells)))

    @property
    def num_winners(self) -> int:
        """Winners per step: ``max(1, round(winner_sparsity * num_cells))``."""
        return max(1, int(round(self.winner_sparsity * self.num_cells)))

    @property
    def potential_size(self) -> int:
        """Synapses per cell at construction: ``round(potential_pct * input_size)``."""
        return int(round(self.potential_pct * self.input_size))

    @property
    def segment_capacity(self) -> int:
        """Maximum synapses per cell (see ``max_synapses_per_cell``)."""
        if self.max_synapses_per_cell is not None:
            return self.max_synapses_per_cell
        return self.potential_size + (512 if self.max_new_synapses > 0 else 0)


class TemporalPooler(Persistable):
    """Union-style temporal pooler over a Temporal Memory's cells (see module docstring).

    Parameters
    ----------
    params : TemporalPoolerParams, optional
        All parameters; alternatively pass them as keyword arguments.

    Examples
    --------
    >>> tp = TemporalPooler(input_size=2048, column_dimensions=(256,))
    >>> a = SDR.random(2048, 0.02, seed=1)
    >>> out = tp.compute(a, predicted_active_cells=a)
    >>> out.shape
    (256,)
    """

    def __init__(self, params: TemporalPoolerParams | None = None, **kwargs: Any):
        if params is None:
            params = TemporalPoolerParams(**kwargs)
        elif kwargs:
            raise ParameterError(
                "TemporalPooler: pass either a TemporalPoolerParams or keyword parameters, "
                f"not both (got params and {sorted(kwargs)})"
            )
        elif not isinstance(params, TemporalPoolerParams):
            raise ParameterError(
                f"TemporalPooler: params must be a TemporalPoolerParams, got "
                f"{type(params).__name__}"
            )
        self.params = params
        p = params
        n = p.num_cells
        rng = np.random.default_rng(p.seed)
        m = p.potential_size
        presyn = np.empty(n * m, dtype=np.int32)
        for c in range(n):
            presyn[c * m : (c + 1) * m] = np.sort(rng.permutation(p.input_size)[:m])
        spread = p.initial_permanence_spread
        perm = p.connected_permanence + rng.uniform(-spread, spread, n * m)
        perm = np.clip(perm, 0.0, 1.0).astype(np.float32)
        self._store = SynapseStore(n, p.input_size, p.segment_capacity, initial_segments=n)
        self._store.fill(np.arange(n, dtype=np.int32), np.arange(n + 1, dtype=np.int64) * m,
                         presyn, perm)
        self._tie_order = rng.permutation(n).astype(np.int64)
        self._rng = make_rng_state(p.seed + 1)
        self._init_dynamic()

    def _init_dynamic(self) -> None:
        p = self.params
        n = p.num_cells
        self._activation = np.zeros(n, dtype=np.float64)
        self._ov_active = np.zeros(n, dtype=np.int32)
        self._ov_predicted = np.zeros(n, dtype=np.int32)
        self._overlap = np.zeros(n, dtype=np.float64)
        self._history: deque[np.ndarray] = deque()
        self._history_count = np.zeros(p.input_size, dtype=np.int32)
        self._mark = np.zeros(p.input_size, dtype=np.bool_)
        self._duty = np.zeros(n, dtype=np.float64)
        self._boost = np.ones(n, dtype=np.float64)
        self._no_boost = np.ones(n, dtype=np.float64)
        empty = np.zeros(0, dtype=np.int64)
        self._winners = empty
        self._output = empty
        self._iteration = 0

    # ------------------------------------------------------------------ properties
    @property
    def num_cells(self) -> int:
        return self.params.num_cells

    @property
    def input_size(self) -> int:
        return self.params.input_size

    @property
    def column_dimensions(self) -> tuple[int, ...]:
        return self.params.column_dimensions

    @property
    def synapses(self) -> SynapseStore:
        """The pooler's synapse store (segment ``c`` belongs to cell ``c``)."""
        return self._store

    @property
    def active_cells(self) -> SDR:
        """The output of the last :meth:`compute` (the union of the most active cells)."""
        return SDR._trusted(self.params.column_dimensions, self._output)

    @property
    def winner_cells(self) -> SDR:
        """The cells that won (were excited) in the last :meth:`compute`."""
        return SDR._trusted(self.params.column_dimensions, self._winners)

    @property
    def pooling_activation(self) -> np.ndarray:
        """A copy of the pooling activation of every cell (float64)."""
        return self._activation.copy()

    @property
    def overlaps(self) -> np.ndarray:
        """A copy of the weighted overlaps of the last step (float64)."""
        return self._overlap.copy()

    @property
    def iteration(self) -> int:
        """Number of :meth:`compute` calls since construction."""
        return self._iteration

    # ------------------------------------------------------------------ compute
    def _indices(self, sdr: Any, name: str) -> np.ndarray:
        if not isinstance(sdr, SDR):
            raise InputTypeError(f"TemporalPooler.compute: {name} must be an SDR, "
                            f"got {type(sdr).__name__}")
        if sdr.size != self.params.input_size:
            raise InputError(
                f"TemporalPooler.compute: {name} has {sdr.size} bits, expected input_size "
                f"{self.params.input_size}"
            )
        return sdr.indices.astype(np.int32, copy=False)

    def compute(self, active_cells: SDR, learn: bool = True, *,
                predicted_active_cells: SDR | None = None) -> SDR:
        """Run one step; returns the output SDR (shape ``column_dimensions``).

        Parameters
        ----------
        active_cells : SDR
            The TM's active cells (any shape of size ``input_size``).
        learn : bool
            Apply the Hebbian update to the output cells.
        predicted_active_cells : SDR, optional
            The TM's correctly predicted active cells (``None``: none).

        Raises
        ------
        InputError
            If an input is not an SDR or does not have ``input_size`` bits.
        """
        p = self.params
        act = self._indices(active_cells, "active_cells")
        if predicted_active_cells is None:
            pred = np.zeros(0, dtype=np.int32)
        else:
            pred = self._indices(predicted_active_cells, "predicted_active_cells")
        st = self._store.arrays
        K.weighted_overlaps(st, act, pred, p.connected_permanence, p.active_weight,
                            p.predicted_weight, self._ov_active, self._ov_predicted,
                            self._overlap)
        self._winners, self._output = K.pool_step(
            self._activation, self._overlap, self._boost if learn else self._no_boost,
            self._tie_order, p.num_winners,
            p.stimulus_threshold, p.decay_rate, p.num_active, p.min_activation)
        # history of predicted-active inputs (the current step included)
        hist = self._history
        hist.append(pred.astype(np.int32, copy=True))
        self._history_count[pred] += 1
        while len(hist) > p.history_length:
            self._history_count[hist.popleft()] -= 1
        if learn:
            self._update_boost()
        if learn and self._output.size:
            mask = self._history_count > 0
            grow = p.max_new_synapses
            if grow:
                self._store.reserve(0, int(self._output.size) * grow)
                st = self._store.arrays
            K.learn_cells(st, self._output, mask, p.permanence_increment,
                          p.permanence_decrement, _PRUNE_BELOW if grow else -1.0, pred, grow,
                          p.connected_permanence, self._rng, self._mark)
        self._iteration += 1
        return SDR._trusted(p.column_dimensions, self._output)

    def _update_boost(self) -> None:
        p = self.params
        period = min(self._iteration + 1, p.duty_cycle_period)
        duty = self._duty
        duty *= (period - 1) / period
        duty[self._winners] += 1.0 / period
        if p.boost_strength > 0:
            np.exp(-p.boost_strength * (duty - p.winner_sparsity), out=self._boost)

    def reset(self) -> None:
        """Clear the pooling activation, the output and the input history (learning kept)."""
        self._activation[:] = 0.0
        self._history.clear()
        self._history_count[:] = 0
        self._winners = np.zeros(0, dtype=np.int64)
        self._output = np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        hist = list(self._history)
        return {
            "params": params_to_dict(self.params),
            "store": self._store.get_state(),
            "tie_order": self._tie_order.copy(),
            "rng": self._rng.copy(),
            "activation": self._activation.copy(),
            "duty_cycles": self._duty.copy(),
            "boost": self._boost.copy(),
            "history_lengths": np.array([h.size for h in hist], dtype=np.int64),
            "history_indices": (np.concatenate(hist).astype(np.int32) if hist
                                else np.zeros(0, dtype=np.int32)),
            "winners": self._winners.copy(),
            "output": self._output.copy(),
            "iteration": self._iteration,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TemporalPooler:
        where = "TemporalPooler"
        p = params_from_dict(TemporalPoolerParams, state["params"])
        obj = cls.__new__(cls)
        obj.params = p
        obj._store = SynapseStore.from_state(state["store"])
        n = p.num_cells
        if obj._store.num_owners != n or obj._store.num_presynaptic != p.input_size:
            raise FormatError(f"{where}: synapse store does not match the parameters")
        obj._tie_order = state_array(state, "tie_order", np.int64, where, shape=(n,))
        if not np.array_equal(np.sort(obj._tie_order), np.arange(n)):
            raise FormatError(f"{where}: array 'tie_order' is not a permutation of the cells")
        obj._rng = state_array(state, "rng", np.uint64, where, shape=(1,))
        obj._init_dynamic()
        obj._activation = state_array(state, "activation", np.float64, where, shape=(n,),
                                      finite=True)
        obj._duty = state_array(state, "duty_cycles", np.float64, where, shape=(n,),
                                finite=True, lo=0.0)
        obj._boost = state_array(state, "boost", np.float64, where, shape=(n,), finite=True,
                                 lo=0.0)
        lengths = state_array(state, "history_lengths", np.int64, where, ndim=1, lo=0)
        flat = state_array(state, "history_indices", np.int32, where, ndim=1, lo=0,
                           hi=p.input_size - 1)
        if int(lengths.sum()) != flat.size:
            raise FormatError(f"{where}: history_lengths do not add up to history_indices")
        for part in np.split(flat, np.cumsum(lengths)[:-1]) if lengths.size else []:
            obj._history.append(part.copy())
            obj._history_count[part] += 1
        obj._winners = state_array(state, "winners", np.int64, where, ndim=1, lo=0, hi=n - 1)
        obj._output = state_array(state, "output", np.int64, where, ndim=1, lo=0, hi=n - 1)
        obj._iteration = state_int(state, "iteration", where, lo=0)
        return obj

    def __repr__(self) -> str:
        p = self.params
        return (f"TemporalPooler(input_size={p.input_size}, "
                f"column_dimensions={p.column_dimensions}, active={p.num_active}, "
                f"winners={p.num_winners})")
