#!/usr/bin/env bash
# Create .venv and install motionmag with its dev and onnx extras (CPU torch where there is no GPU).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# constraints.txt pins torch to the CPU build that is on our machines' disk.
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev,onnx]"
echo "motionmag installed in .venv: try .venv/bin/motionmag demo"
