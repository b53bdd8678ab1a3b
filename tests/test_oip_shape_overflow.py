"""An OIP v2 tensor whose shape multiplies past 2**63 is a 422 naming the input: NumPy's product
wrapped ([2**62, 28] held 0 values), the size check passed and the reshape failed with NumPy's
own message, which names no input."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import HTTPException

from serving.service.app import _to_array
from serving.service.schemas import Tensor

HISTORY = SimpleNamespace(name="history", type="tensor(float)", shape=["batch", 28])


@pytest.mark.parametrize(
    ("shape", "n_values"), [([2**62, 28], 0), ([2**62 + 1, 28], 28), ([2**64, 28], 0)]
)
def test_a_shape_past_int64_is_named(shape, n_values):
    tensor = Tensor(name="history", shape=shape, datatype="FP32", data=[0.0] * n_values)
    with pytest.raises(HTTPException) as caught:
        _to_array(tensor, HISTORY)
    assert caught.value.status_code == 422
    assert caught.value.detail.startswith("inputs.history: shape"), caught.value.detail


def test_a_shape_that_holds_its_values_is_read():
    tensor = Tensor(name="history", shape=[2, 28], datatype="FP32", data=[1.5] * 56)
    assert _to_array(tensor, HISTORY).shape == (2, 28)
