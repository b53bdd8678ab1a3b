"""The README's Python examples and the public API's docstring examples run as doctests."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
PUBLIC_MODULES = ["training.forecaster", "kernels.simulation", "serving.report"]


@pytest.mark.slow
def test_readme_examples(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples write runs/... relative to where they run
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False, optionflags=FLAGS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_api_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(importlib.import_module(name), optionflags=FLAGS)
    assert result.attempted > 0 and result.failed == 0
