"""Settings of inspection: the model, the data and calibration, synthetic tunnels, scoring.

Torch-free dataclasses whose fields carry their help, bounds and choices
(:func:`kernels.settings.setting`): :class:`vision.Inspector` takes them, ``stockcast inspect``
derives its flags and help defaults from them, and a YAML ``--config`` uses their field names
under one section each (``model:``, ``data:``, ``calibration:``, and ``train:`` for
:class:`training.config.ImageTrainConfig`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kernels.settings import check_settings, setting, settings_from_dict, settings_to_dict
from vision.schema import (
    AUGMENTATIONS,
    BACKBONES,
    IMAGE_MODES,
    IMBALANCE_MODES,
    LAYOUTS,
    MARK_MODES,
    OUTPUT_STRIDES,
    RESIZE_MODES,
    TTA_MODES,
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check_integers(obj: Any, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name}: expected an integer, got {value!r}")


@dataclass(frozen=True)
class ModelSpec:
    """Architecture and preprocessing of an inspection model (stored in the run manifest)."""

    backbone: str = setting("resnet18", "image backbone shared across views", choices=BACKBONES)
    width: int = setting(
        32,
        "resnet18 first-stage channels (64 = torchvision resnet18, needed for --pretrained)",
        min=8,
    )
    output_stride: int = setting(16, "backbone output stride", choices=OUTPUT_STRIDES)
    image_size: int = setting(
        0,
        "model input size, pixels per side (0: chosen from the data's image sizes)",
        min=0,
        max=1024,
    )
    resize: str = setting(
        "pad",
        "how a view becomes square: pad keeps its aspect ratio, squash stretches it",
        choices=RESIZE_MODES,
    )
    tta: str = setting(
        "auto",
        "test-time augmentation: logits averaged over flips/quarter turns "
        "(auto: the symmetries the training augmentation uses)",
        choices=TTA_MODES,
    )
    contrast: int = setting(
        -1,
        "structuring size in pixels of the top-hat contrast path, which makes small dark and "
        "bright marks (pits, thin cracks, scratches) per-cell evidence; 0: off; "
        "-1 (auto): 7 for class-folder data, off for the tunnel",
        min=-1,
        max=31,
    )
    marks: str = setting(
        "rms",
        "how the contrast path scales the top-hats: rms (by each image's root mean square, so a "
        "mark reads in units of the image's own texture; class weights kept non-negative) or "
        "gain (times 10, signed weights: runs saved before 2026-12-05)",
        choices=MARK_MODES,
    )
    mark_scales: int = setting(
        3,
        "scales of the contrast path: the top-hats of the grey image and of its 2x2, 4x4, ... "
        "averages, one head each (1: the image only, what runs saved before 2026-12-05 read)",
        min=1,
        max=4,  # an 8x8 average still fits in a cell of the smallest output stride, 16
    )
    head_dim: int = setting(128, "channels of the defect and attribute heads", min=1)
    embed_dim: int = setting(32, "size of the catalog and view embeddings", min=1)
    mean: tuple[float, float, float] = setting(
        IMAGENET_MEAN, "per-channel normalization mean (applied inside the model)", cli=False
    )
    std: tuple[float, float, float] = setting(
        IMAGENET_STD, "per-channel normalization std (applied inside the model)", cli=False
    )

    def __post_init__(self) -> None:
        _check_integers(
            self,
            (
                "width",
                "output_stride",
                "image_size",
                "contrast",
                "mark_scales",
                "head_dim",
                "embed_dim",
            ),
        )
        check_settings(self)
        if self.contrast == 1 or (self.contrast > 0 and self.contrast % 2 == 0):
            raise ValueError(
                f"contrast: expected -1 (auto), 0 (off) or an odd size >= 3, got {self.contrast}"
            )
        if 0 < self.image_size < 32:
            raise ValueError(f"image_size: expected 0 (auto) or >= 32, got {self.image_size}")
        # 32 is today's default and 64 the default runs were saved with; other values would
        # suggest a knob the torchvision feature extractors do not have.
        if self.backbone != "resnet18" and self.width not in (32, 64):
            raise ValueError(
                f"width: only resnet18 has a width option, got {self.width} for {self.backbone}"
            )
        for name in ("mean", "std"):
            if len(getattr(self, name)) != 3:
                raise ValueError(f"{name}: expected 3 values, got {getattr(self, name)!r}")
        # The model computes (pixels - mean) / std: a std of 0, below 0 or NaN trains on
        # infinite or NaN inputs.
        if not all(math.isfinite(v) for v in (*self.mean, *self.std)) or min(self.std) <= 0:
            raise ValueError(
                f"mean, std: expected finite values and std > 0, got {self.mean!r}, {self.std!r}"
            )

    @property
    def feature_stride(self) -> int:
        """Pixels per cell of the backbone's last feature map: ``output_stride`` for resnet18;
        the torchvision feature extractors stay at 32 whatever ``output_stride`` says."""
        return self.output_stride if self.backbone == "resnet18" else 32

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON/YAML types (tuples become lists), as a manifest keeps them."""
        return settings_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> ModelSpec:
        """From a mapping of field names (a YAML ``model`` section); unknown keys are named."""
        values = dict(values or {})
        for key in ("mean", "std"):
            if key in values:
                given = values[key]
                if not isinstance(given, list | tuple) or any(
                    isinstance(v, bool) or not isinstance(v, int | float) for v in given
                ):
                    raise ValueError(f"{key}: expected a list of 3 numbers, got {given!r}")
                values[key] = tuple(float(v) for v in given)
        return settings_from_dict(cls, values, "model settings")


@dataclass
class DataConfig:
    """How a dataset is read and split, and how the training loss treats it."""

    layout: str = setting("auto", "dataset layout (auto: detected)", choices=("auto", *LAYOUTS))
    good_class: str = setting("good", "class folder of defect-free images (class layout)")
    image_mode: str = setting(
        "auto",
        "model image mode (auto: RGB for tunnels, else the mode of most images)",
        choices=("auto", *IMAGE_MODES),
    )
    val_fraction: float = setting(
        0.2,
        "share of items held out for early stopping and calibration",
        min=0,
        open_min=True,
        max=0.9,
    )
    imbalance: str = setting(
        "auto",
        "class-imbalance handling (auto: balanced batches for class folders, pos_weight for "
        "tunnels)",
        choices=IMBALANCE_MODES,
    )
    max_image_size: int = setting(
        256,
        "largest model input chosen from the data when image_size is 0 (auto)",
        min=32,
        max=1024,
    )
    augmentation: str = setting(
        "auto",
        "training augmentation: auto (tunnel for tunnels; for class folders parts, without "
        "quarter turns when the images share a direction), tunnel, parts (flips, quarter turns, "
        "small rotations, light), cells (flips and quarter turns, light), upright (no flips or "
        "turns: for classes an orientation defines, an upside-down label), none",
        choices=AUGMENTATIONS,
    )
    view_loss_weight: float = setting(0.5, "weight of the per-view loss", min=0)
    pretrained: str | None = setting(
        None, "local torchvision state_dict for the backbone (nothing is downloaded)"
    )
    ssl_epochs: int = setting(
        0,
        "epochs of self-supervised (SimCLR) pretraining of the backbone on the training images "
        "before training (0: off)",
        min=0,
    )
    min_view_size: int = setting(
        16,
        "smallest usable view image, pixels per side; a smaller one is reported as unreadable",
        min=1,
    )

    def __post_init__(self) -> None:
        _check_integers(self, ("min_view_size", "max_image_size", "ssl_epochs"))
        check_settings(self)
        if self.ssl_epochs and self.pretrained:
            raise ValueError(
                "ssl_epochs and pretrained: choose one start for the backbone (self-supervised "
                "pretraining on the training images, or weights from a file)"
            )

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON/YAML types (tuples become lists), as a manifest keeps them."""
        return settings_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> DataConfig:
        """From a mapping of field names (a YAML ``data`` section); unknown keys are named."""
        return settings_from_dict(cls, values, "data settings")


@dataclass
class CalibrationConfig:
    """The false-reject rate the reject thresholds are set for, and the review band below."""

    target_frr: float = setting(
        0.01, "target false-reject rate on good items", min=0, open_min=True, max=0.5
    )
    review_rate: float = setting(
        0.04, "extra share of good items sent to review below the reject thresholds", min=0
    )

    def __post_init__(self) -> None:
        check_settings(self)
        if self.target_frr + self.review_rate >= 1:
            raise ValueError(
                f"review_rate: target_frr + review_rate must stay below 1, got "
                f"{self.target_frr} + {self.review_rate}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON/YAML types (tuples become lists), as a manifest keeps them."""
        return settings_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> CalibrationConfig:
        """From a mapping of field names (a YAML ``calibration`` section); unknown keys named."""
        return settings_from_dict(cls, values, "calibration settings")


@dataclass
class ScoreConfig:
    """How items are scored: batch size, heatmaps, progress bars."""

    batch_size: int = setting(16, "items per batch", min=1)
    heatmaps: bool = setting(True, "write a heatmap overlay per view (PNG)")
    progress: bool = setting(True, "progress bars")

    def __post_init__(self) -> None:
        _check_integers(self, ("batch_size",))
        check_settings(self)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON/YAML types (tuples become lists), as a manifest keeps them."""
        return settings_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> ScoreConfig:
        """From a mapping of field names (keywords, a manifest entry); unknown keys are named."""
        return settings_from_dict(cls, values, "score settings")


@dataclass
class SyntheticConfig:
    """A synthetic camera tunnel (:mod:`vision.synthetic`): how many items, drawn how."""

    items: int = setting(600, "number of items", min=1)
    seed: int = setting(0, "seed of the item draw", min=0)
    image_size: int = setting(128, "pixels per side", min=16)
    defect_rate: float = setting(0.2, "probability of each defect class per item", min=0, max=1)
    products: int = setting(12, "catalog size", min=1)
    catalog_seed: int = setting(0, "seed of the catalog; sets sharing it share products", min=0)
    progress: bool = setting(True, "progress bars")

    def __post_init__(self) -> None:
        _check_integers(self, ("items", "seed", "image_size", "products", "catalog_seed"))
        check_settings(self)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON/YAML types (tuples become lists), as a manifest keeps them."""
        return settings_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> SyntheticConfig:
        """From a mapping of field names (keywords, a manifest entry); unknown keys are named."""
        return settings_from_dict(cls, values, "synthetic tunnel settings")
