"""Export a training run as a model package ``REPO/<name>/<version>/`` (see serving.package).

    stockcast export --run runs/tft --repo models            # models/tft/1/
    from serving.export import export_run; export_run("runs/tft", "models")

The package is built under a temporary name and appears only when its ONNX graph passed the
parity check against the PyTorch model; its manifest carries the run's settings, data
fingerprint and metrics, the graph's inputs and outputs, the preprocessing, the parity figures
and the sha256 of every file. A whole ``auto`` run (its trees and baselines have no graph) is
packaged as its run folder and forecast by PyTorch in the service (:mod:`serving.runtime.pytorch`);
``network=`` exports one of its networks as an ONNX package instead.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import warnings
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

from kernels.io import FileError, read_json, sha256_file
from kernels.runfolder import (
    MANIFEST,
    PACKAGE_FORMAT,
    building,
    published_path,
    read_manifest,
    write_manifest,
)
from serving.package import PUBLISHED, TASKS, next_version, record_published, versions
from serving.runtime.pytorch import RUN_FOLDER, RUNTIME


def export_run(
    run_dir: str | Path,
    repo: str | Path,
    name: str | None = None,
    version: str | None = None,
    *,
    quantize: bool = False,
    network: str | None = None,
) -> Path:
    """Export the run folder ``run_dir`` (forecast: LSTM or TFT; inspection) into the model
    repository ``repo`` as ``<name>/<version>/`` and return the package folder. ``name``
    defaults to the run folder's name, ``version`` to one past the latest (a version given is
    never replaced). ``quantize`` also writes an int8 graph (inspection runs only).
    ``network`` exports one of an ``auto`` run's networks (``lstm``, ``tft``, ``lstm_nb``,
    ``tft_nb``): the package is that network's, as if it had been trained alone."""
    run_dir = Path(run_dir)
    run = read_manifest(run_dir)
    task = run.get("task")
    name = name or run_dir.resolve().name
    if not name or "/" in name or name.startswith("."):
        raise FileError(f"--name {name!r}: not a usable package name")
    if task in TASKS:  # another task is refused below, naming it
        _check_task(repo, name, task)
    auto = version is None
    version = next_version(repo, name) if auto else str(version)
    # The folder must be named as the repository finds it again (serving.package.versions):
    # "02" or a non-ASCII digit would be written and then never listed, served or counted.
    if not (version.isascii() and version.isdigit()) or version != str(int(version)):
        raise FileError(
            f"--version {version!r}: expected a whole number written without leading zeros "
            f"(e.g. 2, not 02)"
        )
    target = Path(repo) / name / str(version)
    if not auto and target.exists():
        # Served versions are immutable (a running service may hold this one): no overwrite.
        raise FileError(
            f"{target}: package {name} version {version} exists; versions are never replaced, "
            f"give a new --version or leave it out (next: {next_version(repo, name)})"
        )
    if not auto and (Path(repo) / PUBLISHED / name / str(version)).exists():
        # Removed in a rollback: a client pinning the number must never get another model.
        raise FileError(
            f"{target}: package {name} version {version} was published before and removed; "
            f"its number is not reused, give a new --version or leave it out "
            f"(next: {next_version(repo, name)})"
        )
    with ExitStack() as stack:
        # Released after the version is published (callbacks run last in, first out).
        publishing = _NameLock(repo, name)
        stack.callback(publishing.release)
        recorded = False

        def unrecord(failed: type[BaseException] | None, *_: object) -> None:
            # Runs after the package folder is published or removed: a version recorded but
            # never published (the export failed in between) frees its number again.
            if failed is not None and recorded and not target.exists():
                (Path(repo) / PUBLISHED / name / str(version)).unlink(missing_ok=True)

        stack.push(unrecord)
        while True:
            try:
                folder = stack.enter_context(building(target))
                break
            except FileError:
                # Another export of this name took the same next version since it was counted
                # (it is writing it: its lock is there, or it published it): without --version
                # this export takes the one after.
                taken = target.exists() or (target.parent / f".{target.name}.lock").exists()
                if not auto or not taken:
                    raise
                version = str(max(int(next_version(repo, name)), int(version) + 1))
                target = Path(repo) / name / version
        stack.enter_context(_quiet())
        if task != "forecast" and network is not None:
            raise FileError(f"--network {network}: only an auto run holds several networks")
        if task == "forecast":
            if quantize:
                raise ValueError("--quantize: only the inspection network is quantized")
            entries = _forecast_entries(run_dir, folder, network)
        elif task == "inspection":
            from serving.export.inspection import export_inspection

            entries = export_inspection(run_dir, folder, quantize=quantize)
        else:
            raise FileError(f"{run_dir}: cannot export a {task!r} run")
        described = {"config": run.get("config", {}), "metrics": run.get("metrics", {})}
        network_of = entries.pop("described", None)
        if network_of is not None:  # one network of an auto run: its own settings and loss
            described["config"] = {**described["config"], "forecast": network_of["forecast"]}
            described["metrics"] = network_of["metrics"]
        # The network and its preprocessing were read from the run folder after its settings
        # and metrics above: a run published in its place meanwhile (`forecast train --out RUN
        # --overwrite`, `inspect calibrate`) made a package of one network described by another.
        _check_unchanged(run_dir, run)
        in_process = entries.get("model", {}).get("runtime") == RUNTIME
        write_manifest(
            folder,
            task,
            config=described["config"],
            data_fingerprint=run.get("data_fingerprint"),
            metrics=described["metrics"],
            format=PACKAGE_FORMAT,
            # What exported and checked the graph: a package may fail to load on other versions.
            libraries=("lightgbm",) if in_process else ("onnx", "onnxruntime"),
            name=name,
            version=str(version),
            # The run's final path: a demo or pipeline may export it while both are staged.
            source={
                "run": str(published_path(run_dir.resolve())),
                "created": run.get("created"),
                **({"network": network} if network is not None else {}),
            },
            **entries,
        )
        # The name's task again, under a lock on the name held until this version is in place:
        # an export of another task under this name may have published since the check above
        # (both exports passed it on an empty name, and both published).
        publishing.acquire()
        if task in TASKS:
            _check_task(repo, name, task)
        # Recorded before the version is published: a version served but not recorded (the
        # record failed, or the export was stopped, after the rename) had its number handed
        # out again once it was removed.
        record_published(repo, name, str(version))
        recorded = True
    return target


class _NameLock:
    """An ``flock`` on ``REPO/.published/.locks/<name>``, held from an export's last check of
    the name's task until its version is published (a blocking wait: publishing is a rename).
    A name never starts with ".", so the folder is no name's."""

    def __init__(self, repo: str | Path, name: str):
        self.path = Path(repo) / PUBLISHED / ".locks" / name
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as exc:  # a file system without flock: unguarded, as run folders are
            if exc.errno not in (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                self.release()
                raise

    def release(self) -> None:
        if self.fd is not None:
            with suppress(OSError):
                os.close(self.fd)
            self.fd = None


def _check_unchanged(run_dir: Path, read: dict[str, Any]) -> None:
    """A :class:`FileError` unless ``run_dir`` still holds the run whose manifest was ``read``."""
    try:
        now = read_manifest(run_dir, verify=False)
    except FileError:  # gone, or caught between the renames of a replacement
        now = None
    # As text: a NaN read from an older manifest is unequal to itself.
    if json.dumps(now, sort_keys=True) != json.dumps(read, sort_keys=True):
        raise FileError(
            f"{run_dir}: the run was replaced or recalibrated while it was exported; nothing "
            "was published, export it again"
        )


def _check_task(repo: str | Path, name: str, task: Any) -> None:
    """Refuses a package of another task than the versions already under ``name``: the service
    resolves a name to its latest version, so an inspection package published over forecast
    ones would answer every unpinned forecast request with an error (and the reverse)."""
    for number in reversed(versions(repo, name)):
        try:
            found = read_json(Path(repo) / name / str(number) / "manifest.json").get("task")
        except (FileError, AttributeError):  # unreadable: the repository refuses it anyway
            continue
        if found in TASKS and found != task:  # another (or no) task: refused by the repository
            raise FileError(
                f"{Path(repo) / name / str(number)}: package {name} holds {found} models; a "
                f"{task} run needs another --name"
            )


def _forecast_entries(run_dir: Path, folder: Path, network: str | None = None) -> dict[str, Any]:
    """The package entries of a forecast run (of its ``network``, for an auto run, with
    ``described``: that network's forecast settings and metrics, which are not the run's)."""
    from forecasting import Forecaster
    from forecasting.config import AUTO
    from serving.export.forecast import export_forecaster

    forecaster = Forecaster.load(run_dir)
    described: dict[str, Any] | None = None
    if forecaster.config.model == AUTO:
        if network is None:
            return run_entries(run_dir, folder, forecaster)
        try:
            forecaster = forecaster.network(network)
        except ValueError as exc:
            raise FileError(f"--network {network}: {exc}") from None
        loss = (forecaster.model_.info or {}).get("best_val_loss")
        described = {
            "forecast": forecaster.config.to_dict(),
            "metrics": {} if loss is None else {"best_val_loss": loss},
        }
    elif network is not None:
        raise FileError(f"--network {network}: only an auto run holds several networks")
    if not forecaster.config.is_network:
        raise FileError(f"{run_dir}: a {forecaster.config.model} baseline has no network to export")
    entries = export_forecaster(forecaster, folder)
    return entries if described is None else {**entries, "described": described}


def run_entries(run_dir: Path, folder: Path, forecaster) -> dict[str, Any]:
    """The package entries of a whole ``auto`` run: the run's folder copied into the package
    (:mod:`serving.runtime.pytorch` forecasts with it) and checked by loading the copy, which
    verifies every file's sha256 against the run's manifest."""
    from forecasting import Forecaster

    auto = forecaster.model_
    manifest = read_manifest(run_dir)
    target = folder / RUN_FOLDER
    target.mkdir()
    for name in [*manifest["files"], MANIFEST]:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run_dir / name, target / name)
    Forecaster.load(target)
    spec = forecaster.spec
    vocab = {n: list(v) for n, v in auto.vocab.items()}
    known = [n for n in spec.known_categoricals if n in vocab]
    return {
        "model": {
            "runtime": RUNTIME,
            "file": f"{RUN_FOLDER}/{MANIFEST}",
            # The package's hashes leave manifests out: the run's is checked by this one.
            "sha256": sha256_file(target / MANIFEST),
            "inputs": [],
            "outputs": [],
        },
        "preprocessing": {
            "freq": spec.frequency,
            "spec": spec.to_dict(),
            "horizon": forecaster.config.horizon,
            "quantiles": list(forecaster.config.quantiles),
            "known_categoricals": known,
            "static_categoricals": [n for n in vocab if n not in known],
            "vocab": vocab,
        },
        # What a reader of the manifest wants to know before serving it.
        "routing": {
            "choice": dict(auto.choice),
            "fallback": auto.fallback,
            "overrides": [dict(o) for o in auto.overrides],
        },
    }


class _quiet:
    """The exporter's warnings and logs are about torch internals, not about the user's model."""

    def __enter__(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self._level = logging.getLogger("torch").level
        logging.getLogger("torch").setLevel(logging.ERROR)
        return self

    def __exit__(self, *exc):
        logging.getLogger("torch").setLevel(self._level)
        return self._warnings.__exit__(*exc)
