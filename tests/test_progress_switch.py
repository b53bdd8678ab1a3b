"""Progress bars: ``--progress`` / ``--no-progress`` switch every bar of a command, a command
draws them by default only where stderr is a terminal (never carriage-return redraws into a CI
log or a file), and a bar changes no output."""

from __future__ import annotations

import pandas as pd
import pytest

from serving.cli import _options, main


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


@pytest.mark.parametrize("terminal", [True, False])
def test_default_bars_only_on_a_terminal(terminal, monkeypatch):
    """Not typed and not in a --config: on where stderr is a terminal, off into a pipe or file;
    typed or configured, as given."""
    import argparse

    from training.config import TrainConfig
    from vision.config import ScoreConfig

    monkeypatch.setattr(_options, "stderr_is_terminal", lambda: terminal)
    blank = argparse.Namespace(progress_bar=None, progress=None)
    assert TrainConfig.from_dict(_options.given(blank, TrainConfig)).progress_bar is terminal
    assert ScoreConfig(**_options.given(blank, ScoreConfig)).progress is terminal
    typed = argparse.Namespace(progress_bar=True, progress=True)
    assert _options.given(typed, TrainConfig)["progress_bar"] is True
    assert _options.given(typed, ScoreConfig)["progress"] is True
    assert _options.given(blank, TrainConfig, {"progress_bar": True})["progress_bar"] is True


def test_real_pipe_is_not_a_terminal(capsys):
    # pytest's capture (as a CI log) is not a terminal: bars are off by default there.
    assert _options.stderr_is_terminal() is False


class _Package:
    """A stand-in package that records the ``progress`` the command asked of it."""

    provider = "CPUExecutionProvider"
    horizon, quantiles = 7, (0.5,)

    def __init__(self):
        from forecasting.spec import PanelSpec

        self.spec, self.asked = PanelSpec(), []

    def predict(self, data, cumulative=None, progress=False):
        self.asked.append(progress)
        return pd.DataFrame({"item_id": ["a"], "location_id": ["x"], "step": [1], "q0.5": [1.0]})


@pytest.mark.parametrize(
    ("flags", "terminal", "expected"),
    [(["--no-progress"], True, False), (["--progress"], False, True), ([], True, True),
     ([], False, False)],
)  # fmt: skip
def test_package_predict_bar_follows_the_switch(flags, terminal, expected, tmp_path, monkeypatch):
    import serving.runtime

    package = _Package()
    monkeypatch.setattr(serving.runtime, "open_forecast_package", lambda *a, **k: package)
    monkeypatch.setattr(_options, "stderr_is_terminal", lambda: terminal)
    data = tmp_path / "panel.csv"
    data.write_text("item_id,location_id,date,demand\n")
    args = ["forecast", "predict", "--package", str(tmp_path), "--data", str(data), *flags]
    # The package drew its bar whatever --no-progress said (progress=True always).
    assert main([*args, "--out", str(tmp_path / "f.csv")]) == 0
    assert package.asked == [expected]
