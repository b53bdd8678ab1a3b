"""Scoring items with a fitted model, calibrating its thresholds, and counting rejected units.

:class:`Scorer` is the model-level engine behind :class:`vision.Inspector`;
:class:`ScoreOutputs` writes the tables and heatmaps together or not at all. Scored tables (CSV
or Parquet):

*items* — one row per item: ``item_id``, ``product_id``, ``location_id``, ``verdict``
(``pass``/``reject``/``review``), ``reasons`` (classes that fired, ``;``-separated), ``status``
(``ok``; ``partial`` when a view, the catalog reference or a label row is missing; ``failed``
when no view could be read), ``views_scored``, ``missing_views``, ``errors``, and
``score_<class>`` (probability) for every class of the model.

*views* — one row per item and view slot: ``item_id``, ``view``, ``status`` (``ok``, ``missing``,
``unreadable``: corrupt, truncated, of a wrong mode or smaller than the minimum view size),
``error``, ``score_<class>``, ``heatmap`` (PNG path of the class-activation
overlay for ``heatmap_class``, the view's highest-scoring class) and the item's ``verdict``.

Models that use a catalog also report what they measured: ``measured_color`` (``#RRGGBB``) and
``measured_width_cm``/``measured_height_cm``/``measured_depth_cm``, to compare with the catalog.

A rejected unit leaves sellable stock: :func:`rejected_units` turns an items table into
per-SKU counts for the inventory position (there ``item_id`` is the SKU, i.e. the tunnel's
``product_id``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from torch.utils.data import DataLoader

from kernels.io import FileError, atomic_path, check_writable, read_table, table_kind
from kernels.runfolder import building
from vision.calibration import Thresholds, calibrate_thresholds, verdicts
from vision.catalog import Catalog, rgb_to_hex
from vision.datasets import CatalogHandling, ItemDataset, ItemSet, collate_items
from vision.heatmap import save_overlay
from vision.metrics import per_class_auroc
from vision.model import ATTRIBUTES
from vision.run import RunModel
from vision.schema import REJECT, REVIEW, score_column


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


def _sigmoid(x: torch.Tensor) -> np.ndarray:
    # float64 keeps distinct probabilities for confident logits, which thresholds may sit between.
    return expit(x.detach().double().cpu().numpy())


def _safe_name(item_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", item_id).strip("._") or "item"
    if safe != item_id:
        safe += "-" + hashlib.sha1(item_id.encode()).hexdigest()[:8]
    return safe


class Scorer:
    """A fitted network (:class:`~vision.run.RunModel`) that scores item sets on a device.

    It is the model-level engine behind :class:`vision.Inspector`, which users reach instead;
    ``min_view_size`` is the smallest usable view (pixels per side).
    """

    def __init__(self, model: RunModel, device: torch.device | str = "cpu", min_view_size: int = 1):
        # The caller picks the device (``training.devices.select_device``), so this package
        # stays free of the training layer.
        self.device = torch.device(device)
        self.run = model
        self.model = model.net.to(self.device).eval()
        self.min_view_size = int(min_view_size)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.run.class_names

    def catalog_for(self, items_catalog: Catalog | None) -> CatalogHandling:
        """The model's catalog, with rows from the scored dataset's catalog added or replacing."""
        own = self.run.catalog
        if own.mode != "reference" or items_catalog is None:
            return own
        merged = items_catalog if own.catalog is None else own.catalog.merged_with(items_catalog)
        return CatalogHandling("reference", merged, own.size_scale)

    def dataset(self, item_set: ItemSet, cache: bool = False) -> ItemDataset:
        """Wrap ``item_set`` with the model's views, image size, image mode and catalog."""
        return ItemDataset(
            item_set,
            self.run.view_names,
            self.model.spec.image_size,
            self.run.image_mode,
            self.catalog_for(item_set.catalog),
            self.run.class_names,
            cache=cache,
            min_view_size=self.min_view_size,
        )

    @torch.inference_mode()
    def predict(
        self,
        dataset: ItemDataset,
        batch_size: int = 16,
        heatmap_dir: str | Path | None = None,
        progress: bool = True,
        num_workers: int = 0,
        thresholds: Thresholds | None = None,
        heatmap_name: str | Path | None = None,
    ) -> Predictions:
        """Run the model over ``dataset``; optionally write one heatmap PNG per view.

        A view's heatmap shows the class with its highest view score among the classes that
        fired for the item (above their review thresholds, when ``thresholds`` are given), so
        the overlay explains the verdict; without a fired class, the highest view score.
        Heatmaps are written under ``heatmap_dir`` and reported under ``heatmap_name`` (default
        the same folder), so they can be staged in a folder renamed into place later.
        """
        from tqdm.auto import tqdm

        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=False,
            collate_fn=collate_items,
            num_workers=num_workers,
        )
        item_probs, view_probs, view_masks, attributes = [], [], [], []
        errors: list[list[str]] = []
        view_errors: list[dict[str, str]] = []
        heatmaps: list[dict[str, tuple[str, str]]] = []
        views = self.run.view_names
        shown = Path(heatmap_name if heatmap_name is not None else heatmap_dir or ".")
        for batch in tqdm(loader, desc="scoring items", unit="batch", disable=not progress):
            images = batch["images"].to(self.device).float().div_(255)
            mask = batch["view_mask"].to(self.device)
            item_logits, view_logits, maps, attrs = self.model(
                images, mask, batch["catalog"].to(self.device)
            )
            p_item = _sigmoid(item_logits)
            p_view = _sigmoid(view_logits)
            m = batch["view_mask"].numpy()
            p_view[m == 0] = np.nan
            p_item[m.sum(1) == 0] = np.nan
            measured = attrs.double().cpu().numpy()
            measured[m.sum(1) == 0] = np.nan
            attributes.append(measured)
            item_probs.append(p_item)
            view_probs.append(p_view)
            view_masks.append(m)
            errors += batch["errors"]
            view_errors += batch["view_errors"]
            maps_np = maps.float().cpu().numpy()
            pixels = batch["images"].permute(0, 1, 3, 4, 2).numpy()
            for b, index in enumerate(batch["index"]):
                drawn: dict[str, tuple[str, str]] = {}
                if heatmap_dir is not None:
                    item_id = dataset.items[index].item_id
                    for v, view in enumerate(views):
                        if m[b, v] == 0:
                            continue
                        fired = (
                            p_item[b] > thresholds.review
                            if thresholds is not None and np.isfinite(p_item[b]).all()
                            else np.zeros(len(self.class_names), dtype=bool)
                        )
                        candidates = np.where(fired, p_view[b, v], -np.inf)
                        k = int(np.argmax(candidates if fired.any() else p_view[b, v]))
                        name = Path(_safe_name(item_id)) / f"{view}.png"
                        save_overlay(Path(heatmap_dir) / name, pixels[b, v], maps_np[b, v, k])
                        drawn[view] = (str(shown / name), self.class_names[k])
                heatmaps.append(drawn)
        n_classes, n_views = len(self.class_names), len(views)
        return Predictions(
            item_probs=np.concatenate(item_probs) if item_probs else np.zeros((0, n_classes)),
            view_probs=np.concatenate(view_probs)
            if view_probs
            else np.zeros((0, n_views, n_classes)),
            view_mask=np.concatenate(view_masks) if view_masks else np.zeros((0, n_views)),
            attributes=np.concatenate(attributes) if attributes else np.zeros((0, ATTRIBUTES)),
            errors=errors,
            view_errors=view_errors,
            heatmaps=heatmaps,
        )

    def score(
        self,
        item_set: ItemSet,
        thresholds: Thresholds,
        heatmap_dir: str | Path | None = None,
        batch_size: int = 16,
        progress: bool = True,
        heatmap_name: str | Path | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Score every item: (items table, views table); see the module docstring."""
        pred = self.predict(
            self.dataset(item_set),
            batch_size=batch_size,
            heatmap_dir=heatmap_dir,
            progress=progress,
            thresholds=thresholds,
            heatmap_name=heatmap_name,
        )
        views = self.run.view_names
        scored = pred.view_mask.sum(1).astype(int)
        status = np.where(
            scored == 0, "failed", np.where([len(e) > 0 for e in pred.errors], "partial", "ok")
        )
        verdict, reasons = verdicts(pred.item_probs, thresholds, complete=status == "ok")
        items = pd.DataFrame(
            {
                "item_id": [it.item_id for it in item_set.items],
                "product_id": [it.product_id for it in item_set.items],
                "location_id": [it.location_id for it in item_set.items],
                "verdict": verdict,
                "reasons": reasons,
                "status": status,
                "views_scored": scored,
                "missing_views": [
                    ";".join(v for v in views if e.get(v) == "missing") for e in pred.view_errors
                ],
                "errors": [" | ".join(e) for e in pred.errors],
            }
        )
        for k, name in enumerate(self.class_names):
            items[score_column(name)] = pred.item_probs[:, k]
        if self.run.catalog.mode == "reference":
            # What the model measured, for a person checking a colour or size call.
            rgb = np.clip(np.nan_to_num(pred.attributes[:, :3]) * 255, 0, 255)
            items["measured_color"] = [
                rgb_to_hex(c) if np.isfinite(a).all() else ""
                for c, a in zip(rgb, pred.attributes[:, :3])
            ]
            scale = self.run.catalog.size_scale
            for k, name in enumerate(("width_cm", "height_cm", "depth_cm")):
                items[f"measured_{name}"] = np.round(pred.attributes[:, 3 + k] * scale, 2)
        rows = []
        for i, item in enumerate(item_set.items):
            for v, view in enumerate(views):
                err = pred.view_errors[i].get(view, "")
                row: dict[str, Any] = {
                    "item_id": item.item_id,
                    "view": view,
                    "status": "ok"
                    if pred.view_mask[i, v]
                    else ("missing" if err == "missing" else "unreadable"),
                    "error": "" if err == "missing" else err,
                }
                for k, name in enumerate(self.class_names):
                    row[score_column(name)] = pred.view_probs[i, v, k]
                path, cls = pred.heatmaps[i].get(view, ("", ""))
                row.update(heatmap=path, heatmap_class=cls, verdict=verdict[i])
                rows.append(row)
        return items, pd.DataFrame(rows)

    def calibrate(
        self,
        item_set: ItemSet,
        target_frr: float,
        review_rate: float,
        batch_size: int = 16,
        progress: bool = True,
    ) -> tuple[Thresholds, dict[str, Any]]:
        """Thresholds from a labelled dataset, plus AUROC and catch rates on it."""
        check_classes(item_set, self.class_names)
        pred = self.predict(self.dataset(item_set), batch_size=batch_size, progress=progress)
        labels = item_set.label_matrix()
        thresholds = calibrate_thresholds(
            pred.item_probs,
            labels,
            self.class_names,
            target_frr=target_frr,
            review_rate=review_rate,
        )
        return thresholds, calibration_metrics(pred.item_probs, labels, thresholds)


def check_classes(item_set: ItemSet, class_names: tuple[str, ...]) -> None:
    """Calibration data must be labelled, with the model's classes."""
    if not item_set.labeled:
        raise ValueError(f"{item_set.root}: calibration needs labels for every item")
    if tuple(item_set.class_names) != tuple(class_names):
        raise ValueError(
            f"{item_set.root}: classes {list(item_set.class_names)} do not match the "
            f"model's classes {list(class_names)}"
        )


def calibration_metrics(probs: np.ndarray, labels: np.ndarray, thresholds: Thresholds) -> dict:
    """AUROC per class, and per class the share of its positives rejected / flagged."""
    keep = np.isfinite(probs).all(axis=1)
    probs, labels = probs[keep], labels[keep]
    out: dict[str, Any] = {
        "n_items": int(len(probs)),
        # A class without positives (or negatives) here has no AUROC: null, not NaN, in JSON.
        "auroc": {
            name: (value if np.isfinite(value) else None)
            for name, value in per_class_auroc(labels, probs, thresholds.class_names).items()
        },
    }
    verdict = np.array(verdicts(probs, thresholds)[0])
    catch = {}
    for k, name in enumerate(thresholds.class_names):
        pos = labels[:, k] >= 0.5
        if pos.any():
            catch[name] = {
                "positives": int(pos.sum()),
                "rejected": float((verdict[pos] == REJECT).mean()),
                "rejected_or_review": float(np.isin(verdict[pos], [REJECT, REVIEW]).mean()),
            }
    out["catch_rate"] = catch
    return out


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


def _write_frame(frame: pd.DataFrame, path: Path, like: Path) -> None:
    """Write ``frame`` to the temporary ``path`` in the format of its target ``like``."""
    if table_kind(like) == "parquet":
        frame.to_parquet(path, index=False)
    else:
        gzip = str(like).lower().endswith(".gz")
        frame.to_csv(path, index=False, compression="gzip" if gzip else None)


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
            staging = None
            if self.heatmaps is not None:
                staging = stack.enter_context(building(self.heatmaps, overwrite=overwrite))

            def write(items: pd.DataFrame, views: pd.DataFrame) -> None:
                for frame, path in ((views, self.views), (items, self.items)):
                    if path is not None:
                        _write_frame(frame, stack.enter_context(atomic_path(path)), path)

            yield staging, write


def rejected_units(
    scored: pd.DataFrame | str | Path, sku_column: str = "product_id"
) -> pd.DataFrame:
    """Per SKU (and location when scored items carry one): units inspected, rejected, in review.

    The result uses the inventory-position names: ``item_id`` (the SKU, from ``sku_column``),
    ``location_id`` (if present), ``inspected_units``, ``rejected_units``, ``review_units``,
    ``passed_units``. Subtract ``rejected_units`` from ``on_hand``; ``review_units`` are held
    until a person decides.
    """
    if isinstance(scored, str | Path):
        frame, where = read_table(scored, **READ_OPTIONS), str(scored)
    else:
        frame, where = scored, "scored table"
    for column in ("verdict", sku_column):
        if column not in frame.columns:
            raise ValueError(f"{where}: missing column {column!r}")
    missing = frame[sku_column].isna() | (frame[sku_column].astype(str).str.strip() == "")
    if missing.any():
        raise ValueError(
            f"{where}: column {sku_column!r} is empty for items "
            f"{frame.loc[missing, 'item_id'].astype(str).head(5).tolist()}"
        )
    keys = [sku_column]
    if "location_id" in frame.columns and frame["location_id"].notna().any():
        keys.append("location_id")
    counts = pd.crosstab([frame[k].astype(str) for k in keys], frame["verdict"])
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
