"""Self-supervised pretraining runs on the GPU the trainer gives the process. It comes before
the trainer, and it ran on ``cuda:0`` in every process a DDP launcher started (``LOCAL_RANK``
1..), all of a node's processes on its first GPU at once; with a list of device indices
(``--devices 1,3``; ``1,`` for GPU 1 alone) Lightning trains local rank r on the list's r-th
GPU, where the pretraining then ran on ``cuda:r`` (GPU 0 for ``1,``, a GPU left out)."""

from __future__ import annotations

import pytest

import training.inspector as inspector_module
from training import ImageTrainConfig
from vision import Inspector
from vision.synthetic_parts import write_parts_dataset


class _Stop(Exception):
    pass


@pytest.mark.parametrize(
    ("devices", "local_rank", "gpu"),
    [
        ("auto", None, 0),
        ("auto", "3", 3),
        ("1,", None, 1),
        ("1,3", None, 1),
        ("1,3", "1", 3),
        (2, "1", 1),
    ],
)
def test_pretraining_runs_on_the_listed_gpu(tmp_path, monkeypatch, devices, local_rank, gpu):
    # Written first: a process with a LOCAL_RANK above 0 publishes no folder.
    data = write_parts_dataset(tmp_path / "parts", 12, seed=0, min_side=32, max_side=48)
    if local_rank is None:
        monkeypatch.delenv("LOCAL_RANK", raising=False)
    else:
        monkeypatch.setenv("LOCAL_RANK", local_rank)
    picked = []
    monkeypatch.setattr(
        inspector_module, "select_device", lambda kind, index=0: picked.append((kind, index))
    )

    def stop(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(inspector_module, "pretrain_backbone", stop)
    train = ImageTrainConfig(
        max_epochs=1, batch_size=4, accelerator="cuda", devices=devices, progress_bar=False
    )
    with pytest.raises(_Stop):
        Inspector(width=8, head_dim=8, image_size=32, ssl_epochs=1, train=train).fit(data)
    assert picked == [("cuda", gpu)]
