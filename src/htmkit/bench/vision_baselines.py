"""Vision baselines that need only numpy: k-nearest neighbours and a linear classifier on pixels.

* :class:`RawKNN` — k = 3 nearest neighbours (Euclidean) on raw pixels scaled to ``[0, 1]``;
  majority vote, ties broken in favour of the tied class with the nearest neighbour.
* :class:`FeatureLinearModel` — features of the images followed by the library's linear
  classifier :class:`htmkit.readout.LinearReadout`, so every model is read out by the same
  classifier.
* :class:`RawLinear` — :class:`~htmkit.readout.LinearReadout` on raw pixels.

The models follow the benchmark's model protocol (``name``, ``fit(images, labels)``,
``predict(images)``; see :mod:`htmkit.bench.vision`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InputError, ParameterError
from ..readout import LinearReadout, check_labels, knn_predict

__all__ = ["FeatureLinearModel", "RawKNN", "RawLinear", "flatten_pixels"]


def flatten_pixels(images: np.ndarray) -> np.ndarray:
    """``[N, H, W]`` images as ``float32 [N, H*W]``; integer images are divided by 255."""
    imgs = np.asarray(images)
    if imgs.ndim != 3 or imgs.shape[0] == 0:
        raise InputError(f"images must have shape [N, H, W] with N > 0, got {imgs.shape}")
    x = imgs.reshape(imgs.shape[0], -1).astype(np.float32)
    if np.issubdtype(imgs.dtype, np.integer):
        x /= np.float32(255.0)
    return x


class RawKNN:
    """k-nearest neighbours (k = 3) on raw pixels."""

    name = "raw-knn"

    def __init__(self, k: int = 3, seed: int = 0, **_: Any) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ParameterError(f"k must be a positive integer, got {k!r}")
        self.k = int(k)
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None

    def fit(self, images: np.ndarray, labels: np.ndarray) -> RawKNN:
        self._x = flatten_pixels(images)
        self._y = check_labels(labels, self._x.shape[0])
        self._shape = np.asarray(images).shape[1:]
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        if self._x is None or self._y is None:
            raise InputError("RawKNN.predict called before fit")
        if np.asarray(images).shape[1:] != self._shape:
            raise InputError(f"fitted on {self._shape} images, got {np.asarray(images).shape[1:]}")
        return knn_predict(self._x, self._y, flatten_pixels(images), self.k)

    def describe(self) -> dict[str, Any]:
        return {"k": self.k, "metric": "euclidean", "features": "raw pixels / 255"}


class FeatureLinearModel:
    """``features(images) -> [N, D]`` followed by :class:`LinearReadout`.

    The HTM models plug in here: ``features`` maps images to (flattened, 0/1) SDR activity, e.g.
    a Spatial Pooler's active columns. ``features`` may also have a ``fit(images, labels)``
    method (called first, e.g. to train the SP); otherwise it is a plain function.
    """

    def __init__(
        self,
        name: str,
        features: Callable[[np.ndarray], np.ndarray],
        seed: int = 0,
        **readout_kw: Any,
    ) -> None:
        self.name = name
        self.features = features
        self.readout = LinearReadout(seed=seed, **readout_kw)

    def fit(self, images: np.ndarray, labels: np.ndarray) -> FeatureLinearModel:
        if hasattr(self.features, "fit"):
            self.features.fit(images, labels)
        self.readout.fit(self.features(images), labels)
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.readout.predict(self.features(images))

    def describe(self) -> dict[str, Any]:
        return {"readout": self.readout.describe()}


class RawLinear(FeatureLinearModel):
    """:class:`LinearReadout` on raw pixels scaled to ``[0, 1]``."""

    def __init__(self, seed: int = 0, **readout_kw: Any) -> None:
        readout_kw.pop("quick", None)
        super().__init__("raw-linear", flatten_pixels, seed=seed, **readout_kw)
