"""Scoring items with a fitted PyTorch model and calibrating its thresholds.

:class:`Scorer` is the model-level engine behind :class:`vision.Inspector`. The tables it makes,
the writing of tables and heatmaps together or not at all, and the per-SKU counts of rejected
units are torch-free and live in :mod:`vision.tables` (shared with the onnxruntime path of
:mod:`serving.runtime.inspection`); they are re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from torch.utils.data import DataLoader

from vision.calibration import Thresholds, calibrate_thresholds, verdicts
from vision.catalog import Catalog
from vision.datasets import CatalogHandling, ItemDataset, ItemSet, collate_items
from vision.items import inspected_completely
from vision.metrics import any_defect, auroc, per_class_auroc
from vision.run import RunModel
from vision.schema import PASS, REJECT, REVIEW
from vision.tables import (
    READ_OPTIONS,
    PredictionCollector,
    Predictions,
    ScoreOutputs,
    default_heatmap_dir,
    rejected_units,
    score_tables,
    views_path,
)

__all__ = [
    "READ_OPTIONS",
    "Predictions",
    "ScoreOutputs",
    "Scorer",
    "calibration_metrics",
    "check_classes",
    "default_heatmap_dir",
    "rejected_units",
    "views_path",
]


def _sigmoid(x: torch.Tensor) -> np.ndarray:
    # float64 keeps distinct probabilities for confident logits, which thresholds may sit between.
    return expit(x.detach().double().cpu().numpy())


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
        return self.run.catalog.for_items(items_catalog)

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
            resize=self.model.spec.resize,
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
        collector = PredictionCollector(
            self.class_names, self.run.view_names, heatmap_dir, heatmap_name, thresholds
        )
        for batch in tqdm(loader, desc="scoring items", unit="batch", disable=not progress):
            images = batch["images"].to(self.device).float().div_(255)
            mask = batch["view_mask"].to(self.device)
            item_logits, view_logits, maps, attrs = self.model(
                images, mask, batch["catalog"].to(self.device)
            )
            heatmaps = collector.wants_heatmaps
            collector.add(
                [dataset.items[i].item_id for i in batch["index"]],
                _sigmoid(item_logits),
                _sigmoid(view_logits),
                batch["view_mask"].numpy(),
                attrs.double().cpu().numpy(),
                batch["errors"],
                batch["view_errors"],
                maps=maps.float().cpu().numpy() if heatmaps else None,
                pixels=batch["images"].permute(0, 1, 3, 4, 2).numpy() if heatmaps else None,
            )
        return collector.result()

    def score(
        self,
        item_set: ItemSet,
        thresholds: Thresholds,
        heatmap_dir: str | Path | None = None,
        batch_size: int = 16,
        progress: bool = True,
        heatmap_name: str | Path | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Score every item: (items table, views table); see :mod:`vision.tables`."""
        thresholds = thresholds.for_classes(self.class_names)
        pred = self.predict(
            self.dataset(item_set),
            batch_size=batch_size,
            heatmap_dir=heatmap_dir,
            progress=progress,
            thresholds=thresholds,
            heatmap_name=heatmap_name,
        )
        return score_tables(
            item_set.items,
            pred,
            self.class_names,
            self.run.view_names,
            thresholds,
            self.catalog_for(item_set.catalog),
            self.run.image_mode,
        )

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
        # A labelled item without a readable view (its folder missing, as for a label row whose
        # id does not match its folder's name, empty, or every image unreadable) would be left
        # out of the thresholds and the catch rates without a word.
        unscored = np.flatnonzero(pred.view_mask.sum(1) == 0)
        if len(unscored):
            shown = "; ".join(
                f"{item_set.items[i].item_id} ({' | '.join(pred.errors[i])})" for i in unscored[:5]
            )
            more = f" (+{len(unscored) - 5} more)" if len(unscored) > 5 else ""
            raise ValueError(
                f"{item_set.root}: labelled items without a readable view cannot calibrate: "
                f"{shown}{more}"
            )
        try:
            thresholds = calibrate_thresholds(
                pred.item_probs,
                labels,
                self.class_names,
                target_frr=target_frr,
                review_rate=review_rate,
            )
        except ValueError as exc:
            raise ValueError(f"{item_set.root}: {exc}") from None
        # As the items table says: an item with a view, its catalog reference or a label row
        # missing is at least review at the station, so it is not counted as passed here.
        complete = (pred.view_mask.sum(1) > 0) & np.array(
            [inspected_completely(e) for e in pred.errors], bool
        )
        return thresholds, calibration_metrics(pred.item_probs, labels, thresholds, complete)


def check_classes(item_set: ItemSet, class_names: tuple[str, ...]) -> None:
    """Calibration data must be labelled, with the model's classes."""
    if not item_set.labeled:
        raise ValueError(f"{item_set.root}: calibration needs labels for every item")
    if tuple(item_set.class_names) != tuple(class_names):
        raise ValueError(
            f"{item_set.root}: classes {list(item_set.class_names)} do not match the "
            f"model's classes {list(class_names)}"
        )


def calibration_metrics(
    probs: np.ndarray,
    labels: np.ndarray,
    thresholds: Thresholds,
    complete: np.ndarray | None = None,
) -> dict:
    """AUROC per class and of the any-defect score, per class the share of its positives
    rejected / flagged, and what a station sees: the share of defective items that pass and of
    good items that are rejected (``complete[i]`` False: item ``i`` was not fully inspected,
    so its verdict is at least review, as :func:`~vision.calibration.verdicts` gives it)."""
    keep = np.isfinite(probs).all(axis=1)
    complete = np.ones(len(probs), bool) if complete is None else np.asarray(complete, bool)
    probs, labels, complete = probs[keep], labels[keep], complete[keep]
    out: dict[str, Any] = {
        "n_items": int(len(probs)),
        # A class without positives (or negatives) here has no AUROC: null, not NaN, in JSON.
        "auroc": {
            name: (value if np.isfinite(value) else None)
            for name, value in per_class_auroc(labels, probs, thresholds.class_names).items()
        },
    }
    # An item with a defect label is defective, one with every label 0 good; one with a NaN
    # (unknown) label and no defect label is neither, as it sets no threshold.
    defective = (labels >= 0.5).any(axis=1)
    good = (labels < 0.5).all(axis=1)
    area = auroc(np.where(defective | good, defective, np.nan), any_defect(probs))
    out["any_defect_auroc"] = area if np.isfinite(area) else None
    verdict = np.array(verdicts(probs, thresholds, complete)[0])
    out["defects_passed"] = float((verdict[defective] == PASS).mean()) if defective.any() else None
    out["good_rejected"] = float((verdict[good] == REJECT).mean()) if good.any() else None
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
