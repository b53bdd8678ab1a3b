"""Image backbones from torchvision, shared across the views of an item.

* ``resnet18`` — torchvision's ResNet-18 trunk built from its ``BasicBlock``. ``width`` sets the
  channels of the first stage (64 = torchvision's resnet18, whose weights load unchanged; 16 or 32
  make a small, fast network for CPU runs). ``output_stride=16`` keeps the last stage at 1/16 so
  class-activation heatmaps have more cells.
* ``mobilenet_v3_small``, ``mobilenet_v3_large``, ``efficientnet_b0`` — torchvision's feature
  extractors (``.features``), full width, output stride 32.

Pretrained weights are never downloaded: pass a local file holding a torchvision ``state_dict``
(classifier keys are dropped; everything else must match).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock, conv1x1

from vision.schema import BACKBONES


class ResNet18Trunk(nn.Module):
    """The convolutional part of ResNet-18 (no pooling, no classifier), with a width knob.

    Parameter names match ``torchvision.models.resnet18`` so its weights load at ``width=64``.
    """

    def __init__(self, width: int = 64, output_stride: int = 16):
        super().__init__()
        if width < 8:
            raise ValueError(f"width: expected >= 8, got {width}")
        if output_stride not in (16, 32):
            raise ValueError(f"output_stride: expected 16 or 32, got {output_stride}")
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(width, 2)
        self.layer2 = self._make_layer(width * 2, 2, stride=2)
        self.layer3 = self._make_layer(width * 4, 2, stride=2)
        self.layer4 = self._make_layer(width * 8, 2, stride=2 if output_stride == 32 else 1)
        self.out_channels = width * 8
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes)
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    @property
    def stem_channels(self) -> int:
        return self.conv1.out_channels

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """Input -> stride-4 features (conv, norm, ReLU, max-pool)."""
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward_body(self, x: torch.Tensor) -> torch.Tensor:
        """Stride-4 features -> the last stage."""
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_body(self.forward_stem(x))


class TorchvisionFeatures(nn.Module):
    """``model.features`` of a torchvision classifier, keeping torchvision's parameter names."""

    def __init__(self, factory: Callable[[], nn.Module]):
        super().__init__()
        self.features = factory().features
        last = [m for m in self.features.modules() if isinstance(m, nn.Conv2d)][-1]
        self.out_channels = last.out_channels
        # The stem ends at the first block whose output is at stride 4 (found with a probe).
        self.stem_end = len(self.features)
        with torch.no_grad():
            x = torch.zeros(1, 3, 64, 64)
            for index, block in enumerate(self.features):
                x = block.eval()(x)
                if x.shape[-1] <= 16:
                    self.stem_end = index + 1
                    break
        self.features.train()
        self.stem_channels = int(x.shape[1])

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.features[: self.stem_end]:
            x = block(x)
        return x

    def forward_body(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.features[self.stem_end :]:
            x = block(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_body(self.forward_stem(x))


def build_backbone(
    name: str = "resnet18",
    width: int = 64,
    output_stride: int = 16,
    pretrained: str | Path | None = None,
) -> nn.Module:
    """A feature extractor with ``forward_stem`` (to stride 4), ``forward_body`` (to the last
    stage), ``stem_channels`` and ``out_channels``; optionally load local weights."""
    if name == "resnet18":
        backbone: nn.Module = ResNet18Trunk(width=width, output_stride=output_stride)
    elif name == "mobilenet_v3_small":
        backbone = TorchvisionFeatures(lambda: torchvision.models.mobilenet_v3_small(weights=None))
    elif name == "mobilenet_v3_large":
        backbone = TorchvisionFeatures(lambda: torchvision.models.mobilenet_v3_large(weights=None))
    elif name == "efficientnet_b0":
        backbone = TorchvisionFeatures(lambda: torchvision.models.efficientnet_b0(weights=None))
    else:
        raise ValueError(f"backbone: expected one of {BACKBONES}, got {name!r}")
    if pretrained is not None:
        load_pretrained(backbone, name, pretrained)
    return backbone


def load_pretrained(backbone: nn.Module, name: str, path: str | Path) -> None:
    """Load a torchvision ``state_dict`` from a local file (``weights_only``: no code runs)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"pretrained: {path} not found (weights are only read from local files)")
    try:
        with warnings.catch_warnings():  # random bytes warn of an unknown pickle protocol
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a file that is not a state dict
        # Only the type: torch's message advises weights_only=False, never to be suggested.
        raise ValueError(
            f"pretrained: {path} is not a readable weights file ({type(exc).__name__})"
        ) from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    # Names to tensors, or it is not a state_dict: an int value or key crashed with an
    # AttributeError below instead of this message.
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"pretrained: {path} does not hold a state_dict")
    # Weights with NaN or infinity (a run that diverged) loaded silently, and the fit trained
    # an epoch on NaN outputs before it stopped on Lightning's "metric val_selection is not
    # available", which named neither the file nor the weights.
    broken = sorted(
        k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())
    )
    if broken:
        raise ValueError(
            f"pretrained: {path} holds non-finite weights in {len(broken)} tensors {broken[:3]}"
        )
    head = ("fc.",) if name == "resnet18" else ("classifier.",)
    state = {k: v for k, v in state.items() if not k.startswith(head)}
    own = backbone.state_dict()
    # Files saved before BatchNorm counted its batches (torchvision's ImageNet ResNet weights
    # among them) have no ``num_batches_tracked``; torch starts it at 0 for them, and so here.
    for key in set(own) - set(state):
        if key.rsplit(".", 1)[-1] == "num_batches_tracked":
            state[key] = torch.zeros_like(own[key])
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or mismatched:
        # The hint named width 64 whatever differed: a file whose first conv takes 1 channel,
        # loaded at width 64, was told to use width 64. It now names the file's own width when
        # that is what differs, and each mismatch shows both shapes.
        hint = ""
        stem = state.get("conv1.weight")
        if name == "resnet18" and stem is not None and stem.ndim == 4:
            file_width, own_width = int(stem.shape[0]), int(own["conv1.weight"].shape[0])
            if file_width != own_width:
                hint = f" (the file's resnet18 has width {file_width}, this backbone {own_width})"
        shapes = [
            f"{k} {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} here"
            for k in mismatched[:3]
        ]
        raise ValueError(
            f"pretrained: {path} does not fit backbone {name!r}{hint}: "
            f"{len(missing)} missing keys {missing[:3]}, {len(unexpected)} unexpected keys "
            f"{unexpected[:3]}, {len(mismatched)} shape mismatches {mismatched[:3]}"
            + (f" ({'; '.join(shapes)})" if shapes else "")
        )
    backbone.load_state_dict(state)
