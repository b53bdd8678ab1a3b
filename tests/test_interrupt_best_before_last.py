"""A resumed run stopped again writes ``last.ckpt`` and then ``best.ckpt`` into
``<out>.interrupted/``. When the second write failed (a full disk), the new ``last.ckpt`` sat
beside the ``best.ckpt`` of the earlier stop: resuming from it reported the latest best
validation score and ended on the earlier stop's best weights (epoch 0 here, validation loss
0.377 against 0.204). The best weights are written first now, so a failure part-way leaves
the pair the earlier stop kept."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import pytest
import torch

import training.trainer as trainer_module
from forecasting import PanelSpec
from forecasting.models import InputDims, build_network
from forecasting.store import PanelStore
from forecasting.validate import validate_panel
from forecasting.windows import group_prior_scale
from kernels.runfolder import building
from tests.test_trainer_interrupt import Stop, StopAt
from training.config import TrainConfig
from training.forecast_task import ForecastData, ForecastTask
from training.trainer import fit

H = 4
CFG = TrainConfig(
    max_epochs=5,
    batches_per_epoch=4,
    batch_size=8,
    early_stopping_patience=None,
    progress_bar=False,
    accelerator="cpu",
)


class StopAtTheEnd(pl.Callback):
    def on_train_end(self, trainer, *args) -> None:
        raise Stop()


def _store() -> PanelStore:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=40, freq="7D")
    frame = pd.DataFrame(
        [
            {"item_id": f"i{i}", "location_id": "l0", "date": d, "demand": float(rng.poisson(5))}
            for i in range(6)
            for d in dates
        ]
    )
    spec = PanelSpec(freq="W", calendar=False)
    clean, _ = validate_panel(frame, spec)
    return PanelStore.from_frame(clean, spec)


def _task(store: PanelStore) -> ForecastTask:
    torch.manual_seed(0)
    origin = int(store.end.max()) - H
    net = build_network("lstm", InputDims.from_store(store), H, (0.1, 0.5, 0.9), hidden_size=8)
    data = ForecastData(
        store, 8, H, 8, 4, origin, group_prior_scale(store, origin), min_encoder_length=4
    )
    return ForecastTask(net, (0.1, 0.5, 0.9), data)


def test_a_failed_second_stop_does_not_pair_a_new_last_with_an_old_best(tmp_path, monkeypatch):
    store = _store()
    reference = _task(store)
    expected = fit(reference, CFG, tmp_path / "reference")

    target = tmp_path / "run"
    with pytest.raises(Stop) as first:
        with building(target) as folder:
            fit(_task(store), CFG, folder, callbacks=[StopAt(6)])
    kept = first.value.checkpoint

    real = shutil.copyfile

    def full_disk(src, dst, *args, **kwargs):
        if Path(dst).name == ".best.ckpt.partial":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(trainer_module.shutil, "copyfile", full_disk)
    with pytest.raises(OSError):  # stopped after the last epoch; its checkpoints not written
        with building(target) as folder:
            fit(_task(store), CFG, folder, callbacks=[StopAtTheEnd()], ckpt_path=kept)
    monkeypatch.undo()

    resumed = _task(store)
    with building(target) as folder:
        result = fit(resumed, CFG, folder, ckpt_path=kept)
    assert result.best_score == pytest.approx(expected.best_score)
    found, wanted = resumed.state_dict(), reference.state_dict()
    assert all(torch.equal(found[k], wanted[k]) for k in wanted)
