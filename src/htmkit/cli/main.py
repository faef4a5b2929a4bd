"""Entry point of the ``htmkit`` command.

Only typer is imported at start-up; every subcommand imports numpy/numba/torch inside its body,
so ``htmkit --help`` answers at once.
"""

from __future__ import annotations

from typing import Any

import typer

from .._version import __version__


def _flags_show_no_type() -> None:
    """Show flags (``--quiet``, ``--strict/--no-strict``, ``--help``) as flags in ``--help``.

    typer's rich help prints the type of every option, ``<bool>`` for a flag too, although a
    flag takes no value (its plain help prints none). This drops the type of a flag that has
    no metavar of its own; options that take a value keep theirs."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_htmkit_flags", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        return shown(self, ctx)

    display_type_rich._htmkit_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()

app = typer.Typer(
    name="htmkit",
    help="Hierarchical Temporal Memory: SDRs, encoders, Spatial Pooler, Temporal Memory, "
    "hierarchies that learn images over time, and benchmarks against CNN/LSTM baselines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks: print a table and write JSON.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"htmkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    """htmkit command line."""


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error (no traceback) and exit with ``code``."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def report_or_fail(make: Any, show: Any, json_path: Any = None) -> Any:
    """Run ``make()`` (a benchmark returning a JSON-able report): an ``HTMKitError`` is one
    error line and exit 2; otherwise ``show(report)`` prints it, it is written to
    ``json_path`` when given, and returned."""
    from ..errors import HTMKitError
    from ..serialization import write_json_atomic

    try:
        report = make()
    except HTMKitError as exc:
        fail(str(exc))
    show(report)
    if json_path is not None:
        write_json_atomic(report, json_path)
        typer.echo(f"wrote {json_path}")
    return report


def main() -> None:
    """Console-script entry point."""
    from . import commands  # noqa: F401  (registers the subcommands)

    app()
