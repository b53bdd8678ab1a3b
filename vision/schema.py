"""Names shared by the inspection code: classes, views, verdicts, layouts, modes and columns.

Torch-free, so the settings (:mod:`vision.config`) and the command line use the same lists as
the models and datasets.
"""

from __future__ import annotations

#: The per-item inspection classes of the tunnel contract, in output order.
CLASS_NAMES: tuple[str, ...] = ("damage", "wrong_color", "wrong_size", "packaging")

#: The six camera views of the synthetic tunnel (real tunnels may name and count views freely).
VIEW_NAMES: tuple[str, ...] = ("front", "back", "left", "right", "top", "bottom")

#: The single view of an item read from a class-folder or plain-image layout.
SINGLE_VIEW = "image"

PASS, REJECT, REVIEW = "pass", "reject", "review"

#: Per-view defect masks store one bit per class (bit i = CLASS_NAMES[i]) in an 8-bit grey PNG.
MASK_BITS: dict[str, int] = {name: 1 << i for i, name in enumerate(CLASS_NAMES)}

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

#: Dataset layouts on disk (see :mod:`vision.datasets`); ``auto`` detects one of them.
LAYOUTS: tuple[str, ...] = ("tunnel", "classes", "images")

#: Synthetic datasets ``stockcast inspect generate`` writes, the first when none is asked for: a
#: camera tunnel (:mod:`vision.synthetic`, tunnel layout) or part photos in class folders
#: (:mod:`vision.synthetic_parts`).
SYNTHETIC_KINDS: tuple[str, ...] = ("tunnel", "parts")

#: Image modes a model reads: 3-channel colour or 8-bit grey (replicated to 3 channels).
IMAGE_MODES: tuple[str, ...] = ("RGB", "L")

#: Image backbones of :mod:`vision.backbones`.
BACKBONES: tuple[str, ...] = (
    "resnet18",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
)

#: Output strides of the backbone's last stage (16 gives heatmaps more cells).
OUTPUT_STRIDES: tuple[int, ...] = (16, 32)

#: Class-imbalance handling (``training.inspect_task.imbalance_weights``): BCE ``pos_weight``
#: per class (or its square root), ``balanced`` batches that draw every label combination
#: (good, each defect class) equally often, or nothing; ``auto``: balanced for class folders
#: (one label per image), pos_weight for tunnels (multi-label items).
IMBALANCE_MODES: tuple[str, ...] = ("auto", "pos_weight", "sqrt_pos_weight", "balanced", "none")
#: Training augmentations by name (:func:`vision.augment.preset_augment`); ``auto`` picks by the
#: layout and, for class folders, by whether the images share a direction of structure.
AUGMENTATIONS: tuple[str, ...] = ("auto", "tunnel", "parts", "cells", "upright", "none")

#: How a view image becomes the model's square input: ``pad`` keeps its aspect ratio (scaled so
#: its longer side fits, the rest filled with its border colour); ``squash`` stretches it.
RESIZE_MODES: tuple[str, ...] = ("pad", "squash")

#: Test-time augmentation inside the network (eval mode): logits averaged over the identity and
#: its horizontal flip (``hflip``), all four flips (``flips``), or all eight flips and quarter
#: turns (``dihedral``); ``auto`` follows the training augmentation's symmetries.
TTA_MODES: tuple[str, ...] = ("auto", "none", "hflip", "flips", "dihedral")
# How the contrast path reads the top-hats: "rms", each image's marks over their root mean
# square with non-negative class weights; "gain", times a fixed gain with signed weights (runs
# saved before the choice existed).
MARK_MODES: tuple[str, ...] = ("rms", "gain")

LABELS_FILE = "labels.csv"
CATALOG_FILE = "catalog.csv"
ITEMS_DIR = "items"
MASKS_DIR = "masks"


def score_column(class_name: str) -> str:
    """Column holding the probability of ``class_name`` in scored tables."""
    return f"score_{class_name}"


# Optimizers of image training: AdamW, or Nesterov SGD (the from-scratch ResNet recipe).
OPTIMIZERS: tuple[str, ...] = ("adamw", "sgd")
