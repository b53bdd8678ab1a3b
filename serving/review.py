"""The review queue: inspected items a person must decide, and their decisions, in SQLite.

An item scored ``review`` waits in the queue (oldest first) with its scores, reasons and the
paths of its view images and heatmaps. A person marks it ``pass`` or ``reject`` (with the
defect class); the decision is stored with who and when. Units waiting for review are held out
of sellable stock; a rejected unit stays out, a passed one goes back. A unit a station's verdict
rejected outright (``/v1/inspect``) is recorded too, in state ``rejected`` and with no decision
(it is not a person's label), so that it leaves sellable stock as well:
:meth:`ReviewStore.stock_adjustments` gives the next plan those counts. A person may still
decide such a unit (``queue(state="rejected")`` lists them): a pass overturns the station's
verdict and the unit goes back to sellable stock, a reject confirms it with the defect class.
Decided items become labels for retraining (``stockcast inspect train --feedback DB``).

The database is a setting: a path, or a ``sqlite:///path`` URL (SQLite is the embedded
default; the schema is plain SQL).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import shutil
import sqlite3
import threading
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vision.items import Item, ItemSet
from vision.schema import CLASS_NAMES

DECISIONS = ("pass", "reject")
SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    sku TEXT NOT NULL,
    location_id TEXT NOT NULL,
    product_id TEXT,
    scores TEXT NOT NULL,
    reasons TEXT NOT NULL,
    views TEXT NOT NULL,
    queued TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    model TEXT
);
CREATE TABLE IF NOT EXISTS decisions (
    item_id TEXT PRIMARY KEY REFERENCES items(item_id),
    decision TEXT NOT NULL CHECK (decision IN ('pass', 'reject')),
    defect TEXT,
    reviewer TEXT NOT NULL,
    decided TEXT NOT NULL
);
"""


class ReviewError(ValueError):
    """A decision that cannot be recorded (unknown item, already decided, bad class)."""


def database_path(url: str | Path) -> Path:
    """The file of a review database given as a path or a ``sqlite:///path`` URL."""
    text = str(url)
    return Path(text[len("sqlite:///") :] if text.startswith("sqlite:///") else text)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class ReviewStore:
    """The queue and the decisions in one SQLite database (created on first use)."""

    def __init__(self, url: str | Path, create: bool = True):
        """``create=False`` for readers (``plan --review-db``, ``inspect train --feedback``):
        the file must already be a review database, and nothing is written to it."""
        self.path = database_path(url)
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():  # SQLite would create an empty file there
            raise ReviewError(f"{self.path}: no such file")
        self._lock = threading.Lock()  # one writer at a time from the service's threads
        self._create = create
        self._file: tuple[int, int] | None = None  # (device, inode) of the file set up
        self._prepare()

    def _identity(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_dev, stat.st_ino

    def _prepare(self) -> None:
        """Check the database (a writer creates the tables and adds missing columns)."""
        create = self._create
        try:
            with self._open() as db:
                if create:
                    db.executescript(SCHEMA)
                missing = _missing_columns(db)
                if create and not missing and "model" not in _columns(db, "items"):
                    # A queue made before items recorded the package that scored them.
                    try:
                        db.execute("ALTER TABLE items ADD COLUMN model TEXT")
                    except sqlite3.OperationalError as exc:
                        # Another worker (serve --workers N) added it between the check and
                        # this: the queue is as wanted, not "not a review database".
                        if "duplicate column" not in str(exc):
                            raise
        except sqlite3.DatabaseError as exc:  # another kind of file, or a damaged database
            raise ReviewError(f"{self.path}: not a review database ({exc})") from None
        if missing:  # another application's SQLite file, or an empty one
            raise ReviewError(f"{self.path}: not a review database ({missing})")
        self._file = self._identity()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def _connect(self) -> sqlite3.Connection:
        # The file may have been replaced since it was set up (a queue archived and a new
        # one started, an older queue restored): a writer sets the new one up as a fresh
        # store would (it read "no such table" or "no column named model" until a restart).
        if self._create and self._identity() != self._file:
            self._prepare()
        return self._open()

    def enqueue(
        self,
        items: pd.DataFrame,
        views: dict[str, dict[str, dict[str, str]]],
        state: str = "pending",
    ) -> int:
        """Queue scored ``review`` items (``item_id, sku, location_id, product_id, reasons``,
        ``score_*`` columns and optionally ``model``, the package ``name/version`` that scored
        them, and ``errors``, why an inspection is incomplete, kept with the reasons);
        ``views[item_id][view]`` holds ``image`` and ``heatmap`` paths. Items already queued
        are left as they are. Returns the number added. ``state="rejected"`` records
        units a station rejected outright instead: no one reviews them, and they count as
        rejected units.

        An id already queued (or repeated in ``items``) for another SKU or location is another
        unit under the same name: a :class:`ReviewError` naming it, and nothing is queued (it
        would be left out without a word, never held nor reviewed). A unit without an
        ``item_id``, ``sku`` or ``location_id`` is a :class:`ReviewError` too, and nothing is
        queued. Keys are kept as the text every other table holds them by
        (:func:`kernels.io.key_text`: an id or SKU ``7.0`` of a column a missing cell made float
        is ``"7"``); a unit a queue written before held as ``"7.0"`` is still that row."""
        if state not in ("pending", "rejected"):
            raise ValueError(f"state: expected 'pending' or 'rejected', got {state!r}")
        from kernels.io import key_text

        scores = [c for c in items.columns if c.startswith("score_")]
        # Keys as every other table holds them: str() queued a float column's unit 7.0 as
        # "7.0" and its SKU 42.0 as "42.0", which `plan --review-db` matched to no inventory
        # row and `plan --rejected ITEMS` took for another unit than the batch's 7 (held
        # twice). A missing key was queued as "nan": a second such unit at the same SKU and
        # FC was then "already queued" and dropped without a word (never held nor reviewed).
        keys = {
            k: key_text(items[k].reset_index(drop=True)) for k in ("item_id", "sku", "location_id")
        }
        for column, values in keys.items():
            blank = [n for n, v in enumerate(values) if v is None or not str(v).strip()]
            if blank:
                raise ReviewError(
                    f"{column}: missing for {len(blank)} unit(s) (rows {blank[:5]}); a queued "
                    "unit needs its item_id, sku and location_id"
                )
        added = 0
        with self._lock, self._connect() as db:
            for n, row in enumerate(items.to_dict(orient="records")):
                item_id = keys["item_id"][n]
                unit = (keys["sku"][n], keys["location_id"][n])
                # A database written before keys were key_text holds a float column's unit 7.0
                # as "7.0" and its SKU 42.0 as "42.0": the same unit queued again is that row
                # (it was queued a second time, as "7", held twice and reviewed twice, and a
                # unit with a string id was refused for its SKU "42" against "42.0").
                old = (str(row["item_id"]), str(row["sku"]), str(row["location_id"]))
                if (
                    old[0] != item_id
                    and db.execute("SELECT 1 FROM items WHERE item_id = ?", (old[0],)).fetchone()
                ):
                    item_id = old[0]
                cursor = db.execute(
                    "INSERT OR IGNORE INTO items (item_id, sku, location_id, product_id, scores, "
                    "reasons, views, queued, model, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        item_id,
                        *unit,
                        None if pd.isna(row.get("product_id")) else str(row.get("product_id")),
                        json.dumps({c[len("score_") :]: _number(row[c]) for c in scores}),
                        _reasons(row),
                        json.dumps(
                            self._stored(views.get(item_id) or views.get(str(row["item_id"]), {}))
                        ),
                        _now(),
                        None if pd.isna(row.get("model")) else str(row.get("model")),
                        state,
                    ),
                )
                added += cursor.rowcount
                if cursor.rowcount == 0:
                    queued = db.execute(
                        "SELECT sku, location_id FROM items WHERE item_id = ?",
                        (item_id,),
                    ).fetchone()
                    # the exception rolls the whole batch back
                    if tuple(queued) not in (unit, old[1:]):
                        raise ReviewError(
                            f"item_id: {item_id!r} is queued for SKU "
                            f"{queued['sku']!r} at {queued['location_id']!r}; another unit "
                            f"(SKU {unit[0]!r} at {unit[1]!r}) cannot share its id"
                        )
        return added

    def enqueue_photos(
        self,
        item: Mapping[str, Any],
        images: Mapping[str, bytes],
        heatmaps: Mapping[str, bytes] | None = None,
        state: str = "pending",
    ) -> bool:
        """Queue one item a station scored ``review`` (``/v1/inspect``) with the photos it was
        scored on. ``item`` has ``item_id``, ``sku``, ``location_id`` and optionally
        ``product_id``, ``reasons`` (text), ``errors`` (text), ``scores`` (class ->
        probability) and ``model`` (the package ``name/version`` that scored it); ``images``
        and ``heatmaps`` map a view to its uploaded image and its heatmap overlay (PNG bytes).

        The photos are written upright as PNG under the database's folder
        (``photos/<id digest>-<nonce>/view<k>.png``, built under a temporary name), then the
        item is queued as :meth:`enqueue` queues it. Returns whether it was added: ``False``
        when the item already waits (its new photos are removed again); an id queued for
        another unit is a :class:`ReviewError` and nothing is kept. ``state="rejected"``
        records a unit the station rejected outright, with its photos, as :meth:`enqueue`
        does."""
        from PIL import Image

        from vision.images import IMAGE_FORMATS

        item_id = str(item["item_id"])
        digest = hashlib.sha256(item_id.encode()).hexdigest()[:20]
        # A fresh folder per request: two stations sending one id at once never share files.
        folder = self.path.resolve().parent / "photos" / f"{digest}-{uuid.uuid4().hex[:8]}"
        staging = folder.with_name(f".{folder.name}.tmp")
        staging.mkdir(parents=True)
        views: dict[str, dict[str, str]] = {}
        try:
            for k, (view, data) in enumerate(images.items()):
                # Files are named by position: a view name is the client's text, not a path.
                with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
                    picture = _as_queued(image)
                    # The file's colour profile goes with its pixels: transparency composited
                    # over black makes a new image without it, and a photo kept without it is
                    # shown to the reviewer, and read by --feedback, in other colours than
                    # the station scored (an Adobe RGB photo with alpha: 52 levels off).
                    profile = image.info.get("icc_profile")
                    picture.save(staging / f"view{k}.png", icc_profile=profile)
                heatmap = (heatmaps or {}).get(view)
                if heatmap:
                    (staging / f"view{k}_heatmap.png").write_bytes(heatmap)
                views[str(view)] = {
                    "image": str(folder / f"view{k}.png"),
                    "heatmap": str(folder / f"view{k}_heatmap.png") if heatmap else "",
                }
            staging.rename(folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        row = {
            "item_id": item_id,
            "sku": item["sku"],
            "location_id": item["location_id"],
            "product_id": item.get("product_id"),
            "reasons": item.get("reasons") or "",
            "errors": item.get("errors") or "",
            "model": item.get("model"),
            **{f"score_{c}": p for c, p in (item.get("scores") or {}).items()},
        }
        try:
            added = self.enqueue(pd.DataFrame([row]), {item_id: views}, state)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if not added:
            shutil.rmtree(folder, ignore_errors=True)
        return bool(added)

    def queue(self, limit: int = 100, state: str = "pending") -> list[dict[str, Any]]:
        """Items waiting for a person (``pending``), or the units stations rejected that no
        person has decided (``rejected``), oldest first."""
        if state not in ("pending", "rejected"):
            raise ReviewError(f"state: expected 'pending' or 'rejected', got {state!r}")
        with self._connect() as db:
            # ``queued`` is to the second: items queued within one (a scored table's batch, a
            # busy station) keep the order they came in (rowid), not their ids' text order.
            rows = db.execute(
                "SELECT * FROM items WHERE state = ? ORDER BY queued, rowid LIMIT ?",
                (state, int(limit)),
            ).fetchall()
        return [self._item(row) for row in rows]

    def item(self, item_id: str) -> dict[str, Any]:
        """The queued item ``item_id`` as a dict of its row, with its ``scores``, ``classes``
        and ``views`` (image paths made absolute); :class:`ReviewError` if it is not queued."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM items WHERE item_id = ?", (item_id,)).fetchone()
        if row is None:
            raise ReviewError(f"item_id: {item_id!r} is not in the review queue")
        return self._item(row)

    def decide(
        self, item_id: str, decision: str, reviewer: str, defect: str | None = None
    ) -> dict[str, Any]:
        """Record a person's decision; ``reject`` names the defect class, ``pass`` none. An
        item a station rejected outright may be decided too: a pass overturns the station (the
        unit is sellable again), a reject confirms it; either is a person's label."""
        if decision not in DECISIONS:
            raise ReviewError(f"decision: expected one of {list(DECISIONS)}, got {decision!r}")
        if decision == "pass" and defect not in (None, ""):  # was dropped: the item taken as good
            raise ReviewError(f"defect: a pass names no defect class, got {defect!r}")
        if not reviewer or not reviewer.strip():
            raise ReviewError("reviewer: who decided must be recorded")
        with self._lock, self._connect() as db:
            # The check and the write are one transaction that holds the write lock from the
            # start: the lock above only orders this process's threads, and another process
            # (`serve --workers N`) could otherwise decide the item between them.
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT state, scores FROM items WHERE item_id = ?", (item_id,)
            ).fetchone()
            if row is None:
                raise ReviewError(f"item_id: {item_id!r} is not in the review queue")
            if row["state"] not in ("pending", "rejected"):
                raise ReviewError(f"item_id: {item_id!r} was already decided")
            classes = item_classes(row["scores"])
            if decision == "reject" and defect not in classes:
                raise ReviewError(f"defect: a reject names one of {classes}, got {defect!r}")
            record = {
                "item_id": item_id,
                "decision": decision,
                "defect": defect if decision == "reject" else None,
                "reviewer": reviewer.strip(),
                "decided": _now(),
            }
            db.execute(
                "INSERT INTO decisions (item_id, decision, defect, reviewer, decided) "
                "VALUES (:item_id, :decision, :defect, :reviewer, :decided)",
                record,
            )
            db.execute("UPDATE items SET state = 'decided' WHERE item_id = ?", (item_id,))
        return record

    def decisions(self) -> pd.DataFrame:
        """Every decision with its item's SKU, location, view images (``views``: JSON, the
        paths as :meth:`item` gives them) and ``model``, the package that scored it (empty for
        items queued without one, or before queues recorded it)."""
        with self._connect() as db:
            # A database made before items recorded their model, read without changing it.
            model = "i.model" if "model" in _columns(db, "items") else "NULL AS model"
            frame = pd.read_sql_query(
                f"SELECT d.*, i.sku, i.location_id, i.product_id, i.views, {model} "
                "FROM decisions d JOIN items i USING (item_id) ORDER BY d.decided",
                db,
            )
        frame["views"] = [json.dumps(self._found(json.loads(v))) for v in frame["views"]]
        return frame

    # View files inside the database's folder are stored relative to it, so a folder built
    # under a temporary name and renamed into place (the demo) or moved keeps its images.
    def _stored(self, views: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        base = self.path.resolve().parent
        out: dict[str, dict[str, str]] = {}
        for view, files in views.items():
            out[view] = {}
            for kind, text in files.items():
                path = Path(text).resolve() if text else None
                if path is not None:
                    # Outside the folder: the absolute path. A relative one given (to the
                    # working directory) was read back relative to the database's folder.
                    inside = path.is_relative_to(base)
                    text = path.relative_to(base).as_posix() if inside else str(path)
                out[view][kind] = text
        return out

    def _found(self, views: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        base = self.path.resolve().parent
        return {
            view: {kind: str(base / text) if text else text for kind, text in files.items()}
            for view, files in views.items()
        }  # an absolute path stays as it is: base / "/abs" is "/abs"

    def _item(self, row: sqlite3.Row) -> dict[str, Any]:
        item = dict(row)
        item["scores"] = json.loads(item["scores"])
        item["classes"] = item_classes(item["scores"])
        item["views"] = self._found(json.loads(item["views"]))
        return item

    def stock_adjustments(self) -> pd.DataFrame:
        """Per (SKU, location): units out of sellable stock for the next plan: ``review_units``
        still waiting, ``rejected_units`` rejected by a person or by a station's verdict
        (``item_id`` is the SKU, as ``kernels.plan(rejected=...)`` reads it)."""
        with self._connect() as db:
            frame = pd.read_sql_query(
                "SELECT i.sku AS item_id, i.location_id, "
                "SUM(i.state = 'pending') AS review_units, "
                "SUM(COALESCE(d.decision = 'reject', 0) OR i.state = 'rejected') "
                "AS rejected_units "
                "FROM items i LEFT JOIN decisions d USING (item_id) "
                "GROUP BY i.sku, i.location_id ORDER BY i.sku, i.location_id",
                db,
            )
        return frame.astype({"review_units": int, "rejected_units": int})

    def units(self) -> pd.DataFrame:
        """One row per unit the database holds: ``item_id`` (the unit), ``sku``,
        ``location_id`` and ``verdict`` as it counts for stock, the same rule as
        :meth:`stock_adjustments`: ``review`` while it waits for a person, ``reject`` when a
        person or a station rejected it (and no person passed it since), ``pass`` when a person
        passed it."""
        with self._connect() as db:
            return pd.read_sql_query(
                "SELECT i.item_id, i.sku, i.location_id, "
                "CASE WHEN i.state = 'pending' THEN 'review' "
                "WHEN COALESCE(d.decision = 'reject', 0) OR i.state = 'rejected' THEN 'reject' "
                "ELSE 'pass' END AS verdict "
                "FROM items i LEFT JOIN decisions d USING (item_id) ORDER BY i.rowid",
                db,
            )


def inspection_holds(
    scored: pd.DataFrame,
    store: ReviewStore,
    sku_column: str = "product_id",
    *,
    hold_review: bool = False,
    name: str = "scored table",
) -> pd.DataFrame:
    """Per (SKU, location): the units an inspection batch and a review database take out of
    sellable stock, each unit counted once (``kernels.plan(rejected=..., hold_review=True)``
    reads the result).

    ``scored`` is an items table of ``stockcast inspect score`` (one row per unit: ``item_id``,
    ``verdict``, ``location_id`` and the SKU in ``sku_column``, checked as
    :func:`vision.tables.rejected_units` checks it). A unit whose ``item_id`` the database also
    holds counts by the database's state (:meth:`ReviewStore.units`): waiting for a person, it
    is held (``review_units``); rejected by a person or a station, it is rejected; passed by a
    person, it is sellable again, whatever the batch's verdict. Added together, the batch's
    per-SKU counts and the database's took such a unit off twice, and kept a station's reject
    that a person overturned. The other units of the batch count by their verdict (its
    ``review`` units are held with ``hold_review`` only, as without a database), and the
    database's other units by their state. An id the two hold for another SKU or location is
    another unit under the same name: an error naming it, and so is a unit without an
    ``item_id``. Errors name the table ``name``.
    """
    from kernels.io import key_text
    from vision.tables import rejected_units

    frame = scored.reset_index(drop=True)
    checked = rejected_units(frame, sku_column, name=name)  # columns, verdicts, one row per unit
    missing = [c for c in ("item_id", "location_id") if c not in frame.columns]
    if missing or (len(frame) and "location_id" not in checked.columns):
        what = f"no column(s) {missing}" if missing else "no location_id values"
        raise ValueError(
            f"{name}: {what}; with a review database the items table needs an item_id per "
            "unit (to find the units both hold) and a location_id (the database counts units "
            "per SKU and location)"
        )
    ids = pd.Series(key_text(frame["item_id"]), dtype=object)
    # A unit without an id cannot be found in the database: it was counted by its verdict, and
    # counted again if the database holds it (a unit waiting for review held twice).
    blank = (ids.isna() | (ids.astype(str).str.strip() == "")).to_numpy()
    if blank.any():
        raise ValueError(
            f"{name}: item_id is empty at rows {np.flatnonzero(blank)[:5].tolist()}; with a "
            "review database every unit needs its item_id (to find the units both hold)"
        )
    queue = store.units()
    both = ids.isin(set(queue["item_id"])).to_numpy()
    if both.any():
        batch = pd.DataFrame(
            {
                "item_id": ids[both].to_numpy(),
                "sku": key_text(frame.loc[both, sku_column]),
                "location_id": key_text(frame.loc[both, "location_id"]),
            }
        )
        held = batch.merge(queue, on="item_id", suffixes=("", "_db"))
        other = (held["sku"] != held["sku_db"].astype(str)) | (
            held["location_id"] != held["location_id_db"].astype(str)
        )
        if other.any():
            first = held[other].iloc[0]
            raise ValueError(
                f"{name}: item_id {first['item_id']!r} is SKU {first['sku']!r} at "
                f"{first['location_id']!r} here and SKU {first['sku_db']!r} at "
                f"{first['location_id_db']!r} in the review database; one id, one unit"
            )
    columns = ["item_id", "location_id", "rejected_units", "review_units"]
    parts = []
    if (~both).any():
        counts = rejected_units(frame[~both], sku_column, name=name)[columns]
        if not hold_review:  # the batch's review units are held on request, as without a database
            counts["review_units"] = 0
        parts.append(counts)
    if len(queue):
        parts.append(
            queue.assign(
                rejected_units=(queue["verdict"] == "reject").astype(int),
                review_units=(queue["verdict"] == "review").astype(int),
            )
            .drop(columns=["item_id", "verdict"])
            .rename(columns={"sku": "item_id"})[columns]
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c.endswith("_id") else int)
                             for c in columns})  # fmt: skip
    table = pd.concat(parts, ignore_index=True).astype({"item_id": str, "location_id": str})
    return table.groupby(["item_id", "location_id"], as_index=False, sort=True)[
        ["rejected_units", "review_units"]
    ].sum()


def _reasons(row: Mapping[str, Any]) -> str:
    """The reasons a queued item shows, with why its inspection is incomplete (``errors``): the
    review page said "incomplete inspection" alone, not which view was missing or that colour
    and size went unchecked (no product id, or one the catalog lacks), which the reviewer is
    then the one to check."""
    reasons = str(row.get("reasons") or "")
    errors = row.get("errors")
    if not isinstance(errors, str) or not errors.strip():
        return reasons
    return f"{reasons} ({errors})" if reasons else errors


def item_classes(scores: str | dict | None) -> list[str]:
    """The defect classes a queued item can be rejected as: the camera tunnel's
    (``schema.CLASS_NAMES``) for an item scored on some of them or on none, else the classes
    its model scored it on (a class-folder model's own)."""
    scored = list(json.loads(scores) if isinstance(scores, str) else scores or {})
    return list(CLASS_NAMES) if set(scored) <= set(CLASS_NAMES) else scored


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def _missing_columns(db: sqlite3.Connection) -> str:
    """What the review tables lack in ``db`` ("" when both are complete)."""
    wanted = {
        "items": ("item_id", "sku", "location_id", "product_id", "scores", "reasons", "views",
                  "queued", "state"),
        "decisions": ("item_id", "decision", "defect", "reviewer", "decided"),
    }  # fmt: skip
    problems = []
    for table, columns in wanted.items():
        have = _columns(db, table)
        if not have:
            problems.append(f"no table {table!r}")
        elif lacking := [c for c in columns if c not in have]:
            problems.append(f"table {table!r} lacks {lacking}")
    return "; ".join(problems)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _as_queued(image: Any) -> Any:
    """A photo's pixels as the queue stores them: upright, opaque, grey or RGB."""
    from vision.images import opaque, png_transparency, upright

    picture = opaque(upright(png_transparency(image)))
    if picture.mode not in ("L", "RGB"):
        # A grey photo stays grey: its transparency composited over black made it RGBA, and a
        # grey model reads grey files only (an RGB copy left the decision out of --feedback as
        # an unreadable view).
        picture = picture.convert("L" if image.mode == "L" else "RGB")
    return picture


def _pixel_digest(path: Path) -> str | None:
    """sha256 of an image file's pixels as the queue stores them (None when unreadable)."""
    from PIL import Image

    from vision.images import IMAGE_FORMATS, UNREADABLE

    try:
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            picture = _as_queued(image)
            digest = hashlib.sha256(f"{picture.mode} {picture.size}".encode())
            digest.update(picture.tobytes())
    except UNREADABLE:
        return None
    return digest.hexdigest()


class _Photographed:
    """The view images of the training items, to find a decided item that is one of them (the
    same bytes, or else the same pixels, under every view it has): file sizes first, and a file
    is hashed only when a decided item's view has its size; pixels by displayed size, each
    training image decoded at most once. The station stores a photo's pixels as PNG: a
    training item's JPEG sent to it again never has the same bytes."""

    def __init__(self, items: list[Item]):
        self._files: dict[tuple[str, int], list[tuple[int, Path]]] = {}
        for index, item in enumerate(items):
            for view, path in item.views.items():
                try:
                    size = Path(path).stat().st_size
                except OSError:
                    continue
                self._files.setdefault((view, size), []).append((index, Path(path)))
        self._digests: dict[Path, str | None] = {}
        # Per (view, size): the items holding each digest, made when a decided item first
        # needs that size. Compared file by file, every decided item read every training file
        # of its size: with images of one size (a camera's BMPs) decisions x items steps.
        self._by_digest: dict[tuple[str, int], dict[str, set[int]]] = {}
        # Per (view, displayed size): the items holding each pixel digest, made as needed.
        self._by_pixels: dict[tuple[str, tuple[int, int]], dict[str, set[int]]] = {}
        self._sizes: dict[Path, tuple[int, int] | None] = {}  # headers read once

    def _digest(self, path: Path) -> str | None:
        if path not in self._digests:
            try:
                self._digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                self._digests[path] = None
        return self._digests[path]

    def _holding_digest(self, view: str, size: int, digest: str) -> set[int]:
        key = (view, size)
        if key not in self._by_digest:
            table: dict[str, set[int]] = {}
            for index, other in self._files.get(key, []):
                if (found := self._digest(other)) is not None:
                    table.setdefault(found, set()).add(index)
            self._by_digest[key] = table
        return self._by_digest[key].get(digest, set())

    def _same_bytes(self, view: str, path: Path) -> set[int]:
        digest = self._digest(path)
        return set() if digest is None else self._holding_digest(view, path.stat().st_size, digest)

    def _same_pixels(self, view: str, path: Path) -> set[int]:
        from vision.images import image_size

        size = image_size(path)
        digest = _pixel_digest(path) if size is not None else None
        if digest is None:
            return set()
        key = (view, size)
        if key not in self._by_pixels:
            table: dict[str, set[int]] = {}
            for (named, _), files in self._files.items():
                if named != view:
                    continue
                for index, other in files:
                    if other not in self._sizes:
                        self._sizes[other] = image_size(other)
                    if self._sizes[other] == size and (found := _pixel_digest(other)):
                        table.setdefault(found, set()).add(index)
            self._by_pixels[key] = table
        return self._by_pixels[key].get(digest, set())

    def holding(self, views: dict[str, Path]) -> int | None:
        """The first training item whose images are those of ``views``, or None."""
        for same in (self._same_bytes, self._same_pixels):
            found: set[int] | None = None
            for view, path in views.items():
                matched = same(view, path)
                found = matched if found is None else found & matched
                if not found:
                    break
            if found:
                return min(found)
        return None


def with_feedback(item_set: ItemSet, store: ReviewStore) -> tuple[ItemSet, int]:
    """``item_set`` plus the items a person decided, labelled by the decision (``pass``: no
    defect; ``reject``: its defect class), for retraining. Items whose view images are gone are
    left out, and so are rejects of a class the training data lacks and items the training data
    already holds (the same image files, bytes or pixels: one unit is one example, and a copy
    could sit in the validation split that calibrates while the other trains); a warning counts each
    kind.
    Returns the set and how many decided items it added."""
    classes = list(item_set.class_names)
    photographed = _Photographed(item_set.items)
    added, unknown, already, gone = [], [], [], []
    for row in store.decisions().itertuples(index=False):
        files = json.loads(row.views)
        views = {
            view: Path(paths["image"])
            for view, paths in files.items()
            if paths.get("image") and Path(paths["image"]).is_file()
        }
        if not views:
            named = [p["image"] for p in files.values() if p.get("image")]
            gone.append((str(row.item_id), named[0] if named else None))
            continue
        held = photographed.holding(views)
        if held is not None:
            already.append((str(row.item_id), item_set.items[held].item_id))
            continue
        labels = np.zeros(len(classes), dtype=np.float32)
        if row.decision == "reject":
            if row.defect not in classes:  # all zeros would teach the model it is good
                unknown.append(str(row.item_id))
                continue
            labels[classes.index(row.defect)] = 1.0
        added.append(
            Item(
                item_id=f"review-{row.item_id}",
                views=views,
                product_id=row.product_id,
                location_id=row.location_id,
                labels=labels,
            )
        )
    if unknown:
        warnings.warn(
            f"{store.path}: {len(unknown)} rejected items name a defect class the training data "
            f"does not have ({classes}) and are left out, first {unknown[0]!r}",
            stacklevel=2,
        )
    if already:
        warnings.warn(
            f"{store.path}: {len(already)} decided items are already in the training data (the "
            f"same images) and are not added again, first {already[0][0]!r} (item "
            f"{already[0][1]!r} of {item_set.root})",
            stacklevel=2,
        )
    if gone:
        item_id, path = gone[0]
        warnings.warn(
            f"{store.path}: {len(gone)} decided items have none of their view images any more "
            f"and are left out, first {item_id!r}"
            + (f" (no file {path})" if path else " (no image recorded)"),
            stacklevel=2,
        )
    merged = dataclasses.replace(item_set, items=[*item_set.items, *added])
    return merged, len(added)
