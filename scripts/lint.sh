#!/usr/bin/env bash
# Static checks run in CI before the tests: ruff (config in pyproject.toml [tool.ruff]) and the
# import-layer contracts (.importlinter). Both tools come with the dev extra (scripts/setup_env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check evframes tests benchmarks scripts
.venv/bin/lint-imports
