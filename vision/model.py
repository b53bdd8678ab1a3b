"""Multi-view inspection network: a shared backbone, per-view defect logits, fusion over views.

Inputs (fixed names, plain tensors, so the forward exports with a dynamic batch dimension):

* ``images`` ``float32 (batch, views, 3, H, W)`` in [0, 1], one slot per view name of the model;
* ``view_mask`` ``float32 (batch, views)``: 1 where the view was photographed and decoded, 0 for
  a missing slot (its pixels are ignored by the fusion);
* ``catalog`` ``float32 (batch, 7)``: the product's catalog reference (see ``vision.catalog``).

Outputs ``(item_logits (batch, K), view_logits (batch, views, K), heatmaps (batch, views, K, h,
w))``. ``heatmaps`` are class-activation maps: per-cell logits whose pooled value is part of the
view logit, so a heatmap shows where the evidence for a class came from.

Per view, the backbone's feature map is projected and modulated (FiLM) by an embedding of the
view slot and of the catalog reference, so colour and size are judged against what this product
should look like from this angle. Per-cell logits are pooled (mean + max, for small defects) and
added to a global head on the pooled features (for whole-item properties such as size). Items
fuse their valid views with a learned per-class mix of max (a dent seen once is enough) and mean
(a colour seen everywhere).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vision.backbones import BACKBONES, build_backbone
from vision.catalog import REF_DIM

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INPUT_NAMES = ("images", "view_mask", "catalog")
OUTPUT_NAMES = ("item_logits", "view_logits", "heatmaps")
_MASKED = -1.0e4  # below any real logit; finite so fp16/bf16 and ONNX handle it


@dataclass(frozen=True)
class ModelSpec:
    """Architecture and preprocessing of an inspection model (stored in the run manifest)."""

    backbone: str = "resnet18"
    width: int = 64
    output_stride: int = 16
    image_size: int = 128
    head_dim: int = 128
    embed_dim: int = 32
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone: expected one of {BACKBONES}, got {self.backbone!r}")
        if self.backbone != "resnet18" and self.width != 64:
            raise ValueError(
                f"width: only resnet18 has a width option, got {self.width} for {self.backbone}"
            )
        if self.output_stride not in (16, 32):
            raise ValueError(f"output_stride: expected 16 or 32, got {self.output_stride}")
        if not 32 <= self.image_size <= 1024:
            raise ValueError(f"image_size: expected 32..1024, got {self.image_size}")
        for name in ("head_dim", "embed_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected >= 1, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["mean"], out["std"] = list(self.mean), list(self.std)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"model spec: unknown keys {unknown}; known keys: {sorted(known)}")
        values = dict(values)
        for key in ("mean", "std"):
            if key in values:
                values[key] = tuple(float(v) for v in values[key])
        return cls(**values)


class InspectionNet(nn.Module):
    """Backbone shared across views + catalog-conditioned heads + fusion over a view mask."""

    def __init__(
        self, spec: ModelSpec, num_classes: int, num_views: int, pretrained: str | None = None
    ):
        super().__init__()
        if num_classes < 1 or num_views < 1:
            raise ValueError(f"need >= 1 class and view, got {num_classes} and {num_views}")
        self.spec = spec
        self.num_classes = num_classes
        self.num_views = num_views
        self.register_buffer("pixel_mean", torch.tensor(spec.mean).view(1, 3, 1, 1))
        self.register_buffer("pixel_std", torch.tensor(spec.std).view(1, 3, 1, 1))
        self.backbone = build_backbone(spec.backbone, spec.width, spec.output_stride, pretrained)
        d, e = spec.head_dim, spec.embed_dim
        self.reduce = nn.Sequential(
            nn.Conv2d(self.backbone.out_channels, d, 1, bias=False), nn.BatchNorm2d(d)
        )
        # Cell coordinates let the catalog-conditioned head compare where the item ends with where
        # a product of the catalog size would end (size), not only what the cells look like.
        self.coord_proj = nn.Conv2d(2, d, 1, bias=False)
        self.view_embed = nn.Embedding(num_views, e)
        self.ref_embed = nn.Sequential(nn.Linear(REF_DIM, e), nn.ReLU(), nn.Linear(e, e))
        self.film = nn.Linear(2 * e, 2 * d)
        # FiLM starts as the identity so early training is not disturbed by random modulation.
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.local_head = nn.Conv2d(d, num_classes, 1)
        self.global_head = nn.Sequential(
            nn.Linear(d + 2 * e, d), nn.ReLU(), nn.Linear(d, num_classes)
        )
        self.fusion_mix = nn.Parameter(torch.zeros(num_classes))
        self.fusion_bias = nn.Parameter(torch.zeros(num_classes))

    def forward(self, images: torch.Tensor, view_mask: torch.Tensor, catalog: torch.Tensor):
        batch, views = images.shape[0], images.shape[1]
        x = images.flatten(0, 1)
        x = (x - self.pixel_mean) / self.pixel_std
        z = self.reduce(self.backbone(x))
        z = z + self.coord_proj(cell_coordinates(z))
        cond = torch.cat(
            [
                self.ref_embed(catalog).unsqueeze(1).expand(-1, views, -1),
                self.view_embed.weight.unsqueeze(0).expand(batch, -1, -1),
            ],
            dim=-1,
        ).flatten(0, 1)
        gamma, beta = self.film(cond).chunk(2, dim=-1)
        z = F.relu(z * (1 + gamma[..., None, None]) + beta[..., None, None])
        maps = self.local_head(z)
        local = 0.5 * (maps.mean(dim=(2, 3)) + maps.amax(dim=(2, 3)))
        glob = self.global_head(torch.cat([z.mean(dim=(2, 3)), cond], dim=-1))
        view_logits = (local + glob).view(batch, views, -1)
        item_logits = fuse_views(view_logits, view_mask, self.fusion_mix, self.fusion_bias)
        heatmaps = maps.view(batch, views, maps.shape[1], maps.shape[2], maps.shape[3])
        return item_logits, view_logits, heatmaps


def cell_coordinates(features: torch.Tensor) -> torch.Tensor:
    """``(1, 2, h, w)`` x/y coordinates of the cell centres in [-1, 1] for a feature map."""
    h, w = features.shape[-2], features.shape[-1]
    ys = (torch.arange(h, device=features.device, dtype=features.dtype) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, device=features.device, dtype=features.dtype) + 0.5) / w * 2 - 1
    grid_y = ys.view(1, 1, h, 1).expand(1, 1, h, w)
    grid_x = xs.view(1, 1, 1, w).expand(1, 1, h, w)
    return torch.cat([grid_x, grid_y], dim=1)


def fuse_views(
    view_logits: torch.Tensor, view_mask: torch.Tensor, mix: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """Per class, ``sigmoid(mix)`` x max + the rest x mean over the valid views, plus ``bias``."""
    weight = view_mask.to(view_logits.dtype).unsqueeze(-1)
    count = weight.sum(dim=1).clamp_min(1.0)
    mean = (view_logits * weight).sum(dim=1) / count
    top = view_logits.masked_fill(weight <= 0, _MASKED).amax(dim=1)
    alpha = torch.sigmoid(mix)
    return alpha * top + (1 - alpha) * mean + bias
