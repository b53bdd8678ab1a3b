"""The Lightning module that fits a forecasting network on windows cut from a panel store."""

from __future__ import annotations

from dataclasses import dataclass

import lightning.pytorch as pl
import torch
from torch import nn

from forecasting.negbin import negative_binomial_nll
from forecasting.quantiles import pinball_sums
from forecasting.store import PanelStore
from forecasting.windows import (
    BATCH_KEYS,
    OriginPrior,
    WindowList,
    WindowSampler,
    evaluation_windows,
)


@dataclass
class ForecastData:
    """Where training and validation windows come from.

    Training windows end before ``val_origin``; validation windows forecast the ``horizon``
    periods from ``val_origin`` (one per series with enough history). The store is moved to the
    training device once, when the loaders are first asked for, and batches are cut there.
    """

    store: PanelStore
    encoder_length: int
    horizon: int
    batch_size: int
    batches_per_epoch: int
    val_origin: int
    prior_scale: torch.Tensor  # (S,) per-series fallback level, see forecasting.windows
    min_encoder_length: int = 1
    seed: int = 0
    store_on_device: bool = True
    cold_start_rate: float = 0.1
    prior_fallback: float = 1.0
    """The level of a training window with no demand before its origin anywhere in the panel."""

    def _placed(self, device: torch.device) -> PanelStore:
        if self.store_on_device:
            return self.store.to(device)
        return self.store.pin_memory() if device.type == "cuda" else self.store

    def train_batches(self, device: torch.device, rank: int, world_size: int) -> WindowSampler:
        store = self._placed(device)
        # Each training window's fallback level as of its own origin (``prior_scale`` is as
        # of the validation origin: it holds the demand training windows forecast).
        return WindowSampler(
            store,
            self.encoder_length,
            self.horizon,
            self.batch_size,
            self.batches_per_epoch,
            OriginPrior(store, self.val_origin, self.prior_fallback),
            cutoff=self.val_origin,
            min_encoder_length=self.min_encoder_length,
            seed=self.seed,
            rank=rank,
            world_size=world_size,
            device=device,
            cold_start_rate=self.cold_start_rate,
        )

    def val_batches(self, device: torch.device, rank: int, world_size: int) -> WindowList:
        store = self._placed(device)
        series = evaluation_windows(store, self.val_origin, self.horizon, self.min_encoder_length)
        if len(series) == 0:
            raise ValueError(
                f"no series has {self.horizon} observed periods after the validation origin "
                f"{store.dates[self.val_origin].date()}; shorten the horizon"
            )
        if len(series) < world_size:
            # A rank without a validation window fails inside Lightning on that rank alone
            # (the others then wait on it): say so before.
            raise ValueError(
                f"{len(series)} series have {self.horizon} observed periods after the "
                f"validation origin {store.dates[self.val_origin].date()}, fewer than the "
                f"{world_size} training processes (devices x nodes); train on fewer devices"
            )
        origins = torch.full_like(series, self.val_origin)
        return WindowList(
            store,
            series,
            origins,
            self.encoder_length,
            self.horizon,
            self.batch_size * 4,
            self.prior_scale,
            rank=rank,
            world_size=world_size,
            device=device,
            reals_as_of=True,  # as a table at the validation origin has them
        )


class ForecastTask(pl.LightningModule):
    """Pinball loss on scaled demand (on its log1p for the step quantiles with
    ``target_transform="log1p"``), per step and cumulated over steps; with
    ``distribution="negative_binomial"`` the steps' loss is the negative log-likelihood of the
    demand counts instead. AdamW, learning rate halved on plateaus."""

    exact_inputs = ("target", "target_mask", "scale")
    """Batch entries the loss reads as they are: not cast to bfloat16 under ``bf16-true``."""

    def __init__(
        self,
        net: nn.Module,
        quantiles: tuple[float, ...],
        data: ForecastData,
        learning_rate: float = 3e-3,
        weight_decay: float = 0.0,
        volume_weight: float = 0.0,
        target_transform: str = "none",
        distribution: str = "quantile",
    ):
        super().__init__()
        self.net = net
        self.data = data
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.volume_weight = volume_weight
        self.target_transform = target_transform
        self.distribution = distribution
        self.quantiles = tuple(float(q) for q in quantiles)
        self.register_buffer("levels", torch.tensor(quantiles, dtype=torch.float32))
        self._loss_sum: torch.Tensor | float = 0.0
        self._val_totals = torch.zeros(2, dtype=torch.float64)
        self._loss_batches = 0

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(*(batch[key] for key in BATCH_KEYS))

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return _combined(torch.stack(self._loss_sums(batch)), floor=1.0)

    def _loss_sums(
        self, batch: dict[str, torch.Tensor], normalized: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The weighted sums of the step and the cumulative losses and their weights: the
        loss is ``step_sum / step_weight + cumulative_sum / cumulative_weight``. With
        ``normalized=False`` the volume weights are the windows' levels to the power
        ``volume_weight`` themselves, not relative to the batch's mean, so that sums over
        batches and ranks give the loss of all their windows at once."""
        target, mask = batch["target"], batch["target_mask"]
        levels = self.levels
        if levels.dtype != torch.float32:
            # ``bf16-true`` casts the module's buffers: 0.9 would read 0.8984375 and 0.99
            # 0.98828125, and the loss would fit those quantiles instead of the levels asked for.
            levels = torch.tensor(self.quantiles, dtype=torch.float32, device=levels.device)
        if self.distribution == "negative_binomial":
            features = self.net.features(*(batch[key] for key in BATCH_KEYS))
            cumulative = self.net.heads.cumulative_quantiles(features)
        else:
            steps, cumulative = self(batch)
        weight = torch.ones_like(target[:, :1])
        if self.volume_weight:
            # Errors on scaled demand weigh every series alike; a power of the window's level
            # moves the weight toward high-volume series (what WAPE and the units lost in a
            # stockout count). Normalized over the batch, so the learning rate keeps its meaning.
            level = batch["scale"].float() ** self.volume_weight
            if normalized:
                level = level / level.mean().clamp(min=1e-12)
            weight = level[:, None]
        if self.distribution == "negative_binomial":
            # The level's log from the exact level, not the network's input column: that is
            # bfloat16 under ``bf16-true`` (log1p(12345) read 9.4375, a level of 12549), while
            # a forecast multiplies by the level itself.
            log_scale = torch.log1p(batch["scale"].float())
            mean, dispersion = self.net.heads.distribution(features, log_scale)
            # The likelihood of the counts (scaled demand times the level); masked periods
            # read 0, so their NLL is computed on a valid count and then weighed out.
            counts = (target * batch["scale"][:, None]).float().clamp(min=0)
            nll = negative_binomial_nll(counts, mean, dispersion)
            step_weights = mask * weight
            step_sum, step_total = (nll * step_weights).sum(), step_weights.sum()
        else:
            steps = steps.float()
            if self.target_transform == "log1p":
                # The heads returned expm1 of what they fit (> -1): the loss is on that scale.
                steps = torch.log1p(steps.clamp(min=-1 + 1e-6))
                step_target = torch.log1p(target)
            else:
                step_target = target
            step_sum, step_total = pinball_sums(steps, step_target, levels, mask * weight)
        # Running means (sum / h) keep late horizons from dominating the cumulative loss.
        h = torch.arange(1, target.shape[1] + 1, device=target.device, dtype=target.dtype)
        running = torch.cumsum(target, dim=1) / h
        cumulative_mask = torch.cumprod(mask, dim=1) * weight
        cumulative_sum, cumulative_total = pinball_sums(
            cumulative.float() / h[:, None], running, levels, cumulative_mask
        )
        return step_sum, step_total, cumulative_sum, cumulative_total

    def _ranks_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """This rank's share of the loss of every rank's windows at once, under DDP.

        DDP averages the ranks' gradients: a loss that is each rank's own weighted mean gave a
        window a weight relative to its rank's windows (with ``volume_weight``, a rank of small
        series weighed each of its windows more), not the weights one process gives the same
        global batch. Each rank divides its weighted sums by the weights of all ranks instead
        (times the world size, which DDP's average divides back out); the floor of a batch's
        total weight is the global batch's mean level, as :meth:`_loss` floors the total of
        weights relative to it at 1."""
        sums = self._loss_sums(batch, normalized=False)
        if self.volume_weight:
            level = batch["scale"].float() ** self.volume_weight
        else:
            level = torch.ones_like(batch["scale"], dtype=torch.float32)
        totals = torch.stack(
            [sums[1].detach(), sums[3].detach(), level.sum(), level.new_tensor(len(level))]
        ).double()
        totals = self.trainer.strategy.reduce(totals, reduce_op="sum")
        floor = totals[2] / totals[3].clamp(min=1)
        world = self.trainer.world_size
        step = sums[0] / totals[0].clamp(min=floor).to(sums[0].dtype)
        cumulative = sums[2] / totals[1].clamp(min=floor).to(sums[2].dtype)
        return world * (step + cumulative)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        trainer = self._trainer
        if trainer is not None and trainer.world_size > 1:
            loss = self._ranks_loss(batch)
        else:
            loss = self._loss(batch)
        # The epoch's mean loss is summed here and logged once at the epoch's end: a
        # ``self.log`` per step costs Lightning a few percent of an LSTM step on a CPU.
        # (Reset at the end, not the start, of an epoch: a run resumed mid-epoch skips the
        # start; its first mean then covers the steps it ran.)
        self._loss_sum = self._loss_sum + loss.detach()
        self._loss_batches += 1
        return loss

    def on_train_epoch_end(self) -> None:
        if self._loss_batches:
            mean = self._loss_sum / self._loss_batches
            self.log("train_loss", mean, prog_bar=True, sync_dist=True)
        self._loss_sum, self._loss_batches = 0.0, 0

    def on_validation_epoch_start(self) -> None:
        self._val_totals = torch.zeros(4, dtype=torch.float64, device=self.device)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        # The weighted sums, not the batch's mean: a volume weight relative to each batch's
        # mean level would make the loss depend on how the windows fall into batches and ranks.
        sums = self._loss_sums(batch, normalized=False)
        self._val_totals += torch.stack([v.detach().double() for v in sums])

    def on_validation_epoch_end(self) -> None:
        # The loss of every validation window of every rank at once: summed here, not through
        # Lightning's ``sync_dist`` mean, which averages the ranks' window counts as integers
        # (11 and 10 windows read as 10 each under gloo: a loss 5% too high).
        totals = self._val_totals
        if self.trainer.world_size > 1:
            totals = self.trainer.strategy.reduce(totals.clone(), reduce_op="sum")
        self.log("val_loss", _combined(totals).float(), prog_bar=True)

    def validation_loss(self) -> float:
        """The validation loss of the network as it is now, over every validation window on
        this process's device (what ``val_loss`` logs for an epoch, computed outside a fit:
        the score of an ensemble of fitted members)."""
        totals = torch.zeros(4, dtype=torch.float64)
        training = self.net.training
        self.net.eval()
        try:
            with torch.inference_mode():
                for batch in self.data.val_batches(self.device, 0, 1):
                    sums = self._loss_sums(batch, normalized=False)
                    totals += torch.stack([v.double().cpu() for v in sums])
        finally:
            self.net.train(training)
        return float(_combined(totals))

    def train_dataloader(self):
        batches = self.data.train_batches(self.device, self.global_rank, self.trainer.world_size)
        # Each pass draws the windows of the epoch it trains, and a run resumed in the middle
        # of an epoch skips the batches it trained on before (Lightning calls this once, and
        # a run resumed from the end of an epoch's batches starts the next epoch).
        loop = self.trainer.fit_loop

        def position() -> tuple[int, int]:
            done = loop.epoch_loop.batch_progress.current.completed
            return loop.epoch_progress.current.processed, done

        batches.position = position
        return batches

    def val_dataloader(self):
        return self.data.val_batches(self.device, self.global_rank, self.trainer.world_size)

    def configure_optimizers(self):
        # On CPU the fused AdamW is one kernel per step instead of a loop over ~170 tensors
        # (a tenth of a TFT step); CUDA keeps the default (foreach), which Lightning's fp16
        # gradient scaling can clip (a fused optimizer unscales inside its step). Lightning
        # refuses to clip the gradients of a fused optimizer under any mixed precision
        # (bf16-mixed on a CPU too), so only a full-precision CPU fit fuses.
        precision = str(self._trainer.precision) if self._trainer is not None else "32-true"
        fused = self.device.type == "cpu" and "mixed" not in precision
        optimizer = torch.optim.AdamW(
            self.parameters(),
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
            fused=True if fused else None,
        )
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"},
        }


def _combined(sums: torch.Tensor, floor: float | None = None) -> torch.Tensor:
    """The loss from :meth:`ForecastTask._loss_sums`' four sums: the step and the cumulative
    weighted means added. A batch's mean divides by at least ``floor`` (1: a batch of
    relative weights with almost nothing observed); sums over whole sets by their weight."""
    floor = torch.finfo(sums.dtype).tiny if floor is None else floor
    return sums[0] / sums[1].clamp(min=floor) + sums[2] / sums[3].clamp(min=floor)
