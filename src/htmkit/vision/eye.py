"""An eye (sensor) that turns a still image into a movie of views.

HTM learns from sequences, so a still image is shown as a short *movie*: a window (the eye's
field of view) cut from the image at a sequence of positions. Three kinds of eye movement:

``"saccades"``
    The fixation jumps to a uniformly random position every view (never the same position twice
    in a row when another exists).
``"sweeps"``
    As in the classic HTM vision demos: the view translates by ``step`` pixels per view (default
    1) in one of the 8 compass directions; after a sweep of ``sweep_length`` views (drawn
    uniformly from the given range) a new direction is drawn. A sweep that reaches the border
    bounces off it (the direction's component along that axis is reversed), so every view moves
    by exactly ``step`` pixels along each moving axis.
``"jitter"``
    Small random offsets around the centre: each view's offset from the centred position is
    drawn uniformly from ``[-step, step]`` along each axis.

Geometry. The image is first zero-padded by ``pad`` pixels on every side (``pad=None`` picks it
automatically, see :class:`Eye`), then further zero-padded (symmetrically) wherever the window is
larger than the padded image. Positions are the ``(row, col)`` of each view's top-left corner in
this padded image and always satisfy ``0 <= row <= H_pad - h`` and ``0 <= col <= W_pad - w``, so
every view lies inside the padded image. ``Movie.origins`` gives the same corners in the original
image's coordinates (they may be negative, inside the padding).

Randomness. ``Eye(seed=s).movie(image, key=k)`` depends only on ``(s, k)`` and the image shape;
with ``key=None`` the eye draws from its own generator seeded with ``s``, so a sequence of calls is
reproducible too (:meth:`Eye.reset` restarts it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import InputError, ParameterError

__all__ = ["Eye", "Movie", "MODES", "SWEEP_DIRECTIONS"]

MODES = ("saccades", "sweeps", "jitter")

#: The 8 sweep directions as (d_row, d_col).
SWEEP_DIRECTIONS = np.array(
    [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)], dtype=np.int64
)


@dataclass(frozen=True)
class Movie:
    """A sequence of views of one image.

    Attributes
    ----------
    views : array [T, h, w]
        The views, same dtype as the image.
    positions : int64 array [T, 2]
        ``(row, col)`` of each view's top-left corner in the padded image.
    pad : (int, int)
        Zero rows added above and zero columns added left of the image (the padded image's
        coordinates of the image's top-left pixel).
    padded_shape : (int, int)
        Shape of the padded image the views were cut from.
    image_shape : (int, int)
        Shape of the original image.
    mode : str
        The eye movement that produced the movie.
    """

    views: np.ndarray
    positions: np.ndarray
    pad: tuple[int, int]
    padded_shape: tuple[int, int]
    image_shape: tuple[int, int]
    mode: str

    @property
    def n_views(self) -> int:
        """Number of views ``T``."""
        return int(self.views.shape[0])

    def __len__(self) -> int:
        return self.n_views

    @property
    def window_shape(self) -> tuple[int, int]:
        """``(h, w)`` of each view."""
        return (int(self.views.shape[1]), int(self.views.shape[2]))

    @property
    def origins(self) -> np.ndarray:
        """Top-left corners in the original image's coordinates (``positions - pad``)."""
        return self.positions - np.asarray(self.pad, dtype=np.int64)

    @property
    def displacements(self) -> np.ndarray:
        """``positions[t+1] - positions[t]``, shape ``[T-1, 2]``."""
        return np.diff(self.positions, axis=0)


def _pos_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class Eye:
    """Turns a 2-D image into a :class:`Movie` of ``n_views`` windows.

    Parameters
    ----------
    window_shape : int or (int, int)
        ``(h, w)`` of each view (an int means a square window).
    mode : {"saccades", "sweeps", "jitter"}
        The eye movement (see the module docstring).
    n_views : int
        Views per movie ``T``.
    step : int
        Sweeps: pixels moved per view along each moving axis (default 1, the classic setting).
        Jitter: the largest offset from the centre along each axis. Unused by saccades.
    seed : int
        Seed of the eye's randomness.
    pad : int, optional
        Zero pixels added on every side of the image before cutting views. ``None`` (default)
        picks: ``step`` for jitter (so offsets of ``±step`` fit even when the window is as large
        as the image); for saccades and sweeps ``0`` when the window is smaller than the image
        along both axes (the eye then moves over the image), else ``max(1, min(h, w) // 4)``
        (the image then moves within the field of view).
    sweep_length : (int, int)
        Inclusive range of the number of views per sweep before a new direction is drawn.

    Examples
    --------
    >>> eye = Eye((8, 8), mode="sweeps", n_views=5, seed=1)
    >>> movie = eye.movie(np.zeros((8, 8), np.uint8))
    >>> movie.views.shape, movie.positions.shape
    ((5, 8, 8), (5, 2))
    """

    def __init__(
        self,
        window_shape: int | tuple[int, int],
        mode: str = "saccades",
        n_views: int = 10,
        step: int = 1,
        seed: int = 0,
        *,
        pad: int | None = None,
        sweep_length: tuple[int, int] = (4, 8),
    ) -> None:
        if isinstance(window_shape, (int, np.integer)) and not isinstance(window_shape, bool):
            window_shape = (int(window_shape), int(window_shape))
        try:
            ws = tuple(window_shape)  # type: ignore[arg-type]  # checked by the except
        except TypeError:
            raise ParameterError(
                f"window_shape must be an int or (h, w), got {window_shape!r}"
            ) from None
        if len(ws) != 2:
            raise ParameterError(f"window_shape must be an int or (h, w), got {window_shape!r}")
        self.window_shape = (
            _pos_int(ws[0], "window_shape[0]"),
            _pos_int(ws[1], "window_shape[1]"),
        )
        if mode not in MODES:
            raise ParameterError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.n_views = _pos_int(n_views, "n_views")
        self.step = _pos_int(step, "step")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.pad = None if pad is None else _pos_int(pad, "pad", minimum=0)
        try:
            lo, hi = (int(v) for v in sweep_length)
        except (TypeError, ValueError):
            raise ParameterError(
                f"sweep_length must be a pair (min, max), got {sweep_length!r}"
            ) from None
        if not 1 <= lo <= hi:
            raise ParameterError(f"sweep_length must satisfy 1 <= min <= max, got {sweep_length!r}")
        self.sweep_length = (lo, hi)
        self._rng = np.random.default_rng(self.seed)

    def __repr__(self) -> str:
        return (
            f"Eye(window_shape={self.window_shape}, mode={self.mode!r}, n_views={self.n_views}, "
            f"step={self.step}, seed={self.seed}, pad={self.pad}, "
            f"sweep_length={self.sweep_length})"
        )

    def reset(self) -> None:
        """Restart the eye's own random stream (used when ``movie`` gets no ``key``)."""
        self._rng = np.random.default_rng(self.seed)

    # ------------------------------------------------------------------ geometry
    def padding(self, image_shape: tuple[int, int]) -> tuple[int, int, int, int]:
        """Zero padding ``(top, bottom, left, right)`` applied to an image of ``image_shape``."""
        H, W = (int(v) for v in image_shape)
        h, w = self.window_shape
        if self.pad is not None:
            base = self.pad
        elif self.mode == "jitter":
            base = self.step
        elif h < H and w < W:
            base = 0
        else:
            base = max(1, min(h, w) // 4)
        top = bottom = left = right = base
        extra_r = max(0, h - (H + 2 * base))
        extra_c = max(0, w - (W + 2 * base))
        top += extra_r // 2
        bottom += extra_r - extra_r // 2
        left += extra_c // 2
        right += extra_c - extra_c // 2
        return top, bottom, left, right

    def plan(self, image_shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
        """Positions ``[n_views, 2]`` (top-left corners in the padded image) for one movie."""
        top, bottom, left, right = self.padding(image_shape)
        R = np.array(
            [
                image_shape[0] + top + bottom - self.window_shape[0],
                image_shape[1] + left + right - self.window_shape[1],
            ],
            dtype=np.int64,
        )  # largest valid (row, col); smallest is (0, 0)
        T = self.n_views
        pos = np.empty((T, 2), dtype=np.int64)
        if self.mode == "jitter":
            centre = R // 2
            off = rng.integers(-self.step, self.step + 1, size=(T, 2))
            pos[:] = np.clip(centre + off, 0, R)
        elif self.mode == "saccades":
            many = int(np.prod(R + 1)) > 1
            prev = None
            for t in range(T):
                p = rng.integers(0, R + 1)
                while many and prev is not None and np.array_equal(p, prev):
                    p = rng.integers(0, R + 1)
                pos[t] = p
                prev = p
        else:  # sweeps
            if not np.any(R > 0):
                raise ParameterError(
                    f"sweeps need room to move: window {self.window_shape} fills the padded "
                    f"image {(int(R[0]) + self.window_shape[0], int(R[1]) + self.window_shape[1])}"
                    "; use pad > 0 or a smaller window"
                )
            movable = R > 0
            feasible = SWEEP_DIRECTIONS[np.all(movable | (SWEEP_DIRECTIONS == 0), axis=1)]
            p = rng.integers(0, R + 1)
            d = feasible[rng.integers(len(feasible))]
            left_in_sweep = int(rng.integers(self.sweep_length[0], self.sweep_length[1] + 1))
            pos[0] = p
            for t in range(1, T):
                if left_in_sweep <= 0:
                    d = feasible[rng.integers(len(feasible))]
                    left_in_sweep = int(
                        rng.integers(self.sweep_length[0], self.sweep_length[1] + 1)
                    )
                d = d.copy()
                new = p + d * self.step
                for ax in range(2):
                    if new[ax] > R[ax]:
                        new[ax] = 2 * R[ax] - new[ax]
                        d[ax] = -d[ax]
                    elif new[ax] < 0:
                        new[ax] = -new[ax]
                        d[ax] = -d[ax]
                p = np.clip(new, 0, R)
                pos[t] = p
                left_in_sweep -= 1
        return pos

    # ------------------------------------------------------------------ movies
    def movie(self, image: np.ndarray, key: int | None = None) -> Movie:
        """The movie of one 2-D image.

        ``key`` (a non-negative int, e.g. the image's index in its data set) makes the eye path
        depend only on ``(seed, key)``; without it the eye's own generator is advanced.
        """
        img = np.asarray(image)
        if img.ndim != 2 or img.size == 0:
            raise InputError(f"Eye.movie needs a non-empty 2-D image, got shape {img.shape}")
        if key is None:
            rng = self._rng
        else:
            k = _pos_int(key, "key", minimum=0)
            rng = np.random.default_rng([self.seed, k])
        top, bottom, left, right = self.padding(img.shape)
        padded = np.pad(img, ((top, bottom), (left, right)), mode="constant", constant_values=0)
        pos = self.plan(img.shape, rng)
        windows = sliding_window_view(padded, self.window_shape)
        views = np.ascontiguousarray(windows[pos[:, 0], pos[:, 1]])
        return Movie(
            views=views,
            positions=pos,
            pad=(top, left),
            padded_shape=(int(padded.shape[0]), int(padded.shape[1])),
            image_shape=(int(img.shape[0]), int(img.shape[1])),
            mode=self.mode,
        )

    __call__ = movie

    def movies(self, images: np.ndarray, first_key: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Movies of a stack of images ``[N, H, W]``; image ``i`` uses ``key = first_key + i``.

        Returns ``views [N, T, h, w]`` and ``positions [N, T, 2]``.
        """
        imgs = np.asarray(images)
        if imgs.ndim != 3:
            raise InputError(f"Eye.movies needs images of shape [N, H, W], got {imgs.shape}")
        T, (h, w) = self.n_views, self.window_shape
        views = np.empty((imgs.shape[0], T, h, w), dtype=imgs.dtype)
        positions = np.empty((imgs.shape[0], T, 2), dtype=np.int64)
        for i in range(imgs.shape[0]):
            m = self.movie(imgs[i], key=first_key + i)
            views[i], positions[i] = m.views, m.positions
        return views, positions
