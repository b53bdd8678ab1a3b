"""``stockcast forecast train | predict | backtest``: argument parsing only.

Column mapping flags (or a YAML config with a ``spec`` section) map a user's table onto the
panel contract; the work is done by :mod:`forecasting` and :mod:`training.forecaster`.

YAML config (every section optional; flags given on the command line win)::

    spec: {freq: D, item_col: sku, location_col: store_id, target_col: sales,
           static_categoricals: [category], known_reals: [price], known_categoricals: [promo]}
    model: lstm
    horizon: 28
    encoder_length: 56
    model_params: {hidden_size: 64, num_layers: 2, dropout: 0.1}
    train: {max_epochs: 30, batches_per_epoch: 50, batch_size: 128, seed: 0}
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from serving.cli import CliError

_ROLE_FLAGS = {
    "static_cats": "static_categoricals",
    "static_reals": "static_reals",
    "known_cats": "known_categoricals",
    "known_reals": "known_reals",
    "observed_reals": "observed_reals",
}
_TRAIN_FLAGS = {
    "epochs": "max_epochs",
    "batches_per_epoch": "batches_per_epoch",
    "batch_size": "batch_size",
    "lr": "learning_rate",
    "patience": "early_stopping_patience",
    "seed": "seed",
    "accelerator": "accelerator",
    "devices": "devices",
    "num_nodes": "num_nodes",
    "precision": "precision",
}
BASELINES = ("seasonal_naive", "moving_average")  # as in training.forecaster (not imported:
# the parser must not load torch)


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _devices(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _add_data_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data and column mapping")
    group.add_argument("--data", required=True, type=Path, help="panel as .csv or .parquet")
    group.add_argument("--config", type=Path, help="YAML config (spec / model / train sections)")
    group.add_argument("--item-col", help="column holding the item (SKU) id [item_id]")
    group.add_argument("--location-col", help="column holding the location (FC) id [location_id]")
    group.add_argument("--date-col", help="column holding the period's date [date]")
    group.add_argument("--target-col", help="column holding the demand [demand]")
    group.add_argument(
        "--freq", choices=("D", "W", "M"), help="panel frequency [inferred from the dates]"
    )
    group.add_argument(
        "--gaps",
        choices=("auto", "zero", "error"),
        help="periods missing inside a series: fill with zero demand while they add at most 5%% "
        "of the rows (auto), always (zero), or reject them (error) [auto]",
    )
    for flag, role in _ROLE_FLAGS.items():
        group.add_argument(
            f"--{flag.replace('_', '-')}", type=_list, help=f"comma-separated {role}"
        )
    group.add_argument(
        "--no-calendar", action="store_true", help="do not derive calendar features from dates"
    )


def _add_model_flags(parser: argparse.ArgumentParser, default_model: str | None) -> None:
    group = parser.add_argument_group("model and training")
    group.add_argument("--model", default=default_model, help="network: lstm or tft")
    group.add_argument("--horizon", type=int, help="periods to forecast [28]")
    group.add_argument("--encoder-length", type=int, help="history periods the model reads")
    group.add_argument("--hidden-size", type=int, help="network width")
    group.add_argument("--epochs", type=int, help="maximum epochs [30]")
    group.add_argument("--batches-per-epoch", type=int, help="batches per epoch [50]")
    group.add_argument("--batch-size", type=int, help="windows per batch [128]")
    group.add_argument("--lr", type=float, help="learning rate [3e-3]")
    group.add_argument("--patience", type=int, help="early-stopping patience in epochs [5]")
    group.add_argument("--seed", type=int, help="random seed [0]")
    group.add_argument("--accelerator", choices=("auto", "cpu", "cuda", "gpu"))
    group.add_argument("--devices", type=_devices, help="devices per node (DDP when > 1)")
    group.add_argument("--num-nodes", type=int, help="nodes (multi-node DDP)")
    group.add_argument(
        "--precision", choices=("auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true")
    )
    group.add_argument("--no-progress", action="store_true", help="hide progress bars")


def register(subparsers: argparse._SubParsersAction) -> None:
    forecast = subparsers.add_parser("forecast", help="train, predict and backtest demand models")
    commands = forecast.add_subparsers(dest="forecast_command", required=True, metavar="ACTION")

    train = commands.add_parser("train", help="fit a forecasting network on a panel")
    _add_data_flags(train)
    _add_model_flags(train, default_model=None)
    train.add_argument("--out", required=True, type=Path, help="run folder to create")
    train.set_defaults(handler=train_command)

    predict = commands.add_parser(
        "predict", help="forecast the horizon after each series' last observed period"
    )
    predict.add_argument("--run", required=True, type=Path, help="run folder from `train`")
    _add_data_flags(predict)  # optional: checked against the run's spec
    predict.add_argument("--out", required=True, type=Path, help="output .parquet or .csv")
    predict.add_argument("--accelerator", choices=("auto", "cpu", "cuda", "gpu"))
    predict.add_argument(
        "--cumulative",
        type=int,
        metavar="K",
        help="quantiles of demand summed over the next 1..K periods (lead-time demand)",
    )
    predict.set_defaults(handler=predict_command)

    interpret = commands.add_parser(
        "interpret", help="variable importance and attention of a TFT run (table and plot)"
    )
    interpret.add_argument("--run", required=True, type=Path, help="run folder from `train`")
    interpret.add_argument("--data", required=True, type=Path, help="panel as .csv or .parquet")
    interpret.add_argument("--out", required=True, type=Path, help="folder for CSVs and the plot")
    interpret.set_defaults(handler=interpret_command)

    monitor = commands.add_parser(
        "monitor", help="accuracy per segment against actuals; flags segments to retrain"
    )
    monitor.add_argument("--forecasts", required=True, type=Path, help="from `predict`")
    monitor.add_argument("--actuals", required=True, type=Path, help="observed demand table")
    monitor.add_argument("--out", required=True, type=Path, help="folder for JSON and plot")
    monitor.add_argument("--reference", type=Path, help="backtest metrics.json to compare with")
    monitor.add_argument("--segments", type=_list, help="segment columns of the actuals table")
    monitor.add_argument("--item-col", default="item_id", help="actuals' item column")
    monitor.add_argument("--location-col", default="location_id", help="actuals' FC column")
    monitor.add_argument("--date-col", default="date", help="actuals' date column")
    monitor.add_argument("--target-col", default="demand", help="actuals' demand column")
    monitor.add_argument(
        "--wape-threshold", type=float, default=0.15, help="relative WAPE worsening [0.15]"
    )
    monitor.add_argument(
        "--coverage-tolerance", type=float, default=0.10, help="coverage drift allowed [0.10]"
    )
    monitor.set_defaults(handler=monitor_command)

    backtest = commands.add_parser("backtest", help="rolling-origin backtest against baselines")
    _add_data_flags(backtest)
    _add_model_flags(backtest, default_model=None)
    backtest.add_argument("--out", required=True, type=Path, help="folder for metrics and plots")
    backtest.add_argument("--origins", type=int, default=3, help="number of origins [3]")
    backtest.add_argument("--step", type=int, help="periods between origins [horizon]")
    backtest.add_argument("--refit", action="store_true", help="refit at every origin")
    backtest.add_argument(
        "--models",
        type=_list,
        help=f"comma-separated models to compare [the --model network and {', '.join(BASELINES)}]",
    )
    backtest.add_argument("--plot-series", type=int, default=6, help="series in the fan charts")
    backtest.add_argument(
        "--cold-start",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="hide this fraction of items' history and score their cold-start forecasts",
    )
    backtest.set_defaults(handler=backtest_command)


# --------------------------------------------------------------------------- settings


def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Merge the YAML config with the flags (flags win) into spec / model / train settings."""
    import yaml

    config: dict[str, Any] = {}
    if getattr(args, "config", None):
        if not args.config.exists():
            raise CliError(f"--config: {args.config} does not exist")
        config = yaml.safe_load(args.config.read_text()) or {}
        unknown = set(config) - {
            "spec",
            "model",
            "horizon",
            "encoder_length",
            "model_params",
            "train",
        }
        if unknown:
            raise CliError(f"--config: unknown sections {sorted(unknown)}")
    spec = dict(config.get("spec") or {})
    for flag in ("item_col", "location_col", "date_col", "target_col", "freq", "gaps"):
        if getattr(args, flag, None):
            spec[flag] = getattr(args, flag)
    for flag, role in _ROLE_FLAGS.items():
        if getattr(args, flag, None) is not None:
            spec[role] = getattr(args, flag)
    if getattr(args, "no_calendar", False):
        spec["calendar"] = False
    train = dict(config.get("train") or {})
    for flag, key in _TRAIN_FLAGS.items():
        if getattr(args, flag, None) is not None:
            train[key] = getattr(args, flag)
    if getattr(args, "no_progress", False):
        train["progress_bar"] = False
    model_params = dict(config.get("model_params") or {})
    if getattr(args, "hidden_size", None):
        model_params["hidden_size"] = args.hidden_size
    return {
        "spec": spec,
        "model": getattr(args, "model", None) or config.get("model", "lstm"),
        "horizon": getattr(args, "horizon", None) or config.get("horizon", 28),
        "encoder_length": getattr(args, "encoder_length", None) or config.get("encoder_length"),
        "model_params": model_params,
        "train": train,
    }


def _load(args: argparse.Namespace, settings: dict[str, Any]):
    from forecasting.io import load_panel
    from forecasting.spec import PanelSpec
    from forecasting.store import PanelStore
    from forecasting.validate import validate_panel
    from training.trainer import is_rank_zero

    spec = PanelSpec.from_dict(settings["spec"])
    frame = load_panel(args.data, spec)
    clean, report = validate_panel(frame, spec)
    store = PanelStore.from_frame(clean, spec.with_freq(report.freq))
    if is_rank_zero():
        how = "inferred from the dates" if report.freq_inferred else "given"
        print(
            f"panel: {report.n_series} series, {len(store.dates)} periods at frequency "
            f"{report.freq} ({how}) "
            f"({store.dates[0].date()} .. {store.dates[-1].date()}), "
            f"{report.prelaunch_rows_dropped} pre-launch rows dropped, "
            f"{report.gap_periods} gap periods filled with 0"
        )
    return store


def _network(settings: dict[str, Any], name: str):
    from training.config import TrainConfig
    from training.forecaster import NeuralForecaster

    return NeuralForecaster(
        model=name,
        horizon=settings["horizon"],
        encoder_length=settings["encoder_length"],
        model_params=settings["model_params"],
        train=TrainConfig.from_dict(settings["train"]),
    )


# --------------------------------------------------------------------------- handlers


def train_command(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    store = _load(args, settings)
    forecaster = _network(settings, settings["model"])
    forecaster.fit(store, run_dir=args.out)
    if not forecaster.info["is_global_zero"]:
        return 0  # DDP workers: rank 0 writes the run folder
    forecaster.save(args.out)
    print(
        f"trained {forecaster.name}: best validation loss {forecaster.info['best_val_loss']:.4f} "
        f"after {forecaster.info['epochs']} epochs"
    )
    print(f"run folder: {args.out.resolve()}")
    return 0


def predict_command(args: argparse.Namespace) -> int:
    from forecasting.io import load_panel, write_table
    from training.forecaster import NeuralForecaster

    forecaster = NeuralForecaster.load(args.run)
    check_spec_agrees(resolve_settings(args)["spec"], forecaster.spec.to_dict())
    if args.accelerator:
        forecaster.train.accelerator = args.accelerator
    frame = load_panel(args.data, forecaster.spec)
    table = forecaster.predict(frame, cumulative=args.cumulative)
    write_table(table, args.out)
    n_series = table[["item_id", "location_id"]].drop_duplicates().shape[0]
    print(f"{len(table)} forecast rows for {n_series} series written to {args.out.resolve()}")
    return 0


def check_spec_agrees(given: dict[str, Any], run_spec: dict[str, Any]) -> None:
    """The mapping a user repeats at prediction must be the one the run was trained with."""
    flags = {role: f"--{flag.replace('_', '-')}" for flag, role in _ROLE_FLAGS.items()}
    flags["calendar"] = "--no-calendar"
    for key, value in given.items():
        expected = run_spec.get(key)
        if isinstance(value, list | tuple):
            value, expected = list(value), list(expected or [])
        if value != expected:
            flag = flags.get(key, f"--{key.replace('_', '-')}")
            raise CliError(
                f"{flag} {value!r} disagrees with the run, which was trained with "
                f"{key}={expected!r}; leave it out to use the run's"
            )


def backtest_command(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    store = _load(args, settings)
    names = args.models or [settings["model"], *BASELINES]
    result = run_backtest(
        store, names, settings, args.origins, args.step, args.refit, cold_start=args.cold_start
    )
    paths = result.save(args.out, store, args.plot_series)
    print_summary(result)
    print(f"metrics: {paths['metrics_json']}\nplots:   {paths['plots']}")
    return 0


def run_backtest(
    store, names, settings, origins, step=None, refit=False, progress=True, cold_start=0.0
):
    """Build the named forecasters and backtest them on ``store``."""
    from forecasting.backtest import backtest
    from training.forecaster import make_forecaster

    horizon = settings["horizon"]
    forecasters = [
        _network(settings, name)
        if name not in BASELINES
        else make_forecaster(name, horizon, season=store.spec.season)
        for name in names
    ]
    return backtest(
        store,
        forecasters,
        horizon,
        n_origins=origins,
        step=step,
        refit=refit,
        progress=progress,
        cold_start=cold_start,
    )


def interpret_command(args: argparse.Namespace) -> int:
    from forecasting.interpret import plot_interpretation
    from forecasting.io import load_panel, write_table
    from training.forecaster import NeuralForecaster

    forecaster = NeuralForecaster.load(args.run)
    importance, attention = forecaster.interpret(load_panel(args.data, forecaster.spec))
    write_table(importance, args.out / "variable_importance.csv")
    write_table(attention, args.out / "attention.csv")
    plot = plot_interpretation(importance, attention, args.out / "interpretation.png")
    with pd_options():
        print(importance.to_string(index=False))
    print(f"tables and plot in {args.out.resolve()} ({plot.name})")
    return 0


def monitor_command(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from forecasting.io import read_table
    from forecasting.monitor import monitor

    forecasts = read_table(args.forecasts)
    actuals = read_table(args.actuals).rename(
        columns={
            args.item_col: "item_id",
            args.location_col: "location_id",
            args.date_col: "date",
            args.target_col: "demand",
        }
    )
    reference = None
    if args.reference:
        reference = pd.DataFrame(json.loads(args.reference.read_text())["metrics"])
    report = monitor(
        forecasts,
        actuals,
        segments=args.segments,
        reference=reference,
        wape_threshold=args.wape_threshold,
        coverage_tolerance=args.coverage_tolerance,
    )
    paths = report.save(args.out)
    columns = ["segment_type", "segment", "wape", "reference_wape", "wape_change", "flagged"]
    with pd_options():
        print(report.checks[columns].to_string(index=False))
    print(report.recommendation())
    print(f"report: {paths['json']}\nplot:   {paths['plot']}")
    return 0


def pd_options():
    import pandas as pd

    return pd.option_context("display.width", 120, "display.precision", 3)


def print_summary(result) -> None:
    columns = ["wape", "mase", "sql", "bias", "coverage_80", "coverage_90", "n_windows"]
    overall = result.overall()
    with pd_options():
        print(overall[[c for c in columns if c in overall.columns]].to_string())
