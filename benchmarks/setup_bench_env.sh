#!/usr/bin/env bash
# A separate environment for the peers (SpikingJelly, Tonic), kept out of the test install.
# SpikingJelly's datasets import torchvision; PyPI's torchvision needs the matching torch, so this
# venv takes torch 2.14.1 + torchvision 0.29.1 (x86_64) instead of the project's 2.13.0.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
.venv-bench/bin/pip install -q torch==2.14.1 torchvision==0.29.1
.venv-bench/bin/pip install -q spikingjelly tonic
# AEDAT 4 peers (bench_formats.py, tests/test_formats_aedat4_peer.py)
.venv-bench/bin/pip install -q aedat faery dv-processing evlib
# Prophesee peers (bench_formats.py, tests/test_formats_prophesee_peer.py); faery and evlib above
.venv-bench/bin/pip install -q expelliarmus
.venv-bench/bin/pip install -q -e .
echo "run e.g.: .venv-bench/bin/python benchmarks/bench_integrate.py --markdown"
