"""Scored tables of inspection, built the same way by every engine (torch-free).

The PyTorch path (:class:`vision.scoring.Scorer`) and the onnxruntime path
(:class:`serving.runtime.inspection.InspectionPackage`) turn their model outputs into
probabilities and hand them, batch by batch, to a :class:`PredictionCollector` (which masks what
was not inspected and draws the heatmap overlays); :func:`score_tables` makes the tables and
:class:`ScoreOutputs` writes them. Tables (CSV or Parquet):

*items* — one row per item: ``item_id``, ``product_id``, ``location_id``, ``verdict``
(``pass``/``reject``/``review``), ``reasons`` (classes that fired, ``;``-separated), ``status``
(``ok``; ``partial`` when a view, the catalog reference or a label row is missing; ``failed``
when no view could be read), ``views_scored``, ``missing_views``, ``errors``, and
``any_defect`` (the probability of at least one defect, ``1 - prod(1 - p_k)``: one score
per item whatever the defect, for ranking and its AUROC; the verdict itself comes from the
per-class thresholds) and ``score_<class>`` (probability) for every class.

*views* — one row per item and view slot: ``item_id``, ``view``, ``status`` (``ok``, ``missing``,
``unreadable``: corrupt, truncated, of a wrong mode or smaller than the minimum view size),
``error``, ``score_<class>``, ``heatmap`` (PNG path of the class-activation
overlay for ``heatmap_class``: of the classes that fired for the item, the one this view scores
highest; the view's highest-scoring class when none fired) and the item's ``verdict``.

Models that use a catalog also report what they measured: ``measured_color`` (``#RRGGBB``; a
grey ``L`` model sees brightness only, so its colour is the grey level of what it measured) and
``measured_width_cm``/``measured_height_cm``/``measured_depth_cm``, to compare with the catalog.

A rejected unit leaves sellable stock: :func:`rejected_units` turns an items table into
per-SKU counts for the inventory position (there ``item_id`` is the SKU, i.e. the tunnel's
``product_id``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kernels.io import (
    FileError,
    atomic_path,
    check_writable,
    key_text,
    read_table,
    table_kind,
    write_table_as,
)
from kernels.runfolder import building, writer_lock
from vision.calibration import Thresholds, verdicts
from vision.catalog import ATTRIBUTES, rgb_to_hex
from vision.heatmap import save_overlay
from vision.items import CatalogHandling, Item, inspected_completely
from vision.metrics import any_defect
from vision.schema import score_column


@dataclass
class Predictions:
    """Model outputs for a dataset, aligned with its items."""

    item_probs: np.ndarray  # (items, classes); NaN where no view could be read
    view_probs: np.ndarray  # (items, views, classes); NaN for missing/unreadable views
    view_mask: np.ndarray  # (items, views)
    attributes: np.ndarray  # (items, 6) measured RGB in [0, 1] and dimensions / size scale
    errors: list[list[str]]
    view_errors: list[dict[str, str]]
    heatmaps: list[dict[str, tuple[str, str]]]  # per item: view -> (path, class)


#: The longest name :func:`safe_name` keeps before its hash: a folder name may be 255 bytes, and
#: one with a replaced character would otherwise grow past that limit with the hash.
SAFE_NAME_CHARS = 200


def safe_name(item_id: str) -> str:
    """A file name for an item id (a short hash is added when characters were replaced or the
    name was shortened)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", item_id).strip("._") or "item"
    if safe != item_id or len(safe) > SAFE_NAME_CHARS:
        safe = safe[:SAFE_NAME_CHARS] + "-" + hashlib.sha1(item_id.encode()).hexdigest()[:8]
    return safe


def heatmap_class(
    item_probs: np.ndarray, view_probs: np.ndarray, thresholds: Thresholds | None
) -> int:
    """The class a view's heatmap shows: its highest view score among the classes that fired
    for the item (above their review thresholds), so the overlay explains the verdict; without
    a fired class (or thresholds), the view's highest score."""
    fired = (
        item_probs > thresholds.review
        if thresholds is not None and np.isfinite(item_probs).all()
        else np.zeros(len(item_probs), dtype=bool)
    )
    candidates = np.where(fired, view_probs, -np.inf)
    return int(np.argmax(candidates if fired.any() else view_probs))


class PredictionCollector:
    """Gathers an engine's outputs batch by batch into :class:`Predictions`.

    With ``heatmap_dir``, one overlay PNG per inspected view is written under it (see
    :func:`heatmap_class` for the class shown) and reported under ``heatmap_name`` (default the
    same folder), so heatmaps can be staged in a folder renamed into place later.
    """

    def __init__(
        self,
        class_names: Sequence[str],
        view_names: Sequence[str],
        heatmap_dir: str | Path | None = None,
        heatmap_name: str | Path | None = None,
        thresholds: Thresholds | None = None,
    ):
        self.class_names = tuple(class_names)
        self.view_names = tuple(view_names)
        self.heatmap_dir = Path(heatmap_dir) if heatmap_dir is not None else None
        self.shown = Path(heatmap_name if heatmap_name is not None else heatmap_dir or ".")
        self.thresholds = thresholds
        self._parts: dict[str, list[np.ndarray]] = {
            "item_probs": [], "view_probs": [], "view_mask": [], "attributes": []
        }  # fmt: skip
        self.errors: list[list[str]] = []
        self.view_errors: list[dict[str, str]] = []
        self.heatmaps: list[dict[str, tuple[str, str]]] = []

    @property
    def wants_heatmaps(self) -> bool:
        return self.heatmap_dir is not None

    def add(
        self,
        item_ids: Sequence[str],
        item_probs: np.ndarray,
        view_probs: np.ndarray,
        view_mask: np.ndarray,
        attributes: np.ndarray,
        errors: Sequence[list[str]],
        view_errors: Sequence[dict[str, str]],
        maps: np.ndarray | None = None,
        pixels: np.ndarray | None = None,
    ) -> None:
        """One batch: probabilities ``(B, K)`` and ``(B, V, K)``, the view mask ``(B, V)``,
        the measured attributes ``(B, 6)``, and for heatmaps the class-activation ``maps``
        (logits, ``(B, V, K, h, w)``) and the model's input ``pixels`` (uint8 ``(B, V, S, S,
        3)``)."""
        m = np.asarray(view_mask)
        p_item = np.array(item_probs, dtype=np.float64)
        p_view = np.array(view_probs, dtype=np.float64)
        measured = np.array(attributes, dtype=np.float64)
        p_view[m == 0] = np.nan
        p_item[m.sum(1) == 0] = np.nan
        measured[m.sum(1) == 0] = np.nan
        for name, value in (
            ("item_probs", p_item), ("view_probs", p_view), ("view_mask", m),
            ("attributes", measured),
        ):  # fmt: skip
            self._parts[name].append(value)
        self.errors += list(errors)
        self.view_errors += list(view_errors)
        for b, item_id in enumerate(item_ids):
            drawn: dict[str, tuple[str, str]] = {}
            if self.heatmap_dir is not None:
                if maps is None or pixels is None:
                    raise ValueError("heatmaps need the maps and the pixels of the batch")
                for v, view in enumerate(self.view_names):
                    if m[b, v] == 0:
                        continue
                    k = heatmap_class(p_item[b], p_view[b, v], self.thresholds)
                    name = Path(safe_name(item_id)) / f"{view}.png"
                    save_overlay(self.heatmap_dir / name, pixels[b, v], maps[b, v, k])
                    drawn[view] = (str(self.shown / name), self.class_names[k])
            self.heatmaps.append(drawn)

    def result(self) -> Predictions:
        n_classes, n_views = len(self.class_names), len(self.view_names)
        empty = {
            "item_probs": (0, n_classes),
            "view_probs": (0, n_views, n_classes),
            "view_mask": (0, n_views),
            "attributes": (0, ATTRIBUTES),
        }
        arrays = {
            name: np.concatenate(parts) if parts else np.zeros(empty[name])
            for name, parts in self._parts.items()
        }
        return Predictions(
            **arrays, errors=self.errors, view_errors=self.view_errors, heatmaps=self.heatmaps
        )


def score_tables(
    items: Sequence[Item],
    pred: Predictions,
    class_names: Sequence[str],
    view_names: Sequence[str],
    thresholds: Thresholds,
    catalog: CatalogHandling,
    image_mode: str = "RGB",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The items and views tables (see the module docstring) of ``items`` scored as ``pred``
    by a model reading ``image_mode`` pictures."""
    scored = pred.view_mask.sum(1).astype(int)
    status = np.where(
        scored == 0,
        "failed",
        np.where([not inspected_completely(e) for e in pred.errors], "partial", "ok"),
    )
    verdict, reasons = verdicts(pred.item_probs, thresholds, complete=status == "ok")
    table = pd.DataFrame(
        {
            "item_id": [it.item_id for it in items],
            "product_id": [it.product_id for it in items],
            "location_id": [it.location_id for it in items],
            "verdict": verdict,
            "reasons": reasons,
            "status": status,
            "views_scored": scored,
            "missing_views": [
                ";".join(v for v in view_names if e.get(v) == "missing") for e in pred.view_errors
            ],
            "errors": [" | ".join(e) for e in pred.errors],
        }
    )
    table["any_defect"] = any_defect(pred.item_probs)
    for k, name in enumerate(class_names):
        table[score_column(name)] = pred.item_probs[:, k]
    if catalog.mode == "reference":
        # What the model measured, for a person checking a colour or size call.
        rgb = np.clip(np.nan_to_num(pred.attributes[:, :3]) * 255, 0, 255)
        if image_mode == "L":
            # A grey camera sees brightness only: the hue of its measured colour is the catalog
            # colour it guessed from that (a purple unit of a red product's brightness read as
            # red), so the grey level is what it reports (ITU-R 601-2 luma, as Pillow's "L").
            rgb = np.repeat(rgb @ np.array([[0.299], [0.587], [0.114]]), 3, axis=1)
        table["measured_color"] = [
            rgb_to_hex(c) if np.isfinite(a).all() else ""
            for c, a in zip(rgb, pred.attributes[:, :3])
        ]
        for k, name in enumerate(("width_cm", "height_cm", "depth_cm")):
            table[f"measured_{name}"] = np.round(pred.attributes[:, 3 + k] * catalog.size_scale, 2)
    rows = []
    for i, item in enumerate(items):
        for v, view in enumerate(view_names):
            err = pred.view_errors[i].get(view, "")
            row: dict[str, Any] = {
                "item_id": item.item_id,
                "view": view,
                "status": "ok"
                if pred.view_mask[i, v]
                else ("missing" if err == "missing" else "unreadable"),
                "error": "" if err == "missing" else err,
            }
            for k, name in enumerate(class_names):
                row[score_column(name)] = pred.view_probs[i, v, k]
            path, cls = pred.heatmaps[i].get(view, ("", ""))
            row.update(heatmap=path, heatmap_class=cls, verdict=verdict[i])
            rows.append(row)
    return table, pd.DataFrame(rows)


_TABLE_ENDINGS = (".csv.gz", ".csv", ".parquet", ".pq")

#: How the scored tables of a CSV or parquet file read back (ids stay text, "" stays "").
READ_OPTIONS: dict[str, Any] = {
    "dtype": {"item_id": str, "product_id": str, "location_id": str},
    "keep_default_na": False,
    "na_values": [""],
}


def _split_suffix(out: Path) -> tuple[str, str]:
    name = out.name
    for ending in _TABLE_ENDINGS:
        if name.lower().endswith(ending):
            return name[: -len(ending)], name[-len(ending) :]
    return out.stem, out.suffix


def views_path(out: str | Path) -> Path:
    """Where the per-view table goes beside an items table: ``<stem>.views<suffix>``."""
    out = Path(out)
    stem, suffix = _split_suffix(out)
    return out.with_name(f"{stem}.views{suffix}")


def default_heatmap_dir(out: str | Path) -> Path:
    """The heatmap folder beside an items table: ``<stem>_heatmaps``."""
    out = Path(out)
    return out.with_name(f"{_split_suffix(out)[0]}_heatmaps")


@dataclass
class ScoreOutputs:
    """Where scoring writes: an items table, the views table beside it, a heatmap folder.

    They appear together or not at all: :meth:`publishing` stages the heatmaps in a folder
    renamed into place and writes each table to a temporary file renamed at the end, so a
    failure or Ctrl-C part-way leaves none of them (and earlier outputs as they were).
    """

    items: Path | None = None
    views: Path | None = None
    heatmaps: Path | None = None

    @classmethod
    def plan(
        cls,
        out: str | Path | None = None,
        heatmap_dir: str | Path | None = None,
        heatmaps: bool = True,
    ) -> ScoreOutputs:
        """Tables at ``out`` (and ``views_path(out)``); heatmaps in ``heatmap_dir``, by default
        ``<stem>_heatmaps`` beside ``out`` (none without ``out``, or with ``heatmaps=False``)."""
        out = Path(out) if out is not None else None
        folder = None
        if heatmaps:
            folder = Path(heatmap_dir) if heatmap_dir is not None else None
            if folder is None and out is not None:
                folder = default_heatmap_dir(out)
        return cls(out, views_path(out) if out is not None else None, folder)

    def check(self, overwrite: bool = False) -> None:
        """Refuse, naming the path, outputs that could not be written, before any work."""
        for table in (self.items, self.views):
            if table is not None:
                table_kind(table)
                check_writable(table)
        if self.heatmaps is not None:
            check_writable(self.heatmaps, folder=True)
            # The heatmap folder is published whole, replacing what the path held, so a table
            # written inside it would be removed after it was reported written.
            for table in (self.items, self.views):
                if table is not None and table.resolve().is_relative_to(self.heatmaps.resolve()):
                    raise FileError(
                        f"{table}: inside the heatmap folder {self.heatmaps}, which is replaced "
                        "whole; write the tables elsewhere or choose another --heatmap-dir"
                    )
            if not overwrite and self.heatmaps.is_dir() and any(self.heatmaps.iterdir()):
                raise FileError(
                    f"{self.heatmaps}: heatmap folder exists; choose another (--heatmap-dir) or "
                    "replace it (--overwrite)"
                )

    @contextmanager
    def publishing(
        self, overwrite: bool = False
    ) -> Iterator[tuple[Path | None, Callable[[pd.DataFrame, pd.DataFrame], None]]]:
        """Yield ``(staging heatmap folder or None, write(items, views))``; the outputs are
        renamed into place when the block succeeds and removed when it fails."""
        self.check(overwrite)
        with ExitStack() as stack:
            staged: list[os.stat_result] = []

            def heatmaps_published() -> bool:
                # Renamed into place (a Ctrl-C came while the old folder was removed): the
                # tables renamed before it are the ones its views table names.
                folder = self.heatmaps
                if not staged or folder is None or not folder.is_dir():
                    return False
                return os.path.samestat(staged[0], os.stat(folder))

            if self.items is not None:
                # Two writers of one items table: without heatmaps (or with another heatmap
                # folder each) no lock kept them apart, and one's items table could stand
                # beside the other's views table. Held until every output is in place.
                stack.enter_context(writer_lock(self.items))
            # Entered first, left last: the tables are renamed one by one and the heatmap
            # folder after them, so a failure at a later one puts back the earlier ones.
            stack.enter_context(
                _restored_on_failure([self.items, self.views], unless=heatmaps_published)
            )
            staging = None
            if self.heatmaps is not None:
                staging = stack.enter_context(building(self.heatmaps, overwrite=overwrite))
                staged.append(os.stat(staging))

            def write(items: pd.DataFrame, views: pd.DataFrame) -> None:
                for frame, path in ((views, self.views), (items, self.items)):
                    if path is not None:
                        write_table_as(frame, stack.enter_context(atomic_path(path)), path)

            yield staging, write


@contextmanager
def _restored_on_failure(
    paths: Sequence[Path | None], unless: Callable[[], bool] = lambda: False
) -> Iterator[None]:
    """Keep each file of ``paths`` as it is (a hard link beside it, else a copy) while the
    block replaces them: when the block fails (and ``unless()`` is false: every output was
    published before the failure), each is put back, or removed where there was none before,
    so that files published together are not left half old and half new."""
    kept: dict[Path, Path | None] = {}
    try:
        for path in (p for p in paths if p is not None):
            copy = None
            if path.is_file():
                copy = path.with_name(f".{path.name}.previous")
                copy.unlink(missing_ok=True)
                try:
                    os.link(path, copy)
                except OSError:  # a file system without hard links
                    shutil.copy2(path, copy)
            kept[path] = copy
        yield
    except BaseException:
        if not unless():
            for path, copy in kept.items():
                if copy is not None:
                    os.replace(copy, path)
                else:
                    path.unlink(missing_ok=True)
        raise
    finally:
        for copy in kept.values():
            if copy is not None:
                copy.unlink(missing_ok=True)


def rejected_units(
    scored: pd.DataFrame | str | Path, sku_column: str = "product_id", *, name: str | None = None
) -> pd.DataFrame:
    """Per SKU (and location when scored items carry one): units inspected, rejected, in review.

    The result uses the inventory-position names: ``item_id`` (the SKU, from ``sku_column``),
    ``location_id`` (if present), ``inspected_units``, ``rejected_units``, ``review_units``,
    ``passed_units``. Subtract ``rejected_units`` from ``on_hand``; ``review_units`` are held
    until a person decides. Errors name the table as ``name`` (default: its path, or
    "scored table"). To count a batch together with a review database that holds some of its
    units, see :func:`serving.review.inspection_holds`.
    """
    if isinstance(scored, str | Path):
        # The SKU column is read as text too (READ_OPTIONS names only the tables' own ids): a
        # CSV's "--sku-column sku" read SKU 0007 as the number 7, so its units were counted for
        # SKU "7" (another SKU's stock, or no inventory row) and merged with those of SKU "7".
        options = {**READ_OPTIONS, "dtype": {**READ_OPTIONS["dtype"], sku_column: str}}
        frame, where = read_table(scored, **options), str(scored)
    else:
        # Counted by position: a table put together from several (pd.concat) repeats its row
        # labels, which the cross-tabulation below would align on.
        frame, where = scored.reset_index(drop=True), "scored table"
    where = where if name is None else name
    for column in ("verdict", sku_column):
        if column not in frame.columns:
            raise ValueError(f"{where}: missing column {column!r}")
    # Items are named by item_id where the table has one, else by row (a hand-made table).
    names = np.asarray(
        frame["item_id"].astype(str)
        if "item_id" in frame.columns
        else [f"row {row}" for row in range(len(frame))],
        dtype=object,
    )
    missing = frame[sku_column].isna() | (frame[sku_column].astype(str).str.strip() == "")
    if missing.any():
        raise ValueError(
            f"{where}: column {sku_column!r} is empty for items "
            f"{names[missing.to_numpy()][:5].tolist()}"
        )
    # One unit, one count: an item inspected twice (tables of two passes put together) would
    # leave stock twice, or be held and rejected at once; which of its rows is the latest the
    # table does not say, so the caller keeps one.
    if "item_id" in frame.columns:
        twice = pd.Series(names).duplicated(keep=False).to_numpy()
        if twice.any():
            shown = sorted(set(names[twice].tolist()))
            raise ValueError(
                f"{where}: item_id {shown[:5]} appear more than once; keep one row per unit "
                "(its latest inspection)"
            )
    # Every unit is counted as one of the three verdicts: another spelling ("Reject") or a blank
    # was inspected but neither rejected, held nor passed, or (blank) not counted at all.
    unknown = ~frame["verdict"].isin(("pass", "review", "reject")).to_numpy()
    if unknown.any():
        verdicts = frame["verdict"].to_numpy(dtype=object)[unknown][:5]
        shown = ", ".join(f"{n}: {v!r}" for n, v in zip(names[unknown][:5], verdicts))
        raise ValueError(f"{where}: column 'verdict' must be pass, review or reject; found {shown}")
    keys = [sku_column]
    if "location_id" in frame.columns:
        no_location = frame["location_id"].isna() | (
            frame["location_id"].astype(str).str.strip() == ""
        )
        if not no_location.all():
            # Counted per (SKU, location): a unit without one cannot be placed, and grouping
            # would drop it without a word (its rejected units stayed sellable).
            if no_location.any():
                raise ValueError(
                    f"{where}: column 'location_id' is empty for items "
                    f"{names[no_location.to_numpy()][:5].tolist()} while "
                    "other items have one; give every item its location"
                )
            keys.append("location_id")
    # Keys as the text every other table holds them (kernels.io.key_text): a parquet's
    # float SKU 7.0 (an integer column a missing cell made float) is SKU "7", as `forecast
    # predict` writes it; astype(str) wrote "7.0", which `plan --rejected` then refused as a
    # SKU with no inventory row.
    counts = pd.crosstab(
        [pd.Series(key_text(frame[k]), name=k, index=frame.index).astype(str) for k in keys],
        frame["verdict"],
    )
    out = pd.DataFrame(index=counts.index)
    out["inspected_units"] = counts.sum(axis=1)
    for verdict, column in (
        ("reject", "rejected_units"),
        ("review", "review_units"),
        ("pass", "passed_units"),
    ):
        out[column] = counts[verdict] if verdict in counts.columns else 0
    out = out.reset_index().rename(columns={sku_column: "item_id"})
    return out.astype({c: int for c in out.columns if c.endswith("_units")})
