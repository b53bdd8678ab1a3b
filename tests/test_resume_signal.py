"""A SIGINT landing inside the optimizer's step (after the weights moved, before the step was
counted) must still leave a checkpoint that resumes to the uninterrupted run's weights."""

from __future__ import annotations

import signal

import lightning.pytorch as pl
import numpy as np
import pandas as pd
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
    max_epochs=2, batches_per_epoch=4, batch_size=8, early_stopping_patience=None,
    progress_bar=False, accelerator="cpu",
)  # fmt: skip


class Stop(BaseException):
    """What the command line raises from its SIGINT handler."""


def _raise(signum, frame):
    raise Stop(signum)


class SignalInsideStep(pl.Callback):
    """Deliver SIGINT from the optimizer's step post-hook of global step ``step`` + 1: the
    weights have moved, Lightning has not counted the step yet."""

    def __init__(self, step: int):
        self.step, self.handle = step, None

    def on_train_batch_start(self, trainer, *args) -> None:
        if trainer.global_step == self.step and self.handle is None:
            hook = lambda *a: signal.raise_signal(signal.SIGINT)  # noqa: E731
            self.handle = trainer.optimizers[0].register_step_post_hook(hook)

    def on_train_batch_end(self, trainer, *args) -> None:
        if self.handle is not None:
            self.handle.remove()


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
    data = ForecastData(store, 8, H, 8, 4, origin, group_prior_scale(store, origin),
                        min_encoder_length=4)  # fmt: skip
    return ForecastTask(net, (0.1, 0.5, 0.9), data)


def test_a_signal_inside_the_optimizer_step_resumes_to_the_uninterrupted_weights(tmp_path):
    store = _store()
    full = _task(store)
    fit(full, CFG, tmp_path / "full")
    previous = signal.signal(signal.SIGINT, _raise)
    try:
        stopped = None
        try:
            fit(_task(store), CFG, tmp_path / ".run.partial", callbacks=[SignalInsideStep(5)])
        except Stop as exc:
            stopped = exc
    finally:
        signal.signal(signal.SIGINT, previous)
    assert stopped is not None
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    resumed = _task(store)
    fit(resumed, CFG, tmp_path / "again", ckpt_path=kept)
    for name, value in full.net.state_dict().items():
        torch.testing.assert_close(resumed.net.state_dict()[name], value, rtol=0, atol=0)
