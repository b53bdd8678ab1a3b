"""Self-supervised pretraining of an inspection backbone on the training images themselves.

SimCLR (Chen et al., 2020): two random views of every image (crops, flips, quarter turns,
light), a projection head on the pooled backbone features, and the NT-Xent loss that pulls the
two views of one image together and pushes the other images of the batch away. It needs no
labels and downloads nothing, so a station with a few hundred labelled photos can start the
backbone from the structure of its own images instead of from random weights
(``DataConfig.ssl_epochs``; ``--pretrained FILE`` remains for torchvision weights).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from training.devices import enable_deterministic_cuda
from training.trainer import torch_flags_restored
from vision.augment import AugmentSpec, augment_batch
from vision.backbones import build_backbone
from vision.config import ModelSpec
from vision.datasets import collate_items

#: The photometric and geometric part of SimCLR's views; crops are drawn by :func:`random_crops`.
VIEW_AUGMENT = AugmentSpec(
    hflip=0.5, vflip=0.5, rot90=True, rotate_deg=10.0, brightness=0.3, contrast=0.3, noise=0.02
)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """NT-Xent over a batch of pairs: each view's positive is its pair, its negatives the other
    ``2N - 2`` views (rows of ``z1``/``z2`` need not be normalized)."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), -1e9)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, target)


def random_crops(x: torch.Tensor, min_scale: float = 0.5) -> torch.Tensor:
    """A random square crop of each image (side ``min_scale``..1 of the image, anywhere),
    resized back to the image's size."""
    n = x.shape[0]
    scale = torch.empty(n, device=x.device).uniform_(min_scale, 1.0)
    shift = (torch.rand(n, 2, device=x.device) * 2 - 1) * (1 - scale).unsqueeze(1)
    theta = torch.zeros(n, 2, 3, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class _SimCLR(nn.Module):
    def __init__(self, spec: ModelSpec, projection_dim: int = 64):
        super().__init__()
        self.backbone = build_backbone(spec.backbone, spec.width, spec.output_stride)
        channels = self.backbone.out_channels
        self.projector = nn.Sequential(
            nn.Linear(channels, channels),
            nn.ReLU(inplace=True),
            nn.Linear(channels, projection_dim),
        )
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone((x - self.mean) / self.std)
        return self.projector(features.mean(dim=(2, 3)))


def _view_images(batch: dict) -> torch.Tensor:
    """The batch's decoded views as one stack of ``(N, 3, S, S)`` floats in [0, 1]."""
    images = batch["images"].flatten(0, 1).float().div_(255)
    present = batch["view_mask"].flatten() > 0
    return images[present]


def pretrain_backbone(
    dataset: Dataset,
    spec: ModelSpec,
    epochs: int,
    *,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    temperature: float = 0.2,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = True,
    deterministic: bool = True,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    """SimCLR-pretrain a fresh backbone of ``spec`` on the views of ``dataset`` (items as
    ``vision.datasets`` yields them; labels are not read).

    Returns the backbone's ``state_dict`` (for ``fit_inspector(initial_state=...)``) and the
    mean loss of every epoch. The same seed and data give the same weights on the same machine:
    with ``deterministic`` (the default, as ``TrainConfig.deterministic``) the loop runs on
    deterministic kernels, as the supervised trainer does, and torch's global kernel settings
    are given back afterwards.
    """
    if epochs < 1:
        raise ValueError(f"epochs: expected >= 1, got {epochs}")
    # A batch of one image has no negative and is skipped: batch_size=1 (or a single image)
    # trained nothing and returned the untouched random backbone, with NaN losses, as if it
    # had been pretrained.
    if batch_size < 2:
        raise ValueError(f"batch_size: expected >= 2 (a pair needs negatives), got {batch_size}")
    device = torch.device(device)
    with torch_flags_restored():
        if deterministic:
            # This loop runs before the trainer, which sets these for the supervised fit only:
            # without them cuDNN may pick a nondeterministic algorithm, and the same seed could
            # give different pretrained weights on a GPU. Warn-only on CUDA, as the trainer.
            if device.type == "cuda":
                enable_deterministic_cuda()
            torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
            torch.utils.deterministic.fill_uninitialized_memory = False
        return _pretrain(
            dataset, spec, epochs, batch_size, learning_rate, temperature, seed, device, progress
        )


def _pretrain(
    dataset: Dataset,
    spec: ModelSpec,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    temperature: float,
    seed: int,
    device: torch.device,
    progress: bool,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    model = _SimCLR(spec).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        generator=generator,
        collate_fn=collate_items,
        drop_last=len(dataset) > batch_size,
    )
    total = max(1, epochs * len(loader))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    )
    history = []
    model.train()
    for _ in tqdm(range(epochs), desc="self-supervised pretraining", disable=not progress):
        losses = []
        for batch in loader:
            x = _view_images(batch).to(device, non_blocking=True)
            if x.shape[0] < 2:  # a pair needs at least one other image as a negative
                continue
            v1 = augment_batch(random_crops(x), VIEW_AUGMENT)
            v2 = augment_batch(random_crops(x), VIEW_AUGMENT)
            loss = nt_xent(model(v1), model(v2), temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
        history.append(float(np.mean(losses)) if losses else float("nan"))
    if all(math.isnan(v) for v in history):
        raise ValueError(
            "self-supervised pretraining: no batch held two images, nothing was trained "
            f"({len(dataset)} items)"
        )
    state = {k: v.detach().cpu() for k, v in model.backbone.state_dict().items()}
    return state, history
