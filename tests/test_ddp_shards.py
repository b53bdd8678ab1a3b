"""Training under DDP (two gloo processes on the CPU): the validation loss and the selection
AUROC count each validation item once, each rank trains on its shard even when it is smaller
than a batch, and too few validation series for the ranks is a clear error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from forecasting.synthetic import generate_network
from forecasting.windows import group_prior_scale
from training.forecast_task import ForecastData

ROOT = Path(__file__).resolve().parents[1]
H = 7


def _on_two_ranks(script: str, folder: Path) -> None:
    """Run ``script`` (its arguments: ``folder`` and 2 devices) in a fresh process, where
    Lightning starts the second rank itself; it must exit 0."""
    path = folder / "ddp_script.py"
    path.write_text(script)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "MASTER_PORT"):
        env.pop(name, None)  # set in this process when it runs under a launcher itself
    done = subprocess.run(
        [sys.executable, str(path), str(folder), "2"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


LOSS_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    from forecasting.models import InputDims, build_network
    from forecasting.synthetic import generate_network
    from forecasting.windows import group_prior_scale
    from training.config import TrainConfig
    from training.forecast_task import ForecastData, ForecastTask
    from training.trainer import fit

    torch.set_num_threads(1)
    H, out, devices = 7, sys.argv[1], int(sys.argv[2])
    # 7 items x 3 FCs: 21 validation windows, 11 on rank 0 and 10 on rank 1.
    store = generate_network(n_items=7, n_locations=3, n_days=120, seed=7).to_store()
    origin = int(store.end.max()) - H
    torch.manual_seed(0)
    net = build_network("lstm", InputDims.from_store(store), H, (0.1, 0.5, 0.9), hidden_size=8)
    data = ForecastData(store, 14, H, 8, 1, origin, group_prior_scale(store, origin))
    task = ForecastTask(net, (0.1, 0.5, 0.9), data)
    cfg = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=8, devices=devices,
                      early_stopping_patience=None, progress_bar=False, accelerator="cpu")
    result = fit(task, cfg, out + "/run")
    if result.is_global_zero:
        task.eval()
        with torch.no_grad():
            losses = [float(task._loss({k: v[i : i + 1] for k, v in b.items()}))
                      for b in data.val_batches(torch.device("cpu"), 0, 1)
                      for i in range(b["target"].shape[0])]
        with open(out + "/result.json", "w") as fh:
            json.dump({"best": result.best_score, "windows": len(losses),
                       "mean": sum(losses) / len(losses)}, fh)
    """
)


@pytest.mark.slow
def test_the_ddp_validation_loss_is_the_mean_over_all_windows(tmp_path):
    _on_two_ranks(LOSS_SCRIPT, tmp_path)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["windows"] == 21
    # The best (only) epoch's score is the restored weights' loss over all 21 windows.
    assert result["best"] == pytest.approx(result["mean"], rel=1e-5)


AUROC_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    import training.inspect_task as inspect_task
    from training import ImageTrainConfig
    from vision import Inspector
    from vision.synthetic import write_synthetic_dataset

    torch.set_num_threads(1)
    out, devices = sys.argv[1], int(sys.argv[2])
    sizes = []
    plain = inspect_task.auroc
    inspect_task.auroc = lambda labels, scores: sizes.append(len(labels)) or plain(labels, scores)
    # 26 items: 5 for validation (odd, so the sampler pads one rank's shard)
    tunnel = write_synthetic_dataset(out + "/tunnel", 26, seed=21, image_size=32,
                                     defect_rate=0.3, progress=False)
    cfg = ImageTrainConfig(max_epochs=1, batch_size=4, accelerator="cpu", devices=devices,
                           progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, target_frr=0.2,
                          review_rate=0.1, train=cfg)
    inspector.fit(tunnel, run_dir=out + "/run")
    if inspector.training:
        with open(out + "/result.json", "w") as fh:
            json.dump({"sizes": sizes, "n_val": inspector.training["data"]["n_val"]}, fh)
    """
)


@pytest.mark.slow
def test_the_ddp_selection_auroc_sees_each_validation_item_once(tmp_path):
    _on_two_ranks(AUROC_SCRIPT, tmp_path)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["n_val"] % 2 == 1  # an odd number: the sampler pads one shard
    assert result["sizes"] and set(result["sizes"]) == {result["n_val"]}


SHARD_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import training.inspect_task as inspect_task
    from training import ImageTrainConfig
    from vision import Inspector
    from vision.synthetic import write_synthetic_dataset

    torch.set_num_threads(1)
    out, devices = sys.argv[1], int(sys.argv[2])
    steps = []
    plain = inspect_task.InspectionTask.training_step

    def counted(self, batch, batch_idx):
        steps.append(int(batch["labels"].shape[0]))
        return plain(self, batch, batch_idx)

    inspect_task.InspectionTask.training_step = counted
    # 31 items: 25 train, 13 per rank, fewer than a batch of 16.
    tunnel = write_synthetic_dataset(out + "/tunnel", 31, seed=21, image_size=32,
                                     defect_rate=0.3, progress=False)
    cfg = ImageTrainConfig(max_epochs=1, batch_size=16, accelerator="cpu", devices=devices,
                           progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, target_frr=0.2,
                          review_rate=0.1, train=cfg)
    inspector.fit(tunnel, run_dir=out + "/run")
    rank = os.environ.get("LOCAL_RANK", "0")
    with open(out + f"/steps{rank}.json", "w") as fh:
        json.dump({"steps": steps, "best": inspector.metrics.get("best_validation")}, fh)
    """
)


@pytest.mark.slow
def test_each_ddp_rank_trains_on_a_shard_smaller_than_a_batch(tmp_path):
    _on_two_ranks(SHARD_SCRIPT, tmp_path)
    for rank in (0, 1):
        steps = json.loads((tmp_path / f"steps{rank}.json").read_text())["steps"]
        assert steps == [13], (rank, steps)
    best = json.loads((tmp_path / "steps0.json").read_text())["best"]
    assert best and all(value is not None for value in best.values())


def test_fewer_validation_series_than_ranks_is_a_clear_error():
    store = generate_network(n_items=1, n_locations=1, n_days=120, seed=7).to_store()
    origin = int(store.end.max()) - H
    data = ForecastData(store, 14, H, 8, 1, origin, group_prior_scale(store, origin))
    assert len(list(data.val_batches(torch.device("cpu"), 0, 1))) == 1
    for rank in (0, 1):
        with pytest.raises(ValueError, match="1 series .* fewer than the 2 training processes"):
            data.val_batches(torch.device("cpu"), rank, 2)


GLOBAL_BATCH_SCRIPT = textwrap.dedent(
    """
    import sys
    import torch
    from forecasting.models import InputDims, build_network
    from forecasting.synthetic import generate_network
    from forecasting.windows import group_prior_scale
    from training.config import TrainConfig
    from training.forecast_task import ForecastData, ForecastTask
    from training.trainer import fit


    class Merged:
        # One process: each step's windows of both ranks as one batch.
        def __init__(self, a, b):
            self.a, self.b, self.position = a, b, None

        def __len__(self):
            return len(self.a)

        def __iter__(self):
            self.a.position = self.b.position = self.position
            for x, y in zip(self.a, self.b):
                yield {k: torch.cat([x[k], y[k]]) for k in x}


    class OneProcess(ForecastData):
        def train_batches(self, device, rank, world_size):
            return Merged(super().train_batches(device, 0, 2), super().train_batches(device, 1, 2))


    torch.set_num_threads(1)
    H, out, devices = 7, sys.argv[1], int(sys.argv[2])
    store = generate_network(n_items=7, n_locations=3, n_days=120, seed=7).to_store()
    origin = int(store.end.max()) - H
    torch.manual_seed(0)
    net = build_network("lstm", InputDims.from_store(store), H, (0.1, 0.5, 0.9), hidden_size=8,
                        dropout=0.0)
    kind = ForecastData if devices > 1 else OneProcess
    data = kind(store, 14, H, 8, 3, origin, group_prior_scale(store, origin))
    task = ForecastTask(net, (0.1, 0.5, 0.9), data, volume_weight=0.5)
    cfg = TrainConfig(max_epochs=2, batches_per_epoch=3, batch_size=8, devices=devices,
                      early_stopping_patience=None, progress_bar=False, accelerator="cpu")
    result = fit(task, cfg, out + f"/run{devices}")
    if result.is_global_zero:
        torch.save(dict(task.state_dict()), out + f"/weights{devices}.pt")
    """
)


@pytest.mark.slow
def test_ddp_trains_the_network_one_process_trains_on_the_same_global_batch(tmp_path):
    # With a volume weight each window's weight is its level relative to the batch's: under
    # DDP that was each rank's own batch, so the ranks' averaged gradients were not those of
    # the global batch (weights 0.009 apart after 6 steps), whose windows one process weighs
    # against one another.
    _on_two_ranks(GLOBAL_BATCH_SCRIPT, tmp_path)
    path = tmp_path / "ddp_script.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(path), str(tmp_path), "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    ddp = torch.load(tmp_path / "weights2.pt")
    one = torch.load(tmp_path / "weights1.pt")
    assert ddp.keys() == one.keys()
    for key in ddp:
        torch.testing.assert_close(ddp[key], one[key], rtol=1e-5, atol=1e-5, msg=key)
