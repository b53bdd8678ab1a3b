"""The run folder: everything needed to score items with a trained inspection model.

::

    RUN_DIR/
      manifest.json   task, model spec, preprocessing, classes, views, catalog handling,
                      input/output names and shapes, calibrated thresholds, metrics, training
                      config and data fingerprint, library versions, sha256 of every file
      model.pt        state_dict of vision.model.InspectionNet (torch.save; loaded weights_only)
      catalog.csv     the training catalog, when the model uses catalog references
      checkpoints/, logs/   written by the Lightning trainer

The model file is checked against its sha256 before it is loaded.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vision.calibration import Thresholds
from vision.catalog import REFERENCE_FIELDS, Catalog
from vision.datasets import CatalogHandling
from vision.io import read_json, write_json, write_with
from vision.model import (
    ATTRIBUTES,
    INPUT_NAMES,
    OUTPUT_NAMES,
    InspectionNet,
    ModelSpec,
    catalog_class_indices,
)

MANIFEST = "manifest.json"
WEIGHTS = "model.pt"
CATALOG = "catalog.csv"
FORMAT = "stockcast.inspection-run/1"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    import lightning
    import numpy
    import torchvision

    try:
        from importlib.metadata import version

        stockcast = version("stockcast")
    except Exception:  # not installed as a distribution (e.g. run from a source tree)
        stockcast = "unknown"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "lightning": lightning.__version__,
        "numpy": numpy.__version__,
        "stockcast": stockcast,
    }


@dataclass
class RunInfo:
    """A run folder's manifest, parsed."""

    run_dir: Path
    manifest: dict[str, Any]
    spec: ModelSpec
    class_names: tuple[str, ...]
    view_names: tuple[str, ...]
    image_mode: str
    catalog: CatalogHandling
    thresholds: Thresholds | None

    def catalog_for(self, items_catalog: Catalog | None) -> CatalogHandling:
        """The run's catalog, with rows from the scored dataset's catalog added or replacing."""
        if self.catalog.mode != "reference" or items_catalog is None:
            return self.catalog
        merged = (
            items_catalog
            if self.catalog.catalog is None
            else (self.catalog.catalog.merged_with(items_catalog))
        )
        return CatalogHandling("reference", merged, self.catalog.size_scale)


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


def write_run(
    run_dir: str | Path,
    model: InspectionNet,
    *,
    class_names,
    view_names,
    image_mode: str,
    catalog: CatalogHandling,
    thresholds: Thresholds | None,
    threshold_source: str | None,
    training: dict[str, Any],
    metrics: dict[str, Any],
) -> Path:
    """Save weights, catalog and manifest into ``run_dir`` (each file written atomically)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    write_with(run_dir / WEIGHTS, lambda tmp: torch.save(state, tmp))
    files = {WEIGHTS: sha256_file(run_dir / WEIGHTS)}
    if catalog.mode == "reference" and catalog.catalog is not None:
        catalog.catalog.write(run_dir / CATALOG)
        files[CATALOG] = sha256_file(run_dir / CATALOG)
    spec = model.spec
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        probe = torch.zeros(1, len(view_names), 3, spec.image_size, spec.image_size, device=device)
        cells = int(
            model(
                probe,
                torch.ones(1, len(view_names), device=device),
                torch.zeros(1, len(REFERENCE_FIELDS), device=device),
            )[2].shape[-1]
        )
    model.train(was_training)
    manifest = {
        "format": FORMAT,
        "task": "inspection",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {**spec.to_dict(), "image_mode": image_mode, "weights": WEIGHTS},
        "preprocessing": {
            "image_mode": image_mode,
            "accepted_source_modes": {"RGB": ["RGB", "RGBA", "P"], "L": ["L"]}[image_mode],
            "channels": "RGB; grey sources replicated to 3 channels",
            "resize": [spec.image_size, spec.image_size],
            "interpolation": "bilinear (Pillow, antialiased)",
            "scale": "uint8 / 255 -> [0, 1]",
            "normalization": {
                "mean": list(spec.mean),
                "std": list(spec.std),
                "applied": "inside the model",
            },
        },
        "classes": list(class_names),
        "views": list(view_names),
        "catalog": {
            "mode": catalog.mode,
            "file": CATALOG if CATALOG in files else None,
            "size_scale_cm": catalog.size_scale,
            "reference_fields": list(REFERENCE_FIELDS),
            "missing_reference": "reference input all zeros; item verdict at least review",
            "attributes": ["red", "green", "blue", "width", "height", "depth"],
        },
        **model_io(spec, len(view_names), len(class_names), cells),
        "thresholds": (
            {**thresholds.to_dict(), "source": threshold_source} if thresholds is not None else None
        ),
        "verdict_rule": (
            "reject if any class score > its reject threshold; else review if any score > its "
            "review threshold or the inspection is incomplete; else pass"
        ),
        "metrics": metrics,
        "training": training,
        "versions": library_versions(),
        "files": files,
    }
    write_json(manifest, run_dir / MANIFEST)
    return run_dir


def read_run(run_dir: str | Path) -> RunInfo:
    """Parse and check ``run_dir/manifest.json``."""
    run_dir = Path(run_dir)
    path = run_dir / MANIFEST
    if not path.is_file():
        raise ValueError(f"{run_dir}: not a run folder ({MANIFEST} not found)")
    manifest = read_json(path)
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    model = dict(manifest["model"])
    image_mode = model.pop("image_mode")
    model.pop("weights", None)
    spec = ModelSpec.from_dict(model)
    class_names = tuple(manifest["classes"])
    cat = manifest["catalog"]
    catalog = None
    if cat.get("file"):
        catalog = Catalog.read(run_dir / cat["file"])
    handling = CatalogHandling(cat["mode"], catalog, float(cat["size_scale_cm"]))
    thresholds = (
        Thresholds.from_dict(manifest["thresholds"], class_names)
        if manifest.get("thresholds")
        else None
    )
    return RunInfo(
        run_dir,
        manifest,
        spec,
        class_names,
        tuple(manifest["views"]),
        image_mode,
        handling,
        thresholds,
    )


def load_model(
    run_dir: str | Path, device: torch.device | str = "cpu"
) -> tuple[InspectionNet, RunInfo]:
    """Build the run's model and load its weights (sha256-checked, ``weights_only``)."""
    info = read_run(run_dir)
    weights = info.run_dir / WEIGHTS
    expected = info.manifest.get("files", {}).get(WEIGHTS)
    if not weights.is_file():
        raise ValueError(f"{info.run_dir}: {WEIGHTS} not found")
    if expected and sha256_file(weights) != expected:
        raise ValueError(f"{weights}: sha256 does not match the manifest; the file was changed")
    color_index, size_index = catalog_class_indices(info.class_names)
    model = InspectionNet(
        info.spec,
        len(info.class_names),
        len(info.view_names),
        color_index=color_index,
        size_index=size_index,
    )
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(device).eval(), info


def update_thresholds(
    run_dir: str | Path, thresholds: Thresholds, source: str, metrics: dict[str, Any] | None = None
) -> Path:
    """Replace the run's thresholds (and calibration metrics) in its manifest, atomically."""
    info = read_run(run_dir)
    manifest = dict(info.manifest)
    manifest["thresholds"] = {**thresholds.to_dict(), "source": source}
    if metrics is not None:
        manifest["metrics"] = {**manifest.get("metrics", {}), "calibration": metrics}
    return write_json(manifest, info.run_dir / MANIFEST)
