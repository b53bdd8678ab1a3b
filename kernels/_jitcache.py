"""Numba's on-disk caches dropped when any source of the package changes.

Numba keys a cached kernel (``@njit(cache=True)``) on its own file's modification time and size
only. A kernel that calls a helper from another file (``kernels._special``, ``kernels.quantiles``)
keeps its compiled copy of the old helper after that file changes: in a git checkout or an
editable install, pulling a fix to ``count_ppf`` left ``policy_parametric`` answering with the
bug until the caches were deleted by hand. A hash of every source of the package, kept beside the
caches, catches that: when it differs, the caches are deleted before any kernel is compiled or
loaded. Deleting is safe with other processes about: Numba reads a missing index as empty and a
missing data file as a miss, and recompiles.

No Numba import here: ``kernels/__init__`` runs this for every ``import kernels.x``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

STAMP = "stockcast-sources.sha256"
"""The file in the package's top ``__pycache__`` holding the hash its caches were built from."""


def source_hash(root: Path) -> str:
    """SHA-256 over the relative paths and bytes of every ``*.py`` under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def cache_folders(root: Path) -> list[Path]:
    """Where Numba keeps ``root``'s caches: its ``__pycache__`` folders and, with
    ``NUMBA_CACHE_DIR`` set, one folder per source folder under it, named as Numba's
    user-provided locator names them (the folder's name and the SHA-1 of its absolute path)."""
    folders = [root]
    base = os.environ.get("NUMBA_CACHE_DIR")
    if base:
        sources = {os.path.dirname(os.path.abspath(path)) for path in root.rglob("*.py")}
        for source in sorted(sources):
            hashed = hashlib.sha1(source.encode()).hexdigest()
            folders.append(Path(base) / f"{os.path.basename(source)}_{hashed}")
    return folders


def drop_stale_caches(root: Path) -> int:
    """Delete Numba's cache files of the package at ``root`` if its sources changed since they
    were built; returns how many were deleted. A folder that cannot be written is left as it is
    (Numba then caches elsewhere, keyed on files an upgrade rewrites)."""
    try:
        current = source_hash(root)
        stamp = root / "__pycache__" / STAMP
        if stamp.is_file() and stamp.read_text() == current:
            return 0
        stamp.parent.mkdir(exist_ok=True)
        if not os.access(stamp.parent, os.W_OK):
            return 0  # a stamp that cannot be kept would drop the caches at every import
        deleted = 0
        for folder in cache_folders(root):
            for pattern in ("*.nbi", "*.nbc"):
                for path in folder.rglob(pattern):
                    path.unlink(missing_ok=True)
                    deleted += 1
        partial = stamp.with_name(f"{STAMP}.{os.getpid()}.tmp")
        partial.write_text(current)
        os.replace(partial, stamp)
        return deleted
    except OSError:
        return 0
