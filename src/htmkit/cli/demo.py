"""``htmkit demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from .main import app, fail


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("htmkit-out"), "--out", help="Folder for the pictures."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    quick: bool = typer.Option(False, "--quick", help="Shorter runs (for tests)."),
) -> None:
    """The main job on built-in data: SP, streaming model, anomalies, vision hierarchy.

    Runs the Spatial Pooler on a signal and on digits, the streaming model with anomaly
    detection, and the vision hierarchy; prints what it measured and writes PNGs.
    """
    from ..apps.demo import run_demo
    from ..errors import HTMKitError

    try:
        run_demo(out, seed=seed, quick=quick, echo=typer.echo)
    except ImportError as exc:
        fail(f"{exc}. Install the extras: pip install -e '.[all]'")
    except HTMKitError as exc:
        fail(str(exc))
