"""The model repository a service serves: ``REPO/<name>/<version>/`` packages, hot-reloaded.

A scan loads every complete version it has not loaded yet (checking every file's sha256),
drops versions that disappeared, and swaps the whole table of models in one assignment:
requests already running keep the version they started with, new ones see the new table.
A version that fails to load (a changed file, a broken graph, a folder still being copied) is
refused and logged, and the versions already loaded keep serving. A refusal holds for the
folder as it was (its files' names, sizes and modification times): once any of them changes,
the next scan tries again, so a version copied in file by file is served once it is complete.
A loaded version whose files change is loaded again and swapped in if it verifies; if it does
not, the loaded one keeps serving.
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernels.io import FileError
from serving.package import read_package, record_published, versions

log = logging.getLogger("stockcast.service")


Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass
class Loaded:
    """One loaded package version and what serves it."""

    name: str
    version: str
    task: str
    folder: Path
    manifest: dict[str, Any]
    runtime: Any  # ForecastPackage, RunForecastPackage or InspectionPackage
    batcher: Any = None  # set by the app: one dynamic batcher per version
    fingerprint: Fingerprint = ()  # the folder's files when it was loaded

    @property
    def provider(self) -> str:
        """The provider the version's runtime runs on now."""
        return self.runtime.provider


@dataclass
class Snapshot:
    """The models at one moment: name -> version -> Loaded (replaced whole on reload)."""

    models: dict[str, dict[str, Loaded]] = field(default_factory=dict)

    def get(self, name: str, version: str | None = None) -> Loaded:
        """Model ``name`` at ``version`` (default: the highest version number); ``KeyError``
        naming what is served when either is not."""
        found = self.models.get(name)
        if not found:
            raise KeyError(f"model {name!r} not found; serving: {sorted(self.models)}")
        if version is None:
            return found[max(found, key=int)]
        if version not in found:
            # In the order "latest" uses (numbers, not strings: ['2', '9', '11'], not
            # ['11', '2', '9']), so the last one listed is the one served by default.
            served = sorted(found, key=int)
            raise KeyError(f"model {name!r} has no version {version!r}; serving: {served}")
        return found[version]

    def of_task(self, task: str) -> list[str]:
        """Names of the models with a version of ``task`` (``forecast``, ``inspection``), sorted."""
        return sorted(
            n for n, vs in self.models.items() if any(v.task == task for v in vs.values())
        )


def fingerprint(folder: Path) -> Fingerprint | None:
    """Every file under ``folder``: (relative path, size, mtime in ns), sorted; ``None`` when
    the folder changes while it is read (a file removed between listing and stat)."""
    try:
        entries = []
        for path in folder.rglob("*"):
            if path.is_file():
                stat = path.stat()
                entries.append(
                    (path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns)
                )
    except OSError:
        return None
    return tuple(sorted(entries))


def open_runtime(folder: Path, manifest: dict[str, Any]):
    """The runtime class of a package's task, opened (session created and warmed up)."""
    if manifest["task"] == "forecast":
        from serving.runtime.pytorch import open_forecast_package

        return open_forecast_package(folder)
    if manifest["task"] == "inspection":
        from serving.runtime.inspection import InspectionPackage

        return InspectionPackage(folder)
    raise FileError(f"{folder}: unknown task {manifest['task']!r}")


class ModelRepository:
    """Scans ``root`` for packages and keeps the loaded ones in a :class:`Snapshot`."""

    def __init__(self, root: str | Path, on_change=None, on_load=None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileError(f"{self.root}: no such model repository folder")
        self.snapshot = Snapshot()
        # (name, version) -> (the folder's fingerprint when it was refused, why)
        self.refused: dict[tuple[str, str], tuple[Fingerprint, str]] = {}
        self.on_load = on_load  # called with each new Loaded before it is served
        self.on_change = on_change  # called with (added, removed) Loaded lists after the swap
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def scan(self) -> Snapshot:
        """Load new complete versions and changed ones, drop vanished ones, swap the snapshot."""
        with self._lock:
            old = self.snapshot.models
            new: dict[str, dict[str, Loaded]] = {}
            added: list[Loaded] = []
            replaced: list[Loaded] = []
            for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
                if folder.name.startswith("."):
                    continue
                for number in versions(self.root, folder.name):
                    version = str(number)
                    current = old.get(folder.name, {}).get(version)
                    loaded = self._scan_version(folder.name, version, folder / version, current)
                    if loaded is None:
                        continue
                    new.setdefault(folder.name, {})[version] = loaded
                    if loaded is not current:
                        added.append(loaded)
                        if current is not None:
                            replaced.append(current)
            removed = replaced + [
                v for name, vs in old.items() for key, v in vs.items()
                if key not in new.get(name, {})
            ]  # fmt: skip
            for key in [k for k in self.refused if k[1] not in new.get(k[0], {})]:
                if not (self.root / key[0] / key[1]).is_dir():
                    del self.refused[key]  # gone: a folder of that number later starts afresh
            self.snapshot = Snapshot(new)
        if self.on_change and (added or removed):
            self.on_change(added, removed)
        return self.snapshot

    def _scan_version(
        self, name: str, version: str, folder: Path, current: Loaded | None
    ) -> Loaded | None:
        """The version to serve: ``current`` while its folder is unchanged (or changed into
        something that does not load), a new :class:`Loaded` when one loads, else ``None``."""
        files = fingerprint(folder)
        if files is None:  # changing under our feet: look again next scan
            return current
        if current is not None and files == current.fingerprint:
            return current
        refused = self.refused.get((name, version))
        if refused is not None and refused[0] == files:
            return current
        try:
            manifest = read_package(folder)
            if current is not None and manifest == current.manifest:
                current.fingerprint = files  # touched, or files the manifest does not list
                self.refused.pop((name, version), None)
                return current
            runtime = open_runtime(folder, manifest)
        except Exception as exc:  # FileError, an unknown task, a graph onnxruntime cannot load
            # (its errors are plain Exceptions: an unknown opset, a failed warm-up on the CPU;
            # a CUDA failure falls back to the CPU first): one version's failure must not
            # abort the scan
            self.refused[(name, version)] = (files, str(exc))
            log.error(
                "refused package",
                extra={"model": name, "version": version, "error": str(exc),
                       "serving": current is not None},
            )  # fmt: skip
            return current
        if fingerprint(folder) != files:
            # A file changed while it was checked and opened: onnxruntime reads the graph from
            # disk after its hash was checked, so what loaded may be a file no hash vouches
            # for, and kept as ``current`` it was served for good (later scans refuse the
            # changed folder but keep serving what is loaded). Look again next scan.
            return current
        self.refused.pop((name, version), None)
        # Served now, so a client may pin the number: a version copied into the repository by
        # hand (not exported there) was not remembered, and after its removal (a rollback) the
        # next export handed its number to another model. A read-only repository is no error.
        with suppress(OSError):
            record_published(self.root, name, version)
        loaded = Loaded(name, version, manifest["task"], folder, manifest, runtime)
        loaded.fingerprint = files
        if self.on_load:
            self.on_load(loaded)
        log.info(
            "loaded package",
            extra={"model": name, "version": version, "provider": runtime.provider,
                   "replaces": current is not None},
        )  # fmt: skip
        return loaded

    def watch(self, interval_s: float) -> None:
        """Rescan every ``interval_s`` seconds in a background thread until :meth:`close`."""

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.scan()
                except Exception:  # a scan must never take the service down
                    log.exception("repository scan failed")

        self._thread = threading.Thread(target=loop, name="repository-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop watching the folder (waits up to 5 s for the watcher thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
