#!/usr/bin/env bash
# Set up the environment if needed, then run the main job on the embedded demo dataset:
# a generated DVS128 Gesture replica -> events store -> frames -> GIF/PNG -> DataLoader.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
exec .venv/bin/evframes demo "$@"
