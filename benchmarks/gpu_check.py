"""Acceptance check of evframes' cupy LIF backend on one CUDA GPU (installs nothing).

    python benchmarks/gpu_check.py           # well under 3 minutes on a recent GPU
    python benchmarks/gpu_check.py --quick   # without the > 2^31-element cases

``LIFNode(backend='cupy')`` against the torch reference, which runs ``backend='torch'`` in
float32 on the same inputs (the kernels compute in float32 for every storage type, so
spikes and ``v`` must be equal and gradients equal up to rounding to the storage type):

  dtype     float32 / float16 / bfloat16, all 8 reset-detach-input modes; part of the
            inputs put float32 h just below the threshold (the 16-bit backward case)
  autocast  Conv2d + BatchNorm2d + LIF under torch.autocast (float16, bfloat16)
  stream    forward + backward on a side stream whose input is still being written
  large     T*N > 2^31 elements, and N > 2^31 neurons (float16, 64-bit indexing), checked
            on slices of neurons; skipped when the GPU lacks the memory
  timing    forward+backward, T=16, 64x128x32x32 neurons, float32 and float16: cupy vs
            torch (information, not a check)
  training  DVSGestureNet (128 channels, 128x128, T=16, batch 8, dropout off) Adam steps,
            fp32 and AMP (float16 autocast + GradScaler): cupy vs the reference network
            with the same weights and batch
  integrate evframes.integrate.torch (frames_by_setting) on the GPU against the CPU Numba
            kernel (integrate_batch) on the same flat batch (64 samples x 200k events,
            128x128; rules number, time + overlap, duration, count + overlap; and the
            representations voxel, time_surface, stacked_histogram, onoff, binary,
            latest_timestamp, averaged_time_surface over them): frames, dtype and frame
            offsets equal (float32 representations on CUDA: within 1 ulp; HATS within
            HATS_ULP = 1 ulp on any device; documented in integrate/torch_repr.py);
            events/s of both (GPU with and without the copy of the events to it)

Prints a table.  Exit status 0 when every check passes, 1 on any mismatch or error, 2
(one line on stderr) when there is no CUDA GPU or CuPy is not importable.

``--cpu-stand-in`` runs the same checks at toy sizes on the CPU with ``backend='cpu'`` as
the candidate (the integrate rows: the torch path on the CPU): a test of this script
(tests/test_lif_kernel.py, tests/test_integrate_torch.py), nothing about any GPU.
``--integrate-only`` runs the integrate rows alone (they need CUDA, not CuPy).
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from evframes.integrate import integrate_batch  # noqa: E402
from evframes.integrate.setting import FrameSetting  # noqa: E402
from evframes.integrate.torch import frames_by_setting  # noqa: E402
from evframes.integrate.torch_repr import HATS_ULP  # noqa: E402
from evframes.train.models import DVSGestureNet, SeqToANN  # noqa: E402
from evframes.train.neuron import LIFNode  # noqa: E402

MODES = [(v_reset, detach, decay_input) for v_reset in (0.0, None)
         for detach in (True, False) for decay_input in (True, False)]
RTOL = {torch.float32: 1e-5, torch.float16: 2 ** -10, torch.bfloat16: 2 ** -7}
INTEGRATE_SETTINGS = {
    "number T=16": FrameSetting(split_by="number", frames_number=16),
    "time T=16 overlap": FrameSetting(split_by="time", frames_number=16, overlap=20_000),
    "duration 50 ms": FrameSetting(duration=50_000),
    "count 5000 overlap": FrameSetting(count=5000, overlap=1000),
    # representations (evframes.integrate.torch_repr) over the rules
    "voxel bins=10 duration 50 ms": FrameSetting.from_options(
        duration=50_000, representation="voxel", repr_params={"bins": 10}),
    "time_surface tau=20 ms time T=16": FrameSetting.from_options(
        frames_number=16, split_by="time", representation="time_surface",
        repr_params={"tau": 20_000}),
    "stacked_histogram bins=5 number T=16": FrameSetting.from_options(
        frames_number=16, split_by="number", representation="stacked_histogram",
        repr_params={"bins": 5}),
    "onoff count 5000": FrameSetting.from_options(count=5000, representation="onoff"),
    "binary number T=16": FrameSetting.from_options(
        frames_number=16, split_by="number", representation="binary"),
    "latest_timestamp duration 50 ms": FrameSetting.from_options(
        duration=50_000, representation="latest_timestamp"),
    # HATS: within HATS_ULP float32 ulp of Numba on any device (integrate/torch_repr.py)
    "averaged_time_surface cell=10 r=2 tau=20 ms number T=16": FrameSetting.from_options(
        frames_number=16, split_by="number", representation="averaged_time_surface",
        repr_params={"cell": 10, "radius": 2, "tau": 20_000}),
}


class Float32Reference(LIFNode):
    """backend='torch' computing in float32 on any input dtype (what the kernels do)."""

    def forward(self, x):
        return super().forward(x.float()).to(x.dtype)


def with_reference_lif(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose LIF layers are :class:`Float32Reference`."""
    ref = copy.deepcopy(net)
    for mod in list(ref.modules()):
        for name, child in list(mod.named_children()):
            if isinstance(child, LIFNode):
                setattr(mod, name, Float32Reference(
                    tau=child.tau, v_threshold=child.v_threshold, v_reset=child.v_reset,
                    decay_input=child.decay_input, detach_reset=child.detach_reset,
                    backend="torch", store_v=child.store_v))
    return ref


def make_input(T, N, dtype, device, seed, near=True):
    """[T, N] drive (mean 0.6, std 1.5); with ``near``, the first half of the neurons get
    float32 h at t=1 within +-0.002 of v_th=1 (tau=2, decay_input)."""
    g = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(T, N, generator=g, device=device) * 1.5 + 0.6
    if near and T >= 2:
        k = N // 2
        x0 = (2 * (0.95 + 0.045 * torch.rand(k, generator=g, device=device))).to(dtype).float()
        target = 1 + 0.004 * (torch.rand(k, generator=g, device=device) - 0.5)
        x[0, :k], x[1, :k] = x0, 2 * target - x0 / 2
    return x.to(dtype)


def run_lif(node, x, grad):
    xx = x.detach().clone().requires_grad_(True)
    s = node(xx)
    s.backward(grad)
    return s.detach(), xx.grad, node.v


def compare(s, g, v, s_ref, g_ref, v_ref, dtype):
    """-> (ok, text): spikes and v equal, gradient within RTOL[dtype]*|ref| + 1e-6*max."""
    problems = []
    if not torch.equal(s.float(), s_ref.float()):
        problems.append(f"{int((s.float() != s_ref.float()).sum())} spikes differ")
    if v is not None and not torch.equal(v.float(), v_ref.to(dtype).float()):
        problems.append(f"{int((v.float() != v_ref.to(dtype).float()).sum())} v differ")
    g, g_ref = g.float(), g_ref.float()
    tol = RTOL[dtype] * g_ref.abs() + 1e-6 * g_ref.abs().max()
    ratio = ((g - g_ref).abs() / tol.clamp_min(1e-30)).max().item()
    if not ratio <= 1.0:
        problems.append(f"{int(((g - g_ref).abs() > tol).sum())} gradients off")
    return not problems, (", ".join(problems) or "spikes, v equal") + f"; grad err/tol {ratio:.2f}"


class Checker:
    def __init__(self, device, backend, small, quick):
        self.device, self.backend, self.small, self.quick = device, backend, small, quick
        self.rows = []

    def row(self, check, status, detail, seconds):
        self.rows.append((check, status, detail, seconds))
        if status in ("FAIL", "ERROR"):
            print(f"  {check}: {status}: {detail}", file=sys.stderr)

    def run(self, check, fn, *args):
        t0 = time.perf_counter()
        try:
            status, detail = fn(*args)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a row
            status, detail = "ERROR", f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            traceback.print_exc(file=sys.stderr)
        self.row(check, status, detail, time.perf_counter() - t0)

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    # --- checks ---------------------------------------------------------------------
    def dtype(self, dtype):
        T, N = (6, 3000) if self.small else (8, 200_000)
        worst, bad = 0.0, []
        for i, (v_reset, detach, decay_input) in enumerate(MODES):
            kw = dict(v_reset=v_reset, detach_reset=detach, decay_input=decay_input)
            x = make_input(T, N, dtype, self.device, seed=10 + i)
            grad = make_input(T, N, dtype, self.device, seed=50 + i, near=False)
            ref = run_lif(LIFNode(backend="torch", **kw), x.float(), grad.float())
            got = run_lif(LIFNode(backend=self.backend, **kw), x, grad)
            assert got[0].dtype == dtype and got[1].dtype == dtype
            ok, text = compare(*got, *ref, dtype)
            worst = max(worst, float(text.rsplit(" ", 1)[1]))
            if not ok:
                bad.append(f"mode {kw}: {text}")
        if bad:
            return "FAIL", "; ".join(bad)
        return "PASS", f"8 modes, T={T} N={N}: spikes, v equal; grad err/tol {worst:.2f}"

    def autocast(self, dtype):
        torch.manual_seed(1)
        T, B, S = (4, 2, 16) if self.small else (8, 8, 64)
        net = nn.Sequential(SeqToANN(nn.Conv2d(2, 16, 3, padding=1, bias=False),
                                     nn.BatchNorm2d(16)),
                            LIFNode(backend=self.backend, store_v=False)).to(self.device)
        ref = with_reference_lif(net)
        x = (torch.rand(T, B, 2, S, S, device=self.device) < 0.3).float()
        out = []
        for m in (net, ref):
            with torch.autocast(self.device.type, dtype=dtype):
                s = m(x)
            (s.float() * torch.linspace(-1, 1, S, device=self.device)).sum().backward()
            out.append((s.detach(), m[0][0].weight.grad.clone()))
        (s, gw), (s_ref, gw_ref) = out
        if s.dtype != dtype or not torch.equal(s, s_ref):
            return "FAIL", f"spikes differ ({s.dtype}, {int((s != s_ref).sum())} of {s.numel()})"
        rel = ((gw - gw_ref).norm() / gw_ref.norm()).item()
        status = "PASS" if rel <= 1e-2 else "FAIL"
        return status, f"spikes equal ({s.dtype}); conv weight grad rel L2 diff {rel:.1e}"

    def stream(self):
        if self.device.type != "cuda":
            return "SKIP", "needs CUDA"
        T, N = 8, 1 << 22
        src = make_input(T, N, torch.float32, self.device, seed=3)
        grad = make_input(T, N, torch.float32, self.device, seed=4, near=False)
        ref = run_lif(LIFNode(backend="torch"), src, grad)
        node = LIFNode(backend=self.backend)
        side = torch.cuda.Stream()
        torch.cuda.synchronize()
        with torch.cuda.stream(side):
            x = torch.empty_like(src)
            torch.cuda._sleep(100_000_000)  # the input is written late on this stream
            x.copy_(src)
            x.requires_grad_(True)
            s = node(x)
            s.backward(grad)
            got = (s.detach().clone(), x.grad.clone(), node.v.clone())
        side.synchronize()
        ok, text = compare(*got, *ref, torch.float32)
        return ("PASS" if ok else "FAIL"), f"T={T} N={N} on a side stream: {text}"

    def large(self, T, N):
        if self.device.type != "cuda":
            return "SKIP", "needs CUDA"
        if self.quick:
            return "SKIP", "--quick"
        need = 12 * T * N + (1 << 30)  # fp16 x, spikes, grad, grad_x + float32 h
        free = torch.cuda.mem_get_info(self.device)[0]
        if free < need:
            return "SKIP", f"needs {need / 2**30:.0f} GiB of GPU memory, {free / 2**30:.0f} free"
        dtype = torch.float16
        g = torch.Generator(device=self.device).manual_seed(7)
        x = torch.randn(T, N, generator=g, device=self.device, dtype=dtype).mul_(1.5).add_(0.6)
        grad = torch.randn(T, N, generator=g, device=self.device, dtype=dtype)
        x.requires_grad_(True)
        node = LIFNode(backend=self.backend)
        s = node(x)
        s.backward(grad)
        k = 2048
        idx = torch.cat([torch.arange(k), torch.arange(N - k, N),
                         torch.randint(0, N, (k,))]).to(self.device)
        got = (s[:, idx], x.grad[:, idx], node.v[idx])
        ref = run_lif(LIFNode(backend="torch"), x.detach()[:, idx].float(),
                      grad[:, idx].float())
        ok, text = compare(*got, *ref, dtype)
        del x, grad, s, node
        torch.cuda.empty_cache()
        return ("PASS" if ok else "FAIL"), (f"T={T} N={N} (T*N = {T * N / 2**31:.2f} x 2^31), "
                                            f"{3 * k} neurons incl. the last: {text}")

    def _time(self, fn):
        if self.device.type == "cuda":
            ev = [torch.cuda.Event(enable_timing=True) for _ in range(3)]
            ev[0].record()
            mid = fn(ev[1].record)
            ev[2].record()
            torch.cuda.synchronize()
            return ev[0].elapsed_time(ev[1]), ev[1].elapsed_time(ev[2]), mid
        marks = [time.perf_counter()]
        mid = fn(lambda: marks.append(time.perf_counter()))
        marks.append(time.perf_counter())
        return (marks[1] - marks[0]) * 1e3, (marks[2] - marks[1]) * 1e3, mid

    def timing(self, dtype):
        T, shape = (4, (2, 8, 8, 8)) if self.small else (16, (64, 128, 32, 32))
        N = 1
        for d in shape:
            N *= d
        reps = 3 if self.small else 10
        x0 = make_input(T, N, dtype, self.device, seed=5, near=False).view(T, *shape)
        grad = make_input(T, N, dtype, self.device, seed=6, near=False).view(T, *shape)
        out = {}
        for name in (self.backend, "torch"):
            node = LIFNode(backend=name, store_v=False)
            fwd, bwd = [], []
            for r in range(reps + 2):
                x = x0.detach().requires_grad_(True)

                def step(mark, node=node, x=x):
                    s = node(x)
                    mark()
                    s.backward(grad)
                tf, tb, _ = self._time(step)
                if r >= 2:
                    fwd.append(tf)
                    bwd.append(tb)
            out[name] = (statistics.median(fwd), statistics.median(bwd))
        c, t = out[self.backend], out["torch"]
        return "INFO", (f"T={T} x {'x'.join(map(str, shape))}: {self.backend} fwd {c[0]:.2f} + "
                        f"bwd {c[1]:.2f} = {sum(c):.2f} ms; torch {sum(t):.2f} ms; "
                        f"{sum(t) / sum(c):.1f}x")

    def training(self, amp):
        torch.manual_seed(0)
        C, S, T, B, steps = (4, 16, 4, 3, 3) if self.small else (128, 128, 16, 8, 4)
        net = DVSGestureNet(channels=C, input_size=S, backend=self.backend,
                            dropout=0.0).to(self.device)
        ref = with_reference_lif(net)
        x = (torch.rand(T, B, 2, S, S, device=self.device) < 0.15).float()
        target = F.one_hot(torch.arange(B, device=self.device) % 11, 11).float()
        cuda = self.device.type == "cuda"
        adt = torch.float16 if cuda else torch.bfloat16
        rec = {}
        for name, m in (("cand", net), ("ref", ref)):
            opt = torch.optim.Adam(m.parameters(), lr=1e-3)
            scaler = torch.amp.GradScaler("cuda", init_scale=1024.0) if (amp and cuda) else None
            losses, ms, grads, rates = [], [], None, []
            for step in range(steps):
                self.sync()
                t0 = time.perf_counter()
                with torch.autocast(self.device.type, dtype=adt, enabled=amp):
                    rate = m(x)
                loss = F.mse_loss(rate.float(), target)
                opt.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(opt)
                else:
                    loss.backward()
                if step == 0:
                    grads = torch.cat([p.grad.flatten() for p in m.parameters()])
                if scaler is not None:
                    scaler.step(opt)
                    scaler.update()
                else:
                    opt.step()
                self.sync()
                ms.append((time.perf_counter() - t0) * 1e3)
                losses.append(loss.item())
                rates.append(rate.float().mean().item())
            rec[name] = (losses, statistics.median(ms[1:]), grads, rates)
        (lc, tc, gc, rc), (lr, tr, gr, _) = rec["cand"], rec["ref"]
        d0 = abs(lc[0] - lr[0]) / max(abs(lr[0]), 1e-12)
        rel = ((gc - gr).norm() / gr.norm()).item()
        later = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(lc, lr))
        lim = (1e-3, 2e-2) if amp else (1e-6, 1e-3)
        ok = (all(map(lambda v: v == v and abs(v) < float("inf"), lc)) and d0 <= lim[0]
              and rel <= lim[1] and later <= 0.05)
        text = (f"C={C} {S}x{S} T={T} B={B}, {steps} steps: step-0 loss rel diff {d0:.1e}, "
                f"grad rel L2 {rel:.1e}, max loss rel diff {later:.1e}; loss "
                f"{lc[0]:.4f}->{lc[-1]:.4f}, output rate {rc[0]:.3f}->{rc[-1]:.3f}; "
                f"{tc:.0f} ms/step vs reference {tr:.0f}")
        return ("PASS" if ok else "FAIL"), text

    def _events(self):
        """One flat batch (numpy), made once: B samples of sorted random events."""
        if getattr(self, "_batch", None) is None:
            import numpy as np
            B, n, S = (4, 3000, 32) if self.small else (64, 200_000, 128)
            rng = np.random.default_rng(12)
            lens = rng.integers(n // 2, 3 * n // 2, B)
            lens[1] = 0  # an empty sample
            N = int(lens.sum())
            off = np.zeros(B + 1, np.int64)
            np.cumsum(lens, out=off[1:])
            t = np.concatenate([np.sort(rng.integers(0, 1_000_000, k)) for k in lens])
            self._batch = (t.astype(np.int64), rng.integers(0, S, N).astype(np.int16),
                           rng.integers(0, S, N).astype(np.int16),
                           rng.integers(0, 2, N).astype(np.int8), off, S)
        return self._batch

    def integrate(self, setting):
        """The torch path on this device vs the CPU Numba kernel: equal, and events/s."""
        t, x, y, p, off, S = self._events()
        N = t.shape[0]
        reps = 3 if self.small else 10
        ref = None
        cpu_ms = []
        for r in range(reps + 1):
            t0 = time.perf_counter()
            ref = integrate_batch(t, x, y, p, off, setting, S, S)
            if r:
                cpu_ms.append((time.perf_counter() - t0) * 1e3)
        host = [torch.from_numpy(a) for a in (t, x, y, p, off)]
        if self.device.type == "cuda":
            host = [a.pin_memory() for a in host]
        got = None
        dev_ms, copy_ms = [], []
        for r in range(reps + 1):
            self.sync()
            t0 = time.perf_counter()
            dev = [a.to(self.device, non_blocking=True) for a in host]
            self.sync()
            t1 = time.perf_counter()
            got = frames_by_setting(*dev, setting, S, S)
            self.sync()
            if r:
                copy_ms.append((t1 - t0) * 1e3)
                dev_ms.append((time.perf_counter() - t1) * 1e3)
        frames, fo = got[0].cpu().numpy(), got[1].cpu().numpy()
        problems = []
        note = ""
        if frames.dtype != ref[0].dtype or frames.shape != ref[0].shape:
            problems.append(f"{frames.dtype} {list(frames.shape)} vs Numba {ref[0].dtype} "
                            f"{list(ref[0].shape)}")
        elif not (frames == ref[0]).all():
            n_diff = int((frames != ref[0]).sum())
            hats = setting.representation == "averaged_time_surface"
            if frames.dtype.kind == "f" and (self.device.type == "cuda" or hats):
                # float sums (voxel: atomics in any order) and exp on the GPU: 1 ulp of
                # float32 allowed there; HATS (pairwise exps vs the kernel's running sums)
                # HATS_ULP on any device; otherwise the CPU torch path must be bit-equal
                ulp = _ulp_diff(frames, ref[0])
                if ulp > (HATS_ULP if hats else 1):
                    problems.append(f"{n_diff} of {frames.size} values differ, up to {ulp} "
                                    f"ulp")
                else:
                    note = (f"{n_diff} of {frames.size} values within {ulp} ulp, rest "
                            f"bit-equal; ")
            else:
                problems.append(f"{int((frames != ref[0]).sum())} of {frames.size} values "
                                f"differ")
        if not (fo.shape == ref[1].shape and (fo == ref[1]).all()):
            problems.append("frame offsets differ")
        c, d, k = (statistics.median(v) for v in (cpu_ms, dev_ms, copy_ms))
        where = "GPU" if self.device.type == "cuda" else "torch CPU"
        text = (f"B={off.size - 1}, {N / 1e6:.2f}M events, {S}x{S}, {frames.shape[0]} frames "
                f"({frames.dtype}): {'; '.join(problems) or note + 'equal to Numba'}; {where} "
                f"{d:.2f} ms ({N * 1e3 / d:.2e} ev/s), +copy {d + k:.2f} ms "
                f"({N * 1e3 / (d + k):.2e} ev/s); Numba CPU ({_numba_threads()} threads) "
                f"{c:.2f} ms ({N * 1e3 / c:.2e} ev/s); {c / d:.1f}x")
        return ("FAIL" if problems else "PASS"), text


def _ulp_diff(a, b) -> int:
    """Largest distance in float32 units in the last place between two float32 arrays."""
    import numpy as np
    ia = a.astype(np.float32).view(np.int32).astype(np.int64)
    ib = b.astype(np.float32).view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(2 ** 31) - ia, ia)  # monotonic in the float order
    ib = np.where(ib < 0, -(2 ** 31) - ib, ib)
    return int(np.abs(ia - ib).max()) if ia.size else 0


def _numba_threads():
    import numba
    return numba.get_num_threads()


def preflight(backend):
    """None when the GPU run can go ahead, else the one-line reason."""
    if not torch.cuda.is_available():
        return (f"gpu_check: no CUDA GPU visible to torch {torch.__version__} "
                f"(CUDA build: {torch.version.cuda or 'none'}); nothing was checked")
    from evframes.train._lif_cupy import cupy_available, cupy_module
    if backend == "cupy" and not cupy_available():
        why = "unknown reason"
        try:
            cupy_module()
        except RuntimeError as exc:
            why = str(exc).split("; importing cupy failed: ")[-1].split(". Use")[0]
        return f"gpu_check: CuPy is not importable ({why}); nothing was checked"
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the > 2^31-element cases")
    ap.add_argument("--cpu-stand-in", action="store_true",
                    help="toy sizes on the CPU, backend='cpu' as the candidate (self-test)")
    ap.add_argument("--integrate-only", action="store_true",
                    help="only the evframes.integrate.torch rows (need CUDA, not CuPy)")
    args = ap.parse_args(argv)
    if args.cpu_stand_in:
        device, backend = torch.device("cpu"), "cpu"
    else:
        reason = preflight("none" if args.integrate_only else "cupy")
        if reason:
            print(reason, file=sys.stderr)
            return 2
        device, backend = torch.device("cuda", torch.cuda.current_device()), "cupy"
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    c = Checker(device, backend, small=args.cpu_stand_in, quick=args.quick)
    t0 = time.perf_counter()
    if not args.integrate_only:
        for dt in (torch.float32, torch.float16, torch.bfloat16):
            c.run(f"dtype {str(dt)[6:]}", c.dtype, dt)
        for dt in ((torch.float16, torch.bfloat16) if device.type == "cuda"
                   else (torch.bfloat16,)):
            c.run(f"autocast {str(dt)[6:]}", c.autocast, dt)
        c.run("side stream", c.stream)
        c.run("large T*N > 2^31", c.large, 3, 2 ** 31 // 3 + 4099)
        c.run("large N > 2^31", c.large, 2, 2 ** 31 + 4099)
        for dt in (torch.float32, torch.float16):
            c.run(f"timing {str(dt)[6:]}", c.timing, dt)
        c.run("training fp32", c.training, False)
        c.run("training AMP", c.training, True)
    for name, setting in INTEGRATE_SETTINGS.items():
        c.run(f"integrate {name}", c.integrate, setting)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU stand-in"
    print(f"# gpu_check: {name}; torch {torch.__version__}; candidate backend={backend!r}\n")
    print("| check | result | detail | s |\n|---|---|---|---:|")
    for check, status, detail, sec in c.rows:
        print(f"| {check} | {status} | {detail} | {sec:.1f} |")
    failed = [r for r in c.rows if r[1] in ("FAIL", "ERROR")]
    print(f"\n{len(c.rows) - len(failed)} of {len(c.rows)} rows without failure, "
          f"{len(failed)} failed; {time.perf_counter() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
