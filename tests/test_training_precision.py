"""What a fit reports and leaves: the validation loss of all windows whatever the batches and
ranks (and an ensemble's own), and mixed or bfloat16 precision on a CPU that trains and then
forecasts.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from forecasting import ForecastConfig, Forecaster
from forecasting.models import InputDims, build_network
from forecasting.synthetic import generate_network
from forecasting.windows import BATCH_KEYS, WindowList, evaluation_windows, group_prior_scale
from training import ImageTrainConfig, TrainConfig
from training.devices import resolve_precision
from training.forecast_task import ForecastData, ForecastTask
from training.forecaster import NeuralForecaster
from training.trainer import fit
from vision import Inspector
from vision.synthetic import write_synthetic_dataset

# A forecasting fit in bf16 mixed precision on a CPU trains with gradient clipping (the
# default) instead of failing in Lightning, which refuses to clip a fused optimizer's gradients
# under mixed precision.


H = 7


@pytest.fixture(scope="module")
def store(small_network):
    return small_network.to_store()


@pytest.mark.parametrize("precision", ["bf16-mixed", "32-true"])
def test_a_cpu_fit_in_mixed_precision_clips_its_gradients(store, tmp_path, precision):
    torch.manual_seed(0)
    origin = int(store.end.max()) - H
    net = build_network("lstm", InputDims.from_store(store), H, (0.1, 0.5, 0.9), hidden_size=8)
    data = ForecastData(store, 28, H, 16, 2, origin, group_prior_scale(store, origin))
    task = ForecastTask(net, (0.1, 0.5, 0.9), data, learning_rate=0.5)
    norms = []
    original = task.configure_optimizers

    def recording():
        config = original()
        optimizer = config["optimizer"]
        step = optimizer.step

        def clipped_step(closure=None):
            with torch.enable_grad():
                closure()  # forward, backward and Lightning's clipping
            grads = [p.grad.norm() for p in task.parameters() if p.grad is not None]
            norms.append(torch.stack(grads).norm().item())
            return step()

        optimizer.step = clipped_step
        return config

    task.configure_optimizers = recording
    cfg = TrainConfig(
        max_epochs=1, batches_per_epoch=2, batch_size=16, early_stopping_patience=None,
        progress_bar=False, accelerator="cpu", precision=precision, gradient_clip_val=0.01,
    )  # fmt: skip
    result = fit(task, cfg, tmp_path / "run")
    assert result.best_score is not None and torch.isfinite(torch.tensor(result.best_score))
    assert len(norms) == 2 and max(norms) <= 0.01 * 1.01


# The validation loss with a volume weight is the weighted loss of all validation windows at
# once: the same whatever batches and ranks the windows fall into, and equal to a plain
# recomputation with the weights of the whole validation set.


LEVELS = (0.1, 0.5, 0.9)


def validation_loss(task: ForecastTask, world: int) -> float:
    """What ``on_validation_epoch_end`` logs when ``world`` ranks validate their shards."""
    totals = []
    for rank in range(world):
        task.on_validation_epoch_start()
        with torch.no_grad():
            for index, batch in enumerate(task.data.val_batches(torch.device("cpu"), rank, world)):
                task.validation_step(batch, index)
        totals.append(task._val_totals.clone())
    summed = torch.stack(totals).sum(dim=0)
    task._trainer = SimpleNamespace(
        world_size=world, strategy=SimpleNamespace(reduce=lambda t, reduce_op: summed)
    )
    logged = {}
    task.log = lambda name, value, **kwargs: logged.__setitem__(name, float(value))
    if world == 1:
        task._val_totals = summed
    task.on_validation_epoch_end()
    return logged["val_loss"]


def reference_loss(task: ForecastTask, volume_weight: float) -> float:
    """The volume-weighted pinball loss of every validation window, in numpy."""
    data = task.data
    series = evaluation_windows(data.store, data.val_origin, H, data.min_encoder_length)
    origins = torch.full_like(series, data.val_origin)
    windows = WindowList(
        data.store, series, origins, data.encoder_length, H, len(series), data.prior_scale
    )
    (batch,) = list(windows)
    with torch.no_grad():
        steps, cumulative = task.net(*(batch[key] for key in BATCH_KEYS))
    target = batch["target"].double().numpy()
    weight = batch["scale"].double().numpy() ** volume_weight
    q = np.array(LEVELS)

    def pinball(prediction, actual):
        error = actual[..., None] - prediction
        return np.maximum(q * error, (q - 1) * error).mean(axis=-1)  # (N, H)

    h = np.arange(1, H + 1)
    step = pinball(steps.double().numpy(), target)
    running = pinball(cumulative.double().numpy() / h[:, None], np.cumsum(target, axis=1) / h)
    return float(((step + running) * weight[:, None]).sum() / (weight.sum() * H))


@pytest.mark.parametrize("volume_weight", [0.0, 0.5, 1.0])
def test_the_validation_loss_does_not_depend_on_batches_or_ranks(store, volume_weight):
    torch.manual_seed(0)
    origin = int(store.end.max()) - H
    net = build_network("lstm", InputDims.from_store(store), H, LEVELS, hidden_size=8).eval()
    # Validation batches of 4 x 4 windows: the 72 series fall into five batches.
    data = ForecastData(store, 28, H, 4, 1, origin, group_prior_scale(store, origin), 7)
    task = ForecastTask(net, LEVELS, data, volume_weight=volume_weight)
    expected = reference_loss(task, volume_weight)
    for world in (1, 2, 3):  # three ranks: one FC each
        assert validation_loss(task, world) == pytest.approx(expected, rel=1e-5), world


# An ensemble's run reports the ensemble's validation loss (a plain recomputation of the
# averaged quantiles' loss on the validation windows), not its first member's, which is the
# loss of the single network of the same seed.


FAST = TrainConfig(
    max_epochs=1, batches_per_epoch=2, batch_size=16, early_stopping_patience=None,
    progress_bar=False, accelerator="cpu",
)  # fmt: skip


def ensemble_reference_loss(model: NeuralForecaster, store) -> float:
    """The volume-weighted pinball loss of ``model.net`` on every validation window, in numpy."""
    origin = int(store.end.max()) - H
    _, min_encoder = model._lengths(store, origin)
    series = evaluation_windows(store, origin, H, min_encoder)
    priors = group_prior_scale(store, origin, fallback=model.prior_scale)
    windows = WindowList(
        store, series, torch.full_like(series, origin), model.encoder_length, H, len(series), priors
    )
    (batch,) = list(windows)
    with torch.no_grad():
        steps, cumulative = model.net(*(batch[key] for key in BATCH_KEYS))
    target = batch["target"].double().numpy()
    weight = batch["scale"].double().numpy() ** model.config.volume_weight
    q = np.array(LEVELS)

    def pinball(prediction, actual):
        error = actual[..., None] - prediction
        return np.maximum(q * error, (q - 1) * error).mean(axis=-1)

    h = np.arange(1, H + 1)
    step = pinball(steps.double().numpy(), target)
    running = pinball(cumulative.double().numpy() / h[:, None], np.cumsum(target, axis=1) / h)
    return float(((step + running) * weight[:, None]).sum() / (weight.sum() * H))


@pytest.mark.slow
def test_an_ensemble_reports_its_own_validation_loss(store):
    config = ForecastConfig("lstm", H, hidden_size=8, quantiles=LEVELS, ensemble=2)
    model = NeuralForecaster(config, FAST).fit(store)
    first, second = model.info["member_val_losses"]
    assert model.info["best_val_loss"] == pytest.approx(
        ensemble_reference_loss(model, store), rel=1e-5
    )
    assert model.info["best_val_loss"] != pytest.approx(first, rel=1e-4)


@pytest.mark.slow
def test_a_negative_binomial_ensemble_claims_no_loss_of_its_own(store):
    config = ForecastConfig(
        "lstm", H, hidden_size=8, quantiles=LEVELS, ensemble=2, distribution="negative_binomial"
    )
    model = NeuralForecaster(config, FAST).fit(store)
    assert model.info["best_val_loss"] is None
    assert len(model.info["member_val_losses"]) == 2


# A network trained in ``bf16-true`` precision forecasts: the fitted weights come back in
# float32, as the windows are, instead of a dtype error at the first prediction.


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lstm", "tft"])
def test_a_bf16_true_fit_forecasts_in_float32(small_network, model):
    train = TrainConfig(
        max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False,
        accelerator="cpu", precision="bf16-true",
    )  # fmt: skip
    table = small_network.to_frame()
    forecaster = Forecaster(model, 7, spec=small_network.spec, train=train, hidden_size=8)
    forecast = forecaster.fit(table).predict(table)
    assert all(v.dtype == torch.float32 for v in forecaster.model_.net.state_dict().values()
               if v.is_floating_point())  # fmt: skip
    values = forecast.filter(like="q").to_numpy()
    assert len(forecast) and np.isfinite(values).all() and (values >= 0).all()


def test_an_inspector_fits_in_bf16_true_and_scores(tmp_path):
    torch.set_num_threads(1)
    tunnel = write_synthetic_dataset(
        tmp_path / "tunnel", 24, seed=3, image_size=32, defect_rate=0.3, progress=False
    )
    cfg = ImageTrainConfig(
        max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False, precision="bf16-true"
    )
    inspector = Inspector(width=8, image_size=32, head_dim=16, train=cfg)
    good = write_synthetic_dataset(
        tmp_path / "good", 16, seed=1, image_size=32, defect_rate=0.0, progress=False
    )
    inspector.fit(tunnel).calibrate(good, target_frr=0.2, progress=False)
    dtypes = {v.dtype for v in inspector.fitted_.net.state_dict().values() if v.is_floating_point()}
    assert dtypes == {torch.float32}
    items, _ = inspector.score(tunnel, progress=False)
    assert len(items) == 24


def test_a_16_mixed_run_forecasts_on_a_cpu(tmp_path):
    net = generate_network(n_items=4, n_locations=1, n_days=120, seed=3, future_days=7)
    frame = net.to_frame()
    train = TrainConfig(
        max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False, accelerator="cpu"
    )
    fitted = Forecaster("lstm", 7, spec=net.spec, train=train, hidden_size=4)
    fitted.fit(frame, run_dir=tmp_path / "run")
    expected = fitted.predict(frame)
    # What a run trained with --precision 16-mixed on a GPU writes in its manifest.
    manifest = tmp_path / "run" / "manifest.json"
    saved = json.loads(manifest.read_text())
    saved["config"]["train"]["precision"] = "16-mixed"
    manifest.write_text(json.dumps(saved))
    loaded = Forecaster.load(tmp_path / "run")
    assert loaded.train.precision == "16-mixed"
    loaded.train.accelerator = "cpu"  # what `predict --accelerator cpu` sets
    table = loaded.predict(frame)
    columns = [c for c in expected.columns if c.startswith("q")]
    np.testing.assert_array_equal(table[columns].to_numpy(), expected[columns].to_numpy())


BF16_LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95, 0.99)


class Zeros(nn.Module):
    """Quantiles of zero for every step: the loss is then the levels times the targets."""

    def forward(self, *inputs):
        shape = (inputs[0].shape[0], H, len(BF16_LEVELS))
        return torch.zeros(shape), torch.zeros(shape)


def test_the_loss_keeps_its_levels_when_the_task_is_cast_to_bfloat16():
    store = generate_network(n_items=4, n_locations=1, n_days=120, seed=3).to_store()
    origin = int(store.end.max()) - H
    prior = group_prior_scale(store, origin)
    data = ForecastData(store, 28, H, 16, 1, origin, prior)
    task = ForecastTask(Zeros(), BF16_LEVELS, data)
    task.to(torch.bfloat16)  # what Lightning's bf16-true precision does to the module
    series = evaluation_windows(store, origin, H, 1)
    windows = WindowList(store, series, torch.full_like(series, origin), 28, H, 64, prior)
    batch = next(iter(windows))
    step_sum, step_total, cum_sum, cum_total = task._loss_sums(batch)
    target = batch["target"].double().numpy()
    mask = batch["target_mask"].double().numpy()
    q = np.array(BF16_LEVELS)
    # Predictions of 0 and targets >= 0: every pinball term is q * target.
    expected_steps = float((target[..., None] * q * mask[..., None]).sum())
    h = np.arange(1, H + 1)
    running = np.cumsum(target, axis=1) / h
    cum_mask = np.cumprod(mask, axis=1)
    expected_cumulative = float((running[..., None] * q * cum_mask[..., None]).sum())
    assert expected_steps > 0
    np.testing.assert_allclose(float(step_sum), expected_steps, rtol=1e-5)
    np.testing.assert_allclose(float(cum_sum), expected_cumulative, rtol=1e-5)
    assert float(step_total) == float(mask.sum() * len(BF16_LEVELS))
    assert float(cum_total) == float(cum_mask.sum() * len(BF16_LEVELS))


@pytest.fixture
def gpu(monkeypatch):
    """A CUDA device of a given compute capability, as torch.cuda reports it."""

    def make(major: int) -> None:
        monkeypatch.setattr(torch.version, "hip", None)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(
            torch.cuda, "get_device_properties", lambda device=None: SimpleNamespace(major=major)
        )
        # Creating a bfloat16 tensor succeeds on pre-Ampere GPUs too (emulation).
        monkeypatch.setattr(torch.cuda, "_check_bf16_tensor_supported", lambda device: True)

    return make


@pytest.mark.parametrize("major", [6, 7])
def test_auto_precision_is_fp16_mixed_before_ampere(gpu, major):
    gpu(major)
    assert resolve_precision("auto", "cuda") == "16-mixed"


@pytest.mark.parametrize("major", [8, 9])
def test_auto_precision_is_bf16_mixed_from_ampere_on(gpu, major):
    gpu(major)
    assert resolve_precision("auto", "cuda") == "bf16-mixed"
