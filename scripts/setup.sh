#!/usr/bin/env bash
# Creates .venv and installs stockcast with its test extra, from this project's own files.
# torch/torchvision are pinned to the builds this kind of machine keeps on disk so pip does not
# download a multi-GB CUDA wheel; the CUDA build also runs on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
# The CUDA build of torch unpacks to about 5.6 GB; pip's own failure on a full disk names no
# size, so say what is needed before it starts. --no-cache-dir keeps pip from storing a second
# copy of each wheel.
free_kb=$(df -Pk . | awk 'NR == 2 {print $4}')
if [ "${free_kb:-0}" -lt $((8 * 1024 * 1024)) ]; then
  echo "warning: $((free_kb / 1024 / 1024)) GB free in $(pwd); setup needs about 8 GB" >&2
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --no-cache-dir --upgrade pip
.venv/bin/python -m pip install --quiet --no-cache-dir torch==2.14.1 torchvision==0.29.1
.venv/bin/python -m pip install --quiet --no-cache-dir -e ".[test]"
echo "stockcast installed in $(pwd)/.venv"
