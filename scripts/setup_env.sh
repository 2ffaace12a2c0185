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
if ! .venv/bin/python -c "import evframes, numba, h5py, hdf5plugin, click, tqdm, matplotlib, lz4.frame, zstandard, scipy.io, isal, xxhash, pytest, xdist, hypothesis, distributed, importlinter" >/dev/null 2>&1 \
   || [ ! -x .venv/bin/ruff ] \
   || [ setup.cfg -nt .venv/.evframes-installed ]; then
  echo "installing evframes (editable) with its dependencies and test extras"
  .venv/bin/pip install -q -e ".[dev,dask]"
  touch .venv/.evframes-installed
fi
# Numba kernels compiled once here into Numba's cache (python -m evframes.warmup), so the first
# `evframes extract` / `integrate` / API call loads them instead of compiling; redone after a
# module changed. Same NUMBA_CACHE_DIR (if any) as the runs that should find them.
if [ ! -f .venv/.evframes-warm ] || [ -n "$(find evframes -name '*.py' -newer .venv/.evframes-warm -print -quit)" ]; then
  echo "compiling evframes' Numba kernels into the cache (once; about a minute)"
  if .venv/bin/python -m evframes.warmup; then
    touch .venv/.evframes-warm
  else
    echo "warm-up failed: kernels will compile on first use instead"
  fi
fi
