"""Settings of the inference service (torch-free; `stockcast serve` derives its flags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kernels.settings import check_settings, setting


@dataclass
class ServiceConfig:
    """How the service listens, batches, queues and limits requests."""

    host: str = setting("127.0.0.1", "address to listen on (0.0.0.0: every interface)")
    port: int = setting(8000, "port", min=1, max=65535)
    workers: int = setting(1, "server processes (each loads every model)", min=1)
    max_batch: int = setting(64, "most windows or items run as one batch", min=1)
    batch_wait_ms: float = setting(5.0, "how long a batch waits for more requests", min=0)
    queue_size: int = setting(256, "requests per model in flight before 503", min=1)
    timeout_s: float = setting(30.0, "seconds a request may take before 504", min=0, open_min=True)
    max_body_mb: float = setting(
        16.0, "largest request body in MiB (413 above)", min=0, open_min=True
    )
    max_series: int = setting(10_000, "most series in one forecast or plan request", min=1)
    max_pixels: int = setting(4096 * 4096, "most pixels in one uploaded image", min=1)
    token_file: str | None = setting(None, "file holding the bearer token clients must send")
    cors_origins: tuple[str, ...] = setting((), "origins allowed by CORS (none: CORS off)")
    workspace: str | None = setting(None, "a demo results folder for the forecast page")
    review_db: str | None = setting(
        None, "review queue database: a path or sqlite:///path (default: the workspace's)"
    )
    reload_s: float = setting(
        2.0, "seconds between scans of the repository for new versions", min=0, open_min=True
    )

    def __post_init__(self) -> None:
        self.cors_origins = tuple(self.cors_origins)
        check_settings(self)

    @property
    def max_body_bytes(self) -> int:
        """``max_body_mb`` in bytes (MiB: 2**20 bytes each)."""
        return int(self.max_body_mb * 2**20)


def read_token(path: str | None) -> str | None:
    """The bearer token in ``path`` (surrounding whitespace, a trailing newline, dropped)."""
    if path is None:
        return None
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise ValueError(f"--token-file {path}: {exc.strerror}") from None
    if not token:
        raise ValueError(f"--token-file {path}: the file is empty")
    if not (token.isascii() and token.isprintable()):  # no client could send it: 401 for all
        raise ValueError(
            f"--token-file {path}: the token must be printable ASCII (an HTTP header carries "
            "no other characters)"
        )
    return token
