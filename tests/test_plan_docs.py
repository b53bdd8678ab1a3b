"""The planning examples run as written: README's Planning section and the kernels docstrings."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else len(text)]


def _run(test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0, f"{test.name}: no examples"
    assert result.failed == 0, f"{test.name}: {result.failed} example(s) failed (see stdout)"


def test_readme_planning_section_runs():
    text = _section(README.read_text(encoding="utf-8"), "## Planning (`kernels/`)")
    test = doctest.DocTestParser().get_doctest(text, {}, "README Planning", str(README), 0)
    _run(test)


@pytest.mark.parametrize("module", ["kernels", "kernels.config", "kernels.tables"])
def test_module_examples_run(module):
    tests = doctest.DocTestFinder().find(importlib.import_module(module))
    tests = [t for t in tests if t.examples]
    assert tests
    for test in tests:
        _run(test)
