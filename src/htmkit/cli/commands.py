"""Registers every subcommand on :data:`htmkit.cli.main.app` (imported by ``main()``).

Each module below defines its commands with ``@app.command`` / ``@bench_app.command``.
"""

from __future__ import annotations

from . import (
    anomaly,  # noqa: F401
    bench_long_range,  # noqa: F401
    bench_memory,  # noqa: F401
    bench_sequences,  # noqa: F401
    bench_sp,  # noqa: F401
    bench_tm,  # noqa: F401
    bench_vision,  # noqa: F401
    demo,  # noqa: F401
    nab,  # noqa: F401
    run,  # noqa: F401
    serve,  # noqa: F401
)
