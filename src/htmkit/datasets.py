"""Image data sets for the vision experiments.

* :func:`load_digits_dataset` — the 1,797 8x8 handwritten digits bundled with scikit-learn
  (no download), scaled to ``uint8`` 0-255 and optionally upsampled.
* :func:`load_mnist` — MNIST (or any data set in the same layout, e.g. Fashion-MNIST) read from
  IDX files, gzipped or raw, with the magic numbers, dimensions and sizes checked.

Both return ``(images, labels)``: ``images`` is ``uint8`` of shape ``[N, H, W]`` and ``labels``
is ``int64`` of shape ``[N]``.

IDX format (LeCun et al.): a 4-byte big-endian magic number ``0x0000TTDD`` where ``TT`` is the
element type (``0x08`` = unsigned byte) and ``DD`` the number of dimensions, then ``DD`` 4-byte
big-endian dimension sizes, then the data. Image files have magic 2051 (``0x00000803``, three
dimensions ``N, H, W``); label files have magic 2049 (``0x00000801``, one dimension ``N``).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError, ParameterError

__all__ = [
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "default_mnist_dir",
    "load_digits_dataset",
    "load_mnist",
    "read_idx",
    "mnist_file",
]

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

_MNIST_PREFIX = {"train": "train", "test": "t10k"}


# ---------------------------------------------------------------------------------------- digits
def load_digits_dataset(scale: int = 1, method: str = "nearest") -> tuple[np.ndarray, np.ndarray]:
    """The scikit-learn bundled 8x8 digits (1,797 images, classes 0-9) as ``uint8`` 0-255.

    The original values 0-16 are mapped to 0-255 by ``round(v * 255 / 16)``.

    Parameters
    ----------
    scale : int
        Integer upsampling factor: ``1`` keeps 8x8, ``2`` gives 16x16, ``4`` gives 32x32.
    method : {"nearest", "bilinear"}
        How to upsample. ``"nearest"`` replicates every pixel into a ``scale x scale`` block
        (``np.kron``; no new grey levels, exact). ``"bilinear"`` uses
        ``scipy.ndimage.zoom(order=1, mode="nearest", grid_mode=True)`` on the 0-16 values
        before the 0-255 mapping, which gives smoother strokes.

    Returns
    -------
    images : uint8 array [1797, 8*scale, 8*scale]
    labels : int64 array [1797]
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ParameterError(f"scale must be a positive integer, got {scale!r}")
    if method not in ("nearest", "bilinear"):
        raise ParameterError(f"method must be 'nearest' or 'bilinear', got {method!r}")
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the [datasets] extra
        raise ImportError(
            "load_digits_dataset needs scikit-learn: pip install 'htmkit[datasets]'"
        ) from exc
    bunch = load_digits()
    raw: np.ndarray = np.asarray(bunch.images, dtype=np.float64)  # [N, 8, 8], values 0..16
    labels = np.asarray(bunch.target, dtype=np.int64)
    scale = int(scale)
    if scale > 1:
        if method == "nearest":
            raw = np.kron(raw, np.ones((1, scale, scale)))
        else:
            from scipy.ndimage import zoom

            raw = zoom(raw, (1, scale, scale), order=1, mode="nearest", grid_mode=True)
    images = np.clip(np.rint(raw * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    return images, labels


# ---------------------------------------------------------------------------------------- IDX
def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: corrupted or truncated gzip data ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc})") from None


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file of unsigned bytes (``.gz`` or raw) into a ``uint8`` array.

    Raises :class:`~htmkit.errors.DataError` naming the file when it is missing, not gzip when
    it ends in ``.gz``, has a wrong magic number, a zero dimension, or a data size that does not
    match the header (truncated or with trailing bytes).
    """
    p = Path(path)
    data = _read_bytes(p)
    if len(data) < 4:
        raise DataError(f"{p}: too short for an IDX header ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise DataError(
            f"{p}: bad magic number {magic} (0x{magic:08x}), expected {expected_magic} "
            f"(0x{expected_magic:08x})"
        )
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{p}: bad magic number {magic} (0x{magic:08x}), not an IDX file")
    if data[2] != 0x08:
        raise DataError(
            f"{p}: unsupported IDX element type 0x{data[2]:02x} (only 0x08, unsigned byte)"
        )
    ndim = data[3]
    if ndim < 1:
        raise DataError(f"{p}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{p}: truncated header ({len(data)} bytes, need {header} for {ndim} dims)")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if any(d == 0 for d in dims):
        raise DataError(f"{p}: IDX header has a zero dimension {dims}")
    need = int(np.prod(dims, dtype=np.int64))
    have = len(data) - header
    if have < need:
        raise DataError(f"{p}: truncated data: header {dims} needs {need} bytes, file has {have}")
    if have > need:
        raise DataError(f"{p}: {have - need} unexpected trailing bytes after the {dims} data")
    return np.frombuffer(data, dtype=np.uint8, count=need, offset=header).reshape(dims).copy()


def default_mnist_dir() -> Path:
    """Where MNIST is looked for when no directory is given.

    1. ``../shared/data/mnist`` relative to the current working directory;
    2. ``shared/data/mnist`` next to the repository root (the folder holding ``src/``), i.e.
       ``<repo>/../shared/data/mnist``.

    The first that exists is returned; when neither exists, the first (so error messages name
    it).
    """
    cwd_based = Path.cwd().parent / "shared" / "data" / "mnist"
    repo_root = Path(__file__).resolve().parents[2]
    repo_based = repo_root.parent / "shared" / "data" / "mnist"
    for cand in (cwd_based, repo_based):
        if cand.is_dir():
            return cand
    return cwd_based


def mnist_file(directory: str | os.PathLike, name: str) -> Path:
    """``directory/name`` if it exists, else ``directory/name.gz``; DataError when neither."""
    d = Path(directory)
    raw, gz = d / name, d / (name + ".gz")
    if raw.is_file():
        return raw
    if gz.is_file():
        return gz
    raise DataError(f"{gz}: file not found (nor {raw.name}) in MNIST directory {d}")


def load_mnist(
    directory: str | os.PathLike | None = None,
    kind: str = "train",
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST images and labels from IDX files.

    Reads ``{prefix}-images-idx3-ubyte[.gz]`` and ``{prefix}-labels-idx1-ubyte[.gz]`` with
    ``prefix`` = ``train`` or ``t10k``; the raw file is preferred when both exist.

    Parameters
    ----------
    directory : path, optional
        Folder holding the files; default :func:`default_mnist_dir`.
    kind : {"train", "test"}
        Training (60,000) or test (10,000) split.
    limit : int, optional
        Keep only the first ``limit`` images (the whole file is still validated).

    Returns
    -------
    images : uint8 array [N, 28, 28]
    labels : int64 array [N]

    Raises
    ------
    DataError
        A missing or malformed file (message names the file and the problem), or image and
        label counts that disagree.
    """
    if kind not in _MNIST_PREFIX:
        raise ParameterError(f"kind must be 'train' or 'test', got {kind!r}")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1
    ):
        raise ParameterError(f"limit must be a positive integer or None, got {limit!r}")
    d = Path(directory) if directory is not None else default_mnist_dir()
    prefix = _MNIST_PREFIX[kind]
    img_path = mnist_file(d, f"{prefix}-images-idx3-ubyte")
    lab_path = mnist_file(d, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(img_path, IMAGES_MAGIC)
    if images.ndim != 3:
        raise DataError(f"{img_path}: expected 3 dimensions (N, H, W), got shape {images.shape}")
    labels = read_idx(lab_path, LABELS_MAGIC)
    if labels.ndim != 1:
        raise DataError(f"{lab_path}: expected 1 dimension (N), got shape {labels.shape}")
    if labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{lab_path}: {labels.shape[0]} labels but {img_path.name} has {images.shape[0]} images"
        )
    if limit is not None:
        images, labels = images[: int(limit)], labels[: int(limit)]
    return np.ascontiguousarray(images), labels.astype(np.int64)
