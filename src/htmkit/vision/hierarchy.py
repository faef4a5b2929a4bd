"""A hierarchy of HTM regions that learns images as movies of views.

The eye turns each image into a movie: the image moved along a sweep of small offsets
(:func:`movie_offsets`, :func:`movie_views`), each view thresholded to binary pixels (the
ImageEncoder's "fixed" mode; small images are zoomed first, ``upsample``). Then::

    level 1: Spatial Pooler over each view (local receptive fields, local inhibition;
             optionally fractional inference, ``l1_min_fraction``)         -> a1[t]
             union of a1 over the last ``l1_window`` views                  -> p1[t], sent up
             pooled over the movie (union or fraction of views active)      -> P1
    level 2: Spatial Pooler over neighbourhoods of p1[t]                    -> a2[t]
             pooled over the movie                                          -> P2
    top:     a readout (linear softmax, the Predictor SDR classifier, or kNN) on
             concat(P2, P1) (``features="all"``, the default) or on P2 alone

Pooling level-1 outputs over the views of a movie gives invariance to small shifts, the way
pooling does in a CNN; level 2 sees larger receptive fields. An optional level-1 Temporal
Memory (``l1_tm``) learns the transitions between views and adds its predicted columns to the
pooled map. :meth:`VisionHierarchy.fit` trains level by level, unsupervised (level 1 on the
movies of the first ``n_learn`` images, then level 2 with level 1 frozen, then the optional
TM), then the supervised readout on the pooled representations of every training image (with
``train_saccades``, also of movies from displaced fixation points). Each image costs one
level-1 SP step per view and one level-2 step per pooled window (numba kernels);
:meth:`VisionHierarchy.transform` records the ms per image in ``timing``.

:func:`build_network` exposes the same SPs as a :class:`~htmkit.network.Network` of regions
(identical outputs) for inspection and drawing; the per-view loop does not go through
``Network.run``, whose per-step bookkeeping would dominate the cost of T steps per image.

The benchmark's settings (:func:`htmkit.bench.vision_models.bench_params`) were chosen in
docs/experiments/vision-mnist.md and the vision-* pages it links.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

import numpy as np

from ..errors import FormatError, InputError, ParameterError
from ..params import (
    Boolean,
    Constraints,
    Custom,
    Interval,
    Optional,
    Options,
    Shape,
    check_index_width,
    check_memory,
    check_shape,
    params_to_dict,
    validate,
)
from ..sdr import SDR
from ..serialization import Persistable, state_array, state_int
from ..spatial_pooler import SpatialPooler, SpatialPoolerParams
from .transforms import check_images, translate

__all__ = [
    "EyeParams",
    "HierarchyParams",
    "LevelParams",
    "ReadoutParams",
    "SequenceParams",
    "SynapseParams",
    "VisionHierarchy",
    "build_network",
    "movie_offsets",
    "movie_views",
    "fixate",
    "fixation_offsets",
]

MOVIE_MODES = ("spiral", "jitter", "sweeps", "saccades")
READOUTS = ("linear", "predictor", "knn")
FIXATIONS = ("centre", "cross", "ring")


# ----------------------------------------------------------------------------------- movies
def movie_offsets(mode: str, n_views: int, step: int, seed: int = 0,
                  stride: int = 1) -> np.ndarray:
    """Offsets ``[T, 2]`` (dy, dx) of the views of a movie, the same for every image.

    ``"spiral"``: a square spiral out of the centre over the ``(2 step + 1)^2`` offsets in
    ``[-step, step]^2``, times ``stride`` (every view moves by ``stride`` pixels; ``n_views``
    is ignored and equals ``(2 step + 1)^2``). ``"jitter"``, ``"sweeps"`` and ``"saccades"``:
    the path an :class:`~htmkit.vision.eye.Eye` with a window the size of the image and
    ``pad = step`` draws for key 0, so the path depends only on ``seed``.
    """
    if mode not in MOVIE_MODES:
        raise ParameterError(f"movie mode must be one of {MOVIE_MODES}, got {mode!r}")
    if mode == "spiral":
        n = (2 * step + 1) ** 2
        out = [(0, 0)]
        y = x = 0
        leg, d = 1, 0
        dirs = ((0, 1), (1, 0), (0, -1), (-1, 0))  # right, down, left, up
        while len(out) < n:
            for _ in range(2):
                dy, dx = dirs[d % 4]
                for _ in range(leg):
                    y, x = y + dy, x + dx
                    if len(out) < n:
                        out.append((y, x))
                d += 1
            leg += 1
        return int(stride) * np.array(out, dtype=np.int64)
    from .eye import Eye

    eye = Eye((8, 8), mode=mode, n_views=n_views, step=step, seed=seed, pad=step)
    pos = eye.plan((8, 8), np.random.default_rng([seed, 0]))
    # the window equals the image: position (step, step) is the centred view
    return (step - pos).astype(np.int64)


def movie_views(binary: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``[N, T, H, W]`` views: image ``i`` moved by ``offsets[t] = (dy, dx)``, zero-filled."""
    imgs = np.asarray(binary)
    N, H, W = imgs.shape
    out = np.zeros((N, len(offsets), H, W), dtype=imgs.dtype)
    for t, (dy, dx) in enumerate(offsets):
        dy, dx = int(dy), int(dx)
        if abs(dy) >= H or abs(dx) >= W:
            continue
        out[:, t, max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = imgs[
            :, max(-dy, 0) : H - max(dy, 0), max(-dx, 0) : W - max(dx, 0)
        ]
    return out


def fixate(binary: np.ndarray) -> np.ndarray:
    """Centring saccade: move each binary image ``[N, H, W]`` by whole pixels (zero-filled) so
    that the centre of mass of its on-pixels is at the image centre (empty images unchanged)."""
    N, H, W = binary.shape
    mass = binary.reshape(N, -1).sum(axis=1).astype(np.float64)
    ys = binary.sum(axis=2) @ np.arange(H, dtype=np.float64)
    xs = binary.sum(axis=1) @ np.arange(W, dtype=np.float64)
    safe = np.maximum(mass, 1.0)
    dy = np.where(mass > 0, np.rint((H - 1) / 2.0 - ys / safe), 0).astype(np.int64)
    dx = np.where(mass > 0, np.rint((W - 1) / 2.0 - xs / safe), 0).astype(np.int64)
    return translate(binary, np.stack([dy, dx], axis=1))


def fixation_offsets(kind: str, d: int) -> np.ndarray:
    """Fixation points ``[F, 2]`` (dy, dx) of the eye at test time, the centre first:
    ``"centre"`` only, ``"cross"`` (+ the 4 points ``d`` pixels up, down, left and right) or
    ``"ring"`` (+ the 8 points of ``{-d, 0, d}^2``)."""
    if kind not in FIXATIONS:
        raise ParameterError(f"test_fixations must be one of {FIXATIONS}, got {kind!r}")
    pts = [(0, 0)]
    if kind == "cross":
        pts += [(-d, 0), (d, 0), (0, -d), (0, d)]
    elif kind == "ring":
        pts += [(dy, dx) for dy in (-d, 0, d) for dx in (-d, 0, d) if (dy, dx) != (0, 0)]
    return np.array(pts, dtype=np.int64)


# ----------------------------------------------------------------------------------- workers
#: The model, images and shift of the transform being shared out (read by forked workers).
_FORKED: dict[str, Any] = {}


def _transform_part(bounds: tuple[int, int]) -> np.ndarray:
    """Worker of :meth:`VisionHierarchy.transform`: features of images ``a:b``."""
    h, imgs, shift = _FORKED["job"]
    a, b = bounds
    return h._transform_serial(imgs[a:b], shift)


# ----------------------------------------------------------------------------------- params
@dataclass(frozen=True)
class EyeParams:
    """The retina and the eye movements of a :class:`VisionHierarchy`.

    Attributes
    ----------
    image_shape : (int, int)
        Shape of the images given to the model.
    upsample : int
        The retina's resolution relative to the image: images are zoomed by this factor
        (bilinear, ``scipy.ndimage.zoom(order=1, grid_mode=True)``) before thresholding, so grey
        levels of small images (the 8x8 digits) become spatial detail. 1 for MNIST.
    threshold : float
        A pixel is on when ``value / 255 > threshold`` (the ImageEncoder's "fixed" mode).
    movie, n_views, step, stride : str, int, int, int
        The eye movement of every movie (see :func:`movie_offsets`); ``step`` 0 only with the
        ``"spiral"`` movie (one view).
    fixate : bool
        Before the movie, the eye makes a centring saccade: the binary image is moved (whole
        pixels, zero-filled) so that the centre of mass of its on-pixels lands on the centre of
        the field of view, identically for training and test images.
    train_saccades : int
        Extra movies of every training image for the readout (0: none), each from a fixation
        point displaced by ``(dy, dx)`` drawn (seeded) from ``{-d, 0, d}``,
        ``d = step * stride`` (docs/experiments/vision-eye-movements.md).
    test_fixations : {"centre", "cross", "ring"}
        Where the eye looks at test time: one movie from the centre, or also movies from the 4
        (``"cross"``) or 8 (``"ring"``) fixation points displaced by ``step * stride`` pixels
        (:func:`fixation_offsets`); the class probabilities are averaged over the fixations.
        Needs the linear readout.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "image_shape": Shape(),
        "upsample": Interval(int, 1),
        "threshold": Interval(float, 0.0, 1.0, closed="left"),
        "movie": Options(MOVIE_MODES),
        "n_views": Interval(int, 1),
        "step": Interval(int, 0),
        "stride": Interval(int, 1),
        "fixate": Boolean(),
        "train_saccades": Interval(int, 0),
        "test_fixations": Options(FIXATIONS),
    }

    image_shape: tuple[int, int] = (28, 28)
    upsample: int = 1
    threshold: float = 0.3
    movie: str = "spiral"
    n_views: int = 9
    step: int = 1
    stride: int = 1
    fixate: bool = False
    train_saccades: int = 0
    test_fixations: str = "centre"

    def __post_init__(self) -> None:
        validate(self)
        if len(self.image_shape) != 2:
            raise ParameterError(f"image_shape must be (height, width), got {self.image_shape}")
        if self.step == 0 and self.movie != "spiral":
            raise ParameterError("step must be >= 0 (0 only for the 'spiral' movie: one view)")
        rh, rw = self.retina_shape
        check_index_width("image_shape and upsample", rh * rw, "retina pixels")
        # one zoomed image in float32 (the retina is built a chunk of images at a time)
        check_memory("image_shape and upsample", f"{self.image_shape} x {self.upsample}",
                     4.0 * float(rh) * float(rw))

    @property
    def retina_shape(self) -> tuple[int, int]:
        """Shape of the binary views (the image times ``upsample``)."""
        return (int(self.image_shape[0]) * int(self.upsample),
                int(self.image_shape[1]) * int(self.upsample))

    @property
    def n_movie_views(self) -> int:
        return (2 * self.step + 1) ** 2 if self.movie == "spiral" else self.n_views


def _grid(name: str, value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    g = check_shape(name, value)
    if len(g) != 2:
        raise ParameterError(f"{name} must be (rows, columns), got {value!r}")
    return g


@dataclass(frozen=True)
class LevelParams:
    """The SP of one level of a :class:`VisionHierarchy`.

    Attributes
    ----------
    grid : (int, int) or None
        Column grid (``None``: half the level below: the retina for level 1).
    depth : int
        Mini-columns per grid position.
    radius : int
        Potential radius (level 1: in pixels; level 2: in level-1 grid positions).
    density, stimulus : float, int
        Local area density and stimulus threshold of the SP.
    min_fraction : float or None
        Fractional inference (the SP's ``inference_min_fraction``): after learning, columns
        compete on the fraction of their connected synapses that see active inputs and fire
        only above this fraction. ``None``: off. Level 1 only.
    window : int
        Level 1 only: views pooled (union) before the result goes up to level 2 (``0``: the
        whole movie).
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "grid": Custom(_grid, "None or (rows, columns)"),
        "depth": Interval(int, 1),
        "radius": Interval(int, 0),
        "density": Interval(float, 0.0, 1.0, closed="right"),
        "stimulus": Interval(int, 0),
        "min_fraction": Optional(Interval(float, 0.0, 1.0, closed="left")),
        "window": Interval(int, 0),
    }

    grid: tuple[int, int] | None = None
    depth: int = 16
    radius: int = 3
    density: float = 0.08
    stimulus: int = 2
    min_fraction: float | None = None
    window: int = 3

    def __post_init__(self) -> None:
        validate(self)

    @property
    def column_dimensions(self) -> tuple[int, int, int]:
        """``(rows, columns, depth)``: the column space of the level's SP (once the grid is
        known, as in a :class:`HierarchyParams`)."""
        if self.grid is None:
            raise ParameterError("grid is not set (HierarchyParams derives it)")
        return (int(self.grid[0]), int(self.grid[1]), self.depth)


@dataclass(frozen=True)
class SynapseParams:
    """Permanence and boosting settings shared by the SPs of every level."""

    _parameter_constraints: ClassVar[Constraints] = {
        "potential_pct": Interval(float, 0.0, 1.0, closed="right"),
        "perm_inc": Interval(float, 0.0, 1.0),
        "perm_dec": Interval(float, 0.0, 1.0),
        "perm_connected": Interval(float, 0.0, 1.0, closed="neither"),
        "boost_strength": Interval(float, 0.0),
    }

    potential_pct: float = 0.9
    perm_inc: float = 0.05
    perm_dec: float = 0.01
    perm_connected: float = 0.2
    boost_strength: float = 0.0

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class SequenceParams:
    """The optional level-1 Temporal Memory (see the module docstring; measured in
    docs/experiments/vision-settings.md).

    Attributes
    ----------
    enabled : bool
        Run a TM on the level-1 columns.
    images : int
        Training images whose movies the TM learns on.
    weight : float
        Weight of the TM's predicted-active columns in the level-1 pooled output.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "enabled": Boolean(),
        "images": Interval(int, 0),
        "weight": Interval(float),
    }

    enabled: bool = False
    images: int = 200
    weight: float = 1.0

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class ReadoutParams:
    """The readout of a :class:`VisionHierarchy`.

    Attributes
    ----------
    kind : {"linear", "predictor", "knn"}
        The classifier on the pooled features.
    features : {"top", "all"}
        The readout sees the top level's pooled output only, or every level's.
    dropout : float
        Spatial dropout while the linear readout learns (0: off): in every mini-batch, each
        *patch* of each training example -- one level-2 grid position together with the
        level-1 grid positions beneath it (one level-1 position for a single level) -- has
        all its pooled features zeroed with this probability. A regulariser of the readout
        that keeps it right when part of the digit is missing (occlusion).
    test_ignore : int
        Reading by parts at test time (0: off). With ``k > 0`` the readout reads each test
        movie once per k x k block of patches (see ``dropout``), each time ignoring the
        features of that block, and averages the class probabilities of those readings.
        Needs the linear readout.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "kind": Options(READOUTS),
        "features": Options(("top", "all")),
        "dropout": Interval(float, 0.0, 1.0, closed="left"),
        "test_ignore": Interval(int, 0),
    }

    kind: str = "linear"
    features: str = "all"
    dropout: float = 0.0
    test_ignore: int = 0

    def __post_init__(self) -> None:
        validate(self)
        if self.dropout > 0 and self.kind != "linear":
            raise ParameterError("dropout needs kind='linear'")
        if self.test_ignore > 0 and self.kind != "linear":
            raise ParameterError("test_ignore needs kind='linear'")


#: The sections of :class:`HierarchyParams` and their classes.
_SECTIONS: dict[str, type] = {
    "eye": EyeParams, "level1": LevelParams, "level2": LevelParams,
    "synapses": SynapseParams, "tm": SequenceParams, "readout": ReadoutParams,
}

#: The flat parameter names of the first htmkit release (``(section, field)``; ``section``
#: None: top level); :meth:`HierarchyParams.from_dict` reads them so that models saved then
#: still load.
_FLAT_NAMES: dict[str, tuple[str | None, str]] = {
    **{n: ("eye", n) for n in ("image_shape", "upsample", "threshold", "movie", "n_views",
                                 "step", "stride", "fixate", "train_saccades",
                                 "test_fixations")},
    **{f"l1_{n}": ("level1", n) for n in ("grid", "depth", "radius", "density", "stimulus",
                                           "min_fraction", "window")},
    **{f"l2_{n}": ("level2", n) for n in ("grid", "depth", "radius", "density", "stimulus")},
    **{n: ("synapses", n) for n in ("potential_pct", "perm_inc", "perm_dec", "perm_connected",
                                      "boost_strength")},
    "l1_tm": ("tm", "enabled"), "tm_images": ("tm", "images"), "tm_weight": ("tm", "weight"),
    "readout": ("readout", "kind"), "features": ("readout", "features"),
    "readout_dropout": ("readout", "dropout"), "test_ignore": ("readout", "test_ignore"),
    **{n: (None, n) for n in ("levels", "pooling", "n_learn", "seed")},
}


def _level2_default() -> LevelParams:
    return LevelParams(depth=32, radius=2, density=0.05, stimulus=2, window=0)


@dataclass(frozen=True)
class HierarchyParams:
    """Parameters of a :class:`VisionHierarchy`, in sections.

    Build it from the section dataclasses, from dicts
    (``HierarchyParams(eye={"image_shape": (8, 8)}, level1={"depth": 8})``: a section given
    as a mapping changes those fields of the section's defaults), or from a nested dict such
    as a YAML file's with :meth:`from_dict`; :meth:`to_dict` writes that dict back and
    :meth:`replace` changes some fields of some sections.

    Attributes
    ----------
    eye : EyeParams
        The retina and the eye movements.
    levels : 1 or 2
        1 gives the single-level model (level-1 pooled output only).
    level1, level2 : LevelParams
        The SP of each level (level 2 is unused with ``levels=1``).
    synapses : SynapseParams
        Permanence and boosting settings of both SPs.
    tm : SequenceParams
        The optional level-1 Temporal Memory.
    pooling : {"union", "count"}
        What a level's pooled output over the movie is: the union (OR) of its active columns,
        or the fraction of views in which each column was active (a graded union).
    readout : ReadoutParams
        The classifier on the pooled features.
    n_learn : int
        Training images whose movies the SPs learn on (0: all of them).
    seed : int
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "levels": Options((1, 2)),
        "pooling": Options(("union", "count")),
        "n_learn": Interval(int, 0),
        "seed": Interval(int, 0),
    }

    eye: EyeParams = field(default_factory=EyeParams)
    levels: int = 2
    level1: LevelParams = field(default_factory=LevelParams)
    level2: LevelParams = field(default_factory=_level2_default)
    synapses: SynapseParams = field(default_factory=SynapseParams)
    tm: SequenceParams = field(default_factory=SequenceParams)
    pooling: str = "union"
    readout: ReadoutParams = field(default_factory=ReadoutParams)
    n_learn: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        defaults = {f.name: f.default_factory for f in fields(self) if f.name in _SECTIONS}
        for name, cls in _SECTIONS.items():
            sec = getattr(self, name)
            if isinstance(sec, Mapping):
                unknown = sorted(set(sec) - {f.name for f in fields(cls)})
                if unknown:
                    raise ParameterError(f"{name}: unknown parameter(s) {unknown}")
                # the fields not given keep this section's defaults (level 2 has its own)
                make: Any = defaults[name]
                sec = replace(make(), **sec)
            if not isinstance(sec, cls):
                raise ParameterError(f"{name} must be a {cls.__name__} or a mapping, got "
                                     f"{type(sec).__name__}")
            put(name, sec)
        validate(self)
        H, W = self.eye.retina_shape
        if self.level1.grid is None:
            put("level1", replace(self.level1, grid=(max(1, H // 2), max(1, W // 2))))
        g1 = self.level1.grid
        assert g1 is not None
        if self.level2.grid is None:
            put("level2", replace(self.level2, grid=(max(1, g1[0] // 2), max(1, g1[1] // 2))))
        if self.eye.test_fixations != "centre" and self.readout.kind != "linear":
            raise ParameterError("eye.test_fixations other than 'centre' need readout.kind="
                                 "'linear' (it averages the readout's class probabilities)")
        grid = self.level2.grid if self.levels == 2 else self.level1.grid
        assert grid is not None
        if not self.readout.test_ignore < min(grid):
            raise ParameterError(f"readout.test_ignore must be an integer in [0, {min(grid)}) "
                                 f"(blocks of the {grid[0]}x{grid[1]} patch grid), got "
                                 f"{self.readout.test_ignore!r}")

    @property
    def retina_shape(self) -> tuple[int, int]:
        """Shape of the binary views (``eye.retina_shape``)."""
        return self.eye.retina_shape

    # ------------------------------------------------------------------ dicts
    def to_dict(self) -> dict[str, Any]:
        """The parameters as a nested dict of plain values (tuples become lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = params_to_dict(v) if f.name in _SECTIONS else v
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HierarchyParams:
        """Build from a nested dict (as :meth:`to_dict` writes it, or a YAML file's sections;
        missing keys take the defaults). The flat names of the first release (``l1_depth``,
        ``readout_dropout``, ...) are read too, so models saved then still load."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"HierarchyParams needs a mapping, got {type(data).__name__}")
        nested: dict[str, Any] = {}
        top = {f.name for f in fields(cls)}
        for key, value in data.items():
            if key in _SECTIONS and isinstance(value, Mapping):
                nested.setdefault(key, {}).update(
                    {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
            elif key in top and key not in _SECTIONS:
                nested[key] = value
            elif key in _FLAT_NAMES:
                section, name = _FLAT_NAMES[key]
                value = tuple(value) if isinstance(value, list) else value
                if section is None:
                    nested[name] = value
                else:
                    nested.setdefault(section, {})[name] = value
            else:
                raise ParameterError(f"unknown HierarchyParams parameter {key!r}")
        return cls(**nested)

    def replace(self, **changes: Any) -> HierarchyParams:
        """A copy with ``changes``: top-level fields, or sections given as mappings of the
        fields to change (``p.replace(readout={"test_ignore": 2}, seed=1)``)."""
        kwargs: dict[str, Any] = {}
        for key, value in changes.items():
            if key in _SECTIONS and isinstance(value, Mapping):
                kwargs[key] = replace(getattr(self, key), **value)
            else:
                kwargs[key] = value
        return replace(self, **kwargs)


# ----------------------------------------------------------------------------------- model
def _level_sp(p: HierarchyParams, input_dims: tuple[int, ...], column_dims: tuple[int, ...],
              radius: int, density: float, stimulus: int, seed: int,
              min_fraction: float | None = None) -> SpatialPooler:
    """The SP of one level: local receptive fields and inhibition, no wrap-around, the shared
    permanence and boosting settings of ``p``."""
    return SpatialPooler(_level_sp_params(p, input_dims, column_dims, radius, density,
                                          stimulus, seed, min_fraction))


def _level_sp_params(p: HierarchyParams, input_dims: tuple[int, ...],
                     column_dims: tuple[int, ...], radius: int, density: float, stimulus: int,
                     seed: int, min_fraction: float | None = None) -> SpatialPoolerParams:
    """The parameters of :func:`_level_sp` (validated and bounded, nothing allocated)."""
    return SpatialPoolerParams(
        input_dimensions=input_dims, column_dimensions=column_dims, potential_radius=radius,
        potential_pct=p.synapses.potential_pct, global_inhibition=False, local_area_density=density,
        stimulus_threshold=stimulus, syn_perm_inactive_dec=p.synapses.perm_dec,
        syn_perm_active_inc=p.synapses.perm_inc, syn_perm_connected=p.synapses.perm_connected,
        boost_strength=p.synapses.boost_strength, wrap_around=False, seed=seed,
        inference_min_fraction=min_fraction,
    )


def estimated_bytes(p: HierarchyParams) -> float:
    """Bytes a new :class:`VisionHierarchy` of parameters ``p`` allocates (computed without
    allocating): the level SPs (:meth:`SpatialPoolerParams.estimated_bytes`), the optional
    TM, and per image the retina views of a movie (one byte per pixel and view) and the
    float32 pooled activity of each level. A level too large on its own raises
    :class:`ParameterError` naming the level."""
    from ..temporal_memory import TemporalMemoryParams

    total = 0.0
    levels: list[tuple[str, tuple[int, ...], LevelParams, int]] = [
        ("level1", p.retina_shape, p.level1, p.seed + 1)]
    if p.levels >= 2:
        levels.append(("level2", p.level1.column_dimensions, p.level2, p.seed + 2))
    n1 = 0
    for name, input_dims, lev, seed in levels:
        try:
            sp = _level_sp_params(p, input_dims, lev.column_dimensions, lev.radius,
                                  lev.density, lev.stimulus, seed)
        except ParameterError as exc:
            raise ParameterError(f"{name} (grid {lev.grid}, depth {lev.depth}): {exc}") from None
        n1 = n1 or sp.num_columns
        total += sum(sp.estimated_bytes().values()) + sp.num_columns * 4
    if p.tm.enabled:
        total += TemporalMemoryParams(column_dimensions=(n1,), cells_per_column=4,
                                      activation_threshold=8, min_threshold=6,
                                      max_new_synapse_count=16).estimated_bytes()
    total += float(p.eye.n_movie_views) * math.prod(p.retina_shape)
    return total


class VisionHierarchy(Persistable):
    """Two levels of SP (+ optional TM) with temporal pooling over a movie, and a readout.

    Methods: :meth:`learn_unsupervised` (the SPs), :meth:`transform` (pooled representations,
    ``learn=False``), :meth:`fit` / :meth:`predict` (everything, images in, labels out),
    :meth:`run_movie` (per-view activity of one image, for inspection), ``save``/``load``.

    ``n_jobs`` (keyword only, not saved with the model): processes that share the images of a
    :meth:`transform` call (forked copies of the model; the features are identical to one
    process's). Learning always runs in one process.
    """

    def __init__(self, params: HierarchyParams | None = None, *, n_jobs: int = 1,
                 **kwargs: Any) -> None:
        if params is None:
            params = HierarchyParams(**kwargs)
        elif kwargs:
            raise ParameterError("pass either a HierarchyParams or keyword arguments")
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
            raise ParameterError(f"n_jobs must be a positive integer, got {n_jobs!r}")
        self.n_jobs = int(n_jobs)
        self.params = params
        p = params
        check_memory("eye.image_shape, eye.upsample and the levels' grid and depth",
                     f"{p.eye.image_shape}, {p.eye.upsample}, {p.level1.grid}x{p.level1.depth}"
                     + (f" and {p.level2.grid}x{p.level2.depth}" if p.levels >= 2 else ""),
                     estimated_bytes(p))
        self.offsets = movie_offsets(p.eye.movie, p.eye.n_views, p.eye.step, p.seed, p.eye.stride)
        self.sp1 = _level_sp(p, p.retina_shape, p.level1.column_dimensions, p.level1.radius,
                             p.level1.density, p.level1.stimulus, p.seed + 1,
                             p.level1.min_fraction)
        self.sp2: SpatialPooler | None = None
        if p.levels >= 2:
            self.sp2 = _level_sp(p, p.level1.column_dimensions, p.level2.column_dimensions,
                                 p.level2.radius, p.level2.density, p.level2.stimulus,
                                 p.seed + 2)
        self.tm = None
        if p.tm.enabled:
            from ..temporal_memory import TemporalMemory

            self.tm = TemporalMemory(
                column_dimensions=(self.sp1.num_columns,),
                cells_per_column=4,
                activation_threshold=8,
                min_threshold=6,
                max_new_synapse_count=16,
                seed=p.seed + 3,
            )
        self.readout: Any = None
        self.timing: dict[str, float] = {}

    # ------------------------------------------------------------------ sizes
    @property
    def n_l1(self) -> int:
        return self.sp1.num_columns

    @property
    def n_l2(self) -> int:
        return 0 if self.sp2 is None else self.sp2.num_columns

    @property
    def n_features(self) -> int:
        p = self.params
        if self.sp2 is None:
            return self.n_l1
        return self.n_l2 + (self.n_l1 if p.readout.features == "all" else 0)

    # ------------------------------------------------------------------ encoding
    def encode(self, images: np.ndarray) -> np.ndarray:
        """Binary pixels ``[N, H, W]`` (uint8 0/1) of uint8 (0-255) or float (0-1) images."""
        imgs = np.asarray(images)
        if imgs.ndim == 2:
            imgs = imgs[None]
        if imgs.ndim != 3 or tuple(imgs.shape[1:]) != self.params.eye.image_shape:
            raise InputError(
                f"images must have shape [N, {self.params.eye.image_shape[0]}, "
                f"{self.params.eye.image_shape[1]}], got {imgs.shape}"
            )
        scale = 255.0 if np.issubdtype(imgs.dtype, np.integer) else 1.0
        u = int(self.params.eye.upsample)
        if u > 1:
            from scipy.ndimage import zoom

            imgs = zoom(imgs.astype(np.float32), (1, u, u), order=1, mode="nearest",
                        grid_mode=True)
        binary = (imgs > self.params.eye.threshold * scale).astype(np.uint8)
        if self.params.eye.fixate:
            binary = fixate(binary)
        return binary

    def views(self, images: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
        """Binary views ``[N, T, h, w]`` (``h, w`` = the retina shape) of the movies; ``shift``
        ``(dy, dx)`` displaces the whole movie (a fixation point off the centre)."""
        offsets = self.offsets if shift is None else self.offsets + np.asarray(shift)
        return movie_views(self.encode(images), offsets)

    # ------------------------------------------------------------------ core loop
    def _run(self, views: np.ndarray, learn1: bool, learn2: bool, keep: bool = False,
             tm_learn: bool = False
             ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any] | None]:
        """Run one movie ``views [T, H, W]``: pooled level-1 / level-2 dense outputs."""
        p = self.params
        T = views.shape[0]
        sp1, sp2, tm = self.sp1, self.sp2, self.tm
        n1 = self.n_l1
        shape1 = sp1.column_dimensions
        flat = views.reshape(T, -1)
        window = T if p.level1.window == 0 else min(p.level1.window, T)
        a1_hist: list[np.ndarray] = []
        pool1 = np.zeros(n1, dtype=np.float32)
        pool2 = None if sp2 is None else np.zeros(sp2.num_columns, dtype=np.float32)
        count = p.pooling == "count"
        trace: dict[str, list[Any]] = {"a1": [], "a2": [], "p1": []}  # filled with keep
        if tm is not None:
            tm.reset()
        for t in range(T):
            idx = np.flatnonzero(flat[t])
            a1 = sp1.compute(SDR._trusted(p.retina_shape, idx.astype(np.int32)), learn=learn1)
            cols = a1.indices
            if count:
                pool1[cols] += 1.0
            else:
                pool1[cols] = 1.0
            if tm is not None:
                tm.compute(SDR._trusted((n1,), cols), learn=tm_learn)
                if p.tm.weight > 0 and t > 0:
                    cpc = tm.params.cells_per_column
                    pidx = np.unique(tm.predicted_active_cells.indices // cpc)
                    pool1[pidx] += p.tm.weight
            a1_hist.append(cols)
            if keep:
                trace["a1"].append(cols)
            if sp2 is not None and t >= window - 1:
                assert pool2 is not None
                u = np.unique(np.concatenate(a1_hist[t - window + 1 : t + 1]))
                a2 = sp2.compute(SDR._trusted(shape1, u.astype(np.int32)), learn=learn2)
                if count:
                    pool2[a2.indices] += 1.0
                else:
                    pool2[a2.indices] = 1.0
                if keep:
                    trace["a2"].append(a2.indices)
                    trace["p1"].append(u)
        if count:
            pool1 /= T
            if pool2 is not None:
                pool2 /= max(T - window + 1, 1)
        return pool1, pool2, (trace if keep else None)

    # ------------------------------------------------------------------ learning
    def learn_unsupervised(self, images: np.ndarray) -> VisionHierarchy:
        """Level by level: SP1 on every view, then SP2 on pooled level 1, then the TM."""
        p = self.params
        imgs = check_images(images)
        n = len(imgs) if p.n_learn == 0 else min(p.n_learn, len(imgs))
        views = self.views(imgs[:n])
        t0 = time.perf_counter()
        for i in range(n):
            for t in range(views.shape[1]):
                idx = np.flatnonzero(views[i, t].ravel()).astype(np.int32)
                self.sp1.compute(SDR._trusted(p.retina_shape, idx), learn=True)
        self.timing["learn_l1_s"] = time.perf_counter() - t0
        if self.sp2 is not None:
            t0 = time.perf_counter()
            for i in range(n):
                self._run(views[i], learn1=False, learn2=True)
            self.timing["learn_l2_s"] = time.perf_counter() - t0
        if self.tm is not None:
            t0 = time.perf_counter()
            m = min(p.tm.images, n)
            for i in range(m):
                self._run(views[i], learn1=False, learn2=False, tm_learn=True)
            self.timing["learn_tm_s"] = time.perf_counter() - t0
        return self

    def transform(self, images: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
        """Pooled top representation ``float32 [N, n_features]`` (no learning); ``shift`` as
        in :meth:`views`. With ``n_jobs > 1`` the images are shared out to forked processes."""
        imgs = np.asarray(images)
        t0 = time.perf_counter()
        jobs = self._jobs_for(len(imgs))
        if jobs > 1:
            self.encode(imgs[:1])  # bad input fails here, not inside a worker
            out = self._transform_forked(imgs, shift, jobs)
        else:
            out = self._transform_serial(imgs, shift)
        self.timing["transform_ms_per_image"] = 1e3 * (time.perf_counter() - t0) / max(
            len(imgs), 1)
        return out

    def _transform_serial(self, imgs: np.ndarray, shift: np.ndarray | None) -> np.ndarray:
        p = self.params
        out = np.zeros((len(imgs), self.n_features), dtype=np.float32)
        chunk = 2048
        for s in range(0, len(imgs), chunk):
            views = self.views(imgs[s : s + chunk], shift)
            for j in range(len(views)):
                pool1, pool2, _ = self._run(views[j], learn1=False, learn2=False)
                if pool2 is None:
                    out[s + j] = pool1
                elif p.readout.features == "all":
                    out[s + j, : self.n_l2] = pool2
                    out[s + j, self.n_l2 :] = pool1
                else:
                    out[s + j] = pool2
        return out

    def _jobs_for(self, n: int) -> int:
        """Processes for ``n`` images: ``n_jobs``, but one for small batches (a fork costs more
        than it saves), where the platform cannot fork, and inside a daemonic process (a pool
        worker, which may not have children)."""
        import multiprocessing as mp

        if self.n_jobs <= 1 or n < 256 * self.n_jobs:
            return 1
        if "fork" not in mp.get_all_start_methods() or mp.current_process().daemon:
            return 1
        return self.n_jobs

    def _transform_forked(self, imgs: np.ndarray, shift: np.ndarray | None,
                          jobs: int) -> np.ndarray:
        import multiprocessing as mp

        step = -(-len(imgs) // (4 * jobs))  # 4 parts per process: even finish times
        parts = [(a, min(a + step, len(imgs))) for a in range(0, len(imgs), step)]
        _FORKED["job"] = (self, imgs, shift)  # inherited by the forked workers
        try:
            with mp.get_context("fork").Pool(jobs) as pool:
                chunks = pool.map(_transform_part, parts)
        finally:
            _FORKED.pop("job", None)
        return np.concatenate(chunks)

    def run_movie(self, image: np.ndarray) -> dict[str, Any]:
        """Per-view activity of one image: ``a1`` / ``a2`` (active columns per view), ``p1``
        (level-1 union window sent up per step) and the pooled ``pool1`` / ``pool2``."""
        views = self.views(np.asarray(image)[None])[0]
        pool1, pool2, trace = self._run(views, learn1=False, learn2=False, keep=True)
        assert trace is not None
        trace.update(pool1=pool1, pool2=pool2, views=views)
        return trace

    # ------------------------------------------------------------------ supervised top
    def _make_readout(self) -> Any:
        from ..readout import LinearReadout

        p = self.params
        if p.readout.dropout == 0:
            return LinearReadout(seed=p.seed)
        return LinearReadout(seed=p.seed, dropout=p.readout.dropout,
                             dropout_groups=self.feature_patches())

    def feature_patches(self) -> np.ndarray:
        """Patch of every readout feature (see ``readout.dropout``): the level-2 grid position
        above it, ``row * level2.grid[1] + col`` (for level-1 features the level-2 position whose
        area holds their level-1 position); with one level, the level-1 grid position."""
        p = self.params
        g1 = self.sp1.column_dimensions
        r1, c1 = np.divmod(np.arange(g1[0] * g1[1]), g1[1])
        if self.sp2 is None:
            return np.repeat(r1 * g1[1] + c1, g1[2])
        g2 = self.sp2.column_dimensions
        top = np.repeat(np.arange(g2[0] * g2[1]), g2[2])
        if p.readout.features == "top":
            return top
        below = (r1 * g2[0] // g1[0]) * g2[1] + c1 * g2[1] // g1[1]
        return np.concatenate([top, np.repeat(below, g1[2])])

    def fit(self, images: np.ndarray, labels: np.ndarray) -> VisionHierarchy:
        """Learn the SPs (unsupervised), then the readout on the pooled representations."""
        t0 = time.perf_counter()
        self.learn_unsupervised(images)
        self.timing["unsupervised_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        feats = self.transform(images)
        if self.params.eye.train_saccades:
            feats, labels = self._saccade_features(np.asarray(images), np.asarray(labels), feats)
        self.timing["train_features_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.fit_readout(feats, labels)
        self.timing["readout_s"] = time.perf_counter() - t0
        return self

    def _saccade_features(self, images: np.ndarray, labels: np.ndarray,
                          centred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features of the centred movies followed by ``eye.train_saccades`` movies per image from
        displaced fixation points (see :class:`HierarchyParams`), and the matching labels."""
        p = self.params
        n, k = len(images), int(p.eye.train_saccades)
        d = int(p.eye.step) * int(p.eye.stride)
        out = np.empty(((k + 1) * n, centred.shape[1]), dtype=np.float32)
        out[:n] = centred
        rng = np.random.default_rng([p.seed, 7])
        for r in range(1, k + 1):
            shifts = rng.choice(np.array([-d, 0, d]), size=(n, 2))
            block = out[r * n : (r + 1) * n]
            for shift in np.unique(shifts, axis=0):
                rows = np.all(shifts == shift, axis=1)
                block[rows] = self.transform(images[rows], shift)
        return out, np.tile(labels, k + 1)

    def fit_readout(self, feats: np.ndarray, labels: np.ndarray) -> None:
        y = np.asarray(labels, dtype=np.int64)
        kind = self.params.readout.kind
        if kind == "linear":
            self.readout = self._make_readout().fit(feats, y)
        elif kind == "knn":
            self.readout = {"x": feats.astype(np.float32), "y": y}
        else:
            from ..predictor import Predictor

            pred = Predictor(steps=(0,), alpha=0.01)
            for f, lab in zip(feats, y, strict=True):
                pred.learn(SDR._trusted((feats.shape[1],), np.flatnonzero(f).astype(np.int32)),
                           int(lab))
            self.readout = pred

    def predict_features(self, feats: np.ndarray) -> np.ndarray:
        if self.readout is None:
            raise InputError("VisionHierarchy: predict called before fit")
        kind = self.params.readout.kind
        if kind == "linear":
            return self.readout.predict(feats)
        if kind == "knn":
            from ..readout import knn_predict

            return knn_predict(self.readout["x"], self.readout["y"], feats, 3)
        out = np.empty(len(feats), dtype=np.int64)
        for i, f in enumerate(feats):
            probs = self.readout.infer(
                SDR._trusted((feats.shape[1],), np.flatnonzero(f).astype(np.int32)))[0]
            out[i] = int(np.argmax(probs))
        return out

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Labels of ``images``: the readout of the centred movie, or with ``test_fixations``
        the class of highest probability averaged over the eye's fixation points (and with
        ``test_ignore`` over the readings by parts of every movie)."""
        p = self.params
        if p.eye.test_fixations == "centre" and p.readout.test_ignore == 0:
            return self.predict_features(self.transform(images))
        if self.readout is None:
            raise InputError("VisionHierarchy: predict called before fit")
        prob = None
        for shift in fixation_offsets(p.eye.test_fixations, int(p.eye.step) * int(p.eye.stride)):
            pr = self.readout_proba(self.transform(images, shift))
            prob = pr if prob is None else prob + pr
        assert prob is not None  # at least the centre fixation
        return self.readout.classes_[np.argmax(prob, axis=1)]

    def readout_proba(self, feats: np.ndarray) -> np.ndarray:
        """Class probabilities of the linear readout for pooled features ``[N, n_features]``;
        with ``test_ignore = k`` their average over the readings that each ignore one k x k
        block of patches (:meth:`feature_patches`)."""
        k = self.params.readout.test_ignore
        if k == 0:
            return self.readout.predict_proba(feats)
        ro = self.readout
        X = np.asarray(feats, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise InputError(f"expected features [N, {self.n_features}], got {X.shape}")
        patch = self.feature_patches()
        gh, gw = self._patch_grid()
        # each patch's share of the logits, [N, gh, gw, classes]
        share = np.zeros((X.shape[0], gh * gw, ro.W.shape[1]), dtype=np.float32)
        for j in range(gh * gw):
            sel = patch == j
            share[:, j] = X[:, sel] @ ro.W[sel]
        share = share.reshape(X.shape[0], gh, gw, -1)
        full = share.sum(axis=(1, 2)) + ro.b
        prob = np.zeros_like(full)
        for r in range(gh - k + 1):
            for c in range(gw - k + 1):
                z = full - share[:, r : r + k, c : c + k].sum(axis=(1, 2))
                z -= z.max(axis=1, keepdims=True)
                e = np.exp(z)
                prob += e / e.sum(axis=1, keepdims=True)
        return prob / ((gh - k + 1) * (gw - k + 1))

    def _patch_grid(self) -> tuple[int, int]:
        """Rows and columns of the patch grid (level 2's, or level 1's with one level)."""
        g = (self.sp1 if self.sp2 is None else self.sp2).column_dimensions
        return int(g[0]), int(g[1])

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "params": self.params.to_dict(),
            "sp1": self.sp1.get_state(),
            "sp2": None if self.sp2 is None else self.sp2.get_state(),
            "tm": None if self.tm is None else self.tm.get_state(),
            "readout_kind": self.params.readout.kind,
            "readout": None,
        }
        r = self.readout
        if r is not None:
            if self.params.readout.kind == "linear":
                state["readout"] = {"W": r.W, "b": r.b, "classes": r.classes_,
                                    "epochs_run": int(r.epochs_run)}
            elif self.params.readout.kind == "knn":
                state["readout"] = {"x": r["x"], "y": r["y"]}
            else:
                state["readout"] = r.get_state()
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> VisionHierarchy:
        params = HierarchyParams.from_dict(state["params"])
        obj = cls.__new__(cls)
        obj.params = params
        obj.n_jobs = 1
        obj.offsets = movie_offsets(params.eye.movie, params.eye.n_views, params.eye.step,
                                    params.seed, params.eye.stride)
        obj.sp1 = SpatialPooler.from_state(state["sp1"])
        obj.sp2 = None if state["sp2"] is None else SpatialPooler.from_state(state["sp2"])
        obj.tm = None
        if state.get("tm") is not None:
            from ..temporal_memory import TemporalMemory

            obj.tm = TemporalMemory.from_state(state["tm"])
        obj.timing = {}
        r = state.get("readout")
        obj.readout = None
        if r is not None:
            where = "VisionHierarchy: readout"
            if params.readout.kind == "linear":
                ro = obj._make_readout()
                ro.W = state_array(r, "W", np.float32, where, ndim=2, finite=True)
                if ro.W.shape[0] != obj.n_features:
                    raise FormatError(f"{where}: array 'W' has {ro.W.shape[0]} rows, the "
                                      f"hierarchy has {obj.n_features} features")
                n_classes = ro.W.shape[1]
                ro.b = state_array(r, "b", np.float32, where, shape=(n_classes,), finite=True)
                if not isinstance(r.get("classes"), np.ndarray) or r["classes"].shape != (
                        n_classes,):
                    raise FormatError(f"{where}: array 'classes' must have shape "
                                      f"({n_classes},)")
                ro.classes_ = np.asarray(r["classes"])
                ro.epochs_run = state_int(r, "epochs_run", where, lo=0)
                obj.readout = ro
            elif params.readout.kind == "knn":
                x = state_array(r, "x", np.float32, where, ndim=2)
                if x.shape[1] != obj.n_features:
                    raise FormatError(f"{where}: array 'x' has {x.shape[1]} columns, the "
                                      f"hierarchy has {obj.n_features} features")
                if not isinstance(r.get("y"), np.ndarray) or r["y"].shape != (x.shape[0],):
                    raise FormatError(f"{where}: array 'y' must have shape ({x.shape[0]},)")
                obj.readout = {"x": x, "y": np.asarray(r["y"])}
            else:
                from ..predictor import Predictor

                obj.readout = Predictor.from_state(r)
        return obj

    def describe(self) -> dict[str, Any]:
        d = self.params.to_dict()
        d["n_features"] = self.n_features
        d["movie_offsets"] = self.offsets.tolist()
        d["timing"] = dict(self.timing)
        return d


# ----------------------------------------------------------------------------------- network
def build_network(h: VisionHierarchy) -> Any:
    """The hierarchy's regions as a :class:`~htmkit.network.Network` (shared, not copied).

    Regions: ``retina`` (SDR sensor, one binary view) -> ``level1`` (the level-1 SP);
    ``level1_pooled`` (SDR sensor: the union of level-1 outputs over the last ``level1.window``
    views, which :meth:`VisionHierarchy.run_movie` computes) -> ``level2`` (the level-2 SP).
    Running it with ``learn=False`` gives exactly what the fast path computes (it calls the
    same SP objects); the fast path skips the network's per-step bookkeeping because a movie
    is T steps per image. Use it to print or draw the hierarchy.
    """
    from ..network import Network, SDRSensor, SpatialPoolerRegion

    net = Network("vision-hierarchy")
    net.add_region("retina", SDRSensor(h.params.retina_shape))
    net.add_region("level1", SpatialPoolerRegion(h.sp1))
    net.link("retina", "level1")
    if h.sp2 is not None:
        net.add_region("level1_pooled", SDRSensor(h.sp1.column_dimensions))
        net.add_region("level2", SpatialPoolerRegion(h.sp2))
        net.link("level1_pooled", "level2")
    return net
