"""`inspect calibrate` rewrites the run's manifest in place: when the run folder was replaced
while it calibrated (`inspect train --out RUN --overwrite` published another network there),
the thresholds calibrated for the network it had loaded were written into the new network's
manifest, and that run then scored with thresholds made for other weights. The update must be
refused, and the new run left as it was published."""

from __future__ import annotations

import json

import pytest
import torch

from kernels.io import FileError
from training import ImageTrainConfig
from vision import Inspector
from vision.synthetic import write_synthetic_dataset


def test_calibrating_a_run_replaced_meanwhile_is_refused(tmp_path):
    tunnel = write_synthetic_dataset(tmp_path / "tunnel", 24, image_size=32, progress=False)
    good = write_synthetic_dataset(
        tmp_path / "good", 16, seed=22, image_size=32, defect_rate=0.0, progress=False
    )
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    run = tmp_path / "run"
    first = Inspector(width=8, image_size=32, head_dim=16, target_frr=0.2, train=fast)
    first.fit(tunnel, run_dir=run).calibrate(good, progress=False)

    calibrating = Inspector.load(run)  # `inspect calibrate --run run` has loaded the network
    with torch.no_grad():  # meanwhile another network is published in its place
        for parameter in first.fitted_.net.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    first.save(run, overwrite=True)
    published = json.loads((run / "manifest.json").read_text())

    with pytest.raises(FileError, match="replaced"):
        calibrating.calibrate(good, target_frr=0.4, progress=False)
    after = json.loads((run / "manifest.json").read_text())
    assert after["thresholds"] == published["thresholds"]
    assert after["config"]["calibration"] == published["config"]["calibration"]
    Inspector.load(run)  # still a complete run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good", "run", "tunnel"]  # no lock left
