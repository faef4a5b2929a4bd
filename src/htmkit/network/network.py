"""The :class:`Network`: named regions wired by feed-forward, basal and apical links.

Semantics
---------
* **Ports and links.** A link carries one output of its *source* region (the main output, or
  a named one with ``output=``) into one input *port* of its *target*; the port is the link's
  ``kind`` (``"feedforward"``, ``"basal"``, ``"apical"``, or another port the target declares,
  e.g. the temporal pooler's ``"predicted"``).
* **Fan-out.** One output may feed any number of links.
* **Fan-in.** Several links into the same port are combined into one SDR:

  - with ``tile=(rows, cols)`` (any number of grid axes) the sources, all of the same shape
    ``(h, w, *rest)``, are laid out on a grid over their leading axes: four ``(h, w, d)``
    children on a 2x2 grid become a ``(2h, 2w, d)`` input. A link's cell of the grid is its
    ``position=(r, c)``, or, when no link of the port gives one, the order in which the links
    were declared (row-major);
  - without ``tile``, sources that agree on every axis but the last are concatenated along
    the last axis (``(h, w, d1) + (h, w, d2) -> (h, w, d1 + d2)``); otherwise they are
    flattened and concatenated in declaration order.

  ``crop=[[r0, r1], [c0, c1]]`` takes a window ``[r0:r1, c0:c1]`` (leading axes) of the
  source output first (e.g. an image patch for one child region). The combined input must
  have the size of the target port; it takes the port's declared shape.
* **Delays.** A link with ``delay=1`` delivers the source's output of the *previous* step
  (empty SDRs on the first step and after :meth:`Network.reset`). Apical links default to
  ``delay=1`` (feedback), the other kinds to 0.
* **Order.** Regions are computed in a topological order of the links with delay 0 (ties
  in the order the regions were added); a cycle of undelayed links raises a
  :class:`NetworkError` naming it.
* **Values.** :meth:`Network.run` checks (and encodes) the value of every region that takes
  one (sensors, classifier labels, the streaming regions' records) before it keeps any of
  them or computes any region: a rejected value raises :class:`~htmkit.errors.InputError`
  naming the region and changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, InputError, InputTypeError, ParameterError
from ..params import check_memory, format_bytes, get_memory_limit
from ..sdr import SDR
from ..serialization import Persistable, state_array
from .regions import RegionBase, _sdr_view, region_type

__all__ = ["Network", "Link", "NetworkError", "DEFAULT_DELAY"]

Shape = tuple[int, ...]

#: Default delay of each link kind (other ports: 0).
DEFAULT_DELAY = {"feedforward": 0, "basal": 0, "apical": 1}

_LINK_KEYS = ("source", "target", "kind", "output", "tile", "position", "crop", "delay")


class NetworkError(ParameterError):
    """A network is wired or configured inconsistently; the message names the region/link."""


def _int_tuple(value: Any, what: str, low: int) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,)
    try:
        out = tuple(int(v) for v in value)
        ok = all(not isinstance(v, bool) and int(v) == v for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok or not out or min(out) < low:
        raise NetworkError(f"{what} must be a non-empty sequence of ints >= {low}, "
                           f"got {value!r}")
    return out


@dataclass(frozen=True)
class Link:
    """One connection from an output of ``source`` to the ``kind`` port of ``target``."""

    source: str
    target: str
    kind: str = "feedforward"
    output: str | None = None
    tile: tuple[int, ...] | None = None
    position: tuple[int, ...] | None = None
    crop: tuple[tuple[int, int], ...] | None = None
    delay: int = 0

    @property
    def name(self) -> str:
        """``"source -> target (kind)"``, used in messages."""
        out = f".{self.output}" if self.output else ""
        return f"{self.source}{out} -> {self.target} ({self.kind})"

    def to_dict(self) -> dict[str, Any]:
        """The link as a config entry (defaults left out)."""
        d: dict[str, Any] = {"source": self.source, "target": self.target}
        if self.kind != "feedforward":
            d["kind"] = self.kind
        if self.output is not None:
            d["output"] = self.output
        if self.tile is not None:
            d["tile"] = list(self.tile)
        if self.position is not None:
            d["position"] = list(self.position)
        if self.crop is not None:
            d["crop"] = [list(c) for c in self.crop]
        if self.delay != DEFAULT_DELAY.get(self.kind, 0):
            d["delay"] = self.delay
        return d

    def describe(self) -> str:
        parts = [self.kind]
        if self.delay:
            parts.append(f"delay {self.delay}")
        if self.tile is not None:
            pos = "" if self.position is None else f" @ {self.position}"
            parts.append(f"tile {self.tile}{pos}")
        if self.crop is not None:
            parts.append("crop " + ", ".join(f"{a}:{b}" for a, b in self.crop))
        out = f".{self.output}" if self.output else ""
        return f"{self.source}{out} -> {self.target}  [{', '.join(parts)}]"


# ============================================================================ composition
@dataclass
class _PortPlan:
    port: str
    shape: Shape                       # the target's declared port shape
    links: list[Link]
    maps: list[np.ndarray | None]      # per link: source flat index -> port flat index (-1: out)
    identity: bool                     # a single uncropped link: pass through (reshape)


def _crop_shape(link: Link, shape: Shape) -> Shape:
    if link.crop is None:
        return shape
    if len(link.crop) > len(shape):
        raise NetworkError(f"link {link.name}: crop has {len(link.crop)} axes but the source "
                           f"output has shape {shape}")
    out = []
    for axis, ((a, b), n) in enumerate(zip(link.crop, shape, strict=False)):
        if not 0 <= a < b <= n:
            raise NetworkError(f"link {link.name}: crop [{a}:{b}] is outside axis {axis} of "
                               f"the source output (size {n})")
        out.append(b - a)
    return (*out, *shape[len(link.crop):])


def _compose(links: Sequence[Link], source_shapes: Sequence[Shape], where: str,
             with_maps: bool) -> tuple[Shape, list[np.ndarray | None]]:
    """Combined shape of the links into one port, and each link's index map."""
    shapes = [_crop_shape(lk, s) for lk, s in zip(links, source_shapes, strict=True)]
    tiled = [lk.tile is not None for lk in links]
    n = len(links)
    # per link: (offset per composed axis) in a common composed shape, or a flat offset
    if any(tiled):
        if not all(tiled):
            raise NetworkError(f"{where}: some links have tile=... and some do not")
        tile = links[0].tile
        assert tile is not None
        if any(lk.tile != tile for lk in links):
            raise NetworkError(f"{where}: links disagree on tile "
                               f"({sorted({lk.tile or () for lk in links})})")
        m = len(tile)
        cells = int(np.prod(tile))
        if n != cells:
            raise NetworkError(f"{where}: tile {tile} needs {cells} links, got {n}")
        child = shapes[0]
        if any(s != child for s in shapes):
            raise NetworkError(f"{where}: tiled sources must have the same shape, got "
                               f"{[tuple(s) for s in shapes]}")
        if len(child) < m:
            raise NetworkError(f"{where}: tile {tile} has more axes than the source shape "
                               f"{child}")
        given = [lk.position is not None for lk in links]
        if any(given) and not all(given):
            raise NetworkError(f"{where}: give position=... for all tiled links or for none")
        if all(given):
            positions = [tuple(lk.position) for lk in links]  # type: ignore[arg-type]
        else:
            positions = [tuple(int(v) for v in np.unravel_index(i, tile)) for i in range(n)]
        for lk, pos in zip(links, positions, strict=True):
            if len(pos) != m or any(not 0 <= p < t for p, t in zip(pos, tile, strict=True)):
                raise NetworkError(f"link {lk.name}: position {pos} is not a cell of tile "
                                   f"{tile}")
        if len(set(positions)) != n:
            raise NetworkError(f"{where}: two links share a tile position")
        composed = (*(t * c for t, c in zip(tile, child, strict=False)), *child[m:])
        offsets = [tuple(p * c for p, c in zip(pos, child, strict=False)) + (0,) * (
            len(child) - m) for pos in positions]
        mode = "axes"
    elif n == 1:
        composed = shapes[0]
        offsets = [(0,) * len(composed)]
        mode = "axes"
    elif (len({len(s) for s in shapes}) == 1 and len(shapes[0]) > 1
          and len({s[:-1] for s in shapes}) == 1):
        lead = shapes[0][:-1]
        last = [s[-1] for s in shapes]
        composed = (*lead, int(sum(last)))
        starts = np.cumsum([0, *last[:-1]])
        offsets = [(0,) * len(lead) + (int(st),) for st in starts]
        mode = "axes"
    else:
        sizes = [int(np.prod(s)) for s in shapes]
        composed = (int(sum(sizes)),)
        offsets = [(int(st),) for st in np.cumsum([0, *sizes[:-1]])]
        mode = "flat"
    if not with_maps:
        return composed, []
    maps: list[np.ndarray | None] = []
    for lk, src, cropped, off in zip(links, source_shapes, shapes, offsets, strict=True):
        if n == 1 and lk.crop is None:
            maps.append(None)
            continue
        size = int(np.prod(src))
        coords = list(np.unravel_index(np.arange(size, dtype=np.int64), src))
        inside = np.ones(size, dtype=bool)
        for axis, (a, b) in enumerate(lk.crop or ()):
            inside &= (coords[axis] >= a) & (coords[axis] < b)
            coords[axis] = coords[axis] - a
        out = np.full(size, -1, dtype=np.int64)
        sel = [c[inside] for c in coords]
        if mode == "flat":
            flat = np.ravel_multi_index(tuple(sel), cropped) if cropped else sel[0]
            out[inside] = flat + off[0]
        else:
            moved = tuple(c + o for c, o in zip(sel, off, strict=True))
            out[inside] = np.ravel_multi_index(moved, composed)
        maps.append(out)
    return composed, maps


# ============================================================================ network
#: How :meth:`Network.run` reads one link's value: (delayed?, source, output name).
_Read = tuple[bool, str, str]


@dataclass
class _Plan:
    order: list[str]
    levels: dict[str, int]
    ports: dict[str, list[_PortPlan]]
    delayed: list[tuple[str, str]]          # (source, output name) read with delay 1
    # precompiled for Network.run
    # regions taking a value: (name, prepare: value -> prepared, commit: prepared -> None)
    sensors: list[tuple[str, Any, Any]]
    sensor_names: frozenset[str]
    needs_value: list[str]                  # sensors that must be given one
    # per region in order: (name, compute, [(port, shape, mode, reads, data)]) with mode
    # 0: pass one link through, 1: concatenate with flat offsets, 2: index maps
    steps: list[tuple[str, Any, list[tuple[str, Shape, int, list[_Read], list[Any]]]]]


def _flat_offsets(pp: _PortPlan, source_shapes: Sequence[Shape]) -> list[int] | None:
    """Offsets when the port is a plain concatenation of its uncropped, untiled links in
    order (each source's flat indices shifted by the sizes before it), else ``None``."""
    if any(lk.crop is not None or lk.tile is not None for lk in pp.links):
        return None
    shapes = [tuple(s) for s in source_shapes]
    if len(shapes) < 2 or any(len(s) != 1 for s in shapes):
        return None
    out: list[int] = []
    start = 0
    for s in shapes:
        out.append(start)
        start += int(s[0])
    return out


def _keep(value: Any) -> Any:
    return value


def _value_hooks(region: Any) -> tuple[Any, Any]:
    """``(prepare, commit)`` of a region taking a value: its ``prepare_value`` /
    ``commit_value`` when it has both, else no check and ``set_value``."""
    prepare = getattr(region, "prepare_value", None)
    commit = getattr(region, "commit_value", None)
    if prepare is None or commit is None:
        return _keep, region.set_value
    return prepare, commit


def _input_error(name: str, exc: Exception) -> InputError:
    """``exc`` (raised by sensor ``name`` on its value) as an :class:`InputError` whose message
    names the sensor (unless it starts with that name already, e.g. an encoder's field)."""
    msg = str(exc)
    if not msg.startswith(f"{name}:"):
        msg = f"{name}: {msg}"
    if isinstance(exc, InputError):
        try:
            return type(exc)(msg)
        except TypeError:  # a subclass with another signature
            return InputError(msg)
    return InputTypeError(msg)


def _output_shapes(region: Any) -> dict[str, Shape]:
    shapes = dict(getattr(region, "output_shapes", None) or {})
    shapes.setdefault("output", tuple(region.output_shape))
    return {k: tuple(v) for k, v in shapes.items()}


def _type_name(region: Any) -> str:
    return getattr(region, "type_name", "") or type(region).__name__


def _link_map_bytes(source: Shape) -> float:
    """Bytes of the index map a link that shares its port or crops builds over its source:
    per source bit the int64 coordinates per axis and their selection, the inside mask and
    the int64 map."""
    return float(np.prod([float(d) for d in source])) * (16 * len(source) + 1 + 8)


def region_bytes(region: Any) -> float:
    """Estimated bytes of a built region: the sum of ``params.estimated_bytes()`` over the
    algorithms it holds (an SP, TM, TP, predictor, likelihood ...; 0 for sensors)."""
    total = 0.0
    for part in vars(region).values():
        estimate = getattr(getattr(part, "params", None), "estimated_bytes", None)
        if estimate is None:
            continue
        try:
            value = estimate()
        except TypeError:  # an estimate that needs arguments (an encoder's per-step one)
            continue
        total += float(sum(value.values())) if isinstance(value, dict) else float(value)
    return total


class Network(Persistable):
    """A graph of named regions (see the module docstring for the link semantics).

    Examples
    --------
    >>> net = Network()
    >>> _ = net.add_region("eye", SDRSensor((16, 16)))
    >>> _ = net.add_region("sp", SpatialPoolerRegion(input_dimensions=(16, 16),
    ...                                               column_dimensions=(8, 8)))
    >>> _ = net.link("eye", "sp")
    >>> out = net.run({"eye": SDR.random((16, 16), 0.1, seed=1)})
    >>> out["sp"].shape
    (8, 8)
    """

    def __init__(self, name: str = "network"):
        self.name = str(name)
        self._regions: dict[str, Any] = {}
        self._links: list[Link] = []
        self._plan: _Plan | None = None
        self._delayed: dict[tuple[str, str], SDR] = {}
        self._outputs: dict[str, SDR] = {}
        self._step = 0

    # ------------------------------------------------------------------ building
    def add_region(self, name: str, region: Any) -> Any:
        """Add ``region`` (anything implementing :class:`Region`) under ``name``; returns it."""
        if not isinstance(name, str) or not name or any(c in name for c in "\n\t") \
                or name != name.strip():
            raise NetworkError(f"region name must be a non-empty string without surrounding "
                               f"spaces, got {name!r}")
        if name in self._regions:
            raise NetworkError(f"a region named {name!r} already exists")
        missing = [m for m in ("input_shapes", "output_shape", "compute", "reset",
                               "get_state") if not hasattr(region, m)]
        if missing:
            raise NetworkError(f"region {name!r} ({type(region).__name__}) does not implement "
                               f"the Region interface: missing {missing}")
        self._regions[name] = region
        self._invalidate()
        return region

    def link(self, source: str, target: str, kind: str = "feedforward", *,
             output: str | None = None, tile: Sequence[int] | None = None,
             position: Sequence[int] | None = None,
             crop: Sequence[Sequence[int]] | None = None, delay: int | None = None) -> Link:
        """Connect ``source`` to the ``kind`` port of ``target``; returns the :class:`Link`.

        Parameters
        ----------
        kind : str
            Target port: ``"feedforward"``, ``"basal"``, ``"apical"`` or another port the
            target declares in ``input_shapes``.
        output : str, optional
            A named output of the source (e.g. ``"predicted_active_cells"`` of a TM region);
            default its main output.
        tile, position : sequence of int, optional
            Fan-in grid layout (see the module docstring).
        crop : sequence of (start, stop), optional
            Window of the source output's leading axes.
        delay : {0, 1}, optional
            1: use the source's output of the previous step. Default: 1 for apical, else 0.
        """
        n = len(self._links)
        where = f"link {n} ({source} -> {target})"
        for role, nm in (("source", source), ("target", target)):
            if nm not in self._regions:
                raise NetworkError(f"{where}: no region named {nm!r} ({role}); regions: "
                                   f"{sorted(self._regions)}")
        if not isinstance(kind, str) or not kind:
            raise NetworkError(f"{where}: kind must be a port name, got {kind!r}")
        if output is not None and not isinstance(output, str):
            raise NetworkError(f"{where}: output must be a string, got {output!r}")
        if delay is None:
            delay = DEFAULT_DELAY.get(kind, 0)
        if isinstance(delay, bool) or delay not in (0, 1):
            raise NetworkError(f"{where}: delay must be 0 or 1, got {delay!r}")
        tile_t = None if tile is None else _int_tuple(tile, f"{where}: tile", 1)
        pos_t = None if position is None else _int_tuple(position, f"{where}: position", 0)
        if pos_t is not None and tile_t is None:
            raise NetworkError(f"{where}: position needs tile")
        crop_t = None
        if crop is not None:
            try:
                crop_t = tuple(_int_tuple(c, f"{where}: crop", 0) for c in crop)
            except TypeError:
                raise NetworkError(f"{where}: crop must be a list of [start, stop] pairs, "
                                   f"got {crop!r}") from None
            if not crop_t or any(len(c) != 2 for c in crop_t):
                raise NetworkError(f"{where}: crop must be a list of [start, stop] pairs, "
                                   f"got {crop!r}")
            crop_t = tuple((int(a), int(b)) for a, b in crop_t)
        if source == target and int(delay) == 0:
            raise NetworkError(f"{where}: a region cannot feed itself without delay=1")
        lk = Link(source, target, kind, output, tile_t, pos_t,
                  crop_t, int(delay))  # type: ignore[arg-type]
        self._links.append(lk)
        self._invalidate()
        return lk

    def _invalidate(self) -> None:
        self._plan = None

    # ------------------------------------------------------------------ access
    @property
    def regions(self) -> Mapping[str, Any]:
        """The regions by name, in the order they were added (a new dict)."""
        return dict(self._regions)

    @property
    def links(self) -> tuple[Link, ...]:
        return tuple(self._links)

    def __getitem__(self, name: str) -> Any:
        try:
            return self._regions[name]
        except KeyError:
            raise KeyError(f"no region named {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._regions

    def __iter__(self) -> Iterator[str]:
        return iter(self._regions)

    def __len__(self) -> int:
        return len(self._regions)

    @property
    def order(self) -> list[str]:
        """Region names in computation order."""
        return list(self._compile().order)

    @property
    def levels(self) -> dict[str, int]:
        """Level of each region: 0 for regions without undelayed inputs, else one more than
        the highest level feeding it through an undelayed link."""
        return dict(self._compile().levels)

    @property
    def outputs(self) -> dict[str, SDR]:
        """Main outputs of the last :meth:`run`."""
        return dict(self._outputs)

    @property
    def step(self) -> int:
        """Number of :meth:`run` calls so far."""
        return self._step

    def input_shape(self, name: str, port: str = "feedforward") -> Shape:
        """Declared shape of a region's input port."""
        return tuple(self[name].input_shapes[port])

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Check the wiring (ports, shapes, cycles); raises :class:`NetworkError`."""
        self._compile()

    def _toposort(self) -> list[str]:
        names = list(self._regions)
        preds: dict[str, set[str]] = {nm: set() for nm in names}
        for lk in self._links:
            if lk.delay == 0:
                preds[lk.target].add(lk.source)
        done: list[str] = []
        placed: set[str] = set()
        while len(done) < len(names):
            for nm in names:
                if nm not in placed and preds[nm] <= placed:
                    done.append(nm)
                    placed.add(nm)
                    break
            else:
                raise NetworkError(self._cycle_message([n for n in names if n not in placed]))
        return done

    def _cycle_message(self, remaining: list[str]) -> str:
        succ: dict[str, list[str]] = {nm: [] for nm in remaining}
        for lk in self._links:
            if lk.delay == 0 and lk.source in succ and lk.target in succ:
                succ[lk.source].append(lk.target)
        # walk backwards from any remaining node until a node repeats
        path = [remaining[0]]
        seen = {remaining[0]: 0}
        pred = {nm: [s for s in remaining if nm in succ[s]] for nm in remaining}
        while True:
            nxt = pred[path[-1]][0]
            if nxt in seen:
                cyc = path[seen[nxt]:][::-1]
                first = min(range(len(cyc)), key=lambda i: remaining.index(cyc[i]))
                cyc = cyc[first:] + cyc[:first]
                cyc.append(cyc[0])
                break
            seen[nxt] = len(path)
            path.append(nxt)
        return ("feed-forward cycle " + " -> ".join(cyc) + ": links without delay must not "
                "form a cycle; make one of them delayed (delay=1, e.g. an apical link)")

    def _source_shape(self, lk: Link) -> Shape:
        shapes = _output_shapes(self._regions[lk.source])
        key = lk.output or "output"
        if key not in shapes:
            raise NetworkError(f"link {lk.name}: region {lk.source!r} has no output {key!r} "
                               f"(outputs: {sorted(shapes)})")
        return shapes[key]

    def _compile(self) -> _Plan:
        if self._plan is not None:
            return self._plan
        groups: dict[tuple[str, str], list[Link]] = {}
        for lk in self._links:
            ports = dict(self._regions[lk.target].input_shapes)
            if lk.kind not in ports:
                raise NetworkError(f"link {lk.name}: region {lk.target!r} "
                                   f"({_type_name(self._regions[lk.target])}) has no "
                                   f"{lk.kind!r} input (its ports: {sorted(ports) or 'none'})")
            self._source_shape(lk)
            groups.setdefault((lk.target, lk.kind), []).append(lk)
        order = self._toposort()
        port_plans: dict[str, list[_PortPlan]] = {nm: [] for nm in order}
        for (target, port), lks in groups.items():
            declared = tuple(self._regions[target].input_shapes[port])
            where = f"input {port!r} of region {target!r}"
            composed, maps = _compose(lks, [self._source_shape(lk) for lk in lks], where, True)
            if int(np.prod(composed)) != int(np.prod(declared)):
                srcs = ", ".join(f"{lk.source}{tuple(self._source_shape(lk))}" for lk in lks)
                raise NetworkError(
                    f"{where}: the linked outputs ({srcs}) combine to shape {composed} "
                    f"({int(np.prod(composed))} bits) but the region expects {declared} "
                    f"({int(np.prod(declared))} bits)")
            identity = len(lks) == 1 and maps[0] is None
            port_plans[target].append(_PortPlan(port, declared, lks, maps, identity))
        for nm, region in self._regions.items():
            required = getattr(region, "required_inputs", None)
            if required is None:
                required = {"feedforward"} & set(region.input_shapes)
            linked = {pp.port for pp in port_plans[nm]}
            missing = sorted(set(required) - linked)
            if missing:
                raise NetworkError(f"region {nm!r} ({_type_name(region)}) has no link into "
                                   f"its {', '.join(repr(m) for m in missing)} input")
        levels: dict[str, int] = {}
        for nm in order:
            feeding = [levels[lk.source] for lk in self._links
                       if lk.target == nm and lk.delay == 0]
            levels[nm] = 1 + max(feeding) if feeding else 0
        delayed: list[tuple[str, str]] = []
        for lk in self._links:
            key = (lk.source, lk.output or "output")
            if lk.delay and key not in delayed:
                delayed.append(key)
        sensors = [(nm, *_value_hooks(r)) for nm, r in self._regions.items()
                   if hasattr(r, "set_value")]
        needs = [nm for nm, r in self._regions.items() if getattr(r, "needs_value", False)]
        steps: list[tuple[str, Any, list[Any]]] = []
        for nm in order:
            region = self._regions[nm]
            compute = region.compute
            if isinstance(region, RegionBase) and type(region).compute is RegionBase.compute:
                compute = region.compute_trusted  # the plan already shaped the inputs
            specs: list[tuple[str, Shape, int, list[_Read], list[Any]]] = []
            for pp in port_plans[nm]:
                reads = [(bool(lk.delay), lk.source, lk.output or "output") for lk in pp.links]
                if pp.identity:
                    specs.append((pp.port, pp.shape, 0, reads, []))
                    continue
                offsets = _flat_offsets(pp, [self._source_shape(lk) for lk in pp.links])
                if offsets is not None and int(np.prod(pp.shape)) < 2**31:
                    specs.append((pp.port, pp.shape, 1, reads, offsets))
                else:
                    specs.append((pp.port, pp.shape, 2, reads, list(pp.maps)))
            steps.append((nm, compute, specs))
        self._plan = _Plan(order, levels, port_plans, delayed, sensors,
                           frozenset(nm for nm, _, _ in sensors), needs, steps)
        for key in delayed:
            shape = self._source_shape(Link(key[0], "", output=key[1]))
            old = self._delayed.get(key)
            if old is None or old.shape != shape:
                self._delayed[key] = SDR._trusted(shape, np.zeros(0, dtype=np.int64))
        for key in [k for k in self._delayed if k not in delayed]:
            del self._delayed[key]
        return self._plan

    # ------------------------------------------------------------------ running
    def run(self, inputs: Mapping[str, Any] | None = None,
            learn: bool | Collection[str] = True) -> dict[str, SDR]:
        """Compute one step of every region; returns ``{region name: main output SDR}``.

        Parameters
        ----------
        inputs : mapping
            Values of the sensor regions by name (an SDR for an :class:`SDRSensor`, the raw
            value for an :class:`EncoderSensor`), and optionally labels of classifier regions.
        learn : bool or collection of str
            Passed to every region; a collection of region names: those regions learn, the
            others do not (e.g. a readout trained over frozen features).

        Raises
        ------
        InputError
            An unknown region, a missing sensor value, or a value its region rejects (the
            message starts with the region's name); every value is checked before any
            region changes, so the network is as it was.
        """
        plan = self._plan or self._compile()
        learn_all: frozenset[str] | None = None
        if not isinstance(learn, (bool, np.bool_)):
            learn_all = frozenset(learn)
            unknown = sorted(learn_all - set(self._regions))
            if unknown:
                raise InputError(f"run: learn names no region {unknown}")
        values = inputs or {}
        regions = self._regions
        sensor_names = plan.sensor_names
        for nm in values:
            if nm not in sensor_names:
                if nm not in regions:
                    raise InputError(f"run: no region named {nm!r} to take a value")
                raise InputError(f"run: region {nm!r} ({_type_name(regions[nm])}) is not "
                                 "a sensor and takes no value")
        for nm in plan.needs_value:
            if nm not in values:
                raise InputError(f"run: no value given for sensor {nm!r}")
        # every value is checked (encoded) before any is kept: a bad one changes nothing
        sensors = plan.sensors
        prepared = []
        for nm, prepare, _ in sensors:
            try:
                prepared.append(prepare(values.get(nm)))
            except (InputError, TypeError) as exc:
                raise _input_error(nm, exc) from None
        for (_, _, commit), value in zip(sensors, prepared, strict=True):
            commit(value)
        now: dict[str, SDR] = {}
        named: dict[tuple[str, str], SDR] = {}
        delayed_values = self._delayed

        def read(delayed: bool, src: str, key: str) -> SDR:
            if delayed:
                return delayed_values[(src, key)]
            if key == "output":
                return now[src]
            sdr = named.get((src, key))
            if sdr is None:
                sdr = named[(src, key)] = self._named_output(src, key)
            return sdr

        for nm, compute, specs in plan.steps:
            port_inputs: dict[str, SDR] = {}
            for port, shape, mode, reads, data in specs:
                if mode == 0:
                    delayed, src, key = reads[0]
                    if not delayed and key == "output":
                        sdr = now[src]
                    else:
                        sdr = read(delayed, src, key)
                    port_inputs[port] = sdr if sdr._shape == shape else SDR._trusted(
                        shape, sdr._indices)
                    continue
                if mode == 1:  # sorted sources laid end to end: already sorted
                    parts = [read(*r)._indices + off if off else read(*r)._indices
                             for r, off in zip(reads, data, strict=True)]
                    idx = np.concatenate(parts)
                    if idx.dtype != np.int32:
                        idx = idx.astype(np.int32)
                    idx.flags.writeable = False
                    port_inputs[port] = _sdr_view(shape, idx)
                    continue
                else:
                    parts = []
                    for r, m in zip(reads, data, strict=True):
                        src_idx = read(*r)._indices
                        if m is None:
                            parts.append(src_idx.astype(np.int64))
                        else:
                            mapped = m[src_idx]
                            parts.append(mapped[mapped >= 0])
                    idx = np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
                port_inputs[port] = SDR._trusted(shape, idx)
            out = compute(port_inputs, learn if learn_all is None else nm in learn_all)
            if not isinstance(out, SDR):
                raise TypeError(f"region {nm!r} returned {type(out).__name__}, not an SDR")
            now[nm] = out
        for dkey in plan.delayed:
            dsrc, dname = dkey
            delayed_values[dkey] = now[dsrc] if dname == "output" else read(False, dsrc, dname)
        self._outputs = now
        self._step += 1
        return dict(now)

    def _named_output(self, source: str, name: str) -> SDR:
        """A named output of a region for the current step."""
        region = self._regions[source]
        getter = getattr(region, "named_output", None)
        if getter is not None:
            return getter(name)
        return region.outputs[name]

    def reset(self) -> None:
        """Reset every region (sequence boundary) and clear the delayed link values."""
        for region in self._regions.values():
            region.reset()
        for key, sdr in self._delayed.items():
            self._delayed[key] = SDR._trusted(sdr.shape, np.zeros(0, dtype=np.int64))
        self._outputs = {}

    # ------------------------------------------------------------------ config
    def to_config(self) -> dict[str, Any]:
        """The architecture as a plain dict (YAML/JSON-able); see :meth:`from_config`.

        Learned state is not included: use :meth:`save` for that.
        """
        regions = {}
        for nm, region in self._regions.items():
            try:
                regions[nm] = region.to_config()
            except (AttributeError, NotImplementedError) as exc:
                raise NetworkError(f"region {nm!r} ({_type_name(region)}) cannot be written "
                                   f"to a config: {exc}") from None
        return {"name": self.name, "regions": regions,
                "links": [lk.to_dict() for lk in self._links]}

    def save_config(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_config` as YAML (``.json``: as JSON)."""
        import json

        import yaml

        path = Path(path)
        cfg = self.to_config()
        if path.suffix.lower() == ".json":
            path.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        return path

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | str | os.PathLike[str]) -> Network:
        """Build a network from a dict or a YAML/JSON file.

        Format::

            name: two-level                     # optional
            regions:
              <name>: {type: <region type>, params: {...}, <options>}
            links:
              - {source: <name>, target: <name>, kind: feedforward, output: ..., tile: [r, c],
                 position: [i, j], crop: [[r0, r1], [c0, c1]], delay: 0}

        Region types: ``SDRSensor`` (params ``shape``), ``Encoder`` (``encoder: <class>``,
        params of that encoder), ``SpatialPooler``, ``TemporalMemory`` (option ``output``),
        ``TemporalPooler``, ``Classifier`` (params ``max_classes``, ``steps``, ``alpha``),
        ``BacktrackingTemporalMemory``, ``ScalarPredictor``, ``AnomalyLikelihood`` (see
        :mod:`htmkit.network.streaming`) and any type added with
        :func:`register_region_type`. Input sizes left out of ``params``
        (``input_dimensions``, ``column_dimensions`` of a TM, ``input_size``, external sizes)
        are inferred from the links. Errors name the region or link.
        """
        if isinstance(config, (str, os.PathLike)):
            from ..serialization import read_yaml

            config = read_yaml(config, "network config", NetworkError)
        if not isinstance(config, Mapping):
            raise NetworkError(f"a network config must be a mapping, got {type(config).__name__}")
        unknown = set(config) - {"name", "regions", "links"}
        if unknown:
            raise NetworkError(f"unknown top-level config key(s) {sorted(unknown)} "
                               "(allowed: name, regions, links)")
        regions_cfg = config.get("regions")
        if not isinstance(regions_cfg, Mapping) or not regions_cfg:
            raise NetworkError("config needs a non-empty 'regions' mapping")
        links_cfg = config.get("links") or []
        if not isinstance(links_cfg, Sequence) or isinstance(links_cfg, (str, bytes)):
            raise NetworkError("config 'links' must be a list")
        classes = {}
        for nm, rc in regions_cfg.items():
            if not isinstance(rc, Mapping) or "type" not in rc:
                raise NetworkError(f"region {nm!r}: config must be a mapping with a 'type'")
            try:
                classes[nm] = region_type(rc["type"])
            except KeyError as exc:
                raise NetworkError(f"region {nm!r}: {exc.args[0]}") from None
        links: list[Link] = []
        for i, lc in enumerate(links_cfg):
            if not isinstance(lc, Mapping):
                raise NetworkError(f"links[{i}]: must be a mapping, got {lc!r}")
            bad = set(lc) - set(_LINK_KEYS)
            if bad or "source" not in lc or "target" not in lc:
                raise NetworkError(f"links[{i}]: needs source and target; unknown keys "
                                   f"{sorted(bad)} (allowed: {list(_LINK_KEYS)})")
            for role in ("source", "target"):
                if lc[role] not in regions_cfg:
                    raise NetworkError(f"links[{i}] ({lc.get('source')} -> {lc.get('target')}):"
                                       f" no region named {lc[role]!r} ({role})")
            links.append(_parse_link(lc, i))

        out_shapes: dict[str, dict[str, Shape]] = {}

        def link_shape(lk: Link) -> Shape:
            resolve(lk.source, [])
            key = lk.output or "output"
            if key not in out_shapes[lk.source]:
                raise NetworkError(f"link {lk.name}: region {lk.source!r} has no output "
                                   f"{key!r} (outputs: {sorted(out_shapes[lk.source])})")
            return out_shapes[lk.source][key]

        def port_shape(nm: str, port: str) -> Shape | None:
            lks = [lk for lk in links if lk.target == nm and lk.kind == port]
            if not lks:
                return None
            return _compose(lks, [link_shape(lk) for lk in lks],
                            f"input {port!r} of region {nm!r}", False)[0]

        def resolve(nm: str, stack: list[str]) -> None:
            if nm in out_shapes:
                return
            if nm in stack:
                loop = " -> ".join([*stack[stack.index(nm):], nm])
                raise NetworkError(f"cannot infer shapes: feedforward links loop ({loop}); "
                                   "give the sizes explicitly")
            stack = [*stack, nm]
            ff = [lk for lk in links if lk.target == nm and lk.kind == "feedforward"]
            for lk in ff:
                resolve(lk.source, stack)
            ff_shape = port_shape(nm, "feedforward") if ff else None
            try:
                out_shapes[nm] = {k: tuple(v) for k, v in classes[nm].config_output_shapes(
                    regions_cfg[nm], ff_shape).items()}
            except (ParameterError, ValueError, TypeError, KeyError, ImportError) as exc:
                raise NetworkError(f"region {nm!r}: {exc}") from None

        for nm in regions_cfg:
            resolve(nm, [])
        maps = 0.0
        for lk in links:
            shared = sum(1 for other in links
                         if other.target == lk.target and other.kind == lk.kind)
            if shared > 1 or lk.crop is not None:
                maps += _link_map_bytes(link_shape(lk))
                try:
                    check_memory("the source shapes of the links",
                                 f"up to link {lk.name} ({link_shape(lk)})", maps)
                except ParameterError as exc:
                    raise NetworkError(str(exc)) from None
        net = cls(str(config.get("name", "network")))
        total = maps
        for nm, rc in regions_cfg.items():
            ports = {lk.kind for lk in links if lk.target == nm}
            shapes = {p: port_shape(nm, p) for p in sorted(ports)}
            try:
                region = classes[nm].from_config(rc, shapes)
            except NetworkError:
                raise
            except (ParameterError, ValueError, TypeError, KeyError, ImportError) as exc:
                raise NetworkError(f"region {nm!r}: {exc}") from None
            total += region_bytes(region)
            if total > get_memory_limit():
                raise NetworkError(
                    f"region {nm!r}: the regions up to it need about {format_bytes(total)} "
                    f"(estimated), above the limit of {format_bytes(get_memory_limit())}; "
                    "lower their sizes or raise htmkit.set_memory_limit(...) / "
                    "HTMKIT_MAX_BYTES")
            net.add_region(str(nm), region)
        for lk in links:
            net.link(lk.source, lk.target, lk.kind, output=lk.output, tile=lk.tile,
                     position=lk.position, crop=lk.crop, delay=lk.delay)
        net.validate()
        return net

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        self._compile()
        return {
            "name": self.name,
            "regions": {nm: {"type": _type_name(r), "state": r.get_state()}
                        for nm, r in self._regions.items()},
            "links": [lk.to_dict() | {"delay": lk.delay} for lk in self._links],
            "delayed": [{"source": s, "output": o, "indices": np.array(v.indices)}
                        for (s, o), v in self._delayed.items()],
            "outputs": {nm: np.array(v.indices) for nm, v in self._outputs.items()},
            "step": self._step,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Network:
        net = cls(state["name"])
        for nm, rs in state["regions"].items():
            net.add_region(nm, region_type(rs["type"]).from_state(rs["state"]))
        for i, lc in enumerate(state["links"]):
            lk = _parse_link(lc, i)
            net.link(lk.source, lk.target, lk.kind, output=lk.output, tile=lk.tile,
                     position=lk.position, crop=lk.crop, delay=lk.delay)
        net._compile()
        for d in state["delayed"]:
            key = (d["source"], d["output"])
            if key not in net._delayed:
                raise KeyError(f"delayed value for unknown link source {key}")
            shape = net._delayed[key].shape
            net._delayed[key] = SDR._trusted(shape, _saved_indices(
                d["indices"], shape, f"Network: delayed value of {key}"))
        for nm, idx in state["outputs"].items():
            shape = tuple(net[nm].output_shape)
            net._outputs[nm] = SDR._trusted(shape, _saved_indices(
                idx, shape, f"Network: output of region {nm!r}"))
        net._step = int(state["step"])
        return net

    # ------------------------------------------------------------------ display
    def summary(self) -> str:
        """Levels, regions with their sizes, and links as text (also ``str(network)``)."""
        from .display import summary

        return summary(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"Network({self.name!r}, regions={list(self._regions)}, links={len(self._links)})"

    def draw(self, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
        """Write a PNG drawing: one row of boxes per level, arrows for links (feed-forward
        solid, apical/delayed dashed, basal dotted). Needs matplotlib."""
        from .display import draw

        return draw(self, path, dpi=dpi)


def _saved_indices(indices: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    """Active indices of a saved SDR of ``shape``, checked (a vector of distinct, sorted
    indices within the size) before an SDR is built from them."""
    size = int(np.prod(shape))
    a = state_array({"indices": indices}, "indices", np.int64, where, ndim=1, lo=0,
                    hi=size - 1)
    if a.size > 1 and not np.all(a[1:] > a[:-1]):
        raise FormatError(f"{where}: array 'indices' is not sorted and distinct")
    return a


def _parse_link(lc: Mapping[str, Any], i: int) -> Link:
    """A :class:`Link` from a config entry (validated by a scratch network)."""
    scratch = Network()
    dummy = _Dummy()
    src, dst = str(lc["source"]), str(lc["target"])
    scratch._regions[src] = dummy
    scratch._regions[dst] = dummy
    try:
        lk = scratch.link(src, dst, lc.get("kind", "feedforward"), output=lc.get("output"),
                          tile=lc.get("tile"), position=lc.get("position"),
                          crop=lc.get("crop"), delay=lc.get("delay"))
    except NetworkError as exc:
        raise NetworkError(f"links[{i}]: {exc}") from None
    return lk


class _Dummy:
    input_shapes: dict[str, Shape] = {}
    output_shape: Shape = (1,)

