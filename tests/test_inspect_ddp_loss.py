"""Under DDP each rank's inspection training loss is its share of the loss of every rank's
batch at once: the ranks' averaged gradients are those one process takes on the union of their
batches. Each rank balanced its view and cell terms over its own positives and negatives, so
two ranks with 6 items each stepped up to 0.06 off a gradient of at most 0.25 (one process on
the 12)."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from test_inspect_val_loss import _data, _task

from vision.augment import AugmentSpec
from vision.datasets import collate_items


def _gradient(task, loss: torch.Tensor) -> torch.Tensor:
    params = [p for p in task.model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return torch.cat(
        [(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params)]
    )


def test_two_ranks_step_as_one_process_on_both_batches():
    data = _data()
    task = _task(data, 6)
    task.model.eval()  # BatchNorm on its running statistics: the forward ignores the split
    task.augment = AugmentSpec(hflip=0.0)  # no random transforms
    shards = [collate_items([data[i] for i in range(lo, lo + 6)]) for lo in (0, 6)]
    whole = collate_items([data[i] for i in range(12)])
    task._trainer = SimpleNamespace(world_size=1, global_rank=0)
    logged_one: dict = {}
    task.log = lambda name, value, **kw: logged_one.setdefault(
        name, float(torch.as_tensor(value).detach())
    )
    reference = _gradient(task, task.training_step(whole, 0))

    with torch.no_grad():  # what the ranks' all-reduce sums
        totals = sum(task._loss(b, train=True, sums=True)[0] for b in shards)
    strategy = SimpleNamespace(reduce=lambda tensor, reduce_op: totals.clone())
    task._trainer = SimpleNamespace(world_size=2, global_rank=0, strategy=strategy)
    logged: dict = {}
    task.log = lambda name, value, **kw: logged.setdefault(
        name, float(torch.as_tensor(value).detach())
    )
    ddp = sum(_gradient(task, task.training_step(b, 0)) for b in shards) / 2  # DDP's mean
    torch.testing.assert_close(ddp, reference, rtol=1e-4, atol=1e-6)
    # The logged training loss is the loss of both batches at once.
    assert abs(logged["train_loss"] - logged_one["train_loss"]) < 1e-5
