"""Training the multi-view inspection model through the shared trainer assembly.

:class:`InspectionTask` is the LightningModule. Loss: multi-label BCE on the item logits with a
per-class ``pos_weight`` (negatives / positives) against class imbalance; where per-view defect
masks exist, class-balanced BCE on the per-view logits and on the class-activation cells (defect
cells are rare, so positives and negatives are averaged separately). On-device augmentation that
moves masks with the pixels, AdamW with a one-cycle schedule, optional class-balanced sampling,
an exponential moving average (EMA) of the weights that validation and the result use, and
per-class plus any-defect validation AUROC (what checkpoints and early stopping follow). It
builds its own data loaders so that under DDP each rank reads its shard.

:func:`fit_inspector` fits a model on torch datasets (used by the benchmarks and by
:class:`training.inspector.Inspector`, which goes from a dataset folder to a run folder).
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import (
    DataLoader,
    Dataset,
    DistributedSampler,
    RandomSampler,
    Sampler,
    WeightedRandomSampler,
)

from training.config import TrainConfig
from training.trainer import FitResult, fit
from vision.augment import AugmentSpec, augment_batch
from vision.datasets import ItemSet, collate_items
from vision.heatmap import grid_cell
from vision.metrics import any_defect, auroc, per_class_auroc
from vision.model import InspectionNet, ModelSpec
from vision.run import build_net
from vision.schema import IMBALANCE_MODES, MASK_BITS, OPTIMIZERS


def imbalance_weights(
    labels: np.ndarray, mode: str = "pos_weight", max_weight: float = 20.0
) -> np.ndarray | None:
    """Per-class BCE ``pos_weight`` = negatives / positives (or its square root), capped.

    Rare defects would otherwise barely move the loss; the cap keeps a handful of positives from
    dominating it. Classes without positives get weight 1 (nothing to up-weight).
    """
    if mode not in IMBALANCE_MODES:
        raise ValueError(f"imbalance: expected one of {IMBALANCE_MODES}, got {mode!r}")
    if mode in ("none", "balanced"):  # balanced: the batches are balanced instead
        return None
    labels = np.asarray(labels) >= 0.5
    pos = labels.sum(axis=0).astype(np.float64)
    neg = len(labels) - pos
    ratio = np.where(pos > 0, neg / np.maximum(pos, 1), 1.0)
    if mode == "sqrt_pos_weight":
        ratio = np.sqrt(ratio)
    return np.clip(ratio, 1.0, max_weight).astype(np.float32)


def balanced_sample_weights(labels: np.ndarray) -> np.ndarray:
    """One sampling weight per item so that every label combination (good, each defect class,
    each combination that occurs) is drawn equally often: 1 / its count."""
    keys = np.packbits(np.asarray(labels) >= 0.5, axis=1)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return 1.0 / counts[inverse.ravel()]


def channels_last(images: torch.Tensor) -> torch.Tensor:
    """``(batch, views, C, H, W)`` with channel-fastest strides, so the model's per-view batch is
    channels-last for oneDNN/cuDNN (up to ~1.5x faster convolutions on CPU)."""
    return images.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)


def channels_last_safe(model: torch.nn.Module) -> bool:
    """Whether ``model`` may train channels-last. oneDNN's AVX-512 weight gradient of a strided
    1x1 convolution with few input channels kills the process (a segmentation fault) on
    channels-last inputs: a resnet18 of width 8 (its layer2 shortcut, 8 -> 16 channels at
    stride 2) trained on 192 px images or larger. Such a network, small anyway, trains in the
    default layout."""
    return not any(
        isinstance(m, torch.nn.Conv2d)
        and m.kernel_size == (1, 1)
        and max(m.stride) > 1
        and m.in_channels < 16
        for m in model.modules()
    )


def balanced_bce_sums(
    logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """``(4, K)``: per class the BCE summed over the positive samples, their count, the BCE
    summed over the negative samples and their count (see :func:`balanced_bce`); sums of
    several batches give the loss of all their samples at once."""
    logits, target = logits.float(), target.float()
    valid = valid.float().expand_as(target)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    dims = tuple(range(target.ndim - 1))
    pos, neg = target * valid, (1 - target) * valid
    return torch.stack(
        [(loss * pos).sum(dims), pos.sum(dims), (loss * neg).sum(dims), neg.sum(dims)]
    )


def balanced_from_sums(sums: torch.Tensor) -> torch.Tensor:
    """:func:`balanced_bce` from the sums of :func:`balanced_bce_sums`."""
    pos_sum, pos_n, neg_sum, neg_n = sums
    pos_loss = pos_sum / pos_n.clamp_min(1.0)
    neg_loss = neg_sum / neg_n.clamp_min(1.0)
    has_pos = (pos_n > 0).to(pos_loss.dtype)
    has_neg = (neg_n > 0).to(neg_loss.dtype)
    per_class = (pos_loss * has_pos + neg_loss * has_neg) / (has_pos + has_neg).clamp_min(1.0)
    return per_class.mean()


def balanced_bce(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """BCE averaged separately over the positive and the negative samples of each class.

    ``logits``/``target`` end in the class axis; ``valid`` broadcasts to them (0 = ignore). Defect
    pixels are a fraction of a percent of all cells (and defect views a few percent of views), so
    a plain mean would teach the heads to say "no defect" everywhere before they learn to look.
    Classes without positives in the batch use their negatives only.
    """
    return balanced_from_sums(balanced_bce_sums(logits, target, valid))


def mask_cells(hit: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``(N, K, h, w)``: 1 where a cell of the backbone's ``h`` x ``w`` grid covers a pixel of
    ``hit`` ``(N, K, S, S)`` (0/1).

    The backbone's cells are ``cell`` pixels each from the top-left corner, the last one
    partial where the side is not a multiple of the stride (as the overlay, the contrast path's
    cell maximum and the test-time augmentation read them). Adaptive pooling splits the side
    evenly instead: at 100 px and a 4x4 grid its bins are 25 px, so a defect at x = 80 (cell 2,
    pixels 64-95, where the contrast path puts its evidence) was taught to cell 3 and cell 2 was
    taught to stay cold."""
    cell = grid_cell(hit.shape[-1], (h, w)) if hit.shape[-2] == hit.shape[-1] else None
    if cell is None:
        return F.adaptive_max_pool2d(hit, (h, w))
    return F.max_pool2d(hit, cell, stride=cell, ceil_mode=True)[..., :h, :w]


class _PassSeeded(Sampler[int]):
    """A random sampler whose every pass (epoch) draws from a generator of its own, seeded by
    ``seed`` and the pass's number.

    One generator carried from pass to pass made a pass depend on how far the loader had read
    the one before: ``RandomSampler`` draws a last, empty permutation (or with replacement, its
    indices 32 at a time) only when read past its end, which persistent workers' read-ahead
    does and a loader without workers does not, so the same seed trained on other batches from
    the second epoch on with ``num_workers`` 2 than with 0."""

    def __init__(self, make, seed: int):
        self.make, self.seed, self.passes = make, seed, 0

    def __len__(self) -> int:
        return len(self.make(torch.Generator()))

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.passes)
        self.passes += 1
        return iter(self.make(generator))


class InspectionTask(pl.LightningModule):
    """Fits an :class:`InspectionNet` on item batches from ``vision.datasets``."""

    def __init__(
        self,
        model: InspectionNet,
        *,
        class_names: Sequence[str],
        train_set: Dataset,
        val_set: Dataset,
        cfg: TrainConfig,
        augment: AugmentSpec,
        pos_weight: Sequence[float] | None = None,
        view_loss_weight: float = 0.5,
        sample_weights: Sequence[float] | np.ndarray | None = None,
        ema_decay: float | None = None,
        optimizer: str = "adamw",
    ):
        super().__init__()
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {optimizer!r}")
        self.optimizer_name = optimizer
        self.use_channels_last = channels_last_safe(model)
        self.model = (
            model.to(memory_format=torch.channels_last) if self.use_channels_last else model
        )
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"ema_decay: expected a value in (0, 1), got {ema_decay}")
        self.ema_decay = ema_decay
        # The EMA copy is a submodule, so checkpoints carry it and the best one is restored.
        self.ema = None
        if ema_decay is not None:
            self.ema = copy.deepcopy(self.model).requires_grad_(False)
        self.sample_weights = None
        if sample_weights is not None:
            weights = torch.as_tensor(np.asarray(sample_weights, dtype=np.float64))
            if weights.shape != (len(train_set),) or not bool((weights >= 0).all()):
                raise ValueError(
                    f"sample_weights: expected {len(train_set)} non-negative weights, got "
                    f"shape {tuple(weights.shape)}"
                )
            self.sample_weights = weights
        self.class_names = tuple(class_names)
        self.train_set, self.val_set = train_set, val_set
        self.cfg = cfg
        self.augment = augment
        self.view_loss_weight = float(view_loss_weight)
        weight = (
            torch.ones(len(class_names))
            if pos_weight is None
            else torch.as_tensor(np.asarray(pos_weight, dtype=np.float32))
        )
        self.register_buffer("pos_weight", weight, persistent=False)
        self.mask_bits = [MASK_BITS.get(name, 0) for name in self.class_names]
        self._val_outputs: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._val_sums = self._no_val_sums()

    def forward(self, images: torch.Tensor, view_mask: torch.Tensor, catalog: torch.Tensor):
        return self.model(images, view_mask, catalog)

    @property
    def scoring_model(self) -> InspectionNet:
        """The network validation and the fitted result use: the EMA copy when there is one."""
        return self.ema if self.ema is not None else self.model

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if self.ema is None:
            return
        # Warm-up: early on the average follows the weights closely (decay grows with steps).
        step = self.global_step
        decay = min(float(self.ema_decay), (1.0 + step) / (10.0 + step))
        with torch.no_grad():
            for ema_p, p in zip(self.ema.parameters(), self.model.parameters()):
                ema_p.lerp_(p.detach(), 1.0 - decay)
            for ema_b, b in zip(self.ema.buffers(), self.model.buffers()):
                ema_b.copy_(b)

    def _loss(self, batch: dict, train: bool, sums: bool = False):
        # In the network's own dtype: ``bf16-true`` trains bfloat16 weights (and makes bfloat16
        # the default dtype, so the augmentation's random draws are bfloat16 too).
        dtype = next(self.model.parameters()).dtype
        images = batch["images"].to(dtype).div_(255)
        bits = batch["view_bits"]
        if train and bits.shape[-1] > 1:
            images, bits = augment_batch(images, self.augment, masks=bits)
        elif train:
            images = augment_batch(images, self.augment)
        # Validation runs the network once per view (no test-time augmentation): checkpoint
        # choice needs a ranking, not the last fraction of a point, and TTA would multiply its
        # cost by up to eight every epoch.
        net = self.model if train else self.scoring_model
        item_logits, view_logits, maps, attributes = net._forward(
            channels_last(images) if self.use_channels_last else images,
            batch["view_mask"],
            batch["catalog"],
        )
        labels = batch["labels"]
        known = batch["view_label_mask"] * batch["view_mask"]
        view = balanced_bce_sums(view_logits, batch["view_labels"], known.unsqueeze(-1))
        cell = self._cell_sums(maps, bits, known)
        attribute = self._attribute_sums(attributes, batch["catalog"], labels)
        if sums:
            # Validation: every term's sums, so that the epoch's loss is the loss of all its
            # items at once, whatever batches and ranks they fall into (the balanced terms
            # averaged per batch moved with the batch size and the number of processes).
            item = F.binary_cross_entropy_with_logits(
                item_logits.float(), labels, pos_weight=self.pos_weight, reduction="sum"
            )
            parts = [item[None], item.new_tensor([labels.numel()]), view, cell, attribute]
            return torch.cat([p.flatten().double() for p in parts]), item_logits
        item_loss = F.binary_cross_entropy_with_logits(
            item_logits.float(), labels, pos_weight=self.pos_weight
        )
        return self._combined(item_loss, view, cell, attribute), item_loss, item_logits

    def _combined(
        self,
        item_loss: torch.Tensor,
        view: torch.Tensor,
        cell: torch.Tensor,
        attribute: torch.Tensor,
    ) -> torch.Tensor:
        """The loss from the item loss and the sums of the view, cell and attribute terms."""
        attribute_loss = attribute[:, 0] / attribute[:, 1].clamp_min(1.0)
        view_loss, cell_loss = balanced_from_sums(view), balanced_from_sums(cell)
        return item_loss + self.view_loss_weight * view_loss + cell_loss + attribute_loss.sum()

    def _attribute_sums(
        self, attributes: torch.Tensor, catalog: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Measured colour/dimensions against the catalog row, on items whose colour/size is right:
        ``(2, 2)``, the colour's and the size's error summed over those items and their count.

        Only items labelled correct for a property say what it should measure; items with a
        wrong colour or size must not pull the measurement towards the catalog.
        """
        sums = attributes.new_zeros((2, 2), dtype=torch.float32)
        has_reference = catalog[:, 0] > 0
        reference = catalog[:, 1:]
        color, size = self.model.color_index, self.model.size_index
        if color >= 0:
            ok = (has_reference & (labels[:, color] < 0.5)).float()
            err = (attributes[:, :3].float() - reference[:, :3]).abs().sum(dim=-1)
            sums[0] = torch.stack([(err * ok).sum(), ok.sum()])
        if size >= 0:
            ok = (has_reference & (labels[:, size] < 0.5)).float()
            err = (
                (attributes[:, 3:].float() - reference[:, 3:]).abs()
                / reference[:, 3:].clamp_min(0.02)
            ).mean(dim=-1)
            sums[1] = torch.stack([(err * ok).sum(), ok.sum()])
        return sums

    def _cell_sums(self, maps: torch.Tensor, bits: torch.Tensor, known: torch.Tensor):
        """Dense supervision of the class-activation maps by the per-view defect masks
        (:func:`balanced_bce_sums` over the cells).

        A cell's target for a class is 1 when any pixel it covers carries the class's mask bit,
        so heatmaps learn where defects are, not only whether a view has one.
        """
        if bits.shape[-1] == 1:  # no masks in this dataset
            return maps.new_zeros((4, maps.shape[2]), dtype=torch.float32)
        b, v, k, h, w = maps.shape
        flags = torch.tensor(self.mask_bits, device=bits.device, dtype=torch.int32)
        target = (bits.int().unsqueeze(2) & flags.view(1, 1, k, 1, 1)) > 0
        target = mask_cells(target.flatten(0, 1).float(), h, w).view(b, v, k, h, w)
        # Classes last, so every cell and view is one sample of its class.
        return balanced_bce_sums(
            maps.permute(0, 1, 3, 4, 2),
            target.permute(0, 1, 3, 4, 2),
            known[:, :, None, None, None],
        )

    def training_step(self, batch: dict, batch_idx: int):
        trainer = self._trainer
        if trainer is not None and trainer.world_size > 1:
            loss, logged, item_loss = self._ranks_loss(batch)
        else:
            loss, item_loss, _ = self._loss(batch, train=True)
            logged = loss
        size = batch["labels"].shape[0]
        self.log("train_loss", logged, on_step=False, on_epoch=True, prog_bar=True, batch_size=size)
        self.log("train_item_loss", item_loss, on_step=False, on_epoch=True, batch_size=size)
        return loss

    def _ranks_loss(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """This rank's share of the loss of every rank's batch at once, under DDP; then that
        whole loss and its item term (detached, for the log).

        DDP averages the ranks' gradients: each rank's own loss balanced its view and cell
        terms over its own positives and negatives (and averaged its attribute errors over its
        own items), so a rank with one defective view weighed it as much as another rank's
        ten, not as one process weighs the global batch (gradients up to a quarter off). Each
        rank divides its sums by the counts of all ranks instead, times the world size, which
        DDP's average divides back out."""
        sums, _ = self._loss(batch, train=True, sums=True)
        totals = self.trainer.strategy.reduce(sums.detach().clone(), reduce_op="sum")
        k = len(self.class_names)
        counts = torch.zeros_like(sums, dtype=torch.bool)
        counts[1] = True  # the item loss's count
        terms = counts[2 : 2 + 8 * k].view(2, 4, k)
        terms[:, 1], terms[:, 3] = True, True  # the positives' and negatives' counts
        counts[2 + 8 * k :].view(2, 2)[:, 1] = True  # the attribute terms' counts
        shared = torch.where(counts, totals, sums)

        def combined(parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            item = parts[0] / parts[1].clamp_min(1.0)
            view, cell = parts[2 : 2 + 8 * k].view(2, 4, k)
            return self._combined(item, view, cell, parts[2 + 8 * k :].view(2, 2)), item

        share, _ = combined(shared)
        whole, item_loss = combined(totals)
        return self.trainer.world_size * share.float(), whole.float(), item_loss.float()

    def validation_step(self, batch: dict, batch_idx: int):
        sums, logits = self._loss(batch, train=False, sums=True)
        size = batch["labels"].shape[0]
        # Under DDP the sampler pads the ranks' shards with repeats of the first items (see
        # on_validation_epoch_end): rank r's k-th item is item r + k * W, a repeat from the
        # n-th on. The losses count each item once, summed over the ranks at the epoch's end.
        world = self.trainer.world_size
        first = self.trainer.global_rank + batch_idx * self.cfg.batch_size * world
        own = max(0, min(size, -(-(len(self.val_set) - first) // world)))
        if 0 < own < size:  # the batch ends in repeats: the losses of its own items
            sums, _ = self._loss({k: v[:own] for k, v in batch.items()}, train=False, sums=True)
        if own:
            self._val_sums = self._val_sums + sums.detach().to(self._val_sums.device)
        # float64, as vision.scoring computes them: float32 rounds the sigmoid of every logit
        # above about 16.6 to exactly 1, and those items would tie in the AUROC that selects
        # the checkpoint.
        probs = torch.sigmoid(logits.detach().double())
        self._val_outputs.append((probs, batch["labels"].detach()))

    def _no_val_sums(self, device: torch.device | None = None) -> torch.Tensor:
        # The item loss's sum and count, then the sums of balanced_bce_sums of the views and
        # of the cells, and of the attribute terms (see _loss with sums).
        size = 2 + 8 * len(self.class_names) + 4
        return torch.zeros(size, dtype=torch.float64, device=device)

    def on_validation_epoch_start(self) -> None:
        self._val_sums = self._no_val_sums(self.device)

    def on_validation_epoch_end(self) -> None:
        totals = self._val_sums.clone()
        if self.trainer.world_size > 1:
            totals = self.trainer.strategy.reduce(totals, reduce_op="sum")
        if totals[1] > 0:
            k = len(self.class_names)
            item_loss = totals[0] / totals[1]
            view, cell = totals[2 : 2 + 8 * k].view(2, 4, k)
            loss = self._combined(item_loss, view, cell, totals[2 + 8 * k :].view(2, 2))
            self.log("val_loss", loss.float(), prog_bar=True)
            self.log("val_item_loss", item_loss.float())
        if not self._val_outputs:
            return
        probs = torch.cat([p for p, _ in self._val_outputs])
        labels = torch.cat([y for _, y in self._val_outputs])
        self._val_outputs.clear()
        if self.trainer.world_size > 1:
            # DistributedSampler (no shuffling) hands rank r the items r, r + W, r + 2W... of
            # the validation set padded with repeats of its first items to a multiple of W:
            # interleaving the ranks' rows restores that order, and the first len(val_set)
            # rows are each validation item once (the repeats would count twice).
            n = len(self.val_set)
            probs = self.all_gather(probs).transpose(0, 1).flatten(0, 1)[:n]
            labels = self.all_gather(labels).transpose(0, 1).flatten(0, 1)[:n]
        probs_np, labels_np = probs.cpu().numpy(), labels.cpu().float().numpy()
        aurocs = per_class_auroc(labels_np, probs_np, self.class_names)
        finite = [v for v in aurocs.values() if math.isfinite(v)]
        for name, value in aurocs.items():
            if math.isfinite(value):
                self.log(f"val_auroc_{name}", value, sync_dist=False)
        if finite:
            self.log("val_auroc_mean", float(np.mean(finite)), prog_bar=True, sync_dist=False)
        defective = (labels_np >= 0.5).any(axis=1)
        any_auroc = auroc(defective, any_defect(probs_np))
        if math.isfinite(any_auroc):
            self.log("val_auroc_any", any_auroc, prog_bar=True, sync_dist=False)
        pairs = int(defective.sum()) * int((~defective).sum())
        if pairs:
            # What checkpoints follow: the any-defect AUROC, ties (a separable validation set
            # reads 1.0 for many epochs) broken towards the lower item loss. The AUROC moves in
            # steps of 1 / (2 P N) (P defective, N good items; a tie counts half), so a loss
            # term below half a step breaks ties without outranking any AUROC difference; the
            # loss enters as bce / (1 + bce), which keeps ordering losses above 1.
            # Logged whenever validation has good and defective items (fit_inspector's rule
            # for following it), NaN when the network's scores are NaN: left out, a fit whose
            # network diverged failed in Lightning ("metric val_selection which is not
            # available") instead of stopping on it and ending on the best epoch's weights.
            clipped = np.clip(probs_np, 1e-6, 1 - 1e-6)
            bce = float(
                -np.mean(labels_np * np.log(clipped) + (1 - labels_np) * np.log1p(-clipped))
            )
            weight = min(1e-3, 0.25 / pairs)
            # A float64 tensor: Lightning stores a Python float as float32, whose steps of 6e-8
            # below 1 swallow the loss term (0.25 / pairs at most) on a few hundred items.
            selection = torch.tensor(any_auroc - weight * bce / (1.0 + bce), dtype=torch.float64)
            self.log("val_selection", selection, sync_dist=False)

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        world = self.trainer.world_size if self.trainer is not None else 1
        rank = self.trainer.global_rank if self.trainer is not None else 0
        seed = self.cfg.seed + 7919 * rank
        sampler = None
        if train and self.sample_weights is not None:
            # Class-balanced batches: rare defect classes are drawn as often as common ones;
            # each rank draws its own share.
            per_rank = (self.cfg.batches_per_epoch or 0) * self.cfg.batch_size
            if not per_rank:
                per_rank = math.ceil(len(dataset) / world)
            weights = self.sample_weights
            sampler = _PassSeeded(
                lambda g: WeightedRandomSampler(weights, per_rank, replacement=True, generator=g),
                seed,
            )
        elif train and self.cfg.batches_per_epoch:
            # A fixed number of batches per epoch, drawn with replacement (each rank its own).
            n_samples = self.cfg.batches_per_epoch * self.cfg.batch_size
            sampler = _PassSeeded(
                lambda g: RandomSampler(
                    dataset, replacement=True, generator=g, num_samples=n_samples
                ),
                seed,
            )
        elif world > 1:
            sampler = DistributedSampler(
                dataset,
                num_replicas=world,
                rank=rank,
                shuffle=train,
                seed=self.cfg.seed,
                drop_last=False,
            )
        elif train:
            sampler = _PassSeeded(lambda g: RandomSampler(dataset, generator=g), seed)
        # A short last batch is dropped only when this rank has more than one batch's worth:
        # under DDP a rank holds its shard, not the dataset (25 items on two ranks, batches of
        # 16: 13 items each, and dropping them left nothing to train on).
        samples = len(sampler) if sampler is not None else len(dataset)
        return DataLoader(
            dataset,
            batch_size=self.cfg.batch_size,
            sampler=sampler,
            collate_fn=collate_items,
            num_workers=self.cfg.num_workers,
            persistent_workers=self.cfg.num_workers > 0,
            drop_last=train and samples > self.cfg.batch_size,
            # Each iteration draws its workers' base seed from this generator; without one it
            # came from torch's global generator, which the augmentation draws from too: once
            # per epoch with num_workers 0, once per run with persistent workers, so the
            # worker count changed the augmentation, and the fitted weights, of one seed.
            generator=torch.Generator().manual_seed(seed + 1),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, train=False)

    def configure_optimizers(self):
        if self.optimizer_name == "sgd":
            # Nesterov SGD with the decay on weights only, not on norm scales and biases (an L2
            # pull on a BatchNorm scale only shrinks what the next layer rescales), as ResNets
            # are usually trained from scratch.
            weights = [p for p in self.parameters() if p.requires_grad and p.ndim > 1]
            others = [p for p in self.parameters() if p.requires_grad and p.ndim <= 1]
            optimizer: torch.optim.Optimizer = torch.optim.SGD(
                [
                    {"params": weights, "weight_decay": self.cfg.weight_decay},
                    {"params": others, "weight_decay": 0.0},
                ],
                lr=self.cfg.learning_rate,
                momentum=0.9,
                nesterov=True,
            )
        else:
            optimizer = torch.optim.AdamW(
                self.parameters(), lr=self.cfg.learning_rate, weight_decay=self.cfg.weight_decay
            )
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=self.cfg.learning_rate, total_steps=total, pct_start=0.15
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


@dataclass
class InspectorFit:
    """A fitted model with the trainer's outcome and the settings that produced it."""

    model: InspectionNet
    result: FitResult
    pos_weight: list[float] | None
    train_minutes: float
    monitor: str = "val_loss"


def fit_inspector(
    train_set: Dataset,
    val_set: Dataset,
    *,
    spec: ModelSpec,
    class_names: Sequence[str],
    view_names: Sequence[str],
    cfg: TrainConfig,
    run_dir: str | Path,
    augment: AugmentSpec | None = None,
    pos_weight: Sequence[float] | np.ndarray | None = None,
    view_loss_weight: float = 0.5,
    pretrained: str | None = None,
    sample_weights: Sequence[float] | np.ndarray | None = None,
    ema_decay: float | None = None,
    val_labels: np.ndarray | None = None,
    initial_state: dict[str, torch.Tensor] | None = None,
    select_on: str = "auroc",
    optimizer: str = "adamw",
) -> InspectorFit:
    """Fit a fresh :class:`InspectionNet` through ``training.trainer.fit``.

    The trainer seeds everything from ``cfg.seed`` before the model is built, so the same seed
    and data give the same weights on the same machine. Checkpoints and early stopping follow
    the any-defect validation AUROC (``select_on="auroc"``) when ``val_labels`` (the validation
    items' label matrix) hold both good and defective items, else the validation loss; the best
    validation weights (of the EMA copy, with ``ema_decay``) are loaded. ``sample_weights``
    (one per training item) draw class-balanced batches; ``initial_state`` starts the backbone
    from weights such as those of :func:`training.pretrain.pretrain_backbone`. ``optimizer``:
    ``adamw`` or ``sgd`` (Nesterov momentum 0.9, no decay on norm scales and biases; it wants
    a peak learning rate about 25x AdamW's, 0.05 for batches of 32). A fit that diverged (no
    finite validation score, or weights that are not finite) is a ``ValueError``.
    """
    if len(train_set) == 0 or len(val_set) == 0:
        raise ValueError(
            f"need training and validation items, got {len(train_set)} and {len(val_set)}"
        )
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build_net(spec, class_names, view_names, pretrained)
    if initial_state is not None:
        model.backbone.load_state_dict(initial_state)
    task = InspectionTask(
        model,
        class_names=class_names,
        train_set=train_set,
        val_set=val_set,
        cfg=cfg,
        augment=augment or AugmentSpec.tunnel(),
        pos_weight=pos_weight,
        view_loss_weight=view_loss_weight,
        sample_weights=sample_weights,
        ema_decay=ema_decay,
        optimizer=optimizer,
    )
    monitor, mode = "val_loss", "min"
    if select_on not in ("auroc", "loss"):
        raise ValueError(f"select_on: expected 'auroc' or 'loss', got {select_on!r}")
    if val_labels is not None and select_on == "auroc":
        defective = (np.asarray(val_labels) >= 0.5).any(axis=1)
        if defective.any() and not defective.all():
            monitor, mode = "val_selection", "max"
    start = time.perf_counter()
    # No command resumes an inspection fit: a stop names no checkpoint (README: an interrupted
    # `inspect train` leaves nothing).
    result = fit(task, cfg, run_dir, monitor=monitor, mode=mode, resumable=False)
    minutes = (time.perf_counter() - start) / 60
    if task.ema is not None:
        model.load_state_dict(task.ema.state_dict())
    # In float32 whatever the training precision (``bf16-true`` leaves bfloat16 weights, which
    # the float32 images of scoring cannot be multiplied with).
    model.float()
    # A network that diverged in its first epoch (no finite validation score: Lightning's
    # checkpoint records NaN as the worst score and keeps the NaN weights) scored every item
    # NaN and was returned as fitted; refused, as a diverged forecasting network is.
    score = result.best_score
    finite = all(
        bool(torch.isfinite(v).all()) for v in model.state_dict().values() if v.is_floating_point()
    )
    if (score is not None and not math.isfinite(score)) or not finite:
        what = f"best validation {monitor} {score}" if finite else "not finite weights"
        raise ValueError(
            f"the training diverged ({what}); try a lower learning_rate (this fit's: "
            f"{cfg.learning_rate:g})"
        )
    return InspectorFit(
        model.cpu().eval(),
        result,
        None if pos_weight is None else [float(w) for w in pos_weight],
        minutes,
        monitor,
    )


def data_fingerprint(item_set: ItemSet) -> str:
    """sha256 over item ids, labels, catalog and the bytes of every view image, in order."""
    digest = hashlib.sha256()
    for item in item_set.items:
        digest.update(item.item_id.encode() + b"\0")
        if item.labels is not None:
            digest.update(np.asarray(item.labels, dtype=np.float32).tobytes())
        digest.update(str(item.product_id).encode() + b"\0")
        for view in sorted(item.views):
            digest.update(view.encode() + b"\0")
            digest.update(item.views[view].read_bytes())
    if item_set.catalog is not None:
        digest.update(item_set.catalog.table.to_csv(index=False).encode())
    return digest.hexdigest()
