"""The knobs of a training run, shared by every task (forecasting, inspection).

Torch-free, so the command line can build its flags from these dataclasses without loading
torch; the names of accelerators and precisions are defined here once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernels.io import read_yaml
from kernels.settings import check_settings, setting, settings_from_dict, settings_to_dict
from vision.schema import OPTIMIZERS

ACCELERATORS = ("auto", "cpu", "cuda", "gpu")
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true")
MAX_SEED = 2**32 - 1
"""The largest seed Lightning's ``seed_everything`` (and NumPy's legacy seeding) accepts."""
# Lightning's forms of ``devices``: auto, a count (-1: every GPU), or a list of device indices.
DEVICE_FORMS = re.compile(r"auto|-1|[1-9]\d*|\d+(,\d+)+,?|\d+,")


def parse_devices(text: str | int) -> int | str:
    """``4`` -> 4; ``auto`` or a list such as ``0,1`` stay strings (Lightning's forms)."""
    text = str(text).strip()
    return int(text) if text.isdigit() else text


@dataclass
class TrainConfig:
    """How to fit a model: device, precision, schedule, stopping, checkpoints, seed.

    ``batches_per_epoch`` fixes the cost of an epoch (as GluonTS does) so it does not grow with
    the number of series; tasks whose data is a finite set (images) leave it ``None``: an epoch
    is one pass over the items.
    """

    max_epochs: int = setting(30, "maximum epochs", min=1, flag="epochs")
    batches_per_epoch: int | None = setting(50, "batches per epoch", min=1)
    batch_size: int = setting(128, "windows per batch", min=1)
    learning_rate: float | None = setting(
        None,
        "peak learning rate (none: the network's own, 1e-2 for the TFT with quantiles, else 3e-3)",
        min=0,
        open_min=True,
        flag="lr",
    )
    weight_decay: float = setting(0.0, "AdamW weight decay", min=0)
    gradient_clip_val: float | None = setting(1.0, "gradient norm clip", min=0, open_min=True)
    early_stopping_patience: int | None = setting(
        5, "epochs without validation improvement before stopping", min=1, flag="patience"
    )
    accelerator: str = setting(
        "auto", "device kind (auto: CUDA when present)", choices=ACCELERATORS
    )
    devices: int | str = setting("auto", "devices per node (DDP when more than one)")
    num_nodes: int = setting(1, "nodes (multi-node DDP)", min=1)
    precision: str = setting(
        "auto", "numeric precision (auto: bf16-mixed on GPUs that have it)", choices=PRECISIONS
    )
    seed: int = setting(
        0,
        "random seed: the same seed repeats a run on the same machine",
        min=0,
        max=MAX_SEED,
    )
    deterministic: bool = setting(True, "deterministic kernels", cli=False)
    progress_bar: bool = setting(True, "progress bars", flag="progress")
    num_workers: int = setting(0, "data-loader worker processes", min=0)
    extra: dict[str, Any] = setting(default_factory=dict, help="task options", cli=False)

    def __post_init__(self) -> None:
        given = self.devices
        # YAML's true, 2.0 or [0, 1] would otherwise become the text "True", "2.0", "[0, 1]".
        if not isinstance(given, bool) and isinstance(given, int | str):
            self.devices = parse_devices(given)
        if isinstance(given, bool) or not DEVICE_FORMS.fullmatch(str(self.devices)):
            raise ValueError(
                "devices: expected auto, a number of devices >= 1 (-1: every GPU) or a list "
                f"of device indices such as 0,1, got {given!r}"
            )
        for name in ("max_epochs", "batch_size", "num_nodes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name}: expected an integer, got {value!r}")
        check_settings(self)
        if self.extra:
            # No task reads options from here: a YAML ``extra:`` would be saved with the run
            # and change nothing.
            raise ValueError(f"extra: no task reads these options, got {sorted(self.extra)}")

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> TrainConfig:
        """From a mapping of field names (a YAML ``train`` section); unknown keys are named."""
        return settings_from_dict(cls, values, "training config")

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(read_yaml(path))

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON/YAML types (tuples become lists), as a manifest keeps them."""
        return settings_to_dict(self)


@dataclass
class ImageTrainConfig(TrainConfig):
    """:class:`TrainConfig` with the defaults of image training: an epoch is one pass over the
    items (image sets are finite), small batches of multi-view items, weight decay, a schedule
    long enough for small real image sets to converge (early stopping follows the validation
    AUROC, so patience ends runs that stopped improving), and a moving average of the weights."""

    max_epochs: int = setting(60, "maximum epochs", min=1, flag="epochs")
    batches_per_epoch: int | None = setting(None, "batches per epoch (default: one pass)", min=1)
    batch_size: int = setting(16, "items per batch", min=1)
    learning_rate: float = setting(2e-3, "peak learning rate", min=0, open_min=True, flag="lr")
    weight_decay: float = setting(
        1e-4, "weight decay (decoupled under adamw, on weights only under sgd)", min=0
    )
    early_stopping_patience: int | None = setting(
        15, "epochs without validation improvement before stopping", min=1, flag="patience"
    )
    ema_decay: float = setting(
        0.998,
        "decay of the moving average of the weights that validation and the result use (0: off)",
        min=0,
        max=0.99999,
    )
    select_on: str = setting(
        "auroc",
        "what checkpoints and early stopping follow: auroc (the any-defect validation AUROC; "
        "the loss when validation lacks good or defective items) or loss",
        choices=("auroc", "loss"),
    )
    optimizer: str = setting(
        "adamw",
        "adamw, or sgd (Nesterov momentum 0.9, no decay on norm scales and biases; give it a "
        "peak --lr about 25x AdamW's, 0.05 for batches of 32)",
        choices=OPTIMIZERS,
    )
