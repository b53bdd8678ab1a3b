"""Inspection verdicts from a model package through onnxruntime: the same tables as PyTorch.

Items are read and their views decoded by the same torch-free code the PyTorch path uses
(:mod:`vision.items`: layouts, view slots, mode and size checks, catalog references), and the
tables are made by :mod:`vision.tables` (statuses, verdicts, reasons, heatmap overlays), so
``InspectionPackage.score`` and :meth:`vision.Inspector.score` write the same tables: same
columns, statuses and verdicts, scores within the export's parity tolerance.

For a service, :meth:`InspectionPackage.prepare_item` decodes one item's uploaded view images
into the graph's inputs (a batch of one) and :meth:`InspectionPackage.finish_item` turns the
graph's outputs for it into a verdict, so the feeds of several requests can run as one batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from kernels.io import FileError
from serving.package import read_package
from serving.runtime.session import OnnxModel, open_model
from vision.calibration import Thresholds
from vision.catalog import Catalog
from vision.config import DataConfig, ScoreConfig
from vision.heatmap import overlay_png
from vision.images import PAD_BORDER
from vision.items import CatalogHandling, Item, ItemLoader, ItemSet, load_views, read_items
from vision.schema import RESIZE_MODES, score_column
from vision.tables import PredictionCollector, ScoreOutputs, heatmap_class, score_tables

OUTPUTS = ("item_scores", "view_scores", "heatmaps", "attributes")
# How packages exported before 2026-12-05 11:00 describe their letterbox (one colour).
_PAD_BORDER_NOTE = (
    "scaled so the longer side is image_size, centred, the margin filled with the mean colour "
    "of the scaled image's border pixels"
)


@dataclass
class InspectionJob:
    """One item's uploaded views decoded into the graph's ``feeds`` (a batch of one)."""

    item: Item
    feeds: dict[str, np.ndarray]
    errors: list[str]
    view_errors: dict[str, str]

    @property
    def n_windows(self) -> int:
        return 1


class InspectionPackage:
    """An inspection model package, opened for scoring.

    ``requested`` overrides the provider order (default CUDA then CPU); ``threads`` the
    intra-op threads; ``quantized`` runs the package's int8 graph (``model.int8.onnx``, written
    by ``stockcast export --quantize``) on the CPU. ``provider`` says what the session actually
    runs on. ``data`` holds how datasets are read (layout, good class, minimum view size): the
    run's settings, which a caller may replace.
    """

    def __init__(
        self,
        folder: str | Path,
        requested: list[str] | None = None,
        threads: int | None = None,
        quantized: bool = False,
    ):
        self.folder = Path(folder)
        self.manifest = read_package(self.folder, task="inspection")
        manifest = self.manifest
        try:
            self.class_names: tuple[str, ...] = tuple(manifest["classes"])
            self.view_names: tuple[str, ...] = tuple(manifest["views"])
            self.pre: dict[str, Any] = manifest["preprocessing"]
            self.image_size = int(self.pre["image_size"])
            # Packages written before letterboxing squashed every view.
            self.resize = str(self.pre.get("resize_mode", "squash"))
            if self.resize not in RESIZE_MODES:
                raise ValueError(
                    f"preprocessing.resize_mode {self.resize!r} is not one of {RESIZE_MODES}"
                )
            if self.resize == "pad" and self.pre.get("resize_mode_note") == _PAD_BORDER_NOTE:
                # Exported before each margin took its own edge's colour: its model was trained
                # on one colour, the whole border's mean, in every margin.
                self.resize = PAD_BORDER
            self.image_mode = str(self.pre["image_mode"])
            self.thresholds = Thresholds.from_dict(manifest["thresholds"], self.class_names)
            cat = manifest["catalog"]
            # Every file the package reads must be one whose sha256 was checked (as a forecast
            # package's graph): a file the manifest does not list is read unverified.
            quantized_file = (manifest.get("quantized") or {}).get("file") if quantized else None
            for name in (manifest["model"]["file"], cat.get("file"), quantized_file):
                if name and name not in manifest["files"]:
                    raise FileError(
                        f"{self.folder / 'manifest.json'}: file {name!r} is not among the "
                        "files it checks"
                    )
            catalog = Catalog.read(self.folder / cat["file"]) if cat.get("file") else None
            self.catalog = CatalogHandling(cat["mode"], catalog, float(cat["size_scale_cm"]))
            data = dict((manifest.get("config") or {}).get("data") or {})
            data["min_view_size"] = int(self.pre["min_view_size"])
            self.data = DataConfig.from_dict(data)
            file = manifest["model"]["file"]
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, FileError):
                raise
            raise FileError(
                f"{self.folder / 'manifest.json'}: not an inspection package "
                f"({type(exc).__name__}: {exc})"
            ) from None
        if quantized:
            entry = manifest.get("quantized")
            if not entry:
                raise FileError(
                    f"{self.folder}: the package has no int8 graph (export it with --quantize)"
                )
            file, requested = entry["file"], ["CPUExecutionProvider"]
        self.quantized = quantized
        self.model: OnnxModel = open_model(self.folder / file, requested=requested, threads=threads)

    def __repr__(self) -> str:
        kind = "int8" if self.quantized else "fp32"
        return (
            f"InspectionPackage({self.folder}, {len(self.class_names)} classes, "
            f"{len(self.view_names)} views, {kind} on {self.provider})"
        )

    @property
    def provider(self) -> str:
        """The onnxruntime provider the graph runs on now (see :attr:`OnnxModel.provider`)."""
        return self.model.provider

    # ------------------------------------------------------------------ tables

    def items(self, data: str | Path | ItemSet) -> ItemSet:
        """The items of a dataset folder to score (read with the ``layout`` and ``good_class``
        of :attr:`data`), or ``data`` itself when it is an :class:`ItemSet` already."""
        if isinstance(data, ItemSet):
            return data
        return read_items(
            data, layout=self.data.layout, good_class=self.data.good_class, to_score=True
        )

    def score(
        self,
        items: str | Path | ItemSet,
        out: str | Path | None = None,
        *,
        heatmap_dir: str | Path | None = None,
        overwrite: bool = False,
        thresholds: Thresholds | None = None,
        **settings: Any,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Score every item: ``(items table, views table)``, as :meth:`vision.Inspector.score`
        does (same arguments: ``out`` writes the items table there, the views table beside it
        and the heatmaps to ``heatmap_dir``, together or not at all; ``settings`` are
        :class:`~vision.config.ScoreConfig` fields ``batch_size``, ``heatmaps``,
        ``progress``)."""
        config = ScoreConfig.from_dict(settings)
        outputs = ScoreOutputs.plan(out, heatmap_dir, config.heatmaps)
        outputs.check(overwrite)
        thresholds = (thresholds or self.thresholds).for_classes(self.class_names)
        item_set = self.items(items)
        with outputs.publishing(overwrite) as (staging, write):
            tables = self._score(
                item_set, thresholds, staging, outputs.heatmaps, config.batch_size, config.progress
            )
            write(*tables)
        return tables

    def _score(
        self,
        item_set: ItemSet,
        thresholds: Thresholds,
        heatmap_dir: Path | None,
        heatmap_name: Path | None,
        batch_size: int,
        progress: bool,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        catalog = self.catalog.for_items(item_set.catalog)
        loader = ItemLoader(
            item_set,
            self.view_names,
            self.image_size,
            self.image_mode,
            catalog,
            self.class_names,
            self.data.min_view_size,
            self.resize,
        )
        collector = PredictionCollector(
            self.class_names, self.view_names, heatmap_dir, heatmap_name, thresholds
        )
        chunks = range(0, len(loader), batch_size)
        for lo in tqdm(chunks, desc="scoring items", unit="batch", disable=not progress):
            samples = [loader.load(i) for i in range(lo, min(lo + batch_size, len(loader)))]
            feeds = {
                name: np.stack([s[name] for s in samples])
                for name in ("images", "view_mask", "catalog")
            }
            out = self.model.run(feeds)
            collector.add(
                [loader.items[s["index"]].item_id for s in samples],
                out["item_scores"],
                out["view_scores"],
                feeds["view_mask"],
                out["attributes"],
                [s["errors"] for s in samples],
                [s["view_errors"] for s in samples],
                maps=out["heatmaps"],
                pixels=feeds["images"],
            )
        return score_tables(
            item_set.items,
            collector.result(),
            self.class_names,
            self.view_names,
            thresholds,
            catalog,
            self.image_mode,
        )

    # ------------------------------------------------------------------ one item (service)

    def prepare_item(
        self,
        views: Mapping[str, bytes],
        product_id: str | None = None,
        item_id: str = "item",
        max_pixels: int | None = None,
    ) -> InspectionJob:
        """Decode one item's uploaded view images (view name -> image bytes) into the graph's
        inputs, checking each as a file would be checked (mode, ``min_view_size``, and here
        ``max_pixels``). Views that cannot be used are reported on the item (it goes to review
        at least); a ``ValueError`` names every view and its problem when none can be used."""
        loaded = load_views(
            views,
            self.view_names,
            self.image_size,
            self.image_mode,
            self.data.min_view_size,
            max_pixels,
            self.resize,
        )
        if not loaded.mask.any():
            problems = [
                f"{name}: "
                + (
                    loaded.view_errors[name]
                    if name in loaded.view_errors
                    else f"not a view of this model (its views: {', '.join(self.view_names)})"
                )
                for name in views
            ]
            raise ValueError(
                "views: no usable image ("
                + ("; ".join(problems) if problems else "none sent")
                + ")"
            )
        # As a labels table's product_id is read: surrounding spaces are not part of the id.
        product_id = product_id.strip() if isinstance(product_id, str) else product_id
        item = Item(item_id=item_id, views={}, product_id=product_id or None)
        reference, why = self.catalog.reference(item)
        feeds = {
            "images": loaded.images[None],
            "view_mask": loaded.mask[None],
            "catalog": reference[None],
        }
        errors = loaded.errors + ([why] if why else [])
        return InspectionJob(item, feeds, errors, loaded.view_errors)

    def finish_item(
        self, job: InspectionJob, outputs: Mapping[str, np.ndarray], heatmaps: bool = False
    ) -> dict[str, Any]:
        """The verdict of ``job``'s item from the graph's outputs for it (batch of one):
        ``item_id``, ``verdict``, ``status``, ``reasons``, ``any_defect`` (the probability of
        at least one defect), ``scores`` (class -> probability), ``errors`` and ``views``
        (``view``, ``status``, ``error``, ``scores`` and, with
        ``heatmaps``, ``heatmap_png``: the overlay of the class that explains the verdict)."""
        collector = PredictionCollector(
            self.class_names, self.view_names, thresholds=self.thresholds
        )
        mask = job.feeds["view_mask"]
        collector.add(
            [job.item.item_id],
            outputs["item_scores"],
            outputs["view_scores"],
            mask,
            outputs["attributes"],
            [job.errors],
            [job.view_errors],
        )
        pred = collector.result()
        items, views = score_tables(
            [job.item], pred, self.class_names, self.view_names, self.thresholds, self.catalog
        )
        row = items.iloc[0]
        columns = [score_column(c) for c in self.class_names]
        result: dict[str, Any] = {
            "item_id": job.item.item_id,
            "verdict": str(row["verdict"]),
            "status": str(row["status"]),
            "reasons": [r for r in str(row["reasons"]).split(";") if r],
            "any_defect": float(row["any_defect"]),
            "scores": {c: float(row[col]) for c, col in zip(self.class_names, columns)},
            "errors": list(job.errors),
            "views": [],
        }
        for v, view in enumerate(views.itertuples(index=False)):
            ok = view.status == "ok"
            png = None
            if heatmaps and ok:
                k = heatmap_class(pred.item_probs[0], pred.view_probs[0, v], self.thresholds)
                png = overlay_png(job.feeds["images"][0, v], outputs["heatmaps"][0, v, k])
            values = views.iloc[v]
            result["views"].append(
                {
                    "view": view.view,
                    "status": view.status,
                    "error": view.error or None,
                    "scores": {c: float(values[col]) for c, col in zip(self.class_names, columns)}
                    if ok
                    else {},
                    "heatmap_png": png,
                }
            )
        return result
