"""The image encoder: binarise a grayscale image, keeping its 2-D topology."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError, InputTypeError, ParameterError
from ..params import Boolean, Constraints, Interval, Options, Shape, check_memory, validate
from ..sdr import SDR
from .base import Encoder

__all__ = ["ImageEncoder", "ImageEncoderParams"]

_THRESHOLD_MODES = ("fixed", "mean", "local")
#: Relative tolerance that keeps rounding noise of means from switching flat regions on.
_EPS = 1e-9


@dataclass(frozen=True, kw_only=True)
class ImageEncoderParams:
    """Parameters of an :class:`ImageEncoder` (validated at construction).

    Pixel values: ``uint8`` images are scaled to ``[0, 1]`` (divided by 255), ``bool`` images
    become 0/1, other numeric images are used as they are (as float64). All thresholds below
    are in those units.

    Parameters
    ----------
    image_shape : (int, int)
        ``(height, width)`` of the input images.
    threshold_mode : {"fixed", "mean", "local"}
        How the intensity channel binarises: a pixel is on when it is ``> threshold``
        ("fixed"), ``> the image mean`` ("mean"), or ``> local_offset + the mean of the
        ``window x window`` neighbourhood`` ("local", adaptive thresholding via
        ``scipy.ndimage.uniform_filter`` with reflected borders).
    threshold : float
        The fixed threshold.
    window : int
        Side of the neighbourhood of the "local" mode (``>= 2``).
    local_offset : float
        Margin above the local mean for the "local" mode.
    intensity : bool
        Include the thresholded intensity channel.
    edges : bool
        Include an edge channel: Sobel gradient magnitude ``> edge_threshold``. The magnitude
        is scaled so that a full-contrast (0 to 1) step edge has magnitude 1.
    edge_threshold : float
        Edge magnitude above which a pixel is an edge (also gates the orientation channels).
    orientations : int
        Number of orientation channels (0 for none): at edge pixels, the gradient direction
        modulo 180 degrees is binned into ``orientations`` equal bins and the pixel is on in its
        bin's channel only.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "image_shape": Shape(),
        "threshold_mode": Options(_THRESHOLD_MODES),
        "threshold": Interval(float),
        "window": Interval(int, 2),
        "local_offset": Interval(float),
        "intensity": Boolean(),
        "edges": Boolean(),
        "edge_threshold": Interval(float, 0),
        "orientations": Interval(int, 0, 64),
    }

    image_shape: tuple[int, int]
    threshold_mode: str = "fixed"
    threshold: float = 0.5
    window: int = 7
    local_offset: float = 0.0
    intensity: bool = True
    edges: bool = False
    edge_threshold: float = 0.25
    orientations: int = 0

    def __post_init__(self) -> None:
        validate(self)
        if len(self.image_shape) != 2:
            raise ParameterError(f"image_shape must be (height, width), got {self.image_shape!r}")
        if not (self.intensity or self.edges or self.orientations):
            raise ParameterError(
                "ImageEncoderParams needs at least one channel: intensity, edges or orientations"
            )
        check_memory("image_shape and orientations",
                     f"{self.image_shape} and {self.orientations}", self.estimated_bytes())

    def estimated_bytes(self) -> float:
        """Bytes one :meth:`ImageEncoder.encode` allocates per pixel, times the pixels of
        ``image_shape``: the float64 image, the local mean or the two gradients with their
        magnitude, angle and int64 bins, one boolean map per channel, their stack and the
        int64 indices of the active bits (at most one per pixel and channel)."""
        channels = int(self.intensity) + int(self.edges) + self.orientations
        per_pixel = 8 * 6 + channels * (1 + 1 + 8)
        return float(math.prod(self.image_shape)) * per_pixel


class ImageEncoder(Encoder):
    """Encode a 2-D grayscale image as an SDR with the same 2-D topology.

    The output has shape ``(H, W)`` when there is a single channel, else ``(H, W, C)`` with
    channels in the order: intensity (if enabled), edges (if enabled), then the
    ``orientations`` orientation channels. Bit ``(y, x, c)`` describes pixel ``(y, x)``.

    Parameters
    ----------
    params : ImageEncoderParams, optional
        The parameters; or pass them as keyword arguments
        (``ImageEncoder(image_shape=(28, 28), threshold_mode="local", edges=True)``).
    **kwargs
        Fields of :class:`ImageEncoderParams` when ``params`` is not given.

    Notes
    -----
    The input shape is fixed: an image of another shape raises
    :class:`~htmkit.errors.InputError`, as do NaN or infinite pixels. Non-numeric arrays raise
    ``TypeError``. A *missing* image (``None``) encodes to an SDR with no active bits. The
    number of active bits varies with the image (it is not a fixed-sparsity encoder).
    """

    params_class = ImageEncoderParams

    def __init__(self, params: ImageEncoderParams | None = None, **kwargs: Any):
        self.params: ImageEncoderParams = self._resolve_params(params, kwargs)
        p = self.params
        self._shape = p.image_shape
        channels = int(p.intensity) + int(p.edges) + p.orientations
        self._channels = channels
        self._dims = self._shape if channels == 1 else (*self._shape, channels)
        names = (["intensity"] if p.intensity else []) + (["edges"] if p.edges else [])
        names += [f"orientation_{k}" for k in range(p.orientations)]
        self._channel_names = tuple(names)

    # ------------------------------------------------------------------ properties
    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names in output order (``intensity``, ``edges``, ``orientation_k``)."""
        return self._channel_names

    # ------------------------------------------------------------------ encoding
    def _as_image(self, value: Any) -> np.ndarray:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise InputTypeError(f"ImageEncoder expects a numeric 2-D array: {exc}") from None
        kind = arr.dtype.kind
        if kind not in "biuf":
            raise InputTypeError(f"ImageEncoder expects a numeric 2-D array, got dtype {arr.dtype}")
        if arr.shape != self._shape:
            raise InputError(
                f"ImageEncoder: image shape {arr.shape} does not match image_shape {self._shape}"
            )
        if arr.dtype == np.uint8:
            return arr.astype(np.float64) * (1.0 / 255.0)
        img = arr.astype(np.float64)
        if kind == "f" and not np.isfinite(img).all():
            raise InputError("ImageEncoder: image contains NaN or infinite pixels")
        return img

    def channel_maps(self, image: Any) -> np.ndarray:
        """The boolean channel maps of ``image``, shape ``(H, W, channels)``."""
        from scipy import ndimage

        img = self._as_image(image)
        p = self.params
        eps = _EPS * max(1.0, float(np.abs(img).max()) if img.size else 1.0)
        maps = []
        if p.intensity:
            if p.threshold_mode == "fixed":
                maps.append(img > p.threshold)
            elif p.threshold_mode == "mean":
                maps.append(img > img.mean() + eps)
            else:
                local = ndimage.uniform_filter(img, size=p.window, mode="reflect")
                maps.append(img - local > p.local_offset + eps)
        if p.edges or p.orientations:
            gx = ndimage.sobel(img, axis=1, mode="reflect")
            gy = ndimage.sobel(img, axis=0, mode="reflect")
            mag = np.hypot(gx, gy) * 0.25
            edge = mag > max(p.edge_threshold, eps)
            if p.edges:
                maps.append(edge)
            if p.orientations:
                n = p.orientations
                theta = np.mod(np.arctan2(gy, gx), np.pi)
                bins = np.minimum((theta * (n / np.pi)).astype(np.int64), n - 1)
                for k in range(n):
                    maps.append(edge & (bins == k))
        return np.stack(maps, axis=-1)

    def encode(self, value: Any) -> SDR:
        """Encode one image.

        Parameters
        ----------
        value : array-like of shape ``image_shape`` (uint8, bool, int or float), or None
            The grayscale image.

        Returns
        -------
        SDR
            Shape :attr:`dimensions`; no active bits for ``None``.

        Raises
        ------
        TypeError
            A non-numeric array.
        InputError
            Wrong shape, or NaN / infinite pixels.
        """
        if value is None:
            return self._missing()
        maps = self.channel_maps(value)
        return SDR._trusted(self._dims, np.flatnonzero(maps.ravel()))
