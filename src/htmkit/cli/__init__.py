"""The ``htmkit`` command line (typer). Subcommands import their heavy modules lazily."""
