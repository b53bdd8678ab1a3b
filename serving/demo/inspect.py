"""The demo's inspection step: train and calibrate the tunnel model, score a day of inbound items.

Each inbound item is a unit of one of the network's SKUs arriving at one of its FCs (drawn in
proportion to demand). Rejected units leave sellable stock; ``review`` items wait in the review
queue, their units held until a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.spec import DEMAND, ITEM, LOCATION
from kernels.io import write_table
from serving.demo.config import DemoConfig
from serving.demo.data import DemoData
from serving.export import export_run
from serving.review import ReviewStore
from training import ImageTrainConfig
from vision import Inspector
from vision.synthetic import write_synthetic_dataset

REVIEW_DB = "review.db"


@dataclass
class InspectionOutcome:
    inspector: Inspector
    items: pd.DataFrame  # scored inbound items, with sku and location_id
    views: pd.DataFrame
    rejected: pd.DataFrame  # per (sku, FC): units out of sellable stock
    store: ReviewStore
    run: Path


def inspection_step(data: DemoData, config: DemoConfig, out: Path) -> InspectionOutcome:
    """Train an inspector on a synthetic tunnel, calibrate it on fresh good units, score the
    inbound units (``out/inspection/scores.parquet``) and queue the ``review`` ones for a
    person; ``rejected`` counts the units held out of stock per (SKU, FC)."""
    tunnel = write_synthetic_dataset(
        out / "data" / "tunnel", config.tunnel_items, seed=config.seed,
        image_size=config.image_size, defect_rate=0.25, progress=config.progress,
    )  # fmt: skip
    train = ImageTrainConfig(
        max_epochs=config.inspect_epochs, seed=config.seed, progress_bar=config.progress
    )
    inspector = Inspector(width=16, image_size=config.image_size, train=train)
    run = out / "runs" / "inspect"
    inspector.fit(tunnel, run_dir=run)
    # The thresholds come from fresh good units only (calibration reads nothing else): the
    # tunnel set's validation split (a fifth of it, two thirds of those with some defect)
    # holds too few good units to resolve a 1% false-reject rate over the four classes (499:
    # vision.calibration.good_items_needed) or, in --quick (2 good units), even the 5% review
    # band (99); the review thresholds then fall on the reject ones and nothing reaches the
    # review queue.
    calibration = write_synthetic_dataset(
        out / "data" / "calibration", config.calibration_items, seed=config.seed + 2,
        image_size=config.image_size, defect_rate=0.0, progress=config.progress,
    )  # fmt: skip
    inspector.calibrate(calibration, progress=config.progress)  # rewrites the run's manifest
    # The package beside the forecast ones, so `serve --repo <out>/models` runs the station too.
    package = export_run(run, out / "models", "inspect")
    inbound = write_synthetic_dataset(
        out / "data" / "inbound", config.inbound_items, seed=config.seed + 1,
        image_size=config.image_size, defect_rate=0.2, progress=config.progress,
    )  # fmt: skip
    items, views = inspector.score(
        inbound, out / "inspection" / "scores.parquet", progress=config.progress
    )
    items = _assign_skus(items, data, config.seed)
    # The scores table names each unit's SKU and FC, as rejected.csv and the review queue do:
    # written before they were drawn, it said product P0006 at no location for a unit the
    # queue held at SKU000002 @ FC002.
    write_table(items, out / "inspection" / "scores.parquet")
    rejected = _stock_out(items)
    store = ReviewStore(out / REVIEW_DB)
    review = items[items["verdict"] == "review"]
    # Scored by the run the package was exported from: the queue names the package.
    scored_by = f"{package.parent.name}/{package.name}"
    store.enqueue(review.assign(model=scored_by), _view_files(review, views, inbound))
    return InspectionOutcome(inspector, items, views, rejected, store, run)


def _assign_skus(items: pd.DataFrame, data: DemoData, seed: int) -> pd.DataFrame:
    """Each inbound unit belongs to a (SKU, FC) pair, drawn in proportion to recent demand."""
    recent = data.train.groupby([ITEM, LOCATION], observed=True)[DEMAND].sum().reset_index()
    weights = recent[DEMAND].to_numpy(dtype=float) + 1.0
    rng = np.random.default_rng(seed)
    drawn = rng.choice(len(recent), size=len(items), p=weights / weights.sum())
    return items.assign(
        sku=recent[ITEM].to_numpy()[drawn].astype(str),
        location_id=recent[LOCATION].to_numpy()[drawn].astype(str),
    )


def _stock_out(items: pd.DataFrame) -> pd.DataFrame:
    """Units scored ``reject`` (out of stock) and ``review`` (held) per (SKU, FC)."""
    counts = (
        items.assign(
            rejected_units=items["verdict"] == "reject", review_units=items["verdict"] == "review"
        )  # fmt: skip
        .groupby(["sku", LOCATION])[["rejected_units", "review_units"]]
        .sum()
        .astype(int)
        .reset_index()
        .rename(columns={"sku": ITEM})
    )
    return counts[(counts["rejected_units"] + counts["review_units"]) > 0].reset_index(drop=True)


def _view_files(
    items: pd.DataFrame, views: pd.DataFrame, root: Path
) -> dict[str, dict[str, dict[str, str]]]:
    """Per review item and view: the photographed image and its heatmap overlay."""
    files: dict[str, dict[str, dict[str, str]]] = {}
    chosen = views[views["item_id"].isin(items["item_id"])]
    for row in chosen.itertuples(index=False):
        image = root / "items" / str(row.item_id) / f"{row.view}.png"
        files.setdefault(str(row.item_id), {})[str(row.view)] = {
            "image": str(image) if image.exists() else "",
            "heatmap": str(row.heatmap or ""),
        }
    return files
