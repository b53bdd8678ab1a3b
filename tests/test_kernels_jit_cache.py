"""Numba's caches follow the package's sources: a kernel whose helper lives in another file does
not keep answering with the old helper after that file changes (Numba stamps a cached kernel
with its own file only; a pulled fix to kernels._special left the plan's kernels on the bug)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kernels
from kernels._jitcache import STAMP, drop_stale_caches

ROOT = Path(__file__).resolve().parent.parent


def _package(tmp_path: Path, helper_value: int) -> Path:
    package = tmp_path / "pkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(
        "from pathlib import Path\n"
        "from kernels._jitcache import drop_stale_caches\n"
        "drop_stale_caches(Path(__file__).parent)\n"
    )
    (package / "helper.py").write_text(
        "from numba.extending import register_jitable\n\n"
        f"@register_jitable\ndef value():\n    return {helper_value}\n"
    )
    kernel = package / "kernel.py"
    if not kernel.exists():  # untouched after: Numba's stamp of it stays the same
        kernel.write_text(
            "from numba import njit\nfrom pkg.helper import value\n\n"
            "@njit(cache=True)\ndef run():\n    return value()\n"
        )
    return package


def _run(tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    env.pop("NUMBA_CACHE_DIR", None)
    env.pop("NUMBA_DISABLE_JIT", None)
    code = "from pkg.kernel import run; print(run())"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.slow
def test_a_changed_helper_file_reaches_a_cached_kernel(tmp_path):
    package = _package(tmp_path, helper_value=1)
    assert _run(tmp_path) == "1"
    assert list(package.rglob("*.nbi"))  # cached
    _package(tmp_path, helper_value=2)  # the helper's file only
    assert _run(tmp_path) == "2"  # before the stamp: 1, the stale compiled helper


def _fake_caches(root: Path) -> list[Path]:
    files = [root / "__pycache__" / "a.run-3.py311.nbi", root / "sub" / "__pycache__" / "b.nbc"]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"cache")
    return files


def test_caches_are_kept_while_the_sources_are_unchanged_and_dropped_when_one_changes(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("A = 1\n")
    (tmp_path / "sub" / "b.py").write_text("B = 1\n")
    files = _fake_caches(tmp_path)
    assert drop_stale_caches(tmp_path) == 2  # no stamp yet: built from unknown sources
    assert (tmp_path / "__pycache__" / STAMP).is_file()
    files = _fake_caches(tmp_path)
    assert drop_stale_caches(tmp_path) == 0
    assert all(path.exists() for path in files)
    (tmp_path / "sub" / "b.py").write_text("B = 2\n")  # a file the kernel in a.py may call
    assert drop_stale_caches(tmp_path) == 2
    assert not any(path.exists() for path in files)


def test_a_numba_cache_dir_is_cleaned_where_numba_puts_the_package_caches(tmp_path, monkeypatch):
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "a.py").write_text("A = 1\n")
    base = tmp_path / "numba-cache"
    source = os.path.abspath(root)
    mirrored = base / f"pkg_{hashlib.sha1(source.encode()).hexdigest()}" / "a.run-3.py311.nbi"
    mirrored.parent.mkdir(parents=True)
    mirrored.write_bytes(b"cache")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(base))
    assert drop_stale_caches(root) == 1
    assert not mirrored.exists()


def test_importing_kernels_stamps_its_caches():
    stamp = Path(kernels.__file__).parent / "__pycache__" / STAMP
    if not os.access(stamp.parent.parent, os.W_OK):
        pytest.skip("the installed package cannot be written")
    assert stamp.is_file()


def test_the_numba_locator_names_match_numbas_own():
    from numba.core import caching

    locator = (
        getattr(caching, "UserProvidedCacheLocator", None) or caching._UserProvidedCacheLocator
    )
    kernel = Path(kernels.__file__).parent / "quantiles.py"
    subpath = locator.get_suitable_cache_subpath(str(kernel))
    folder = os.path.dirname(os.path.abspath(kernel))
    assert subpath == f"{os.path.basename(folder)}_{hashlib.sha1(folder.encode()).hexdigest()}"
