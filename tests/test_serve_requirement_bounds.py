"""The serve extra's lower bounds admit only versions the service runs on: /v1/inspect calls
``Request.form(max_part_size=...)``, a keyword Starlette has from 0.44 (with 0.40-0.43, which
``fastapi>=0.115`` allowed, every upload was a TypeError answered 422), and its FileResponse,
which serves the review photos, merges Range headers in quadratic time before 0.49.1
(CVE-2025-62727); python-multipart below 0.0.18 spins on junk before the first boundary
(CVE-2024-53981)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from starlette.requests import Request

ROOT = Path(__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def _serve() -> dict[str, Requirement]:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    return {(r := Requirement(text)).name: r for text in extras["serve"]}


def test_the_serve_extra_requires_a_starlette_whose_form_takes_max_part_size():
    assert "max_part_size" in inspect.signature(Request.form).parameters  # what the app calls
    starlette = _serve()["starlette"].specifier
    assert "0.43.0" not in starlette  # no max_part_size
    assert "0.49.0" not in starlette and "0.49.1" in starlette  # CVE-2025-62727


def test_the_serve_extra_requires_a_python_multipart_without_cve_2024_53981():
    multipart = _serve()["python-multipart"].specifier
    assert "0.0.18" in multipart and "0.0.17" not in multipart
