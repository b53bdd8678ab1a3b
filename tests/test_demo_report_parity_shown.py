"""The demo report's "Model packages" table shows each ONNX package's parity error against
PyTorch. The report rounds numbers to 3 decimals, so every package that passed parity (under
1e-4) showed 0.0 where its manifest says 7.2e-06: the figure the table exists to show was lost.
The value on the page must read back as the manifest's."""

import re
from pathlib import Path

import pytest

import serving.demo.forecast as demo_forecast
from serving.demo.forecast import ForecastOutcome
from serving.report import Report

MANIFESTS = {
    "lstm": {"parity": {"max_relative_error": {"1": 2.8e-06, "16": 5.6e-06}},
             "model": {"opset": 18}, "files": {"model.onnx": "x"}},
    "tft": {"parity": {"max_relative_error": {"1": 3.1e-06, "16": 7.2e-05}},
            "model": {"opset": 18}, "files": {"model.onnx": "x"}},
}  # fmt: skip


def test_report_shows_the_manifests_parity_error(monkeypatch, tmp_path):
    def read_package(folder):
        return MANIFESTS[Path(folder).parent.name]

    monkeypatch.setattr(demo_forecast, "read_package", read_package)
    outcome = ForecastOutcome(
        backtest=None, forecasters={}, champion="lstm", paths={},
        packages={"lstm": tmp_path / "lstm" / "1", "tft": tmp_path / "tft" / "1"},
    )  # fmt: skip
    report = Report("demo")
    report.section("Model packages")
    report.table(outcome.parity())
    page = report.html()
    for name, manifest in MANIFESTS.items():
        row = re.search(rf"<td>{name}/1</td>\s*<td>18</td>\s*<td>([^<]*)</td>", page)
        assert row is not None, page
        worst = max(manifest["parity"]["max_relative_error"].values())
        assert float(row.group(1)) == pytest.approx(worst, rel=0.05)
