"""Multi-step LIF forward+backward throughput on a CUDA GPU.

Candidates: evframes ``LIFNode`` with ``backend='cupy'`` (lif_kernel.cu through
cupy.RawModule) and ``backend='torch'`` (autograd reference), and SpikingJelly's
``LIFNode(tau=2., surrogate_function=ATan(), detach_reset=True, step_mode='m')`` on its
CUDA path (``backend='cupy'`` on SpikingJelly < 2, the automatically selected CUDA kernel
on 2.x).  Outputs are checked first against the evframes torch reference run in float32 on
the same inputs (the cupy kernels compute in float32 for every storage type, so for
float16/bfloat16 the spikes must still be equal; torch and SpikingJelly in 16-bit
arithmetic may differ).  Timing uses CUDA events, medians over rotating rounds.  For the
pass/fail acceptance check of the cupy backend see ``gpu_check.py``.

Exits with status 2 and a message when no GPU or no CuPy is available.

    python benchmarks/bench_lif_gpu.py --markdown > benchmarks/results_lif_gpu.md
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from evframes.train._lif_cupy import cupy_available  # noqa: E402
from evframes.train.neuron import LIFNode  # noqa: E402


def _sj_candidate():
    try:
        import spikingjelly  # noqa: F401
        from spikingjelly.activation_based import neuron, surrogate
    except Exception as exc:  # noqa: BLE001
        return None, f"not importable ({exc.__class__.__name__})"
    kw = dict(tau=2., surrogate_function=surrogate.ATan(), detach_reset=True, step_mode="m")
    try:
        node, how = neuron.LIFNode(backend="cupy", **kw), "backend='cupy'"
    except TypeError:  # SpikingJelly 2.x: no backend argument, CUDA kernel auto-selected
        node, how = neuron.LIFNode(**kw), "automatic CUDA implementation"

    def run(x, node=node):
        node.reset()
        return node(x)

    return run, how


def run_once(fn, x0, grad):
    x = x0.detach().requires_grad_(True)
    e0, e1, e2 = (torch.cuda.Event(enable_timing=True) for _ in range(3))
    e0.record()
    s = fn(x)
    e1.record()
    s.backward(grad)
    e2.record()
    torch.cuda.synchronize()
    return s.detach(), x.grad, e0.elapsed_time(e1), e1.elapsed_time(e2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=16)
    ap.add_argument("--neurons", type=int, default=4 * 524288)
    ap.add_argument("--dtype", choices=["float32", "float16", "bfloat16"],
                    default="float32")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)

    if not torch.cuda.is_available():
        print("bench_lif_gpu: no CUDA GPU visible to torch "
              f"(torch {torch.__version__}); nothing to benchmark.", file=sys.stderr)
        return 2
    if not cupy_available():
        print("bench_lif_gpu: CuPy is not importable (pip install cupy-cuda12x); the "
              "evframes 'cupy' backend cannot run.", file=sys.stderr)
        return 2

    dtype = getattr(torch, args.dtype)
    T, N = args.T, args.neurons
    g = torch.Generator(device="cuda").manual_seed(0)
    x0 = (torch.randn(T, N, device="cuda", generator=g) * 1.5 + 0.6).to(dtype)
    grad = torch.randn(T, N, device="cuda", generator=g).to(dtype)
    cands = {"evframes cupy": LIFNode(backend="cupy"), "evframes torch": LIFNode(backend="torch")}
    sj, sj_how = _sj_candidate()
    if sj is not None:
        cands["SpikingJelly LIFNode"] = sj
    names = list(cands)

    ref_s, ref_g, _, _ = run_once(LIFNode(backend="torch"), x0.float(), grad.float())
    checks = {}
    for name in names:
        s, gx, _, _ = run_once(cands[name], x0, grad)
        diff = (s != ref_s).float().mean().item()
        rel = ((gx.float() - ref_g.float()).abs().max() / ref_g.float().abs().max()).item()
        checks[name] = (diff, rel)
    for _ in range(args.warmup):
        for name in names:
            run_once(cands[name], x0, grad)
    fwd = {n: [] for n in names}
    bwd = {n: [] for n in names}
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            _, _, tf, tb = run_once(cands[name], x0, grad)
            fwd[name].append(tf)
            bwd[name].append(tb)
    rows = []
    for name in names:
        tot = statistics.median([a + b for a, b in zip(fwd[name], bwd[name])])
        rows.append((name, statistics.median(fwd[name]), statistics.median(bwd[name]), tot,
                     T * N / (tot / 1e3)))
    base = {r[0]: r[3] for r in rows}.get("SpikingJelly LIFNode")
    head = (f"GPU: {torch.cuda.get_device_name()}; torch {torch.__version__}; "
            f"SpikingJelly: {sj_how}; T={T}, N={N}, {args.dtype}; median of {args.repeats}")
    if args.markdown:
        print(f"# LIF forward+backward throughput (GPU)\n\n- {head}\n")
        print("| implementation | forward ms | backward ms | fwd+bwd ms | neuron-steps/s | "
              "vs SpikingJelly | spike mismatch | grad max rel diff |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, f, b, tot, rate in rows:
            sp = f"{base / tot:.2f}x" if base else "n/a"
            print(f"| {name} | {f:.2f} | {b:.2f} | {tot:.2f} | {rate / 1e9:.2f} G | {sp} | "
                  f"{checks[name][0]:.1e} | {checks[name][1]:.1e} |")
    else:
        print(head)
        for name, f, b, tot, rate in rows:
            sp = f"  {base / tot:.2f}x vs SJ" if base else ""
            print(f"{name:24s} fwd {f:7.2f} ms  bwd {b:7.2f} ms  total {tot:7.2f} ms  "
                  f"{rate / 1e9:6.2f} G neuron-steps/s  spike mismatch {checks[name][0]:.1e}  "
                  f"grad rel diff {checks[name][1]:.1e}{sp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
