"""Only the first process of a run counts as rank zero: Lightning's launcher sets LOCAL_RANK
and NODE_RANK (not RANK), and local rank 0 of node 1 read as rank zero, so every node's first
process printed the panel and copied the interrupted run's checkpoints into the same folder."""

from __future__ import annotations

import pytest

from training.trainer import is_rank_zero

NAMES = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK")


@pytest.mark.parametrize(
    ("env", "zero"),
    [
        ({}, True),
        ({"RANK": "0", "LOCAL_RANK": "0", "NODE_RANK": "0"}, True),
        ({"RANK": "3", "LOCAL_RANK": "0", "NODE_RANK": "1"}, False),
        ({"LOCAL_RANK": "1"}, False),
        ({"LOCAL_RANK": "0", "NODE_RANK": "0"}, True),
        ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, False),
        ({"NODE_RANK": "1"}, False),
        ({"LOCAL_RANK": "0", "GROUP_RANK": "2"}, False),
    ],
)
def test_rank_zero_is_the_first_process_of_the_first_node(monkeypatch, env, zero):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert is_rank_zero() is zero
