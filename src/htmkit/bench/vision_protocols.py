"""Test protocols of the vision benchmark: the same seeded perturbations for every model.

Every model is trained on clean, centred training images and tested on these versions of the
test images (sizes quoted for 28x28 MNIST):

``clean``
    The test images unchanged.
``shift_k`` (k = 2 and 4)
    Each image moved by an offset ``(dy, dx)`` with ``dy`` and ``dx`` each drawn uniformly from
    ``{-k, 0, +k}``, not both 0 (8 equally likely offsets); pixels moved in from outside are 0.
``salt_pepper_p`` (p = 0.1, 0.2, 0.3)
    Each pixel independently, with probability ``p``, set to black (0) or white (255) with equal
    probability.
``occlusion_s`` (s = 8 and 12)
    One ``s x s`` square at a uniformly random position fully inside the image set to 0.

Scaling for small images. With ``S = min(H, W)`` the shifts are
``k1 = max(1, round(2 S / 28))`` and ``k2 = max(k1 + 1, round(4 S / 28))`` and the squares are
``s1 = max(1, round(8 S / 28))`` and ``s2 = max(s1 + 1, round(12 S / 28))``: 28x28 gives shifts
2, 4 and squares 8, 12; the 8x8 scikit-learn digits give shifts 1, 2 and squares 2, 3; 16x16 gives
shifts 1, 2 and squares 5, 7. Protocol names carry the actual values (``shift_1``, ``occlusion_3``).

Few-shot training subsets (:func:`few_shot_indices`): 10 and 100 training images per class,
drawn without replacement with a seeded generator; the models are then tested on ``clean``.

The transforms themselves (:func:`translate`, :func:`shift_images`, :func:`salt_and_pepper`,
:func:`occlude`) live in the library, :mod:`htmkit.vision.transforms`; they are re-exported here.

Seeding: each protocol draws from ``numpy.random.default_rng([seed, crc32(name)])``, so a
protocol's images depend only on the seed, its name and the test images, not on which other
protocols are built.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, ParameterError
from ..vision.transforms import (
    check_images,
    occlude,
    salt_and_pepper,
    shift_images,
)

__all__ = [
    "FEW_SHOT_SIZES",
    "NOISE_LEVELS",
    "ProtocolSpec",
    "few_shot_indices",
    "few_shot_subsets",
    "make_protocols",
    "protocol_rng",
    "protocol_specs",
    "scaled_occlusions",
    "scaled_shifts",
]

NOISE_LEVELS = (0.1, 0.2, 0.3)
FEW_SHOT_SIZES = (10, 100)
_REFERENCE_SIDE = 28


@dataclass(frozen=True)
class ProtocolSpec:
    """One test protocol: ``kind`` is ``clean``/``shift``/``salt_pepper``/``occlusion`` and
    ``param`` the shift ``k`` (pixels), the noise probability ``p`` or the square side."""

    name: str
    kind: str
    param: float


def scaled_shifts(image_shape: tuple[int, ...]) -> tuple[int, int]:
    """The two shift sizes ``(k1, k2)`` for images of ``(H, W)`` (2 and 4 at 28x28)."""
    s = min(int(image_shape[-2]), int(image_shape[-1]))
    k1 = max(1, round(2 * s / _REFERENCE_SIDE))
    k2 = max(k1 + 1, round(4 * s / _REFERENCE_SIDE))
    return int(k1), int(k2)


def scaled_occlusions(image_shape: tuple[int, ...]) -> tuple[int, int]:
    """The two occluding square sides ``(s1, s2)`` for images of ``(H, W)`` (8 and 12 at 28x28)."""
    s = min(int(image_shape[-2]), int(image_shape[-1]))
    s1 = max(1, round(8 * s / _REFERENCE_SIDE))
    s2 = max(s1 + 1, round(12 * s / _REFERENCE_SIDE))
    return int(min(s1, s)), int(min(s2, s))


def protocol_specs(
    image_shape: tuple[int, ...], noise: tuple[float, ...] = NOISE_LEVELS
) -> list[ProtocolSpec]:
    """The test protocols, in table order, for images of ``image_shape``."""
    specs = [ProtocolSpec("clean", "clean", 0.0)]
    specs += [ProtocolSpec(f"shift_{k}", "shift", float(k)) for k in scaled_shifts(image_shape)]
    specs += [ProtocolSpec(f"salt_pepper_{p:g}", "salt_pepper", float(p)) for p in noise]
    specs += [
        ProtocolSpec(f"occlusion_{s}", "occlusion", float(s))
        for s in scaled_occlusions(image_shape)
    ]
    return specs


def protocol_rng(seed: int, name: str) -> np.random.Generator:
    """The generator protocol ``name`` draws from under ``seed``."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])


# ---------------------------------------------------------------------------------- protocols
def make_protocols(
    images: np.ndarray, seed: int = 0, noise: tuple[float, ...] = NOISE_LEVELS
) -> dict[str, np.ndarray]:
    """All test protocols of ``images [N, H, W]``: ``{name: perturbed images}`` in table order.

    The result is identical for every model given the same images and seed.
    """
    imgs = check_images(images)
    out: dict[str, np.ndarray] = {}
    for spec in protocol_specs(imgs.shape, noise):
        rng = protocol_rng(seed, spec.name)
        if spec.kind == "clean":
            out[spec.name] = imgs.copy()
        elif spec.kind == "shift":
            out[spec.name] = shift_images(imgs, int(spec.param), rng)[0]
        elif spec.kind == "salt_pepper":
            out[spec.name] = salt_and_pepper(imgs, spec.param, rng)
        else:
            out[spec.name] = occlude(imgs, int(spec.param), rng)[0]
    return out


def few_shot_indices(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices (sorted) of ``per_class`` training examples of every class, drawn seeded.

    Raises InputError when a class has fewer than ``per_class`` examples.
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise InputError(f"labels must be one-dimensional, got shape {y.shape}")
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ParameterError(f"per_class must be a positive integer, got {per_class!r}")
    rng = np.random.default_rng([int(seed), zlib.crc32(f"few_shot_{per_class}".encode())])
    picked = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if idx.size < per_class:
            raise InputError(
                f"class {c} has only {idx.size} examples, fewer than per_class={per_class}"
            )
        picked.append(rng.choice(idx, per_class, replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64)


def few_shot_subsets(
    labels: np.ndarray, seed: int = 0, sizes: tuple[int, ...] = FEW_SHOT_SIZES
) -> dict[str, np.ndarray]:
    """``{"few_shot_10": indices, "few_shot_100": indices}`` (one entry per size)."""
    return {f"few_shot_{n}": few_shot_indices(labels, n, seed) for n in sizes}
