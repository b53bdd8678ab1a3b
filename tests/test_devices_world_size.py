"""The number of training processes a ``devices`` setting starts, as Lightning reads it: a
list with a trailing comma ("1,") is that one GPU, not two (the run was set up as DDP), and
-1 is every GPU."""

from __future__ import annotations

import pytest
import torch

from training.config import TrainConfig
from training.trainer import _world_size


@pytest.mark.parametrize(
    ("devices", "nodes", "world"),
    [("0,", 1, 1), ("1,", 2, 2), ("0,1", 1, 2), ("0,1,", 1, 2), (3, 1, 3), ("-1", 1, 4)],
)
def test_world_size_counts_the_devices_lightning_uses(monkeypatch, devices, nodes, world):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    cfg = TrainConfig(devices=devices, num_nodes=nodes)
    assert _world_size(cfg, "cuda") == world


def test_auto_devices_on_the_cpu_is_one_process(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert _world_size(TrainConfig(devices="auto"), "cpu") == 1
