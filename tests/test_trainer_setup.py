"""The trainer's global torch settings: repeatable kernels without the cost of filling memory."""

from __future__ import annotations

import torch

from training.config import TrainConfig
from training.trainer import build_trainer


def test_cpu_training_uses_deterministic_kernels_without_filling_new_tensors(tmp_path):
    # Filling every new tensor with NaN (torch's default in deterministic mode) cost about a
    # twentieth of a TFT training step; repeatability comes from the kernels, which stay on.
    torch.utils.deterministic.fill_uninitialized_memory = True
    build_trainer(TrainConfig(accelerator="cpu", progress_bar=False), tmp_path)
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.utils.deterministic.fill_uninitialized_memory
