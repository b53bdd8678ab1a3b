"""Scoring items with a run folder, calibrating its thresholds, and counting rejected units.

Scored tables (CSV or Parquet):

*items* — one row per item: ``item_id``, ``product_id``, ``location_id``, ``verdict``
(``pass``/``reject``/``review``), ``reasons`` (classes that fired, ``;``-separated), ``status``
(``ok``; ``partial`` when a view, the catalog reference or a label row is missing; ``failed``
when no view could be read), ``views_scored``, ``missing_views``, ``errors``, and
``score_<class>`` (probability) for every class of the model.

*views* — one row per item and view slot: ``item_id``, ``view``, ``status`` (``ok``, ``missing``,
``unreadable``), ``error``, ``score_<class>``, ``heatmap`` (PNG path of the class-activation
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from torch.utils.data import DataLoader

from vision.calibration import Thresholds, calibrate_thresholds, verdicts
from vision.catalog import rgb_to_hex
from vision.datasets import ItemDataset, ItemSet, collate_items
from vision.heatmap import save_overlay
from vision.io import read_table, write_table
from vision.metrics import per_class_auroc
from vision.model import ATTRIBUTES
from vision.run import RunInfo, load_model, update_thresholds
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


class Inspector:
    """A loaded run folder that scores item datasets on the selected device."""

    def __init__(self, run_dir: str | Path, device: torch.device | str = "cpu"):
        # The caller picks the device (``training.devices.select_device`` in the CLI), so this
        # package stays free of the training layer.
        self.device = torch.device(device)
        self.model, self.info = load_model(run_dir, self.device)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info.class_names

    def dataset(self, item_set: ItemSet, cache: bool = False) -> ItemDataset:
        """Wrap ``item_set`` with this run's views, image size, image mode and catalog."""
        return ItemDataset(
            item_set,
            self.info.view_names,
            self.info.spec.image_size,
            self.info.image_mode,
            self.info.catalog_for(item_set.catalog),
            self.info.class_names,
            cache=cache,
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
    ) -> Predictions:
        """Run the model over ``dataset``; optionally write one heatmap PNG per view.

        A view's heatmap shows the class with its highest view score among the classes that
        fired for the item (above their review thresholds, when ``thresholds`` are given), so
        the overlay explains the verdict; without a fired class, the highest view score.
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
        views = self.info.view_names
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
                        path = Path(heatmap_dir) / _safe_name(item_id) / f"{view}.png"
                        save_overlay(path, pixels[b, v], maps_np[b, v, k])
                        drawn[view] = (str(path), self.class_names[k])
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
        heatmap_dir: str | Path | None = None,
        batch_size: int = 16,
        progress: bool = True,
        thresholds: Thresholds | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Score every item: (items table, views table); see the module docstring."""
        thresholds = thresholds or self.info.thresholds
        if thresholds is None:
            raise ValueError(
                f"{self.info.run_dir}: the run has no calibrated thresholds; run "
                "`stockcast inspect calibrate` first"
            )
        dataset = self.dataset(item_set)
        pred = self.predict(
            dataset,
            batch_size=batch_size,
            heatmap_dir=heatmap_dir,
            progress=progress,
            thresholds=thresholds,
        )
        views = self.info.view_names
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
        if self.info.catalog.mode == "reference":
            # What the model measured, for a person checking a colour or size call.
            rgb = np.clip(np.nan_to_num(pred.attributes[:, :3]) * 255, 0, 255)
            items["measured_color"] = [
                rgb_to_hex(c) if np.isfinite(a).all() else ""
                for c, a in zip(rgb, pred.attributes[:, :3])
            ]
            scale = self.info.catalog.size_scale
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
        check_classes(item_set, self.info)
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


def check_classes(item_set: ItemSet, info: RunInfo) -> None:
    if not item_set.labeled:
        raise ValueError(f"{item_set.root}: calibration needs labels for every item")
    if tuple(item_set.class_names) != tuple(info.class_names):
        raise ValueError(
            f"{item_set.root}: classes {list(item_set.class_names)} do not match the "
            f"run's classes {list(info.class_names)}"
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
    verdict, _ = verdicts(probs, thresholds)
    verdict = np.array(verdict)
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


def calibrate_run(
    run_dir: str | Path,
    item_set: ItemSet,
    target_frr: float = 0.01,
    review_rate: float = 0.04,
    device: torch.device | str = "cpu",
    batch_size: int = 16,
    progress: bool = True,
) -> Thresholds:
    """Calibrate a run's thresholds on ``item_set`` and write them into its manifest."""
    inspector = Inspector(run_dir, device)
    thresholds, metrics = inspector.calibrate(
        item_set, target_frr, review_rate, batch_size, progress
    )
    update_thresholds(run_dir, thresholds, source=str(item_set.root), metrics=metrics)
    return thresholds


def views_path(out: str | Path) -> Path:
    """Where the per-view table goes beside an items table: ``<stem>.views<suffix>``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.views{out.suffix}")


def write_scores(items: pd.DataFrame, views: pd.DataFrame, out: str | Path) -> tuple[Path, Path]:
    """Write the items table to ``out`` and the views table beside it (each atomically)."""
    out = Path(out)
    write_table(views, views_path(out))
    write_table(items, out)
    return out, views_path(out)


def rejected_units(
    scored: pd.DataFrame | str | Path, sku_column: str = "product_id"
) -> pd.DataFrame:
    """Per SKU (and location when scored items carry one): units inspected, rejected, in review.

    The result uses the inventory-position names: ``item_id`` (the SKU, from ``sku_column``),
    ``location_id`` (if present), ``inspected_units``, ``rejected_units``, ``review_units``,
    ``passed_units``. Subtract ``rejected_units`` from ``on_hand``; ``review_units`` are held
    until a person decides.
    """
    frame = read_table(scored) if isinstance(scored, (str, Path)) else scored
    for column in ("verdict", sku_column):
        if column not in frame.columns:
            raise ValueError(f"scored table: missing column {column!r}")
    missing = frame[sku_column].isna() | (frame[sku_column].astype(str).str.strip() == "")
    if missing.any():
        raise ValueError(
            f"scored table: column {sku_column!r} is empty for items "
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
