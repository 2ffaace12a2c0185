#!/usr/bin/env bash
# Set up the environment if needed, run the static checks (ruff, import-layer contracts), then
# the full test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
bash scripts/lint.sh
exec .venv/bin/python -m pytest "$@"
