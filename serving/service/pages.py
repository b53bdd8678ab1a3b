"""The pages people use, served by ``stockcast serve``: the station, the review queue, forecasts.

* ``/station``: drop an item's view images, see the verdict, the scores, why an inspection is
  incomplete (the answer's ``errors``) and a heatmap per view (it calls ``POST /v1/inspect``);
* ``/review``: the items waiting for a person, oldest first, with their views and heatmaps;
  marking one ``pass`` or ``reject`` (with the defect class) stores the decision with who and
  when and takes it out of the queue (``/v1/review/...``, a :class:`serving.review.ReviewStore`);
  ``/review/rejected``: the same for the units stations rejected outright, where a pass
  overturns the station and the unit is sellable again;
* ``/forecast``: pick a SKU and FC of a demo results folder (``--workspace``), see its fan
  chart, its plan and its simulated inventory.

Plain HTML and a little JavaScript, nothing loaded from elsewhere. Files shown by the review
page are served only from inside the workspace or the review database's folder.
"""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.convertors import PathConvertor, register_url_convertor

from kernels.io import FileError, read_table
from serving.review import ReviewError, ReviewStore

STATIC = Path(__file__).parent / "static"
NAV = (
    '<nav><a href="/station">Station</a><a href="/review">Review</a>'
    '<a href="/review/rejected">Station rejects</a><a href="/forecast">Forecast</a></nav>'
)
TITLES = {"station": "Inspection station", "review": "Review queue", "forecast": "Forecast"}
STATE_LINE = "const QUEUE_STATE = 'pending';"
"""The review script's line that picks its list; ``/review/rejected`` serves it for the
units stations rejected, which a person may overturn."""
KEYS = ["item_id", "location_id"]
# The workspace's tables the forecast page reads, and the columns it reads of each.
WORKSPACE = {
    "plan": ("plan/plan.parquet", [*KEYS, "demand_mean"]),
    "forecast": ("plan/forecast.parquet", [*KEYS, "date"]),
    "daily": ("plan/simulation_daily.parquet", [*KEYS, "date", "rule", "on_hand", "unmet"]),
    "panel": ("data/panel.parquet", [*KEYS, "date", "demand"]),
}

# A picture: declared as such on the OpenAPI page (a bare Response is declared JSON).
PNG_ANSWER: dict[str, Any] = {
    "response_class": Response,
    "responses": {200: {"content": {"image/png": {}}, "description": "a PNG image"}},
}
# A page is declared HTML for its 200 only: with ``response_class=HTMLResponse`` FastAPI put
# the error schema (the middleware's JSON 413, 504 and 500) under text/html as well.
HTML_ANSWER: dict[str, Any] = {
    "response_class": Response,
    "responses": {
        200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "a page"}
    },
}


def _page(
    name: str, replace: dict[str, str] | None = None, title: str | None = None
) -> HTMLResponse:
    """A page: its HTML body and script from ``static/`` with the shared style and helpers."""
    title = title or TITLES.get(name, "stockcast")
    body = (
        (STATIC / f"{name}.html").read_text()
        if name in TITLES
        else ("<p>The inspection station, the review queue and forecasts.</p>")
    )
    script = (STATIC / "common.js").read_text()
    if name in TITLES:
        script += (STATIC / f"{name}.js").read_text()
    for key, value in (replace or {}).items():
        script = script.replace(key, value)
    style = (STATIC / "pages.css").read_text()
    return HTMLResponse(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body>{NAV}<h1>{title}</h1>{body}"
        f'<p><a href="#" onclick="setToken(); return false;">set token</a></p>'
        f"<script>{script}</script></body></html>"
    )


class _ItemId(PathConvertor):
    """An item id in a path: every character, "/" and line breaks too (``path`` stops at a
    line break: such an item could be neither opened nor decided)."""

    regex = "(?s:.*)"


register_url_convertor("item_id", _ItemId())


class Decision(BaseModel):
    decision: Literal["pass", "reject"]
    defect: str | None = Field(
        None, description="for a reject, one of the item's `classes` (as the queue lists them)"
    )
    reviewer: str = Field(..., min_length=1, max_length=100)


def review_store(review_db: str | None, workspace: str | None) -> ReviewStore | None:
    """The service's review queue: ``review_db``, else the workspace's ``review.db`` if it has
    one, else none."""
    root = Path(workspace).resolve() if workspace else None
    db = review_db or (str(root / "review.db") if root and (root / "review.db").exists() else None)
    return ReviewStore(db) if db else None


def pages_router(
    review_db: str | None, workspace: str | None, store: ReviewStore | None = None
) -> APIRouter:
    """The pages and the JSON endpoints they call (``store``: the review queue, by default
    :func:`review_store`'s)."""
    router = APIRouter()
    root = Path(workspace).resolve() if workspace else None
    store = store if store is not None else review_store(review_db, workspace)
    # the store's own path: ``db`` may be a ``sqlite:///path`` URL
    folder = store.path.resolve().parent if store is not None else None
    allowed = [p for p in (root, folder) if p is not None]

    def require_store() -> ReviewStore:
        if store is None:
            raise HTTPException(404, "no review database (start the service with --review-db)")
        return store

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return _page("index")

    @router.get("/station", tags=["pages"], **HTML_ANSWER)
    async def station() -> HTMLResponse:
        return _page("station")

    @router.get("/review", tags=["pages"], **HTML_ANSWER)
    async def review() -> HTMLResponse:
        return _page("review")

    @router.get("/review/rejected", tags=["pages"], **HTML_ANSWER)
    async def review_rejected() -> HTMLResponse:
        return _page("review", {STATE_LINE: STATE_LINE.replace("pending", "rejected")},
                     title="Station rejects")  # fmt: skip

    @router.get("/forecast", tags=["pages"], **HTML_ANSWER)
    async def forecast() -> HTMLResponse:
        return _page("forecast")

    # Every SQLite call runs in a worker thread: a decision waits up to the connection's
    # timeout (30 s) for another process's write lock (``serve --workers N``, a plan reading
    # the queue), and on the event loop that wait stalled every request of the service.
    @router.get("/v1/review/queue", tags=["review"])
    async def queue(
        limit: int = 100, state: Literal["pending", "rejected"] = "pending"
    ) -> list[dict[str, Any]]:
        """Items waiting for a person, oldest first; ``state=rejected``: the units stations
        rejected that no person has decided (a pass overturns the station's verdict)."""
        if not 1 <= limit <= 1000:
            raise HTTPException(422, "limit: expected 1..1000")
        return await asyncio.to_thread(require_store().queue, limit, state)

    # ``:item_id``: an item id may hold "/" (the page sends it as %2F, which is decoded before
    # routing) or a line break; the segments after it are fixed, so the id is everything
    # before them.
    @router.get(
        "/v1/review/items/{item_id:item_id}/views/{view}/{kind}", tags=["review"], **PNG_ANSWER
    )
    async def view_file(item_id: str, view: str, kind: Literal["image", "heatmap"]) -> FileResponse:
        try:
            item = await asyncio.to_thread(require_store().item, item_id)
        except ReviewError as exc:
            raise HTTPException(404, str(exc)) from None
        path_text = item["views"].get(view, {}).get(kind)
        if not path_text:
            raise HTTPException(404, f"{item_id}: no {kind} for view {view!r}")
        path = Path(path_text).resolve()
        if not any(path.is_relative_to(folder) for folder in allowed) or not path.is_file():
            raise HTTPException(404, f"{item_id}: the {kind} of view {view!r} is not available")
        return FileResponse(path, media_type="image/png")

    @router.post("/v1/review/items/{item_id:item_id}/decision", tags=["review"])
    async def decide(item_id: str, body: Decision) -> dict[str, Any]:
        try:
            return await asyncio.to_thread(
                require_store().decide, item_id, body.decision, body.reviewer, body.defect
            )
        except ReviewError as exc:
            raise HTTPException(422, str(exc)) from None

    # What the page calls: the id as a query parameter, as it is. A browser resolves "." and
    # ".." path segments (%2E too) before it sends a request: an item named ".." was decided
    # as /v1/review/decision, a 404, and could never leave the queue.
    @router.get("/v1/review/view", tags=["review"], **PNG_ANSWER)
    async def view_file_query(
        item_id: str, view: str, kind: Literal["image", "heatmap"]
    ) -> FileResponse:
        return await view_file(item_id, view, kind)

    @router.post("/v1/review/decision", tags=["review"])
    async def decide_query(item_id: str, body: Decision) -> dict[str, Any]:
        return await decide(item_id, body)

    def workspace_tables() -> dict[str, pd.DataFrame]:
        if root is None:
            raise HTTPException(404, "no workspace (start the service with --workspace RUN_DIR)")
        # The answers name the workspace's files relative to it: they go to any client (the
        # page shows them), which is not told where the server keeps its files (they said
        # "workspace /srv/...: ..."); the operator knows the folder given to --workspace.
        missing = [p for p, _ in WORKSPACE.values() if not (root / p).is_file()]
        if missing:
            raise HTTPException(404, f"the workspace: missing {missing} (a demo results folder)")
        tables = {}
        for name, (path, columns) in WORKSPACE.items():
            try:
                table = read_table(root / path)
            except FileError as exc:  # its message starts with the file's absolute path
                text = str(exc).replace(f"{root}{os.sep}", "").replace(str(root), ".")
                raise HTTPException(422, f"the workspace's {text}") from None
            absent = [c for c in columns if c not in table.columns]
            if absent:  # the page reads them: a KeyError was a bare 500
                raise HTTPException(422, f"the workspace's {path} has no column {absent}")
            tables[name] = table
        return tables

    @router.get("/v1/workspace/series", tags=["forecast"])
    async def series() -> list[dict[str, str]]:
        tables = await asyncio.to_thread(workspace_tables)
        ranked = _by_forecast_demand(tables["plan"], tables["forecast"])
        return [{"item_id": str(r.item_id), "location_id": str(r.location_id)}
                for r in ranked.itertuples(index=False)]  # fmt: skip

    def one(tables: dict[str, pd.DataFrame], item_id: str, location_id: str) -> dict:
        out = {}
        for name, frame in tables.items():
            rows = frame[(frame["item_id"].astype(str) == item_id)
                         & (frame["location_id"].astype(str) == location_id)]  # fmt: skip
            out[name] = rows
        if out["plan"].empty:
            raise HTTPException(404, f"no plan for {item_id} at {location_id}")
        return out

    @router.get("/v1/workspace/series/{item_id}/{location_id}", tags=["forecast"])
    async def series_detail(item_id: str, location_id: str) -> dict[str, Any]:
        rows = one(await asyncio.to_thread(workspace_tables), item_id, location_id)
        plan = rows["plan"].iloc[0]
        shown = ["review", "service_level", "safety_stock", "reorder_point", "order_up_to",
                 "order_qty", "expected_fill_rate"]  # fmt: skip
        return {"plan": {k: _plain(plan[k]) for k in shown if k in plan.index}}

    @router.get(
        "/v1/workspace/series/{item_id}/{location_id}/chart.png", tags=["forecast"], **PNG_ANSWER
    )
    async def chart(item_id: str, location_id: str) -> Response:
        rows = one(await asyncio.to_thread(workspace_tables), item_id, location_id)
        png = await asyncio.to_thread(_chart, rows, item_id, location_id)
        return Response(png, media_type="image/png")

    # What the page calls: the ids as query parameters, as they are (an id may hold "/", which
    # a path segment cannot: it is decoded before routing, or "|" or any other character).
    @router.get("/v1/workspace/plan", tags=["forecast"])
    async def series_plan(item_id: str, location_id: str) -> dict[str, Any]:
        return await series_detail(item_id, location_id)

    @router.get("/v1/workspace/chart.png", tags=["forecast"], **PNG_ANSWER)
    async def series_chart(item_id: str, location_id: str) -> Response:
        return await chart(item_id, location_id)

    return router


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and np.isfinite(value):
        # Below 1, six significant digits (three decimals read a service level of 0.9995, which
        # a Policy cannot be, and a fill rate of 0.99996 as 1.0, a safety stock of 0.0004 as 0).
        return float(f"{value:.6g}") if abs(value) < 1 else round(value, 3)
    return value


def _by_forecast_demand(plan: pd.DataFrame, forecast: pd.DataFrame) -> pd.DataFrame:
    """The plan's rows, most forecast demand first: the median demand per day of the forecast
    the page charts (the report ranks its plan table by forecast demand too). The plan's
    ``demand_mean`` is the demand over each row's own protection interval (its lead time, plus
    the review period where reviewed weekly), so ranking by it listed a far FC's series first:
    the demo's first pick sold 8.2 units a day, one with 10.1 came sixth, and one with 4.3
    ranked above several with 8. A forecast without the median (a model's levels need not hold
    it) ranks by ``demand_mean``."""
    if "q0.5" not in forecast.columns or plan.empty:
        return plan.sort_values("demand_mean", ascending=False, kind="stable")
    ids = [forecast[k].astype(str) for k in KEYS]
    daily = pd.to_numeric(forecast["q0.5"], errors="coerce").groupby(ids).mean()
    keys = pd.MultiIndex.from_arrays([plan[k].astype(str) for k in KEYS])
    demand = daily.reindex(keys).to_numpy(dtype=float)
    # series without a forecast row (NaN) last, ties in the plan's own order
    order = np.argsort(-np.nan_to_num(demand, nan=-np.inf), kind="stable")
    return plan.iloc[order]


def _central_pairs(forecast: pd.DataFrame) -> list[tuple[str, str]]:
    """(lower, upper) quantile columns of the central intervals the table holds (levels q and
    1 - q), the widest first."""
    levels = {}
    for column in forecast.columns:
        if isinstance(column, str) and column.startswith("q"):
            try:
                levels[round(float(column[1:]), 6)] = column
            except ValueError:
                continue
    lower = sorted(q for q in levels if 0 < q < 0.5)
    return [(levels[q], levels[round(1 - q, 6)]) for q in lower if round(1 - q, 6) in levels]


def _chart(rows: dict[str, pd.DataFrame], item_id: str, location_id: str) -> bytes:
    """History and fan chart above, simulated on-hand (plan vs rule) below, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6.5))
    top, bottom = fig.subplots(2, 1, sharex=True)
    forecast = rows["forecast"].sort_values("date")
    dates = pd.to_datetime(forecast["date"])
    panel = rows["panel"].sort_values("date")
    history = panel[pd.to_datetime(panel["date"]) < dates.min()].tail(90)
    actual = panel[pd.to_datetime(panel["date"]) >= dates.min()]
    top.plot(pd.to_datetime(history["date"]), history["demand"], color="#333", lw=1, label="demand")
    top.plot(pd.to_datetime(actual["date"]), actual["demand"], color="#333", lw=1, ls=":",
             label="held-back demand")  # fmt: skip
    # The outer band is the widest central interval outside the 50% one that the forecast's
    # levels hold (90% for the default levels, 80% where they stop at 0.1 and 0.9), each named
    # in the legend: only q0.05..q0.95 or q0.1..q0.9 were looked for, and a model trained on
    # other levels (0.025 and 0.975: a 95% interval) was drawn as a median without any band.
    outer = next((p for p in _central_pairs(forecast) if float(p[0][1:]) < 0.25), None)
    for pair, alpha in ((outer, 0.2), (("q0.25", "q0.75"), 0.35)):
        if pair is not None and set(pair) <= set(forecast):
            lo, hi = pair
            width = round(100 * (float(hi[1:]) - float(lo[1:])))
            top.fill_between(dates, forecast[lo], forecast[hi], color="C0", alpha=alpha, lw=0,
                             label=f"{width}% interval")  # fmt: skip
    if "q0.5" in forecast:  # a model's quantile levels need not hold the median
        top.plot(dates, forecast["q0.5"], color="C0", lw=1.5, label="forecast median")
    # ids are text, not TeX: a "$" in an id would start math mode (or fail to parse)
    top.set_title(f"{item_id} @ {location_id}", parse_math=False)
    # what each axis plots, in its unit: the top one had no label (daily demand, next to the
    # bottom's stock levels, read as either)
    top.set_ylabel("demand (units per day)")
    top.legend(fontsize=8)
    # in date order, as the forecast and the panel above (a line drawn in file order zigzags)
    for rule, frame in rows["daily"].sort_values("date").groupby("rule"):
        (line,) = bottom.plot(pd.to_datetime(frame["date"]), frame["on_hand"], lw=1.3,
                              label=str(rule))  # fmt: skip
        out = frame[frame["unmet"] > 0]
        # in the rule's own colour: the markers took the next colour of the cycle, so a rule's
        # stockout days were drawn in a colour of no line (plan: orange against a blue line)
        bottom.plot(pd.to_datetime(out["date"]), out["on_hand"], "v", ms=5, color=line.get_color())
    bottom.set_ylabel("on hand (units, end of day)")
    bottom.legend(fontsize=8)
    fig.autofmt_xdate()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()
