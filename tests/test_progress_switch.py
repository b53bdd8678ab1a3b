"""Progress bars: ``--progress`` / ``--no-progress`` switch every bar of a command, and a bar
changes no output."""

from __future__ import annotations

import pandas as pd
import pytest

from serving.cli import main


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    from forecasting.synthetic import generate_network

    network = generate_network(n_items=3, n_locations=1, n_days=60, seed=3)
    path = tmp_path_factory.mktemp("panel") / "panel.csv"
    network.to_frame().to_csv(path, index=False)
    return path


def _backtest(panel, out, *flags) -> list[str]:
    return [
        "forecast", "backtest", "--data", str(panel), "--horizon", "7", "--origins", "2",
        "--models", "seasonal_naive,moving_average", "--plot-series", "0", *flags,
        "--out", str(out),
    ]  # fmt: skip


@pytest.mark.slow
def test_backtest_bar_follows_the_progress_switch(panel, tmp_path, capsys):
    assert main(_backtest(panel, tmp_path / "on", "--progress")) == 0
    assert "backtest: 100%" in capsys.readouterr().err
    # The bar over origins was drawn whatever --no-progress said (only the fits obeyed it).
    assert main(_backtest(panel, tmp_path / "off", "--no-progress")) == 0
    err = capsys.readouterr().err
    assert "backtest:" not in err and "%|" not in err, err
    on, off = (pd.read_csv(tmp_path / name / "metrics.csv") for name in ("on", "off"))
    pd.testing.assert_frame_equal(on, off)
