"""``--pretrained FILE`` that does not fit names what differs, with both shapes.

The message always added "(torchvision's resnet18 weights need width 64)": a file whose first
conv takes one channel (a grey model's), loaded at width 64 already, was told to use width 64,
and no shape was shown to say what was wrong.
"""

from __future__ import annotations

import pytest
import torch

from vision.backbones import build_backbone


def test_one_channel_first_conv_names_the_shapes_not_a_width(tmp_path):
    state = build_backbone("resnet18", width=8).state_dict()
    state["conv1.weight"] = state["conv1.weight"][:, :1].clone()
    torch.save(state, tmp_path / "grey.pt")
    with pytest.raises(ValueError) as error:
        build_backbone("resnet18", width=8, pretrained=tmp_path / "grey.pt")
    message = str(error.value)
    assert r"conv1.weight (8, 1, 7, 7) in the file, (8, 3, 7, 7) here" in message
    assert "width" not in message


def test_other_width_names_the_files_width(tmp_path):
    torch.save(build_backbone("resnet18", width=8).state_dict(), tmp_path / "w8.pt")
    with pytest.raises(ValueError, match=r"width 8, this backbone 16.*\(16,\) here"):
        build_backbone("resnet18", width=16, pretrained=tmp_path / "w8.pt")
