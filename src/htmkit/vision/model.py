"""One hierarchical temporal model that learns images: :class:`Hierarchy`, on
:class:`~htmkit.network.Network`, declared in YAML.

An image is learned as a sequence of sensations while the eye moves over it. The network::

    eye (Eye region) --view--> level 1: per patch of the view (crop links)
                                 SP -> TM -> TemporalPooler
                   --motor---> basal input of every TM (the movement just made)
    level l+1: per group of level-l patches (tiled fan-in of their pooler outputs)
                                 SP -> TM -> TemporalPooler
                  pooler output --apical, delay 1--> the TMs of the level below
    readout: an SDR classifier (:class:`~htmkit.network.ClassifierRegion`) on the top poolers

* **The eye** (:class:`EyeRegion`, config type ``"Eye"``) holds the current image (its value in
  ``Network.run``: a new image starts a movie, ``None`` moves on) and has two outputs: the view
  (``"output"``, the binarised window at the current glimpse) and ``"motor"``, the movement
  just made (an SDR: one block of ``motor_width`` bits per axis, placed by the displacement;
  empty on a movie's first glimpse). Its glimpse positions lie on a grid of
  ``(2 reach + 1)^2`` offsets, ``stride`` pixels apart; the policy visits the centre first,
  then the others (``"fixed"``: a spiral; ``"random"``: a random order drawn per movie from
  ``seed`` and the movie's number); :meth:`EyeRegion.look_at` sets the next glimpse (used by
  the ``"separate"`` inference policy).
* **Each level** is, per patch, a Spatial Pooler (spatial patterns), a Temporal Memory whose
  basal context is its own previous cells plus the motor command (it learns "feature after
  movement") and whose apical input is the pooler output of the level above on the previous
  glimpse, and a :class:`~htmkit.temporal_pooler.TemporalPooler` that takes the TM's active
  cells and, as its "predicted" input, its predicted-active cells: a name for the image that
  stays stable over the movie, passed up.
* **Learning** is local and unsupervised below the readout: :meth:`Hierarchy.fit` first runs
  the movies of the first ``train.n_learn`` training images with every SP, TM and pooler
  learning jointly (their own rules), then freezes them and trains the readout, the only
  supervised part, on every glimpse of every training image.
* **Inference** is sensorimotor (:meth:`Hierarchy.infer`): at each glimpse the readout's class
  probabilities of the top representation add their logarithm to the evidence (as in
  Numenta's Monty, evidence accumulates over movements); it stops when the posterior (the
  softmax of the evidence) of the best class reaches ``inference.confidence`` or after
  ``inference.max_glimpses``.

The model is declared in YAML (:func:`load_spec`; presets ``"digits"`` and ``"mnist"`` ship in
``htmkit/vision/presets``): ``eye`` (the :class:`EyeRegion` parameters), ``levels`` (a list; per
level ``grid`` [rows, cols] of patches, and ``sp``, ``tm``, ``tp`` parameters; ``motor``:
whether its TMs get the motor command; ``tm: null`` drops the TM, the pooler then pools the SP
columns), ``feedback``, ``readout`` (``params`` of the SDR classifier; ``inputs``:
``"top"``, the top level's poolers, or ``"all"``, every level's poolers), ``train`` and
``inference``. :func:`build_config` turns it into the network config that
:meth:`Network.from_config <htmkit.network.Network.from_config>` builds, so ``print(model)``
and :meth:`Hierarchy.draw` show the network that runs.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, InputError, ParameterError
from ..network import Network
from ..network.regions import RegionBase, ValueRegion
from ..sdr import SDR
from ..serialization import Persistable, state_array, state_int
from .hierarchy import movie_offsets

__all__ = ["CountPoolerRegion", "EyeRegion", "Hierarchy", "PRESETS", "POLICIES", "build_config",
           "load_spec"]

PRESETS = ("digits", "mnist")
POLICIES = ("fixed", "random")
INFERENCE_POLICIES = ("fixed", "random", "separate")


def _int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(f"eye.{name} must be an integer >= {low}, got {value!r}")
    return int(value)


# ============================================================================ the eye
class EyeRegion(ValueRegion):
    """The eye as a sensor region with two outputs: the view and the motor command.

    Parameters
    ----------
    image_shape : (int, int)
        Shape of the images it is given.
    upsample : int
        Each pixel becomes an ``upsample x upsample`` block first (small images).
    threshold : int
        Pixels ``>= threshold`` are on (binarised view).
    reach, stride : int
        Glimpse offsets are ``stride * (dy, dx)`` for ``dy, dx`` in ``[-reach, reach]``
        (upsampled pixels); the image is zero-padded by ``reach * stride`` so every view is the
        image moved within the window (the view has the upsampled image's shape).
    policy : {"fixed", "random"}
        Order of the glimpses of a movie (the centre first); see the module docstring.
    n_glimpses : int
        Glimpses of a training movie (the policy's order repeats when it is longer).
    motor_width : int
        Active bits per axis in the motor SDR.
    seed : int
        Seed of the random policy.
    """

    type_name = "Eye"
    needs_value = False
    _PARAMS = ("image_shape", "upsample", "threshold", "reach", "stride", "policy",
               "n_glimpses", "motor_width", "seed")

    def __init__(self, image_shape: Sequence[int], *, upsample: int = 1, threshold: int = 128,
                 reach: int = 1, stride: int = 1, policy: str = "random", n_glimpses: int = 9,
                 motor_width: int = 3, seed: int = 0):
        try:
            shp = tuple(int(v) for v in image_shape)
        except (TypeError, ValueError):
            raise ParameterError(f"eye.image_shape must be (rows, cols), got {image_shape!r}"
                                 ) from None
        if len(shp) != 2 or min(shp) < 1:
            raise ParameterError(f"eye.image_shape must be (rows, cols), got {image_shape!r}")
        self.image_shape = shp
        self.upsample = _int(upsample, "upsample", 1)
        self.threshold = _int(threshold, "threshold", 1)
        self.reach = _int(reach, "reach", 0)
        self.stride = _int(stride, "stride", 1)
        if policy not in POLICIES:
            raise ParameterError(f"eye.policy must be one of {POLICIES}, got {policy!r}")
        self.policy = str(policy)
        self.n_glimpses = _int(n_glimpses, "n_glimpses", 1)
        self.motor_width = _int(motor_width, "motor_width", 1)
        self.seed = _int(seed, "seed", 0)
        self.grid = movie_offsets("spiral", 0, self.reach)  # a square spiral out of the centre
        self._pad = self.reach * self.stride
        self._view_shape = (shp[0] * self.upsample, shp[1] * self.upsample)
        n_vals = 4 * self.reach + 1
        self._motor_shape = (2, n_vals + self.motor_width - 1)
        # movie state
        self._padded: np.ndarray | None = None   # the padded binary image
        self._order = np.zeros(0, dtype=np.int64)  # grid indices of this movie's glimpses
        self._glimpse = -1                        # index of the current glimpse in the movie
        self._offset = np.zeros(2, dtype=np.int64)  # current grid offset (dy, dx)
        self._motor_idx = np.zeros(0, dtype=np.int64)
        self._next: np.ndarray | None = None      # look_at override for the next glimpse
        self._movies = 0                          # movies started (random policy's key)
        self._init_output()

    # ------------------------------------------------------------------ geometry
    @property
    def output_shape(self) -> tuple[int, ...]:
        return self._view_shape

    @property
    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"output": self._view_shape, "motor": self._motor_shape}

    @property
    def n_positions(self) -> int:
        """Number of glimpse positions ``(2 reach + 1)^2``."""
        return int(len(self.grid))

    @property
    def offset(self) -> tuple[int, int]:
        """Grid offset ``(dy, dx)`` of the current glimpse (units of ``stride``)."""
        return int(self._offset[0]), int(self._offset[1])

    @property
    def glimpse(self) -> int:
        """Index of the current glimpse in the movie (-1 before the first)."""
        return self._glimpse

    def binarise(self, image: np.ndarray) -> np.ndarray:
        """The image upsampled, binarised and zero-padded, as the eye sees it."""
        img = np.asarray(image)
        if img.shape != self.image_shape:
            raise InputError(f"eye: image of shape {img.shape}, expected {self.image_shape}")
        if not (np.issubdtype(img.dtype, np.integer) or np.issubdtype(img.dtype, np.floating)):
            raise InputError(f"eye: image must be numeric, got dtype {img.dtype}")
        b = (img >= self.threshold).astype(np.uint8)
        if self.upsample > 1:
            b = np.kron(b, np.ones((self.upsample, self.upsample), dtype=np.uint8))
        p = self._pad
        return np.pad(b, ((p, p), (p, p)))

    def view_at(self, padded: np.ndarray, offset: Sequence[int] | np.ndarray) -> np.ndarray:
        """The binary view at grid ``offset`` of a padded image (:meth:`binarise`)."""
        p, s = self._pad, self.stride
        r, c = p + int(offset[0]) * s, p + int(offset[1]) * s
        h, w = self._view_shape
        return padded[r:r + h, c:c + w]

    def motor_sdr(self, move: Sequence[int] | np.ndarray) -> SDR:
        """The motor SDR of a movement ``(dy, dx)`` in grid units."""
        two_r = 2 * self.reach
        idx: list[int] = []
        for axis in (0, 1):
            start = int(move[axis]) + two_r
            idx.extend(axis * self._motor_shape[1] + start + k for k in range(self.motor_width))
        return SDR._trusted(self._motor_shape, np.asarray(sorted(idx), dtype=np.int64))

    def movie_order(self, movie: int) -> np.ndarray:
        """Grid indices of the glimpses of movie number ``movie`` (the centre first)."""
        n = self.n_positions
        if self.policy == "fixed" or n == 1:
            base = np.arange(n, dtype=np.int64)
        else:
            rng = np.random.default_rng([self.seed, int(movie)])
            base = np.concatenate([[0], 1 + rng.permutation(n - 1)]).astype(np.int64)
        reps = -(-self.n_glimpses // n)
        return np.tile(base, reps)[: self.n_glimpses]

    def look_at(self, offset: Sequence[int]) -> None:
        """Make the next glimpse (of this movie) look at grid ``offset``."""
        off = np.asarray([int(v) for v in offset], dtype=np.int64)
        if off.shape != (2,) or np.any(np.abs(off) > self.reach):
            raise InputError(f"eye: offset {tuple(offset)} is outside the grid "
                             f"[-{self.reach}, {self.reach}]^2")
        self._next = off

    # ------------------------------------------------------------------ values
    def prepare_value(self, value: Any) -> np.ndarray | None:
        """``None`` (move on) or a new image (checked and binarised; nothing changes)."""
        if value is None:
            return None
        return self.binarise(value)

    def commit_value(self, prepared: np.ndarray | None) -> None:
        if prepared is None:
            return
        self._padded = prepared
        self._order = self.movie_order(self._movies)
        self._movies += 1
        self._glimpse = -1
        self._next = None

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        if self._padded is None:
            self._motor_idx = np.zeros(0, dtype=np.int64)
            return SDR._trusted(self._view_shape, np.zeros(0, dtype=np.int64))
        self._glimpse += 1
        if self._next is not None:
            new = self._next
            self._next = None
        else:
            new = self.grid[self._order[self._glimpse % len(self._order)]]
        if self._glimpse == 0:
            self._motor_idx = np.zeros(0, dtype=np.int64)
        else:
            self._motor_idx = self.motor_sdr(new - self._offset)._indices.astype(np.int64)
        self._offset = np.array(new, dtype=np.int64)
        view = self.view_at(self._padded, self._offset)
        return SDR._trusted(self._view_shape, np.flatnonzero(view).astype(np.int64))

    def named_output(self, name: str) -> SDR:
        if name == "output":
            return self._output
        if name == "motor":
            return SDR._trusted(self._motor_shape, self._motor_idx)
        raise KeyError(f"Eye region has no output {name!r} (outputs: ['output', 'motor'])")

    @property
    def outputs(self) -> dict[str, SDR]:
        return {"output": self._output, "motor": self.named_output("motor")}

    def reset(self) -> None:
        self._padded = None
        self._glimpse = -1
        self._offset = np.zeros(2, dtype=np.int64)
        self._motor_idx = np.zeros(0, dtype=np.int64)
        self._next = None
        self._init_output()

    def describe(self) -> str:
        return (f"Eye {self.image_shape} x{self.upsample} -> view {self._view_shape}, "
                f"{self.n_positions} positions, policy {self.policy}, motor {self._motor_shape}")

    # ------------------------------------------------------------------ config
    def params(self) -> dict[str, Any]:
        """The constructor's parameters."""
        out = {k: getattr(self, k) for k in self._PARAMS}
        out["image_shape"] = list(self.image_shape)
        return out

    def to_config(self) -> dict[str, Any]:
        return {"type": self.type_name, "params": self.params()}

    @classmethod
    def _from_params(cls, params: Mapping[str, Any]) -> EyeRegion:
        unknown = sorted(set(params) - set(cls._PARAMS))
        if unknown:
            raise ParameterError(f"unknown eye parameter(s) {unknown} (allowed: "
                                 f"{list(cls._PARAMS)})")
        if "image_shape" not in params:
            raise ParameterError("eye needs image_shape")
        kw = {k: v for k, v in params.items() if k != "image_shape"}
        return cls(params["image_shape"], **kw)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Any]) -> EyeRegion:
        unknown = set(cfg) - {"type", "params"}
        if unknown:
            raise ParameterError(f"unknown key(s) {sorted(unknown)} for an Eye region")
        return cls._from_params(dict(cfg.get("params") or {}))

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Any
                             ) -> dict[str, tuple[int, ...]]:
        return cls.from_config(cfg, {}).output_shapes

    # ------------------------------------------------------------------ state
    def _options(self) -> dict[str, Any]:
        return {}

    def _core_state(self) -> Any:
        padded = (np.zeros((0, 0), dtype=np.uint8) if self._padded is None
                  else np.array(self._padded))
        return {"params": self.params(), "has_image": self._padded is not None,
                "padded": padded, "order": np.array(self._order), "glimpse": self._glimpse,
                "offset": np.array(self._offset), "motor": np.array(self._motor_idx),
                "next": (np.zeros(0, dtype=np.int64) if self._next is None
                         else np.array(self._next)),
                "movies": self._movies}

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> EyeRegion:
        where = "Eye region"
        obj = cls._from_params(dict(core["params"]))
        if core["has_image"]:
            h, w = obj._view_shape
            p = obj._pad
            padded = state_array(core, "padded", np.uint8, where, ndim=2, lo=0, hi=1)
            if padded.shape != (h + 2 * p, w + 2 * p):
                raise FormatError(f"{where}: padded image of shape {padded.shape}")
            obj._padded = padded
        obj._order = state_array(core, "order", np.int64, where, ndim=1, lo=0,
                                 hi=obj.n_positions - 1)
        obj._glimpse = state_int(core, "glimpse", where, lo=-1)
        obj._offset = state_array(core, "offset", np.int64, where, ndim=1, lo=-obj.reach,
                                  hi=obj.reach)
        obj._motor_idx = state_array(core, "motor", np.int64, where, ndim=1, lo=0,
                                     hi=int(np.prod(obj._motor_shape)) - 1)
        nxt = state_array(core, "next", np.int64, where, ndim=1, lo=-obj.reach, hi=obj.reach)
        obj._next = nxt if nxt.size == 2 else None
        obj._movies = state_int(core, "movies", where, lo=0)
        return obj


# ============================================================================ count pooler
class CountPoolerRegion(RegionBase):
    """A fixed (not learned) pooler for ablations: its output is the ``sparsity`` fraction of
    input bits that were active most often since the last reset (ties: lowest index).

    Ports ``feedforward`` and ``predicted`` (ignored, so it can stand in for a
    :class:`~htmkit.temporal_pooler.TemporalPooler`); output the input's shape.
    """

    type_name = "CountPooler"

    def __init__(self, input_shape: Sequence[int], sparsity: float = 0.05):
        self._shape = tuple(int(v) for v in input_shape)
        if not 0.0 < float(sparsity) <= 1.0:
            raise ParameterError(f"CountPooler sparsity must be in (0, 1], got {sparsity!r}")
        self.sparsity = float(sparsity)
        self._counts = np.zeros(int(np.prod(self._shape)), dtype=np.int64)
        self._init_output()

    @property
    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"feedforward": self._shape, "predicted": self._shape}

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self._shape

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        ff = inputs.get("feedforward")
        if ff is not None:
            self._counts[ff.flatten().indices] += 1
        k = max(1, round(self.sparsity * self._counts.size))
        on = np.flatnonzero(self._counts)
        if on.size > k:
            order = np.lexsort((on, -self._counts[on]))
            on = np.sort(on[order[:k]])
        return SDR._trusted(self._shape, on.astype(np.int64))

    def reset(self) -> None:
        self._counts[:] = 0
        self._init_output()

    def describe(self) -> str:
        return f"CountPooler top {self.sparsity:g} of {self._counts.size} bits"

    def to_config(self) -> dict[str, Any]:
        return {"type": self.type_name, "params": {"sparsity": self.sparsity}}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Any]
                    ) -> CountPoolerRegion:
        params = dict(cfg.get("params") or {})
        params.pop("input_shape", None)
        return cls(input_shapes["feedforward"], **params)

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Any
                             ) -> dict[str, tuple[int, ...]]:
        if ff_shape is None:
            raise ParameterError("a CountPooler needs a feedforward link")
        return {"output": tuple(ff_shape)}

    def _options(self) -> dict[str, Any]:
        return {"input_shape": list(self._shape), "sparsity": self.sparsity}

    def _core_state(self) -> Any:
        return {"counts": np.array(self._counts)}

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> CountPoolerRegion:
        obj = cls(options["input_shape"], options["sparsity"])
        obj._counts = state_array(core, "counts", np.int64, "CountPooler",
                                  shape=obj._counts.shape, lo=0)
        return obj


# ============================================================================ the spec
_SPEC_KEYS = ("name", "eye", "levels", "feedback", "readout", "train", "inference")
_LEVEL_KEYS = ("grid", "sp", "tm", "tp", "motor")
_DEFAULTS: dict[str, Any] = {
    "feedback": True,
    "readout": {"params": {"alpha": 0.05}, "inputs": "top"},
    "train": {"n_learn": 500, "learn_glimpses": None},
    "inference": {"max_glimpses": 9, "confidence": 0.95, "policy": "fixed"},
}


def _preset_path(name: str) -> Path:
    return Path(str(resources.files("htmkit.vision").joinpath("presets", f"{name}.yaml")))


def _check_section(given: Any, allowed: list[str], where: str) -> None:
    """A spec section must be a mapping with only ``allowed`` keys."""
    if not isinstance(given, Mapping):
        raise ParameterError(f"spec: {where} must be a mapping")
    bad = sorted(set(given) - set(allowed))
    if bad:
        raise ParameterError(f"spec: {where}: unknown key(s) {bad} (allowed: {allowed})")


def load_spec(spec: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """The model spec of a preset name (:data:`PRESETS`), a YAML file or a mapping, with the
    defaults filled in and checked (a :class:`ParameterError` names the bad key)."""
    if isinstance(spec, Mapping):
        raw: Any = copy.deepcopy(dict(spec))
    else:
        from ..serialization import read_yaml

        path = _preset_path(str(spec)) if str(spec) in PRESETS else Path(spec)
        if not path.exists():
            raise ParameterError(f"spec: no preset or file {str(spec)!r} (presets: {PRESETS})")
        raw = read_yaml(path, "spec", ParameterError)
    if not isinstance(raw, Mapping):
        raise ParameterError("spec: a model spec must be a mapping")
    unknown = sorted(set(raw) - set(_SPEC_KEYS))
    if unknown:
        raise ParameterError(f"spec: unknown key(s) {unknown} (allowed: {list(_SPEC_KEYS)})")
    out = dict(raw)
    for key, default in _DEFAULTS.items():
        if isinstance(default, dict):
            given = out.get(key) or {}
            _check_section(given, sorted(default), f"{key}")
            out[key] = {**copy.deepcopy(default), **given}
        else:
            out.setdefault(key, default)
    if not isinstance(out.get("eye"), Mapping):
        raise ParameterError("spec: eye must be a mapping of Eye parameters")
    levels = out.get("levels")
    if not isinstance(levels, list) or not levels:
        raise ParameterError("spec: levels must be a non-empty list")
    for i, lv in enumerate(levels):
        _check_section(lv, list(_LEVEL_KEYS), f"levels[{i}]")
        if "sp" not in lv or "tp" not in lv:
            raise ParameterError(f"spec: levels[{i}] needs sp and tp")
    if out["inference"]["policy"] not in INFERENCE_POLICIES:
        raise ParameterError(f"spec: inference.policy must be one of {INFERENCE_POLICIES}, "
                             f"got {out['inference']['policy']!r}")
    out.setdefault("name", "hierarchy")
    build_config(out)  # checks the grids
    return out


def _grid(level: Mapping[str, Any], i: int) -> tuple[int, int]:
    g = level.get("grid", [1, 1])
    try:
        r, c = (int(v) for v in g)
    except (TypeError, ValueError):
        raise ParameterError(f"spec: levels[{i}].grid must be [rows, cols], got {g!r}") from None
    if r < 1 or c < 1:
        raise ParameterError(f"spec: levels[{i}].grid must be positive, got {g!r}")
    return r, c


def region_names(level: int, r: int, c: int, grid: tuple[int, int]) -> dict[str, str]:
    """Names of the SP, TM and pooler of patch ``(r, c)`` of ``level`` (1-based)."""
    tag = f"{level}" if grid == (1, 1) else f"{level}_{r}{c}" if max(grid) <= 10 \
        else f"{level}_{r}_{c}"
    return {"sp": f"sp{tag}", "tm": f"tm{tag}", "tp": f"tp{tag}"}


def _pooler(tp: Mapping[str, Any]) -> dict[str, Any]:
    """A level's pooler config: a TemporalPooler, or ``{count: sparsity}`` for the fixed
    :class:`CountPoolerRegion` (ablation)."""
    if "count" in tp:
        return {"type": "CountPooler", "params": {"sparsity": float(tp["count"])}}
    return {"type": "TemporalPooler", "params": dict(tp)}


def build_config(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The :meth:`Network.from_config <htmkit.network.Network.from_config>` config of a
    model spec (see the module docstring)."""
    eye_params = dict(spec["eye"])
    eye = EyeRegion._from_params(eye_params)
    regions: dict[str, Any] = {"eye": {"type": "Eye", "params": eye.params()}}
    links: list[dict[str, Any]] = []
    view_h, view_w = eye.output_shape
    levels = spec["levels"]
    grids = [_grid(lv, i) for i, lv in enumerate(levels)]
    names: list[list[list[dict[str, str]]]] = []
    for li, (lv, grid) in enumerate(zip(levels, grids, strict=True)):
        level = li + 1
        gr, gc = grid
        if li == 0:
            if view_h % gr or view_w % gc:
                raise ParameterError(f"spec: levels[0].grid {list(grid)} does not divide the "
                                     f"view {eye.output_shape}")
            ph, pw = view_h // gr, view_w // gc
        else:
            br, bc = grids[li - 1]
            if br % gr or bc % gc:
                raise ParameterError(f"spec: levels[{li}].grid {list(grid)} does not divide "
                                     f"the grid below {[br, bc]}")
        has_tm = lv.get("tm") is not None
        motor = bool(lv.get("motor", True)) and has_tm
        names.append([])
        for r in range(gr):
            names[li].append([])
            for c in range(gc):
                nm = region_names(level, r, c, grid)
                names[li][r].append(nm)
                regions[nm["sp"]] = {"type": "SpatialPooler", "params": dict(lv["sp"])}
                if li == 0:
                    crop = [[r * ph, (r + 1) * ph], [c * pw, (c + 1) * pw]]
                    links.append({"source": "eye", "target": nm["sp"],
                                  **({} if grid == (1, 1) else {"crop": crop})})
                else:
                    br, bc = grids[li - 1]
                    fr, fc = br // gr, bc // gc
                    for i in range(fr):
                        for j in range(fc):
                            child = names[li - 1][r * fr + i][c * fc + j]
                            ln: dict[str, Any] = {"source": child["tp"], "target": nm["sp"]}
                            if (fr, fc) != (1, 1):
                                ln.update(tile=[fr, fc], position=[i, j])
                            links.append(ln)
                if has_tm:
                    regions[nm["tm"]] = {"type": "TemporalMemory", "params": dict(lv["tm"])}
                    links.append({"source": nm["sp"], "target": nm["tm"]})
                    if motor:
                        links.append({"source": "eye", "target": nm["tm"], "kind": "basal",
                                      "output": "motor"})
                    regions[nm["tp"]] = _pooler(lv["tp"])
                    links.append({"source": nm["tm"], "target": nm["tp"]})
                    links.append({"source": nm["tm"], "target": nm["tp"], "kind": "predicted",
                                  "output": "predicted_active_cells"})
                else:
                    regions[nm["tp"]] = _pooler(lv["tp"])
                    links.append({"source": nm["sp"], "target": nm["tp"]})
                    links.append({"source": nm["sp"], "target": nm["tp"], "kind": "predicted"})
    # feedback: each pooler feeds the TMs of the patches below it (previous glimpse)
    if spec.get("feedback", True):
        for li in range(1, len(levels)):
            if levels[li - 1].get("tm") is None:
                continue
            gr, gc = grids[li]
            br, bc = grids[li - 1]
            fr, fc = br // gr, bc // gc
            for r in range(gr):
                for c in range(gc):
                    for i in range(fr):
                        for j in range(fc):
                            child = names[li - 1][r * fr + i][c * fc + j]
                            links.append({"source": names[li][r][c]["tp"],
                                          "target": child["tm"], "kind": "apical"})
    inputs = spec["readout"].get("inputs", "top")
    if inputs not in ("top", "all"):
        raise ParameterError(f"spec: readout.inputs must be 'top' or 'all', got {inputs!r}")
    top = [nm["tp"] for lv_names in (names if inputs == "all" else names[-1:])
           for row in lv_names for nm in row]
    regions["readout"] = {"type": "Classifier",
                          "params": {"max_classes": 10, "steps": [0],
                                     **dict(spec["readout"].get("params") or {})}}
    for t in top:
        links.append({"source": t, "target": "readout"})
    return {"name": str(spec.get("name", "hierarchy")), "regions": regions, "links": links}


# ============================================================================ the model
def _log_evidence(probs: np.ndarray | None, n_classes: int) -> np.ndarray:
    out = np.full(n_classes, np.log(1.0 / max(n_classes, 1)))
    if probs is not None and probs.size:
        p = np.zeros(n_classes)
        k = min(n_classes, probs.size)
        p[:k] = probs[:k]
        out = np.log(p + 1e-3)
    return out


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


class Hierarchy(Persistable):
    """A hierarchical temporal memory that learns images as movies of glimpses, on a
    :class:`~htmkit.network.Network` (see the module docstring).

    Parameters
    ----------
    spec : str, path or mapping
        A preset (``"digits"``, ``"mnist"``), a YAML file or a spec mapping (:func:`load_spec`).
    seed : int, optional
        Replaces the seed of the eye and of every SP, TM and pooler (each gets ``seed`` plus
        its index in the network), so that the same seed gives the same model.

    Examples
    --------
    >>> model = Hierarchy("digits")          # doctest: +SKIP
    >>> model.fit(images, labels).predict(test_images)  # doctest: +SKIP
    """

    STATE_VERSION = 1

    def __init__(self, spec: str | os.PathLike[str] | Mapping[str, Any] = "digits", *,
                 seed: int | None = None):
        self.spec = load_spec(spec)
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
            self.spec["eye"] = {**self.spec["eye"], "seed": int(seed)}
        config = build_config(self.spec)
        if seed is not None:
            for i, rc in enumerate(config["regions"].values()):
                if rc["type"] in ("SpatialPooler", "TemporalMemory", "TemporalPooler"):
                    rc["params"] = {**rc["params"], "seed": int(seed) * 1000 + i}
        self.config = config
        self.network = Network.from_config(config)
        self._init_roles()
        self.images_seen = 0

    def _init_roles(self) -> None:
        net = self.network
        self.eye: EyeRegion = net["eye"]
        self.readout = net["readout"]
        types = {nm: getattr(r, "type_name", "") for nm, r in net.regions.items()}
        self.tm_names = [nm for nm, t in types.items() if t == "TemporalMemory"]
        self.unsupervised = frozenset(nm for nm, t in types.items()
                                      if t in ("SpatialPooler", "TemporalMemory",
                                               "TemporalPooler"))
        self.readout_only = frozenset({"readout"})
        self.top = [lk.source for lk in net.links if lk.target == "readout"]
        self.n_classes = int(self.readout.output_shape[0])

    # ------------------------------------------------------------------ display
    def __str__(self) -> str:
        return str(self.network)

    def __repr__(self) -> str:
        return f"Hierarchy({self.spec['name']!r}, regions={len(self.network)})"

    def draw(self, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
        """PNG drawing of the network that runs (:meth:`Network.draw`)."""
        return self.network.draw(path, dpi=dpi)

    @property
    def levels(self) -> int:
        return len(self.spec["levels"])

    # ------------------------------------------------------------------ running
    def movie(self, image: np.ndarray, *, learn: bool | frozenset[str] = False,
              label: int | None = None, glimpses: int | None = None,
              record: Sequence[str] = ()) -> dict[str, Any]:
        """Show one image as a movie: reset, then one network step per glimpse.

        Returns ``{"probs": [T, classes], "records": {name: [SDR per glimpse]},
        "offsets": [T, 2]}``; ``record`` names regions (or ``"region.output"``) to keep.
        """
        net = self.network
        T = self.eye.n_glimpses if glimpses is None else int(glimpses)
        net.reset()
        probs = np.zeros((T, self.n_classes))
        offsets = np.zeros((T, 2), dtype=np.int64)
        recs: dict[str, list[SDR]] = {r: [] for r in record}
        for t in range(T):
            values: dict[str, Any] = {"eye": image if t == 0 else None}
            if label is not None:
                values["readout"] = int(label)
            net.run(values, learn=learn)
            inf = self.readout.inference.get(0)
            if inf is not None and inf.size:
                k = min(self.n_classes, inf.size)
                probs[t, :k] = inf[:k]
            offsets[t] = self.eye.offset
            for r in record:
                src, _, out = r.partition(".")
                recs[r].append(net[src].output if not out else net._named_output(src, out))
        self.images_seen += 1
        return {"probs": probs, "records": recs, "offsets": offsets}

    def fit(self, images: np.ndarray, labels: np.ndarray, *, progress: Any = None
            ) -> Hierarchy:
        """Learn: the SPs, TMs and poolers (unsupervised, jointly) on the movies of the first
        ``train.n_learn`` images, then the readout (frozen features) on every image."""
        imgs, labs = self._check(images, labels)
        n_learn = min(int(self.spec["train"]["n_learn"]), len(imgs))
        g = self.spec["train"].get("learn_glimpses")
        for i in range(n_learn):
            self.movie(imgs[i], learn=self.unsupervised, glimpses=g)
            if progress is not None:
                progress(i, "unsupervised")
        for i in range(len(imgs)):
            self.movie(imgs[i], learn=self.readout_only, label=int(labs[i]))
            if progress is not None:
                progress(i, "readout")
        return self

    def _check(self, images: np.ndarray, labels: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        imgs = np.asarray(images)
        if imgs.ndim != 3 or imgs.shape[1:] != self.eye.image_shape:
            raise InputError(f"images must have shape [N, {self.eye.image_shape[0]}, "
                             f"{self.eye.image_shape[1]}], got {imgs.shape}")
        if labels is None:
            return imgs, np.zeros(0, dtype=np.int64)
        labs = np.asarray(labels)
        if labs.shape != (len(imgs),) or not np.issubdtype(labs.dtype, np.integer):
            raise InputError(f"labels must be {len(imgs)} integers, got shape {labs.shape}")
        if labs.size and (labs.min() < 0 or labs.max() >= self.n_classes):
            raise InputError(f"labels must be in [0, {self.n_classes})")
        return imgs, labs.astype(np.int64)

    def infer(self, image: np.ndarray, *, max_glimpses: int | None = None,
              confidence: float | None = None, policy: str | None = None
              ) -> dict[str, Any]:
        """Sensorimotor inference on one image: glimpses until the posterior of the best class
        reaches ``confidence`` or after ``max_glimpses`` (defaults from ``inference``).

        Returns ``{"label", "glimpses", "posterior", "evidence": [T, classes]}`` where
        ``evidence[t]`` is the accumulated log-evidence after glimpse ``t``.
        """
        inf = self.spec["inference"]
        T = int(inf["max_glimpses"] if max_glimpses is None else max_glimpses)
        conf = float(inf["confidence"] if confidence is None else confidence)
        pol = str(inf["policy"] if policy is None else policy)
        if pol not in INFERENCE_POLICIES:
            raise ParameterError(f"policy must be one of {INFERENCE_POLICIES}, got {pol!r}")
        net, eye = self.network, self.eye
        net.reset()
        saved_policy = eye.policy
        eye.policy = "random" if pol == "random" else "fixed"
        evidence = np.zeros(self.n_classes)
        trace = []
        visited: set[tuple[int, int]] = set()
        try:
            for t in range(T):
                net.run({"eye": image if t == 0 else None}, learn=False)
                visited.add(eye.offset)
                evidence = evidence + _log_evidence(self.readout.inference.get(0),
                                                    self.n_classes)
                trace.append(evidence)
                if _softmax(evidence).max() >= conf:
                    break
                if pol == "separate" and t + 1 < T:
                    eye.look_at(self._separating_offset(evidence, visited))
        finally:
            eye.policy = saved_policy
        self.images_seen += 1
        post = _softmax(evidence)
        return {"label": int(np.argmax(evidence)), "glimpses": len(trace), "posterior": post,
                "evidence": np.array(trace)}

    def _separating_offset(self, evidence: np.ndarray, visited: set[tuple[int, int]]
                           ) -> tuple[int, int]:
        """The unvisited grid offset farthest from those seen (the most new pixels), the
        centre's spiral order breaking ties; all visited: the spiral order again."""
        grid = [(int(g[0]), int(g[1])) for g in self.eye.grid]
        free = [g for g in grid if g not in visited]
        if not free:
            return grid[len(visited) % len(grid)]
        seen = np.array(sorted(visited))

        def dist(g: tuple[int, int]) -> int:
            return int(np.min(np.abs(seen - np.asarray(g)).sum(axis=1)))

        return max(free, key=lambda g: (dist(g), -grid.index(g)))

    def predict(self, images: np.ndarray, **kw: Any) -> np.ndarray:
        """Labels of ``images`` by :meth:`infer` (keywords passed on)."""
        imgs, _ = self._check(images)
        return np.array([self.infer(im, **kw)["label"] for im in imgs], dtype=np.int64)

    def evidence_curve(self, images: np.ndarray, labels: np.ndarray, *,
                       max_glimpses: int | None = None, confidence: float | None = None,
                       policy: str | None = None) -> dict[str, Any]:
        """Accuracy after each number of glimpses (without stopping), and with the stopping
        rule its accuracy and mean number of glimpses used."""
        imgs, labs = self._check(images, labels)
        inf = self.spec["inference"]
        T = int(inf["max_glimpses"] if max_glimpses is None else max_glimpses)
        conf = float(inf["confidence"] if confidence is None else confidence)
        correct = np.zeros(T)
        stop_ok = 0
        used = 0
        for im, y in zip(imgs, labs, strict=True):
            ev = self.infer(im, max_glimpses=T, confidence=2.0, policy=policy)["evidence"]
            preds = ev.argmax(axis=1)
            correct += preds == y
            post_max = np.array([_softmax(e).max() for e in ev])
            hit = np.flatnonzero(post_max >= conf)
            k = int(hit[0]) if hit.size else T - 1
            stop_ok += int(preds[k] == y)
            used += k + 1
        n = max(len(imgs), 1)
        return {"accuracy_by_glimpses": (correct / n).tolist(),
                "accuracy": stop_ok / n, "mean_glimpses": used / n,
                "confidence": conf, "max_glimpses": T}

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        import json

        return {"spec": np.frombuffer(json.dumps(self.spec).encode(), dtype=np.uint8).copy(),
                "network": self.network.get_state(), "images_seen": self.images_seen}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Hierarchy:
        import json

        spec_bytes = state_array(state, "spec", np.uint8, "Hierarchy", ndim=1)
        obj = cls.__new__(cls)
        obj.spec = load_spec(json.loads(spec_bytes.tobytes().decode()))
        obj.config = build_config(obj.spec)
        obj.network = Network.from_state(state["network"])
        obj.config = obj.network.to_config()
        obj._init_roles()
        obj.images_seen = state_int(state, "images_seen", "Hierarchy", lo=0)
        return obj
