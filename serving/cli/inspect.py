"""``stockcast inspect``: generate a synthetic tunnel, train, calibrate and score inspection models.

::

    stockcast inspect generate --out DATA --items 600 --seed 1
    stockcast inspect train --data DATA --out RUN_DIR [--backbone resnet18 --width 64 ...]
    stockcast inspect calibrate --run RUN_DIR --data LABELLED_DATA --target-frr 0.01
    stockcast inspect score --run RUN_DIR --items ROOT --out scores.csv
    stockcast inspect rejected --scores scores.csv --out rejected.csv

The work is done by ``vision`` (data, model, calibration, scoring) and ``training.inspect_task``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from serving.cli import CliError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="camera-tunnel inspection: generate, train, calibrate, score",
        description="Multi-view defect inspection for the camera tunnel.",
    )
    sub = parser.add_subparsers(dest="inspect_command", required=True, metavar="ACTION")

    gen = sub.add_parser("generate", help="write a synthetic tunnel dataset (tunnel layout)")
    gen.add_argument("--out", required=True, type=Path, help="new dataset folder")
    gen.add_argument("--items", type=int, default=600, help="number of items (default 600)")
    gen.add_argument("--seed", type=int, default=0, help="seed of the item draw (default 0)")
    gen.add_argument("--image-size", type=int, default=128, help="pixels per side (default 128)")
    gen.add_argument(
        "--defect-rate",
        type=float,
        default=0.2,
        help="probability of each defect class per item (default 0.2)",
    )
    gen.add_argument("--products", type=int, default=12, help="catalog size (default 12)")
    gen.add_argument(
        "--catalog-seed",
        type=int,
        default=0,
        help="seed of the catalog; sets sharing it share products (default 0)",
    )
    gen.add_argument("--no-progress", action="store_true")
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
    train.add_argument("--layout", choices=("auto", "tunnel", "classes"), default="auto")
    train.add_argument(
        "--good-class",
        default="good",
        help="class folder holding defect-free images (class layout)",
    )
    train.add_argument("--config", type=Path, help="YAML training config (training.TrainConfig)")
    train.add_argument(
        "--backbone",
        default="resnet18",
        choices=("resnet18", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0"),
    )
    train.add_argument(
        "--width",
        type=int,
        default=64,
        help="resnet18 first-stage channels (64 = torchvision resnet18)",
    )
    train.add_argument("--output-stride", type=int, choices=(16, 32), default=16)
    train.add_argument("--image-size", type=int, default=128, help="model input size (default 128)")
    train.add_argument("--image-mode", choices=("auto", "RGB", "L"), default="auto")
    train.add_argument(
        "--pretrained",
        type=Path,
        help="local torchvision state_dict for the backbone (nothing is downloaded)",
    )
    train.add_argument("--epochs", type=int, help="max epochs (overrides the config)")
    train.add_argument("--batch-size", type=int, help="items per batch (overrides the config)")
    train.add_argument("--lr", type=float, help="peak learning rate (overrides the config)")
    train.add_argument("--seed", type=int, help="seed (overrides the config)")
    train.add_argument("--accelerator", choices=("auto", "cpu", "cuda", "gpu"))
    train.add_argument("--precision")
    train.add_argument("--devices", help="devices per node, e.g. 1, 4 or 'auto'")
    train.add_argument(
        "--val-fraction",
        type=float,
        default=0.2,
        help="share of items held out for early stopping and calibration",
    )
    train.add_argument(
        "--imbalance",
        choices=("pos_weight", "sqrt_pos_weight", "none"),
        default="pos_weight",
        help="class-imbalance handling (default pos_weight)",
    )
    _threshold_args(train)
    train.add_argument("--no-progress", action="store_true")
    train.set_defaults(handler=_train)

    cal = sub.add_parser("calibrate", help="recalibrate a run's thresholds on labelled items")
    cal.add_argument("--run", required=True, type=Path, help="run folder")
    cal.add_argument("--data", required=True, type=Path, help="labelled dataset root")
    cal.add_argument("--layout", choices=("auto", "tunnel", "classes"), default="auto")
    cal.add_argument("--good-class", default="good")
    _threshold_args(cal)
    _device_args(cal)
    cal.set_defaults(handler=_calibrate)

    score = sub.add_parser(
        "score", help="score items: per-item verdicts, per-view scores, heatmaps"
    )
    score.add_argument("--run", required=True, type=Path, help="run folder")
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
    score.add_argument("--layout", choices=("auto", "tunnel", "classes", "images"), default="auto")
    score.add_argument("--good-class", default="good")
    score.add_argument(
        "--heatmaps", type=Path, help="heatmap folder (default: <out folder>/<stem>_heatmaps)"
    )
    score.add_argument("--no-heatmaps", action="store_true", help="skip writing heatmaps")
    _device_args(score)
    score.set_defaults(handler=_score)

    rej = sub.add_parser(
        "rejected", help="per-SKU rejected/review counts from a scored items table"
    )
    rej.add_argument("--scores", required=True, type=Path, help="items table from `score`")
    rej.add_argument("--out", required=True, type=Path, help="counts table (.csv or .parquet)")
    rej.set_defaults(handler=_rejected)


def _threshold_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target-frr",
        type=float,
        default=0.01,
        help="target false-reject rate on good items (default 0.01)",
    )
    parser.add_argument(
        "--review-rate",
        type=float,
        default=0.04,
        help="extra share of good items sent to review below the reject thresholds (default 0.04)",
    )


def _device_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accelerator", choices=("auto", "cpu", "cuda", "gpu"), default="auto")
    parser.add_argument("--batch-size", type=int, default=16, help="items per batch (default 16)")
    parser.add_argument("--no-progress", action="store_true")


def _generate(args: argparse.Namespace) -> int:
    from vision.synthetic import make_catalog, write_synthetic_dataset

    catalog = make_catalog(args.products, args.catalog_seed)
    root = write_synthetic_dataset(
        args.out,
        args.items,
        seed=args.seed,
        image_size=args.image_size,
        defect_rate=args.defect_rate,
        catalog=catalog,
        progress=not args.no_progress,
    )
    print(f"wrote {args.items} items x 6 views to {root}")
    return 0


def _train_config(args: argparse.Namespace):
    from training.config import TrainConfig

    values = {}
    if args.config is not None:
        if not args.config.is_file():
            raise CliError(f"--config: {args.config} not found")
        values = TrainConfig.from_yaml(args.config).to_dict()
    else:
        # Image sets are finite: an epoch is one pass over the items.
        values = {
            "batches_per_epoch": None,
            "batch_size": 16,
            "max_epochs": 30,
            "learning_rate": 2e-3,
            "weight_decay": 1e-4,
            "early_stopping_patience": 6,
        }
    overrides = {
        "max_epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "seed": args.seed,
        "accelerator": args.accelerator,
        "precision": args.precision,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    if args.devices is not None:
        values["devices"] = int(args.devices) if args.devices.isdigit() else args.devices
    if args.no_progress:
        values["progress_bar"] = False
    return TrainConfig.from_dict(values)


def _train(args: argparse.Namespace) -> int:
    from training.inspect_task import train_inspector
    from vision.model import ModelSpec

    cfg = _train_config(args)
    spec = ModelSpec(
        backbone=args.backbone,
        width=args.width,
        output_stride=args.output_stride,
        image_size=args.image_size,
    )
    report = train_inspector(
        args.data,
        args.out,
        cfg=cfg,
        spec=spec,
        layout=args.layout,
        good_class=args.good_class,
        image_mode=args.image_mode,
        val_fraction=args.val_fraction,
        target_frr=args.target_frr,
        review_rate=args.review_rate,
        imbalance=args.imbalance,
        pretrained=str(args.pretrained) if args.pretrained else None,
        progress=not args.no_progress,
    )
    print(
        f"run written to {report.run_dir} ({report.n_train} training items, "
        f"{report.n_val} validation items)"
    )
    _print_metrics(report.metrics, report.thresholds)
    for issue in report.issues[:20]:
        print(f"  data issue: {issue}", file=sys.stderr)
    if len(report.issues) > 20:
        print(f"  ... {len(report.issues) - 20} more data issues in the manifest", file=sys.stderr)
    return 0


def _print_metrics(metrics: dict, thresholds) -> None:
    if metrics.get("auroc"):
        print(
            "validation AUROC: "
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
            print(
                f"  {name:<14} reject > {thresholds.reject[k]:.4f}   "
                f"review > {thresholds.review[k]:.4f}"
            )
        for note in thresholds.notes:
            print(f"  note: {note}")


def _device(args: argparse.Namespace):
    from training.devices import select_device

    return select_device(args.accelerator)


def _calibrate(args: argparse.Namespace) -> int:
    from vision.datasets import read_items
    from vision.run import update_thresholds
    from vision.scoring import Inspector

    inspector = Inspector(args.run, _device(args))
    item_set = read_items(
        args.data, layout=args.layout, good_class=args.good_class, require_labels=True
    )
    thresholds, metrics = inspector.calibrate(
        item_set,
        args.target_frr,
        args.review_rate,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    update_thresholds(args.run, thresholds, source=str(args.data), metrics=metrics)
    print(f"calibrated {args.run} on {metrics['n_items']} items from {args.data}")
    _print_metrics(metrics, thresholds)
    return 0


def _score(args: argparse.Namespace) -> int:
    from vision.datasets import read_items
    from vision.scoring import Inspector, write_scores

    if args.out.suffix.lower() not in (".csv", ".parquet"):
        raise CliError(f"--out: {args.out} must end in .csv or .parquet")
    inspector = Inspector(args.run, _device(args))
    item_set = read_items(args.items, layout=args.layout, good_class=args.good_class)
    heatmaps = None
    if not args.no_heatmaps:
        heatmaps = args.heatmaps or args.out.parent / f"{args.out.stem}_heatmaps"
    items, views = inspector.score(
        item_set, heatmap_dir=heatmaps, batch_size=args.batch_size, progress=not args.no_progress
    )
    items_path, views_path = write_scores(items, views, args.out)
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
        f"items -> {items_path}\nviews -> {views_path}"
        + (f"\nheatmaps -> {heatmaps}" if heatmaps else "")
    )
    return 0


def _rejected(args: argparse.Namespace) -> int:
    from vision.io import write_table
    from vision.scoring import rejected_units

    counts = rejected_units(args.scores)
    write_table(counts, args.out)
    print(
        json.dumps(
            {
                "skus": len(counts),
                "rejected_units": int(counts["rejected_units"].sum()),
                "review_units": int(counts["review_units"].sum()),
            }
        )
    )
    return 0
