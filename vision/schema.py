"""Names shared by the inspection code: classes, views, verdicts, mask bits and table columns."""

from __future__ import annotations

#: The per-item inspection classes of the tunnel contract, in output order.
CLASS_NAMES: tuple[str, ...] = ("damage", "wrong_color", "wrong_size", "packaging")

#: Classes that only mean something against the catalog reference of the product.
CATALOG_CLASSES: tuple[str, ...] = ("wrong_color", "wrong_size")

#: The six camera views of the synthetic tunnel (real tunnels may name and count views freely).
VIEW_NAMES: tuple[str, ...] = ("front", "back", "left", "right", "top", "bottom")

#: The single view of an item read from a class-folder or plain-image layout.
SINGLE_VIEW = "image"

PASS, REJECT, REVIEW = "pass", "reject", "review"
VERDICTS: tuple[str, ...] = (PASS, REJECT, REVIEW)

#: Per-view defect masks store one bit per class (bit i = CLASS_NAMES[i]) in an 8-bit grey PNG.
MASK_BITS: dict[str, int] = {name: 1 << i for i, name in enumerate(CLASS_NAMES)}

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

LABELS_FILE = "labels.csv"
CATALOG_FILE = "catalog.csv"
ITEMS_DIR = "items"
MASKS_DIR = "masks"


def score_column(class_name: str) -> str:
    """Column holding the probability of ``class_name`` in scored tables."""
    return f"score_{class_name}"
