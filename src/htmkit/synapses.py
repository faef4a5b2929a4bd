"""The synapse store shared by the Spatial Pooler, Temporal Memory and temporal pooler.

A :class:`SynapseStore` holds dendrite segments, each owned by a column or a cell and carrying
up to ``segment_capacity`` synapses (presynaptic index + float32 permanence), in flat numpy
arrays with a reverse index from presynaptic index to synapses. The numba kernels that read
and change it live in :mod:`htmkit.kernels.synapses`; this class owns the arrays, grows them
between steps, and saves/restores them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import FormatError, ParameterError
from .kernels import synapses as K
from .serialization import Persistable

#: dtype of each store array (a file's arrays must have exactly these)
_STORE_DTYPES = {
    "presyn": np.int32, "perm": np.float32, "rev_pos": np.int64,
    "seg_nsyn": np.int32, "seg_owner": np.int32, "seg_last_used": np.int64,
    "seg_next": np.int32, "seg_prev": np.int32, "free_segs": np.int32,
    "owner_first": np.int32, "owner_nseg": np.int32,
    "rev_start": np.int64, "rev_count": np.int32, "rev_cap": np.int32,
    "arena": np.int64, "meta": np.int64,
}

#: what each failure code of :func:`htmkit.kernels.synapses.validate_store` means
_STORE_RULES = {
    1: ("meta", "a counter is out of range"),
    2: ("rev_start/rev_count/rev_cap", "a reverse-index bucket is out of range or over "
        "capacity"),
    3: ("rev_start/rev_cap", "reverse-index buckets overlap"),
    4: ("seg_nsyn", "a segment's synapse count is outside [0, segment_capacity]"),
    5: ("seg_owner", "a segment owner is out of range"),
    6: ("seg_next/seg_prev", "a segment link is out of range"),
    7: ("seg_owner", "a free segment holds synapses or links"),
    8: ("meta", "a segment in use lies beyond the high-water mark"),
    9: ("presyn", "a presynaptic index is out of range"),
    10: ("perm", "a permanence is outside [0, 1]"),
    11: ("rev_pos", "a synapse is missing from the reverse index"),
    12: ("meta", "the synapse count does not match the segments"),
    13: ("arena", "a reverse-index entry does not point back to its synapse"),
    14: ("free_segs", "the free-segment stack does not match the free segments"),
    15: ("owner_first/owner_nseg/seg_next", "an owner's segment list is broken"),
}


def _state_int(state: dict[str, Any], key: str, where: str) -> int:
    v = state[key]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise FormatError(f"{where}: field {key!r} must be an integer, got {v!r}")
    return int(v)


class SynapseStore(Persistable):
    """Segments and synapses in flat arrays (see :mod:`htmkit.kernels.synapses` for the layout).

    Parameters
    ----------
    num_owners : int
        Number of segment owners (columns for the SP, cells for the TM).
    num_presynaptic : int
        Size of the presynaptic space (input bits, or cells + external inputs).
    segment_capacity : int
        Maximum number of synapses on one segment.
    initial_segments : int
        Segments allocated up front; the store grows when more are needed.
    """

    @staticmethod
    def estimate_bytes(num_owners: float, num_presynaptic: float, segment_capacity: float,
                       segments: float, arena: float | None = None) -> float:
        """Bytes a store of ``segments`` segments allocates: per synapse slot ``presyn``,
        ``perm`` and ``rev_pos``; per segment its six fields and the free list; per owner
        ``owner_first`` and ``owner_nseg``; per presynaptic cell the reverse-index heads; and
        the reverse-index arena (``arena`` entries, by default one per synapse slot)."""
        slots = float(segments) * float(segment_capacity)
        arena = slots if arena is None else float(arena)
        return (slots * (4 + 4 + 8) + float(segments) * (4 + 4 + 8 + 4 + 4 + 4)
                + float(num_owners) * (4 + 4) + float(num_presynaptic) * (8 + 4 + 4)
                + arena * 8)

    def __init__(
        self,
        num_owners: int,
        num_presynaptic: int,
        segment_capacity: int,
        initial_segments: int = 1024,
    ):
        if num_owners < 1 or num_presynaptic < 1 or segment_capacity < 1:
            raise ParameterError("SynapseStore sizes must be positive")
        self.num_owners = int(num_owners)
        self.num_presynaptic = int(num_presynaptic)
        self.segment_capacity = int(segment_capacity)
        n_seg = max(1, int(initial_segments))
        cap = self.segment_capacity
        meta = np.zeros(K.META_SIZE, dtype=np.int64)
        meta[K.M_FREE] = n_seg
        self.arrays = K.StoreArrays(
            presyn=np.full(n_seg * cap, -1, dtype=np.int32),
            perm=np.zeros(n_seg * cap, dtype=np.float32),
            rev_pos=np.zeros(n_seg * cap, dtype=np.int64),
            seg_nsyn=np.zeros(n_seg, dtype=np.int32),
            seg_owner=np.full(n_seg, -1, dtype=np.int32),
            seg_last_used=np.zeros(n_seg, dtype=np.int64),
            seg_next=np.full(n_seg, -1, dtype=np.int32),
            seg_prev=np.full(n_seg, -1, dtype=np.int32),
            # popped from the end: segment 0 is handed out first
            free_segs=np.arange(n_seg - 1, -1, -1, dtype=np.int32),
            owner_first=np.full(self.num_owners, -1, dtype=np.int32),
            owner_nseg=np.zeros(self.num_owners, dtype=np.int32),
            rev_start=np.zeros(self.num_presynaptic, dtype=np.int64),
            rev_count=np.zeros(self.num_presynaptic, dtype=np.int32),
            rev_cap=np.zeros(self.num_presynaptic, dtype=np.int32),
            arena=np.zeros(0, dtype=np.int64),
            meta=meta,
        )
        self.reserve(0, 0)

    # ------------------------------------------------------------------ sizes
    @property
    def num_segments_allocated(self) -> int:
        return int(self.arrays.seg_nsyn.shape[0])

    @property
    def num_segments(self) -> int:
        """Segments in use."""
        return self.num_segments_allocated - int(self.arrays.meta[K.M_FREE])

    @property
    def num_synapses(self) -> int:
        return int(self.arrays.meta[K.M_NSYN])

    @property
    def high_water(self) -> int:
        """One past the largest segment id ever used (activity arrays need this length)."""
        return int(self.arrays.meta[K.M_HIGH])

    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.arrays))

    # ------------------------------------------------------------------ growth
    def reserve(self, free_segments: int, new_synapses: int) -> None:
        """Make sure ``free_segments`` segments can be created and ``new_synapses`` synapses
        added by the next kernel call without running out of room. Cheap when nothing grows.
        """
        st = self.arrays
        if st.meta[K.M_FREE] < free_segments:
            self._grow_segments(max(free_segments - int(st.meta[K.M_FREE]),
                                    self.num_segments_allocated))
            st = self.arrays
        need = int(K.arena_needs(st, int(new_synapses)))
        if st.arena.shape[0] < need:
            arena = np.zeros(max(need, 2 * st.arena.shape[0]), dtype=np.int64)
            arena[: st.arena.shape[0]] = st.arena
            self.arrays = st._replace(arena=arena)

    def _grow_segments(self, extra: int) -> None:
        st = self.arrays
        old = st.seg_nsyn.shape[0]
        new = old + int(extra)
        cap = self.segment_capacity

        def grow(a: np.ndarray, n: int, fill: Any) -> np.ndarray:
            out = np.full(n, fill, dtype=a.dtype)
            out[: a.shape[0]] = a
            return out

        n_free = int(st.meta[K.M_FREE])
        free = np.full(new, -1, dtype=np.int32)  # unused tail stays -1 (deterministic)
        # new ids below the existing free ones, so the lowest free id is popped first
        free[: new - old] = np.arange(new - 1, old - 1, -1, dtype=np.int32)
        free[new - old : new - old + n_free] = st.free_segs[:n_free]
        st.meta[K.M_FREE] = n_free + (new - old)
        self.arrays = st._replace(
            presyn=grow(st.presyn, new * cap, -1),
            perm=grow(st.perm, new * cap, 0.0),
            rev_pos=grow(st.rev_pos, new * cap, 0),
            seg_nsyn=grow(st.seg_nsyn, new, 0),
            seg_owner=grow(st.seg_owner, new, -1),
            seg_last_used=grow(st.seg_last_used, new, 0),
            seg_next=grow(st.seg_next, new, -1),
            seg_prev=grow(st.seg_prev, new, -1),
            free_segs=free,
        )

    def fill(self, owners: np.ndarray, seg_ptr: np.ndarray, presyn: np.ndarray,
             perm: np.ndarray) -> None:
        """Bulk-fill an empty store: segment ``i`` is owned by ``owners[i]`` and gets synapses
        ``presyn[seg_ptr[i]:seg_ptr[i+1]]`` with permanences ``perm[...]`` (CSR input)."""
        if self.num_segments:
            raise ValueError("fill() needs an empty store")
        n_seg = len(seg_ptr) - 1
        if np.any(np.diff(seg_ptr) > self.segment_capacity):
            raise ValueError("a segment has more synapses than segment_capacity")
        self.reserve(n_seg, int(seg_ptr[-1]))
        K.build_static(self.arrays, np.asarray(owners, dtype=np.int32),
                       np.asarray(seg_ptr, dtype=np.int64), np.asarray(presyn, dtype=np.int32),
                       np.asarray(perm, dtype=np.float32))

    # ------------------------------------------------------------------ access
    def segment_synapses(self, seg: int) -> tuple[np.ndarray, np.ndarray]:
        """(presynaptic indices, permanences) of one segment (copies)."""
        st = self.arrays
        cap = self.segment_capacity
        n = int(st.seg_nsyn[seg])
        lo = seg * cap
        return st.presyn[lo : lo + n].copy(), st.perm[lo : lo + n].copy()

    def segments_of(self, owner: int) -> list[int]:
        """Segment ids of one owner, most recently created first."""
        out = []
        s = int(self.arrays.owner_first[owner])
        while s >= 0:
            out.append(s)
            s = int(self.arrays.seg_next[s])
        return out

    def check(self) -> None:
        """Raise ``AssertionError`` if the internal indexes are inconsistent (for tests)."""
        code = int(K.check_invariants(self.arrays))
        if code != 0:
            raise AssertionError(f"synapse store inconsistent (code {code})")

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        return {
            "num_owners": self.num_owners,
            "num_presynaptic": self.num_presynaptic,
            "segment_capacity": self.segment_capacity,
            "arrays": {name: np.array(a) for name, a in zip(K.StoreArrays._fields, self.arrays,
                                                              strict=True)},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SynapseStore:
        """Build a store from :meth:`get_state`'s dict, validating every array first
        (:meth:`validate`); raises ``FormatError`` naming the field on a bad state."""
        obj = cls.__new__(cls)
        where = "SynapseStore"
        obj.num_owners = _state_int(state, "num_owners", where)
        obj.num_presynaptic = _state_int(state, "num_presynaptic", where)
        obj.segment_capacity = _state_int(state, "segment_capacity", where)
        arrays = state["arrays"]
        if not isinstance(arrays, dict):
            raise FormatError(f"{where}: field 'arrays' is not a dict")
        for name in K.StoreArrays._fields:
            if not isinstance(arrays.get(name), np.ndarray):
                raise FormatError(f"{where}: array {name!r} is missing")
        obj.arrays = K.StoreArrays(*[np.array(arrays[name]) for name in K.StoreArrays._fields])
        obj.validate()
        return obj

    def validate(self) -> None:
        """Check the arrays' dtypes, lengths and every index in them (as after loading a
        file); raise ``FormatError`` naming the first bad field. Runs in O(size of the
        store)."""
        where = "SynapseStore"
        if self.num_owners < 1 or self.num_presynaptic < 1 or self.segment_capacity < 1:
            raise FormatError(f"{where}: num_owners, num_presynaptic and segment_capacity "
                              "must be positive")
        st = self.arrays
        for name, dtype in _STORE_DTYPES.items():
            a = getattr(st, name)
            if a.dtype != np.dtype(dtype) or a.ndim != 1:
                raise FormatError(f"{where}: array {name!r} is {a.dtype.str} with {a.ndim} "
                                  f"dimensions, expected a vector of {np.dtype(dtype).str}")
        n_seg = st.seg_nsyn.shape[0]
        expect = {
            "presyn": n_seg * self.segment_capacity, "perm": n_seg * self.segment_capacity,
            "rev_pos": n_seg * self.segment_capacity,
            "seg_owner": n_seg, "seg_last_used": n_seg, "seg_next": n_seg,
            "seg_prev": n_seg, "free_segs": n_seg,
            "owner_first": self.num_owners, "owner_nseg": self.num_owners,
            "rev_start": self.num_presynaptic, "rev_count": self.num_presynaptic,
            "rev_cap": self.num_presynaptic, "meta": K.META_SIZE,
        }
        if n_seg < 1:
            raise FormatError(f"{where}: array 'seg_nsyn' is empty")
        for name, n in expect.items():
            if getattr(st, name).shape[0] != n:
                raise FormatError(f"{where}: array {name!r} has length "
                                  f"{getattr(st, name).shape[0]}, expected {n}")
        code, index = K.validate_store(st, self.num_owners, self.num_presynaptic,
                                       self.segment_capacity)
        if code:
            field, what = _STORE_RULES[int(code)]
            raise FormatError(f"{where}: {field}: {what} (at entry {int(index)})")
