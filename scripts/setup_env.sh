#!/usr/bin/env bash
# Create ./.venv (if missing) with evframes installed editable plus its test tools.
# torch==2.13.0 (CPU build) goes in first when torch is absent: a bare `torch` requirement
# would otherwise pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "installing torch==2.13.0 (CPU)"
  .venv/bin/pip install -q torch==2.13.0
fi
if ! .venv/bin/python -c "import evframes, numba, h5py, hdf5plugin, click, tqdm, matplotlib, lz4.frame, zstandard, scipy.io, pytest, hypothesis, distributed, importlinter" >/dev/null 2>&1 \
   || [ ! -x .venv/bin/ruff ] \
   || [ setup.cfg -nt .venv/.evframes-installed ]; then
  echo "installing evframes (editable) with its dependencies and test extras"
  .venv/bin/pip install -q -e ".[dev,dask]"
  touch .venv/.evframes-installed
fi
