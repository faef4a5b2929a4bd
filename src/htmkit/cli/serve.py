"""``htmkit serve``: the HTTP anomaly service; ``htmkit bench serve``: its load test.

Only typer is imported here; FastAPI, uvicorn and numpy load inside the command bodies.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .main import app, bench_app, fail, report_or_fail


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    data: Path = typer.Option(Path("htmkit-data"), "--data",
                              help="Folder of the database and model snapshots."),
    snapshot_every: int = typer.Option(5000, "--snapshot-every", min=1,
                                       help="Snapshot a stream after this many new records."),
    snapshot_seconds: float = typer.Option(300.0, "--snapshot-seconds", min=0.001,
                                           help="... or this many seconds after its first "
                                                "record since the last snapshot."),
    backend: str = typer.Option("local", "--backend", help="Where the streams run: local, or "
                                                           "ray (shards over Ray actors)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Worker processes of the local backend (each a shard of "
                                     "the streams, on its own core)."),
    address: str | None = typer.Option(None, "--address",
                                       help="--backend ray: the Ray cluster to join ('auto', "
                                            "host:port); default RAY_ADDRESS or a local one."),
    shards: int = typer.Option(2, "--shards", min=1,
                               help="--backend ray: shard actors (streams hashed over them)."),
    alarm_threshold: float = typer.Option(0.5, "--alarm-threshold", min=0.0, max=1.0,
                                          help="A record is an alarm when its score reaches "
                                               "this."),
    max_streams: int = typer.Option(10_000, "--max-streams", min=1, help="Most streams."),
    max_records: int = typer.Option(10_000, "--max-records", min=1,
                                    help="Most records in one request."),
    fsync: bool = typer.Option(True, "--fsync/--no-fsync",
                               help="Every answered record on disk (SQLite synchronous=FULL); "
                                    "--no-fsync survives a killed process, not a power cut."),
) -> None:
    """Run the anomaly service (HTTP API, OpenAPI at /docs, dashboard at /)."""
    try:
        import uvicorn

        from ..service.app import ServiceConfig, create_app
    except ImportError as exc:
        fail(f"htmkit serve needs the service extra (pip install 'htmkit[service]'): {exc}")
        return
    from ..errors import HTMKitError

    config = ServiceConfig(data_dir=str(data), snapshot_every=snapshot_every,
                           snapshot_seconds=snapshot_seconds, backend=backend,
                           workers=workers,
                           alarm_threshold=alarm_threshold, max_streams=max_streams,
                           max_records=max_records,
                           synchronous="FULL" if fsync else "NORMAL",
                           options={"shards": shards, "address": address}
                           if backend == "ray" else {})
    try:
        from ..service.app import make_backend

        be = make_backend(config)
    except HTMKitError as exc:
        fail(str(exc))
        return
    typer.echo(f"htmkit serve: {len(be.list_streams())} streams restored from {data}; "
               f"listening on http://{host}:{port}/", err=True)
    uvicorn.run(create_app(config, backend=be), host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=30)


@bench_app.command("serve")
def bench_serve(
    streams: int = typer.Option(50, "--streams", min=1, max=10_000, help="Streams."),
    records: int = typer.Option(200, "--records", min=1, max=100_000,
                                help="Records per stream."),
    batch: int = typer.Option(100, "--batch", min=1, max=10_000,
                              help="Records per request (one stream each)."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=64,
                                    help="Client threads posting at once."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="The server's worker processes (htmkit serve --workers)."),
    max_seconds: float = typer.Option(600.0, "--max-seconds", min=1.0,
                                      help="Stop posting after this long (the report says "
                                           "how far it got)."),
    breakdown: bool = typer.Option(False, "--breakdown",
                                   help="Also measure in process where a record's CPU time "
                                        "goes (detector, backend, snapshot)."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
) -> None:
    """Load-test htmkit serve on loopback: start a server subprocess, create the streams,
    post every stream's records in requests of --batch records from concurrent clients; print
    records/s, request latency p50/p99 and the server's memory."""
    try:
        from ..service.loadtest import cost_breakdown, print_report, run_load
    except ImportError as exc:
        fail(f"htmkit bench serve needs the service extra (pip install 'htmkit[service]'): "
             f"{exc}")
        return

    def make() -> dict:
        report = run_load(streams=streams, records=records, batch=batch,
                          concurrency=concurrency, max_seconds=max_seconds, workers=workers)
        if breakdown:
            report["cost_breakdown"] = cost_breakdown()
        return report

    report_or_fail(make, print_report, json_path)
