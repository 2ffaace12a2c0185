#!/usr/bin/env bash
# Set up the environment if needed, then run the full test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
exec .venv/bin/python -m pytest "$@"
