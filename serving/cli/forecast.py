"""``stockcast forecast train | predict | backtest | interpret | monitor``: argument parsing only.

Every flag is derived from a settings dataclass (:class:`~forecasting.spec.PanelSpec`,
:class:`~forecasting.config.ForecastConfig`, :class:`~training.config.TrainConfig`,
:class:`~forecasting.config.BacktestConfig`, :class:`~forecasting.config.MonitorConfig`), and a
YAML config has one section per dataclass with the same field names; flags given on the command
line win::

    spec: {item_col: sku, location_col: store_id, target_col: sales,
           static_categoricals: [category], known_reals: [price], known_categoricals: [promo]}
    forecast: {model: tft, horizon: 28, hidden_size: 32}
    train: {max_epochs: 30, batches_per_epoch: 50, batch_size: 128, seed: 0}
    backtest: {origins: 3}

The work is done by :class:`forecasting.Forecaster` and :mod:`forecasting.monitor`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from forecasting.config import AUTO, MODEL_NAMES, BacktestConfig, ForecastConfig, MonitorConfig
from forecasting.spec import PanelSpec
from serving.cli import CliError
from serving.cli._options import (
    add_settings,
    comma_list,
    given,
    inputs_of,
    read_config,
    refuse_output_over_inputs,
)
from training.config import TrainConfig

SECTIONS = {"spec": PanelSpec, "forecast": ForecastConfig, "train": TrainConfig}
# Spec fields that say how to read one table rather than what the model is: a prediction may
# choose them anew (a panel with more gaps than `auto` allows can still be forecast).
PER_CALL = ("gaps",)


def _add_data_flags(parser: argparse.ArgumentParser, what: str = "the panel") -> None:
    group = parser.add_argument_group("data and column mapping")
    group.add_argument("--data", required=True, type=Path, help=f"{what} as .csv or .parquet")
    group.add_argument("--config", type=Path, help="YAML config (spec / forecast / train ...)")
    add_settings(group, PanelSpec)


def _add_model_flags(parser: argparse.ArgumentParser) -> None:
    add_settings(parser.add_argument_group("model"), ForecastConfig)
    add_settings(parser.add_argument_group("training"), TrainConfig)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forecast`` subcommand group (its actions)."""
    forecast = subparsers.add_parser("forecast", help="train, predict and backtest demand models")
    commands = forecast.add_subparsers(dest="forecast_command", required=True, metavar="ACTION")

    train = commands.add_parser("train", help="fit a forecasting model on a panel")
    _add_data_flags(train)
    _add_model_flags(train)
    train.add_argument("--out", required=True, type=Path, help="run folder to create")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    train.add_argument(
        "--resume",
        type=Path,
        metavar="CKPT",
        help="continue an interrupted run from the checkpoint it named (<out>.interrupted/"
        "last.ckpt), with the same data and settings",
    )
    train.set_defaults(handler=train_command)

    predict = commands.add_parser(
        "predict", help="forecast the horizon after each series' last observed period"
    )
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="run folder from `train` (PyTorch)")
    source.add_argument(
        "--package", type=Path, help="model package from `export` (onnxruntime, no torch)"
    )
    _add_data_flags(predict)  # mapping flags are optional here: checked against the run's spec
    predict.add_argument("--out", required=True, type=Path, help="output .parquet or .csv")
    add_settings(
        predict,
        TrainConfig,
        only=("accelerator", "progress_bar"),
        help_defaults={"accelerator": "the run's"},
    )
    predict.add_argument(
        "--cumulative",
        type=int,
        metavar="K",
        help="quantiles of demand summed over the next 1..K periods (lead-time demand; a monthly "
        "model's horizon h is h x 30.4375 days from the calendar months)",
    )
    predict.set_defaults(handler=predict_command)

    interpret = commands.add_parser(
        "interpret", help="variable importance and attention of a TFT run (table and plot)"
    )
    interpret.add_argument("--run", required=True, type=Path, help="run folder from `train`")
    interpret.add_argument("--data", required=True, type=Path, help="panel as .csv or .parquet")
    interpret.add_argument("--out", required=True, type=Path, help="folder for CSVs and the plot")
    interpret.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    interpret.set_defaults(handler=interpret_command)

    monitor = commands.add_parser(
        "monitor", help="accuracy per segment against actuals; flags segments to retrain"
    )
    monitor.add_argument("--forecasts", required=True, type=Path, help="from `predict`")
    monitor.add_argument("--actuals", required=True, type=Path, help="observed demand table")
    monitor.add_argument("--out", required=True, type=Path, help="folder for JSON and plot")
    monitor.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    monitor.add_argument("--reference", type=Path, help="backtest metrics.json to compare with")
    monitor.add_argument(
        "--reference-model",
        help="the monitored model's rows of --reference (default: the first model there, "
        "the backtest's own; its baselines follow it)",
    )
    monitor.add_argument("--segments", type=comma_list, help="segment columns of the actuals")
    add_settings(
        monitor.add_argument_group("actuals' columns"),
        PanelSpec,
        only=("item_col", "location_col", "date_col", "target_col"),
    )
    add_settings(monitor, MonitorConfig)
    monitor.set_defaults(handler=monitor_command)

    backtest = commands.add_parser("backtest", help="rolling-origin backtest against baselines")
    _add_data_flags(backtest)
    _add_model_flags(backtest)
    add_settings(backtest.add_argument_group("backtest"), BacktestConfig)
    backtest.add_argument(
        "--models",
        type=comma_list,
        help=f"comma-separated models to compare, from {', '.join(MODEL_NAMES)} "
        "[the --model and the --baselines]",
    )
    backtest.add_argument("--out", required=True, type=Path, help="folder for metrics and plots")
    backtest.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    backtest.set_defaults(handler=backtest_command)


# --------------------------------------------------------------------------- settings


def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The YAML config merged with the flags (flags win), as the settings dataclasses."""
    config = read_config(args, (*SECTIONS, "backtest"))
    settings: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        values = given(args, cls, config.get(name))
        try:
            settings[name] = cls.from_dict(values)
        except (TypeError, ValueError) as exc:
            raise CliError(f"{name} settings: {exc}") from None
    return settings


def _forecaster(settings: dict[str, Any]):
    from forecasting import Forecaster

    return Forecaster.from_config(settings["forecast"], settings["spec"], settings["train"])


def _print_panel(forecaster) -> None:
    from training.trainer import is_rank_zero

    report = forecaster.report
    if report is None or not is_rank_zero():
        return
    how = "inferred from the dates" if report.freq_inferred else "given"
    print(
        f"panel: {report.n_series} series, {report.n_rows} rows at frequency {report.freq} "
        f"({how}), {report.prelaunch_rows_dropped} pre-launch rows dropped, "
        f"{report.gap_periods} gap periods filled with 0"
    )


# --------------------------------------------------------------------------- handlers


def train_command(args: argparse.Namespace) -> int:
    """``forecast train``: fit the model on ``--data`` into the run folder ``--out``; print the
    validation result and the run folder. Returns the exit status, 0."""
    import pandas as pd

    from kernels.io import check_writable
    from kernels.runfolder import is_main_process

    # An output location that cannot be written is reported before any work (README), as
    # backtest and inspect train do: it was found only by fit(), after the panel was read.
    check_writable(args.out, folder=True)
    inputs = inputs_of(args, "data", "config", "resume")
    refuse_output_over_inputs(args.out, inputs, folder=True, what="the run")
    settings = resolve_settings(args)
    forecaster = _forecaster(settings)
    store = forecaster.store(args.data)
    _print_panel(forecaster)
    forecaster.fit(store, run_dir=args.out, overwrite=args.overwrite, resume=args.resume)
    if not is_main_process():
        return 0  # DDP workers: the main process writes the run folder
    info = forecaster.model_.info if hasattr(forecaster.model_, "info") else {}
    if forecaster.config.model == AUTO:
        with pd_options():
            print("auto: the model per demand class, by its validation scores")
            print(forecaster.model_.summary().to_string(index=False, float_format="%.3f"))
            overrides = pd.DataFrame(forecaster.model_.overrides)
            if not overrides.empty:
                print("auto: segments where that lost to seasonal naive, and their model")
                print(overrides.to_string(index=False, float_format="%.3f"))
    elif info.get("best_val_loss") is not None:
        print(trained_line(forecaster.config.model, info))
    print(f"run folder: {args.out.resolve()}")
    return 0


def trained_line(model: str, info: dict) -> str:
    """What ``forecast train`` says of a fitted network: its validation loss and epochs. An
    ensemble's loss is its averaged forecast's, and its members each trained their own
    number of epochs (``info`` lists them): one count beside it read as member 0's."""
    epochs = info["epochs"]
    if not isinstance(epochs, list):
        loss = info["best_val_loss"]
        return f"trained {model}: best validation loss {loss:.4f} after {epochs} epochs"
    return (
        f"trained {model}, an ensemble of {len(epochs)}: validation loss of the averaged "
        f"forecast {info['best_val_loss']:.4f}; its members trained "
        f"{', '.join(str(e) for e in epochs)} epochs"
    )


def check_spec_agrees(args: argparse.Namespace, run_spec: PanelSpec) -> PanelSpec:
    """The mapping a user repeats at prediction must be the one the run was trained with.

    Returns the spec to read this table with: the run's, with ``--gaps`` applied, because how
    missing periods of *this* table are treated is a choice per call, not part of the model.
    """
    import dataclasses

    from serving.cli._options import flag_name

    config = read_config(args, (*SECTIONS, "backtest"))
    wanted = given(args, PanelSpec, config.get("spec"))
    try:
        # The values as training read them (a YAML ``known_reals: price`` is ``("price",)``).
        asked = PanelSpec.from_dict({**run_spec.to_dict(), **wanted})
    except (TypeError, ValueError) as exc:
        raise CliError(f"spec settings: {exc}") from None
    for field in dataclasses.fields(PanelSpec):
        if field.name not in wanted or field.name in PER_CALL:
            continue
        if field.name == "freq" and wanted["freq"] is None:
            continue  # none: inferred from the dates, as training did (the run holds the result)
        value, expected = getattr(asked, field.name), getattr(run_spec, field.name)
        if value != expected:
            raise CliError(
                f"{flag_name(field)} {value!r} disagrees with the run, which was trained with "
                f"{field.name}={expected!r}; leave it out to use the run's"
            )
    return dataclasses.replace(run_spec, **{k: wanted[k] for k in PER_CALL if k in wanted})


# The settings of a ``--config``'s ``forecast`` section that decide what a prediction is.
OUTPUT_SETTINGS = ("model", "horizon", "quantiles")


def predict_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Check the ``--config``'s ``forecast`` and ``train`` sections, take the ``train``
    section's accelerator where ``--accelerator`` is not given (the flag wins) and return the
    ``forecast`` section (for :func:`check_forecast_agrees`)."""
    config = read_config(args, (*SECTIONS, "backtest"))
    for name in ("forecast", "train"):
        try:
            SECTIONS[name].from_dict(config.get(name))
        except (TypeError, ValueError) as exc:
            raise CliError(f"{name} settings: {exc}") from None
    if args.accelerator is None:
        args.accelerator = (config.get("train") or {}).get("accelerator")
    return config.get("forecast") or {}


def check_forecast_agrees(
    args: argparse.Namespace, wanted: dict[str, Any], run: dict[str, Any]
) -> None:
    """The ``--config``'s ``forecast`` section (``wanted``) must give the run's horizon,
    quantiles and model (``run``: their values): a prediction cannot change them, and one that
    differs would otherwise be dropped without a word."""
    asked = ForecastConfig.from_dict(wanted)
    for name in OUTPUT_SETTINGS:
        if name in wanted and name in run and getattr(asked, name) != run[name]:
            raise CliError(
                f"--config {args.config}: forecast {name} {getattr(asked, name)!r} disagrees with "
                f"the run, which was trained with {name}={run[name]!r}; leave it out to use the "
                "run's"
            )


def predict_command(args: argparse.Namespace) -> int:
    """``forecast predict``: forecast ``--data`` from a run folder or a model package and write
    the forecast table to ``--out`` (CSV or parquet, by suffix). Returns the exit status, 0."""
    from kernels.io import check_writable, table_kind, write_table

    check_writable(args.out)
    table_kind(args.out)  # a suffix it cannot write is named before any work
    inputs = inputs_of(args, "data", "config", "run", "package")
    refuse_output_over_inputs(args.out, inputs, what="the forecast")
    wanted = predict_settings(args)
    if args.package:
        from serving.runtime import open_forecast_package

        # As `inspect score --package`: --accelerator cpu keeps it on the CPU provider.
        requested = ["CPUExecutionProvider"] if args.accelerator == "cpu" else None
        package = open_forecast_package(args.package, requested=requested)
        package.spec = check_spec_agrees(args, package.spec)
        run = {"horizon": package.horizon, "quantiles": package.quantiles}
        check_forecast_agrees(args, wanted, run)
        # The package's bar over its batches of series follows --progress as every other bar
        # does (it was drawn whatever the flag, into pipes and logs too).
        config = read_config(args, (*SECTIONS, "backtest"))
        progress = given(args, TrainConfig, config.get("train")).get("progress_bar", True)
        table = package.predict(args.data, cumulative=args.cumulative, progress=progress)
        runtime = "" if package.provider.startswith("torch") else "onnxruntime on "
        print(f"{runtime}{package.provider}")
    else:
        from forecasting import Forecaster

        forecaster = Forecaster.load(args.run)
        forecaster.spec = check_spec_agrees(args, forecaster.spec)
        run = {n: getattr(forecaster.config, n) for n in OUTPUT_SETTINGS}
        check_forecast_agrees(args, wanted, run)
        if args.accelerator:
            forecaster.train.accelerator = args.accelerator
        table = forecaster.predict(args.data, cumulative=args.cumulative)
    write_table(table, args.out)
    n_series = table[["item_id", "location_id"]].drop_duplicates().shape[0]
    print(f"{len(table)} forecast rows for {n_series} series written to {args.out.resolve()}")
    return 0


def backtest_command(args: argparse.Namespace) -> int:
    """``forecast backtest``: score the models over rolling origins on ``--data``; write the
    metrics, windows and plots to the folder ``--out`` and print the summary. Returns 0."""
    inputs = inputs_of(args, "data", "config")
    refuse_output_over_inputs(args.out, inputs, folder=True, what="the backtest")
    import dataclasses

    from forecasting import Forecaster
    from forecasting.config import BASELINE_NAMES
    from kernels.runfolder import building, write_manifest

    settings = resolve_settings(args)
    config = read_config(args, (*SECTIONS, "backtest"))
    values = given(args, BacktestConfig, config.get("backtest"))
    primary = settings["forecast"]
    also = []
    if args.models:
        # --models names every model and baseline scored: a --model or --baselines typed beside
        # it would be dropped without a word.
        for flag in ("model", "baselines"):
            if getattr(args, flag, None) is not None:
                raise CliError(
                    f"--{flag} and --models: give one (--models lists every model and "
                    f"baseline to score, e.g. --models lstm,tft,seasonal_naive)"
                )
        args.models = list(dict.fromkeys(args.models))  # a model named twice is scored once
        unknown = [m for m in args.models if m not in MODEL_NAMES]
        if unknown:
            raise CliError(f"--models: unknown {unknown}; choose from {list(MODEL_NAMES)}")
        values["baselines"] = tuple(m for m in args.models if m in BASELINE_NAMES)
        models = [m for m in args.models if m not in BASELINE_NAMES] or [values["baselines"][0]]
        base = primary.to_dict()
        primary = ForecastConfig.from_dict({**base, "model": models[0]})
        also = [
            Forecaster.from_config(
                ForecastConfig.from_dict({**base, "model": m}), settings["spec"], settings["train"]
            )
            for m in models[1:]
        ]
    try:
        backtest_config = BacktestConfig(**values)
    except (TypeError, ValueError) as exc:
        raise CliError(f"backtest settings: {exc}") from None
    forecaster = Forecaster.from_config(primary, settings["spec"], settings["train"])
    with building(args.out, overwrite=args.overwrite) as folder:
        store = forecaster.store(args.data)
        _print_panel(forecaster)
        # --no-progress (train's progress_bar) silences the backtest's bar over origins too,
        # not only each fit's: it was drawn whatever the flag said.
        result = forecaster.backtest(
            store, backtest_config, also=also, progress=settings["train"].progress_bar
        )
        paths = result.save(folder)
        # Written last: the sha256 of every file, as every run folder has (README).
        write_manifest(
            folder,
            "backtest",
            config={
                "forecast": primary.to_dict(),
                "spec": settings["spec"].to_dict(),
                "train": settings["train"].to_dict(),
                "backtest": dataclasses.asdict(backtest_config),
            },
        )
    print_summary(result)
    plots = " and plots/" if "plots" in paths else ""
    print(f"metrics{plots} in {args.out.resolve()}")
    return 0


def interpret_command(args: argparse.Namespace) -> int:
    """``forecast interpret``: variable importance and attention of a run on ``--data``, as
    tables and a plot in the folder ``--out``. Returns the exit status, 0."""
    inputs = inputs_of(args, "run", "data")
    refuse_output_over_inputs(args.out, inputs, folder=True, what="the interpretation")
    from forecasting import Forecaster
    from forecasting.interpret import plot_interpretation
    from kernels.io import write_table
    from kernels.runfolder import building, write_manifest

    forecaster = Forecaster.load(args.run)
    with building(args.out, overwrite=args.overwrite) as folder:
        importance, attention = forecaster.interpret(args.data)
        write_table(importance, folder / "variable_importance.csv")
        write_table(attention, folder / "attention.csv")
        freq = getattr(forecaster.spec, "freq", None)  # the lag axis in days, weeks or months
        plot = plot_interpretation(importance, attention, folder / "interpretation.png", freq=freq)
        write_manifest(folder, "interpret", config={"run": str(args.run), "data": str(args.data)})
    with pd_options():
        print(importance.to_string(index=False))
    print(f"tables and plot in {args.out.resolve()} ({plot.name})")
    return 0


def monitor_command(args: argparse.Namespace) -> int:
    """``forecast monitor``: score ``--forecasts`` against ``--actuals`` (and a backtest
    ``--reference``); write ``monitor.json`` and ``monitor.png`` to ``--out``, print the flagged
    segments and the recommendation. Returns the exit status, 0."""
    inputs = inputs_of(args, "forecasts", "actuals", "reference")
    refuse_output_over_inputs(args.out, inputs, folder=True, what="the report")
    import pandas as pd

    from forecasting.io import read_levels
    from forecasting.monitor import check_reference, monitor, text_columns
    from forecasting.validate import PanelError
    from kernels.io import read_json, read_table, table_kind
    from kernels.runfolder import building, write_manifest

    spec = PanelSpec.from_dict(given(args, PanelSpec))
    settings = MonitorConfig(**given(args, MonitorConfig))
    forecasts = read_table(args.forecasts, text=("item_id", "location_id"))
    keys = (spec.item_col, spec.location_col)
    actuals = read_table(args.actuals, text=keys)
    # The segment columns as a panel's categoricals are read (``01`` is not 1, ``NA`` is
    # North America, not a missing value), so that their levels are the ones the backtest of
    # the same table named in its metrics: read as numbers, no reference row matched and the
    # segment's WAPE went unchecked. Without --segments, the text columns monitor() takes.
    segments = args.segments
    if segments is None:
        segments = text_columns(actuals, exclude=(*keys, spec.date_col, spec.target_col))
    if segments and table_kind(args.actuals) == "csv":  # parquet keeps its text
        actuals = read_levels(args.actuals, keys, segments)
    # The actuals' key columns as the user named them (``sales (demand)``), as training does.
    for name, canonical, flag in spec.key_columns():
        if name not in actuals.columns:
            raise PanelError(
                name if name == canonical else f"{name} ({canonical})",
                f"missing column in the actuals table {args.actuals} (mapped with {flag}); "
                f"columns present: {list(actuals.columns)}",
            )
    rename = spec.rename_map()
    actuals = actuals.rename(columns=rename)
    # A segment named by a mapped key (`--location-col fc --segments fc`: accuracy per FC) is
    # read from the key under the user's name (it was "segment column not found").
    for name in args.segments or ():
        if name in rename and name not in actuals.columns:
            actuals[name] = actuals[rename[name]]
    reference = None
    if args.reference_model and not args.reference:
        raise CliError("--reference-model: needs --reference")
    if args.reference:
        from kernels.io import FileError
        from kernels.runfolder import MANIFEST, read_manifest

        folder = Path(args.reference).parent
        if (folder / MANIFEST).is_file():  # a backtest folder: its files are checked on load
            try:
                read_manifest(folder, task="backtest")
            except FileError as exc:
                raise CliError(f"--reference {args.reference}: {exc}") from None
        payload = read_json(args.reference)
        if not isinstance(payload, dict) or not isinstance(payload.get("metrics"), list):
            raise CliError(f"--reference {args.reference}: not a backtest metrics.json")
        if not all(isinstance(row, dict) for row in payload["metrics"]):
            raise CliError(f"--reference {args.reference}: metrics must be a list of rows")
        try:
            reference = check_reference(pd.DataFrame(payload["metrics"]), args.reference_model)
        except PanelError as error:
            raise CliError(f"--reference {args.reference}: {error}") from None
    report = monitor(
        forecasts,
        actuals,
        segments=args.segments,
        reference=reference,
        reference_frequency=payload.get("frequency") if args.reference else None,
        wape_threshold=settings.wape_threshold,
        coverage_tolerance=settings.coverage_tolerance,
    )
    with building(args.out, overwrite=args.overwrite) as folder:
        report.save(folder)
        write_manifest(
            folder,
            "monitor",
            config={
                "forecasts": str(args.forecasts),
                "actuals": str(args.actuals),
                "reference": None if args.reference is None else str(args.reference),
                "wape_threshold": settings.wape_threshold,
                "coverage_tolerance": settings.coverage_tolerance,
            },
        )
    # Why a segment is flagged, as the demo's report shows it: its WAPE (wape_flag) or the
    # coverage of an interval (coverage_drifted names which); without them a flagged row whose
    # WAPE improved read as a contradiction.
    columns = ["segment_type", "segment", "wape", "reference_wape", "wape_change", "wape_flag",
               "coverage_drifted", "flagged"]  # fmt: skip
    with pd_options():
        print(report.checks[columns].to_string(index=False))
    for note in report.notes:
        print(f"note: {note}")
    print(report.recommendation())
    print(f"report: {args.out / 'monitor.json'}\nplot:   {args.out / 'monitor.png'}")
    return 0


def pd_options():
    """A pandas option context for the printed tables: 120 characters wide, 3 decimals."""
    import pandas as pd

    return pd.option_context("display.width", 120, "display.precision", 3)


def print_summary(result) -> None:
    """Print a backtest result's overall metrics per model and its bias by segment."""
    columns = ["wape", "mase", "sql", "bias", "coverage_80", "coverage_90", "n_windows"]
    overall = result.overall()
    with pd_options():
        print(overall[[c for c in columns if c in overall.columns]].to_string())
        bias = result.bias_by_segment()
        if len(bias):
            print("\nbias of the median by segment (+ over-forecast, - under):")
            print(bias.to_string(float_format=lambda v: f"{v:+.3f}"))
