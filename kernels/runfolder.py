"""Run folders: built whole or not at all, one writer at a time, checked on load.

Every saved model (a forecasting run, an inspection run, a model package) is a folder with a
``manifest.json`` written last: format version, task, config, data fingerprint, metrics, library
versions and the sha256 of every other file in the folder. :func:`read_manifest` refuses a folder
without one (an interrupted run leaves none), of another task, or whose files do not match.

:func:`building` stages a folder under a temporary name beside its target and renames it into
place only when the block succeeds; a failure or Ctrl-C removes it. A lock (an ``flock`` the
kernel releases when its holder ends, killed or not) refuses a second writer to the same
target, and an existing target is refused unless ``overwrite`` replaces it whole. It lives in
``kernels`` (torch-free) so the service can check packages without torch.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import os
import platform
import shutil
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from importlib import metadata
from pathlib import Path
from typing import Any

from .io import FileError, check_writable, read_json, sha256_file, write_json

MANIFEST = "manifest.json"
FORMAT = "stockcast.run/1"
PACKAGE_FORMAT = "stockcast.package/2"  # an exported model package (ONNX), see serving.package
# Packages this code reads. /2 (2026-12-06): a package's real covariates are z-scored with the
# series' history alone and its static reals with the training table's ``static_stats``, which a
# reader of /1 ignores (it z-scored a one-series request's static reals to 0): a /2 package is
# refused by such a service, naming the format, instead of read as a /1 one.
PACKAGE_FORMATS = ("stockcast.package/1", PACKAGE_FORMAT)
_LIBRARIES = ("stockcast", "torch", "torchvision", "lightning", "numpy", "pandas", "numba")


def library_versions(extra: Sequence[str] = ()) -> dict[str, str]:
    """Versions of Python and of the installed libraries a run depends on, and of ``extra``
    ones (a benchmark's peer), nothing imported; a library not installed is left out."""
    versions = {"python": platform.python_version()}
    for name in (*_LIBRARIES, *extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def file_hashes(folder: str | Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` except the manifest, by POSIX relative path.

    The temporary files of :func:`kernels.io.atomic_path` (``.<name>.<random>.tmp``) are left
    out: another process writing one in the folder (a second ``update_manifest``) renames it
    away a moment later, and a manifest listing it made the run unloadable (or the hashing
    failed on a file gone)."""
    folder = Path(folder)
    return {
        path.relative_to(folder).as_posix(): sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST and not _temporary(path.name)
    }


def _temporary(name: str) -> bool:
    """Whether ``name`` is that of a file :func:`kernels.io.atomic_path` is writing."""
    return name.startswith(".") and name.endswith(".tmp")


def write_manifest(
    folder: str | Path,
    task: str,
    *,
    config: dict[str, Any],
    data_fingerprint: str | None = None,
    metrics: dict[str, Any] | None = None,
    format: str = FORMAT,
    libraries: Sequence[str] = (),
    **extra: Any,
) -> dict[str, Any]:
    """Hash every file in ``folder`` and write its manifest (last, atomically); return it.
    ``libraries``: versions to record beyond the training stack's (a package's onnxruntime)."""
    manifest = {
        "format": format,
        "task": task,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "data_fingerprint": data_fingerprint,
        "metrics": metrics or {},
        **extra,
        "versions": library_versions(extra=libraries),
        "files": file_hashes(folder),
    }
    write_json(manifest, Path(folder) / MANIFEST)
    return manifest


def read_manifest(
    folder: str | Path,
    task: str | None = None,
    verify: bool = True,
    format: str | tuple[str, ...] = FORMAT,
) -> dict:
    """The manifest of a complete run folder of ``task``, every file's sha256 checked.

    Raises :class:`FileError` naming the folder or the file: no such folder, no manifest (not a
    run, or one that never finished), another format or task, a listed file missing or changed.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileError(f"{folder}: no such run folder")
    if not folder.is_dir():
        raise FileError(f"{folder}: is a file, expected a run folder")
    path = folder / MANIFEST
    if not path.is_file():
        raise FileError(
            f"{folder}: not a complete run folder (no {MANIFEST}; an interrupted or failed run "
            f"leaves none)"
        )
    manifest = read_json(path)
    formats = (format,) if isinstance(format, str) else tuple(format)
    if not isinstance(manifest, dict) or manifest.get("format") not in formats:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        hint = {
            # Not every command that reads one takes the other (interpret, calibrate, export
            # have no --package; serve no --run): say which do.
            **dict.fromkeys(
                PACKAGE_FORMATS,
                " (a model package: `forecast predict` and `inspect score` read it with "
                "--package; the other commands need the training run it was exported from)",
            ),
            FORMAT: " (a training run: export it first (`stockcast export`); `forecast predict` "
            "and `inspect score` also read a run with --run)",
        }.get(str(found), "")
        raise FileError(f"{path}: format {found!r}, expected {formats[-1]!r}{hint}")
    if task is not None and manifest.get("task") != task:
        raise FileError(f"{folder}: {_a(manifest.get('task'))} run, not {_a(task)} run")
    # Entries every loader reads: malformed ones are named here, not met as a KeyError later.
    manifest_entry(manifest, folder, "config")
    files = manifest_entry(manifest, folder, "files")
    if verify:
        for name, expected in files.items():
            file = folder / name
            if not file.is_file():
                raise FileError(f"{file}: missing (the manifest lists it)")
            if sha256_file(file) != expected:
                raise FileError(
                    f"{file}: sha256 does not match the manifest; the file was changed after "
                    f"the run was written"
                )
    return manifest


def check_unchanged(folder: str | Path, read: Mapping[str, Any]) -> None:
    """A :class:`FileError` unless ``folder`` still holds the files of the run whose verified
    manifest was ``read``: to be called after a loader has read the files it needs.

    A loader reads a run's files by name after :func:`read_manifest` checked them: a run
    published in its place meanwhile (``forecast train --out RUN --overwrite``) gave the new
    run's weights with the old one's settings, a model neither run is, loaded without a word.
    A replacement only moves forward, so files read from another run mean other files now."""
    try:
        now = read_manifest(folder, verify=False, format=str(read.get("format")))
    except FileError:  # gone, or caught between the renames of a replacement
        now = None
    if now is None or now.get("files") != read.get("files"):
        raise FileError(
            f"{folder}: the run was replaced while it was loaded (its files changed); load it again"
        )


def _article(word: str) -> str:
    """``an`` before a vowel, else ``a``."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _a(value: Any) -> str:
    """``an 'inspection'``, ``a 'forecast'``."""
    return f"{_article(str(value))} {value!r}"


_TYPE_NAMES = {dict: "a mapping", list: "a list", str: "a string", type(None): "null"}


def _kind(of: type) -> str:
    """``a mapping``, ``a string``, ``an int``."""
    return _TYPE_NAMES.get(of) or f"{_article(of.__name__)} {of.__name__}"


def manifest_entry(
    manifest: Mapping[str, Any], folder: str | Path, name: str, kind: type | None = dict
) -> Any:
    """The entry ``name`` (dotted: ``config.spec``) of a run's manifest, of type ``kind``
    (``None``: any). Raises :class:`FileError` naming ``<folder>/manifest.json`` and the entry
    when it is missing or of another type (a manifest edited by hand, or of another version)."""
    path = Path(folder) / MANIFEST
    value: Any = manifest
    for depth, key in enumerate(name.split(".")):
        if not isinstance(value, Mapping):
            parent = ".".join(name.split(".")[:depth])
            raise FileError(f"{path}: entry {parent!r} is {_kind(type(value))}, expected a mapping")
        if key not in value:
            raise FileError(f"{path}: no entry {'.'.join(name.split('.')[: depth + 1])!r}")
        value = value[key]
    if kind is not None and not isinstance(value, kind):
        raise FileError(f"{path}: entry {name!r} is {_kind(type(value))}, expected {_kind(kind)}")
    return value


@contextmanager
def reading_entry(folder: str | Path, name: str) -> Iterator[None]:
    """Turn a failure to rebuild an object from the manifest entry ``name`` (a missing key, a
    value of the wrong type or range) into a :class:`FileError` naming the manifest and the
    entry; a :class:`FileError` raised inside (weights naming their file) passes unchanged."""
    try:
        yield
    except FileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else f"{exc}"
        raise FileError(
            f"{Path(folder) / MANIFEST}: entry {name!r} not readable ({type(exc).__name__}: "
            f"{' '.join(what.split())})"
        ) from None


def update_manifest(
    folder: str | Path, *, expected: Mapping[str, str] | None = None, **changes: Any
) -> dict[str, Any]:
    """Replace top-level entries of a verified run manifest; its files stay the ones listed.

    ``expected``: the files (name -> sha256) of the run the changes were made for. A folder
    that holds other files now (another run published under its name meanwhile) is refused:
    entries made for one network (thresholds) must not be written into another's manifest. The
    folder's lock is held while it is read and written, as a writer of a whole folder holds it.
    """
    folder = Path(folder)
    _, lock = _staging(folder)
    try:
        held: int | None = _acquire(lock, folder)
    except PermissionError:  # a parent folder this user may not write in: the files check alone
        held = None
    try:
        manifest = read_manifest(folder)
        if expected is not None and manifest["files"] != dict(expected):
            raise FileError(
                f"{folder}: the run was replaced since it was read (its files changed); its "
                "manifest is left as it is"
            )
        # The run's files stay the ones listed (and checked above): others put in the folder
        # since (a scores table written inside it) are not the run's, and listing them made
        # the run unloadable once they were replaced or removed.
        manifest.update(changes)
        write_json(manifest, folder / MANIFEST)
        return manifest
    finally:
        if held is not None:
            with suppress(OSError):
                lock.unlink(missing_ok=True)
            os.close(held)


def is_main_process() -> bool:
    """False in the worker processes a DDP launcher starts (they share the main one's folder)."""
    ranks = ("RANK", "LOCAL_RANK", "NODE_RANK")
    return all(int(os.environ.get(name, "0") or 0) == 0 for name in ranks)


def _staging(target: Path) -> tuple[Path, Path]:
    return target.parent / f".{target.name}.partial", target.parent / f".{target.name}.lock"


def _published_name(name: str) -> str | None:
    """The target's name of a staging folder named by :func:`_staging`, else None."""
    if name.startswith(".") and name.endswith(".partial"):
        return name[1 : -len(".partial")]
    return None


def published_path(path: str | Path) -> Path:
    """Where ``path`` will be once every staging folder of :func:`building` on it is published
    (``a/.b.partial/c`` -> ``a/b/c``): what a manifest should record, the staging name being
    gone by the time anyone reads it."""
    return Path(*(_published_name(part) or part for part in Path(path).parts))


def interrupted_folder(folder: str | Path) -> Path | None:
    """Where a run interrupted while staged in ``folder`` keeps its checkpoint to resume from:
    ``<target>.interrupted`` beside the target of the staging folder :func:`building` gave (the
    staging folder itself is removed); None for any other folder, which keeps its own files."""
    folder = Path(folder)
    target = _published_name(folder.name)
    return None if target is None else folder.parent / f"{target}.interrupted"


_NO_FLOCK = {errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL}
"""flock errors of a file system that does not support it (not: held by another process)."""


def _acquire(lock: Path, target: Path) -> int:
    """Hold an exclusive ``flock`` on the file ``lock`` (holding this process's pid, for the
    message a second writer gets) and return its descriptor, or raise :class:`FileError`.

    The kernel releases the lock when its holder ends, killed with -9 or not: a lock file left
    behind is free whatever pid it names. A pid read from the file told this apart wrongly: a
    rerun in a fresh container often gets the killed writer's pid (refused forever), and two
    writers that both found a lock stale could each remove the other's and both write."""
    while True:
        fd = _open_lock(lock)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise FileError(
                f"{target}: another stockcast process (pid {holder}) is writing this run folder"
            ) from None
        except OSError as exc:
            if exc.errno not in _NO_FLOCK:
                os.close(fd)
                raise
            # A file system without flock (NFS without its lock daemon: ENOLCK; Lustre mounted
            # without flock: ENOSYS) wrote run folders before the lock was an flock: it still
            # does, unguarded against a second writer, rather than failing every run there.
            warnings.warn(
                f"{target}: the file system does not lock files ({os.strerror(exc.errno)}): "
                "a second writer to this folder is not refused",
                RuntimeWarning,
                stacklevel=4,
            )
        except BaseException:
            os.close(fd)
            raise
        # The holder before may have removed the file before this lock was taken: a lock on a
        # removed file guards nothing; take the one at the path now.
        try:
            try:
                same = os.path.samestat(os.stat(lock), os.fstat(fd))
            except FileNotFoundError:
                same = False
            if same:
                # The pid is only for a second writer's message: a full disk fails the run
                # later, not here with the descriptor (and the lock) left open; another user's
                # lock file is held read-only.
                if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_RDONLY:
                    with suppress(OSError):
                        os.ftruncate(fd, 0)
                        os.write(fd, str(os.getpid()).encode())
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _open_lock(lock: Path) -> int:
    """A descriptor of the lock file, created if missing; read-only when it is another user's
    that this one may not write (left by their writer, killed: a finished one removes it).
    ``flock`` takes a read-only descriptor: such a file is free when no writer holds it."""
    try:
        return os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
    except PermissionError as exc:
        try:
            return os.open(lock, os.O_RDONLY)
        except FileNotFoundError:
            raise exc from None
        except PermissionError:
            raise FileError(
                f"{lock}: the lock file of another user's writer, not readable by this one; "
                "when no other process writes this run folder, remove the file"
            ) from None


def _refuse_existing(target: Path, overwrite: bool) -> None:
    """An error for a ``target`` that exists and is not an empty folder, unless ``overwrite``."""
    if target.exists() and not overwrite and (not target.is_dir() or any(target.iterdir())):
        raise FileError(f"{target}: exists; choose a new folder or overwrite it (--overwrite)")


@contextmanager
def building(target: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a staging folder that becomes ``target`` when the block succeeds.

    An existing ``target`` is an error unless ``overwrite`` (then it is replaced whole, never
    mixed with the new files); a second writer is refused while the first holds the lock; on
    any failure, Ctrl-C included, the staging folder and the lock are removed and ``target`` is
    left as it was (an interrupted training run keeps a checkpoint in the sibling
    :func:`interrupted_folder`, removed when the target is published). DDP worker processes
    get the main process's staging folder and leave the publishing to it.
    """
    target = Path(target)
    if target.name in ("", ".."):
        # ``.``, ``..`` or ``/`` cannot be renamed onto: the whole run was built, then failed
        # with EBUSY at publishing (its staging folder and lock inside the target itself).
        raise FileError(
            f"{target}: not a folder name a run can be written to; name a new folder instead"
        )
    staging, lock = _staging(target)
    if not is_main_process():
        staging.mkdir(parents=True, exist_ok=True)
        yield staging
        return
    check_writable(target, folder=True)
    _refuse_existing(target, overwrite)
    # The folders created for the target are removed again when it is not published (a failed
    # command leaves nothing behind), unless something else was put in them meanwhile.
    created = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    published = False
    try:
        held = _acquire(lock, target)
    except BaseException:
        _remove_empty(created)
        raise
    try:
        # A writer killed (-9, power loss) between the two renames below left the run it was
        # replacing as ``.<name>.replaced`` and no target: a rerun without --overwrite then
        # published over the gap and the old run stayed hidden. It is put back first, so the
        # target is the old one, as after any other interrupted writer.
        _restore_replaced(target)
        # Checked again under the lock: a writer that held it may have published ``target``
        # after the check above, and it would be replaced below as if ``overwrite`` were given.
        _refuse_existing(target, overwrite)
        shutil.rmtree(staging, ignore_errors=True)  # left by a process that was killed
        if staging.exists():
            raise FileError(
                f"{staging}: left by a writer that was killed, and this user may not remove "
                "it (another user's); remove it, or choose a new folder"
            )
        staging.mkdir()
        yield staging
        if target.exists():
            old = target.parent / f".{target.name}.replaced"
            _discard(old)
            os.replace(target, old)
            try:
                os.replace(staging, target)
            except BaseException:
                # Not published (a full disk, Ctrl-C between the renames): the replaced folder
                # goes back, as a failed command leaves the target as it was.
                if not target.exists():
                    os.replace(old, target)
                raise
            _discard(old)
        else:
            os.replace(staging, target)
        published = True
        # A checkpoint an earlier interrupted run left for this target is stale now.
        shutil.rmtree(target.parent / f"{target.name}.interrupted", ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        # Removed while held: a writer waiting on it takes anew. Another user's lock file in a
        # folder with the sticky bit stays: it is free once closed.
        with suppress(OSError):
            lock.unlink(missing_ok=True)
        os.close(held)
        if not published:
            _remove_empty(created)


def _restore_replaced(target: Path) -> None:
    """Under the target's lock: the folder a killed writer moved aside (``.<name>.replaced``)
    goes back to ``target`` when nothing took its place; beside a published target it is the
    leftover of a writer killed after publishing, and removed."""
    old = target.parent / f".{target.name}.replaced"
    if not old.is_dir():
        return
    if target.exists():
        _discard(old)
    else:
        os.replace(old, target)


def _discard(path: Path) -> None:
    """Remove the folder a writer moved aside, or the symbolic link it was: a target reached
    through a link (``runs/current`` -> ``runs/v1``) is replaced as a link, the run it points
    to untouched. ``rmtree`` refuses a link: left behind, every later overwrite of the target
    failed renaming a folder onto it."""
    if path.is_symlink():
        with suppress(OSError):
            path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


@contextmanager
def writer_lock(table: Path) -> Iterator[None]:
    """Hold the lock a run folder's writer takes (``.<name>.lock`` beside it, see
    :func:`building`) on ``table``, an output published by other means: a second writer is
    refused while the first writes. Missing parent folders are created, and removed again
    while empty."""
    created = [p for p in (table.parent, *table.parent.parents) if not p.exists()]
    table.parent.mkdir(parents=True, exist_ok=True)
    _, lock = _staging(table)
    try:
        held = _acquire(lock, table)
    except BaseException:
        _remove_empty(created)
        raise
    try:
        yield
    finally:
        with suppress(OSError):
            lock.unlink(missing_ok=True)
        os.close(held)
        _remove_empty(created)
