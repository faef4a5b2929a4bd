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

Seeding: each protocol draws from ``numpy.random.default_rng([seed, crc32(name)])``, so a
protocol's images depend only on the seed, its name and the test images, not on which other
protocols are built.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, ParameterError

__all__ = [
    "FEW_SHOT_SIZES",
    "NOISE_LEVELS",
    "ProtocolSpec",
    "few_shot_indices",
    "few_shot_subsets",
    "make_protocols",
    "occlude",
    "protocol_rng",
    "protocol_specs",
    "salt_and_pepper",
    "scaled_occlusions",
    "scaled_shifts",
    "shift_images",
    "translate",
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


def _check_images(images: np.ndarray) -> np.ndarray:
    imgs = np.asarray(images)
    if imgs.ndim != 3 or imgs.shape[0] == 0 or imgs.shape[1] == 0 or imgs.shape[2] == 0:
        raise InputError(f"images must have shape [N, H, W] with N, H, W > 0, got {imgs.shape}")
    return imgs


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


# ---------------------------------------------------------------------------------- transforms
def translate(images: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Move image ``i`` by ``offsets[i] = (dy, dx)`` (down/right positive), zero-filled.

    ``out[i, y, x] = images[i, y - dy, x - dx]`` where that pixel exists, else 0.
    """
    imgs = _check_images(images)
    off = np.asarray(offsets, dtype=np.int64).reshape(imgs.shape[0], 2)
    N, H, W = imgs.shape
    out = np.zeros_like(imgs)
    for dy, dx in {(int(a), int(b)) for a, b in off}:
        sel = np.flatnonzero((off[:, 0] == dy) & (off[:, 1] == dx))
        if abs(dy) >= H or abs(dx) >= W:
            continue
        dst_y = slice(max(dy, 0), H + min(dy, 0))
        src_y = slice(max(-dy, 0), H - max(dy, 0))
        dst_x = slice(max(dx, 0), W + min(dx, 0))
        src_x = slice(max(-dx, 0), W - max(dx, 0))
        out[sel, dst_y, dst_x] = imgs[sel, src_y, src_x]
    return out


def shift_images(
    images: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Shift each image by ``(dy, dx)``, each uniformly in ``{-k, 0, k}``, not both 0.

    Returns the shifted images and the offsets ``[N, 2]``.
    """
    imgs = _check_images(images)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"shift k must be a positive integer, got {k!r}")
    choices = np.array(
        [(dy, dx) for dy in (-k, 0, k) for dx in (-k, 0, k) if (dy, dx) != (0, 0)], dtype=np.int64
    )
    offsets = choices[rng.integers(0, len(choices), size=imgs.shape[0])]
    return translate(imgs, offsets), offsets


def _white(dtype: np.dtype) -> float | int:
    if np.issubdtype(dtype, np.integer):
        return 255 if np.iinfo(dtype).max >= 255 else int(np.iinfo(dtype).max)
    return 1.0


def salt_and_pepper(
    images: np.ndarray, p: float, rng: np.random.Generator, white: float | None = None
) -> np.ndarray:
    """Each pixel independently, with probability ``p``, becomes 0 or ``white`` (50/50).

    ``white`` defaults to 255 for integer images and 1.0 for floating-point ones.
    """
    imgs = _check_images(images)
    if not 0.0 <= float(p) <= 1.0:
        raise ParameterError(f"noise probability p must be in [0, 1], got {p!r}")
    hit = rng.random(imgs.shape) < float(p)
    salt = rng.random(imgs.shape) < 0.5
    out = imgs.copy()
    out[hit & ~salt] = 0
    out[hit & salt] = _white(imgs.dtype) if white is None else white
    return out


def occlude(
    images: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Set one ``size x size`` square per image, at a random position inside it, to 0.

    Returns the occluded images and the squares' top-left corners ``[N, 2]`` (row, col).
    """
    imgs = _check_images(images)
    N, H, W = imgs.shape
    if (
        isinstance(size, bool)
        or not isinstance(size, (int, np.integer))
        or not 1 <= size <= min(H, W)
    ):
        raise ParameterError(f"occlusion size must be an integer in [1, {min(H, W)}], got {size!r}")
    rows = rng.integers(0, H - size + 1, size=N)
    cols = rng.integers(0, W - size + 1, size=N)
    out = imgs.copy()
    r = rows[:, None, None] + np.arange(size)[None, :, None]
    c = cols[:, None, None] + np.arange(size)[None, None, :]
    out[np.arange(N)[:, None, None], r, c] = 0
    return out, np.stack([rows, cols], axis=1).astype(np.int64)


# ---------------------------------------------------------------------------------- protocols
def make_protocols(
    images: np.ndarray, seed: int = 0, noise: tuple[float, ...] = NOISE_LEVELS
) -> dict[str, np.ndarray]:
    """All test protocols of ``images [N, H, W]``: ``{name: perturbed images}`` in table order.

    The result is identical for every model given the same images and seed.
    """
    imgs = _check_images(images)
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
