"""A forecast package of a model with one quantile level. Its forecasts were right (the
package, ``forecast predict --package`` and the service answer q0.9 as torch does), but the ONNX
graph declared the ``quantiles`` output as (batch, H, 2): onnxruntime warned on every load
("Error merging shape info ... target:{-1,7,2}") and the manifest recorded the batch axis as
"None". The graph declares what it returns: (batch, H, 1)."""

import json
import warnings

import numpy as np
import onnx

from forecasting import Forecaster
from forecasting.synthetic import generate_network
from serving.export import export_run
from serving.runtime.forecast import ForecastPackage
from training import TrainConfig


def test_a_one_level_package_declares_one_level(tmp_path):
    net = generate_network(n_items=4, n_locations=1, n_days=120, seed=7, future_days=14)
    frame = net.to_frame()
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=16, progress_bar=False)
    forecaster = Forecaster("lstm", 7, spec=net.spec, train=train, hidden_size=8, quantiles=(0.9,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster.fit(frame, run_dir=tmp_path / "run")
        package = export_run(tmp_path / "run", tmp_path / "repo")
    graph = onnx.load(str(package / "model.onnx")).graph
    declared = {
        o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
        for o in graph.output
    }
    assert declared == {"quantiles": ["batch", 7, 1], "cumulative": ["batch", 7, 1]}
    manifest = json.loads((package / "manifest.json").read_text())
    assert [o["shape"] for o in manifest["model"]["outputs"]] == [["batch", 7, 1]] * 2
    torch_table = forecaster.predict(frame)
    onnx_table = ForecastPackage(package).predict(frame)
    assert list(onnx_table.columns) == list(torch_table.columns)
    assert "q0.9" in onnx_table.columns
    np.testing.assert_allclose(onnx_table["q0.9"], torch_table["q0.9"], rtol=1e-5, atol=1e-5)
