"""A run that learnt zero-padded codes as numbers (trained before 2026-12-05 on a CSV, whose
reader made ``007`` the number 7) and a table that now reads them as text: every series is
unseen and forecast with the unknown embedding. The warning only listed the levels; it must
say why (the run knows them without their leading zeros) and what to do (retrain, or give the
codes as the run learnt them), in the PyTorch path and the ONNX package alike."""

import warnings

import pandas as pd
import pytest

from forecasting import Forecaster
from forecasting.synthetic import generate_network
from serving.export import export_run
from serving.runtime.forecast import ForecastPackage
from training import TrainConfig


def _unseen(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if "unseen in training" in str(w.message)]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_warning_names_the_leading_zeros_and_the_fix(tmp_path):
    net = generate_network(n_items=4, n_locations=1, n_days=120, seed=7)
    frame = net.to_frame()[["item_id", "location_id", "date", "demand"]]
    codes = {item: k + 7 for k, item in enumerate(sorted(frame["item_id"].unique()))}
    learnt = frame.assign(item_id=frame["item_id"].map(codes))  # 007 read as the number 7
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=16, progress_bar=False)
    Forecaster("lstm", 7, train=train, hidden_size=8).fit(learnt, run_dir=tmp_path / "run")
    table = frame.assign(item_id=frame["item_id"].map(lambda i: f"{codes[i]:03d}").astype(str))
    table.to_csv(tmp_path / "sales.csv", index=False)
    run = Forecaster.load(tmp_path / "run")
    package = ForecastPackage(export_run(tmp_path / "run", tmp_path / "repo"))
    text = pd.read_csv(tmp_path / "sales.csv", dtype={"item_id": str, "location_id": str})
    for messages in (
        _unseen(lambda: run.predict(tmp_path / "sales.csv")),
        _unseen(lambda: package.predict(text)),
    ):
        assert len(messages) == 1, messages
        message = messages[0]
        assert "'007'" in message and "'7'" in message, message
        assert "leading zeros" in message and "Retrain" in message, message
    # A level that is simply new keeps the short warning.
    other = learnt.assign(item_id=learnt["item_id"].astype(str).replace("7", "X1"))
    messages = _unseen(lambda: run.predict(other))
    assert messages and all("leading zeros" not in m for m in messages)
