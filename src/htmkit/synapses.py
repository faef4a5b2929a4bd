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
from .serialization import Persistable, state_dict, state_int

#: dtype of each store array (a file's arrays must have exactly these)
_STORE_DTYPES = {
    "presyn": np.int32, "perm": np.float32, "rev_pos": np.int32,
    "seg_nsyn": np.int32, "seg_owner": np.int32, "seg_last_used": np.int64,
    "seg_next": np.int32, "seg_prev": np.int32, "seg_chunk": np.int32, "seg_nchunk": np.int32,
    "free_segs": np.int32, "owner_first": np.int32, "owner_nseg": np.int32,
    "rev_start": np.int64, "rev_count": np.int32, "rev_cap": np.int32,
    "arena": np.int32, "chunk_seg": np.int32, "free_blocks": np.int64, "meta": np.int64,
}

#: what each failure code of :func:`htmkit.kernels.synapses.validate_store` means
_STORE_RULES = {
    1: ("meta", "a counter is out of range"),
    2: ("rev_start/rev_count/rev_cap", "a reverse-index bucket is out of range or over "
        "capacity"),
    3: ("rev_start/rev_cap", "reverse-index buckets overlap"),
    4: ("seg_nsyn", "a segment's synapse count is outside [0, segment_capacity] or its block"),
    5: ("seg_owner", "a segment owner is out of range"),
    6: ("seg_next/seg_prev", "a segment link is out of range"),
    7: ("seg_owner", "a free segment holds synapses, links or a block"),
    8: ("meta", "a segment in use lies beyond the high-water mark"),
    9: ("presyn", "a presynaptic index is out of range"),
    10: ("perm", "a permanence is outside [0, 1]"),
    11: ("rev_pos", "a synapse is missing from the reverse index"),
    12: ("meta", "the synapse count does not match the segments"),
    13: ("arena", "a reverse-index entry does not point back to its synapse"),
    14: ("free_segs", "the free-segment stack does not match the free segments"),
    15: ("owner_first/owner_nseg/seg_next", "an owner's segment list is broken"),
    16: ("seg_chunk/seg_nchunk/chunk_seg/free_blocks", "a segment's block of chunks or a "
         "free block is out of range or shared"),
}

#: largest slot, chunk or arena position the int32 indexes can address
_INDEX_LIMIT = 2**31 - 2


def _grow(a: np.ndarray, n: int, fill: Any) -> np.ndarray:
    """``a`` lengthened to ``n`` entries, the new ones ``fill``."""
    out = np.full(n, fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


def _to_int32(a: Any, name: str) -> np.ndarray:
    """An integer array of an old file as int32 (FormatError when it does not fit)."""
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "iu":
        raise FormatError(f"SynapseStore: array {name!r} is missing or not integer")
    if a.size and (int(a.min()) < -(2**31) or int(a.max()) > _INDEX_LIMIT):
        raise FormatError(f"SynapseStore: array {name!r} holds a value outside int32")
    return a.astype(np.int32)


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
    chunk : int, optional
        ``None`` (the default): *fixed* layout, every segment reserves ``segment_capacity``
        slots (segment ``s`` at slot ``s * segment_capacity``; the Spatial Pooler and
        temporal pooler, whose segments are filled at once). A number: *grown* layout, a
        segment's slots grow ``chunk`` at a time as it gains synapses, so the memory follows
        the synapses held (the Temporal Memory).
    """

    #: 2: segments' blocks of chunks (grown layout), int32 reverse index (1: every segment
    #: reserved ``segment_capacity`` slots, int64 reverse index)
    STATE_VERSION = 2

    @staticmethod
    def estimate_bytes(num_owners: float, num_presynaptic: float, segment_capacity: float,
                       segments: float, arena: float | None = None,
                       slots: float | None = None) -> float:
        """Bytes a store of ``segments`` segments allocates: per synapse slot ``presyn``,
        ``perm`` and ``rev_pos`` (``slots``, by default ``segments * segment_capacity``, one
        ``chunk_seg`` entry per ``segment_capacity`` slots); per segment its eight fields
        and the free list; per owner ``owner_first`` and ``owner_nseg``; per presynaptic cell
        the reverse-index heads; and the reverse-index arena (``arena`` entries, by default
        one per synapse slot)."""
        slots = float(segments) * float(segment_capacity) if slots is None else float(slots)
        arena = slots if arena is None else float(arena)
        return (slots * (4 + 4 + 4) + float(segments) * (4 + 4 + 8 + 4 + 4 + 4 + 4 + 4 + 4)
                + float(num_owners) * (4 + 4) + float(num_presynaptic) * (8 + 4 + 4)
                + arena * 4)

    def __init__(
        self,
        num_owners: int,
        num_presynaptic: int,
        segment_capacity: int,
        initial_segments: int = 1024,
        chunk: int | None = None,
    ):
        if num_owners < 1 or num_presynaptic < 1 or segment_capacity < 1:
            raise ParameterError("SynapseStore sizes must be positive")
        if chunk is not None and chunk < 1:
            raise ParameterError(f"chunk must be positive, got {chunk}")
        self.num_owners = int(num_owners)
        self.num_presynaptic = int(num_presynaptic)
        self.segment_capacity = int(segment_capacity)
        n_seg = max(1, int(initial_segments))
        cap = self.segment_capacity
        fixed = chunk is None
        ch = cap if fixed else min(int(chunk), cap)  # type: ignore[arg-type]
        n_chunks = n_seg if fixed else 64
        meta = np.zeros(K.META_SIZE, dtype=np.int64)
        meta[K.M_FREE] = n_seg
        meta[K.M_CHUNK] = ch
        meta[K.M_CAP] = cap
        meta[K.M_FIXED] = int(fixed)
        self.arrays = K.StoreArrays(
            presyn=np.full(n_chunks * ch, -1, dtype=np.int32),
            perm=np.zeros(n_chunks * ch, dtype=np.float32),
            rev_pos=np.zeros(n_chunks * ch, dtype=np.int32),
            seg_nsyn=np.zeros(n_seg, dtype=np.int32),
            seg_owner=np.full(n_seg, -1, dtype=np.int32),
            seg_last_used=np.zeros(n_seg, dtype=np.int64),
            seg_next=np.full(n_seg, -1, dtype=np.int32),
            seg_prev=np.full(n_seg, -1, dtype=np.int32),
            seg_chunk=np.full(n_seg, -1, dtype=np.int32),
            seg_nchunk=np.zeros(n_seg, dtype=np.int32),
            # popped from the end: segment 0 is handed out first
            free_segs=np.arange(n_seg - 1, -1, -1, dtype=np.int32),
            owner_first=np.full(self.num_owners, -1, dtype=np.int32),
            owner_nseg=np.zeros(self.num_owners, dtype=np.int32),
            rev_start=np.zeros(self.num_presynaptic, dtype=np.int64),
            rev_count=np.zeros(self.num_presynaptic, dtype=np.int32),
            rev_cap=np.zeros(self.num_presynaptic, dtype=np.int32),
            arena=np.zeros(0, dtype=np.int32),
            chunk_seg=np.full(n_chunks, -1, dtype=np.int32),
            free_blocks=np.full((cap + ch - 1) // ch + 1, -1, dtype=np.int64),
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

    @property
    def fixed(self) -> bool:
        """Whether every segment reserves ``segment_capacity`` slots (see ``chunk``)."""
        return bool(self.arrays.meta[K.M_FIXED])

    @property
    def chunk(self) -> int:
        """Slots per chunk (``segment_capacity`` in the fixed layout)."""
        return int(self.arrays.meta[K.M_CHUNK])

    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.arrays))

    # ------------------------------------------------------------------ growth
    def reserve(self, free_segments: int, new_synapses: int, new_chunks: int = 0) -> None:
        """Make sure ``free_segments`` segments can be created, ``new_synapses`` synapses
        added and (grown layout) ``new_chunks`` chunks taken from the top of the chunk area
        by the next kernel call without running out of room. Cheap when nothing grows; the
        slot arrays and the arena grow geometrically (by half), so their copies are rare.
        """
        st = self.arrays
        if st.meta[K.M_FREE] < free_segments:
            self._grow_segments(max(free_segments - int(st.meta[K.M_FREE]),
                                    self.num_segments_allocated))
            st = self.arrays
        if not st.meta[K.M_FIXED]:
            n_chunks = st.chunk_seg.shape[0]
            need_chunks = int(st.meta[K.M_CTOP]) + int(new_chunks)
            if n_chunks < need_chunks and 4 * int(st.seg_nchunk.sum()) < 3 * int(
                    st.meta[K.M_CTOP]):
                # over a quarter of the chunks below the top are free blocks: pack the
                # blocks down before growing (keeps the area bounded on endless streams)
                K.compact_chunks(st)
                need_chunks = int(st.meta[K.M_CTOP]) + int(new_chunks)
            if n_chunks < need_chunks:
                new = max(need_chunks, n_chunks + n_chunks // 2)
                ch = int(st.meta[K.M_CHUNK])
                if new * ch > _INDEX_LIMIT:
                    raise ParameterError("synapse store: more than 2**31 synapse slots")
                self.arrays = st = st._replace(
                    presyn=_grow(st.presyn, new * ch, -1), perm=_grow(st.perm, new * ch, 0.0),
                    rev_pos=_grow(st.rev_pos, new * ch, 0),
                    chunk_seg=_grow(st.chunk_seg, new, -1))
        need = int(K.arena_needs(st, int(new_synapses)))
        if st.arena.shape[0] < need:
            new = max(need, st.arena.shape[0] + st.arena.shape[0] // 2)
            if new > _INDEX_LIMIT:
                raise ParameterError("synapse store: reverse index over 2**31 entries")
            self.arrays = st._replace(arena=_grow(st.arena, new, 0))

    def _grow_segments(self, extra: int) -> None:
        st = self.arrays
        old = st.seg_nsyn.shape[0]
        new = old + int(extra)
        cap = self.segment_capacity

        n_free = int(st.meta[K.M_FREE])
        free = np.full(new, -1, dtype=np.int32)  # unused tail stays -1 (deterministic)
        # new ids below the existing free ones, so the lowest free id is popped first
        free[: new - old] = np.arange(new - 1, old - 1, -1, dtype=np.int32)
        free[new - old : new - old + n_free] = st.free_segs[:n_free]
        st.meta[K.M_FREE] = n_free + (new - old)
        slots = {}
        if st.meta[K.M_FIXED]:
            if new * cap > _INDEX_LIMIT:
                raise ParameterError("synapse store: more than 2**31 synapse slots")
            slots = dict(presyn=_grow(st.presyn, new * cap, -1),
                         perm=_grow(st.perm, new * cap, 0.0),
                         rev_pos=_grow(st.rev_pos, new * cap, 0),
                         chunk_seg=_grow(st.chunk_seg, new, -1))
        self.arrays = st._replace(
            seg_nsyn=_grow(st.seg_nsyn, new, 0),
            seg_owner=_grow(st.seg_owner, new, -1),
            seg_last_used=_grow(st.seg_last_used, new, 0),
            seg_next=_grow(st.seg_next, new, -1),
            seg_prev=_grow(st.seg_prev, new, -1),
            seg_chunk=_grow(st.seg_chunk, new, -1),
            seg_nchunk=_grow(st.seg_nchunk, new, 0),
            free_segs=free,
            **slots,
        )

    def fill(self, owners: np.ndarray, seg_ptr: np.ndarray, presyn: np.ndarray,
             perm: np.ndarray) -> None:
        """Bulk-fill an empty store: segment ``i`` is owned by ``owners[i]`` and gets synapses
        ``presyn[seg_ptr[i]:seg_ptr[i+1]]`` with permanences ``perm[...]`` (CSR input)."""
        if self.num_segments:
            raise ValueError("fill() needs an empty store")
        n_seg = len(seg_ptr) - 1
        sizes = np.diff(seg_ptr)
        if np.any(sizes > self.segment_capacity):
            raise ValueError("a segment has more synapses than segment_capacity")
        ch = self.chunk
        self.reserve(n_seg, int(seg_ptr[-1]), int(((sizes + ch - 1) // ch).sum()))
        K.build_static(self.arrays, np.asarray(owners, dtype=np.int32),
                       np.asarray(seg_ptr, dtype=np.int64), np.asarray(presyn, dtype=np.int32),
                       np.asarray(perm, dtype=np.float32))

    def regrown(self, chunk: int) -> SynapseStore:
        """A copy of this store in the grown layout with ``chunk`` slots per chunk: the same
        segments (ids, owners, lists), synapses (in the same order in each segment) and
        reverse-index buckets (same order), each segment in a block just large enough."""
        st = self.arrays
        out = SynapseStore.__new__(SynapseStore)
        out.num_owners = self.num_owners
        out.num_presynaptic = self.num_presynaptic
        out.segment_capacity = cap = self.segment_capacity
        ch = max(1, min(int(chunk), cap))
        old_ch = int(st.meta[K.M_CHUNK])
        used = st.seg_owner >= 0
        nsyn = st.seg_nsyn.astype(np.int64)
        k = np.where(used, (nsyn + ch - 1) // ch, 0)
        first = np.cumsum(k) - k
        n_chunks = int(k.sum())
        total = n_chunks + max(64, n_chunks // 2)
        seg_chunk = np.where(k > 0, first, -1).astype(np.int32)
        chunk_seg = np.full(total, -1, dtype=np.int32)
        chunk_seg[:n_chunks] = np.repeat(np.arange(k.shape[0], dtype=np.int32), k)
        seg_ids = np.repeat(np.arange(nsyn.shape[0]), nsyn)
        offs = np.arange(seg_ids.shape[0]) - np.repeat(np.cumsum(nsyn) - nsyn, nsyn)
        old_base = np.where(st.seg_chunk >= 0, st.seg_chunk.astype(np.int64) * old_ch, 0)
        old_slot = old_base[seg_ids] + offs
        new_slot = first[seg_ids] * ch + offs
        presyn = np.full(total * ch, -1, dtype=np.int32)
        perm = np.zeros(total * ch, dtype=np.float32)
        rev_pos = np.zeros(total * ch, dtype=np.int32)
        presyn[new_slot] = st.presyn[old_slot]
        perm[new_slot] = st.perm[old_slot]
        rev_pos[new_slot] = st.rev_pos[old_slot]
        arena = st.arena.copy()
        arena[st.rev_pos[old_slot]] = new_slot
        meta = st.meta.copy()
        meta[K.M_CHUNK] = ch
        meta[K.M_CTOP] = n_chunks
        meta[K.M_FIXED] = 0
        out.arrays = st._replace(
            presyn=presyn, perm=perm, rev_pos=rev_pos, seg_chunk=seg_chunk,
            seg_nchunk=k.astype(np.int32), chunk_seg=chunk_seg, arena=arena,
            free_blocks=np.full((cap + ch - 1) // ch + 1, -1, dtype=np.int64), meta=meta,
            seg_nsyn=st.seg_nsyn.copy(), seg_owner=st.seg_owner.copy(),
            seg_last_used=st.seg_last_used.copy(), seg_next=st.seg_next.copy(),
            seg_prev=st.seg_prev.copy(), free_segs=st.free_segs.copy(),
            owner_first=st.owner_first.copy(), owner_nseg=st.owner_nseg.copy(),
            rev_start=st.rev_start.copy(), rev_count=st.rev_count.copy(),
            rev_cap=st.rev_cap.copy())
        out.reserve(0, 0)
        return out

    # ------------------------------------------------------------------ access
    def segment_synapses(self, seg: int) -> tuple[np.ndarray, np.ndarray]:
        """(presynaptic indices, permanences) of one segment (copies)."""
        st = self.arrays
        n = int(st.seg_nsyn[seg])
        lo = int(st.seg_chunk[seg]) * self.chunk if n else 0
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
    def _upgrade_state(cls, state: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Version 1 -> 2: the old layout (``segment_capacity`` slots per segment, int64
        reverse index) becomes the fixed layout of version 2; every index is still checked
        by :meth:`validate` after the upgrade."""
        if from_version != 1:
            return super()._upgrade_state(state, from_version)
        where = "SynapseStore"
        arrays = state_dict(state, "arrays", where)
        for name in ("seg_owner", "rev_cap", "meta", "rev_pos", "arena"):
            a = arrays.get(name)
            if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype.kind not in "iu":
                raise FormatError(f"{where}: array {name!r} is missing or not an integer "
                                  "vector")
        meta_old = arrays["meta"]
        if meta_old.shape[0] != 5:
            raise FormatError(f"{where}: array 'meta' has length {meta_old.shape[0]}, "
                              "expected 5 (state version 1)")
        cap = state_int(state, "segment_capacity", where)
        owner = arrays["seg_owner"]
        used = owner >= 0
        ids = np.arange(owner.shape[0], dtype=np.int32)
        meta = np.zeros(K.META_SIZE, dtype=np.int64)
        meta[:5] = meta_old
        meta[K.M_CHUNK] = cap
        meta[K.M_CAP] = cap
        meta[K.M_FIXED] = 1
        rev_cap = arrays["rev_cap"]
        meta[K.M_MAXB] = int(rev_cap.max()) if rev_cap.size else 0
        new = dict(arrays)
        new.update(
            rev_pos=_to_int32(arrays["rev_pos"], "rev_pos"),
            arena=_to_int32(arrays["arena"], "arena"),
            seg_chunk=np.where(used, ids, -1).astype(np.int32),
            seg_nchunk=used.astype(np.int32),
            chunk_seg=np.where(used, ids, -1).astype(np.int32),
            free_blocks=np.full(2, -1, dtype=np.int64),
            meta=meta,
        )
        return {**state, "arrays": new}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SynapseStore:
        """Build a store from :meth:`get_state`'s dict, validating every array first
        (:meth:`validate`); raises ``FormatError`` naming the field on a bad state."""
        obj = cls.__new__(cls)
        where = "SynapseStore"
        obj.num_owners = state_int(state, "num_owners", where)
        obj.num_presynaptic = state_int(state, "num_presynaptic", where)
        obj.segment_capacity = state_int(state, "segment_capacity", where)
        arrays = state_dict(state, "arrays", where)
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
        if st.meta.shape[0] != K.META_SIZE:
            raise FormatError(f"{where}: array 'meta' has length {st.meta.shape[0]}, expected "
                              f"{K.META_SIZE}")
        cap = self.segment_capacity
        ch = int(st.meta[K.M_CHUNK])
        fixed = int(st.meta[K.M_FIXED])
        if not 1 <= ch <= cap or fixed not in (0, 1) or (fixed and ch != cap):
            raise FormatError(f"{where}: meta: the chunk size {ch} (fixed layout {fixed}) does "
                              f"not fit segment_capacity {cap}")
        n_chunks = st.chunk_seg.shape[0]
        expect = {
            "presyn": n_chunks * ch, "perm": n_chunks * ch, "rev_pos": n_chunks * ch,
            "seg_owner": n_seg, "seg_last_used": n_seg, "seg_next": n_seg,
            "seg_prev": n_seg, "seg_chunk": n_seg, "seg_nchunk": n_seg, "free_segs": n_seg,
            "owner_first": self.num_owners, "owner_nseg": self.num_owners,
            "rev_start": self.num_presynaptic, "rev_count": self.num_presynaptic,
            "rev_cap": self.num_presynaptic, "free_blocks": (cap + ch - 1) // ch + 1,
        }
        if fixed:
            expect["chunk_seg"] = n_seg
        if n_seg < 1:
            raise FormatError(f"{where}: array 'seg_nsyn' is empty")
        if n_chunks * ch > _INDEX_LIMIT or st.arena.shape[0] > _INDEX_LIMIT:
            raise FormatError(f"{where}: more than 2**31 synapse slots or arena entries")
        for name, n in expect.items():
            if getattr(st, name).shape[0] != n:
                raise FormatError(f"{where}: array {name!r} has length "
                                  f"{getattr(st, name).shape[0]}, expected {n}")
        code, index = K.validate_store(st, self.num_owners, self.num_presynaptic,
                                       self.segment_capacity)
        if code:
            field, what = _STORE_RULES[int(code)]
            raise FormatError(f"{where}: {field}: {what} (at entry {int(index)})")
