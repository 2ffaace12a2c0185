"""This machine's ceilings, measured now: what no implementation on it can beat.

One core unless stated, best of ``--repeat`` after a warm-up, wall clock:

- memory read: one Numba loop summing a 256 MB int64 array (GB/s);
- memory copy: ``np.copyto`` of 256 MB into an allocated array (GB/s, read + write counted once);
- scatter: ``np.bincount`` over 1 M precomputed flat indices into a [2, 128, 128] image (the
  ceiling of ``bench_integrate.py``; M events/s);
- inflate: ``zlib.decompress`` of 64 MB of gzip-compressed AEDAT-like event records (MB/s of
  output; the serial floor of extracting a ``.tar.gz``);
- DataLoader: ``torch.utils.data.DataLoader(batch_size=16, num_workers=2)`` over a dataset
  returning one constant float32 ``[20, 2, 128, 128]`` tensor, no I/O (samples/s; the ceiling
  of ``bench_dataloader.py``).

``benchmarks/run_all.sh`` runs it before and after the benchmarks (``--label``) and appends
both to ``results_machine.md``.

    .venv-bench/bin/python benchmarks/machine_ceilings.py --label start
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from numba import njit  # noqa: E402


@njit(nogil=True, cache=False)
def _read(a):
    s = 0
    for i in range(a.shape[0]):
        s += a[i]
    return s


def best(fn, repeat):
    fn()
    out = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


class _Const:
    """A dataset of one constant float32 [20, 2, 128, 128] tensor (no I/O)."""

    def __init__(self, n):
        import torch
        self.n = n
        self.x = torch.ones(20, 2, 128, 128)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.x, 0


def dataloader_rate(samples=640):
    import torch
    dl = torch.utils.data.DataLoader(_Const(samples), batch_size=16, num_workers=2)
    for _ in dl:  # warm-up epoch (worker start-up)
        pass
    t0 = time.perf_counter()
    for _ in dl:
        pass
    return samples / (time.perf_counter() - t0)


def memory_rates(repeat):
    """(read, copy) GB/s over a 256 MB int64 array."""
    a = np.arange(32 * 2 ** 20, dtype=np.int64)
    b = np.empty_like(a)
    return (a.nbytes / best(lambda: _read(a), repeat) / 1e9,
            a.nbytes / best(lambda: np.copyto(b, a), repeat) / 1e9)


def measure(repeat):
    rows = []
    read, copy = memory_rates(repeat)
    rows.append(("memory read (256 MB), 1 core", f"{read:.1f}", "GB/s"))
    rows.append(("memory copy (256 MB), 1 core", f"{copy:.1f}", "GB/s"))
    rng = np.random.default_rng(0)
    flat = rng.integers(0, 2 * 128 * 128, 1_000_000).astype(np.intp)
    sec = best(lambda: np.bincount(flat, minlength=2 * 128 * 128), repeat)
    rows.append(("np.bincount, 1 M indices, [2,128,128]", f"{1 / sec:.0f}", "M events/s"))
    rec = np.zeros(8 * 2 ** 20, [("a", "<u4"), ("t", "<u4")])  # 64 MB of AEDAT-like records
    rec["t"] = np.cumsum(rng.integers(0, 50, rec.size), dtype=np.uint32)
    rec["a"] = rng.integers(0, 2 ** 17, rec.size).astype(np.uint32) << 1
    raw = rec.tobytes()
    comp = zlib.compress(raw, 6)
    sec = best(lambda: zlib.decompress(comp), max(1, repeat // 2))
    rows.append(("zlib inflate, 1 core (ratio %.2f)" % (len(comp) / len(raw)),
                 f"{len(raw) / sec / 1e6:.0f}", "MB/s out"))
    try:
        rows.append(("DataLoader no I/O, batch 16, 2 workers, float32 [20,2,128,128]",
                     f"{dataloader_rate():.0f}", "samples/s"))
    except Exception as e:  # pragma: no cover - torch missing
        rows.append(("DataLoader no I/O", f"n/a ({type(e).__name__})", ""))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--label", default="now", help="column name (start / end of a run)")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    rows = measure(args.repeat)
    load1 = os.getloadavg()[0]
    print(f"## Ceilings, {args.label} ({time.strftime('%Y-%m-%d %H:%M')})\n")
    print(f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), Python "
          f"{platform.python_version()}, NumPy {np.__version__}; load average {load0:.2f} "
          f"before, {load1:.2f} after.\n")
    print("| ceiling | value | unit |")
    print("|---|---:|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    print()


if __name__ == "__main__":
    main()
