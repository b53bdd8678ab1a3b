"""open_model's default warm-up feeds zeros of each input's own type: a graph with a double,
int32 or float16 input got float32 zeros, which onnxruntime refuses, so it could not be opened."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from serving.runtime.session import open_model


@pytest.mark.parametrize(
    ("onnx_type", "numpy_type"),
    [(TensorProto.DOUBLE, np.float64), (TensorProto.INT32, np.int32),
     (TensorProto.FLOAT16, np.float16), (TensorProto.UINT16, np.uint16)],
)  # fmt: skip
def test_a_graph_of_any_numeric_input_type_opens_and_runs(tmp_path, onnx_type, numpy_type):
    x = helper.make_tensor_value_info("x", onnx_type, ["batch", 3])
    y = helper.make_tensor_value_info("y", onnx_type, ["batch", 3])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "identity.onnx")
    opened = open_model(tmp_path / "identity.onnx", threads=1)
    assert opened.provider == "CPUExecutionProvider"
    value = np.arange(6, dtype=numpy_type).reshape(2, 3)
    np.testing.assert_array_equal(opened.run({"x": value})["y"], value)
