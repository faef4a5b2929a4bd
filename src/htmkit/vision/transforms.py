"""Image transforms on batches of images ``[N, H, W]``: translation, salt-and-pepper noise and
occlusion by a square.

The vision hierarchy's eye uses :func:`translate` (e.g. the centring saccade,
:func:`htmkit.vision.hierarchy.fixate`); the vision benchmark builds its seeded test protocols
from all of them (:mod:`htmkit.bench.vision_protocols`).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, ParameterError

__all__ = ["check_images", "occlude", "salt_and_pepper", "shift_images", "translate"]


def check_images(images: np.ndarray) -> np.ndarray:
    """``images`` as an array; InputError unless it is ``[N, H, W]`` with N, H, W > 0."""
    imgs = np.asarray(images)
    if imgs.ndim != 3 or imgs.shape[0] == 0 or imgs.shape[1] == 0 or imgs.shape[2] == 0:
        raise InputError(f"images must have shape [N, H, W] with N, H, W > 0, got {imgs.shape}")
    return imgs


def translate(images: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Move image ``i`` by ``offsets[i] = (dy, dx)`` (down/right positive), zero-filled.

    ``out[i, y, x] = images[i, y - dy, x - dx]`` where that pixel exists, else 0.
    """
    imgs = check_images(images)
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
    imgs = check_images(images)
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
    imgs = check_images(images)
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
    imgs = check_images(images)
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
