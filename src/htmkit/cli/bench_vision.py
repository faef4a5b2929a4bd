"""``htmkit bench vision``: image classification under shifts, noise, occlusion and few-shot
training, HTM models against kNN, a linear classifier and a LeNet-5 CNN.

Only typer is imported here; numpy/torch/matplotlib load inside the command body.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .main import bench_app, fail


@bench_app.command("vision")
def bench_vision(
    dataset: str = typer.Option(
        "digits", "--dataset", help="digits (scikit-learn 8x8, built in) or mnist (IDX files)."
    ),
    json_path: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
    plots: Path | None = typer.Option(
        None, "--plots", help="Write PNGs here: accuracy vs noise and vs shift; receptive "
        "fields and movie stability of each hierarchy model."
    ),
    quick: bool = typer.Option(
        False, "--quick", help="MNIST: 10k train / 2k test images; shorter CNN training."
    ),
    mnist_dir: Path | None = typer.Option(
        None, "--mnist-dir", help="MNIST IDX folder (default ../shared/data/mnist)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seeds the split, protocols and models."),
    models: str | None = typer.Option(
        None, "--models",
        help="Comma-separated model names (default: raw-knn, raw-linear, sp, hierarchy, cnn).",
    ),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", min=1,
        help="Processes per HTM model for its transforms (default: all CPUs available).",
    ),
) -> None:
    """Train every model on clean images; report accuracy per test protocol."""
    if dataset not in ("digits", "mnist"):
        fail(f"--dataset must be 'digits' or 'mnist', got {dataset!r}")
    from ..bench.vision import run_vision_bench
    from ..errors import HTMKitError

    names = None if models is None else [m.strip() for m in models.split(",") if m.strip()]
    try:
        run_vision_bench(
            dataset=dataset,
            models=names,
            quick=quick,
            seed=seed,
            mnist_dir=mnist_dir,
            json_path=json_path,
            plots_dir=plots,
            jobs=jobs,
        )
    except HTMKitError as exc:
        fail(str(exc))
