"""A version's graph that changes between its hash check and onnxruntime's read of it is not
served: the repository kept what loaded as the version's current one, and later scans, which
refuse the changed folder, kept serving that unverified graph for good."""

from __future__ import annotations

import shutil

import onnx
import pytest
from onnx import numpy_helper

import serving.runtime.forecast as runtime_forecast
from serving.service.repository import ModelRepository


@pytest.mark.slow
def test_a_graph_swapped_while_it_loads_is_not_served(lstm_package, tmp_path, monkeypatch):
    _, _, root = lstm_package
    repo = tmp_path / "repo"
    shutil.copytree(root / "repo", repo)
    graph = repo / "lstm" / "1" / "model.onnx"
    other = onnx.load(graph)  # another network: the same graph with other weights
    weights = max(other.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)
    weights.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weights) * 3, weights.name))
    onnx.save(other, tmp_path / "other.onnx")
    opened = runtime_forecast.open_model

    def racing(path, **kwargs):  # a writer replaces the graph after its hash was checked
        shutil.copy(tmp_path / "other.onnx", path)
        monkeypatch.setattr(runtime_forecast, "open_model", opened)
        return opened(path, **kwargs)

    monkeypatch.setattr(runtime_forecast, "open_model", racing)
    repository = ModelRepository(repo)
    for _ in range(3):
        repository.scan()
        assert "lstm" not in repository.snapshot.models  # its files do not match its hashes
    assert "sha256" in repository.refused[("lstm", "1")][1]
    shutil.copy(root / "repo" / "lstm" / "1" / "model.onnx", graph)  # the verified graph back
    loaded = repository.scan().get("lstm", "1")
    assert loaded.version == "1" and ("lstm", "1") not in repository.refused
