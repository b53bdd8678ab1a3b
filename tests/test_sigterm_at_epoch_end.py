"""SIGTERM (``docker stop``, Kubernetes) landing at the end of a validation, while the epoch's
checkpoints are written: Lightning's own SIGTERM handler runs before the command line's and
ends the fit at the next epoch or batch boundary with ``SystemExit`` (status 0), before the
batch end where the command line's handler is run. The stop must still be the command line's
(exit 128 + 15, its message, a checkpoint named on it) and the checkpoint must resume to the
uninterrupted run's weights."""

from __future__ import annotations

import dataclasses
import signal

import lightning.pytorch as pl
import pytest
import torch
from test_resume_signal import CFG, _store, _task

from training.trainer import fit


class Stop(BaseException):
    """What the command line raises from its SIGTERM handler."""


def _raise(signum, frame):
    raise Stop(signum)


class TermAtValidationEnd(pl.Callback):
    """Send SIGTERM to this process at the end of epoch ``epoch``'s validation (the moment
    a run's checkpoint folder appears)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_validation_end(self, trainer, *args) -> None:
        if trainer.current_epoch == self.epoch and not trainer.sanity_checking:
            signal.raise_signal(signal.SIGTERM)


@pytest.mark.slow
@pytest.mark.parametrize("epoch", [0, 2])  # an epoch with more to come, and the last one
def test_sigterm_at_a_validation_end_stops_with_the_command_lines_interrupt(tmp_path, epoch):
    cfg = dataclasses.replace(CFG, max_epochs=3, batches_per_epoch=3)
    store = _store(weeks=30, items=4)
    full = _task(store, batches=3)
    fit(full, cfg, tmp_path / "full")
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        with pytest.raises(Stop) as stopped:
            fit(
                _task(store, batches=3),
                cfg,
                tmp_path / ".run.partial",
                callbacks=[TermAtValidationEnd(epoch)],
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert stopped.value.args == (signal.SIGTERM,)
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    assert getattr(stopped.value, "checkpoint", None) == kept
    assert kept.is_file()
    resumed = _task(store, batches=3)
    fit(resumed, cfg, tmp_path / "again", ckpt_path=kept)
    for name, value in full.net.state_dict().items():
        torch.testing.assert_close(resumed.net.state_dict()[name], value, rtol=0, atol=0)
