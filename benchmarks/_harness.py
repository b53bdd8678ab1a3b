"""What the benchmark scripts share: isolated subprocess parts, peak RSS, atomic JSON."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def env_with_root() -> dict[str, str]:
    """This environment with the repository first on ``PYTHONPATH``, for a subprocess; the
    caller's own entries (packages installed to a side folder) stay behind it."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def run_part(script: str, name: str, flags: list[str]) -> dict:
    """Run ``script --part NAME FLAGS`` in a fresh interpreter, so the part's peak RSS is its
    own, and return the JSON it writes to ``--part-out``."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    command = [sys.executable, script, "--part", name, "--part-out", out, *flags]
    print(f"running {name} ...", flush=True)
    try:
        subprocess.run(command, check=True, cwd=ROOT, env=env_with_root())
        return json.loads(Path(out).read_text())
    finally:
        os.unlink(out)


def write_json(obj: dict, path: Path) -> None:
    """Write ``obj`` as indented JSON via a temporary file, never leaving a partial result."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)
