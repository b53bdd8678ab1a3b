"""`forecast predict --config` with the config that trained the run: `freq: null` (infer from the
dates, the documented default) must agree with the run, whose frequency training inferred."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import serving.runtime
from forecasting.config import ForecastConfig
from forecasting.synthetic import generate_network
from kernels.io import FileError, read_yaml
from serving.cli import main
from training.config import TrainConfig
from training.forecaster import Forecaster
from vision.config import ModelSpec


def test_predict_accepts_the_training_config_with_freq_null(tmp_path, capsys):
    frame = generate_network(n_items=3, n_locations=2, n_days=120, seed=1).to_frame()
    frame = frame.rename(columns={"item_id": "sku", "date": "day", "demand": "sales"})
    data = tmp_path / "sales.csv"
    frame[["sku", "location_id", "day", "sales"]].to_csv(data, index=False)
    config = tmp_path / "forecast.yaml"
    config.write_text(
        "spec: {item_col: sku, date_col: day, target_col: sales, freq: null}\n"
        "forecast: {model: seasonal_naive, horizon: 7}\n"
    )
    run, out = tmp_path / "run", tmp_path / "forecast.csv"
    common = ["--data", str(data), "--config", str(config)]
    assert main(["forecast", "train", *common, "--out", str(run)]) == 0
    code = main(["forecast", "predict", "--run", str(run), *common, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert len(pd.read_csv(out)) == 6 * 7
    # A frequency that really disagrees is still refused, naming it.
    code = main(["forecast", "predict", "--run", str(run), *common, "--freq", "W",
                 "--out", str(tmp_path / "w.csv")])  # fmt: skip
    assert code == 2 and "--freq" in capsys.readouterr().err


@pytest.mark.parametrize("devices", ["foo", "2.0", "0", 0, True, 2.0, [0, 1], "[0,1]", "", "-2"])
def test_a_devices_value_without_a_lightning_form_is_refused_naming_it(devices):
    with pytest.raises(ValueError, match="devices"):
        TrainConfig.from_dict({"devices": devices})


@pytest.mark.parametrize(
    "devices, parsed",
    [("auto", "auto"), (2, 2), ("2", 2), ("0,1", "0,1"), ("1,", "1,"), (-1, "-1")],
)
def test_lightnings_forms_stay_accepted(devices, parsed):
    assert TrainConfig(devices=devices).devices == parsed


def test_a_gpu_list_on_the_cpu_is_a_value_error(tmp_path):
    from training.trainer import build_trainer

    cfg = TrainConfig(accelerator="cpu", devices="0,1", progress_bar=False)
    with pytest.raises(ValueError, match="devices"):
        build_trainer(cfg, tmp_path / "run")


class Stop(Exception):
    pass


@pytest.mark.parametrize("accelerator, expected", [("cpu", ["CPUExecutionProvider"]), (None, None)])
def test_predict_package_honours_accelerator_cpu(accelerator, expected, tmp_path, monkeypatch):
    seen = {}

    def fake_package(folder, *, requested=None, threads=None):
        seen["requested"] = requested
        raise Stop

    monkeypatch.setattr(serving.runtime, "open_forecast_package", fake_package)
    argv = ["forecast", "predict", "--package", str(tmp_path / "pkg"), "--data",
            str(tmp_path / "d.csv"), "--out", str(tmp_path / "f.csv")]  # fmt: skip
    if accelerator:
        argv += ["--accelerator", accelerator]
    with pytest.raises(Stop):
        main(argv)
    assert seen["requested"] == expected


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict_config")
    frame = generate_network(n_items=3, n_locations=2, n_days=120, seed=1).to_frame()
    data = root / "sales.csv"
    frame[["item_id", "location_id", "date", "demand"]].to_csv(data, index=False)
    config = root / "forecast.yaml"
    config.write_text("forecast: {model: seasonal_naive, horizon: 14}\n")
    run = root / "run"
    # the flag wins over the file at training: a 7-period run
    argv = ["forecast", "train", "--data", data, "--config", config, "--horizon", "7", "--out", run]
    assert main([str(a) for a in argv]) == 0
    return root, data, config, run


def predict(root, data, config, run, *extra):
    out = root / "forecast.csv"
    out.unlink(missing_ok=True)
    argv = ["forecast", "predict", "--run", run, "--data", data, "--config", config, "--out", out]
    return main([str(a) for a in [*argv, *extra]]), out


def test_a_config_horizon_that_is_not_the_runs_is_refused(trained, capsys):
    root, data, config, run = trained
    code, out = predict(root, data, config, run)
    err = capsys.readouterr().err
    assert code == 2 and "horizon" in err, err
    assert not out.exists()
    agreeing = root / "agreeing.yaml"
    agreeing.write_text("forecast: {horizon: 7}\ntrain: {max_epochs: 3}\n")
    code, out = predict(root, data, agreeing, run)
    assert code == 0, capsys.readouterr().err
    assert len(pd.read_csv(out)) == 6 * 7


@pytest.mark.parametrize("flag, expected", [((), "cpu"), (("--accelerator", "auto"), "auto")])
def test_the_config_accelerator_applies_unless_the_flag_is_given(
    trained, monkeypatch, flag, expected
):
    root, data, _, run = trained
    config = root / "device.yaml"
    config.write_text("train: {accelerator: cpu}\n")
    seen = {}

    def fake_predict(self, data, cumulative=None):
        seen["accelerator"] = self.train.accelerator
        raise Stop

    monkeypatch.setattr(Forecaster, "predict", fake_predict)
    with pytest.raises(Stop):
        predict(root, data, config, run, *flag)
    assert seen["accelerator"] == expected


@pytest.mark.parametrize(
    "text, key, line",
    [
        ("train: {max_epochs: 3}\nforecast: {horizon: 7}\ntrain: {seed: 1}\n", "train", 3),
        ("forecast:\n  horizon: 28\n  model: tft\n  horizon: 14\n", "horizon", 4),
    ],
)
def test_a_repeated_key_is_named(tmp_path, text, key, line):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(FileError, match=rf"'{key}' given twice \(line {line}\)"):
        read_yaml(path)


def test_merge_keys_and_distinct_keys_still_load(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("base: &b {seed: 1, max_epochs: 2}\ntrain: {<<: *b, seed: 3}\n")
    assert read_yaml(path)["train"] == {"seed": 3, "max_epochs": 2}


def test_the_command_refuses_it_in_one_line(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("forecast: {horizon: 7}\nforecast: {model: seasonal_naive}\n")
    argv = ["forecast", "train", "--data", "x.csv", "--config", str(config), "--out", "r"]
    assert main(argv) == 2
    assert "'forecast' given twice" in capsys.readouterr().err


@pytest.mark.parametrize(
    "values, key",
    [
        ({"std": [0, 0, 0]}, "std"),
        ({"std": [-0.2, 0.2, 0.2]}, "std"),
        ({"std": [float("nan"), 0.2, 0.2]}, "std"),
        ({"mean": [float("inf"), 0.5, 0.5]}, "mean"),
        ({"mean": 0.5}, "mean"),
        ({"mean": None}, "mean"),
        ({"mean": ["0.5", "0.5", "0.5"]}, "mean"),
        ({"std": [True, 0.2, 0.2]}, "std"),
    ],
)
def test_a_bad_normalization_is_refused_naming_it(values, key):
    with pytest.raises(ValueError, match=key):
        ModelSpec.from_dict(values)


def test_good_normalizations_stay_accepted():
    spec = ModelSpec.from_dict({"mean": [0, 0.5, 1], "std": [1, 0.5, 2]})
    assert spec.mean == (0.0, 0.5, 1.0) and spec.std == (1.0, 0.5, 2.0)
    assert ModelSpec().std == (0.229, 0.224, 0.225)


@pytest.mark.parametrize("levels", [["0.1", "0.5", "0.9"], [0.1, "0.5", 0.9], [0.1, 0.5, True]])
def test_text_or_bool_levels_are_refused_naming_quantiles(levels):
    with pytest.raises(ValueError, match="quantiles"):
        ForecastConfig.from_dict({"quantiles": levels})


def test_numbers_stay_accepted():
    assert ForecastConfig(quantiles=[0.1, 0.5, 0.9]).quantiles == (0.1, 0.5, 0.9)
    assert ForecastConfig(quantiles=np.array([0.25, 0.5]).tolist()).quantiles == (0.25, 0.5)
    assert ForecastConfig(quantiles=(np.float32(0.5),)).quantiles == (0.5,)
