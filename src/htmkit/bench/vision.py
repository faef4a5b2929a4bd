"""The vision benchmark: every registered model, trained on clean centred images, tested under
every protocol of :mod:`htmkit.bench.vision_protocols`.

The model protocol
------------------
A model is any object with::

    name: str
    def fit(self, images, labels): ...        # images uint8 [N, H, W], labels int64 [N]
    def predict(self, images) -> labels: ...  # int [N]

and optionally ``describe() -> dict`` (settings recorded in the JSON). A *factory* builds a fresh,
untrained model from a :class:`ModelContext` (data set, seed, quick flag, image shape, training
size); a fresh model is built for the full training set and for each few-shot subset.

The registry
------------
:func:`register_model` maps a name to a factory, or to a lazy ``"module:attribute"`` string that
is imported only when the model is used. Built in: ``raw-knn``, ``raw-linear`` (numpy only) and
``cnn`` (needs PyTorch; skipped with a note when it is missing). To add the HTM models::

    from htmkit.bench.vision import register_model
    register_model("htm-sp", "htmkit.vision.sp_model:bench_factory")   # factory(ctx) -> model

(:class:`htmkit.bench.vision_baselines.FeatureLinearModel` gives an SDR model the same linear
readout as ``raw-linear``.)

The run
-------
* ``digits``: scikit-learn's 1,797 8x8 digits, split 75/25 per class with a seeded permutation
  (1,347 train / 450 test for seed 0 — the per-class rounding may move a few).
* ``mnist``: the 60,000 / 10,000 IDX files; ``quick`` keeps the first 10,000 training and 2,000
  test images.
* Test protocols: ``clean``, two shifts, three salt-and-pepper levels, two occlusions; plus
  ``few_shot_10`` and ``few_shot_100``: a fresh model trained on 10 / 100 training images per class
  and tested on ``clean``.
* Reported: accuracy per model per protocol, train time (full training set) and test time (all
  test protocols together), as a rich table, a JSON file and two plots (accuracy vs
  salt-and-pepper p and vs shift k; matplotlib, Agg backend); for every two-level hierarchy
  model also its learned receptive fields per level and the stability of its representations
  over a movie (first 100 clean test images; the numbers go to the JSON as ``stability``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import HTMKitError, InputError, ParameterError
from .vision_protocols import (
    FEW_SHOT_SIZES,
    few_shot_subsets,
    make_protocols,
    protocol_specs,
)

__all__ = [
    "DEFAULT_MODELS",
    "ModelContext",
    "ModelUnavailableError",
    "VisionModel",
    "available_models",
    "load_bench_data",
    "make_model",
    "register_model",
    "run_vision_bench",
    "stratified_split",
]

DATASETS = ("digits", "mnist")
DEFAULT_MODELS = ("raw-knn", "raw-linear", "sp", "hierarchy", "cnn")
MNIST_QUICK_TRAIN = 10_000
MNIST_QUICK_TEST = 2_000


class ModelUnavailableError(HTMKitError, RuntimeError):
    """A registered model cannot be built here (e.g. PyTorch is not installed)."""


@runtime_checkable
class VisionModel(Protocol):
    """What the benchmark needs from a model (see the module docstring)."""

    name: str

    def fit(self, images: np.ndarray, labels: np.ndarray) -> Any: ...

    def predict(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelContext:
    """What a factory knows when it builds a model."""

    dataset: str
    seed: int
    quick: bool
    image_shape: tuple[int, int]
    n_train: int
    jobs: int = 1  # processes a model may use (HTM models share out their transforms)


ModelFactory = Callable[[ModelContext], VisionModel]


@dataclass
class _Entry:
    factory: ModelFactory | str
    requires: tuple[str, ...]


_REGISTRY: dict[str, _Entry] = {}


def register_model(
    name: str,
    factory: ModelFactory | str,
    *,
    requires: Sequence[str] = (),
    replace: bool = False,
) -> None:
    """Register ``factory(ctx) -> model`` (or a lazy ``"module:attribute"``) under ``name``.

    ``requires`` lists importable modules the model needs (e.g. ``("torch",)``); when one is
    missing the benchmark skips the model with a note instead of failing.
    """
    if not isinstance(name, str) or not name:
        raise ParameterError(f"model name must be a non-empty string, got {name!r}")
    if name in _REGISTRY and not replace:
        raise ParameterError(f"model {name!r} is already registered (pass replace=True)")
    if isinstance(factory, str) and ":" not in factory:
        raise ParameterError(f"lazy factory must be 'module:attribute', got {factory!r}")
    if not isinstance(factory, str) and not callable(factory):
        raise ParameterError(f"factory for {name!r} must be callable or 'module:attribute'")
    _REGISTRY[name] = _Entry(factory, tuple(requires))


def available_models() -> list[str]:
    """Registered model names."""
    return list(_REGISTRY)


def _missing_requirements(name: str) -> list[str]:
    return [m for m in _REGISTRY[name].requires if importlib.util.find_spec(m) is None]


def make_model(name: str, ctx: ModelContext) -> VisionModel:
    """Build a fresh model by name; ModelUnavailableError when a requirement is missing."""
    if name not in _REGISTRY:
        raise ParameterError(
            f"unknown vision model {name!r}; registered: {', '.join(available_models())}"
        )
    missing = _missing_requirements(name)
    if missing:
        raise ModelUnavailableError(f"model {name!r} needs {', '.join(missing)} (not installed)")
    factory = _REGISTRY[name].factory
    if isinstance(factory, str):
        mod, _, attr = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as exc:
            raise ModelUnavailableError(
                f"model {name!r}: cannot load {factory!r} ({exc})"
            ) from None
    model = factory(ctx)
    if not isinstance(model, VisionModel):
        raise ParameterError(f"factory for {name!r} returned {type(model).__name__}, not a model")
    return model


# ------------------------------------------------------------------------------ built-in models
def _raw_knn(ctx: ModelContext) -> VisionModel:
    from .vision_baselines import RawKNN

    return RawKNN(k=3, seed=ctx.seed)


def _raw_linear(ctx: ModelContext) -> VisionModel:
    from .vision_baselines import RawLinear

    return RawLinear(seed=ctx.seed)


def _cnn(ctx: ModelContext) -> VisionModel:
    from .cnn import CNNClassifier

    # 5 epochs; small training sets get at least min_steps Adam updates (see htmkit.bench.cnn)
    if ctx.quick:
        return CNNClassifier(epochs=2, seed=ctx.seed, min_steps=500)
    return CNNClassifier(epochs=5, seed=ctx.seed, min_steps=2000)


def _cnn_shifts(ctx: ModelContext) -> VisionModel:
    """The CNN trained on two extra shifted copies of the training set (see CNNClassifier)."""
    model: Any = _cnn(ctx)  # a CNNClassifier
    model.shift_copies, model.shift = 2, 2 if min(ctx.image_shape) >= 16 else 1
    model.name = "cnn-shifts"
    return model


register_model("raw-knn", _raw_knn)
register_model("raw-linear", _raw_linear)
register_model("cnn", _cnn, requires=("torch",))
register_model("cnn-shifts", _cnn_shifts, requires=("torch",))
# the HTM models (htmkit.bench.vision_models): one SP level + linear readout, and the two-level
# hierarchy over eye movies; "hierarchy-fixate" adds the eye's centring saccade and
# "hierarchy-saccades" trains the readout on movies from displaced fixation points too;
# "hierarchy-eye" also looks from 5 fixation points at test time; "hierarchy-parts" reads the
# pooled representation by parts (none of these is a default; "hierarchy" is)
register_model("sp", "htmkit.bench.vision_models:sp_bench_factory")
register_model("hierarchy", "htmkit.bench.vision_models:hierarchy_bench_factory")
register_model("hierarchy-fixate", "htmkit.bench.vision_models:hierarchy_fixate_bench_factory")
register_model("hierarchy-saccades",
               "htmkit.bench.vision_models:hierarchy_saccades_bench_factory")
register_model("hierarchy-eye", "htmkit.bench.vision_models:hierarchy_eye_bench_factory")
register_model("hierarchy-parts", "htmkit.bench.vision_models:hierarchy_parts_bench_factory")
# the one hierarchical temporal model on htmkit.network (htmkit.vision.Hierarchy)
register_model("htm", "htmkit.bench.vision_models:htm_bench_factory")


# ------------------------------------------------------------------------------ data
def stratified_split(
    labels: np.ndarray, test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class split: ``round(test_fraction * n_c)`` of each class go to the test set.

    Returns sorted ``(train_indices, test_indices)``.
    """
    y = np.asarray(labels)
    if not 0.0 < float(test_fraction) < 1.0:
        raise ParameterError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    rng = np.random.default_rng([int(seed), zlib.crc32(b"digits_split")])
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(float(test_fraction) * idx.size))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def load_bench_data(
    dataset: str, quick: bool = False, seed: int = 0, mnist_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_images, train_labels, test_images, test_labels)`` of the benchmark."""
    from ..datasets import load_digits_dataset, load_mnist

    if dataset == "digits":
        images, labels = load_digits_dataset()
        tr, te = stratified_split(labels, 0.25, seed)
        return images[tr], labels[tr], images[te], labels[te]
    if dataset == "mnist":
        xtr, ytr = load_mnist(mnist_dir, "train", MNIST_QUICK_TRAIN if quick else None)
        xte, yte = load_mnist(mnist_dir, "test", MNIST_QUICK_TEST if quick else None)
        return xtr, ytr, xte, yte
    raise ParameterError(f"dataset must be one of {DATASETS}, got {dataset!r}")


# ------------------------------------------------------------------------------ the run
def _accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    pred = np.asarray(pred)
    if pred.shape != truth.shape:
        raise InputError(
            f"model returned predictions of shape {pred.shape}, expected {truth.shape}"
        )
    return float(np.mean(pred == truth))


def _describe(model: Any) -> dict[str, Any]:
    fn = getattr(model, "describe", None)
    if callable(fn):
        try:
            return dict(fn())
        except Exception as exc:  # noqa: BLE001 - descriptions are informational
            return {"describe_error": repr(exc)}
    return {}


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    from .._version import __version__

    out["htmkit"] = __version__
    if importlib.util.find_spec("torch") is not None:
        import torch

        out["torch"] = torch.__version__
    return out


def run_vision_bench(
    dataset: str = "digits",
    models: Sequence[str] | None = None,
    quick: bool = False,
    seed: int = 0,
    mnist_dir: str | os.PathLike | None = None,
    json_path: str | os.PathLike | None = None,
    plots_dir: str | os.PathLike | None = None,
    *,
    few_shot: Sequence[int] = FEW_SHOT_SIZES,
    console: Any = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """Run the vision benchmark; print a table, optionally write JSON and plots.

    Parameters
    ----------
    dataset : {"digits", "mnist"}
    models : names of registered models (default ``raw-knn``, ``raw-linear``, ``cnn``).
    quick : smaller MNIST subsets and shorter CNN training (see the module docstring).
    seed : seeds the split, the protocols, the few-shot subsets and every model.
    mnist_dir : MNIST folder (default :func:`htmkit.datasets.default_mnist_dir`).
    json_path, plots_dir : where to write the JSON report / the PNG plots (optional): accuracy
        vs noise and vs shift, and per hierarchy model its receptive fields and stability.
    few_shot : images per class of the few-shot runs (``()`` to skip them).
    console : a ``rich.console.Console`` (default: a new one on stdout).
    jobs : processes an HTM model may use for its transforms (default: the CPUs this process
        may run on); the accuracies do not depend on it.

    Returns
    -------
    dict
        The report written to ``json_path``.
    """
    from rich.console import Console

    con = console if console is not None else Console()
    if dataset not in DATASETS:
        raise ParameterError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    names = list(DEFAULT_MODELS if models is None else models)
    if not names:
        raise ParameterError("no models to run")
    for n in names:
        if n not in _REGISTRY:
            raise ParameterError(
                f"unknown vision model {n!r}; registered: {', '.join(available_models())}"
            )
    seed = int(seed)
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs must be a positive integer, got {jobs!r}")

    xtr, ytr, xte, yte = load_bench_data(dataset, quick, seed, mnist_dir)
    image_shape = (int(xtr.shape[1]), int(xtr.shape[2]))
    specs = protocol_specs(image_shape)
    tests = make_protocols(xte, seed)
    subsets = few_shot_subsets(ytr, seed, tuple(few_shot)) if few_shot else {}
    con.print(
        f"[bold]vision benchmark[/bold]: {dataset} {image_shape[0]}x{image_shape[1]}, "
        f"{len(xtr):,} train / {len(xte):,} test, seed {seed}{', quick' if quick else ''}, "
        f"{jobs} process{'es' if jobs > 1 else ''} per HTM model"
    )

    results: dict[str, Any] = {}
    for name in names:
        entry: dict[str, Any] = {"accuracy": {}, "test_time_per_protocol_s": {}}
        results[name] = entry
        ctx = ModelContext(dataset, seed, bool(quick), image_shape, len(xtr), jobs)
        try:
            model = make_model(name, ctx)
        except ModelUnavailableError as exc:
            entry["skipped"] = str(exc)
            con.print(f"  [yellow]skipped {name}[/yellow]: {exc}")
            continue
        t0 = time.perf_counter()
        model.fit(xtr, ytr)
        entry["train_time_s"] = time.perf_counter() - t0
        con.print(f"  {name}: trained on {len(xtr):,} images in {entry['train_time_s']:.1f}s")
        total = 0.0
        for spec in specs:
            t0 = time.perf_counter()
            pred = model.predict(tests[spec.name])
            dt = time.perf_counter() - t0
            total += dt
            entry["accuracy"][spec.name] = _accuracy(pred, yte)
            entry["test_time_per_protocol_s"][spec.name] = dt
        entry["test_time_s"] = total
        entry["settings"] = _describe(model)
        con.print(
            f"  {name}: tested {len(specs)} protocols x {len(xte):,} images in {total:.1f}s "
            f"(clean {entry['accuracy']['clean']:.4f})"
        )
        if plots_dir is not None:
            extra = _plot_hierarchy(model, name, dataset, tests["clean"], yte, plots_dir)
            if extra:
                entry["stability"] = extra.pop("stability")
                con.print(f"  {name}: " + ", ".join(str(x) for x in extra["pictures"]))
        entry["few_shot_train_time_s"] = {}
        for fs_name, idx in subsets.items():
            fs_ctx = ModelContext(dataset, seed, bool(quick), image_shape, len(idx), jobs)
            fs_model = make_model(name, fs_ctx)
            t0 = time.perf_counter()
            fs_model.fit(xtr[idx], ytr[idx])
            entry["few_shot_train_time_s"][fs_name] = time.perf_counter() - t0
            entry["accuracy"][fs_name] = _accuracy(fs_model.predict(xte), yte)
            con.print(f"  {name}: {fs_name} {entry['accuracy'][fs_name]:.4f}")

    report: dict[str, Any] = {
        "benchmark": "vision",
        "dataset": dataset,
        "image_shape": list(image_shape),
        "n_train": int(len(xtr)),
        "n_test": int(len(xte)),
        "quick": bool(quick),
        "seed": seed,
        "protocols": [asdict(s) for s in specs]
        + [{"name": n, "kind": "few_shot", "param": float(n.rsplit("_", 1)[1])} for n in subsets],
        "models": results,
        "versions": _versions(),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    render_table(report, con)
    if json_path is not None:
        from ..serialization import write_json_atomic

        p = write_json_atomic(report, json_path)
        con.print(f"JSON written to {p}")
    if plots_dir is not None:
        paths = plot_report(report, plots_dir)
        con.print("plots written: " + ", ".join(str(x) for x in paths))
    return report


# ------------------------------------------------------------------------------ output
def render_table(report: dict[str, Any], console: Any = None) -> Any:
    """Print the accuracy table (rows: protocols, then times; columns: models)."""
    from rich.console import Console
    from rich.table import Table

    con = console if console is not None else Console()
    models = report["models"]
    h, w = report["image_shape"]
    table = Table(
        title=f"vision benchmark: {report['dataset']} {h}x{w}, {report['n_train']:,} train / "
        f"{report['n_test']:,} test, seed {report['seed']}"
        + (" (quick)" if report["quick"] else "")
    )
    table.add_column("protocol")
    for m in models:
        table.add_column(m, justify="right")
    for proto in report["protocols"]:
        row = [proto["name"]]
        for e in models.values():
            acc = e["accuracy"].get(proto["name"])
            row.append("skipped" if "skipped" in e else ("-" if acc is None else f"{acc:.4f}"))
        table.add_row(*row)
    for label, key in (("train time (s)", "train_time_s"), ("test time (s)", "test_time_s")):
        row = [label]
        for e in models.values():
            row.append("-" if key not in e else f"{e[key]:.2f}")
        table.add_row(*row, style="dim")
    con.print(table)
    return table


def _plot_hierarchy(model: Any, name: str, dataset: str, images: np.ndarray,
                    labels: np.ndarray, plots_dir: str | os.PathLike,
                    n: int = 100) -> dict[str, Any] | None:
    """For a model built on a two-level :class:`~htmkit.vision.hierarchy.VisionHierarchy`:
    PNGs of its learned receptive fields per level and of the stability of its
    representations over a movie (on the first ``n`` clean test images); ``None`` for other
    models."""
    h = getattr(model, "hierarchy", None)
    if h is None or getattr(h, "sp2", None) is None:
        return None
    from ..vision.plots import movie_stability, plot_receptive_fields, plot_stability

    out_dir = Path(plots_dir)
    stem = f"vision_{dataset}_{name}"
    rf = plot_receptive_fields(h, out_dir / f"{stem}_receptive_fields.png")
    stab = movie_stability(h, images[:n], labels[:n])
    st = plot_stability(stab, out_dir / f"{stem}_stability.png")
    return {"stability": stab, "pictures": [rf, st]}


def plot_report(report: dict[str, Any], plots_dir: str | os.PathLike) -> list[Path]:
    """Accuracy vs salt-and-pepper p and vs shift k, one line per model (PNG files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(plots_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    protos = report["protocols"]
    ds = report["dataset"]
    paths = []
    for kind, xlabel, fname in (
        ("salt_pepper", "salt-and-pepper probability p", f"vision_{ds}_noise.png"),
        ("shift", "shift k (pixels)", f"vision_{ds}_shift.png"),
    ):
        pts = [("clean", 0.0)] + [(p["name"], p["param"]) for p in protos if p["kind"] == kind]
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for m, e in report["models"].items():
            if "skipped" in e:
                continue
            xs = [x for n, x in pts if n in e["accuracy"]]
            ys = [e["accuracy"][n] for n, _ in pts if n in e["accuracy"]]
            ax.plot(xs, ys, marker="o", label=m)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1.02)
        ax.set_xticks([x for _, x in pts])
        ax.grid(alpha=0.3)
        ax.set_title(f"{ds}: accuracy vs {'salt-and-pepper noise' if kind != 'shift' else 'shift'}")
        ax.legend()
        fig.tight_layout()
        path = out_dir / fname
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths
