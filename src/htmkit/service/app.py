"""The HTTP app of the anomaly service: ``create_app(config)`` (FastAPI; ``htmkit serve`` runs it
under uvicorn). The OpenAPI schema is served at ``/openapi.json`` (browsable at ``/docs``).

Endpoints (JSON unless noted):

* ``POST /streams`` — create a stream: ``{"id", "preset", "params", "min_value",
  "max_value"}`` (201; 409 when it exists or the stream limit is reached; 422 for a bad
  parameter, naming it);
* ``GET /streams``, ``GET /streams/{id}``, ``DELETE /streams/{id}`` (204);
* ``POST /streams/{id}/records`` — ``{"records": [{"timestamp", "value"}, ...]}``; returns
  ``{"stream", "results": [...]}``, one result per record (see :mod:`htmkit.service.backend`);
* ``POST /records`` — a batch for many streams, ``{"streams": {id: [records], ...}}``; returns
  ``{"results": {id: [...]}}``;
* ``GET /streams/{id}/scores?limit=&alarms=`` — the stream's recent results (oldest first);
* ``GET /health``; ``GET /metrics`` (Prometheus text format); ``GET /`` the dashboard.

Every refused request answers a 4xx with ``{"detail": message, "field": field}`` and changes
nothing: a request is parsed and checked whole before any record is logged or scored.
"""


import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any

from .backend import Backend, LocalBackend, ServiceError

__all__ = ["ServiceConfig", "create_app", "make_backend"]


@dataclass
class ServiceConfig:
    """Settings of the service (``htmkit serve`` options).

    ``data_dir`` holds the database and snapshots; ``snapshot_every`` / ``snapshot_seconds``
    set when a stream is snapshotted (records since its last snapshot, or seconds with new
    records); ``recent`` results are kept per stream; a record whose score reaches
    ``alarm_threshold`` is an alarm. Limits: ``max_streams`` streams in all,
    ``max_batch_streams`` streams and ``max_records`` records in one request, request bodies of
    at most ``max_body_bytes``. ``synchronous`` is the database's durability ("FULL": every
    answered record is on disk; "NORMAL": it survives a killed process, not a power cut).
    ``backend`` names the backend ("local"); ``workers`` > 1 runs the local backend's streams
    in that many worker processes (:mod:`htmkit.service.workers`); "ray" shards the streams over
    Ray actors, with ``options`` ``shards``, ``address``, ``num_cpus``, ``ray_init``
    (:class:`~htmkit.service.ray_backend.RayBackend`).
    """

    data_dir: str = "htmkit-data"
    snapshot_every: int = 5000
    snapshot_seconds: float = 300.0
    recent: int = 1000
    alarm_threshold: float = 0.5
    max_streams: int = 10_000
    max_batch_streams: int = 1_000
    max_records: int = 10_000
    max_body_bytes: int = 4 * 1024 * 1024
    synchronous: str = "FULL"
    backend: str = "local"
    workers: int = 1
    options: dict[str, Any] = field(default_factory=dict)


def make_backend(config: ServiceConfig) -> Backend:
    """The backend ``config.backend`` names, opened on ``config.data_dir``."""
    from pathlib import Path

    if config.backend not in ("local", "ray"):
        raise ServiceError(422, "backend", f"unknown backend {config.backend!r}; "
                                           "available: local, ray")
    options = dict(snapshot_every=config.snapshot_every,
                   snapshot_seconds=config.snapshot_seconds, recent=config.recent,
                   alarm_threshold=config.alarm_threshold, max_streams=config.max_streams,
                   max_records=config.max_records, max_batch_streams=config.max_batch_streams,
                   synchronous=config.synchronous)
    if config.backend == "ray":  # config.options: shards, address, num_cpus, ray_init
        from .ray_backend import RayBackend

        return RayBackend(config.data_dir, **config.options, **options)  # type: ignore[arg-type]
    data = Path(config.data_dir)
    if config.workers > 1:
        if (data / "local.db").exists():
            raise ServiceError(422, "workers", f"{data} holds the streams of one process; "
                                               "start it without workers")
        from .workers import WorkerBackend

        return WorkerBackend(data, config.workers, **options)
    if (data / "workers.json").exists():
        raise ServiceError(422, "workers", f"{data} holds the streams of worker processes "
                                           "(workers.json); start it with --workers")
    return LocalBackend(data, **options)  # type: ignore[arg-type]


# request latency histogram buckets, seconds
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Metrics:
    """Request counters and latency histograms per route, in Prometheus text format."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = {}
        self.hist: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}
        self.started = time.time()

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self.lock:
            key = (route, method, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            h = self.hist.setdefault(route, [0] * (len(_BUCKETS) + 1))
            for i, b in enumerate(_BUCKETS):
                if seconds <= b:
                    h[i] += 1
            h[-1] += 1
            self.sums[route] = self.sums.get(route, 0.0) + seconds

    def render(self, stats: dict[str, Any]) -> str:
        lines = [
            "# HELP htmkit_streams Streams held by the service.",
            "# TYPE htmkit_streams gauge",
            f"htmkit_streams {stats.get('streams', 0)}",
            "# HELP htmkit_records_scored_total Records scored since the service started.",
            "# TYPE htmkit_records_scored_total counter",
            f"htmkit_records_scored_total {stats.get('records_scored', 0)}",
            "# HELP htmkit_records_replayed_total Logged records scored again at start.",
            "# TYPE htmkit_records_replayed_total counter",
            f"htmkit_records_replayed_total {stats.get('records_replayed', 0)}",
            "# HELP htmkit_records_logged Records in the log (not yet in a snapshot).",
            "# TYPE htmkit_records_logged gauge",
            f"htmkit_records_logged {stats.get('records_logged', 0)}",
            "# HELP htmkit_snapshots_written_total Model snapshots written.",
            "# TYPE htmkit_snapshots_written_total counter",
            f"htmkit_snapshots_written_total {stats.get('snapshots_written', 0)}",
            "# HELP htmkit_alarms Alarms raised, all streams together.",
            "# TYPE htmkit_alarms gauge",
            f"htmkit_alarms {stats.get('alarms', 0)}",
            "# HELP htmkit_uptime_seconds Seconds since the service started.",
            "# TYPE htmkit_uptime_seconds gauge",
            f"htmkit_uptime_seconds {time.time() - self.started:.3f}",
            "# HELP htmkit_requests_total HTTP requests by route, method and status.",
            "# TYPE htmkit_requests_total counter",
        ]
        with self.lock:
            for (route, method, status), n in sorted(self.requests.items()):
                lines.append(f'htmkit_requests_total{{route="{route}",method="{method}",'
                             f'status="{status}"}} {n}')
            lines += ["# HELP htmkit_request_seconds HTTP request latency by route.",
                      "# TYPE htmkit_request_seconds histogram"]
            for route, h in sorted(self.hist.items()):
                for b, n in zip(_BUCKETS, h, strict=False):
                    lines.append(f'htmkit_request_seconds_bucket{{route="{route}",le="{b}"}} {n}')
                lines.append(f'htmkit_request_seconds_bucket{{route="{route}",le="+Inf"}} {h[-1]}')
                lines.append(f'htmkit_request_seconds_sum{{route="{route}"}} '
                             f'{self.sums[route]:.6f}')
                lines.append(f'htmkit_request_seconds_count{{route="{route}"}} {h[-1]}')
        return "\n".join(lines) + "\n"


def _field_of(loc: Any) -> str:
    """A pydantic error location as a field path: ``("body", "records", 3, "value")`` ->
    ``records[3].value``."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path") and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def create_app(config: "ServiceConfig | None" = None, backend: "Backend | None" = None) -> Any:
    """The FastAPI app of the service. ``backend`` (default: :func:`make_backend` of
    ``config``) is closed, with a snapshot of what changed, when the app shuts down; a
    background thread snapshots the streams that are due (every second)."""
    from contextlib import asynccontextmanager

    from fastapi import Body, FastAPI, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
    from pydantic import BaseModel, ConfigDict, Field

    config = config or ServiceConfig()
    metrics = _Metrics()
    holder: dict[str, Any] = {"backend": backend}

    def be() -> Backend:
        b = holder["backend"]
        if b is None:
            b = holder["backend"] = make_backend(config)
        return b

    Value = Annotated[float, Field(allow_inf_nan=False, description="finite number")]
    Stamp = Annotated[str | float, Field(description="ISO 8601 string or epoch seconds (UTC)")]

    class Record(BaseModel):
        model_config = ConfigDict(extra="forbid")
        timestamp: Stamp
        value: Value

    class Records(BaseModel):
        model_config = ConfigDict(extra="forbid")
        records: list[Record]

    class Batch(BaseModel):
        model_config = ConfigDict(extra="forbid")
        streams: dict[str, list[Record]]

    class StreamSpec(BaseModel):
        model_config = ConfigDict(extra="forbid")
        id: str = Field(description="1-128 letters, digits and ._:-")
        preset: str | None = Field(None, description="a named parameter set: default, bami, "
                                                     "value_only")
        params: dict[str, Any] | None = Field(None, description="AnomalyDetector arguments")
        min_value: Value | None = None
        max_value: Value | None = None

    def _records(recs: list[Record]) -> list[dict[str, Any]]:
        return [{"timestamp": r.timestamp, "value": r.value} for r in recs]

    stop = threading.Event()

    def snapshotter() -> None:
        while not stop.wait(min(1.0, config.snapshot_seconds)):
            try:
                be().snapshot_due()
            except Exception:  # pragma: no cover - keep the thread alive; retried next tick
                pass

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        be()
        thread = threading.Thread(target=snapshotter, name="htmkit-snapshots", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            be().close()

    app = FastAPI(title="htmkit anomaly service", lifespan=lifespan,
                  description="Streaming HTM anomaly detection for many streams, durable "
                              "across restarts (see docs/guide/service.rst).")

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        return JSONResponse({"detail": first.get("msg", "invalid"),
                             "field": _field_of(first.get("loc", ())),
                             "errors": [{"field": _field_of(e.get("loc", ())),
                                         "message": e.get("msg")} for e in errors]},
                            status_code=422)

    @app.middleware("http")
    async def _limits_and_metrics(request: Request, call_next: Any) -> Any:
        start = time.perf_counter()
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > config.max_body_bytes:
            response: Any = JSONResponse(
                {"detail": f"request body of {length} bytes; at most {config.max_body_bytes} "
                           "(max_body_bytes)", "field": "body"}, status_code=413)
        elif length is None and request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()  # chunked: counted after reading, refused if too big
            if len(body) > config.max_body_bytes:
                response = JSONResponse(
                    {"detail": f"request body of {len(body)} bytes; at most "
                               f"{config.max_body_bytes} (max_body_bytes)", "field": "body"},
                    status_code=413)
            else:
                response = await call_next(request)
        else:
            response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "other")
        metrics.observe(path, request.method, response.status_code,
                        time.perf_counter() - start)
        return response

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness: the service answers and holds its streams."""
        return {"status": "ok", "streams": be().stats()["streams"]}

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics_endpoint() -> str:
        """Prometheus text format: streams, records scored, snapshots, request latencies."""
        return metrics.render(be().stats())

    @app.post("/streams", status_code=201)
    def create_stream(spec: StreamSpec) -> dict[str, Any]:
        """Create a stream: detector parameters (``params``, AnomalyDetector arguments) or a
        ``preset``, and optionally the value range (``min_value``/``max_value``; without them
        the detector derives it from its first records)."""
        return be().create_stream(spec.id, spec.model_dump(exclude={"id"}, exclude_none=True))

    @app.get("/streams")
    def list_streams() -> dict[str, Any]:
        """Every stream with its record count, latest result and latest alarm."""
        return {"streams": be().list_streams()}

    @app.get("/streams/{stream_id}")
    def get_stream(stream_id: str) -> dict[str, Any]:
        """One stream (404 when unknown)."""
        return be().get_stream(stream_id)

    @app.delete("/streams/{stream_id}", status_code=204, response_class=Response)
    def delete_stream(stream_id: str) -> None:
        """Delete a stream with its records and snapshots."""
        be().delete_stream(stream_id)

    @app.post("/streams/{stream_id}/records")
    def post_records(stream_id: str, body: Records) -> dict[str, Any]:
        """Score records of one stream (timestamps increasing, after the stream's last). The
        records are logged (committed) before the answer; one result per record."""
        return {"stream": stream_id, "results": be().score(stream_id, _records(body.records))}

    @app.post("/records")
    def post_batch(body: Batch = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Score records of several streams in one request: every stream and record is
        checked before any is scored."""
        batch = {k: _records(v) for k, v in body.streams.items()}
        return {"results": be().score_many(batch)}  # checks the whole batch before scoring

    @app.get("/streams/{stream_id}/scores")
    def scores(stream_id: str, limit: int = Query(500, ge=0, le=100_000),  # noqa: B008
               alarms: bool = False) -> dict[str, Any]:
        """The stream's most recent results, oldest first (``alarms=true``: alarms only)."""
        return {"stream": stream_id,
                "results": be().recent(stream_id, limit=limit, alarms_only=alarms)}

    @app.get("/", response_class=HTMLResponse)
    def dashboard() -> str:
        """The dashboard: streams with their latest alarm, and a chart per stream."""
        return (resources.files("htmkit.service") / "static" / "index.html").read_text("utf-8")

    return app
