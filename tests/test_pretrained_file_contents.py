"""``--pretrained FILE`` refuses a file whose contents are not finite weights by name.

A state_dict of NaN weights (a run that diverged) loaded silently: the fit trained an epoch on
NaN outputs, then stopped on Lightning's "metric val_selection is not available", naming
neither the file nor the weights. An int key or value crashed with an AttributeError.
"""

from __future__ import annotations

import pytest
import torch

from vision.backbones import build_backbone


def test_non_finite_weights_are_refused_by_name(tmp_path):
    state = build_backbone("resnet18", width=8).state_dict()
    state["layer2.0.conv1.weight"] = torch.full_like(state["layer2.0.conv1.weight"], float("nan"))
    state["bn1.running_var"][0] = float("inf")
    torch.save(state, tmp_path / "diverged.pt")
    with pytest.raises(ValueError, match=r"non-finite weights in 2 tensors.*bn1\.running_var"):
        build_backbone("resnet18", width=8, pretrained=tmp_path / "diverged.pt")


@pytest.mark.parametrize("change", [{"conv1.weight": 3}, {5: torch.zeros(1)}])
def test_a_dict_of_other_things_is_not_a_state_dict(tmp_path, change):
    state = {**build_backbone("resnet18", width=8).state_dict(), **change}
    torch.save(state, tmp_path / "odd.pt")
    with pytest.raises(ValueError, match="does not hold a state_dict"):
        build_backbone("resnet18", width=8, pretrained=tmp_path / "odd.pt")


def test_finite_weights_still_load(tmp_path):
    source = build_backbone("resnet18", width=8)
    torch.save(source.state_dict(), tmp_path / "ok.pt")
    loaded = build_backbone("resnet18", width=8, pretrained=tmp_path / "ok.pt")
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
