#!/usr/bin/env bash
# Creates .venv and installs stockcast with its test extra, from this project's own files.
# torch/torchvision are pinned to the builds this kind of machine keeps on disk so pip does not
# download a multi-GB CUDA wheel; the CUDA build also runs on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
.venv/bin/python -m pip install --quiet -e ".[test]"
echo "stockcast installed in $(pwd)/.venv"
