"""Lightning trainer assembly: one place that turns a ``TrainConfig`` into a ``Trainer``.

Every task (forecasting, inspection) fits through :func:`fit`, so device choice, precision,
gradient clipping, early stopping, checkpoints, seeding, multi-GPU / multi-node DDP and what an
interrupted run leaves behave the same everywhere.

Interrupted (Ctrl-C, or SIGTERM as ``docker stop`` and Kubernetes send it; the command line turns
both into an exception that is not an ``Exception``), a run saves a resumable checkpoint
(weights, optimizer, loop state) before it stops: ``last.ckpt`` in the run's ``checkpoints/``,
or, for a run staged by :func:`kernels.runfolder.building` (whose staging folder is removed),
in ``<target>.interrupted/`` beside its target. ``fit(..., ckpt_path=...)`` resumes from it.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import threading
import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.plugins.precision import HalfPrecision
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.utilities.exceptions import SIGTERMException

from kernels.runfolder import interrupted_folder
from training.config import TrainConfig
from training.devices import (
    distributed_backend,
    enable_deterministic_cuda,
    resolve_accelerator,
    resolve_precision,
)

# Lightning prints tips about workers and logging intervals that do not apply to in-memory batches.
for _name in ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda"):
    logging.getLogger(_name).setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
# Lightning 2.6 on torch 2.14 warns about its own use of a deprecated torch pytree API.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
warnings.filterwarnings("ignore", message=".*training batches.*smaller than the logging.*")


@dataclass
class FitResult:
    """What a fit leaves behind: the best checkpoint and its validation score."""

    best_checkpoint: Path | None
    best_score: float | None
    epochs: int
    stopped_early: bool
    is_global_zero: bool


class ExactInputsPrecision(HalfPrecision):
    """Lightning's ``bf16-true`` precision, except that the batch entries named in ``exact``
    keep their dtype.

    Lightning casts every floating tensor of a batch to bfloat16 before the step, the loss's
    targets and weights too: 12345 units read 12352 (8 significant bits), a window's level
    ``log1p(12345)`` 9.4375 (a level of 12549), and a negative binomial fitted to such counts
    forecast means up to 3.5% off in fp32. The network's inputs are cast as before.
    """

    def __init__(self, precision: str, exact: Sequence[str]):
        super().__init__(precision)  # type: ignore[arg-type]
        self.exact = frozenset(exact)

    def convert_input(self, data):
        if not isinstance(data, Mapping) or not self.exact.intersection(data):
            return super().convert_input(data)
        converted = super().convert_input({k: v for k, v in data.items() if k not in self.exact})
        return {k: data[k] if k in self.exact else converted[k] for k in data}


class InterruptCheckpoint(pl.Callback):
    """On an interrupt (an exception that is not an ``Exception``: KeyboardInterrupt, the
    command line's SIGINT / SIGTERM), write ``folder / "last.ckpt"`` atomically from rank zero
    and name it on the exception (``exception.checkpoint``). Errors save nothing: a checkpoint
    of a run that failed is not one to resume; nor does a run interrupted before its first step.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def on_exception(self, trainer: pl.Trainer, pl_module, exception: BaseException) -> None:
        if isinstance(exception, Exception) or not trainer.is_global_zero:
            return
        if trainer.global_step == 0:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        # A staged run's folder (and its best checkpoint with it) is removed: keep the best
        # weights beside last.ckpt, so that a resumed run can still end on them. Written
        # first: a failure part-way (a full disk) leaves the pair an earlier stop kept, not a
        # new last.ckpt beside the earlier best.ckpt, whose weights the resumed run ended on
        # under the new best score.
        best = trainer.checkpoint_callback
        best_path = Path(best.best_model_path) if best and best.best_model_path else None
        if best_path is not None and best_path.is_file() and best_path.parent != self.folder:
            partial = self.folder / ".best.ckpt.partial"
            try:
                shutil.copyfile(best_path, partial)
                os.replace(partial, self.folder / "best.ckpt")
            finally:
                partial.unlink(missing_ok=True)
        path, partial = self.folder / "last.ckpt", self.folder / ".last.ckpt.partial"
        # No barrier (trainer.save_checkpoint has one): other ranks may be stopping too.
        checkpoint = trainer._checkpoint_connector.dump_checkpoint(weights_only=False)
        _validation_still_to_run(trainer, checkpoint)
        try:
            trainer.strategy.checkpoint_io.save_checkpoint(checkpoint, partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        try:
            exception.checkpoint = path  # type: ignore[attr-defined]
        except AttributeError:  # an exception type without a __dict__
            pass


def _validation_still_to_run(trainer: pl.Trainer, checkpoint: dict) -> None:
    """Mark an epoch whose training batches are all done but whose validation is not as one
    whose validation is still to run, in ``checkpoint``'s loop state.

    Stopped at the end of an epoch's last training batch or part-way through its validation,
    the loops read, on resuming, as a run stopped after that validation: Lightning skipped it,
    so the epoch had no validation loss, no best checkpoint, no early-stopping or learning-rate
    step, and a run stopped in its last epoch's validation ended on the epoch before's weights
    and score. Marked as stopped before its first validation batch, the resumed run validates
    the epoch from its first batch (the network's weights are those it validated).
    """
    loops = checkpoint.get("loops", {}).get("fit_loop")
    if loops is None or not trainer.training and not trainer.validating:
        return
    try:
        batches = loops["epoch_loop.batch_progress"]
        validation = loops["epoch_loop.val_loop.batch_progress"]
        trained = batches["current"]["processed"] >= trainer.num_training_batches
        validated = validation["total"]["completed"] > 0 and validation["is_last_batch"]
    except (KeyError, TypeError):  # another Lightning's layout: its own resume, unchanged
        return
    if not trained or validated or not trainer.val_dataloaders:
        return
    # The epoch's batches all completed (a stop in the last batch's end hooks counts it as
    # not yet completed), and one validation batch started but not processed: Lightning's
    # state for a run stopped inside a validation step, which it resumes by validating.
    for progress in (batches["total"], batches["current"]):
        progress["completed"] = progress["processed"]
    loops["epoch_loop.state_dict"]["_batches_that_stepped"] = batches["total"]["processed"]
    zero = {"ready": 0, "started": 0, "processed": 0, "completed": 0}
    loops["epoch_loop.val_loop.batch_progress"] = {
        "total": {**zero, "ready": 1, "started": 1},
        "current": dict(zero),
        "is_last_batch": False,
    }


def keep_finished_checkpoint(run_dir: str | Path, stop: BaseException) -> None:
    """A staged run interrupted after its trainer ended (while the fitted network is finished
    and its run folder written) keeps the trainer's last and best checkpoints in its
    :func:`~kernels.runfolder.interrupted_folder`, as :class:`InterruptCheckpoint` does during
    the training, and names it on ``stop``: the staging folder (and the whole training with
    it) is removed on the way out. Errors keep nothing, nor does a run whose checkpoint was
    kept already, or one that is not staged."""
    kept = interrupted_folder(run_dir)
    last = Path(run_dir) / "checkpoints" / "last.ckpt"
    if isinstance(stop, Exception) or getattr(stop, "checkpoint", None) is not None:
        return
    if kept is None or not last.is_file() or not is_rank_zero():
        return
    kept.mkdir(parents=True, exist_ok=True)
    copies = [(last, "last.ckpt")]
    best = sorted(p for p in last.parent.glob("best*.ckpt") if p.is_file())
    if best:  # a resumed run ends on these weights when it finds none better
        copies.insert(0, (best[-1], "best.ckpt"))
    for source, name in copies:
        partial = kept / f".{name}.partial"
        try:
            shutil.copyfile(source, partial)
            os.replace(partial, kept / name)
        finally:
            partial.unlink(missing_ok=True)
    try:
        stop.checkpoint = kept / "last.ckpt"  # type: ignore[attr-defined]
    except AttributeError:  # an exception type without a __dict__
        pass


class DeferredSignals(pl.Callback):
    """Holds SIGINT / SIGTERM back until the training batch being trained has ended.

    The command line's handler raises where the signal lands: inside the optimizer's step it
    left weights (and the optimizer's moments) one step ahead of the step count the checkpoint
    records, so a resumed run trained that batch twice and ended on other weights than the
    uninterrupted run. The handler runs at the end of the batch instead (or of a validation
    batch; a second signal stops at once); a signal the last batches left pending runs when the
    training ends, still inside the fit (then when the fit returns).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.previous: dict[int, object] = {}
        self.pending: tuple[int, object] | None = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals are delivered to the main thread only
        for signum in self.SIGNALS:
            handler = signal.getsignal(signum)
            if callable(handler):
                self.previous[signum] = handler
                signal.signal(signum, self._defer)

    def _defer(self, signum: int, frame) -> None:
        if self.pending is not None:
            self.previous[signum](signum, frame)  # type: ignore[operator]
        self.pending = (signum, frame)

    def run_pending(self) -> None:
        """Run the handler of a signal held back (it raises, as the command line's does)."""
        if self.pending is not None:
            signum, frame = self.pending
            self.pending = None
            self.previous[signum](signum, frame)  # type: ignore[operator]

    def stopped_by_lightning(self, stop: SIGTERMException) -> None:
        """Lightning's own SIGTERM handler runs before ours and ends the fit at the next
        epoch or batch boundary with ``SystemExit`` (exit status 0), which can come before the
        batch end where a held-back signal is run: a SIGTERM landing while an epoch's
        checkpoints were written stopped the command line with status 0, no message and no
        run. Run the held-back handler instead (it raises), carrying the checkpoint
        :class:`InterruptCheckpoint` kept on Lightning's exception; without one held back
        (no handler of our own), Lightning's stop stands."""
        if self.pending is None:
            return
        try:
            self.run_pending()
        except BaseException as interrupt:
            kept = getattr(stop, "checkpoint", None)
            if kept is not None and getattr(interrupt, "checkpoint", None) is None:
                try:
                    interrupt.checkpoint = kept  # type: ignore[attr-defined]
                except AttributeError:  # an exception type without a __dict__
                    pass
            raise interrupt from None

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self.previous = {}

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        self.run_pending()

    def on_validation_batch_end(self, trainer: pl.Trainer, *args) -> None:
        # No optimizer step is under way here: a long validation need not delay the stop.
        self.run_pending()

    def on_train_end(self, trainer: pl.Trainer, *args) -> None:
        # A signal after the last batch (the last validation's end, the checkpoints written
        # then) still stops inside the fit, where InterruptCheckpoint keeps a checkpoint.
        self.run_pending()


class RandomState(pl.Callback):
    """Keeps torch's random generators (CPU, and each CUDA device's) in the checkpoints, so that
    a resumed run draws the dropout masks and augmentations the uninterrupted run would have
    drawn after the step it stopped at, not the seed's first ones again."""

    def state_dict(self) -> dict:
        state = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        if "cpu" in state_dict:
            torch.set_rng_state(state_dict["cpu"].cpu())
        cuda = state_dict.get("cuda")
        if cuda is not None and torch.cuda.is_available():
            if len(cuda) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


class ResumedEpochSchedules(pl.Callback):
    """Steps the plateau learning-rate schedulers (``ReduceLROnPlateau`` on ``val_loss``) at
    the end of the epoch a run resumed in.

    Lightning skips them there (its fit loop is still "restarting": it takes the epoch's metric
    to be one the checkpoint did not keep), though the resumed run validated that epoch itself.
    A run resumed part-way through an epoch then missed one plateau step: a run that would have
    halved its learning rate after that epoch trained on at the old one, and one resumed in the
    epoch after a halving counted its plateau from there, never halving again where the
    uninterrupted run did; its weights and best score were another run's."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        loop = trainer.fit_loop
        epoch = loop.epoch_loop
        ready = getattr(epoch, "_num_ready_batches_reached", None)
        update = getattr(epoch, "update_lr_schedulers", None)
        if ready is None or update is None:  # a Lightning whose loops differ: its own schedule
            return
        if loop.restarting and ready():
            # Lightning's own step (fit_loop.on_advance_end) is skipped while restarting.
            update("epoch", update_plateau_schedulers=True)


class BestCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` that also records the global step of its best checkpoint
    (``best_step``; None until it saves one, and after a resume until it saves again)."""

    best_step: int | None = None
    kept_best: Path | None = None  # the best checkpoint an interrupted run kept (see fit)

    def load_state_dict(self, state_dict: dict) -> None:
        # Lightning keeps the best score of a resumed run only when its checkpoint folder has
        # the same name, and never checks that the best file is still there (a staged run's
        # folder is removed when it is interrupted). Bring the best checkpoint into this run's
        # folder so that its score and its weights stay the run's best.
        recorded = state_dict.get("best_model_path") or ""
        same_folder = state_dict.get("dirpath", self.dirpath) == self.dirpath
        if recorded and not (same_folder and Path(recorded).is_file()):
            source = Path(recorded) if Path(recorded).is_file() else self.kept_best
            if source is not None and source.is_file() and self.dirpath:
                target = Path(self.dirpath) / Path(recorded).name
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.resolve() != target.resolve():
                    shutil.copyfile(source, target)
                score = state_dict.get("best_model_score")
                state_dict = {
                    **state_dict,
                    "dirpath": self.dirpath,
                    "best_model_path": str(target),
                    "best_k_models": {str(target): score},
                    "kth_best_model_path": str(target),
                    "kth_value": score,
                    "last_model_path": "",
                }
        super().load_state_dict(state_dict)

    def _track(self, trainer: pl.Trainer, save) -> None:
        before = self.best_model_score
        save()
        if self.best_model_score is not before:  # a new best was scored and saved
            self.best_step = trainer.global_step

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._track(
            trainer, lambda: super(BestCheckpoint, self).on_train_epoch_end(trainer, pl_module)
        )

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._track(
            trainer, lambda: super(BestCheckpoint, self).on_validation_end(trainer, pl_module)
        )


SETTINGS_KEY = "stockcast_settings"
"""The checkpoint entry holding the settings and data a fit started with (``fit(settings=)``)."""


class RecordSettings(pl.Callback):
    """Write ``settings`` (plain data) into every checkpoint the trainer saves, the
    interrupted run's ``last.ckpt`` included, so that a resume can compare them."""

    def __init__(self, settings: Mapping[str, object]):
        self.settings = dict(settings)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[SETTINGS_KEY] = self.settings


def _plain(settings: Mapping[str, object]) -> dict[str, object]:
    """``settings`` as JSON data (tuples as lists...): what a ``weights_only`` load reads back."""
    return json.loads(json.dumps(dict(settings), default=str))


def check_resumable(
    path: str | Path, module: torch.nn.Module, settings: Mapping[str, object] | None = None
) -> None:
    """A ``ValueError`` naming ``path`` unless it is a training checkpoint whose weights have
    ``module``'s names and shapes (a checkpoint of another model or size cannot resume it)
    and, when both record them, whose ``settings`` are these (naming every one that differs:
    a run resumed with another seed, encoder length, target transform or table trained on
    and published the new settings in its manifest without a word, though its first epochs
    were trained under the old ones)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such checkpoint file")
    try:
        with warnings.catch_warnings():  # the unpickler warns of protocols on stderr
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        missing = {"state_dict", "optimizer_states", "loops"} - set(checkpoint)
    except Exception as exc:  # not a checkpoint, a truncated file, pickled objects
        # Only the type, as kernels.io.load_weights reports it: torch's own message advises
        # weights_only=False, which must never be suggested for a file of unknown origin.
        raise ValueError(
            f"{path}: not a resumable training checkpoint ({type(exc).__name__})"
        ) from None
    if missing:
        raise ValueError(f"{path}: not a resumable training checkpoint (no {sorted(missing)[0]})")
    saved = checkpoint["state_dict"]
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in saved.items()}
    if expected != found:
        differs = sorted(set(expected) ^ set(found)) or sorted(
            k for k in expected if expected[k] != found[k]
        )
        raise ValueError(
            f"{path}: the checkpoint is of another network than this run's settings build "
            f"(first difference: {differs[0]}); resume with the settings it was trained with"
        )
    recorded = checkpoint.get(SETTINGS_KEY)
    if settings is None or not isinstance(recorded, dict):
        return  # a checkpoint saved before settings were recorded: the shapes above only
    now = _plain(settings)
    # The settings both record: one a later version adds (or stops comparing) is not a
    # difference, or every checkpoint of the version before would be refused.
    changed = [
        f"{key} {recorded[key]!r} -> {now[key]!r}"
        for key in sorted(set(recorded) & set(now))
        if recorded[key] != now[key]
    ]
    if changed:
        raise ValueError(
            f"{path}: the run was trained with other settings or data than these "
            f"({'; '.join(changed)}); resume with the settings and data it was trained with"
        )


def _world_size(cfg: TrainConfig, accelerator: str) -> int:
    if cfg.devices == "auto":
        devices = torch.cuda.device_count() if accelerator == "cuda" else 1
    elif isinstance(cfg.devices, int):
        devices = cfg.devices
    elif str(cfg.devices) == "-1":  # every GPU, as Lightning reads it
        devices = torch.cuda.device_count() if accelerator == "cuda" else 1
    else:
        # A list of indices; Lightning reads a trailing comma ("0,") as that one device,
        # not as an empty second entry (which made a one-GPU run a DDP run).
        devices = len([part for part in str(cfg.devices).split(",") if part.strip()])
    return devices * cfg.num_nodes


def build_trainer(
    cfg: TrainConfig,
    run_dir: str | Path,
    monitor: str = "val_loss",
    callbacks: list[pl.Callback] | None = None,
    mode: str = "min",
    exact_inputs: Sequence[str] = (),
    resumable: bool = True,
) -> pl.Trainer:
    """Assemble a Lightning ``Trainer`` for ``cfg`` that writes logs and checkpoints to ``run_dir``.

    * accelerator ``auto`` -> CUDA when present; precision ``auto`` -> bf16-mixed on GPUs with
      bf16, 16-mixed on older GPUs, 32-true on CPU;
    * more than one device or node -> DDP (NCCL on GPUs, gloo on CPU);
    * early stopping and best/last checkpoints on ``monitor`` (``mode`` "min" for a loss, "max"
      for a score such as an AUROC);
    * a resumable ``last.ckpt`` when the run is interrupted (see the module's doc), unless
      not ``resumable`` (a fit no command resumes keeps no checkpoint to name);
    * under ``bf16-true`` the batch entries named in ``exact_inputs`` (a loss's targets and
      weights) are not cast to bfloat16 (see :class:`ExactInputsPrecision`).
    """
    run_dir = Path(run_dir)
    accelerator = resolve_accelerator(cfg.accelerator)
    precision = resolve_precision(cfg.precision, accelerator)
    if accelerator != "cuda" and isinstance(cfg.devices, str) and cfg.devices != "auto":
        # Lightning's CPU accelerator takes a number of processes only (a TypeError otherwise).
        raise ValueError(
            f"devices: {cfg.devices!r} selects GPUs; on the CPU give a number of processes"
        )
    world = _world_size(cfg, accelerator)
    if accelerator == "cuda":
        enable_deterministic_cuda()
    strategy: str | DDPStrategy = "auto"
    if world > 1:
        strategy = DDPStrategy(process_group_backend=distributed_backend(accelerator))
    all_callbacks: list[pl.Callback] = [
        BestCheckpoint(
            dirpath=run_dir / "checkpoints",
            filename="best",
            monitor=monitor,
            mode=mode,
            save_last=True,
            save_weights_only=False,
        )
    ]
    if cfg.early_stopping_patience:
        all_callbacks.append(
            EarlyStopping(monitor=monitor, mode=mode, patience=cfg.early_stopping_patience)
        )
    if resumable:
        interrupted = interrupted_folder(run_dir) or run_dir / "checkpoints"
        all_callbacks.append(InterruptCheckpoint(interrupted))
    all_callbacks.append(RandomState())
    all_callbacks.append(ResumedEpochSchedules())
    all_callbacks.extend(callbacks or [])
    plugin = None
    if precision == "bf16-true" and exact_inputs:
        plugin = ExactInputsPrecision(precision, exact_inputs)
    trainer = pl.Trainer(
        accelerator=accelerator,
        devices=cfg.devices if accelerator == "cuda" or world > 1 else 1,
        num_nodes=cfg.num_nodes,
        strategy=strategy,
        precision=None if plugin else precision,
        plugins=plugin,
        max_epochs=cfg.max_epochs,
        gradient_clip_val=cfg.gradient_clip_val,
        deterministic=True if cfg.deterministic and accelerator == "cpu" else "warn",
        callbacks=all_callbacks,
        logger=CSVLogger(save_dir=run_dir, name="logs", version=""),
        default_root_dir=run_dir,
        enable_progress_bar=cfg.progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        # Tasks that sample their own batches shard them by rank themselves.
        use_distributed_sampler=False,
    )
    # Deterministic mode also fills every new tensor with NaN so that a kernel reading memory
    # it never wrote gives the same result each run. No kernel here does, and the fills cost
    # about 6% of a CPU TFT training step (the LSTMs' workspaces, every backward buffer); the
    # kernel choice, which is what makes runs repeatable, stays deterministic.
    torch.utils.deterministic.fill_uninitialized_memory = False
    return trainer


@contextmanager
def torch_flags_restored():
    """Give back torch's process-wide kernel settings when the block ends.

    Lightning's ``deterministic`` setting and :func:`build_trainer` change global flags
    (deterministic algorithms, cuDNN's choice, the memory fill) and leave them set. A caller
    that fits a model and then runs its own torch code in the same process would otherwise
    inherit them: slower kernels, or errors from operations with no deterministic version.
    """
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.utils.deterministic.fill_uninitialized_memory,
    )
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.deterministic = saved[2]
        torch.backends.cudnn.benchmark = saved[3]
        torch.utils.deterministic.fill_uninitialized_memory = saved[4]


#: The variables ``pl.seed_everything`` sets for the processes and workers it seeds.
_SEED_VARIABLES = ("PL_GLOBAL_SEED", "PL_SEED_WORKERS")


@contextmanager
def random_state_restored():
    """Give back the process-wide random generators when the block ends (a decorator too).

    A fit seeds Python's, NumPy's and torch's global generators from its own seed (and sets
    Lightning's seed variables): a caller's own draws after it were the seed's, the same on
    every run whatever the caller had seeded. Python's, NumPy's and torch's CPU generator (and
    the CUDA generators when CUDA was in use before) continue as if the block had not run.
    """
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    saved = (
        random.getstate(),
        np.random.get_state(),  # noqa: NPY002 (the caller's legacy generator)
        torch.get_rng_state(),
        torch.cuda.get_rng_state_all() if cuda else None,
        {name: os.environ.get(name) for name in _SEED_VARIABLES},
    )
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])  # noqa: NPY002
        torch.set_rng_state(saved[2])
        if saved[3] is not None:
            torch.cuda.set_rng_state_all(saved[3])
        for name, value in saved[4].items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def is_rank_zero() -> bool:
    """False in the worker processes a DDP launcher starts (they set RANK / LOCAL_RANK), and
    on every node but the first of a multi-node run."""
    if "RANK" in os.environ:
        return int(os.environ["RANK"]) == 0
    # Lightning's launcher sets LOCAL_RANK and NODE_RANK, not RANK: local rank 0 of node 1 is
    # a global rank > 0 (torchrun names the node GROUP_RANK).
    node = os.environ.get("NODE_RANK", os.environ.get("GROUP_RANK", "0"))
    return int(os.environ.get("LOCAL_RANK", "0")) == 0 and int(node) == 0


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Weights of a Lightning checkpoint or a plain state dict, never unpickling code."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    return payload.get("state_dict", payload)


def _stopped_early(early: EarlyStopping | None) -> bool:
    """Whether ``early`` ended the fit. Its ``stopped_epoch`` is the epoch it stopped in, 0 too
    (a validation loss not finite in the first epoch, which Lightning stops on at once), and 0
    when it never stopped: its reason tells them apart where Lightning records one."""
    if early is None:
        return False
    reason = getattr(early, "stopping_reason", None)
    if reason is not None:
        return reason.value != 0  # EarlyStoppingReason.NOT_STOPPED
    return early.stopped_epoch > 0


def fit(
    module: pl.LightningModule,
    cfg: TrainConfig,
    run_dir: str | Path,
    train_dataloaders=None,
    val_dataloaders=None,
    monitor: str = "val_loss",
    callbacks: list[pl.Callback] | None = None,
    ckpt_path: str | Path | None = None,
    mode: str = "min",
    resumable: bool = True,
    settings: Mapping[str, object] | None = None,
) -> FitResult:
    """Seed, fit ``module`` and load the best validation weights back into it; ``ckpt_path``
    resumes from a checkpoint (weights, optimizer, epoch and step), such as the ``last.ckpt``
    an interrupted run saved: read as tensors and plain data only (no pickled objects), and
    a ``ValueError`` naming it when it does not fit ``module``. Not ``resumable``: an
    interrupted fit keeps no checkpoint (one no command could resume from). ``settings``
    (plain data: the settings and data fingerprint the result depends on) are recorded in
    every checkpoint, and a resume whose ``settings`` differ from those recorded is refused,
    naming them."""
    if ckpt_path is not None:
        check_resumable(ckpt_path, module, settings)
    if settings is not None:
        callbacks = [*(callbacks or []), RecordSettings(_plain(settings))]
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    deferred = DeferredSignals()
    with torch_flags_restored():
        trainer = build_trainer(
            cfg,
            run_dir,
            monitor=monitor,
            callbacks=[*(callbacks or []), deferred],
            mode=mode,
            exact_inputs=getattr(module, "exact_inputs", ()),
            resumable=resumable,
        )
        if ckpt_path is not None:
            trainer.checkpoint_callback.kept_best = Path(ckpt_path).parent / "best.ckpt"
        deferred.install()
        try:
            trainer.fit(
                module,
                train_dataloaders=train_dataloaders,
                val_dataloaders=val_dataloaders,
                ckpt_path=None if ckpt_path is None else str(ckpt_path),
                weights_only=True,
            )
            deferred.run_pending()
        except SIGTERMException as lightning_stop:
            deferred.stopped_by_lightning(lightning_stop)
            raise
        finally:
            deferred.restore()
    checkpoint = trainer.checkpoint_callback
    best_path = Path(checkpoint.best_model_path) if checkpoint.best_model_path else None
    ended_on_best = getattr(checkpoint, "best_step", None) == trainer.global_step
    if best_path is not None and best_path.exists() and not ended_on_best:
        # The module holds its last weights; read the best back unless they are the same
        # (reading a checkpoint back costs about 1% of a short CPU fit).
        module.load_state_dict(load_state_dict(best_path))
    early = next((c for c in trainer.callbacks if isinstance(c, EarlyStopping)), None)
    best = checkpoint.best_model_score
    return FitResult(
        best_checkpoint=best_path,
        best_score=None if best is None else float(best),
        epochs=trainer.current_epoch,
        stopped_early=_stopped_early(early),
        is_global_zero=trainer.is_global_zero,
    )
