"""A prediction table at another frequency than the run's: the error told the user, who gave
no --freq, that "the frequency was given as D" and to "leave it out to infer it, or give
--freq W"; following it, predict refused --freq W as disagreeing with the run (a loop)."""

import re

import numpy as np
import pandas as pd

from serving.cli import main


def _panel(path, step_days: int, periods: int) -> None:
    rng = np.random.default_rng(0)
    rows = [
        {"item_id": item, "location_id": "F", "date": pd.Timestamp("2024-01-01")
         + pd.Timedelta(days=step_days * k), "demand": int(rng.integers(0, 9))}
        for item in "ab" for k in range(periods)
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)


def test_advice_for_a_table_at_another_frequency_than_the_run_works(tmp_path, capsys):
    _panel(tmp_path / "daily.csv", 1, 60)
    _panel(tmp_path / "weekly.csv", 7, 30)
    run = tmp_path / "run"
    assert main(["forecast", "train", "--data", str(tmp_path / "daily.csv"), "--model",
                 "seasonal_naive", "--horizon", "7", "--out", str(run)]) == 0  # fmt: skip
    predict = ["forecast", "predict", "--run", str(run), "--data", str(tmp_path / "weekly.csv"),
               "--out", str(tmp_path / "f.csv")]  # fmt: skip
    capsys.readouterr()
    assert main(predict) == 2
    err = capsys.readouterr().err
    assert "weekly" in err
    assert "was given as" not in err, err  # the user gave no frequency
    asked = re.search(r"give (--freq \w+)", err)
    if asked:  # advice to follow: it must then work
        assert main([*predict, *asked.group(1).split()]) == 0, capsys.readouterr().err
    # The run's own frequency still works.
    assert main([*predict[:5], str(tmp_path / "daily.csv"), *predict[6:]]) == 0
