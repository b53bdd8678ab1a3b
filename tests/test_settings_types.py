"""Settings as users write them: values of the wrong type refused by field name, YAML exponents
read as numbers, a plain TrainConfig saved as the image config it trains with, a scalar
covariate in YAML agreeing with the run, no silent `extra`, unknown network arguments named."""

from __future__ import annotations

import pytest
from clitools import refused

from forecasting import Forecaster
from forecasting.config import BacktestConfig, ForecastConfig
from forecasting.models import InputDims, build_network
from forecasting.spec import PanelSpec
from forecasting.synthetic import generate_network
from kernels.io import read_yaml
from serving.cli import CliError, build_parser
from serving.cli.forecast import check_spec_agrees
from serving.demo.config import DemoConfig
from serving.service.config import ServiceConfig
from training.config import ImageTrainConfig, TrainConfig
from vision import Inspector
from vision.config import CalibrationConfig, DataConfig, ScoreConfig, SyntheticConfig


@pytest.mark.parametrize(
    "cls, values, field",
    [
        (PanelSpec, {"calendar": "false"}, "calendar"),        # was True: calendar features used
        (BacktestConfig, {"refit": "false"}, "refit"),          # was a refit at every origin
        (ScoreConfig, {"heatmaps": "false"}, "heatmaps"),
        (DemoConfig, {"quick": "no"}, "quick"),
        (TrainConfig, {"progress_bar": 0}, "progress_bar"),
        (ForecastConfig, {"horizon": 7.0}, "horizon"),          # was a TypeError in training
        (ForecastConfig, {"ensemble": 2.5}, "ensemble"),
        (ForecastConfig, {"cold_start_rate": "0.2"}, "cold_start_rate"),
        (ForecastConfig, {"quantiles": 0.5}, "quantiles"),
        (TrainConfig, {"learning_rate": "0.001"}, "learning_rate"),
        (TrainConfig, {"seed": 1.5}, "seed"),
        (TrainConfig, {"batches_per_epoch": 2.5}, "batches_per_epoch"),
        (TrainConfig, {"early_stopping_patience": 2.5}, "early_stopping_patience"),
        (ImageTrainConfig, {"learning_rate": None}, "learning_rate"),
        (DataConfig, {"val_fraction": "0.2"}, "val_fraction"),
        (CalibrationConfig, {"target_frr": "0.01"}, "target_frr"),
        (ServiceConfig, {"port": 80.5}, "port"),
        (PanelSpec, {"known_reals": None}, "known_reals"),
    ],
)  # fmt: skip
def test_a_value_of_the_wrong_type_is_refused_naming_the_field(cls, values, field):
    with pytest.raises(ValueError, match=rf"^{field}: expected"):
        cls(**values)


def test_values_of_the_right_type_stay_accepted():
    assert ForecastConfig(horizon=7, cold_start_rate=0, quantiles=[0.1, 0.5, 0.9]).horizon == 7
    assert TrainConfig(learning_rate=1, gradient_clip_val=None, devices="0,1").learning_rate == 1
    assert PanelSpec(known_reals="price", calendar=False).known_reals == ("price",)
    assert DataConfig(pretrained=None).pretrained is None


def test_a_quoted_yaml_boolean_is_a_clean_error(tmp_path):
    """`calendar: "false"` trained with calendar features and saved "false" in the run."""
    (tmp_path / "bad.yaml").write_text('spec: {calendar: "false"}\nforecast: {horizon: 7.0}\n')
    line = refused(
        ["forecast", "train", "--data", "sales.csv", "--config", "bad.yaml", "--out", "run"],
        tmp_path,
        "calendar",
    )
    assert "expected true or false, got 'false'" in line


def test_exponent_numbers_in_yaml_are_numbers(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("learning_rate: 1e-3\nweight_decay: 1.0e-4\nseed: 3\nprecision: '1e-3x'\n")
    values = read_yaml(path)
    assert values["learning_rate"] == 0.001 and isinstance(values["learning_rate"], float)
    assert values["weight_decay"] == 1e-4 and values["seed"] == 3
    path.write_text("learning_rate: 1e-3\nweight_decay: 5e-4\n")
    config = TrainConfig.from_yaml(path)
    assert (config.learning_rate, config.weight_decay) == (0.001, 0.0005)


def test_quoted_exponents_stay_text(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: '1e-3'\nb: v1e3\n")
    assert read_yaml(path) == {"a": "1e-3", "b": "v1e3"}


def test_a_plain_train_config_round_trips_as_trained():
    plain = TrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, train=plain)
    train = inspector.train
    # It trains without the weights' moving average (getattr(train, "ema_decay", 0.0) before) ...
    assert isinstance(train, ImageTrainConfig)
    assert train.ema_decay == 0.0 and train.select_on == "auroc"
    # ... at a learning rate (None crashed the optimizer with a TypeError) ...
    assert train.learning_rate == ImageTrainConfig().learning_rate
    # ... and Inspector.load reads back exactly that (it read ema_decay 0.998 before).
    assert ImageTrainConfig.from_dict(train.to_dict()) == train
    for name in ("max_epochs", "batch_size", "batches_per_epoch", "accelerator"):
        assert getattr(train, name) == getattr(plain, name)


def test_an_image_train_config_is_kept():
    own = ImageTrainConfig(max_epochs=1, ema_decay=0.9)
    assert Inspector(train=own).train is own


def _args(tmp_path, yaml_text):
    (tmp_path / "forecast.yaml").write_text(yaml_text)
    argv = ["forecast", "predict", "--run", "r", "--data", "d.csv", "--out", "o.csv"]
    return build_parser().parse_args([*argv, "--config", str(tmp_path / "forecast.yaml")])


def test_a_scalar_covariate_in_yaml_agrees_with_the_run(tmp_path):
    text = "spec: {known_reals: price, static_categoricals: category, gaps: zero}\n"
    run_spec = PanelSpec.from_dict({"known_reals": "price", "static_categoricals": "category"})
    run_spec = run_spec.with_freq("D")
    spec = check_spec_agrees(_args(tmp_path, text), run_spec)
    assert spec.known_reals == ("price",) and spec.gaps == "zero"


def test_a_different_covariate_is_still_refused(tmp_path):
    run_spec = PanelSpec(known_reals=("price",), freq="D")
    with pytest.raises(CliError, match="--known-reals .*disagrees with the run"):
        check_spec_agrees(_args(tmp_path, "spec: {known_reals: promo}\n"), run_spec)


def test_extra_options_are_refused():
    with pytest.raises(ValueError, match="extra"):
        TrainConfig.from_dict({"extra": {"swa": True}})


def test_saved_runs_with_an_empty_extra_load():
    assert TrainConfig.from_dict({**TrainConfig().to_dict()}).extra == {}


@pytest.mark.parametrize("name", ["lstm", "tft"])
def test_an_unknown_network_argument_is_named(name):
    dims = InputDims((), (), 0, 0, 1, season=7)
    with pytest.raises(ValueError, match=r"model_params: .*\['bogus'\].*hidden_size"):
        build_network(name, dims, 7, (0.1, 0.5, 0.9), hidden_size=8, bogus=1)
    assert build_network(name, dims, 7, (0.1, 0.5, 0.9), hidden_size=8) is not None


# Seeds the training, the demo and the generators can use are checked where they are set: a
# negative seed, or one above what Lightning's ``seed_everything`` takes, is refused naming the
# setting (not a bare "expected non-negative integer" or "-1 is not in bounds" from NumPy or
# Lightning after the data was read), and an ensemble's last member's seed is checked before the
# first member trains.


@pytest.mark.parametrize("cls", [TrainConfig, ImageTrainConfig, DemoConfig])
@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_out_of_range_is_refused_by_the_settings(cls, seed):
    with pytest.raises(ValueError, match="seed"):
        cls(seed=seed)


@pytest.mark.parametrize("field", ["seed", "catalog_seed"])
def test_a_negative_generator_seed_is_refused_by_the_settings(field):
    with pytest.raises(ValueError, match=field):
        SyntheticConfig(**{field: -1})


def test_the_last_ensemble_members_seed_is_checked_before_training(tmp_path):
    network = generate_network(n_items=4, n_locations=2, n_days=100, seed=3)
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False,
                        seed=2**32 - 1)  # fmt: skip
    forecaster = Forecaster("lstm", 7, spec=network.spec, train=train, hidden_size=8, ensemble=2)
    with pytest.raises(ValueError, match="seed"):
        forecaster.fit(network.to_store(), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before member 0 trained


def test_cli_seed_flags_out_of_range_are_named(tmp_path):
    refused(
        ["demo", "--quick", "--out", "d", "--seed=-1"], tmp_path, "--seed", prog="stockcast demo"
    )
    generate = ["inspect", "generate", "--out", "g"]
    refused([*generate, "--seed=-1"], tmp_path, "--seed", prog="stockcast inspect generate")
    refused(
        [*generate, "--catalog-seed=-1"],
        tmp_path,
        "--catalog-seed",
        prog="stockcast inspect generate",
    )


@pytest.mark.parametrize(
    "yaml_text, flags, field",
    [
        ('train: {progress_bar: "false"}\n', ["--no-progress"], "progress_bar"),
        ("forecast: {horizon: 7.0}\n", ["--horizon", "14"], "horizon"),
        ('spec: {calendar: "no"}\n', ["--calendar"], "calendar"),
    ],
)  # fmt: skip
def test_a_wrong_config_value_is_refused_also_where_a_flag_replaces_it(
    tmp_path, yaml_text, flags, field
):
    """Checked only after the flags were merged in, the YAML's wrong value was dropped without a
    word whenever its flag was typed too (the README: checked wherever it comes from)."""
    from serving.cli.forecast import resolve_settings

    (tmp_path / "c.yaml").write_text(yaml_text)
    argv = ["forecast", "train", "--data", "d.csv", "--out", "r", "--config"]
    args = build_parser().parse_args([*argv, str(tmp_path / "c.yaml"), *flags])
    with pytest.raises(CliError, match=rf"c\.yaml: {field}: expected"):
        resolve_settings(args)
    # A right value is still replaced by the flag, a scalar covariate still a list of one.
    (tmp_path / "c.yaml").write_text("forecast: {horizon: 7}\nspec: {known_reals: price}\n")
    args = build_parser().parse_args([*argv, str(tmp_path / "c.yaml"), "--horizon", "14",
                                      "--known-reals", "price"])  # fmt: skip
    settings = resolve_settings(args)
    assert settings["forecast"].horizon == 14 and settings["spec"].known_reals == ("price",)
