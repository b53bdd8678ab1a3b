"""A run resumed with other settings or data than it was trained with is refused, naming what
differs. Until 2026-12-07 only the network's shapes were compared: a resume with another seed,
encoder length, target transform or table was trained on and published the new settings in its
manifest, though its first epochs had been trained under the old ones."""

from __future__ import annotations

import lightning.pytorch as pl
import pandas as pd
import pytest

import training.forecaster as forecaster_module
from forecasting import Forecaster
from forecasting.synthetic import generate_network
from training import TrainConfig
from training.trainer import fit

H = 7
TRAIN = TrainConfig(
    max_epochs=2, batches_per_epoch=3, batch_size=8, early_stopping_patience=None,
    progress_bar=False, accelerator="cpu", seed=3,
)  # fmt: skip


class Stop(BaseException):
    """What the command line raises on SIGINT / SIGTERM: not an ``Exception``."""


class StopAt(pl.Callback):
    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= 4:
            raise Stop("stop")


def _forecaster(network, train=TRAIN, **config):
    return Forecaster("lstm", H, spec=network.spec, train=train, hidden_size=8, **config)


@pytest.mark.slow
def test_a_resume_with_other_settings_or_data_is_refused_by_name(tmp_path, monkeypatch):
    network = generate_network(n_items=4, n_locations=2, n_days=90, seed=7)
    frame = network.to_frame()
    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(forecaster_module, "fit", lambda *a, **k: fit(*a, callbacks=[StopAt()], **k))
        with pytest.raises(Stop):
            _forecaster(network).fit(frame, run_dir=run)
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    assert kept.is_file()
    other_seed = TrainConfig(**{**TRAIN.__dict__, "seed": 9})
    with pytest.raises(ValueError, match=r"train\.seed 3 -> 9"):
        _forecaster(network, other_seed).fit(frame, run_dir=run, resume=kept)
    with pytest.raises(ValueError, match=r"forecast\.target_transform 'none' -> 'log1p'"):
        _forecaster(network, target_transform="log1p").fit(frame, run_dir=run, resume=kept)
    shorter = frame[frame["date"] < frame["date"].max() - pd.Timedelta(days=5)]
    with pytest.raises(ValueError, match=r"other settings or data .*\(data '"):
        _forecaster(network).fit(shorter, run_dir=run, resume=kept)
    assert not run.exists() and kept.is_file()  # refused: the checkpoint is still there
    # The same settings and data resume it.
    _forecaster(network).fit(frame, run_dir=run, resume=kept)
    assert (run / "manifest.json").is_file() and not kept.exists()
