"""The vision benchmark's HTM models: :class:`~htmkit.vision.hierarchy.VisionHierarchy` with
the benchmark's settings, behind the model protocol of :mod:`htmkit.bench.vision`.

:func:`bench_params` gives the settings of ``"sp"`` (one level, one view) and ``"hierarchy"``
(two levels over a movie) for an image size; the ``*_bench_factory`` functions build the
registered models (``sp``, ``hierarchy``, ``hierarchy-saccades``, ``hierarchy-parts``,
``hierarchy-eye``, ``hierarchy-fixate``) from a :class:`~htmkit.bench.vision.ModelContext`.
Settings chosen in docs/experiments/vision-mnist.md and the vision-* pages it links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..vision.hierarchy import HierarchyParams, VisionHierarchy

__all__ = [
    "HTMVisionModel",
    "HierarchyModel",
    "htm_bench_factory",
    "bench_params",
    "hierarchy_bench_factory",
    "hierarchy_eye_bench_factory",
    "hierarchy_fixate_bench_factory",
    "hierarchy_parts_bench_factory",
    "hierarchy_saccades_bench_factory",
    "sp_bench_factory",
]


@dataclass
class HTMVisionModel:
    """A :class:`VisionHierarchy` behind the vision benchmark's model protocol."""

    name: str
    params: HierarchyParams
    n_jobs: int = 1
    hierarchy: VisionHierarchy = field(init=False)

    def __post_init__(self) -> None:
        self.hierarchy = VisionHierarchy(self.params, n_jobs=self.n_jobs)

    def fit(self, images: np.ndarray, labels: np.ndarray) -> HTMVisionModel:
        self.hierarchy.fit(images, labels)
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.hierarchy.predict(images)

    def describe(self) -> dict[str, Any]:
        return self.hierarchy.describe()


def bench_params(kind: str, image_shape: tuple[int, int], seed: int = 0,
                 quick: bool = False, n_train: int = 0) -> HierarchyParams:
    """The benchmark settings of ``"sp"`` and ``"hierarchy"`` for images of ``image_shape``.

    Chosen on a validation split of the MNIST / digits *training* sets (never the test set).
    """
    H, W = image_shape
    # the retina: small images (the 8x8 digits) are zoomed 3x so that the SPs get detail
    up = 3 if min(H, W) < 16 else 1
    # equal permanence steps: more selective receptive fields (docs/experiments/vision-settings.md)
    eye: dict[str, Any] = dict(image_shape=image_shape, upsample=up, movie="spiral")
    level1: dict[str, Any] = dict(radius=5 if up == 1 else 4, depth=24, density=0.15,
                                  stimulus=8 if up == 1 else 4)
    synapses: dict[str, Any] = dict(perm_inc=0.04, perm_dec=0.04)
    if up == 1:
        # fractional inference at level 1 (columns compete on the fraction of their connected
        # synapses that see on-pixels) with a sparser level 1, for ``sp`` and the hierarchy:
        # noise and occlusion robustness (docs/experiments/vision-fractional-inference.md)
        level1.update(min_fraction=0.3, density=0.08)
    if kind == "sp":
        # one level, one view per image (no movie); the SP learns in one pass over all images.
        # MNIST: 32 mini-columns per grid position and potential pools of half the receptive
        # window -- chosen for the clean accuracy that is this model's target
        # (docs/experiments/vision-settings.md)
        if up == 1:
            level1.update(depth=32)
            synapses.update(potential_pct=0.5)
        return HierarchyParams.from_dict(dict(eye={**eye, "step": 0}, levels=1, level1=level1,
                                              synapses=synapses, pooling="count", n_learn=0,
                                              seed=seed))
    # the zoomed 8x8 digits: fractional inference helps the hierarchy there too, at the denser
    # level 1, and the single level ``sp`` keeps count inference; the MNIST hierarchy uses a
    # higher threshold (docs/experiments/vision-fractional-inference.md)
    level1["min_fraction"] = 0.4 if up == 1 else 0.3
    # MNIST: eye movements of two pixels (offsets {-2, 0, 2}^2, still 9 views) -- wider shift
    # invariance at the same cost (docs/experiments/vision-eye-movements.md);
    # not validated on the zoomed 8x8 digits, which keep one-pixel steps
    stride = 2 if up == 1 else 1
    # MNIST: level 1 learns on the movies of 5,000 training images instead of 2,000 -- the best
    # clean accuracy in two validation runs (docs/experiments/vision-settings.md)
    n_learn = 1000 if quick else (5000 if up == 1 else 2000)
    return HierarchyParams.from_dict(dict(eye={**eye, "step": 1, "stride": stride}, levels=2,
                                          level1=level1, synapses=synapses, pooling="count",
                                          n_learn=n_learn, seed=seed))


def _bench_model(ctx: Any, name: str, kind: str = "hierarchy",
                 **changes: Any) -> HTMVisionModel:
    """Benchmark model ``name``: :func:`bench_params` of ``kind`` for the context, with
    ``changes`` to the parameters (:meth:`HierarchyParams.replace`)."""
    params = bench_params(kind, ctx.image_shape, ctx.seed, ctx.quick, ctx.n_train)
    return HTMVisionModel(name, params.replace(**changes), ctx.jobs)


def sp_bench_factory(ctx: Any) -> HTMVisionModel:
    """``sp``: a single level-1 SP + linear readout (see :func:`bench_params`)."""
    return _bench_model(ctx, "sp", kind="sp")


def hierarchy_bench_factory(ctx: Any) -> HTMVisionModel:
    """``hierarchy``: the two-level hierarchy + linear readout (see :func:`bench_params`).

    On MNIST-sized images its readout learns with spatial dropout (``readout.dropout``;
    chosen in docs/experiments/vision-occlusion-feedback.md). The 8x8 digits (not validated)
    and the other hierarchy models keep none."""
    dropout = 0.5 if min(ctx.image_shape) >= 16 else 0.0
    return _bench_model(ctx, "hierarchy", readout={"dropout": dropout})


def hierarchy_saccades_bench_factory(ctx: Any) -> HTMVisionModel:
    """``hierarchy-saccades``: the hierarchy whose readout also learns from two movies per
    training image seen from displaced fixation points (``eye.train_saccades=2``)."""
    return _bench_model(ctx, "hierarchy-saccades", eye={"train_saccades": 2})


def hierarchy_parts_bench_factory(ctx: Any) -> HTMVisionModel:
    """``hierarchy-parts``: the hierarchy read by parts -- a readout that learns with spatial
    dropout (``readout.dropout``) and, at test time, the average of its readings that each
    ignore one 4 x 4 block of the 7 x 7 level-2 patches, a 16 x 16-pixel region
    (``readout.test_ignore=4``). Chosen in docs/experiments/vision-occlusion-feedback.md. On smaller
    images the block keeps the same share of the patch grid (not validated there)."""
    params = bench_params("hierarchy", ctx.image_shape, ctx.seed, ctx.quick, ctx.n_train)
    k = max(1, round(4 * min(params.level2.column_dimensions[:2]) / 7))
    return _bench_model(ctx, "hierarchy-parts", readout={"dropout": 0.7, "test_ignore": k})


def hierarchy_eye_bench_factory(ctx: Any) -> HTMVisionModel:
    """``hierarchy-eye``: training saccades (``eye.train_saccades=2``) and, at test time, movies
    from the centre and 4 displaced fixation points whose class probabilities are averaged
    (``eye.test_fixations="cross"``)."""
    return _bench_model(ctx, "hierarchy-eye",
                        eye={"train_saccades": 2, "test_fixations": "cross"})


def hierarchy_fixate_bench_factory(ctx: Any) -> HTMVisionModel:
    """``hierarchy-fixate``: the hierarchy with the eye's centring saccade (``eye.fixate=True``)."""
    return _bench_model(ctx, "hierarchy-fixate", eye={"fixate": True})


@dataclass
class HierarchyModel:
    """``htm``: the one hierarchical temporal model, :class:`htmkit.vision.Hierarchy` with the
    preset of the data set (``digits`` for images under 16 pixels, else ``mnist``), behind the
    benchmark's model protocol. :meth:`predict` infers by glimpses (evidence accumulated until
    the readout is confident) and keeps the number of glimpses each image used in
    ``glimpses``."""

    name: str
    preset: str
    seed: int = 0
    quick: bool = False
    glimpses: list[int] = field(default_factory=list)
    model: Any = None

    def __post_init__(self) -> None:
        from ..vision.model import Hierarchy, load_spec

        spec = load_spec(self.preset)
        if self.quick:
            spec["train"]["n_learn"] = min(int(spec["train"]["n_learn"]), 300)
        self.model = Hierarchy(spec, seed=self.seed)

    def fit(self, images: np.ndarray, labels: np.ndarray) -> HierarchyModel:
        self.model.fit(images, labels)
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        out = np.empty(len(images), dtype=np.int64)
        for i, im in enumerate(np.asarray(images)):
            r = self.model.infer(im)
            out[i] = r["label"]
            self.glimpses.append(int(r["glimpses"]))
        return out

    def describe(self) -> dict[str, Any]:
        g = self.glimpses
        return {"preset": self.preset, "levels": self.model.levels,
                "regions": len(self.model.network),
                "mean_glimpses": float(np.mean(g)) if g else None,
                "inference": dict(self.model.spec["inference"])}


def htm_bench_factory(ctx: Any) -> HierarchyModel:
    """``htm``: :class:`HierarchyModel` for the context (one config for every protocol)."""
    preset = "digits" if min(ctx.image_shape) < 16 else "mnist"
    return HierarchyModel("htm", preset, seed=ctx.seed, quick=ctx.quick)
