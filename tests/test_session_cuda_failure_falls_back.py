"""open_model: CUDA first, the CPU as fallback, and the provider reported is the one that runs.

A CUDA provider that raised while the session was created (onnxruntime retries on the CPU only
for a RuntimeError; a GPU out of memory while initializing raises its ``Fail``) made open_model
raise, so the service refused the package instead of serving it on the CPU. And a session that
onnxruntime moved to the CPU in ``run`` (its fallback on an ``EPFail``, here in the warm-up) went
on reporting CUDA, with no warning. onnxruntime's providers are faked here (no GPU needed).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnxruntime.capi.onnxruntime_pybind11_state import Fail

from serving.runtime import session as session_module
from serving.runtime.session import open_model

BOTH = ["CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.fixture
def graph(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "relu.onnx")
    return tmp_path / "relu.onnx"


def fake_cuda(monkeypatch, mode: str) -> list[list[str]]:
    """onnxruntime with CUDA listed; ``mode``: 'fail' (creation raises Fail) or 'epfail' (the
    session loads on CUDA, and its first run falls back to the CPU as onnxruntime's run does)."""
    real = ort.InferenceSession
    asked: list[list[str]] = []

    class Session(real):
        def __init__(self, path, options=None, providers=None):
            asked.append(list(providers))
            if mode == "fail" and "CUDAExecutionProvider" in providers:
                raise Fail("CUDA failure 2: out of memory")
            super().__init__(path, options, providers=["CPUExecutionProvider"])
            self.cuda = "CUDAExecutionProvider" in providers

        def get_providers(self):
            return BOTH if self.cuda else ["CPUExecutionProvider"]

        def run(self, names, feeds, run_options=None):
            self.cuda = False  # onnxruntime's set_providers(["CPUExecutionProvider"]) on EPFail
            return super().run(names, feeds, run_options)

    monkeypatch.setattr(session_module.ort, "get_available_providers", lambda: list(BOTH))
    monkeypatch.setattr(session_module.ort, "InferenceSession", Session)
    return asked


def test_cuda_failing_at_creation_falls_back_to_the_cpu_with_a_warning(graph, monkeypatch):
    asked = fake_cuda(monkeypatch, "fail")
    with pytest.warns(RuntimeWarning, match="CUDAExecutionProvider failed.*out of memory"):
        opened = open_model(graph, threads=1)
    assert asked == [BOTH, ["CPUExecutionProvider"]]
    assert opened.provider == "CPUExecutionProvider"
    x = np.array([[-1.0, 2.0]], np.float32)
    np.testing.assert_array_equal(opened.run({"x": x})["y"], [[0.0, 2.0]])


def test_a_session_moved_to_the_cpu_in_its_warm_up_reports_the_cpu(graph, monkeypatch):
    fake_cuda(monkeypatch, "epfail")
    with pytest.warns(RuntimeWarning, match="did not load; running on CPUExecutionProvider"):
        opened = open_model(graph, threads=1)
    assert opened.provider == "CPUExecutionProvider"


def test_a_graph_the_cpu_cannot_open_either_still_raises(tmp_path, monkeypatch):
    fake_cuda(monkeypatch, "fail")
    (tmp_path / "broken.onnx").write_bytes(b"not a graph")
    with pytest.warns(RuntimeWarning, match="failed"), pytest.raises(Exception, match="broken"):
        open_model(tmp_path / "broken.onnx", threads=1)
