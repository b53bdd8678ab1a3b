"""Model packages: ``REPO/<name>/<version>/`` holding ONNX file(s) and a checked manifest.

The manifest is the shared run-folder manifest (:mod:`kernels.runfolder`) in the package format:
task, inputs and outputs (names, shapes, dtypes), preprocessing, quantiles or classes and
thresholds, vocabularies, data fingerprint, metrics, the export's parity figures, library
versions and the sha256 of every file. Torch-free: the runtime and the service read packages
without loading torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernels.io import FileError
from kernels.runfolder import PACKAGE_FORMATS, read_manifest

TASKS = ("forecast", "inspection")


def versions(repo: str | Path, name: str) -> list[int]:
    """The complete versions of ``name`` in ``repo``, oldest first (staging folders ignored).
    A version folder is named by its number as written in decimal (``2``, not ``02``): the
    number is how the folder is found again (``REPO/name/str(version)``)."""
    folder = Path(repo) / name
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        number = child.name
        canonical = number.isascii() and number.isdigit() and number == str(int(number))
        if child.is_dir() and canonical and (child / "manifest.json").is_file():
            found.append(int(number))
    return sorted(found)


PUBLISHED = ".published"
"""``REPO/.published/<name>/<version>``: an empty file for each version an export published; it
stays when the version's folder is removed (a rollback), so that number is not handed out again."""


def next_version(repo: str | Path, name: str) -> str:
    """One past the highest version folder of ``name`` (complete or not) or version ever
    published, as a string: a removed version's number is not reused, so a number names one
    model for good (a client pinning it, a forecast or plan that recorded it)."""
    taken = [
        int(c.name)
        for folder in (Path(repo) / name, Path(repo) / PUBLISHED / name)
        if folder.is_dir()
        for c in folder.iterdir()
        if c.name.isascii() and c.name.isdigit()
    ]
    return str(max(taken, default=0) + 1)


def record_published(repo: str | Path, name: str, version: str) -> None:
    """Remember that ``version`` of ``name`` was published (see :data:`PUBLISHED`)."""
    folder = Path(repo) / PUBLISHED / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(version)).touch()


def latest(repo: str | Path, name: str) -> Path:
    """The folder of the newest complete version of ``name``."""
    found = versions(repo, name)
    if not found:
        raise FileError(f"{Path(repo) / name}: no complete version of model {name!r}")
    return Path(repo) / name / str(found[-1])


def read_package(folder: str | Path, task: str | None = None) -> dict[str, Any]:
    """The verified manifest of a package folder (every file's sha256 checked)."""
    return read_manifest(folder, task=task, format=PACKAGE_FORMATS)
