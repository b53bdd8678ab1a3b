"""What an inspection run folder holds beyond the shared run format of :mod:`kernels.runfolder`.

::

    RUN_DIR/
      manifest.json   the shared manifest (task ``inspection``: settings, data fingerprint,
                      metrics, library versions, sha256 of every file) with the inspection
                      entries of :func:`manifest_entries`: model spec and weights file,
                      preprocessing, classes, views, catalog handling, input/output names and
                      shapes, calibrated thresholds and the verdict rule
      model.pt        state_dict of vision.model.InspectionNet (torch.save; loaded weights_only)
      catalog.csv     the training catalog, when the model uses catalog references
      checkpoints/, logs/   written by the Lightning trainer (runs written by ``fit``)

:func:`read_model` rebuilds the network from a manifest that ``read_manifest`` has checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kernels.io import load_weights, save_weights
from kernels.runfolder import manifest_entry, reading_entry
from vision.calibration import Thresholds
from vision.catalog import REFERENCE_FIELDS, Catalog
from vision.images import ACCEPTED_MODES, DECODING
from vision.items import CatalogHandling
from vision.model import (
    ATTRIBUTES,
    INPUT_NAMES,
    OUTPUT_NAMES,
    InspectionNet,
    ModelSpec,
    catalog_class_indices,
)

TASK = "inspection"
WEIGHTS = "model.pt"
CATALOG = "catalog.csv"
VERDICT_RULE = (
    "reject if any class score > its reject threshold; else review if any score > its "
    "review threshold or the inspection is incomplete; else pass"
)


@dataclass
class RunModel:
    """A fitted network and what scoring needs to feed it, as stored in a run folder."""

    net: InspectionNet
    class_names: tuple[str, ...]
    view_names: tuple[str, ...]
    image_mode: str
    catalog: CatalogHandling
    thresholds: Thresholds | None
    threshold_source: str | None


def build_net(
    spec: ModelSpec, class_names, view_names, pretrained: str | None = None
) -> InspectionNet:
    """A fresh :class:`InspectionNet` for these classes and views."""
    color_index, size_index = catalog_class_indices(class_names)
    return InspectionNet(
        spec,
        len(class_names),
        len(view_names),
        pretrained=pretrained,
        color_index=color_index,
        size_index=size_index,
    )


def model_io(spec: ModelSpec, n_views: int, n_classes: int, cells: int) -> dict[str, Any]:
    """Names, shapes and dtypes of the model's inputs and outputs (``batch`` is dynamic)."""
    s = spec.image_size
    shapes_in = [["batch", n_views, 3, s, s], ["batch", n_views], ["batch", len(REFERENCE_FIELDS)]]
    shapes_out = [
        ["batch", n_classes],
        ["batch", n_views, n_classes],
        ["batch", n_views, n_classes, cells, cells],
        ["batch", ATTRIBUTES],
    ]
    return {
        "inputs": [
            {"name": n, "shape": sh, "dtype": "float32"} for n, sh in zip(INPUT_NAMES, shapes_in)
        ],
        "outputs": [
            {"name": n, "shape": sh, "dtype": "float32"} for n, sh in zip(OUTPUT_NAMES, shapes_out)
        ],
    }


def heatmap_cells(net: InspectionNet, n_views: int) -> int:
    """Cells per side of the model's heatmaps (one probe forward on zeros)."""
    spec = net.spec
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    with torch.no_grad():
        probe = torch.zeros(1, n_views, 3, spec.image_size, spec.image_size, device=device)
        cells = int(
            net(
                probe,
                torch.ones(1, n_views, device=device),
                torch.zeros(1, len(REFERENCE_FIELDS), device=device),
            )[2].shape[-1]
        )
    net.train(was_training)
    return cells


def thresholds_entry(thresholds: Thresholds | None, source: str | None) -> dict | None:
    """The manifest's ``thresholds`` entry (``None`` before calibration)."""
    if thresholds is None:
        return None
    return {**thresholds.to_dict(), "source": source}


def write_model_files(folder: Path, model: RunModel) -> None:
    """Write ``model.pt`` and, for a catalog model, ``catalog.csv`` into ``folder``."""
    state = {k: v.detach().cpu() for k, v in model.net.state_dict().items()}
    save_weights(state, folder / WEIGHTS)
    if model.catalog.mode == "reference" and model.catalog.catalog is not None:
        model.catalog.catalog.write(folder / CATALOG)


def manifest_entries(folder: Path, model: RunModel, min_view_size: int) -> dict[str, Any]:
    """The inspection entries of a run's manifest (beside the shared ones)."""
    spec = model.net.spec
    return {
        "model": {**spec.to_dict(), "image_mode": model.image_mode, "weights": WEIGHTS},
        "preprocessing": {
            "image_mode": model.image_mode,
            "accepted_source_modes": list(ACCEPTED_MODES[model.image_mode]),
            "min_view_size": min_view_size,
            "channels": "RGB; grey sources replicated to 3 channels",
            **DECODING,
            "resize": [spec.image_size, spec.image_size],
            "resize_mode": spec.resize,
            "test_time_augmentation": spec.tta,
            "interpolation": "bilinear (Pillow, antialiased)",
            "scale": "uint8 / 255 -> [0, 1]",
            "normalization": {
                "mean": list(spec.mean),
                "std": list(spec.std),
                "applied": "inside the model",
            },
        },
        "classes": list(model.class_names),
        "views": list(model.view_names),
        "catalog": {
            "mode": model.catalog.mode,
            "file": CATALOG if (folder / CATALOG).is_file() else None,
            "size_scale_cm": model.catalog.size_scale,
            "reference_fields": list(REFERENCE_FIELDS),
            "missing_reference": "reference input all zeros; item verdict at least review",
            "attributes": ["red", "green", "blue", "width", "height", "depth"],
        },
        **model_io(
            spec,
            len(model.view_names),
            len(model.class_names),
            heatmap_cells(model.net, len(model.view_names)),
        ),
        "thresholds": thresholds_entry(model.thresholds, model.threshold_source),
        "verdict_rule": VERDICT_RULE,
    }


def read_model(folder: str | Path, manifest: dict[str, Any]) -> RunModel:
    """Rebuild the network of a checked run folder and load its weights (``weights_only``).

    Weights that are not this model's (truncated, foreign, another architecture) raise a
    :class:`~kernels.io.FileError` naming the file.
    """
    folder = Path(folder)
    entry = dict(manifest_entry(manifest, folder, "model"))
    classes = manifest_entry(manifest, folder, "classes", list)
    views = manifest_entry(manifest, folder, "views", list)
    cat = manifest_entry(manifest, folder, "catalog")
    stored = manifest.get("thresholds")
    with reading_entry(folder, "model"):
        image_mode = entry.pop("image_mode")
        weights = folder / entry.pop("weights", WEIGHTS)
        # Runs written before letterboxing and test-time augmentation squashed and ran once.
        entry.setdefault("resize", "squash")
        entry.setdefault("tta", "none")
        # Runs written before the choices read their top-hats at full resolution only, times a
        # fixed gain.
        entry.setdefault("marks", "gain")
        entry.setdefault("mark_scales", 1)
        spec = ModelSpec.from_dict(entry)
        class_names, view_names = tuple(map(str, classes)), tuple(map(str, views))
        net = build_net(spec, class_names, view_names)
    with reading_entry(folder, "catalog"):
        catalog = Catalog.read(folder / cat["file"]) if cat.get("file") else None
        handling = CatalogHandling(cat["mode"], catalog, float(cat["size_scale_cm"]))
    with reading_entry(folder, "thresholds"):
        thresholds = Thresholds.from_dict(stored, class_names) if stored else None
    load_weights(net, weights)
    return RunModel(
        net.eval(),
        class_names,
        view_names,
        image_mode,
        handling,
        thresholds,
        stored.get("source") if stored else None,
    )
