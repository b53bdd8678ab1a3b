"""Camera-tunnel inspection: data layouts, a synthetic tunnel, multi-view CNNs, calibration.

The public API::

    from vision import Inspector
    inspector = Inspector(width=32, image_size=128).fit("tunnel", run_dir="runs/inspect")
    inspector.calibrate("fresh_labelled", target_frr=0.01)
    items, views = inspector.score("inbound", out="scores.csv")   # verdicts, per-view scores

The settings (:mod:`vision.config`) and names (:mod:`vision.schema`) load without torch.
``Inspector`` fits through the Lightning assembly of ``training``, which builds on this
package; it is exported lazily (on first use) so that importing ``vision`` loads neither
Lightning nor a cycle, and imports still point one way when the package loads.

Modules, from the data inwards:

* :mod:`vision.schema` — class, view, verdict, layout and column names shared by every module;
* :mod:`vision.config` — the settings dataclasses (model, data, calibration, scoring, synthetic);
* :mod:`vision.images` — reading one image with per-file errors;
* :mod:`vision.catalog` — what each product should look like (colour, dimensions);
* :mod:`vision.datasets` — the tunnel and class-folder layouts, torch datasets and batching;
* :mod:`vision.synthetic` — a deterministic synthetic camera tunnel rendered with numpy/PIL;
* :mod:`vision.synthetic_parts` — grey part photos of varying sizes with small defects, in
  class folders (the tunnel's single-view counterpart);
* :mod:`vision.backbones`, :mod:`vision.model` — torchvision backbones and multi-view fusion;
* :mod:`vision.augment` — label-preserving batch augmentation on the training device;
* :mod:`vision.calibration`, :mod:`vision.metrics` — thresholds for a false-reject rate, verdicts,
  AUROC and the any-defect score;
* :mod:`vision.heatmap`, :mod:`vision.scoring`, :mod:`vision.run` — scoring, overlays, the
  inspection entries of a run folder.

``training.inspector`` holds ``Inspector``; ``stockcast inspect`` drives it;
``training.pretrain`` pretrains a backbone self-supervised (``DataConfig.ssl_epochs``).
"""

from vision.config import (
    CalibrationConfig,
    DataConfig,
    ModelSpec,
    ScoreConfig,
    SyntheticConfig,
)
from vision.schema import BACKBONES, CLASS_NAMES, IMAGE_MODES, IMBALANCE_MODES, LAYOUTS, VIEW_NAMES

__all__ = [
    "BACKBONES",
    "CLASS_NAMES",
    "IMAGE_MODES",
    "IMBALANCE_MODES",
    "LAYOUTS",
    "VIEW_NAMES",
    "CalibrationConfig",
    "DataConfig",
    "Inspector",
    "ModelSpec",
    "ScoreConfig",
    "SyntheticConfig",
]


def __getattr__(name: str):
    if name == "Inspector":
        from training.inspector import Inspector

        return Inspector
    raise AttributeError(f"module 'vision' has no attribute {name!r}")
