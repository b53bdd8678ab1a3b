"""The inference service: forecasts, plans and inspection verdicts over HTTP.

* Open Inference Protocol v2: ``/v2/health/live``, ``/v2/health/ready``, ``/v2/models/{name}``
  (metadata from the manifest), ``/v2/models/{name}[/versions/{v}]/infer``;
* typed endpoints: ``POST /v1/forecast``, ``POST /v1/plan``, ``POST /v1/inspect`` (multipart);
* ``/metrics`` for Prometheus.

Models come from a repository folder (:mod:`serving.service.repository`), reloaded while the
service runs. Each model version batches the requests that arrive within a few milliseconds
(:mod:`serving.service.batching`); inference runs in a thread pool, off the event loop. Bad
input is a 4xx naming the field; a full queue is 503 with ``Retry-After``; a request that takes
too long is 504; nothing a client sends makes a 5xx.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import hmac
import json
import logging
import math
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from forecasting.spec import STEP_DAYS
from forecasting.validate import PanelError
from serving.runtime.pytorch import RUNTIME
from serving.service.batching import Batcher, Overloaded
from serving.service.config import ServiceConfig, read_token
from serving.service.repository import Loaded, ModelRepository
from serving.service.schemas import (
    ErrorResponse,
    ForecastRequest,
    ForecastResponse,
    ForecastRow,
    InferRequest,
    InferResponse,
    InspectResponse,
    ModelMetadata,
    PlanRequest,
    PlanResponse,
    Readiness,
    Tensor,
    TensorMeta,
)
from vision.schema import VIEW_NAMES

log = logging.getLogger("stockcast.service")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# When the request being handled must be answered (``time.monotonic()``), for the batcher: the
# middleware's 504 does not cancel the handler, so a queued job must give up by itself.
request_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "request_deadline", default=None
)

DATATYPES = {
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(int64)": "INT64",
    "tensor(int32)": "INT32",
    "tensor(uint8)": "UINT8",
    "tensor(bool)": "BOOL",
    "tensor(string)": "BYTES",
}
NUMPY = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32,
         "UINT8": np.uint8, "BOOL": np.bool_, "BYTES": object}  # fmt: skip
OPEN_PATHS = (
    "/v2/health/live", "/v2/health/ready", "/metrics", "/docs", "/redoc", "/openapi.json"
)  # fmt: skip
PAGES = (
    "/",
    "/station",
    "/review",
    "/review/rejected",
    "/forecast",
)  # HTML only: their data calls need the token
PLAN_KEYS = ("item_id", "location_id")
TRUE_TEXT, FALSE_TEXT = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
INSPECT_FIELDS = {
    "model": "inspection package name (default: the only inspection model)",
    "version": "package version (default: the latest)",
    "product_id": "the item's product in the package's catalog, if it has one",
    "item_id": "an id echoed in the answer (default: item); with sku and location_id, an item "
    "scored review waits in the review queue (when the service has one)",
    "sku": "the unit's SKU, for the review queue (with item_id and location_id)",
    "location_id": "the unit's fulfillment center, for the review queue",
    "heatmaps": "true: a base64 heatmap PNG per view",
}
_VIEW_PART = {"type": "string", "format": "binary"}
INSPECT_FORM = {
    "required": True,
    "description": "One image file part per view, named by the view (the package's views, "
    "front/back/left/right/top/bottom by default; a name it does not know is a 422 naming "
    "it); the text fields are optional.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    **{v: {**_VIEW_PART, "description": f"the {v} view's image"}
                       for v in VIEW_NAMES},
                    **{k: {"type": "string", "description": d} for k, d in INSPECT_FIELDS.items()},
                },
                "additionalProperties": {**_VIEW_PART, "description": "a view of another name"},
            }
        }
    },
}  # fmt: skip


class JsonLogs(logging.Formatter):
    """One JSON object per line with the request id and any ``extra`` fields."""

    skip = set(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self.skip})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging() -> None:
    """Log the service (``stockcast.service``) at INFO to stderr as JSON lines (:class:`JsonLogs`),
    and not to the root logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogs())
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


RETIRED_KEPT = 16
"""Model versions gone whose provider series still read 0 (the older ones are dropped)."""


class Metrics:
    """The service's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "stockcast_requests",
            "requests by endpoint and status",
            ["endpoint", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "stockcast_request_seconds", "request latency", ["endpoint"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )  # fmt: skip
        self.batch = Histogram(
            "stockcast_batch_rows", "rows (windows or items) per batch", ["model"], registry=r,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        )  # fmt: skip
        self.queue = Gauge("stockcast_queue_depth", "requests waiting", ["model"], registry=r)
        self.provider = Gauge(
            "stockcast_model_provider", "1 for the provider each model version runs on",
            ["model", "version", "provider"], registry=r,
        )  # fmt: skip
        self._shown: dict[tuple[str, str], str] = {}  # (model, version) -> provider labelled 1
        # Versions gone, oldest first: their series read 0 until RETIRED_KEPT newer ones are
        # gone too. Each version number is a label value of its own, and every version a
        # hot reload replaced stayed a series for good (a service reloading a nightly export
        # grew one per night, in its memory and in every scrape, without end).
        self._retired: dict[tuple[str, str], None] = {}
        self._shown_lock = threading.Lock()  # the watch thread's reloads and the scrapes

    def show_provider(self, name: str, version: str, provider: str | None) -> None:
        """Label ``provider`` 1 for a model version (``None``: the version is gone) and the one
        labelled before 0. Read again at each scrape: onnxruntime moves a session to the CPU on
        a provider failure in a run, and the gauge set at load went on saying CUDA. A version
        gone reads 0 until :data:`RETIRED_KEPT` later ones are gone, then its series are
        dropped."""
        with self._shown_lock:
            before = self._shown.pop((name, version), None)
            if before is not None and before != provider:
                self.provider.labels(name, version, before).set(0)
            if provider is not None:
                self.provider.labels(name, version, provider).set(1)
                self._shown[(name, version)] = provider
                self._retired.pop((name, version), None)  # served again: not dropped
                return
            self._retired.pop((name, version), None)
            self._retired[(name, version)] = None
            while len(self._retired) > RETIRED_KEPT:
                gone = next(iter(self._retired))
                del self._retired[gone]
                for family in self.provider.collect():
                    for sample in family.samples:
                        labels = sample.labels
                        if (labels["model"], labels["version"]) == gone:
                            self.provider.remove(*gone, labels["provider"])


def create_app(repo: str | Path, config: ServiceConfig | None = None) -> FastAPI:
    """The service over the model repository ``repo``."""
    config = config or ServiceConfig()
    configure_logging()
    metrics = Metrics()
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="inference")
    # Plans run one at a time in a thread of their own: the kernels are Numba parallel
    # functions (each already uses every core), and Numba's workqueue threading layer, the one
    # it falls back to without TBB or an OpenMP runtime, aborts the whole process when two
    # threads launch them at once. A plan whose request timed out keeps the thread until done.
    planner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan")
    token = read_token(config.token_file)
    repository = ModelRepository(repo)
    state: dict[str, Any] = {"ready": False, "loop": None, "closing": set()}

    def attach(loaded: Loaded) -> None:
        """A new version's batcher, made before the version is served."""
        loaded.batcher = Batcher(
            _runner(loaded),
            max_batch=config.max_batch,
            wait_s=config.batch_wait_ms / 1000.0,
            queue_size=config.queue_size,
            executor=executor,
            on_batch=metrics.batch.labels(loaded.name).observe,
        )

    def swapped(added: list[Loaded], removed: list[Loaded]) -> None:
        """After a scan (in the watch thread): the provider gauge, and the batchers of removed
        or replaced versions closed on the event loop once their requests have answers."""
        for loaded in removed:
            metrics.show_provider(loaded.name, loaded.version, None)
        for loaded in added:
            metrics.show_provider(loaded.name, loaded.version, loaded.provider)
        loop = state["loop"]
        if loop is None or loop.is_closed():
            return
        for loaded in removed:
            if loaded.batcher is not None:
                loop.call_soon_threadsafe(close_batcher, loaded.batcher)

    def close_batcher(batcher: Batcher) -> None:
        task = asyncio.get_running_loop().create_task(batcher.close(config.timeout_s + 1.0))
        state["closing"].add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(state["closing"].discard)

    repository.on_load = attach
    repository.on_change = swapped

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state["loop"] = asyncio.get_running_loop()
        await state["loop"].run_in_executor(executor, repository.scan)
        # Before ready: compiled on the first plan instead, the kernels took 25-35 s of the
        # client's 30 s limit (kernels.warmup).
        await state["loop"].run_in_executor(planner, _compile_planning_kernels)
        repository.watch(config.reload_s)
        state["ready"] = True
        log.info("service ready", extra={"models": sorted(repository.snapshot.models)})
        yield
        repository.close()
        executor.shutdown(wait=False, cancel_futures=True)
        planner.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="stockcast",
        description="Demand forecasts, replenishment plans and inspection verdicts.",
        version="1",
        lifespan=lifespan,
        # What every error answer holds (FastAPI would otherwise declare its own 422 body,
        # {detail: [{loc, msg, type}]}, which no answer of this service has).
        responses={
            "4XX": {"model": ErrorResponse, "description": "the request's error"},
            "5XX": {"model": ErrorResponse, "description": "overloaded, timed out or failed"},
        },
    )
    app.state.repository, app.state.metrics, app.state.config = repository, metrics, config
    if token:
        _declare_bearer(app)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        request_id.set(rid)
        started = time.perf_counter()
        endpoint = _endpoint(request)
        try:
            response = await _guarded(request, call_next)
        except Exception:  # a bug: answered 500, logged with its traceback
            log.exception("unhandled error", extra={"path": request.url.path})
            response = JSONResponse({"detail": "internal error"}, status_code=500)
        elapsed = time.perf_counter() - started
        response.headers["x-request-id"] = rid
        metrics.requests.labels(endpoint, str(response.status_code)).inc()
        metrics.latency.labels(endpoint).observe(elapsed)
        log.info(
            "request",
            extra={"method": request.method, "path": request.url.path,
                   "status": response.status_code, "ms": round(1000 * elapsed, 2)},
        )  # fmt: skip
        return response

    async def _guarded(request: Request, call_next):
        path = request.url.path
        if token and not (path.startswith(OPEN_PATHS) or path in PAGES):
            # The scheme is case-insensitive (RFC 7235: 'bearer' is 'Bearer'); the token is not.
            scheme, _, sent = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                sent.strip(" ").encode(), token.encode()
            ):
                return JSONResponse(
                    {"detail": "missing or wrong bearer token"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > config.max_body_bytes):
            return JSONResponse(
                {"detail": f"body larger than {config.max_body_mb:g} MiB"}, status_code=413
            )
        timed_out = JSONResponse(
            {"detail": f"the request took longer than {config.timeout_s:g} s"}, status_code=504
        )
        deadline = time.monotonic() + config.timeout_s
        request_deadline.set(deadline)
        if length is None and request.method == "POST":
            # A body sent in chunks is read here, under the same deadline as the request (a
            # client that stops sending gets its 504, as one with a content-length does).
            try:
                body = await asyncio.wait_for(
                    _read_body(request, config.max_body_bytes), timeout=config.timeout_s
                )
            except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
                return timed_out
            if body is None:
                return JSONResponse(
                    {"detail": f"body larger than {config.max_body_mb:g} MiB"}, status_code=413
                )
            request._body = body  # the handler reads the bytes already received
        try:
            remaining = max(deadline - time.monotonic(), 0.0)
            return await asyncio.wait_for(call_next(request), timeout=remaining)
        except asyncio.TimeoutError:  # before Python 3.11 not TimeoutError: a 500, not the 504
            return timed_out

    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        # Added after ``guard``, so it wraps it: a preflight (which never carries the token) is
        # answered here, and guard's own answers (401, 413, 504) carry the CORS headers a
        # browser needs to read them. A token is sent as ``Authorization``: allowed here.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
            expose_headers=["X-Request-Id", "Retry-After"],
        )

    from serving.review import ReviewError
    from serving.service.pages import pages_router, review_store

    reviews = review_store(config.review_db, config.workspace)
    app.include_router(pages_router(config.review_db, config.workspace, reviews))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": [_problem(e) for e in exc.errors()]}, status_code=422)

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded):
        return JSONResponse(
            {"detail": "too many requests waiting; retry shortly"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(ValueError)
    async def bad_input(request: Request, exc: ValueError):
        # Validation errors of the packages (PanelError, FileError...) name the field and rows;
        # a panel's are worded for a request (list positions, no command-line flags).
        text = exc.for_request() if isinstance(exc, PanelError) else str(exc)
        return JSONResponse({"detail": " ".join(text.split())}, status_code=422)

    def model(name: str | None, version: str | None, task: str) -> Loaded:
        snapshot = repository.snapshot
        if name is None:
            names = snapshot.of_task(task)
            if len(names) != 1:
                raise HTTPException(422, f"model: name one of the {task} models {names}")
            name = names[0]
        try:
            loaded = snapshot.get(name, version)
        except KeyError as exc:
            raise HTTPException(404, str(exc.args[0])) from None
        if loaded.task != task:
            raise HTTPException(422, f"model {name!r} is a {loaded.task} model, not {task}")
        return loaded

    async def offload(fn, *args):
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    async def batched(loaded: Loaded, job: Any, size: int) -> Any:
        # The queue gauge is set at each scrape only: set here too, the last request of a model
        # removed under load left its depth (6 waiting, said for good by an idle service).
        deadline = request_deadline.get()
        timeout = None if deadline is None else deadline - time.monotonic()
        try:
            return await loaded.batcher.submit(job, size, timeout)
        except TimeoutError:  # the client has its 504 already: free the place, run nothing
            raise HTTPException(
                504, f"the request took longer than {config.timeout_s:g} s"
            ) from None

    # ------------------------------------------------------------------ health and metadata

    @app.get("/v2/health/live", tags=["health"])
    async def live() -> dict[str, bool]:
        return {"live": True}

    @app.get(
        "/v2/health/ready",
        tags=["health"],
        responses={200: {"model": Readiness}, 503: {"model": Readiness, "description": "no model"}},
    )
    async def ready() -> JSONResponse:
        ok = state["ready"] and bool(repository.snapshot.models)
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    @app.get("/v2/models/{name}", response_model=ModelMetadata, tags=["oip"])
    async def metadata(name: str) -> ModelMetadata:
        return _metadata(model_any(name, None), repository)

    @app.get("/v2/models/{name}/versions/{version}", response_model=ModelMetadata, tags=["oip"])
    async def metadata_version(name: str, version: str) -> ModelMetadata:
        return _metadata(model_any(name, version), repository)

    def model_any(name: str, version: str | None) -> Loaded:
        try:
            return repository.snapshot.get(name, version)
        except KeyError as exc:
            raise HTTPException(404, str(exc.args[0])) from None

    # Declared text/plain for its 200 only (as pages.HTML_ANSWER): with
    # ``response_class=PlainTextResponse`` its JSON error answers were declared text/plain.
    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                         "description": "Prometheus metrics (text format)"}},
    )  # fmt: skip
    async def prometheus() -> Response:
        served = repository.snapshot.models
        for family in metrics.queue.collect():
            for sample in family.samples:
                if sample.labels["model"] not in served:  # removed by a reload: nothing waits
                    metrics.queue.remove(sample.labels["model"])
        for name, versions in served.items():
            depth = sum(v.batcher.depth() for v in versions.values() if v.batcher)
            metrics.queue.labels(name).set(depth)
            for version, loaded in versions.items():
                metrics.show_provider(name, version, loaded.provider)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # ------------------------------------------------------------------ OIP v2 inference

    async def infer(name: str, version: str | None, body: InferRequest) -> InferResponse:
        """Tensors in, tensors out, through the version's bounded queue and dynamic batcher
        (requests of the same shapes run as one batch, with the domain endpoints' too)."""
        loaded = model_any(name, version)
        if getattr(loaded.runtime, "in_process", False):
            raise HTTPException(
                422,
                f"model {name!r} is an auto run's package, forecast by PyTorch: it has no "
                "tensors to infer on; send its table to /v1/forecast",
            )
        session = loaded.runtime.model.session
        with loaded.batcher.admitted():
            job = _oip_job(body, session, name)
            if loaded.task == "inspection":
                _flags_as_flags(job.feeds)
                _refuse_items_without_views(job.feeds)
            wanted = [o.get("name") for o in body.outputs or []]
            known = [o.name for o in session.get_outputs()]
            unknown = [w for w in wanted if w not in known]
            if unknown:
                raise HTTPException(422, f"outputs.{unknown[0]}: not an output of {name} {known}")
            outputs = await batched(loaded, job, max(job.n_windows, 1))
        return InferResponse(
            model_name=name,
            model_version=loaded.version,
            id=body.id,
            outputs=[_to_tensor(k, v) for k, v in outputs.items() if not wanted or k in wanted],
        )

    @app.post("/v2/models/{name}/infer", response_model=InferResponse, tags=["oip"])
    async def infer_latest(name: str, body: InferRequest) -> InferResponse:
        return await infer(name, None, body)

    @app.post("/v2/models/{name}/versions/{version}/infer", response_model=InferResponse,
              tags=["oip"])  # fmt: skip
    async def infer_version(name: str, version: str, body: InferRequest) -> InferResponse:
        return await infer(name, version, body)

    # ------------------------------------------------------------------ domain endpoints

    @app.post("/v1/forecast", response_model=ForecastResponse, tags=["forecast"])
    async def forecast(body: ForecastRequest) -> ForecastResponse:
        loaded = model(body.model, body.version, "forecast")
        table, notes = await _forecast_table(loaded, body.rows, body.cumulative)
        runtime = loaded.runtime
        return ForecastResponse(
            model=loaded.name,
            version=loaded.version,
            provider=loaded.provider,
            quantiles=list(runtime.quantiles),
            rows=_forecast_rows(table),
            warnings=notes,
        )

    async def _forecast_table(
        loaded: Loaded, rows: list[dict], cumulative: int | None, field: str = "rows"
    ) -> tuple[pd.DataFrame, list[str]]:
        """The forecast table of ``rows`` and what the client should read it with (levels
        unseen in training: the Python API warns of them, a client reads them here)."""
        from serving.runtime.forecast import GridTooLarge

        _check_table(rows, field, config.max_body_bytes)
        frame = pd.DataFrame.from_records(rows)
        spec = loaded.runtime.spec
        _check_series(frame, [spec.item_col, spec.location_col], field, config.max_series)
        # Every series is laid over the whole table's dates: a row a century before the
        # others made a grid of gigabytes from a request of kilobytes. A grid cell per 8 bytes
        # a body may hold (2 million at 16 MiB) is several times what the rows a body holds
        # fill (a JSON row is 60 bytes or more).
        max_cells = config.max_body_bytes // 8
        with loaded.batcher.admitted():
            try:
                if getattr(loaded.runtime, "in_process", False):  # an auto run: no graph
                    return await offload(loaded.runtime.answer, frame, cumulative, max_cells)
                job = await offload(loaded.runtime.prepare, frame, cumulative, max_cells)
            except GridTooLarge as exc:
                raise HTTPException(413, f"{field}: {exc}") from None
            if job.warnings:
                log.warning("forecast request", extra={"warnings": job.warnings})
            if job.n_windows == 0:
                return await offload(loaded.runtime.finish, job, []), job.warnings
            output = await batched(loaded, job, job.n_windows)
            table = await offload(loaded.runtime.finish, job, [output[job.output]])
            return table, job.warnings

    @app.post("/v1/plan", response_model=PlanResponse, tags=["plan"])
    async def plan(body: PlanRequest) -> PlanResponse:
        if (body.forecast is None) == (body.series is None):
            raise HTTPException(422, "give either forecast (a forecast table) or series")
        every = {"inventory": body.inventory, "forecast": body.forecast, "series": body.series,
                 "lead_times": body.lead_times}  # fmt: skip
        if body.allocation is not None:
            every.update({f"allocation.{k}": getattr(body.allocation, k)
                          for k in ("demand", "stock", "supply")})  # fmt: skip
        for field, records in every.items():
            if records is not None:
                _check_table(records, field, config.max_body_bytes)
        tables = {"inventory": body.inventory, "forecast": body.forecast}
        if body.allocation is not None:
            tables.update({"allocation.demand": body.allocation.demand,
                           "allocation.stock": body.allocation.stock})  # fmt: skip
        for field, records in tables.items():
            if records is not None:  # kernels' tables are keyed by item and location
                frame = pd.DataFrame.from_records(records)
                _check_series(frame, list(PLAN_KEYS), field, config.max_series)
        if body.allocation is not None:
            _check_allocation(
                pd.DataFrame.from_records(body.allocation.demand),
                pd.DataFrame.from_records(body.allocation.stock),
            )
        used, step_days = None, None
        notes: list[str] = []
        if body.series is not None:
            loaded = model(body.model, body.version, "forecast")
            horizon = loaded.runtime.horizon
            forecast_table, notes = await _forecast_table(loaded, body.series, horizon, "series")
            used = f"{loaded.name}/{loaded.version}"
            step_days = STEP_DAYS[loaded.runtime.spec.frequency]
        else:
            forecast_table = pd.DataFrame.from_records(body.forecast)
            # A table's own step (a weekly cumulative forecast says 7 days), as the command
            # line reads it; plan() refuses a policy that disagrees with it.
            from kernels.tables import forecast_step_days

            step_days = forecast_step_days(forecast_table)
        _check_day_grid(forecast_table, body.policy, step_days)
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(planner, _plan, body, forecast_table, used, step_days)
        answer.warnings = notes
        return answer

    @app.post(
        "/v1/inspect",
        response_model=InspectResponse,
        tags=["inspect"],
        openapi_extra={"requestBody": INSPECT_FORM},
    )
    async def inspect(request: Request) -> InspectResponse:
        """One item's view images (one multipart file part per view, named by the view) and
        optional fields -> the item's verdict, per-class scores, reasons and view statuses."""
        try:
            form = await request.form(
                max_files=64, max_fields=16, max_part_size=config.max_body_bytes
            )
        except Exception as exc:  # not multipart, too many parts: the client's request
            raise HTTPException(422, f"expected a multipart form of view images ({exc})") from None
        fields: dict[str, str] = {}
        views = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                if not value:  # an empty text field (as an HTML form sends it) is not given
                    continue
                # Read from the form as a dict, the last of two values won without a word (two
                # item_ids: the unit queued under one of them), and a text part beside an image
                # part of the same name was dropped.
                if key in fields:
                    raise HTTPException(422, f"{key}: given twice (send one value)")
                fields[key] = value
            else:
                if key in views:  # one of them would be scored without a word (the last)
                    raise HTTPException(422, f"{key}: two image parts for one view")
                views[key] = await value.read()
        unknown = sorted(set(fields) - set(INSPECT_FIELDS))
        if unknown:
            # A part without a filename arrives as text: an image sent that way was reported
            # as "no image parts" or an unknown field, neither of which says what to change.
            raise HTTPException(
                422,
                f"{unknown[0]}: unknown form field (a view image must be a file part, with a "
                f"filename: curl -F {unknown[0]}=@photo.png)",
            )
        if not views:
            raise HTTPException(422, "views: no image parts in the form (one part per view)")
        loaded = model(fields.get("model"), fields.get("version"), "inspection")
        runtime = loaded.runtime
        # A misspelt view would otherwise be dropped and the item scored without it.
        strange = sorted(set(views) - set(runtime.view_names))
        if strange:
            raise HTTPException(
                422,
                f"{strange[0]}: not a view of this model ({loaded.name}; its views: "
                f"{', '.join(runtime.view_names)})",
            )
        # Text that is neither ("2", "ture") read as false: no heatmaps and no word why.
        flag = fields.get("heatmaps", "false").strip().lower()
        if flag not in TRUE_TEXT + FALSE_TEXT:
            raise HTTPException(
                422, f"heatmaps: expected true or false, got {fields['heatmaps']!r}"
            )
        heatmaps = flag in TRUE_TEXT
        unit = {k: fields.get(k) for k in ("item_id", "sku", "location_id")}
        for key, given in unit.items():
            # " u1" and "u1" would be two units in the queue, and " SKU1" no inventory's SKU.
            if given is not None and given != given.strip():
                raise HTTPException(422, f"{key}: {given!r} has leading or trailing spaces")
        if (unit["sku"] or unit["location_id"]) and not all(unit.values()):
            # Named for the review queue, which needs the whole unit: not silently unqueued.
            # Every missing field is named (the first alone was: `sku` sent by itself named
            # item_id, and the retry with it came back naming location_id).
            missing = ", ".join(k for k, v in unit.items() if not v)
            raise HTTPException(
                422,
                f"{missing}: missing; the review queue needs item_id, sku and location_id together",
            )
        queueable = reviews is not None and all(unit.values())
        with loaded.batcher.admitted():
            job = await offload(
                runtime.prepare_item,
                views,
                fields.get("product_id"),
                fields.get("item_id") or "item",
                config.max_pixels,
            )
            output = await batched(loaded, job, 1)
            # A unit that may wait for a person gets its heatmaps drawn: the review page shows them.
            result = await offload(runtime.finish_item, job, output, heatmaps or queueable)
        queued = recorded = False
        if queueable and reviews is not None and result["verdict"] in ("review", "reject"):
            usable = {
                v: views[v] for v in runtime.view_names if v in views and v not in job.view_errors
            }
            overlays = {
                v["view"]: v["heatmap_png"] for v in result["views"] if v.get("heatmap_png")
            }
            item = {
                **unit,
                "model": f"{loaded.name}/{loaded.version}",
                # The product it was scored against ("P0001\n" from a scanner is P0001):
                # --feedback looks its catalog row up by this text.
                "product_id": job.item.product_id,
                "reasons": "; ".join(result["reasons"]),
                # why it is incomplete, as the batch items table's ``errors`` say it
                "errors": " | ".join(result["errors"]),
                "scores": result["scores"],
            }
            # A reject is recorded, not queued: the unit leaves sellable stock (plan
            # --review-db reads it) as a reviewer's reject would, but waits for no one.
            state = "pending" if result["verdict"] == "review" else "rejected"
            try:  # an item already recorded is left as it is
                added = await offload(reviews.enqueue_photos, item, usable, overlays, state)
            except ReviewError as exc:
                raise HTTPException(422, str(exc)) from None
            if not added:  # one a person already decided keeps that decision, waiting for nobody
                state = (await offload(reviews.item, str(unit["item_id"])))["state"]
            queued = state == "pending"
            recorded = result["verdict"] == "reject" and state == "rejected"
        elif queueable and reviews is not None:
            # A pass leaves a unit already waiting as it is: it is still held for a person, and
            # the answer says so (it read "queued": false while the queue held the unit).
            try:
                queued = (await offload(reviews.item, str(unit["item_id"])))["state"] == "pending"
            except ReviewError:  # not in the queue
                queued = False
        for view in result["views"]:
            if not heatmaps:
                view["heatmap_png"] = None
            elif view.get("heatmap_png") is not None:
                view["heatmap_png"] = base64.b64encode(view["heatmap_png"]).decode()
        return InspectResponse(
            model=loaded.name,
            version=loaded.version,
            provider=loaded.provider,
            queued=queued,
            recorded=recorded,
            **result,
        )

    return app


def _declare_bearer(app: FastAPI) -> None:
    """Declare the bearer token on the OpenAPI document, so ``/docs`` can send it (its
    Authorize button) and a client generated from ``/openapi.json`` knows it is needed."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}
            }
            schema["security"] = [{"bearer": []}]
            # The paths the guard lets through without the token say so (an empty list lifts
            # the document's requirement): health probes, /metrics and the pages were declared
            # as needing it.
            for path, operations in schema.get("paths", {}).items():
                if path.startswith(OPEN_PATHS) or path in PAGES:
                    for operation in operations.values():
                        operation["security"] = []
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


@dataclass
class OipJob:
    """The tensors of one OIP v2 request: ``n_windows`` rows along the batch axis, or
    ``batchable`` false when the graph or the tensors have none (it then runs alone)."""

    feeds: dict[str, np.ndarray]
    n_windows: int
    batchable: bool


def _oip_job(body: InferRequest, session, name: str) -> OipJob:
    """The request's tensors checked against the graph's inputs (4xx naming the tensor)."""
    expected = {i.name: i for i in session.get_inputs()}
    feeds = {}
    for tensor in body.inputs:
        if tensor.name not in expected:
            raise HTTPException(422, f"inputs.{tensor.name}: not an input of {name}")
        if tensor.name in feeds:
            raise HTTPException(422, f"inputs.{tensor.name}: given twice")
        feeds[tensor.name] = _to_array(tensor, expected[tensor.name])
    missing = sorted(set(expected) - set(feeds))
    if missing:
        raise HTTPException(422, f"inputs: missing {missing}")
    graph = list(session.get_inputs()) + list(session.get_outputs())
    dynamic = all(g.shape and not isinstance(g.shape[0], int) for g in graph)
    rows = {v.shape[0] if v.ndim else None for v in feeds.values()}
    n_windows = next(iter(rows)) if len(rows) == 1 else None
    if n_windows is None:
        return OipJob(feeds, 1, False)
    return OipJob(feeds, int(n_windows), dynamic)


def _flags_as_flags(feeds: dict[str, np.ndarray]) -> None:
    """An inspection request's ``view_mask`` and catalog presence flag as 0/1, the flags they
    are (above 0 present, anything else absent; an absent catalog reference all zeros).
    Graphs exported before 2026-12-06 read the mask as a weight and the flag as a number:
    served as they are, an OIP client's -1 for a missing view was subtracted from the fusion's
    mean and a 2 counted twice."""
    for name in ("view_mask", "catalog"):
        value = feeds.get(name)
        if value is None or value.dtype.kind != "f" or not value.ndim:
            continue
        value = value.copy()
        if name == "view_mask":
            value[...] = value > 0
        elif value.ndim == 2 and value.shape[1]:
            present = value[:, 0] > 0
            value[:, 0] = present
            # An absent reference is all zeros, as the station sends it and the model was
            # trained on: graphs exported before 2026-12-07 read the fields beside a flag of 0.
            value[~present, 1:] = 0
        feeds[name] = value


def _refuse_items_without_views(feeds: dict[str, np.ndarray]) -> None:
    """A 422 naming the first item (row) of an inspection request whose ``view_mask`` has no
    view present. The graph's fusion has nothing to fuse for it and answers a score of 0 for
    every class (a confident pass, 200), where the station marks such an item failed and sends
    it to review, and ``/v1/inspect`` refuses it."""
    mask = feeds.get("view_mask")
    if mask is None or mask.ndim != 2 or not mask.shape[0]:
        return
    empty = np.flatnonzero(~(mask > 0).any(axis=1))
    if len(empty):
        raise HTTPException(
            422,
            f"inputs.view_mask: row {int(empty[0])} has no view present (no value above 0); "
            "an item without a photo cannot be scored",
        )


def _runner(loaded: Loaded):
    """The batch function of a model version: each job has ``feeds`` and ``n_windows`` rows
    and gets its slice of every output back. Jobs whose tensors agree (names, dtypes, shapes
    past the batch axis) run as one session run; a job that cannot join one (an OIP request
    with its own shapes) runs alone, and a batch that fails is run again one job at a time, so
    a client's bad tensors fail its own request only (its onnxruntime error as a 422)."""
    model = getattr(loaded.runtime, "model", None)  # none for an auto run (not batched)

    def run(jobs: list[Any]) -> list[Any]:
        groups: dict[Any, list[int]] = {}
        for i, job in enumerate(jobs):
            groups.setdefault(_signature(job) or ("alone", i), []).append(i)
        results: list[Any] = [None] * len(jobs)
        for members in groups.values():
            if len(members) > 1:
                try:
                    together = _run_together(model, [jobs[i] for i in members])
                except Exception:  # run them one by one: the error is one job's
                    log.warning("batch failed; running its jobs one by one", exc_info=True)
                else:
                    for i, result in zip(members, together, strict=True):
                        results[i] = result
                    continue
            for i in members:
                try:
                    results[i] = _run_checked(model, jobs[i])
                except Exception as exc:  # handed to that job's request
                    results[i] = exc
        return results

    return run


def _signature(job: Any) -> tuple | None:
    """What jobs must share to run as one batch; ``None`` for a job that runs alone."""
    if not getattr(job, "batchable", True):
        return None
    n = job.n_windows
    # A job without rows runs alone: joined to others it would be answered (an empty slice of
    # their outputs) where alone the graph may refuse it, so its answer would depend on
    # whether another request happened to arrive in the same few milliseconds.
    if n == 0 or any(v.ndim == 0 or v.shape[0] != n for v in job.feeds.values()):
        return None
    return tuple(sorted((k, v.dtype.str, v.shape[1:]) for k, v in job.feeds.items()))


def _run_together(model, jobs: list[Any]) -> list[dict[str, np.ndarray]]:
    feeds = {k: np.concatenate([job.feeds[k] for job in jobs]) for k in jobs[0].feeds}
    outputs = model.run(feeds)
    total = sum(job.n_windows for job in jobs)
    if any(v.ndim == 0 or v.shape[0] != total for v in outputs.values()):
        raise ValueError("an output has no batch axis: the jobs cannot share a run")
    results, start = [], 0
    for job in jobs:
        stop = start + job.n_windows
        results.append({name: value[start:stop] for name, value in outputs.items()})
        start = stop
    return results


def _run_checked(model, job: Any) -> dict[str, np.ndarray]:
    try:
        return model.run(job.feeds)
    except Exception as exc:  # onnxruntime's shape and type errors on a client's tensors
        if isinstance(job, OipJob) and type(exc).__module__.startswith("onnxruntime"):
            raise ValueError(f"inputs: {str(exc).splitlines()[0]}") from None
        raise


def _to_array(tensor: Tensor, expected) -> np.ndarray:
    dtype = NUMPY[tensor.datatype]
    want = DATATYPES.get(expected.type)
    if want != tensor.datatype:
        raise HTTPException(
            422, f"inputs.{tensor.name}: datatype {tensor.datatype}, expected {want}"
        )
    size = math.prod(tensor.shape)  # Python's integers: np.prod wraps ([2**62, 28] held 0)
    if any(d < 0 for d in tensor.shape) or size != len(tensor.data):
        raise HTTPException(
            422,
            f"inputs.{tensor.name}: shape {tensor.shape} does not hold {len(tensor.data)} values",
        )
    rank = len(expected.shape)
    if len(tensor.shape) != rank:
        raise HTTPException(422, f"inputs.{tensor.name}: expected {rank} dimensions")
    for axis, (got, want_dim) in enumerate(zip(tensor.shape, expected.shape, strict=True)):
        if isinstance(want_dim, int) and got != want_dim:
            raise HTTPException(422, f"inputs.{tensor.name}: axis {axis} must be {want_dim}")
    if dtype is object and not all(
        isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in tensor.data
    ):
        # str() would make null "None", false "False" and 1.0 "1.0": levels no vocabulary
        # holds, each silently read as the unknown level
        raise HTTPException(
            422,
            f"inputs.{tensor.name}: values are not BYTES (text; null, true/false and "
            "fractions are not levels)",
        )
    try:
        if dtype not in (object, np.float32, np.float64):
            _check_whole(tensor)  # NumPy would truncate 1.5 to 1 and read 2 as True
        values: np.ndarray = np.asarray(tensor.data, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        exact = "" if dtype in (object, np.float32, np.float64) else " (whole, in range)"
        raise HTTPException(
            422, f"inputs.{tensor.name}: values are not {tensor.datatype}{exact}"
        ) from None
    if dtype is object:
        values = values.astype(str).astype(object)
    elif dtype is np.float32 and np.isinf(values).any():
        # NumPy makes a value past float32's range (1e39) infinite, which the graph reads as
        # no value at all (a history of 1e39 forecast as one of no sales), with a 200
        sent = np.asarray(tensor.data, dtype=np.float64)
        if (np.isinf(values) & np.isfinite(sent)).any():
            raise HTTPException(
                422, f"inputs.{tensor.name}: values beyond FP32's range (3.4e38) in magnitude"
            )
    return values.reshape(tensor.shape)


def _check_whole(tensor: Tensor) -> None:
    """Refuses values an integer or boolean tensor cannot hold exactly (a ValueError)."""
    raw = np.asarray(tensor.data)
    if raw.size == 0:
        return
    if tensor.datatype == "BOOL":
        if raw.dtype.kind != "b" and not np.isin(raw, (0, 1)).all():
            raise ValueError(tensor.name)
        return
    if raw.dtype.kind == "f":
        if not (np.isfinite(raw).all() and (raw == np.round(raw)).all()):
            raise ValueError(tensor.name)
    elif raw.dtype.kind not in "iub":
        raise ValueError(tensor.name)
    info = np.iinfo(NUMPY[tensor.datatype])
    if raw.min() < info.min or raw.max() > info.max:
        raise ValueError(tensor.name)


def _to_tensor(name: str, value: np.ndarray) -> Tensor:
    if value.dtype == np.int64:
        return Tensor(
            name=name, shape=list(value.shape), datatype="INT64", data=value.ravel().tolist()
        )
    if value.dtype == np.float64:  # an inspection package's scores, as its metadata says
        data = value.ravel().tolist()
        return Tensor(name=name, shape=list(value.shape), datatype="FP64", data=data)
    data = value.astype(np.float32).ravel().tolist()
    return Tensor(name=name, shape=list(value.shape), datatype="FP32", data=data)


def _metadata(loaded: Loaded, repository: ModelRepository) -> ModelMetadata:
    model = loaded.manifest["model"]

    def meta(entries):
        return [
            TensorMeta(name=e["name"], datatype=DATATYPES.get(e["dtype"], e["dtype"]),
                       shape=[d if isinstance(d, int) else -1 for d in e["shape"]])
            for e in entries
        ]  # fmt: skip

    versions = sorted(repository.snapshot.models.get(loaded.name, {}), key=int)
    # A package served in process (an auto run: runtime "pytorch") has no ONNX graph and no
    # tensors: its metadata said onnxruntime_onnx with empty inputs, and its infer route is a 422.
    platform = RUNTIME if model.get("runtime") == RUNTIME else "onnxruntime_onnx"
    return ModelMetadata(
        name=loaded.name,
        versions=versions,
        platform=platform,
        inputs=meta(model["inputs"]),
        outputs=meta(model["outputs"]),
    )


def _problem(error: dict[str, Any]) -> dict[str, str]:
    """A validation error as the field it names and what is wrong with it. The body itself is
    ``body``: for JSON that does not parse, pydantic's location is the character offset."""
    if error.get("type") == "json_invalid":
        offset = error["loc"][-1] if len(error["loc"]) > 1 else "?"
        return {"field": "body", "problem": f"{error['msg']} at character {offset}"}
    field = ".".join(str(p) for p in error["loc"] if p != "body")
    return {"field": field or "body", "problem": error["msg"]}


def _check_table(records: list[dict[str, Any]], field: str, max_body_bytes: int) -> None:
    """413 naming ``field`` when its rows, made a table, would hold far more cells than were
    sent: a table has a column for every key any row names, so rows that each name keys of
    their own fill rows x keys cells (an 80 KiB body of 6,000 rows of one key each made a
    6,000 x 6,000 table: 13 s on the event loop, past the timeout, and 850 MiB; a few MiB
    would take all the memory). Allowed: twice the values sent (rows that leave out a few
    optional keys), or a cell per 64 bytes a body may hold (262,144 at 16 MiB: a small table
    may be sparse)."""
    columns: set[str] = set()
    values = 0
    for row in records:
        columns.update(row)
        values += len(row)
    cells = len(records) * len(columns)
    if cells > max(2 * values, max_body_bytes // 64):
        raise HTTPException(
            413,
            f"{field}: {len(records)} rows naming {len(columns)} different keys make "
            f"{cells} cells for {values} values sent (rows should share their column names)",
        )


def _check_series(frame: pd.DataFrame, keys: list[str], field: str, limit: int) -> None:
    """413 naming ``field`` when its rows hold more than ``limit`` distinct keys (a table
    without the key columns is left to the validation that names them)."""
    if all(k in frame.columns for k in keys):
        n_series = len(frame[keys].drop_duplicates())
        if n_series > limit:
            raise HTTPException(413, f"{field}: {n_series} series, more than {limit}")


# The allocation kernels hold demand samples as dense (items x most FCs of one item x samples)
# arrays of float64, one per group of items with similar FC counts
# (:func:`kernels.tables.allocation_groups`), and three (items x FCs) ones: 2**25 cells is
# 256 MiB.
MAX_ALLOCATION_CELLS = 2**25


def _check_allocation(demand: pd.DataFrame, stock: pd.DataFrame) -> None:
    """413 when the allocation's dense arrays would exceed :data:`MAX_ALLOCATION_CELLS`: the
    series limit bounds the stock rows, and each group of items is padded to its own most FCs
    (under twice its rows), so this bounds the samples per key. Tables without the columns are
    left to the validation that names them."""
    from kernels.tables import allocation_groups

    if not all(k in stock.columns for k in PLAN_KEYS) or not all(
        k in demand.columns for k in PLAN_KEYS
    ):
        return
    per_item = stock.groupby("item_id", sort=False).size()
    if per_item.empty or demand.empty:
        return
    grouped = demand.groupby(list(PLAN_KEYS), sort=False)
    samples = grouped["sample"].nunique() if "sample" in demand.columns else grouped.size()
    width = per_item.to_numpy()
    group = pd.Series(width).groupby(allocation_groups(width))
    padded = int((group.size() * group.max()).sum())
    n_samples = max(int(samples.max()) if len(samples) else 1, 1)
    cells = padded * n_samples
    if cells > MAX_ALLOCATION_CELLS:
        raise HTTPException(
            413,
            f"allocation: {len(per_item)} items at {int(width.sum())} FCs ({padded} padded) x "
            f"{n_samples} samples = {cells} cells, more than {MAX_ALLOCATION_CELLS}",
        )


# A cumulative-quantile forecast is planned on a grid of days: (keys x horizon x step_days x
# quantiles) float64, several copies. 2**25 cells is 256 MiB.
MAX_DAY_GRID_CELLS = 2**25


def _check_day_grid(
    forecast: pd.DataFrame, policy: dict[str, Any] | None, step_days: float | None
) -> None:
    """413 when the days of a cumulative-quantile forecast would exceed
    :data:`MAX_DAY_GRID_CELLS`: each of its steps is cut in ``step_days`` days, a setting of
    the request (a 3-row forecast with ``step_days`` 1e7 asked for 90 million days and
    gigabytes, in the one thread plans run in). Tables in another form, or a ``step_days``
    that is not a number, are left to the validation that names them."""
    given = (policy or {}).get("step_days", 1.0 if step_days is None else step_days)
    number = isinstance(given, int | float) and not isinstance(given, bool)
    if not number or not math.isfinite(given) or given <= 1:
        return
    levels = [c for c in forecast.columns if isinstance(c, str) and c[:1] == "q"]
    if "horizon" not in forecast.columns or not levels or forecast.empty:
        return
    if not all(k in forecast.columns for k in PLAN_KEYS):
        return
    sizes = forecast.groupby(list(PLAN_KEYS), sort=False, dropna=False).size()
    steps = int(sizes.max())  # horizons 1..H, one row each
    days = math.floor(steps * given + 1e-9)
    cells = len(sizes) * days * len(levels)
    if cells > MAX_DAY_GRID_CELLS:
        raise HTTPException(
            413,
            f"forecast: {len(sizes)} keys x {days} days ({steps} steps of {given:g} days) x "
            f"{len(levels)} quantiles = {cells} cells, more than {MAX_DAY_GRID_CELLS}",
        )


def _forecast_rows(table: pd.DataFrame) -> list[ForecastRow]:
    qcols = [c for c in table.columns if c.startswith("q")]
    records = table.to_dict(orient="records")
    rows = []
    for r in records:
        rows.append(
            ForecastRow(
                item_id=str(r["item_id"]),
                location_id=str(r["location_id"]),
                date=str(pd.Timestamp(r["date"]).date()) if "date" in r else None,
                step=int(r["step"]) if "step" in r else None,
                horizon=int(r["horizon"]) if "horizon" in r else None,
                step_days=float(r["step_days"]) if "step_days" in r else None,
                quantiles={c: float(r[c]) for c in qcols},
            )
        )
    return rows


def _compile_planning_kernels() -> None:
    from kernels.warmup import compile_planning_kernels

    started = time.monotonic()
    try:
        compile_planning_kernels()
    except Exception:  # the plans themselves still work (and compile) on request
        log.exception("compiling the planning kernels failed; the first plan compiles them")
        return
    log.info("planning kernels compiled", extra={"seconds": round(time.monotonic() - started, 2)})


def _plan(
    body: PlanRequest, forecast: pd.DataFrame, used: str | None, step_days: float | None = None
) -> PlanResponse:
    from kernels import Policy, allocate, plan

    settings = dict(body.policy or {})
    if step_days is not None and used is None:  # the forecast table's step_days column
        settings.setdefault("step_days", step_days)
    elif step_days is not None:  # a forecast made here: its steps are the model's periods
        given = settings.setdefault("step_days", step_days)
        # Another length would read the model's periods as that many days (a weekly model's
        # weeks as days with step_days 1: seven times the lead-time demand), never a choice.
        number = isinstance(given, int | float) and not isinstance(given, bool)
        if number and not math.isclose(given, step_days, rel_tol=1e-9):
            raise ValueError(
                f"policy: step_days {given!r} disagrees with the model {used}, whose steps are "
                f"{step_days:g} days; leave step_days out to use the model's"
            )
    try:
        policy = Policy(**settings)
    except TypeError as exc:
        raise ValueError(f"policy: {exc}") from None
    inventory = pd.DataFrame.from_records(body.inventory)
    lead_times = pd.DataFrame.from_records(body.lead_times) if body.lead_times else None
    if used is not None:
        # A forecast made from ``series`` is keyed by the keys' text (item 7 is "7"), as every
        # forecast table is: key the tables planned against it the same way.
        inventory = _text_keys(inventory)
        lead_times = _text_keys(lead_times) if lead_times is not None else None
    rows = plan(forecast, inventory, policy=policy, lead_times=lead_times)
    allocation = None
    if body.allocation is not None:
        a = body.allocation
        allocation = allocate(
            pd.DataFrame.from_records(a.demand),
            pd.DataFrame.from_records(a.stock),
            pd.DataFrame.from_records(a.supply),
            objective=a.objective,
        )
    return PlanResponse(
        rows=_records(rows),
        allocation=_records(allocation) if allocation is not None else None,
        forecast_model=used,
    )


def _text_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its item and location keys as the text a forecast table keys them by."""
    from forecasting.validate import text_levels

    frame = frame.copy()
    for key in PLAN_KEYS:
        if key in frame.columns:
            codes, text = text_levels(frame[key])
            # code -1 (a missing key) picks None: it stays missing, for kernels to name
            frame[key] = np.array([*text, None], dtype=object)[codes]
    return frame


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows with NaN as null, NumPy scalars as plain numbers, floats with all their digits:
    ``to_json`` writes 10 decimals (a safety stock of 4.9e-11 read 0, 1.23456789e-08 read
    1.23e-08, a fill rate of 0.99999999996 read 1.0) and 10 digits past 1e16."""
    floats = [k for k in range(frame.shape[1]) if frame.dtypes.iloc[k].kind == "f"]
    others = [k for k in range(frame.shape[1]) if k not in floats]
    columns: dict[int, list[Any]] = {k: [] for k in others}
    if others and len(frame):
        rows = json.loads(frame.iloc[:, others].to_json(orient="values", date_format="iso"))
        columns.update(zip(others, map(list, zip(*rows, strict=True)), strict=True))
    for k in floats:
        # The whole column at once: float() and isfinite per NumPy scalar (after to_json had
        # written every float too) made a large answer 2.7 times slower to write.
        values = frame.iloc[:, k].to_numpy(dtype=np.float64)
        plain = values.astype(object)
        plain[~np.isfinite(values)] = None
        columns[k] = plain.tolist()
    names = [str(c) for c in frame.columns]
    ordered = [columns[k] for k in range(len(names))]
    return [dict(zip(names, row, strict=True)) for row in zip(*ordered, strict=True)]


def _endpoint(request: Request) -> str:
    path = request.url.path
    if path.startswith("/v2/models/"):
        return "/v2/models/infer" if path.endswith("/infer") else "/v2/models"
    return path if path in ("/v1/forecast", "/v1/plan", "/v1/inspect", "/metrics") else "other"


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The whole body of a request sent without a content-length; ``None`` past ``limit``.
    The chunks are joined once at the end: ``body += chunk`` copied the body received so far
    for every chunk, on the event loop (quadratic: 16 MiB in 4 KiB chunks took seconds)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    return b"".join(chunks)


def factory() -> FastAPI:
    """The app of a worker process started by ``stockcast serve --workers N`` (settings come
    through the environment, as uvicorn starts workers by import path)."""
    import os

    settings = json.loads(os.environ["STOCKCAST_SERVICE_CONFIG"])
    return create_app(os.environ["STOCKCAST_REPO"], ServiceConfig(**settings))
