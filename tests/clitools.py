"""The command line as a user meets it: a real ``stockcast`` process, its exit code and stderr.

In-process calls of :func:`serving.cli.main` miss what only a process shows: a traceback printed
by the interpreter, argparse's usage block, warnings on stderr, files left when the process ends.
Each call starts Python and imports what the command needs (2-3 s with torch), so tests batch
their cases into few calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(args: list, cwd: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m serving.cli ARGS`` in ``cwd`` (the console script's entry point)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "serving.cli", *map(str, args)]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def tree(folder: str | Path) -> set[str]:
    """Every path under ``folder`` (hidden staging folders and temporary files included)."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def refused(args: list, cwd: str | Path, *named: str, prog: str = "stockcast") -> str:
    """Run the command in ``cwd``: exit 2, one stderr line ``<prog>: error: ...`` naming every
    string of ``named``, no traceback, and nothing added to or removed from ``cwd``. Returns the
    line."""
    before = tree(cwd)
    done = run_cli(args, cwd)
    err = done.stderr
    assert done.returncode == 2, f"exit {done.returncode}: {err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert err.startswith(f"{prog}: error: "), err
    for name in named:
        assert name in err, f"{name!r} not in {err!r}"
    after = tree(cwd)
    assert after == before, (
        f"left behind: {sorted(after - before)}, removed: {sorted(before - after)}"
    )
    return err.strip()
