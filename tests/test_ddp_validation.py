"""Under DDP the inspection's validation loss (what checkpoints and early stopping follow with
``select_on="loss"``) counts every validation item once: the sampler pads the ranks' shards
with a repeat of the first item when their count is odd, and that repeat was counted twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.nn.functional as F
    import lightning.pytorch as pl
    import training.inspect_task as it
    import training.trainer as tr
    from training.config import TrainConfig
    from vision.augment import AugmentSpec
    from vision.config import ModelSpec
    from vision.datasets import TensorItems

    torch.set_num_threads(1)
    out = sys.argv[1]
    rank = int(os.environ.get("LOCAL_RANK", "0"))
    g = torch.Generator().manual_seed(0)

    def items(n):
        images = torch.randint(0, 256, (n, 1, 3, 32, 32), dtype=torch.uint8, generator=g)
        return TensorItems(images, (torch.rand(n, 2, generator=g) < 0.4).float())

    train, val = items(8), items(5)  # 5 validation items: 3 + 2, padded to 3 + 3
    losses, logged = {}, []
    plain = it.InspectionTask.validation_step

    def step(self, batch, batch_idx):
        with torch.no_grad():
            images = batch["images"].float().div(255)
            logits = self.scoring_model._forward(
                it.channels_last(images), batch["view_mask"], batch["catalog"])[0].float()
            per = F.binary_cross_entropy_with_logits(
                logits, batch["labels"], pos_weight=self.pos_weight, reduction="none").mean(1)
        for index, value in zip(batch["index"], per.tolist()):
            losses[index] = value
        return plain(self, batch, batch_idx)

    it.InspectionTask.validation_step = step

    class Logged(pl.Callback):
        def on_validation_end(self, trainer, module):
            logged.append(float(trainer.callback_metrics["val_item_loss"]))

    build = tr.build_trainer
    tr.build_trainer = lambda *a, **k: build(*a, **{**k, "callbacks": [Logged()]})
    cfg = TrainConfig(max_epochs=1, batches_per_epoch=None, batch_size=4, accelerator="cpu",
                      devices=2, early_stopping_patience=None, progress_bar=False,
                      learning_rate=1e-3)
    spec = ModelSpec(width=8, image_size=32, head_dim=8)
    it.fit_inspector(train, val, spec=spec, class_names=("a", "b"), view_names=("v",),
                     cfg=cfg, run_dir=out + "/run", augment=AugmentSpec(), select_on="loss")
    with open(out + f"/rank{rank}.json", "w") as fh:
        json.dump({"losses": losses, "logged": logged}, fh)
    """
)


@pytest.mark.slow
def test_the_ddp_validation_loss_counts_each_item_once(tmp_path):
    path = tmp_path / "script.py"
    path.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "MASTER_PORT"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, str(path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    losses = {**ranks[0]["losses"], **ranks[1]["losses"]}
    assert len(losses) == 5
    reference = sum(losses.values()) / len(losses)  # each validation item once
    for rank in ranks:
        assert rank["logged"][0] == pytest.approx(reference, rel=1e-5)
