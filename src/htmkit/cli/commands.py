"""Registers every subcommand on :data:`htmkit.cli.main.app` (imported by ``main()``)."""

from __future__ import annotations
