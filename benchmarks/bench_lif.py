"""Multi-step LIF forward+backward throughput on the CPU.

Compares evframes' ``LIFNode`` backends ``torch`` (autograd reference) and ``cpu`` (fused
Numba kernels) with SpikingJelly's ``neuron.LIFNode(tau=2., surrogate_function=ATan(),
detach_reset=True, step_mode='m')`` when SpikingJelly is importable.  Every candidate runs
the same input ``[T, N]`` float32 (mean 0.6, std 1.5) and the same upstream gradient; the
spikes must be identical and the input gradients equal up to float32 rounding.

After ``--warmup`` rounds, ``--repeats`` rounds run the candidates one after the other in
a rotating order (so background load hits all alike); reported times are medians.
Throughput = T * N neuron-steps / (forward + backward seconds).

    python benchmarks/bench_lif.py --markdown > benchmarks/results_lif.md
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from evframes.train.neuron import LIFNode  # noqa: E402


def make_candidates(include_sj: bool):
    cands = {}
    for backend in ("torch", "cpu"):
        node = LIFNode(tau=2.0, detach_reset=True, backend=backend)
        cands[f"evframes {backend}"] = node
    sj_info = None
    if include_sj:
        try:
            import spikingjelly
            from spikingjelly.activation_based import neuron, surrogate
        except Exception as exc:  # noqa: BLE001
            sj_info = f"not importable ({exc.__class__.__name__}: {exc})"
        else:
            sj = neuron.LIFNode(tau=2., surrogate_function=surrogate.ATan(),
                                detach_reset=True, step_mode="m")

            def run_sj(x, sj=sj):
                sj.reset()
                return sj(x)

            cands["SpikingJelly LIFNode"] = run_sj
            sj_info = getattr(spikingjelly, "__version__", None)
            if sj_info is None:
                try:
                    from importlib.metadata import version
                    sj_info = version("spikingjelly")
                except Exception:  # noqa: BLE001
                    sj_info = "unknown version"
    return cands, sj_info


def run_once(fn, x0, grad):
    x = x0.detach().requires_grad_(True)
    t0 = time.perf_counter()
    s = fn(x)
    t1 = time.perf_counter()
    s.backward(grad)
    t2 = time.perf_counter()
    return s.detach(), x.grad, t1 - t0, t2 - t1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=16)
    ap.add_argument("--neurons", type=int, default=524288)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-sj", action="store_true", help="skip SpikingJelly")
    ap.add_argument("--markdown", action="store_true", help="print a markdown report")
    args = ap.parse_args(argv)

    T, N = args.T, args.neurons
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(T, N, generator=g) * 1.5 + 0.6
    grad = torch.randn(T, N, generator=g)
    cands, sj_info = make_candidates(not args.no_sj)
    names = list(cands)

    # correctness: everything against the evframes torch reference
    ref_s, ref_g, _, _ = run_once(cands["evframes torch"], x0, grad)
    checks = {}
    for name in names:
        s, gx, _, _ = run_once(cands[name], x0, grad)
        same = torch.equal(s, ref_s)
        rel = ((gx - ref_g).abs().max() / ref_g.abs().max()).item()
        checks[name] = (same, rel)
        if not same or rel > 1e-5:
            print(f"MISMATCH {name}: spikes equal={same}, grad max rel diff={rel:.3g}",
                  file=sys.stderr)
            return 1

    for _ in range(args.warmup):
        for name in names:
            run_once(cands[name], x0, grad)
    fwd = {n: [] for n in names}
    bwd = {n: [] for n in names}
    for r in range(args.repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            _, _, tf, tb = run_once(cands[name], x0, grad)
            fwd[name].append(tf)
            bwd[name].append(tb)

    rows = []
    for name in names:
        f_ms = statistics.median(fwd[name]) * 1e3
        b_ms = statistics.median(bwd[name]) * 1e3
        tot = statistics.median([a + b for a, b in zip(fwd[name], bwd[name])]) * 1e3
        rows.append((name, f_ms, b_ms, tot, T * N / (tot / 1e3)))
    base = {r[0]: r[3] for r in rows}.get("SpikingJelly LIFNode")

    try:
        import numba

        from evframes.train import _lif_cpu  # noqa: F401
        numba_info = f"{numba.__version__} (threading layer {numba.threading_layer()}, " \
                     f"{numba.get_num_threads()} threads)"
    except Exception as exc:  # noqa: BLE001
        numba_info = repr(exc)
    env = [
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores",
        f"python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), numpy {np.__version__}, numba {numba_info}",
        f"SpikingJelly: {sj_info if sj_info else 'skipped'}",
        f"T={T}, N={N} neurons, float32, tau=2, v_th=1, hard reset to 0, detach_reset=True, "
        f"ATan(alpha=2); median of {args.repeats} rotating rounds after {args.warmup} warm-up",
    ]
    if args.markdown:
        print("# LIF forward+backward throughput (CPU)\n")
        print("Command: `.venv-bench/bin/python benchmarks/bench_lif.py --markdown`\n")
        for line in env:
            print(f"- {line}")
        print()
        print("| implementation | forward ms | backward ms | fwd+bwd ms | "
              "neuron-steps/s | vs SpikingJelly | spikes identical | grad max rel diff |")
        print("|---|---:|---:|---:|---:|---:|---|---:|")
        for name, f_ms, b_ms, tot, rate in rows:
            speed = f"{base / tot:.2f}x" if base else "n/a"
            same, rel = checks[name]
            print(f"| {name} | {f_ms:.1f} | {b_ms:.1f} | {tot:.1f} | {rate / 1e6:.0f} M | "
                  f"{speed} | {'yes' if same else 'NO'} | {rel:.1e} |")
        print("\nSpikes and input gradients are compared with the evframes torch reference "
              "on the benchmark input before timing.  `evframes torch` is the autograd "
              "reference (Python loop over T); `evframes cpu` the fused Numba kernels "
              "(forward saves only the input, backward recomputes h per cache-sized block "
              "of neurons).  SpikingJelly 2.x on the CPU runs its registered `sj_lif` "
              "operator (torch ops per time step, hand-written backward over saved h).")
    else:
        for line in env:
            print(line)
        for name, f_ms, b_ms, tot, rate in rows:
            speed = f"  {base / tot:.2f}x vs SJ" if base else ""
            print(f"{name:24s} fwd {f_ms:8.1f} ms  bwd {b_ms:8.1f} ms  total {tot:8.1f} ms  "
                  f"{rate / 1e6:8.0f} M neuron-steps/s{speed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
