"""The torch datasets that batch camera-tunnel items.

The dataset layouts, :class:`Item` and :class:`ItemSet`, the readers and the per-item loading
into NumPy arrays are torch-free and live in :mod:`vision.items` (they are re-exported here);
:class:`ItemDataset` turns what :class:`~vision.items.ItemLoader` loads into tensors, with an
optional in-memory cache, and :func:`collate_items` batches them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

from vision.catalog import REF_DIM
from vision.items import (
    CatalogHandling,
    Item,
    ItemLoader,
    ItemSet,
    choose_image_size,
    copy_groups,
    detect_layout,
    load_views,
    majority_mode,
    read_class_folders,
    read_items,
    read_plain_images,
    read_tunnel,
    stratified_split,
)

__all__ = [
    "CatalogHandling",
    "Item",
    "ItemDataset",
    "ItemLoader",
    "ItemSet",
    "TensorItems",
    "choose_image_size",
    "collate_items",
    "copy_groups",
    "detect_layout",
    "load_views",
    "majority_mode",
    "read_class_folders",
    "read_items",
    "read_plain_images",
    "read_tunnel",
    "stratified_split",
]


class ItemDataset(ItemLoader, Dataset):
    """Items of an :class:`ItemSet` as model inputs, one view slot per name in ``view_names``.

    A sample holds what :meth:`ItemLoader.load` loads, as tensors: ``images`` (``uint8``,
    views x 3 x S x S), ``view_mask`` (1 = view present), ``catalog`` (the reference input),
    ``labels`` (NaN when unknown), ``view_labels`` from masks with ``view_label_mask`` (1 where
    a view label is known), ``view_bits`` (the masks' defect bits per pixel, ``uint8``
    views x S x S, zero without masks), the item ``index`` and its ``errors`` (item problems and
    view problems as text) with ``view_errors`` (view -> reason). Images that fail to load (or
    are smaller than ``min_view_size`` pixels per side) leave their slot masked; nothing here
    raises for one bad item.
    """

    def __init__(
        self,
        item_set: ItemSet,
        view_names: Sequence[str],
        image_size: int,
        image_mode: str = "RGB",
        catalog: CatalogHandling | None = None,
        class_names: Sequence[str] | None = None,
        cache: bool = False,
        min_view_size: int = 1,
        resize: str = "squash",
    ):
        super().__init__(
            item_set,
            view_names,
            image_size,
            image_mode,
            catalog,
            class_names,
            min_view_size,
            resize,
        )
        self._cache: dict[int, dict] | None = {} if cache else None

    def __getitem__(self, index: int) -> dict:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        sample = self._load(index)
        if self._cache is not None:
            self._cache[index] = sample
        return sample

    def preload(self, progress: bool = False) -> ItemDataset:
        """Decode every item once into memory (turns caching on)."""
        from tqdm.auto import tqdm

        if self._cache is None:
            self._cache = {}
        for index in tqdm(
            range(len(self)), desc="loading images", disable=not progress, leave=False
        ):
            self[index]
        return self

    def _load(self, index: int) -> dict:
        arrays = self.load(index)
        sample = {"images": torch.from_numpy(arrays["images"]).permute(0, 3, 1, 2).contiguous()}
        for key in (
            "view_mask",
            "catalog",
            "labels",
            "view_labels",
            "view_label_mask",
            "view_bits",
        ):
            sample[key] = torch.from_numpy(arrays[key])
        sample.update(
            index=index,
            errors=arrays["errors"],
            view_errors=arrays["view_errors"],
            mask_errors=arrays["mask_errors"],
        )
        return sample


class TensorItems(Dataset):
    """In-memory items: ``images`` uint8 of shape (items, views, C, S, S) with C = 1 or 3.

    Grey images (C = 1) are replicated to three channels per sample, so memory holds them once.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        view_mask: torch.Tensor | None = None,
        catalog: torch.Tensor | None = None,
    ):
        if images.dtype != torch.uint8 or images.ndim != 5 or images.shape[2] not in (1, 3):
            raise ValueError(
                "images: expected uint8 of shape (items, views, 1|3, S, S), got "
                f"{tuple(images.shape)} {images.dtype}"
            )
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f"labels: {labels.shape[0]} rows for {images.shape[0]} items")
        self.images = images
        self.labels = labels.float()
        n, v = images.shape[:2]
        self.view_mask = view_mask.float() if view_mask is not None else torch.ones(n, v)
        self.catalog = catalog.float() if catalog is not None else torch.zeros(n, REF_DIM)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> dict:
        images = self.images[index]
        n_views, n_classes = images.shape[0], self.labels.shape[1]
        return {
            "images": images.expand(-1, 3, -1, -1),
            "view_mask": self.view_mask[index],
            "catalog": self.catalog[index],
            "labels": self.labels[index],
            "view_labels": torch.zeros(n_views, n_classes),
            "view_label_mask": torch.zeros(n_views),
            "view_bits": torch.zeros(n_views, 1, 1, dtype=torch.uint8),
            "index": index,
            "errors": [],
            "view_errors": {},
        }


def collate_items(samples: list[dict]) -> dict:
    """Stack samples into a batch; ``index`` and ``errors`` stay Python lists."""
    batch = {
        key: torch.stack([s[key] for s in samples])
        for key in (
            "images",
            "view_mask",
            "catalog",
            "labels",
            "view_labels",
            "view_label_mask",
            "view_bits",
        )
    }
    batch["index"] = [s["index"] for s in samples]
    batch["errors"] = [s["errors"] for s in samples]
    batch["view_errors"] = [s["view_errors"] for s in samples]
    return batch
