#!/usr/bin/env bash
# The project's test command (the one .ci/run calls): ruff, then the default (not slow) tests.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || ./setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
