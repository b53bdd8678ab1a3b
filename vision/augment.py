"""Label-preserving augmentation applied to a batch on the training device.

What preserves a label depends on the data: the tunnel's colour and size classes forbid colour
jitter and rescaling (they would create or hide a wrong colour or size), while solar cells are
symmetric under flips and quarter turns. :class:`AugmentSpec` states the choice and is stored in
the run manifest. Random draws use torch's generator on the batch's device, which the trainer seeds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentSpec:
    """Per-image random transforms; every probability/amplitude 0 turns that transform off."""

    hflip: float = 0.5
    vflip: float = 0.0
    rot90: bool = False
    rotate_deg: float = 0.0
    translate: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0
    noise: float = 0.0

    def __post_init__(self) -> None:
        for name in ("hflip", "vflip"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(
                    f"augment.{name}: expected a probability, got {getattr(self, name)}"
                )
        if not isinstance(self.rot90, bool):
            raise ValueError(f"augment.rot90: expected true or false, got {self.rot90!r}")
        for name in ("rotate_deg", "translate", "brightness", "contrast", "noise"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(
                    f"augment.{name}: expected a finite value >= 0, got {getattr(self, name)}"
                )
        # A gain or contrast factor 1 +- amplitude must stay >= 0 (a negative one blacks out or
        # inverts the image), and a shift of the whole image moves every mark out of it.
        for name in ("translate", "brightness", "contrast"):
            if getattr(self, name) > 1:
                raise ValueError(f"augment.{name}: expected at most 1, got {getattr(self, name)}")

    @classmethod
    def tunnel(cls) -> AugmentSpec:
        """Tunnel default: mirror, small pose changes, mild light; no colour or scale changes."""
        return cls(hflip=0.5, rotate_deg=4.0, translate=0.04, brightness=0.04, noise=0.01)

    @classmethod
    def symmetric_cells(cls) -> AugmentSpec:
        """Square, symmetric parts (solar cells): all eight flips/quarter turns, light changes."""
        return cls(hflip=0.5, vflip=0.5, rot90=True, brightness=0.1, contrast=0.1, noise=0.01)

    @classmethod
    def parts(cls, quarter_turns: bool = True) -> AugmentSpec:
        """Class-folder default (photos of parts, cells, surfaces): flips, quarter turns unless
        ``quarter_turns`` is off, small rotations and shifts, brightness and contrast, a little
        sensor noise. A defect is a defect in any orientation; images whose structure has one
        direction (a solar cell's busbars, see :func:`dominant_axis`) keep it under flips but
        not under quarter turns, which would show the network layouts it never scores. Pass
        another spec for objects whose orientation carries more meaning (printed text)."""
        return cls(
            hflip=0.5,
            vflip=0.5,
            rot90=quarter_turns,
            rotate_deg=8.0,
            translate=0.03,
            brightness=0.1,
            contrast=0.1,
            noise=0.01,
        )

    @classmethod
    def upright(cls) -> AugmentSpec:
        """No flips or turns (a mirrored or upside-down image would be another class: a label
        printed upside down, an arrow that points the wrong way); small rotations and shifts,
        brightness and contrast, a little sensor noise."""
        return cls(hflip=0.0, rotate_deg=4.0, translate=0.03, brightness=0.1, contrast=0.1,
                   noise=0.01)  # fmt: skip

    @property
    def symmetry(self) -> str:
        """The test-time augmentation (``schema.TTA_MODES``) these transforms make label-safe."""
        if self.rot90 and self.hflip > 0:
            return "dihedral"
        if self.hflip > 0 and self.vflip > 0:
            return "flips"
        if self.hflip > 0:
            return "hflip"
        return "none"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict, as a run's manifest keeps them."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AugmentSpec:
        """From a mapping of field names (an ``augment`` section); unknown keys are named."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"augment: unknown keys {unknown}; known keys: {sorted(known)}")
        return cls(**values)


def preset_augment(name: str) -> AugmentSpec | None:
    """The augmentation ``name`` (:data:`vision.schema.AUGMENTATIONS`); ``None`` for ``auto``,
    which the fit chooses from the layout and the training images."""
    presets = {
        "tunnel": AugmentSpec.tunnel,
        "parts": AugmentSpec.parts,
        "cells": AugmentSpec.symmetric_cells,
        "upright": AugmentSpec.upright,
        "none": lambda: AugmentSpec(hflip=0.0),
    }
    if name == "auto":
        return None
    if name not in presets:
        raise ValueError(f"augmentation: expected one of {['auto', *presets]}, got {name!r}")
    return presets[name]()


def dominant_axis(images: torch.Tensor, share: float = 0.85, strength: float = 1.25) -> str:
    """``"horizontal"``, ``"vertical"`` or ``"none"``: the direction of structure that the
    images ``(N, ..., H, W)`` (one image per leading index, channels averaged) have in common.

    Horizontal lines (busbars, rails, seams) make the image's row means vary more than its
    column means. The collection is oriented when at least ``share`` of its images lean the
    same way and their median ratio of the two variances is at least ``strength``; photos of
    parts lying in any direction lean both ways about equally and give ``"none"``.
    """
    if images.ndim < 3 or images.shape[0] == 0:
        return "none"
    x = images.float().reshape(images.shape[0], -1, *images.shape[-2:]).mean(dim=1)
    rows = x.mean(dim=2).var(dim=1)
    cols = x.mean(dim=1).var(dim=1)
    ratio = (rows + 1e-6) / (cols + 1e-6)
    for name, lean in (("horizontal", ratio), ("vertical", 1.0 / ratio)):
        if float((lean > 1).float().mean()) >= share and float(lean.median()) >= strength:
            return name
    return "none"


def augment_batch(images: torch.Tensor, spec: AugmentSpec, masks: torch.Tensor | None = None):
    """Transform ``images`` (``(..., C, H, W)`` floats in [0, 1]) independently per image.

    ``masks`` (``(..., H, W)`` integer defect bits, same leading shape) get the same geometric
    transforms (nearest neighbour), so dense targets stay aligned; then ``(images, masks)`` is
    returned instead of ``images``.
    """
    shape = images.shape
    x = images.reshape(-1, *shape[-3:])
    n, device = x.shape[0], x.device
    m = None
    if masks is not None:
        m = masks.reshape(n, 1, *masks.shape[-2:]).to(x.dtype)
        if m.shape[-2:] != x.shape[-2:]:
            raise ValueError(
                f"masks: spatial size {tuple(m.shape[-2:])} differs from images "
                f"{tuple(x.shape[-2:])}"
            )

    def coin(p: float) -> torch.Tensor:
        return torch.rand(n, device=device) < p

    def both(fn, select):
        nonlocal x, m
        sel = select[:, None, None, None]
        x = torch.where(sel, fn(x), x)
        if m is not None:
            m = torch.where(sel, fn(m), m)

    if spec.hflip > 0:
        both(lambda t: t.flip(-1), coin(spec.hflip))
    if spec.vflip > 0:
        both(lambda t: t.flip(-2), coin(spec.vflip))
    if spec.rot90 and shape[-1] == shape[-2]:
        turns = torch.randint(0, 4, (n,), device=device)
        for k in range(1, 4):
            both(lambda t, k=k: t.rot90(k, (-2, -1)), turns == k)
    if spec.rotate_deg > 0 or spec.translate > 0:
        # In float32 whatever the batch's dtype: bfloat16 sampling coordinates are a pixel apart
        # past 128 pixels, and torch's bfloat16 grid_sample then reads outside the image (NaN
        # pixels, or a crash, on the CPU).
        f32 = torch.float32
        angle = (torch.rand(n, device=device, dtype=f32) * 2 - 1) * math.radians(spec.rotate_deg)
        shift = (torch.rand(n, 2, device=device, dtype=f32) * 2 - 1) * spec.translate * 2
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack(
            [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
        )
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(
            x.to(f32), grid, mode="bilinear", padding_mode="border", align_corners=False
        ).to(x.dtype)
        if m is not None:
            m = F.grid_sample(
                m.to(f32), grid, mode="nearest", padding_mode="zeros", align_corners=False
            ).to(m.dtype)
    if spec.brightness > 0:
        gain = 1 + (torch.rand(n, 1, 1, 1, device=device) * 2 - 1) * spec.brightness
        x = x * gain
    if spec.contrast > 0:
        factor = 1 + (torch.rand(n, 1, 1, 1, device=device) * 2 - 1) * spec.contrast
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * factor + mean
    if spec.noise > 0:
        noise = torch.randn_like(x) * spec.noise
        if x.shape[1] > 1:
            # A grey picture (every channel alike: an "L" model's, whose scoring reads equal
            # channels) gets one noise for all channels, not a tint it is never scored on.
            grey = (x == x[:, :1]).all(dim=1, keepdim=True).all(dim=(2, 3), keepdim=True)
            noise = torch.where(grey, noise[:, :1].expand_as(noise), noise)
        x = x + noise
    x = x.clamp(0, 1).reshape(shape)
    if masks is None:
        return x
    return x, m.round().to(masks.dtype).reshape(masks.shape)
