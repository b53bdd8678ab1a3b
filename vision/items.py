"""Dataset layouts on disk, the items they hold, and loading one item into NumPy arrays.

Torch-free (NumPy, pandas, Pillow), so the PyTorch datasets of :mod:`vision.datasets` and the
onnxruntime path of :mod:`serving.runtime.inspection` read items the same way.

**Tunnel layout** (one folder per item, one image per named view)::

    ROOT/
      items/<item_id>/<view>.png      any number of views, named by the file stem
      labels.csv                      item_id[,product_id][,location_id]
                                      [,damage,wrong_color,wrong_size,packaging]  (0/1)
      catalog.csv                     optional, see vision.catalog
      masks/<item_id>/<view>.png      optional per-view defect bits (schema.MASK_BITS)

Label columns are needed to train or calibrate, not to score. ``product_id`` ties an item to its
catalog row; ``location_id`` is passed through to scored tables so rejected units can be taken
off the right inventory position.

**Class-folder layout** (single-view defect datasets from elsewhere)::

    ROOT/<class>/*.png                one folder per class; ``good`` holds defect-free items

Every defect folder becomes a class of a multi-label model (one positive per image).

**Plain images** (``ROOT/*.png``) can be scored as single-view items without labels.

Problems with a whole table (a missing column, a label that is not 0/1, a duplicate id) raise
``ValueError`` naming the file, column and rows. Problems with one item (a missing folder or view,
an unreadable image, an unknown product) are recorded on that item and never stop the others:
:func:`load_views` and :class:`ItemLoader` leave the slot of a view that cannot be used masked
and say why.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kernels.io import read_table
from vision.catalog import Catalog, no_reference
from vision.images import (
    ACCEPTED_MODES,
    ImageLoadError,
    image_size,
    load_image,
    load_mask,
    peek_mode,
)
from vision.schema import (
    CATALOG_FILE,
    CLASS_NAMES,
    IMAGE_SUFFIXES,
    ITEMS_DIR,
    LABELS_FILE,
    LAYOUTS,
    MASK_BITS,
    MASKS_DIR,
    SINGLE_VIEW,
    VIEW_NAMES,
)


@dataclass
class Item:
    """One physical unit: its view images, catalog product, labels and any problems found."""

    item_id: str
    views: dict[str, Path]
    product_id: str | None = None
    location_id: str | None = None
    labels: np.ndarray | None = None
    masks: dict[str, Path] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)


@dataclass
class ItemSet:
    """Items read from one dataset root, with the class and view vocabularies they use."""

    root: Path
    layout: str
    items: list[Item]
    class_names: tuple[str, ...]
    view_names: tuple[str, ...]
    catalog: Catalog | None = None
    good_class: str | None = None

    @property
    def labeled(self) -> bool:
        return bool(self.items) and all(item.labels is not None for item in self.items)

    def label_matrix(self) -> np.ndarray:
        """``(items, classes)`` float labels; raises if any item has none."""
        missing = [item.item_id for item in self.items if item.labels is None]
        if missing:
            raise ValueError(f"{self.root}: items without labels: {_preview(missing)}")
        return np.stack([item.labels for item in self.items]).astype(np.float32)

    def subset(self, indices: Sequence[int]) -> ItemSet:
        """The items at ``indices`` (positions in ``items``), with this set's root, layout,
        names and catalog."""
        return ItemSet(
            self.root,
            self.layout,
            [self.items[i] for i in indices],
            self.class_names,
            self.view_names,
            self.catalog,
            self.good_class,
        )

    def issues(self) -> list[str]:
        """Every item's problems (missing folder, no images, not labelled), one line each,
        prefixed ``item <item_id>:``; empty when the set is clean."""
        return [f"item {item.item_id}: {msg}" for item in self.items for msg in item.issues]


def _preview(values: Sequence[object], limit: int = 5) -> str:
    values = [str(v) for v in values]
    more = f" (+{len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def _hidden(path: Path) -> bool:
    """A hidden file or folder (``.thumbnails/``, macOS ``._photo.png`` resource forks): tool
    state, not data."""
    return path.name.startswith(".")


SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini"})
"""Files an operating system writes into a folder it has shown (Windows' thumbnail caches and
folder settings): they say nothing of what a user put there."""


def _empty(folder: Path) -> bool:
    """Nothing a user put there: no entry but hidden and system files."""
    return all(_hidden(p) or p.name.lower() in SYSTEM_FILES for p in folder.iterdir())


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not _hidden(p) and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _class_folders(root: Path) -> list[Path]:
    """The folders of ``root`` that hold images directly, hidden ones left out."""
    return sorted(d for d in root.iterdir() if d.is_dir() and not _hidden(d) and _image_files(d))


def _item_names(files: Sequence[Path]) -> list[str]:
    """An item name per image file: its stem, or its whole name where two files of the folder
    share a stem (``a.png`` and ``a.jpg`` are two photos, and two items need two ids)."""
    stems = Counter(p.stem for p in files)
    names = {p.name for p in files}
    return [p.name if stems[p.stem] > 1 or p.stem in names else p.stem for p in files]


def _dataset_folder(root: str | Path) -> Path:
    """``root`` as a path, or a ValueError naming it: a file where a folder is expected, or
    nothing there."""
    root = Path(root)
    if root.is_file():
        raise ValueError(f"{root}: is a file, expected a dataset folder")
    if not root.is_dir():
        raise ValueError(f"{root}: dataset folder not found")
    return root


def detect_layout(root: str | Path) -> str:
    """``tunnel`` if ``ROOT/items`` exists, ``classes`` if sub-folders hold images, else
    ``images``."""
    root = _dataset_folder(root)
    if (root / ITEMS_DIR).is_dir():
        return "tunnel"
    if _class_folders(root):
        return "classes"
    if _image_files(root):
        return "images"
    raise ValueError(
        f"{root}: no dataset found: expected {ITEMS_DIR}/<item_id>/<view>.png (tunnel layout), "
        "<class>/*.png folders, or image files"
    )


def read_items(
    root: str | Path,
    layout: str = "auto",
    good_class: str = "good",
    require_labels: bool = False,
    class_names: Sequence[str] | None = None,
    to_score: bool = False,
) -> ItemSet:
    """Read a dataset root in any supported layout (``auto`` detects it); ``class_names``: a
    fitted model's classes, which class folders are labelled against (see
    :func:`read_class_folders`); ``to_score``: items to score, whose labels are not read."""
    root = _dataset_folder(root)
    if layout == "auto":
        layout = detect_layout(root)
    if layout == "tunnel":
        return read_tunnel(root, require_labels=require_labels)
    if layout == "classes":
        return read_class_folders(
            root, good_class=good_class, class_names=class_names, to_score=to_score
        )
    if layout == "images":
        if require_labels:
            raise ValueError(
                f"{root}: plain images carry no labels; use the tunnel or class layout"
            )
        return read_plain_images(root)
    raise ValueError(f"layout: expected 'auto' or one of {LAYOUTS}, got {layout!r}")


def _read_labels(path: Path, require_labels: bool) -> pd.DataFrame | None:
    if not path.is_file():
        if require_labels:
            raise ValueError(
                f"{path}: labels table not found (needed for training and calibration)"
            )
        return None
    frame = read_table(path, dtype=str, keep_default_na=False)
    if "item_id" not in frame.columns:
        raise ValueError(f"{path}: missing column 'item_id'")
    frame["item_id"] = frame["item_id"].str.strip()
    empty = frame["item_id"] == ""
    if empty.any():
        rows = [str(i + 2) for i in np.flatnonzero(empty.to_numpy())]
        raise ValueError(f"{path}: column 'item_id' is empty on lines {_preview(rows)}")
    dup = frame["item_id"].duplicated(keep=False)
    if dup.any():
        raise ValueError(f"{path}: duplicate item_id {_preview(sorted(set(frame.item_id[dup])))}")
    present = [c for c in CLASS_NAMES if c in frame.columns]
    if (present and len(present) != len(CLASS_NAMES)) or (require_labels and not present):
        missing = [c for c in CLASS_NAMES if c not in frame.columns]
        raise ValueError(f"{path}: missing label columns {missing}")
    for column in present:
        bad = ~frame[column].str.strip().isin(["0", "1"])
        if bad.any():
            raise ValueError(
                f"{path}: column '{column}' must be 0 or 1; bad values for items "
                f"{_preview(frame.item_id[bad].tolist())}"
            )
    for column in ("product_id", "location_id"):
        if column in frame.columns:
            frame[column] = frame[column].str.strip()
    return frame


def read_tunnel(root: str | Path, require_labels: bool = False) -> ItemSet:
    """Read the tunnel layout (see module docstring)."""
    root = _dataset_folder(root)
    items_dir = root / ITEMS_DIR
    if not items_dir.is_dir():
        raise ValueError(f"{root}: folder '{ITEMS_DIR}/' not found (tunnel layout)")
    labels = _read_labels(root / LABELS_FILE, require_labels)
    catalog = Catalog.read(root / CATALOG_FILE) if (root / CATALOG_FILE).is_file() else None
    has_labels = labels is not None and CLASS_NAMES[0] in labels.columns

    folders = {d.name: d for d in sorted(items_dir.iterdir()) if d.is_dir() and not _hidden(d)}
    order = list(labels["item_id"]) if labels is not None else []
    # The labels table's ids are read stripped of surrounding spaces, so a folder named with
    # them is found by its stripped name too (an exact name wins); otherwise one unit became
    # two rows: its labels with "folder not found" and its images "not listed".
    for name in list(folders):
        folders.setdefault(name.strip(), folders[name])
    # And by its composed Unicode form: a folder unpacked from a macOS archive spells "é" as
    # "e" and a combining accent where the labels table composes it (or the reverse), and the
    # unit was two rows, "folder not found" and "not listed", as with the spaces.
    for name in list(folders):
        folders.setdefault(unicodedata.normalize("NFC", name), folders[name])

    def folder_of(item_id: str) -> Path | None:
        return folders.get(item_id) or folders.get(unicodedata.normalize("NFC", item_id))

    listed = {folder.name for item_id in order if (folder := folder_of(item_id)) is not None}
    listed.update(order)
    order += [d.name for name, d in folders.items() if name == d.name and name not in listed]
    rows = labels.set_index("item_id") if labels is not None else None

    items: list[Item] = []
    view_counts: Counter[str] = Counter()
    for item_id in order:
        item = Item(item_id=item_id, views={})
        folder = folder_of(item_id)
        if folder is None:
            item.issues.append(f"folder {ITEMS_DIR}/{item_id}/ not found")
        else:
            for path in _image_files(folder):
                if path.stem in item.views:
                    item.issues.append(
                        f"view '{path.stem}' has two files; using {item.views[path.stem].name}"
                    )
                    continue
                item.views[path.stem] = path
            if not item.views:
                item.issues.append(f"folder {ITEMS_DIR}/{item_id}/ holds no images")
            mask_dir = root / MASKS_DIR / folder.name
            if mask_dir.is_dir():
                item.masks = {p.stem: p for p in _image_files(mask_dir)}
        if rows is not None and item_id in rows.index:
            row = rows.loc[item_id]
            item.product_id = row.get("product_id") or None
            item.location_id = row.get("location_id") or None
            if has_labels:
                item.labels = np.array([float(row[c]) for c in CLASS_NAMES], dtype=np.float32)
        elif rows is not None:
            item.issues.append(f"not listed in {LABELS_FILE}")
        view_counts.update(list(item.views))
        items.append(item)
    if not items:
        raise ValueError(f"{root}: no items found in {ITEMS_DIR}/")
    if require_labels:
        unlabeled = [item.item_id for item in items if item.labels is None]
        if unlabeled:
            raise ValueError(f"{root}: item folders not in {LABELS_FILE}: {_preview(unlabeled)}")
    # Views the model gets a slot for: those that at least half the items have, in the usual
    # tunnel order and then by name, so the order does not depend on which items lack a view.
    # A stray view that few items have is reported on those items and not used.
    with_views = sum(1 for item in items if item.views)
    common = [name for name, count in view_counts.items() if 2 * count >= with_views]

    def view_order(name: str) -> tuple:
        return (VIEW_NAMES.index(name) if name in VIEW_NAMES else len(VIEW_NAMES), name)

    view_names = tuple(sorted(common, key=view_order))
    return ItemSet(root, "tunnel", items, CLASS_NAMES, view_names, catalog)


def read_class_folders(
    root: str | Path,
    good_class: str = "good",
    class_names: Sequence[str] | None = None,
    to_score: bool = False,
) -> ItemSet:
    """Read ``ROOT/<class>/*.png``; ``good_class`` holds defect-free images.

    With ``class_names`` (a fitted model's classes, to calibrate or score it) the items are
    labelled against those classes: a folder may be missing (fresh good photos alone, or no
    example of a rare defect), one that is not a class of the model is refused by name.
    ``to_score``: items a fitted model scores (its own classes, not these labels): an empty
    folder is then like a missing one, as with ``class_names``."""
    root = _dataset_folder(root)
    folders = _class_folders(root)
    # A folder whose images all sit in sub-folders (damage/lot1/*.png) would vanish as a class,
    # and the images of a class folder's sub-folders (damage/*.png and damage/lot2/*.png) would
    # be left out of training and calibration without a word.
    nested = sorted(
        str(sub.relative_to(root))
        for d in root.iterdir()
        if d.is_dir() and not _hidden(d)
        for sub in d.iterdir()
        if sub.is_dir()
        and not _hidden(sub)
        and any(
            p.is_file()
            and p.suffix.lower() in IMAGE_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(sub).parts)
            for p in sub.rglob("*")
        )
    )
    if nested:
        raise ValueError(
            f"{root}: {_preview(nested)}: sub-folders of class folders hold images, which are "
            "not read; class folders hold their images directly (ROOT/<class>/*.png)"
        )
    if class_names is None and not to_score:
        # The classes come from the folders that hold images, so a defect folder left empty
        # by mistake vanished as a class and the model trained without it, without a word.
        # (A folder of other files, notes/readme.txt, is no class and stays ignored; one whose
        # images cannot be decoded is a class, refused when fitting finds none readable. A
        # fitted model's classes may lack examples, see above: an empty folder is then like a
        # missing one, and so it is in items to score: a batch with no dent/ photo today.)
        # A folder Windows Explorer opened holds a Thumbs.db, and vanished so all the same.
        empty = sorted(
            d.name for d in root.iterdir() if d.is_dir() and not _hidden(d) and _empty(d)
        )
        if empty:
            raise ValueError(
                f"{root}: class folders {empty} are empty: a class needs its images directly "
                "in its folder (ROOT/<class>/*.png); add them, or remove the folder"
            )
    names = [d.name for d in folders]
    if good_class not in names:
        raise ValueError(
            f"{root}: no '{good_class}/' folder of defect-free images; found class folders {names} "
            "(choose the good class with --good-class)"
        )
    if class_names is not None:
        class_names = tuple(class_names)
        unknown = [n for n in names if n != good_class and n not in class_names]
        if unknown:
            raise ValueError(
                f"{root}: class folders {unknown} are not classes of the model "
                f"{list(class_names)} (good class '{good_class}')"
            )
    else:
        class_names = tuple(n for n in names if n != good_class)
    if not class_names:
        raise ValueError(
            f"{root}: only the '{good_class}/' folder found; need at least one defect class"
        )
    items = []
    for folder in folders:
        labels = np.array([float(folder.name == c) for c in class_names], dtype=np.float32)
        files = _image_files(folder)
        for path, name in zip(files, _item_names(files)):
            items.append(
                Item(item_id=f"{folder.name}/{name}", views={SINGLE_VIEW: path}, labels=labels)
            )
    return ItemSet(root, "classes", items, class_names, (SINGLE_VIEW,), None, good_class)


def read_plain_images(root: str | Path) -> ItemSet:
    """Every image directly under ``root`` as an unlabeled single-view item."""
    root = Path(root)
    files = _image_files(root)
    if not files:
        raise ValueError(f"{root}: no image files")
    items = [
        Item(item_id=name, views={SINGLE_VIEW: path})
        for path, name in zip(files, _item_names(files))
    ]
    return ItemSet(root, "images", items, (), (SINGLE_VIEW,), None)


def majority_mode(item_set: ItemSet, limit: int = 200) -> str:
    """``L`` when most images are 8-bit grey, else ``RGB`` (read from file headers only).

    Up to ``limit`` images are read, spread over the items (class folders come in order, so
    the first ``limit`` would be one class's), and only images some model mode accepts vote:
    a 16-bit, bilevel or CMYK file is refused either way."""
    modes = Counter()
    # ceil(items / limit): every step-th item is at most ``limit`` items, spread to the last
    # folder. The floor read the first ``limit`` of 2 * limit - 1 items only (one step), so
    # with 550 photos it voted on the first folders' 200 and missed most of the last one.
    step = max(1, -(-len(item_set.items) // limit))
    for item in item_set.items[::step]:
        for path in item.views.values():
            mode = peek_mode(path)
            for model_mode, accepted in ACCEPTED_MODES.items():
                if mode in accepted:
                    modes[model_mode] += 1
        if sum(modes.values()) >= limit:
            break
    return "L" if modes["L"] > modes["RGB"] else "RGB"


def choose_image_size(item_set: ItemSet, max_size: int = 256, limit: int = 400) -> int:
    """A model input size from the data: the median longer side of (up to ``limit``) view
    images, rounded up to a multiple of 32, between 64 and ``max_size`` (rounded down to a
    multiple of 32: the backbone's cells then tile the image exactly, as the contrast path's
    test-time flips need).

    Keeping the native resolution where the compute budget allows keeps thin cracks and small
    pits several pixels wide; ``max_size`` bounds the cost of very large photos.
    """
    sides = []
    step = max(1, len(item_set.items) // limit)  # spread over classes (folders come in order)
    for item in item_set.items[::step]:
        for path in list(item.views.values())[:2]:
            size = image_size(path)
            if size is not None:
                sides.append(max(size))
    cap = max(32, max_size // 32 * 32)
    if not sides:
        return min(128, cap)
    side = int(np.ceil(float(np.median(sides)) / 32) * 32)
    return int(min(max(side, 64), cap))


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int, groups: Sequence[object] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split rows into (keep, held_out), holding out ``fraction`` of every label combination.

    Each stratum contributes ``round(fraction * n)`` rows, but keeps at least one: strata of one
    row stay in ``keep``, and a large ``fraction`` never holds out every row of a small stratum
    (a class the model would then never train on). ``groups`` (one key per row): rows of one
    key, copies of one item, are held out or kept together, counted as one in their stratum
    (the combination of the labels any of them has); a copy on each side would be validated
    on what it trained on. A class with enough positives for one (``round(fraction *
    positives) >= 1``) has at least one held out where its label combinations are each too
    small to give one.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction: expected 0 < fraction < 1, got {fraction!r}")
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    keys = (
        [tuple(row) for row in (labels.reshape(len(labels), -1) >= 0.5).astype(int)]
        if labels.ndim > 1
        else list(labels)
    )
    ids: dict[object, int] = {}
    group_of = range(len(keys)) if groups is None else [ids.setdefault(g, len(ids)) for g in groups]
    rows: dict[int, list[int]] = {}
    for index, group in enumerate(group_of):
        rows.setdefault(group, []).append(index)
    group_key: dict[int, object] = {}
    strata: dict[object, list[int]] = {}
    for group, members in rows.items():
        key = keys[members[0]]
        if labels.ndim > 1 and len(members) > 1:
            key = tuple(int(any(keys[i][k] for i in members)) for k in range(len(key)))
        group_key[group] = key
        strata.setdefault(key, []).append(group)
    held_groups: list[int] = []
    for key in sorted(strata, key=str):
        members = np.array(strata[key])
        rng.shuffle(members)
        take = min(int(round(fraction * len(members))), len(members) - 1)
        held_groups.extend(members[:take].tolist())
    if labels.ndim > 1 and rows:
        held_groups = _cover_classes(group_key, held_groups, fraction, rng)
    held = [i for group in held_groups for i in rows[group]]
    held_arr = np.array(sorted(held), dtype=int)
    keep = np.setdiff1d(np.arange(len(keys)), held_arr)
    return keep, held_arr


def _cover_classes(
    group_key: dict[int, object], held: list[int], fraction: float, rng: np.random.Generator
) -> list[int]:
    """``held`` plus, for each class with no group held out although its positives call for one,
    one of its groups: a class spread over several label combinations, each too small to hold a
    group out, had no validation positive at all (8 positives, fraction 0.2: none held out).
    The group moved comes from the combination with the most kept groups, and never takes a
    class's last kept positive."""
    groups = np.array(list(group_key))
    flags = np.array([group_key[g] for g in groups], dtype=int).astype(bool)
    out = np.isin(groups, held)
    for k in range(flags.shape[1]):
        positives = int(flags[:, k].sum())
        if min(int(round(fraction * positives)), positives - 1) < 1 or flags[out, k].any():
            continue
        kept = Counter(group_key[g] for g in groups[~out])
        options = [
            i
            for i in rng.permutation(np.flatnonzero(flags[:, k] & ~out))
            if all(flags[~out, j].sum() > 1 for j in np.flatnonzero(flags[i]))
        ]
        if options:
            out[max(options, key=lambda i: kept[group_key[groups[i]]])] = True
    return groups[out].tolist()


def _one_colour(view: np.ndarray) -> bool:
    """Whether a view's image is one colour (every pixel alike). Per pixel, not over the whole
    array: a colour camera's one-colour frame (a "no signal" blue) is not one value across its
    channels, and min != max keyed it, joining every unit whose camera showed it into one group
    (24 of 36 units held out together). Views are height x width x channels as
    :meth:`ItemLoader.load` gives them, or channels first as the training dataset's tensors."""
    if view.ndim == 3 and view.shape[-1] not in (1, 3):  # channels first
        view = np.moveaxis(view, 0, -1)
    pixels = view.reshape(-1, view.shape[-1] if view.ndim == 3 else 1)
    return bool((pixels == pixels[0]).all())


def copy_groups(
    item_set: ItemSet, load: Callable[[int], Mapping], indices: np.ndarray
) -> tuple[list[int], list[str]]:
    """A group per item of ``indices`` for the validation split, and a note per group of copies.

    Items whose model inputs are the same (one photo under two names, or in two class folders)
    are one group, and so are the files of one class folder that share a stem (``a.png`` and
    ``a.jpg``, often one photo in two formats) and multi-view items that share the image of a
    view (not a blank one): a copy on each side of the split would be validated and calibrated
    on what it trained on. ``load(index)``: the item's model inputs
    (``images`` and ``view_mask``, as :meth:`ItemLoader.load` gives them)."""
    parent = list(range(len(indices)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[object, int] = {}
    same_input: dict[bytes, list[int]] = {}
    same_view: dict[bytes, list[int]] = {}
    for position, index in enumerate(indices.tolist()):
        sample, item = load(index), item_set.items[index]
        images = np.ascontiguousarray(sample["images"])
        view_mask = np.ascontiguousarray(sample["view_mask"])
        digest = hashlib.sha256(images.tobytes())
        digest.update(view_mask.tobytes())
        keys: list[object] = [digest.digest()]
        same_input.setdefault(keys[0], []).append(position)
        if item_set.layout == "classes":
            path = next(iter(item.views.values()))
            keys.append((str(path.parent), path.stem))
        elif len(images) > 1:
            # One photo in two units' folders (a view the station stored twice) is a copy too:
            # keyed by the whole item only, a unit in validation was scored on a view the
            # network trained on under another unit's name and labels. Absent views and blank
            # frames (one colour: a dead camera) carry nothing of the item and join no one.
            for view, present in zip(images, view_mask.reshape(-1).tolist()):
                if present > 0 and not _one_colour(view):
                    key = b"view" + hashlib.sha256(np.ascontiguousarray(view).tobytes()).digest()
                    keys.append(key)
                    same_view.setdefault(key, []).append(position)
        for key in keys:
            other = first.setdefault(key, position)
            parent[find(position)] = find(other)
    notes = []
    for members in same_input.values():
        if len(members) > 1:
            names = [item_set.items[indices[i]].item_id for i in members]
            labels = {tuple(item_set.items[indices[i]].labels.tolist()) for i in members}
            differ = "; their labels differ" if len(labels) > 1 else ""
            notes.append(
                f"items {', '.join(names)}: the same images; kept on one side of the validation "
                f"split{differ}"
            )
    whole = {position: key for key, members in same_input.items() for position in members}
    for members in same_view.values():
        if len({whole[i] for i in members}) > 1:  # not already named as the same images
            names = sorted({item_set.items[indices[i]].item_id for i in members})
            notes.append(
                f"items {', '.join(names)}: a view with the same image; kept on one side of "
                "the validation split"
            )
    return [find(i) for i in range(len(indices))], notes


@dataclass
class CatalogHandling:
    """How items get their catalog input: from a catalog (``reference``) or not (``none``)."""

    mode: str = "none"
    catalog: Catalog | None = None
    size_scale: float = 1.0

    def reference(self, item: Item) -> tuple[np.ndarray, str | None]:
        """The catalog input of ``item`` and, when it cannot be built, the reason."""
        if self.mode != "reference":
            return no_reference(), None
        if not item.product_id:
            return no_reference(), "no product_id, so colour and size cannot be checked"
        if self.catalog is None or item.product_id not in self.catalog:
            return no_reference(), (
                f"product '{item.product_id}' not in the catalog, so colour and size cannot be "
                "checked"
            )
        return self.catalog.reference(item.product_id, self.size_scale), None

    def for_items(self, items_catalog: Catalog | None) -> CatalogHandling:
        """This handling with the rows of a scored dataset's own catalog added (or replacing
        rows of the same product); unchanged without a reference catalog."""
        if self.mode != "reference" or items_catalog is None:
            return self
        merged = items_catalog if self.catalog is None else self.catalog.merged_with(items_catalog)
        return CatalogHandling("reference", merged, self.size_scale)


#: The end of the note :func:`load_views` adds for images under names the model has no slot
#: for: reported on the item, but no gap in its inspection (every view of the model may be there).
IGNORED_VIEWS = "are not views of this model; ignored"


def inspected_completely(errors: Sequence[str]) -> bool:
    """Whether an item with these ``errors`` was inspected completely: no errors, or only the
    note that images under names the model does not use were ignored."""
    return all(e.startswith("views [") and e.endswith(IGNORED_VIEWS) for e in errors)


@dataclass
class LoadedViews:
    """An item's view images in the model's slots, and what went wrong with the others."""

    images: np.ndarray  # uint8 (views, S, S, 3), zeros in a masked slot
    mask: np.ndarray  # float32 (views,): 1 where the view was decoded and usable
    view_errors: dict[str, str]  # view -> "missing" or the reason it could not be used
    errors: list[str]  # the same as text, plus views that are not the model's


def load_views(
    sources: Mapping[str, Path | bytes],
    view_names: Sequence[str],
    size: int,
    image_mode: str = "RGB",
    min_size: int = 1,
    max_pixels: int | None = None,
    resize: str = "squash",
) -> LoadedViews:
    """Decode one item's views (files or uploaded bytes) into the slots of ``view_names``.

    A slot without a source is ``missing``; one whose image cannot be used (unreadable,
    truncated, a wrong mode, smaller than ``min_size`` or larger than ``max_pixels``) is masked
    with the reason, naming the file for a file. Sources under other names are reported and
    ignored.
    """
    n_views = len(view_names)
    images = np.zeros((n_views, size, size, 3), dtype=np.uint8)
    mask = np.zeros(n_views, dtype=np.float32)
    view_errors: dict[str, str] = {}
    errors: list[str] = []
    for slot, view in enumerate(view_names):
        source = sources.get(view)
        if source is None:
            view_errors[view] = "missing"
            errors.append(f"view '{view}': missing")
            continue
        try:
            images[slot] = load_image(source, size, image_mode, min_size, max_pixels, resize)
        except ImageLoadError as exc:
            if isinstance(source, bytes):
                view_errors[view] = str(exc)
                errors.append(f"view '{view}': {exc}")
            else:
                name = Path(source).name
                view_errors[view] = f"{name}: {exc}"
                errors.append(f"view '{view}' ({name}): {exc}")
            continue
        mask[slot] = 1.0
    extra = sorted(set(sources) - set(view_names))
    if extra:
        errors.append(f"views {extra} {IGNORED_VIEWS}")
    return LoadedViews(images, mask, view_errors, errors)


class ItemLoader:
    """Items of an :class:`ItemSet` as NumPy model inputs, one view slot per name in
    ``view_names`` (see :meth:`load`); :class:`vision.datasets.ItemDataset` wraps it for torch.

    Images that fail to load (or are smaller than ``min_view_size`` pixels per side) leave their
    slot masked; nothing here raises for one bad item.
    """

    def __init__(
        self,
        item_set: ItemSet,
        view_names: Sequence[str],
        image_size: int,
        image_mode: str = "RGB",
        catalog: CatalogHandling | None = None,
        class_names: Sequence[str] | None = None,
        min_view_size: int = 1,
        resize: str = "squash",
    ):
        self.items = item_set.items
        self.resize = resize
        self.view_names = tuple(view_names)
        self.image_size = int(image_size)
        self.image_mode = image_mode
        self.catalog = catalog or CatalogHandling()
        self.min_view_size = int(min_view_size)
        self.class_names = tuple(class_names if class_names is not None else item_set.class_names)
        self.label_names = tuple(item_set.class_names)  # the order of each item's labels
        # Dense mask targets only when the dataset has masks (they cost views x S x S bytes).
        self.has_masks = any(item.masks for item in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def _denied(self, item: Item, bits: int) -> list[str]:
        """Classes whose mask bit is in ``bits`` while ``item``'s labels say 0."""
        if item.labels is None:
            return []
        return [
            name
            for name, label in zip(self.label_names, item.labels)
            if label == 0 and bits & MASK_BITS.get(name, 0)
        ]

    def load(self, index: int) -> dict:
        """Item ``index``: ``images`` (``uint8``, views x S x S x 3), ``view_mask`` (1 = view
        present), ``catalog`` (the reference input), ``labels`` (NaN when unknown),
        ``view_labels`` from masks with ``view_label_mask`` (1 where a view label is known),
        ``view_bits`` (the masks' defect bits per pixel, ``uint8`` views x S x S, zero without
        masks), the ``index`` and its ``errors`` (item problems and view problems as text) with
        ``view_errors`` (view -> reason), and ``mask_errors``: masks that could not be read,
        which cost only their views' auxiliary labels (training reports them)."""
        item = self.items[index]
        size, n_views, n_classes = self.image_size, len(self.view_names), len(self.class_names)
        views = load_views(
            item.views,
            self.view_names,
            size,
            self.image_mode,
            self.min_view_size,
            resize=self.resize,
        )
        view_labels = np.zeros((n_views, n_classes), dtype=np.float32)
        view_label_mask = np.zeros(n_views, dtype=np.float32)
        mask_size = size if self.has_masks else 1
        bit_masks = np.zeros((n_views, mask_size, mask_size), dtype=np.uint8)
        mask_errors: list[str] = []
        if n_classes and self.has_masks:
            for slot, view in enumerate(self.view_names):
                mask_path = item.masks.get(view)
                if mask_path is None or not views.mask[slot]:
                    continue
                try:
                    view_size = image_size(item.views[view])
                    bit_masks[slot] = load_mask(mask_path, size, self.resize, view_size)
                except ImageLoadError as exc:
                    # A bad mask only costs this view's auxiliary labels, but it is named: a
                    # mask set in another mode would otherwise drop all supervision unseen.
                    mask_errors.append(f"mask of view '{view}' ({Path(mask_path).name}): {exc}")
                    continue
                bits = int(np.bitwise_or.reduce(bit_masks[slot], axis=None))
                denied = self._denied(item, bits)
                if denied:
                    # A view shows what its item has: the mask or the labels are wrong, and
                    # training on both would teach the views a class the item is taught not
                    # to have.
                    mask_errors.append(
                        f"mask of view '{view}' ({Path(mask_path).name}): marks {denied}, which "
                        "the item's labels say it does not have"
                    )
                    bit_masks[slot] = 0
                    continue
                view_labels[slot] = [
                    float(bool(bits & MASK_BITS.get(c, 0))) for c in self.class_names
                ]
                view_label_mask[slot] = 1.0
        errors = list(item.issues) + views.errors
        reference, why = self.catalog.reference(item)
        if why:
            errors.append(why)
        labels = item.labels if item.labels is not None else np.full(n_classes, np.nan, np.float32)
        return {
            "images": views.images,
            "view_mask": views.mask,
            "catalog": reference,
            "labels": np.asarray(labels, dtype=np.float32),
            "view_labels": view_labels,
            "view_label_mask": view_label_mask,
            "view_bits": bit_masks,
            "index": index,
            "errors": errors,
            "view_errors": views.view_errors,
            "mask_errors": mask_errors,
        }
