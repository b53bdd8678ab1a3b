"""``stockcast serve``: the inference service over a model repository (see serving.service)."""

from __future__ import annotations

import argparse
from pathlib import Path

from serving.cli._options import add_settings, given
from serving.service.config import ServiceConfig, read_token


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    serve = subparsers.add_parser(
        "serve", help="serve forecasts, plans and inspection verdicts over HTTP"
    )
    serve.add_argument("--repo", required=True, type=Path, help="model repository folder")
    add_settings(serve, ServiceConfig)
    serve.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    """Serve the model repository ``--repo`` with uvicorn until stopped; the token file and the
    folder are checked first. Returns the exit status, 0."""
    import dataclasses
    import json
    import os

    import uvicorn

    from kernels.io import FileError

    config = ServiceConfig(**given(args, ServiceConfig))
    if not args.repo.is_dir():
        raise FileError(f"--repo {args.repo}: no such folder")
    read_token(config.token_file)  # refused here, not in each worker (uvicorn restarts them)
    if config.workers > 1:
        # Absolute for the workers, but not resolved: a repository reached through a link
        # (a release switched with `ln -sfn`) is followed at every scan, as one worker does.
        os.environ["STOCKCAST_REPO"] = str(args.repo.absolute())
        os.environ["STOCKCAST_SERVICE_CONFIG"] = json.dumps(dataclasses.asdict(config))
        uvicorn.run(
            "serving.service.app:factory",
            factory=True,
            host=config.host,
            port=config.port,
            workers=config.workers,
            log_level="warning",
        )
        return 0
    from serving.service.app import create_app

    app = create_app(args.repo, config)
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning")
    return 0
