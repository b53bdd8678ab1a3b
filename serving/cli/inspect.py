"""``stockcast inspect generate | train | calibrate | score | rejected``: argument parsing only.

::

    stockcast inspect generate --out DATA --items 600 --seed 1
    stockcast inspect train --data DATA --out RUN_DIR [--backbone resnet18 --width 64 ...]
    stockcast inspect calibrate --run RUN_DIR --data LABELLED_DATA --target-frr 0.01
    stockcast inspect score --run RUN_DIR --items ROOT --out scores.csv
    stockcast inspect score --package models/inspect/1 --items ROOT --out scores.csv  # no torch
    stockcast inspect rejected --scores scores.csv --out rejected.csv [--sku-column sku]

Every flag is derived from a settings dataclass (:class:`~vision.config.ModelSpec`,
:class:`~vision.config.DataConfig`, :class:`~vision.config.CalibrationConfig`,
:class:`~vision.config.ScoreConfig`, :class:`~vision.config.SyntheticConfig`,
:class:`~training.config.ImageTrainConfig`). A YAML ``--config`` for ``train`` has one section
per dataclass with the same field names; flags given on the command line win, and what neither
gives keeps the dataclass default (the image-training defaults for ``train``)::

    model: {backbone: resnet18, width: 32, image_size: 128}
    data: {layout: tunnel, val_fraction: 0.2}
    calibration: {target_frr: 0.01, review_rate: 0.04}
    train: {max_epochs: 30, batch_size: 16, seed: 0}

The work is done by :class:`vision.Inspector` and :mod:`vision.synthetic`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from serving.cli import CliError
from serving.cli._options import (
    add_settings,
    given,
    inputs_of,
    read_config,
    refuse_output_over_inputs,
)
from training.config import ImageTrainConfig
from vision.config import (
    CalibrationConfig,
    DataConfig,
    ModelSpec,
    ScoreConfig,
    SyntheticConfig,
)
from vision.schema import SYNTHETIC_KINDS

#: The sections of ``inspect train --config``, keyed like :class:`vision.Inspector`'s settings.
SECTIONS: dict[str, Any] = {
    "model": ModelSpec,
    "data": DataConfig,
    "calibration": CalibrationConfig,
    "train": ImageTrainConfig,
}
#: Data settings that scoring and calibration read a dataset with: the layout is detected
#: (inbound items need not be laid out as the training set was), the rest are the run's.
READ_SETTINGS = ("layout", "good_class", "min_view_size")
RUN_DEFAULT = "the run's"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` subcommand group (its actions)."""
    parser = subparsers.add_parser(
        "inspect",
        help="camera-tunnel inspection: generate, train, calibrate, score",
        description="Multi-view defect inspection for the camera tunnel.",
    )
    sub = parser.add_subparsers(dest="inspect_command", required=True, metavar="ACTION")

    gen = sub.add_parser(
        "generate", help="write a synthetic dataset (a camera tunnel, or part photos in folders)"
    )
    gen.add_argument("--out", required=True, type=Path, help="new dataset folder")
    tunnel, parts = SYNTHETIC_KINDS
    gen.add_argument(
        "--kind",
        choices=SYNTHETIC_KINDS,
        help=f"{tunnel}: 6-view items with a catalog (tunnel layout); {parts}: grey part photos "
        "of varying sizes with small defects, half of them defective (class folders; uses "
        f"--items and --seed) [{tunnel}]",
    )
    gen.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    add_settings(gen, SyntheticConfig)
    gen.set_defaults(handler=_generate)

    train = sub.add_parser("train", help="train a model and write a run folder")
    train.add_argument(
        "--data",
        required=True,
        type=Path,
        help="dataset root: tunnel layout (items/, labels.csv, catalog.csv) or "
        "class folders (ROOT/<class>/*.png)",
    )
    train.add_argument("--out", required=True, type=Path, help="run folder to create")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    train.add_argument(
        "--config", type=Path, help="YAML config with sections model / data / calibration / train"
    )
    train.add_argument(
        "--feedback",
        metavar="DB",
        help="review database (`serve --review-db`, `demo`): the items people decided join the "
        "training data, labelled by their decisions",
    )
    add_settings(train.add_argument_group("model"), ModelSpec)
    add_settings(train.add_argument_group("data"), DataConfig)
    add_settings(train.add_argument_group("calibration"), CalibrationConfig)
    add_settings(train.add_argument_group("training"), ImageTrainConfig)
    train.set_defaults(handler=_train)

    cal = sub.add_parser("calibrate", help="recalibrate a run's thresholds on labelled items")
    cal.add_argument("--run", required=True, type=Path, help="run folder")
    cal.add_argument("--data", required=True, type=Path, help="labelled dataset root")
    _add_run_settings(cal, CalibrationConfig)
    add_settings(cal, ScoreConfig, skip=("heatmaps",))
    cal.set_defaults(handler=_calibrate)

    score = sub.add_parser(
        "score", help="score items: per-item verdicts, per-view scores, heatmaps"
    )
    source = score.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="run folder from `train` (PyTorch)")
    source.add_argument(
        "--package", type=Path, help="model package from `export` (onnxruntime, no torch)"
    )
    score.add_argument(
        "--int8",
        action="store_true",
        help="with --package: score with its int8 graph (`export --quantize`; CPU)",
    )
    score.add_argument(
        "--items",
        required=True,
        type=Path,
        help="items root: tunnel layout, class folders or plain images",
    )
    score.add_argument(
        "--out",
        required=True,
        type=Path,
        help="items table (.csv or .parquet); views go to <stem>.views<suffix>",
    )
    score.add_argument(
        "--heatmap-dir", type=Path, help="heatmap folder [<out folder>/<stem>_heatmaps]"
    )
    score.add_argument(
        "--overwrite", action="store_true", help="replace an existing heatmap folder"
    )
    _add_run_settings(score)
    add_settings(score, ScoreConfig)
    score.set_defaults(handler=_score)

    rej = sub.add_parser(
        "rejected", help="per-SKU rejected/review counts from a scored items table"
    )
    rej.add_argument("--scores", required=True, type=Path, help="items table from `score`")
    rej.add_argument("--out", required=True, type=Path, help="counts table (.csv or .parquet)")
    rej.add_argument(
        "--sku-column",
        help="column of the SKU each unit counts against, the inventory's item_id (not given: "
        "product_id, as vision.tables.rejected_units; the demo's stations write sku)",
    )
    rej.set_defaults(handler=_rejected)


def _add_run_settings(parser: argparse.ArgumentParser, *extra: type) -> None:
    """Flags whose default is the run's own setting (how it reads data, where it runs)."""
    run_defaults = dict.fromkeys(READ_SETTINGS[1:], RUN_DEFAULT)
    add_settings(parser, DataConfig, only=READ_SETTINGS, help_defaults=run_defaults)
    for cls in extra:
        names = [f.name for f in dataclasses.fields(cls)]
        add_settings(parser, cls, help_defaults=dict.fromkeys(names, RUN_DEFAULT))
    add_settings(
        parser, ImageTrainConfig, only=("accelerator",), help_defaults={"accelerator": RUN_DEFAULT}
    )


# --------------------------------------------------------------------------- settings


def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The YAML config merged with the flags (flags win), as the settings dataclasses."""
    config = read_config(args, SECTIONS, " (training settings go under train:)")
    settings: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        try:
            settings[name] = cls.from_dict(given(args, cls, config.get(name)))
        except (TypeError, ValueError) as exc:
            raise CliError(f"{name} settings: {exc}") from None
    return settings


def _load_run(args: argparse.Namespace):
    """The run of ``--run`` with the flags that override its reading and device settings."""
    from vision import Inspector

    inspector = Inspector.load(args.run)
    try:
        read = given(args, DataConfig, {"layout": DataConfig().layout})
        inspector.data = dataclasses.replace(inspector.data, **read)
        if args.accelerator is not None:
            inspector.train = dataclasses.replace(inspector.train, accelerator=args.accelerator)
    except (TypeError, ValueError) as exc:
        raise CliError(f"settings: {exc}") from None
    return inspector


# --------------------------------------------------------------------------- handlers


def _generate(args: argparse.Namespace) -> int:
    from vision.synthetic import write_synthetic_dataset

    typed = given(args, SyntheticConfig)
    config = SyntheticConfig.from_dict(typed)
    if args.kind == "parts":  # not given: the tunnel
        ignored = sorted(set(typed) - {"items", "seed", "progress"})
        if ignored:  # the part photos have their own sizes and defect share
            flags = ", ".join("--" + name.replace("_", "-") for name in ignored)
            raise CliError(f"{flags}: the tunnel's settings; --kind parts uses --items and --seed")
        from vision.synthetic_parts import write_parts_dataset

        root = write_parts_dataset(
            args.out, config.items, seed=config.seed, overwrite=args.overwrite
        )
        print(f"wrote {config.items} part photos in class folders to {root}")
        return 0
    root = write_synthetic_dataset(args.out, config=config, overwrite=args.overwrite)
    print(f"wrote {config.items} items x 6 views to {root}")
    return 0


def _train(args: argparse.Namespace) -> int:
    inputs = inputs_of(args, "data", "config", "feedback")
    refuse_output_over_inputs(args.out, inputs, folder=True, what="the run")
    from kernels.runfolder import is_main_process
    from vision import Inspector

    settings = resolve_settings(args)
    inspector = Inspector(**settings)
    data = args.data
    if args.feedback is not None:
        from serving.review import ReviewStore, database_path, with_feedback

        # a path or a sqlite:/// URL, as serve's --review-db (a Path made sqlite:/// "sqlite:/")
        if not database_path(args.feedback).is_file():
            raise CliError(f"--feedback {args.feedback}: no such file")
        items = inspector.items(args.data, require_labels=True)
        try:
            store = ReviewStore(args.feedback, create=False)
        except ValueError as exc:
            raise CliError(f"--feedback {exc}") from None
        data, added = with_feedback(items, store)
        print(f"{added} reviewed items from {args.feedback} join {len(items.items)} labelled ones")
    inspector.fit(data, run_dir=args.out, overwrite=args.overwrite)
    if not is_main_process():
        return 0  # DDP workers: the main process writes the run folder
    data = inspector.training.get("data", {})
    print(
        f"run written to {args.out} ({data.get('n_train')} training items, "
        f"{data.get('n_val')} validation items)"
    )
    _print_metrics(inspector.metrics.get("calibration", {}), inspector.thresholds)
    issues = inspector.issues
    for issue in issues[:20]:
        print(f"  data issue: {issue}", file=sys.stderr)
    if len(issues) > 20:
        print(f"  ... {len(issues) - 20} more data issues in the manifest", file=sys.stderr)
    return 0


def _print_metrics(metrics: dict, thresholds) -> None:
    if metrics.get("auroc"):
        print(
            f"AUROC on the {metrics.get('n_items')} calibration items: "
            + ", ".join(
                f"{k} {v:.3f}" if v is not None else f"{k} n/a" for k, v in metrics["auroc"].items()
            )
        )
    if thresholds is not None:
        print(
            f"thresholds for a false-reject rate of {thresholds.target_frr} "
            f"(from {thresholds.n_good} good items; review band {thresholds.review_rate}):"
        )
        for k, name in enumerate(thresholds.class_names):
            # Significant digits, not decimals: a confident model's thresholds sit near 0, and
            # 3e-05 and 1e-05 both printed 0.0000, as if every score were over them.
            print(
                f"  {name:<14} reject > {thresholds.reject[k]:.6g}   "
                f"review > {thresholds.review[k]:.6g}"
            )
        for note in thresholds.notes:
            print(f"  note: {note}")


def _calibrate(args: argparse.Namespace) -> int:
    inspector = _load_run(args)
    rates = given(args, CalibrationConfig)
    inspector.calibrate(args.data, **rates, **given(args, ScoreConfig))
    metrics = inspector.metrics["calibration"]
    print(f"calibrated {args.run} on {metrics['n_items']} items from {args.data}")
    _print_metrics(metrics, inspector.thresholds)
    return 0


def _load_package(args: argparse.Namespace):
    """The package of ``--package`` with the flags that override how it reads data; an
    ``--accelerator cpu`` keeps it on the CPU provider."""
    from serving.runtime import InspectionPackage

    requested = ["CPUExecutionProvider"] if args.accelerator == "cpu" else None
    package = InspectionPackage(args.package, requested=requested, quantized=args.int8)
    try:
        read = given(args, DataConfig, {"layout": DataConfig().layout})
        package.data = dataclasses.replace(package.data, **read)
    except (TypeError, ValueError) as exc:
        raise CliError(f"settings: {exc}") from None
    return package


def _score(args: argparse.Namespace) -> int:
    from vision.tables import ScoreOutputs

    if args.int8 and args.package is None:
        raise CliError("--int8: only with --package (a run scores with PyTorch)")
    settings = given(args, ScoreConfig)
    outputs = ScoreOutputs.plan(
        args.out, args.heatmap_dir, ScoreConfig.from_dict(settings).heatmaps
    )
    # Before the "exists; --overwrite" of outputs.check, which would replace the input.
    inputs = inputs_of(args, "items", "run", "package")
    refuse_output_over_inputs(outputs.items, inputs, what="the scores")
    refuse_output_over_inputs(outputs.views, inputs, label="views table", what="the scores")
    heatmaps = "--heatmap-dir" if args.heatmap_dir is not None else "heatmap folder"
    refuse_output_over_inputs(
        outputs.heatmaps, inputs, label=heatmaps, folder=True, what="the heatmaps"
    )
    outputs.check(args.overwrite)  # before the model is loaded and any item is scored
    scorer = _load_package(args) if args.package is not None else _load_run(args)
    items, _ = scorer.score(
        args.items,
        args.out,
        heatmap_dir=args.heatmap_dir,
        overwrite=args.overwrite,
        **settings,
    )
    if args.package is not None:
        print(f"onnxruntime on {scorer.provider}" + (" (int8)" if args.int8 else ""))
    counts = items["verdict"].value_counts().to_dict()
    print(
        f"scored {len(items)} items: "
        + ", ".join(f"{counts.get(v, 0)} {v}" for v in ("pass", "review", "reject"))
    )
    problems = items[items["status"] != "ok"]
    if len(problems):
        print(
            f"{len(problems)} items not fully inspected (verdict review or reject):",
            file=sys.stderr,
        )
        for row in problems.head(20).itertuples():
            print(f"  {row.item_id} [{row.status}]: {row.errors}", file=sys.stderr)
    print(
        f"items -> {outputs.items}\nviews -> {outputs.views}"
        + (f"\nheatmaps -> {outputs.heatmaps}" if outputs.heatmaps else "")
    )
    return 0


def _rejected(args: argparse.Namespace) -> int:
    refuse_output_over_inputs(args.out, {"--scores": args.scores}, what="the counts")
    from kernels.io import write_table
    from vision.tables import rejected_units

    given = {} if args.sku_column is None else {"sku_column": args.sku_column}
    counts = rejected_units(args.scores, **given)
    write_table(counts, args.out)
    print(
        json.dumps(
            {
                # Distinct SKUs: with a location_id the table has a row per SKU and location,
                # and its length counted a SKU stocked at two FCs twice.
                "skus": int(counts["item_id"].nunique()),
                "rows": len(counts),
                "rejected_units": int(counts["rejected_units"].sum()),
                "review_units": int(counts["review_units"].sum()),
            }
        )
    )
    return 0
