"""A SIGINT after the last training batch (the last validation's end, the final checkpoints)
must still leave a checkpoint to resume from, which resumes to the uninterrupted weights."""

from __future__ import annotations

import signal

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import PanelSpec
from forecasting.models import InputDims, build_network
from forecasting.store import PanelStore
from forecasting.validate import validate_panel
from forecasting.windows import group_prior_scale
from training.config import TrainConfig
from training.forecast_task import ForecastData, ForecastTask
from training.trainer import fit

H = 4
CFG = TrainConfig(
    max_epochs=2, batches_per_epoch=3, batch_size=8, early_stopping_patience=None,
    progress_bar=False, accelerator="cpu",
)  # fmt: skip


class Stop(BaseException):
    """What the command line raises from its SIGINT handler."""


def _raise(signum, frame):
    raise Stop(signum)


class SignalAfterLastBatch(pl.Callback):
    def __init__(self, hook: str):
        self.hook = hook

    def on_validation_epoch_end(self, trainer, *args) -> None:
        if self.hook == "validation" and trainer.current_epoch == trainer.max_epochs - 1:
            signal.raise_signal(signal.SIGINT)

    def on_train_end(self, trainer, *args) -> None:
        if self.hook == "train_end":
            signal.raise_signal(signal.SIGINT)


def _store() -> PanelStore:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=30, freq="7D")
    frame = pd.DataFrame(
        [
            {"item_id": f"i{i}", "location_id": "l0", "date": d, "demand": float(rng.poisson(5))}
            for i in range(4)
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
    data = ForecastData(store, 8, H, 8, 3, origin, group_prior_scale(store, origin),
                        min_encoder_length=4)  # fmt: skip
    return ForecastTask(net, (0.1, 0.5, 0.9), data)


@pytest.mark.parametrize("hook", ["validation", "train_end"])
def test_a_signal_after_the_last_batch_keeps_a_checkpoint(tmp_path, hook):
    store = _store()
    full = _task(store)
    fit(full, CFG, tmp_path / "full")
    previous = signal.signal(signal.SIGINT, _raise)
    try:
        with pytest.raises(Stop) as stopped:
            fit(
                _task(store), CFG, tmp_path / ".run.partial", callbacks=[SignalAfterLastBatch(hook)]
            )
    finally:
        signal.signal(signal.SIGINT, previous)
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    assert getattr(stopped.value, "checkpoint", None) is not None
    assert kept.is_file()
    resumed = _task(store)
    fit(resumed, CFG, tmp_path / "again", ckpt_path=kept)
    for name, value in full.net.state_dict().items():
        torch.testing.assert_close(resumed.net.state_dict()[name], value, rtol=0, atol=0)
