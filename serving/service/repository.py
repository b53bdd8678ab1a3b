"""The model repository a service serves: ``REPO/<name>/<version>/`` packages, hot-reloaded.

A scan loads every complete version it has not loaded yet (checking every file's sha256),
drops versions that disappeared, and swaps the whole table of models in one assignment:
requests already running keep the version they started with, new ones see the new table.
A version that fails to load (a changed file, a broken graph) is refused and logged, and the
versions already loaded keep serving.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernels.io import FileError
from serving.package import read_package, versions

log = logging.getLogger("stockcast.service")


@dataclass
class Loaded:
    """One loaded package version and what serves it."""

    name: str
    version: str
    task: str
    folder: Path
    manifest: dict[str, Any]
    runtime: Any  # ForecastPackage or InspectionPackage
    batcher: Any = None  # set by the app: one dynamic batcher per version

    @property
    def provider(self) -> str:
        return self.runtime.provider


@dataclass
class Snapshot:
    """The models at one moment: name -> version -> Loaded (replaced whole on reload)."""

    models: dict[str, dict[str, Loaded]] = field(default_factory=dict)

    def get(self, name: str, version: str | None = None) -> Loaded:
        found = self.models.get(name)
        if not found:
            raise KeyError(f"model {name!r} not found; serving: {sorted(self.models)}")
        if version is None:
            return found[max(found, key=int)]
        if version not in found:
            raise KeyError(f"model {name!r} has no version {version!r}; serving: {sorted(found)}")
        return found[version]

    def of_task(self, task: str) -> list[str]:
        return sorted(
            n for n, vs in self.models.items() if any(v.task == task for v in vs.values())
        )


def open_runtime(folder: Path, manifest: dict[str, Any]):
    """The runtime class of a package's task, opened (session created and warmed up)."""
    if manifest["task"] == "forecast":
        from serving.runtime.forecast import ForecastPackage

        return ForecastPackage(folder)
    if manifest["task"] == "inspection":
        from serving.runtime.inspection import InspectionPackage

        return InspectionPackage(folder)
    raise FileError(f"{folder}: unknown task {manifest['task']!r}")


class ModelRepository:
    """Scans ``root`` for packages and keeps the loaded ones in a :class:`Snapshot`."""

    def __init__(self, root: str | Path, on_change=None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileError(f"{self.root}: no such model repository folder")
        self.snapshot = Snapshot()
        self.refused: dict[tuple[str, str], str] = {}
        self.on_change = on_change  # called with (added, removed) Loaded lists
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def scan(self) -> Snapshot:
        """Load new complete versions, drop vanished ones, swap the snapshot."""
        with self._lock:
            old = self.snapshot.models
            new: dict[str, dict[str, Loaded]] = {}
            added: list[Loaded] = []
            for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
                if folder.name.startswith("."):
                    continue
                for number in versions(self.root, folder.name):
                    version = str(number)
                    current = old.get(folder.name, {}).get(version)
                    if current is not None:
                        new.setdefault(folder.name, {})[version] = current
                        continue
                    if (folder.name, version) in self.refused:
                        continue
                    loaded = self._load(folder.name, version, folder / version)
                    if loaded is not None:
                        new.setdefault(folder.name, {})[version] = loaded
                        added.append(loaded)
            removed = [
                v for name, vs in old.items() for key, v in vs.items()
                if key not in new.get(name, {})
            ]  # fmt: skip
            self.snapshot = Snapshot(new)
        if self.on_change and (added or removed):
            self.on_change(added, removed)
        return self.snapshot

    def _load(self, name: str, version: str, folder: Path) -> Loaded | None:
        try:
            manifest = read_package(folder)
            runtime = open_runtime(folder, manifest)
        except (OSError, ValueError) as exc:  # FileError, a broken graph, an unknown task
            self.refused[(name, version)] = str(exc)
            log.error(
                "refused package", extra={"model": name, "version": version, "error": str(exc)}
            )
            return None
        log.info(
            "loaded package",
            extra={"model": name, "version": version, "provider": runtime.provider},
        )
        return Loaded(name, version, manifest["task"], folder, manifest, runtime)

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
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
