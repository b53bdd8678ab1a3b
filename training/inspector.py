"""``Inspector``: one fit / calibrate / score / save / load API for camera-tunnel inspection.

    inspector = Inspector(width=32, train=ImageTrainConfig(max_epochs=20))
    inspector.fit("tunnel", run_dir="runs/inspect")   # read, split, fit, calibrate, write
    inspector.calibrate("fresh_labelled", target_frr=0.01)   # new thresholds (and manifest)
    items, views = inspector.score("inbound", out="scores.csv")   # + views table, heatmaps
    Inspector.load("runs/inspect")

It lives in ``training`` because fitting needs the Lightning assembly; ``vision`` exports it
lazily as :class:`vision.Inspector`. The settings are the torch-free dataclasses of
:mod:`vision.config` (``model``, ``data``, ``calibration``) and
:class:`~training.config.ImageTrainConfig` (``train``). A run folder is the shared format of
:mod:`kernels.runfolder` (task ``inspection``) with the entries of :mod:`vision.run`: it is
built under a temporary name and appears whole or not at all, and every file's sha256 is
checked when it is loaded.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Subset

from kernels.runfolder import (
    building,
    check_unchanged,
    is_main_process,
    manifest_entry,
    published_path,
    read_manifest,
    reading_entry,
    update_manifest,
    write_manifest,
)
from training.config import ImageTrainConfig, TrainConfig
from training.devices import select_device
from training.inspect_task import (
    balanced_sample_weights,
    data_fingerprint,
    fit_inspector,
    imbalance_weights,
)
from training.pretrain import pretrain_backbone
from training.trainer import random_state_restored
from vision.augment import AugmentSpec, dominant_axis, preset_augment
from vision.calibration import Thresholds
from vision.config import CalibrationConfig, DataConfig, ModelSpec, ScoreConfig
from vision.datasets import (
    CatalogHandling,
    ItemDataset,
    ItemSet,
    choose_image_size,
    copy_groups,
    majority_mode,
    read_items,
    stratified_split,
)
from vision.run import (
    TASK,
    RunModel,
    manifest_entries,
    read_model,
    thresholds_entry,
    write_model_files,
)
from vision.scoring import ScoreOutputs, Scorer

#: The settings an :class:`Inspector` takes, by the name of their section (YAML, manifest).
SETTINGS: dict[str, type] = {
    "model": ModelSpec,
    "data": DataConfig,
    "calibration": CalibrationConfig,
}
VALIDATION_SOURCE = "validation split"
CLASS_FOLDER_CONTRAST = 7  # top-hat size: marks up to about 6 px across at the model's input


def resolve_model_spec(
    spec: ModelSpec, item_set: ItemSet, augment: AugmentSpec | None, max_image_size: int
) -> ModelSpec:
    """``spec`` with its data-dependent settings fixed: ``image_size`` 0 -> from the images
    (:func:`vision.items.choose_image_size`), ``contrast`` auto -> on for class folders (their
    photos show one part each, where defects are small marks; the tunnel's defects are not),
    ``tta`` auto -> the augmentation's symmetry
    (left for later when ``augment`` is not chosen yet)."""
    changes: dict[str, Any] = {}
    if spec.image_size == 0:
        changes["image_size"] = choose_image_size(item_set, max_image_size)
    if spec.contrast == -1:
        changes["contrast"] = CLASS_FOLDER_CONTRAST if item_set.layout == "classes" else 0
    if spec.tta == "auto" and augment is not None:
        changes["tta"] = augment.symmetry
    resolved = dataclasses.replace(spec, **changes) if changes else spec
    if (
        resolved.contrast > 0
        and resolved.tta not in ("none", "auto")
        and resolved.image_size % resolved.feature_stride
    ):
        # The contrast path takes its maximum over cells counted from the top-left corner;
        # with a partial last cell a flipped view's cells cover other pixels, and the averaged
        # heatmap splits a mark between the cell that holds it and its mirror. Checked when a
        # run is fitted, so runs saved before still load.
        raise ValueError(
            f"image_size: {resolved.image_size} is not a multiple of the output stride "
            f"{resolved.feature_stride}, so the contrast path's cells do not survive the flips "
            f"of tta {resolved.tta!r}; choose a multiple of {resolved.feature_stride}, tta "
            "'none' or contrast 0"
        )
    return resolved


def default_augment(layout: str, dataset: ItemDataset, index: np.ndarray) -> AugmentSpec:
    """The layout's augmentation; for class folders without quarter turns when the training
    images share a direction of structure (:func:`vision.augment.dominant_axis`)."""
    if layout == "tunnel":
        return AugmentSpec.tunnel()
    sample = index[:: max(1, len(index) // 400)]  # a few hundred images decide
    views = [dataset[int(i)] for i in sample]
    images = [v["images"][v["view_mask"] > 0] for v in views]
    stack = torch.cat(images) if images else torch.zeros(0)
    return AugmentSpec.parts(quarter_turns=dominant_axis(stack) == "none")


def _route(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Keyword settings to their section by field name (the names are unique across them)."""
    owner = {f.name: name for name, cls in SETTINGS.items() for f in dataclasses.fields(cls)}
    unknown = sorted(set(settings) - set(owner))
    if unknown:
        raise ValueError(f"Inspector: unknown settings {unknown}; known: {sorted(owner)}")
    routed: dict[str, dict[str, Any]] = {name: {} for name in SETTINGS}
    for key, value in settings.items():
        routed[owner[key]][key] = value
    return routed


def _image_train(train: TrainConfig | None) -> ImageTrainConfig:
    """``train`` as the :class:`ImageTrainConfig` a run saves and loads: a plain
    :class:`TrainConfig` trains without a moving average of the weights, selects on the AUROC and
    (learning rate none) at the image-training rate, and its run says so when loaded."""
    if train is None:
        return ImageTrainConfig()
    if isinstance(train, ImageTrainConfig):
        return train
    values = train.to_dict()
    if values["learning_rate"] is None:
        values["learning_rate"] = ImageTrainConfig().learning_rate
    return ImageTrainConfig(**{**values, "ema_decay": 0.0, "select_on": "auroc"})


def _process_gpu(devices: int | str) -> int:
    """The GPU index this process trains on, as Lightning picks it: its local rank, or the
    entry at it of a list of device indices (``--devices 1,3``, ``1,``: GPUs 1 and 3, GPU 1),
    where the local rank alone pretrained on GPUs the list left out (cuda:0 for ``1,``)."""
    rank = int(os.environ.get("LOCAL_RANK", "0"))
    if "," not in str(devices):  # auto or a count: GPUs 0, 1, ...
        return rank
    ids = [int(part) for part in str(devices).split(",") if part.strip()]
    return ids[rank] if rank < len(ids) else rank


class Inspector:
    """Per-item inspection verdicts from camera-tunnel images: fit, calibrate, score, save.

    Settings are given as keywords (any field of :class:`~vision.config.ModelSpec`,
    :class:`~vision.config.DataConfig` or :class:`~vision.config.CalibrationConfig`: ``width``,
    ``image_size``, ``layout``, ``val_fraction``, ``target_frr``...) or as those objects
    (``model=``, ``data=``, ``calibration=``); ``train`` is the
    :class:`~training.config.ImageTrainConfig` and ``augment`` an
    :class:`~vision.augment.AugmentSpec` (default: chosen by the layout). Data are dataset
    folders (tunnel layout, class folders, plain images to score) or
    :class:`~vision.datasets.ItemSet`\\ s.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from training import ImageTrainConfig
    >>> from vision import Inspector
    >>> from vision.synthetic import write_synthetic_dataset
    >>> folder = Path(tempfile.mkdtemp())
    >>> tunnel = write_synthetic_dataset(folder / "tunnel", 24, image_size=32, progress=False)
    >>> good = write_synthetic_dataset(
    ...     folder / "good", 24, seed=1, image_size=32, defect_rate=0.0, progress=False
    ... )
    >>> fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    >>> inspector = Inspector(width=8, image_size=32, head_dim=16, train=fast)
    >>> inspector.fit(tunnel).calibrate(good, target_frr=0.2, progress=False)
    Inspector(resnet18 width 8, 4 classes, 6 views, calibrated)
    >>> items, views = inspector.score(tunnel, progress=False)
    >>> items.columns[:6].tolist()
    ['item_id', 'product_id', 'location_id', 'verdict', 'reasons', 'status']
    >>> len(items), len(views), set(items["verdict"]) <= {"pass", "review", "reject"}
    (24, 144, True)
    >>> run = inspector.save(folder / "run")
    >>> again, _ = Inspector.load(run).score(tunnel, progress=False)
    >>> again["verdict"].equals(items["verdict"])
    True
    """

    def __init__(
        self,
        *,
        model: ModelSpec | None = None,
        data: DataConfig | None = None,
        calibration: CalibrationConfig | None = None,
        train: TrainConfig | None = None,
        augment: AugmentSpec | None = None,
        **settings: Any,
    ):
        routed = _route(settings)
        self.model = ModelSpec.from_dict({**(model or ModelSpec()).to_dict(), **routed["model"]})
        self.data = DataConfig.from_dict({**(data or DataConfig()).to_dict(), **routed["data"]})
        self.calibration = CalibrationConfig.from_dict(
            {**(calibration or CalibrationConfig()).to_dict(), **routed["calibration"]}
        )
        self.train: TrainConfig = _image_train(train)
        if augment is not None and self.data.augmentation != "auto":
            raise ValueError(
                f"augment and augmentation={self.data.augmentation!r}: give one (an AugmentSpec, "
                "or a named augmentation)"
            )
        self.augment = augment
        # The model settings as asked for (``image_size`` 0, ``contrast`` -1 and ``tta`` auto
        # are chosen from each dataset fitted) and as the last fit resolved them.
        self._asked_model: ModelSpec = self.model
        self._resolved_model: ModelSpec | None = None
        self.fitted_: RunModel | None = None
        #: The run folder this inspector was fitted into, saved to or loaded from.
        self.run_dir: Path | None = None
        self._run_files: dict[str, str] | None = None  # the run folder's files as read/written
        self.training: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}
        self.data_fingerprint: str | None = None
        #: Problems with single items found while fitting (left out, views unreadable...).
        self.issues: list[str] = []

    def __repr__(self) -> str:
        spec = self.model.backbone + (
            f" width {self.model.width}" if self.model.backbone == "resnet18" else ""
        )
        if self.fitted_ is None:
            return f"Inspector({spec}, not fitted)"
        state = "calibrated" if self.fitted_.thresholds is not None else "not calibrated"
        return (
            f"Inspector({spec}, {len(self.fitted_.class_names)} classes, "
            f"{len(self.fitted_.view_names)} views, {state})"
        )

    # ------------------------------------------------------------------ state

    @property
    def net(self):
        """The fitted :class:`~vision.model.InspectionNet` (on the CPU unless scoring moved it)."""
        return self._require_fitted().net

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes the fitted network scores, in the order of its outputs."""
        return self._require_fitted().class_names

    @property
    def view_names(self) -> tuple[str, ...]:
        """The camera views the fitted network reads, in its input order."""
        return self._require_fitted().view_names

    @property
    def thresholds(self) -> Thresholds | None:
        """The calibrated per-class reject/review thresholds; ``None`` until calibrated."""
        return self._require_fitted().thresholds

    def _require_fitted(self) -> RunModel:
        if self.fitted_ is None:
            raise RuntimeError("this inspector is not fitted: call fit() or load() first")
        return self.fitted_

    def _config(self) -> dict[str, Any]:
        return {
            "model": self.model.to_dict(),
            "data": self.data.to_dict(),
            "calibration": self.calibration.to_dict(),
            "train": self.train.to_dict(),
            "augment": self.augment.to_dict() if self.augment is not None else None,
        }

    def items(
        self,
        data: str | Path | ItemSet,
        require_labels: bool = False,
        fitted: bool = False,
        to_score: bool = False,
    ) -> ItemSet:
        """The items of a dataset folder (read with the ``layout`` and ``good_class``
        settings; with ``fitted``, class folders labelled against the fitted model's classes;
        ``to_score``: items to score, see :func:`vision.items.read_class_folders`), or
        ``data`` itself when it is an :class:`ItemSet` already. With ``require_labels``, a set
        with an unlabelled item is refused (``ValueError``)."""
        if isinstance(data, ItemSet):
            if require_labels and not data.labeled:
                raise ValueError(f"{data.root}: labels are needed for every item")
            return data
        return read_items(
            data,
            layout=self.data.layout,
            good_class=self.data.good_class,
            require_labels=require_labels,
            class_names=self.class_names if fitted else None,
            to_score=to_score,
        )

    def _scorer(self) -> Scorer:
        device = select_device(self.train.accelerator)
        return Scorer(self._require_fitted(), device, self.data.min_view_size)

    # ---------------------------------------------------------------- fitting

    def fit(
        self,
        data: str | Path | ItemSet,
        run_dir: str | Path | None = None,
        *,
        overwrite: bool = False,
    ) -> Inspector:
        """Fit on a labelled dataset, then calibrate the thresholds on its held-out split.

        ``val_fraction`` of every label combination is held out for early stopping and
        calibration (when calibration fails there, for lack of good items, :attr:`issues` says
        so and :meth:`calibrate` is needed before scoring). Items that cannot be used at all
        (no readable view) are left out and listed in :attr:`issues`; items with some bad
        views train on the views they have. With ``run_dir``, the trainer's checkpoints and
        logs and the fitted model are written there; the folder appears whole when fitting
        succeeds and not at all when it fails or is interrupted (an existing one is an error
        unless ``overwrite``).
        """
        if run_dir is None:
            with tempfile.TemporaryDirectory(prefix="stockcast-inspect-") as scratch:
                self._fit(self.items(data, require_labels=True), Path(scratch))
            return self
        with building(run_dir, overwrite=overwrite) as folder:
            written = self._fit(self.items(data, require_labels=True), folder)
            if written and is_main_process():
                self._write(folder)
        self.run_dir = Path(run_dir)
        return self

    @random_state_restored()
    def _fit(self, item_set: ItemSet, folder: Path) -> bool:
        """Fit into the trainer folder ``folder``; False on the DDP ranks that do not write."""
        settings, progress = self.data, self.train.progress_bar
        image_mode = settings.image_mode
        if image_mode == "auto":
            image_mode = "RGB" if item_set.layout == "tunnel" else majority_mode(item_set)
        # What a fit chose from its data is chosen again from this data; a spec set since the
        # last fit is taken as asked.
        if self._resolved_model is None or self.model != self._resolved_model:
            self._asked_model = self.model
        # The size first (loading needs it); the augmentation, and with it the TTA, once the
        # training images are loaded (class folders look at their orientation).
        asked = self.augment or preset_augment(settings.augmentation)
        spec = resolve_model_spec(self._asked_model, item_set, asked, settings.max_image_size)
        catalog = CatalogHandling()
        if item_set.catalog is not None:
            catalog = CatalogHandling("reference", item_set.catalog, item_set.catalog.size_scale())
        full = ItemDataset(
            item_set,
            item_set.view_names,
            spec.image_size,
            image_mode,
            catalog,
            item_set.class_names,
            cache=True,
            min_view_size=settings.min_view_size,
            resize=spec.resize,
        ).preload(progress=progress)
        issues = item_set.issues()
        usable = []
        for index in range(len(full)):
            sample, item = full[index], item_set.items[index]
            new = [e for e in sample["errors"] if e not in item.issues]
            new += sample.get("mask_errors", [])
            issues += [f"item {item.item_id}: {e}" for e in new]
            if sample["view_mask"].sum() > 0:
                usable.append(index)
            else:
                issues.append(f"item {item.item_id}: no readable view; left out")
        usable_arr = np.array(usable, dtype=int)
        labels = item_set.label_matrix()[usable_arr]
        if item_set.layout == "classes":
            # Every class folder is a class because it holds images; when none of them can be
            # read (16-bit, CMYK...), the model would train that class on no example at all.
            # (items, classes) even with no readable item: then every folder is empty (the
            # good one alone was named, as if the defect folders had been read).
            present = (labels >= 0.5).any(axis=0)
            empty = [c for c, seen in zip(item_set.class_names, present) if not seen]
            if not (labels < 0.5).all(axis=1).any():
                empty.insert(0, str(item_set.good_class))
            if empty:
                raise ValueError(
                    f"{item_set.root}: no readable image in class folders {empty} "
                    f"(first problems: {'; '.join(issues[:2])})"
                )
        if not usable:
            # Every view refused (RGB photos for an --image-mode L model, unreadable files):
            # the split below failed on the empty label table with numpy's reshape message.
            raise ValueError(
                f"{item_set.root}: no item has a readable view "
                f"(first problems: {'; '.join(issues[:2])})"
            )
        groups, copies = copy_groups(item_set, full.__getitem__, usable_arr)
        issues += copies
        keep, held = stratified_split(labels, settings.val_fraction, self.train.seed, groups)
        if len(held) == 0 or len(keep) == 0:
            raise ValueError(
                f"{item_set.root}: {len(usable)} usable items are too few to hold out "
                f"{settings.val_fraction:.0%} for validation"
            )
        train_idx, val_idx = usable_arr[keep], usable_arr[held]
        unmeasured = [
            name
            for name, count in zip(item_set.class_names, (labels[held] >= 0.5).sum(axis=0))
            if not count
        ]
        if unmeasured:
            issues.append(
                f"classes {unmeasured}: no item of the validation split has them (too few to "
                "hold one out); checkpoint selection and the calibration metrics do not measure "
                "them"
            )
        augment = asked or default_augment(item_set.layout, full, train_idx)
        spec = resolve_model_spec(spec, item_set, augment, settings.max_image_size)
        self.model = self._resolved_model = spec
        imbalance = settings.imbalance
        if imbalance == "auto":
            imbalance = "balanced" if item_set.layout == "classes" else "pos_weight"
        weights = imbalance_weights(labels[keep], imbalance)
        sample_weights = balanced_sample_weights(labels[keep]) if imbalance == "balanced" else None
        ema_decay = getattr(self.train, "ema_decay", 0.0) or None
        initial_state, ssl_losses = None, None
        if settings.ssl_epochs:
            initial_state, ssl_losses = pretrain_backbone(
                Subset(full, train_idx.tolist()),
                self.model,
                settings.ssl_epochs,
                batch_size=max(self.train.batch_size, 16),
                seed=self.train.seed,
                # Each DDP process on its own GPU (a launcher's workers set LOCAL_RANK): on
                # cuda:0 every process of the node pretrained on the first GPU at once.
                device=select_device(self.train.accelerator, _process_gpu(self.train.devices)),
                progress=progress,
                deterministic=self.train.deterministic,
            )
        fitted = fit_inspector(
            Subset(full, train_idx.tolist()),
            Subset(full, val_idx.tolist()),
            spec=self.model,
            class_names=item_set.class_names,
            view_names=item_set.view_names,
            cfg=self.train,
            run_dir=folder,
            augment=augment,
            pos_weight=weights,
            view_loss_weight=settings.view_loss_weight,
            pretrained=settings.pretrained,
            sample_weights=sample_weights,
            ema_decay=ema_decay,
            val_labels=labels[held],
            select_on=getattr(self.train, "select_on", "auroc"),
            initial_state=initial_state,
            optimizer=getattr(self.train, "optimizer", "adamw"),
        )
        self.fitted_ = RunModel(
            fitted.model, item_set.class_names, item_set.view_names, image_mode, catalog, None, None
        )
        self.issues = issues
        self.run_dir = None
        if not fitted.result.is_global_zero:
            # Under DDP every rank fits; only rank zero calibrates and writes.
            return False
        self.data_fingerprint = data_fingerprint(item_set)
        self.metrics = {"best_validation": {fitted.monitor: fitted.result.best_score}}
        self.training = {
            "data": {
                # Where the data will be once a staging folder it lies in is published (the
                # demo's tunnel set): int8 export reads the images from here.
                "root": str(published_path(Path(item_set.root).resolve())),
                "layout": item_set.layout,
                "good_class": item_set.good_class,
                "n_items": len(item_set.items),
                "n_train": int(len(train_idx)),
                "n_val": int(len(val_idx)),
                "positives_train": {
                    c: int(v) for c, v in zip(item_set.class_names, (labels[keep] >= 0.5).sum(0))
                },
                "issues": issues[:200],
                "n_issues": len(issues),
            },
            "pos_weight": fitted.pos_weight,
            "imbalance": imbalance,
            "ema_decay": ema_decay,
            "augment": augment.to_dict(),
            "selected_on": fitted.monitor,
            "ssl_loss_by_epoch": None if ssl_losses is None else [round(v, 4) for v in ssl_losses],
            "epochs": fitted.result.epochs,
            "stopped_early": fitted.result.stopped_early,
            "best_validation": {fitted.monitor: fitted.result.best_score},
            "train_minutes": round(fitted.train_minutes, 3),
        }
        try:
            self._calibrate(
                item_set.subset(val_idx.tolist()),
                VALIDATION_SOURCE,
                ScoreConfig(progress=progress),
            )
        except ValueError as exc:
            issues.append(
                f"calibration on the validation split failed: {exc}; run "
                "`stockcast inspect calibrate` on labelled data"
            )
        return True

    # ------------------------------------------------------------ calibration

    def calibrate(
        self,
        data: str | Path | ItemSet,
        target_frr: float | None = None,
        review_rate: float | None = None,
        *,
        update_run: bool = True,
        **settings: Any,
    ) -> Inspector:
        """Set the thresholds from labelled items for ``target_frr`` and ``review_rate``
        (default: the ``calibration`` settings, which are updated).

        ``settings`` are :class:`~vision.config.ScoreConfig` fields (``batch_size``,
        ``progress``). The thresholds, AUROC and catch rates on these items go to
        :attr:`thresholds` and ``metrics["calibration"]``; with ``update_run``, an inspector
        fitted into, saved to or loaded from a run folder also rewrites that folder's manifest,
        so the run scores with them from then on.
        """
        values = self.calibration.to_dict()
        if target_frr is not None:
            values["target_frr"] = target_frr
        if review_rate is not None:
            values["review_rate"] = review_rate
        calibration = CalibrationConfig.from_dict(values)
        item_set = self.items(data, require_labels=True, fitted=True)
        source = str(published_path(data if isinstance(data, str | Path) else item_set.root))
        # The settings change with the thresholds only: a calibration that fails (too few good
        # items) keeps both, so a later save does not pair the new rates with the old thresholds.
        previous, self.calibration = self.calibration, calibration
        try:
            self._calibrate(item_set, source, ScoreConfig.from_dict(settings))
        except BaseException:
            self.calibration = previous
            raise
        if update_run and self.run_dir is not None and is_main_process():
            fitted = self._require_fitted()
            # Only the calibration settings change with the thresholds: the run's other
            # settings stay as its model and preprocessing entries were written with them (a
            # reading option of this call, `inspect calibrate --min-view-size 8` or its layout,
            # was saved as the run's while its preprocessing and packages kept 16).
            config = dict(read_manifest(self.run_dir, task=TASK)["config"])
            config["calibration"] = self.calibration.to_dict()
            self._run_files = update_manifest(
                self.run_dir,
                expected=self._run_files,
                config=config,
                metrics=self.metrics,
                thresholds=thresholds_entry(fitted.thresholds, fitted.threshold_source),
            )["files"]
        return self

    def _calibrate(self, item_set: ItemSet, source: str, config: ScoreConfig) -> None:
        thresholds, metrics = self._scorer().calibrate(
            item_set,
            self.calibration.target_frr,
            self.calibration.review_rate,
            batch_size=config.batch_size,
            progress=config.progress,
        )
        fitted = self._require_fitted()
        fitted.thresholds, fitted.threshold_source = thresholds, source
        self.metrics = {**self.metrics, "calibration": metrics}

    # ---------------------------------------------------------------- scoring

    def score(
        self,
        items: str | Path | ItemSet,
        out: str | Path | None = None,
        *,
        heatmap_dir: str | Path | None = None,
        overwrite: bool = False,
        thresholds: Thresholds | None = None,
        **settings: Any,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Score every item: ``(items table, views table)`` (see :mod:`vision.scoring`).

        With ``out`` (``.csv`` or ``.parquet``) the items table is written there, the views
        table to ``<stem>.views<suffix>`` beside it and a heatmap overlay per view to
        ``heatmap_dir`` (default ``<stem>_heatmaps``); they appear together or not at all, an
        unwritable path is refused before any work and an existing heatmap folder is replaced
        only with ``overwrite``. ``settings`` are :class:`~vision.config.ScoreConfig` fields
        (``batch_size``, ``heatmaps``, ``progress``). A view smaller than ``min_view_size``
        pixels is reported like an unreadable one. ``thresholds`` replaces the calibrated ones
        for this call; without either, scoring is refused (``ValueError``).
        """
        config = ScoreConfig.from_dict(settings)
        outputs = ScoreOutputs.plan(out, heatmap_dir, config.heatmaps)
        outputs.check(overwrite)
        fitted = self._require_fitted()
        thresholds = thresholds or fitted.thresholds
        if thresholds is None:
            where = f"{self.run_dir}: " if self.run_dir is not None else ""
            raise ValueError(
                f"{where}the model has no calibrated thresholds; calibrate it on labelled items "
                "first (`stockcast inspect calibrate`)"
            )
        item_set = self.items(items, to_score=True)
        scorer = self._scorer()
        with outputs.publishing(overwrite) as (staging, write):
            tables = scorer.score(
                item_set,
                thresholds,
                heatmap_dir=staging,
                batch_size=config.batch_size,
                progress=config.progress,
                heatmap_name=outputs.heatmaps,
            )
            write(*tables)
        return tables

    # ------------------------------------------------------------ persistence

    def save(self, run_dir: str | Path, *, overwrite: bool = False) -> Path:
        """Write the fitted model to a new run folder (``model.pt``, ``catalog.csv`` for a
        catalog model, ``manifest.json``), whole or not at all; return its path."""
        self._require_fitted()
        with building(run_dir, overwrite=overwrite) as folder:
            self._write(folder)
        self.run_dir = Path(run_dir)
        return self.run_dir

    def _write(self, folder: Path) -> None:
        fitted = self._require_fitted()
        write_model_files(folder, fitted)
        self._run_files = write_manifest(
            folder,
            TASK,
            config=self._config(),
            data_fingerprint=self.data_fingerprint,
            metrics=self.metrics,
            **manifest_entries(folder, fitted, self.data.min_view_size),
            training=self.training,
        )["files"]

    @classmethod
    def load(cls, run_dir: str | Path) -> Inspector:
        """Load an inspection run folder; every file's sha256 is checked against its manifest
        (a changed or missing file is a :class:`~kernels.io.FileError` naming it) and the
        weights are read with ``weights_only=True`` (no pickles)."""
        manifest = read_manifest(run_dir, task=TASK)
        sections = {
            name: manifest_entry(manifest, run_dir, f"config.{name}")
            for name in ("model", "data", "calibration", "train")
        }
        augment = manifest["config"].get("augment")
        with reading_entry(run_dir, "config"):
            inspector = cls(
                model=ModelSpec.from_dict(sections["model"]),
                data=DataConfig.from_dict(sections["data"]),
                calibration=CalibrationConfig.from_dict(sections["calibration"]),
                train=ImageTrainConfig.from_dict(sections["train"]),
                augment=AugmentSpec.from_dict(augment) if augment else None,
            )
        inspector.fitted_ = read_model(run_dir, manifest)
        # The weights were read by name after the hashes were checked: still the same run?
        check_unchanged(run_dir, manifest)
        inspector.run_dir = Path(run_dir)
        inspector._run_files = manifest["files"]
        with reading_entry(run_dir, "training"):
            inspector.training = dict(manifest.get("training") or {})
            inspector.issues = list(inspector.training.get("data", {}).get("issues", []))
        with reading_entry(run_dir, "metrics"):
            inspector.metrics = dict(manifest.get("metrics") or {})
        inspector.data_fingerprint = manifest.get("data_fingerprint")
        return inspector
