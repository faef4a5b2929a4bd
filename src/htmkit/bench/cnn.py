"""LeNet-5 style CNN baseline for the vision benchmark (PyTorch, CPU).

PyTorch is optional: it is imported inside the functions, and a missing install raises an
``ImportError`` that says how to add it (``pip install 'htmkit[torch]'``).

Architecture (LeCun et al. 1998, in its common modern form: ReLU and max-pooling)::

    conv(1->6) - ReLU - maxpool 2x2 - conv(6->16) - ReLU - maxpool 2x2
    - fc 120 - ReLU - fc 84 - ReLU - fc n_classes

* images at least 20 pixels on a side (28x28 MNIST): 5x5 kernels, the first padded by 2, the
  second unpadded: 28 -> 28 -> 14 -> 10 -> 5, so 16*5*5 = 400 features, as in LeNet-5;
* smaller images (8x8 digits, 16x16 upsampled digits): 3x3 kernels padded by 1, so the map
  only halves at each pooling, and the second pooling is dropped when the map after the first
  is smaller than 8 pixels (pooling 8x8 digits down to 2x2 cost about 2 points of accuracy):
  8 -> 8 -> 4 -> 4 (256 features); 16 -> 16 -> 8 -> 8 -> 4 (256 features).

Training: pixels scaled to ``[0, 1]``, cross-entropy, Adam (learning rate 1e-3), mini-batches of
64 reshuffled every epoch, a fixed number of epochs. So that tiny training sets (few-shot) still
get a reasonable number of updates, the number of epochs actually run is
``max(epochs, ceil(min_steps / batches_per_epoch))`` (``min_steps=2000`` by default: 1,347
training digits get 91 epochs, 100 few-shot images 1,000 epochs of 2 batches, and 60,000 MNIST
images exactly ``epochs``). Everything is seeded
(``torch.manual_seed``, a seeded shuffling generator, ``torch.use_deterministic_algorithms``) and
runs on the CPU with ``torch.set_num_threads(2)``; the previous thread count and determinism
setting are restored afterwards. When this module is the first to import torch it sets
``OMP_WAIT_POLICY=PASSIVE`` (unless already set), so idle threads do not spin on a busy machine.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import InputError, ParameterError

__all__ = [
    "CNNClassifier",
    "build_lenet",
    "predict",
    "torch_available",
    "train_cnn",
]

DEFAULT_THREADS = 2


def _torch() -> Any:
    if "torch" not in sys.modules:
        # Idle OpenMP threads sleep instead of spinning: with spinning, two torch threads on a
        # two-core machine shared with other processes ran the CNN about 6x slower than one.
        # Only read when torch loads, and a value set by the user wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the CNN baseline needs PyTorch: pip install 'htmkit[torch]' (CPU build: "
            "pip install torch --index-url https://download.pytorch.org/whl/cpu)"
        ) from exc
    return torch


def torch_available() -> bool:
    """Whether PyTorch can be imported."""
    try:
        _torch()
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _torch_settings(threads: int) -> Iterator[Any]:
    torch = _torch()
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(int(threads))
    torch.use_deterministic_algorithms(True)
    try:
        yield torch
    finally:
        torch.use_deterministic_algorithms(old_det)
        torch.set_num_threads(old_threads)


def _check_images(images: np.ndarray) -> np.ndarray:
    imgs = np.asarray(images)
    if imgs.ndim != 3 or imgs.shape[0] == 0:
        raise InputError(f"images must have shape [N, H, W] with N > 0, got {imgs.shape}")
    if min(imgs.shape[1:]) < 4:
        raise InputError(f"the CNN needs images of at least 4x4 pixels, got {imgs.shape[1:]}")
    return imgs


def _to_tensor(torch: Any, images: np.ndarray) -> Any:
    x = np.asarray(images, dtype=np.float32)
    if np.issubdtype(np.asarray(images).dtype, np.integer):
        x = x / np.float32(255.0)
    return torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(1)


def build_lenet(image_shape: tuple[int, int], n_classes: int = 10) -> Any:
    """An untrained LeNet-5 style ``torch.nn.Sequential`` for single-channel ``image_shape``.

    The model carries ``image_shape`` and ``n_classes`` attributes.
    """
    torch = _torch()
    nn = torch.nn
    H, W = (int(v) for v in image_shape)
    if min(H, W) < 4:
        raise InputError(f"the CNN needs images of at least 4x4 pixels, got {(H, W)}")
    if min(H, W) >= 20:
        k1, p1, k2, p2, pool2 = 5, 2, 5, 0, True
    else:
        k1, p1, k2, p2, pool2 = 3, 1, 3, 1, min(H, W) // 2 >= 8
    layers = [
        nn.Conv2d(1, 6, k1, padding=p1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, k2, padding=p2),
        nn.ReLU(),
    ]
    if pool2:
        layers.append(nn.MaxPool2d(2))
    features = nn.Sequential(*layers, nn.Flatten())
    with torch.no_grad():
        n_flat = int(features(torch.zeros(1, 1, H, W)).shape[1])
    model = nn.Sequential(
        *features,
        nn.Linear(n_flat, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, int(n_classes)),
    )
    model.image_shape = (H, W)
    model.n_classes = int(n_classes)
    return model


def train_cnn(
    images: np.ndarray,
    labels: np.ndarray,
    epochs: int = 5,
    seed: int = 0,
    *,
    batch_size: int = 64,
    lr: float = 1e-3,
    min_steps: int = 2000,
    n_classes: int | None = None,
    threads: int = DEFAULT_THREADS,
) -> Any:
    """Train a LeNet-5 style CNN on ``images [N, H, W]`` (uint8 0-255 or float 0-1).

    Returns the trained model in eval mode (it also has ``epochs_run`` and ``final_loss``).
    ``labels`` must be integers ``0 .. n_classes-1`` (``n_classes`` defaults to
    ``labels.max() + 1``, at least 2).
    """
    imgs = _check_images(images)
    y = np.asarray(labels)
    if y.shape != (imgs.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise InputError(f"labels must be {imgs.shape[0]} integers, got {y.dtype} {y.shape}")
    if y.min() < 0:
        raise InputError("labels must be non-negative")
    n_cls = max(2, int(y.max()) + 1) if n_classes is None else int(n_classes)
    if int(y.max()) >= n_cls:
        raise InputError(f"label {int(y.max())} out of range for n_classes={n_cls}")
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("threads", threads)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError(f"{name} must be a positive integer, got {v!r}")
    if isinstance(min_steps, bool) or not isinstance(min_steps, (int, np.integer)) or min_steps < 0:
        raise ParameterError(f"min_steps must be a non-negative integer, got {min_steps!r}")
    if not float(lr) > 0:
        raise ParameterError(f"lr must be positive, got {lr!r}")
    with _torch_settings(threads) as torch:
        torch.manual_seed(int(seed))
        gen = torch.Generator().manual_seed(int(seed))
        model = build_lenet(imgs.shape[1:], n_cls)
        x = _to_tensor(torch, imgs)
        t = torch.from_numpy(y.astype(np.int64))
        n = x.shape[0]
        batches = math.ceil(n / batch_size)
        epochs_run = max(int(epochs), math.ceil(int(min_steps) / batches))
        opt = torch.optim.Adam(model.parameters(), lr=float(lr))
        loss_fn = torch.nn.CrossEntropyLoss()
        model.train()
        last = float("nan")
        for _ in range(epochs_run):
            perm = torch.randperm(n, generator=gen)
            total = 0.0
            for b in range(batches):
                idx = perm[b * batch_size : (b + 1) * batch_size]
                opt.zero_grad()
                loss = loss_fn(model(x[idx]), t[idx])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            last = total / n
        model.eval()
    model.epochs_run = epochs_run
    model.final_loss = last
    return model


def predict(
    model: Any, images: np.ndarray, batch_size: int = 1000, threads: int = DEFAULT_THREADS
) -> np.ndarray:
    """Class predictions (``int64 [N]``) of a model from :func:`train_cnn`."""
    imgs = _check_images(images)
    shape = getattr(model, "image_shape", None)
    if shape is not None and tuple(imgs.shape[1:]) != tuple(shape):
        raise InputError(f"the model was trained on {shape} images, got {imgs.shape[1:]}")
    out = []
    with _torch_settings(threads) as torch:
        model.eval()
        with torch.no_grad():
            for s in range(0, imgs.shape[0], batch_size):
                x = _to_tensor(torch, imgs[s : s + batch_size])
                out.append(model(x).argmax(dim=1).numpy())
    return np.concatenate(out).astype(np.int64)


class CNNClassifier:
    """The CNN as a benchmark model (``fit`` / ``predict`` / ``name``).

    ``shift_copies`` > 0 adds that many copies of the training set, each image moved by an
    offset whose y and x are drawn (seeded) from ``{-shift, 0, shift}`` -- the same
    displacements that the ``hierarchy-saccades`` model's eye makes, so the two can be compared
    on equal terms (the ``cnn-shifts`` benchmark model).
    """

    name = "cnn"

    def __init__(self, epochs: int = 5, seed: int = 0, min_steps: int = 2000,
                 shift_copies: int = 0, shift: int = 2, **train_kw: Any):
        if int(shift_copies) < 0 or int(shift) < 0:
            raise ParameterError("shift_copies and shift must be >= 0")
        self.epochs = epochs
        self.seed = seed
        self.min_steps = min_steps
        self.shift_copies, self.shift = int(shift_copies), int(shift)
        self.train_kw = train_kw
        self.model: Any = None

    def fit(self, images: np.ndarray, labels: np.ndarray) -> CNNClassifier:
        if self.shift_copies:
            from ..vision.transforms import translate

            imgs, labs = np.asarray(images), np.asarray(labels)
            rng = np.random.default_rng([self.seed, 7])
            steps = np.array([-self.shift, 0, self.shift])
            copies = [translate(imgs, rng.choice(steps, size=(len(imgs), 2)))
                      for _ in range(self.shift_copies)]
            images = np.concatenate([imgs, *copies])
            labels = np.tile(labs, self.shift_copies + 1)
        self.model = train_cnn(
            images, labels, self.epochs, self.seed, min_steps=self.min_steps, **self.train_kw
        )
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise InputError("CNNClassifier.predict called before fit")
        return predict(self.model, images)

    def describe(self) -> dict[str, Any]:
        """Settings for the benchmark JSON."""
        info: dict[str, Any] = {
            "architecture": "LeNet-5 style (conv6-pool-conv16-[pool]-fc120-fc84), ReLU, max-pool",
            "optimizer": "Adam lr=1e-3, batch 64",
            "epochs": self.epochs,
            "min_steps": self.min_steps,
            "shift_copies": self.shift_copies,
            "shift": self.shift,
        }
        if self.model is not None:
            info["epochs_run"] = self.model.epochs_run
            info["final_loss"] = self.model.final_loss
        return info
