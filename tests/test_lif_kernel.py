"""The CUDA source of the cupy LIF backend, checked without a GPU: nvcc / NVRTC compiles,
the kernels' own per-neuron loops run on the CPU through a g++ host harness (float32,
float16, bfloat16 storage), and the cupy launcher driven end to end (training included)
by a CuPy stand-in whose kernels are that harness."""
import contextlib
import shutil
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from evframes.train import _lif_cupy, neuron
from evframes.train.models import DVSGestureNet
from evframes.train.neuron import LIFNode

import lif_cuda_tools as tools
from lif_helpers import assert_grad_close, run_lif

MODES = [(v_reset, detach, decay_input)  # (v_reset, detach_reset, decay_input)
         for v_reset in (0.0, None) for detach in (True, False) for decay_input in (True, False)]


def _ids(mode):
    v_reset, detach, decay_input = mode
    return (f"{'hard' if v_reset is not None else 'soft'}-"
            f"{'detach' if detach else 'attached'}-{'decayin' if decay_input else 'rawin'}")


def _random_input(shape, seed, mean=0.6, std=1.5):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * std + mean).float()


def test_cuda_source_compiles_to_ptx(tmp_path):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc not on PATH: cannot compile lif_kernel.cu to PTX")
    text = tools.compile_ptx(str(tmp_path)).read_text()
    entries = [line for line in text.splitlines() if ".entry" in line]
    assert len(entries) == 6, entries  # forward/backward x float/lif_half/lif_bf16
    for storage in ("lif_half", "lif_bf16"):
        assert any("lif_forward" in e and storage in e for e in entries)
    # neuron count and index are 64-bit: N is a `long long` (mangled 'x') parameter
    assert all("xifff" in e for e in entries), entries
    assert "mul.wide.u32" in text  # blockIdx.x * blockDim.x widened before the add


def test_cuda_source_compiles_with_nvrtc():
    """The exact cupy-backend path (NVRTC, options, name_expressions) without a GPU."""
    try:
        out = tools.compile_nvrtc()
    except tools.ToolchainMissing as exc:
        pytest.skip(f"libnvrtc not available: {exc}")
    assert all(out["lowered"].values()), out["lowered"]
    for mangled in out["lowered"].values():
        assert f".entry {mangled}" in out["ptx"]


@pytest.fixture(scope="module")
def host_lif():
    if shutil.which("g++") is None:
        pytest.skip("g++ not on PATH: cannot build the host harness of lif_kernel.cu")
    return tools.build_host_harness()


def test_16bit_conversions_match_torch(host_lif):
    """The kernels' half / bfloat16 load and store (round to nearest even) equal torch's."""
    every = np.arange(65536, dtype=np.uint16)
    for suffix, tdt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        ref = torch.from_numpy(every.view(np.int16)).view(tdt).float().numpy()
        got = host_lif.load(every.view(tools.STORAGE[suffix]), suffix)
        ok = ~np.isnan(ref)
        assert np.array_equal(got[ok].view(np.uint32), ref[ok].view(np.uint32)), suffix
        assert np.isnan(got[~ok]).all()
    rng = np.random.default_rng(0)
    # random bit patterns, plus every rounding boundary of the 16-bit grids near 1.0
    near = (np.uint32(0x3f000000) + (np.arange(2 ** 14, dtype=np.uint32) << 9))[:, None]
    bits = np.concatenate([rng.integers(0, 2 ** 32, 2 ** 20, dtype=np.uint64).astype(np.uint32),
                           (near + np.array([0, 1, 0xff, 0x100, 0x101, 0x1ff], np.uint32)).ravel()])
    f = bits.view(np.float32)
    ok = ~np.isnan(f)
    for suffix, tdt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        ref = torch.from_numpy(f.copy()).to(tdt).view(torch.int16).numpy().view(np.uint16)
        got = host_lif.store(f, suffix).view(np.uint16)
        assert np.array_equal(got[ok], ref[ok]), suffix


@pytest.mark.parametrize("mode", MODES, ids=_ids)
def test_host_harness_matches_torch(host_lif, mode):
    v_reset, detach, decay_input = mode
    kw = dict(v_reset=v_reset, decay_input=decay_input)
    x = _random_input((8, 3, 129), seed=9)
    grad = _random_input((8, 3, 129), seed=10)
    s_ref, g_ref, v_ref = run_lif("torch", x, grad, detach_reset=detach, **kw)
    s, h, v = host_lif.forward(x.numpy(), **kw)
    assert np.array_equal(s, s_ref.numpy())
    assert np.array_equal(v, v_ref.numpy())
    gx = host_lif.backward(grad.numpy(), h, detach_reset=detach, **kw)
    assert_grad_close(torch.from_numpy(gx), g_ref, 1e-6)


def _near_threshold_input(T, N, dtype, seed, decay_input=True):
    """[T, N] inputs (exact in ``dtype``) whose float32 h at t=1 lands within +-0.002 of
    v_th=1 (tau=2): the 16-bit grid around 1 is coarser than that, so many float32 h
    just below 1 round up onto it."""
    g = torch.Generator().manual_seed(seed)
    u = lambda: torch.rand(N, generator=g, dtype=torch.float64)  # noqa: E731
    x = (torch.randn(T, N, generator=g, dtype=torch.float64) * 1.5 + 0.6).to(dtype)
    h0 = 0.95 + 0.045 * u()  # no spike at t=0
    x[0] = (2 * h0 if decay_input else h0).to(dtype)
    h0 = x[0].double() / 2 if decay_input else x[0].double()
    target = 1 + 0.004 * (u() - 0.5)
    x[1] = (2 * target - h0 if decay_input else target - h0 / 2).to(dtype)
    return x


def _charge_seq(x, v_reset, decay_input):
    """float32 h[t] of the forward (hard or soft reset), computed independently."""
    vr = 0.0 if v_reset is None else v_reset
    v = torch.full_like(x[0], vr)
    hs = []
    for xt in x:
        h = v + 0.5 * (xt - (v - vr)) if decay_input else v - 0.5 * (v - vr) + xt
        s = h - 1.0 >= 0
        v = torch.where(s, torch.full_like(h, vr) if v_reset is not None else h - 1.0, h)
        hs.append(h)
    return torch.stack(hs)


@pytest.mark.parametrize("mode", MODES, ids=_ids)
@pytest.mark.parametrize("storage,dtype,rtol", [("f16", torch.float16, 2 ** -10),
                                                ("bf16", torch.bfloat16, 2 ** -7)])
def test_16bit_backward_uses_the_forward_spikes(host_lif, storage, dtype, rtol, mode):
    """Half / bfloat16 storage: the kernels fire on float32 h; the backward must see the
    same spikes, so its gradient equals the float32 reference on the same 16-bit inputs
    (up to rounding the result to 16 bits), also where h lies just below the threshold."""
    v_reset, detach, decay_input = mode
    T, N = 6, 4096
    x = _near_threshold_input(T, N, dtype, seed=21, decay_input=decay_input)
    grad = _random_input((T, N), seed=22).to(dtype)
    s_ref, g_ref, v_ref = run_lif("torch", x.float(), grad.float(), v_reset=v_reset,
                                     detach_reset=detach, decay_input=decay_input)
    h = _charge_seq(x.float(), v_reset, decay_input)
    assert torch.equal(h >= 1.0, s_ref.bool())
    flips = ((h < 1.0) & (h.to(dtype).float() >= 1.0)).sum().item()
    assert flips > 20, flips  # the data really exercises the near-threshold case

    def payload(t):
        return t.view(torch.int16).numpy().view(np.uint16) if dtype == torch.bfloat16 \
            else t.numpy()
    s, h_saved, v = host_lif.forward(payload(x), v_reset=v_reset, decay_input=decay_input,
                                     storage=storage)
    assert np.array_equal(host_lif.load(s, storage), s_ref.numpy())
    assert np.array_equal(host_lif.load(v, storage), v_ref.to(dtype).float().numpy())
    gx = host_lif.backward(payload(grad), h_saved, v_reset=v_reset, decay_input=decay_input,
                           detach_reset=detach, storage=storage)
    gx = torch.from_numpy(host_lif.load(gx, storage))
    scale = g_ref.abs().max().item()
    bad = (gx - g_ref).abs() > rtol * g_ref.abs() + 1e-6 * scale
    worst = ((gx - g_ref).abs() / g_ref.abs().clamp_min(1e-6 * scale)).max().item()
    assert not bad.any(), f"{int(bad.sum())} of {bad.numel()} gradients off, worst rel {worst:.3g}"


# --- the cupy launcher, driven by a CuPy stand-in whose kernels are the host harness ------
_SUFFIX = {"float": "f32", "lif_half": "f16", "lif_bf16": "bf16"}


@pytest.fixture
def fake_cupy(host_lif, monkeypatch):
    """Replace CuPy by a stand-in: RawModule -> the host harness, from_dlpack -> a real
    DLPack export (so it refuses tensors that require grad, like torch -> CuPy does),
    streams and devices recorded.  CPU tensors stand in for CUDA ones."""
    state = types.SimpleNamespace(launched=[], streams=[], devices=[], in_stream=0)

    def from_dlpack(t):
        return torch.utils.dlpack.from_dlpack(t.__dlpack__())

    class FakeModule:
        def __init__(self, code, options, name_expressions):
            assert "lif_forward" in code and "__global__" in code
            assert "--fmad=false" in options
            self.names = set(name_expressions)

        def get_function(self, name):
            assert name in self.names
            suffix = _SUFFIX[name[name.index("<") + 1:-1]]

            def addr(a):
                if isinstance(a, torch.Tensor):  # what a from_dlpack view would give
                    return a.data_ptr()
                assert isinstance(a, np.uint64), type(a)
                return int(a)

            def kernel(grid, block, args):
                assert state.in_stream, "kernel launched outside torch's current stream"
                state.launched.append(name)
                if name.startswith("lif_forward"):
                    x, s, h, v, n, t, decay, v_th, v_reset, mode = args
                    assert isinstance(n, np.int64) and isinstance(t, np.int32)
                    assert all(isinstance(p, np.float32) for p in (decay, v_th, v_reset))
                    assert grid[0] * block[0] >= int(n)
                    hp = addr(h)
                    scratch = None
                    if hp == 0:  # inference: nothing saved, give the harness scratch
                        scratch = np.empty(int(n) * int(t), np.float32)
                        hp = scratch.ctypes.data
                    host_lif.forward_raw(suffix, addr(x), addr(s), hp, addr(v), int(n),
                                         int(t), decay, v_th, v_reset, int(mode))
                else:
                    gs, h, gx, n, t, decay, v_th, v_reset, ha, pa, mode = args
                    assert isinstance(n, np.int64) and isinstance(t, np.int32)
                    assert grid[0] * block[0] >= int(n)
                    host_lif.backward_raw(suffix, addr(gs), addr(h), addr(gx), int(n),
                                          int(t), decay, v_th, v_reset, ha, pa, int(mode))
            return kernel

    @contextlib.contextmanager
    def external_stream(ptr):
        state.streams.append(ptr)
        state.in_stream += 1
        try:
            yield
        finally:
            state.in_stream -= 1

    @contextlib.contextmanager
    def device(index):
        state.devices.append(index)
        yield

    fake = types.SimpleNamespace(RawModule=FakeModule, from_dlpack=from_dlpack,
                                 cuda=types.SimpleNamespace(Device=device,
                                                            ExternalStream=external_stream))
    monkeypatch.setattr(_lif_cupy, "_cupy", fake)
    monkeypatch.setattr(_lif_cupy, "_modules", {})
    monkeypatch.setattr(torch.cuda, "current_stream",
                        lambda device=None: types.SimpleNamespace(cuda_stream=4242))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 3)
    monkeypatch.setattr(neuron, "_require_cuda", lambda x: None)  # CPU tensors stand in
    return state


@pytest.mark.parametrize("mode", MODES, ids=_ids)
def test_cupy_backend_trains_through_stand_in(fake_cupy, mode):
    """LIFNode(backend='cupy') forward + backward on an input that requires grad (what
    training does), through the launcher and the .cu loops: equals the torch reference."""
    v_reset, detach, decay_input = mode
    kw = dict(v_reset=v_reset, detach_reset=detach, decay_input=decay_input)
    x = _random_input((8, 2, 300), seed=11)
    grad = _random_input((8, 2, 300), seed=12)
    s_ref, g_ref, v_ref = run_lif("torch", x, grad, **kw)
    xx = x.clone().requires_grad_(True)
    node = LIFNode(backend="cupy", **kw)
    s = node(xx)
    s.backward(grad)
    assert torch.equal(s, s_ref) and torch.equal(node.v, v_ref)
    assert_grad_close(xx.grad, g_ref, 1e-6)
    with torch.no_grad():  # inference: no h saved (null pointer), same spikes
        assert torch.equal(node(x), s_ref)
    assert fake_cupy.launched.count("lif_forward<float>") == 2
    assert fake_cupy.launched.count("lif_backward<float>") == 1
    assert set(fake_cupy.streams) == {4242} and set(fake_cupy.devices) == {3}


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cupy_backend_16bit_through_stand_in(fake_cupy, dtype):
    x = _near_threshold_input(6, 700, dtype, seed=13)
    grad = _random_input((6, 700), seed=14).to(dtype)
    s_ref, g_ref, _ = run_lif("torch", x.float(), grad.float())
    xx = x.clone().requires_grad_(True)
    s = LIFNode(backend="cupy")(xx)
    s.backward(grad)
    assert s.dtype == dtype and xx.grad.dtype == dtype
    assert torch.equal(s.float(), s_ref)
    rtol = 2 ** -10 if dtype == torch.float16 else 2 ** -7
    torch.testing.assert_close(xx.grad.float(), g_ref, rtol=rtol, atol=1e-6)
    name = "lif_half" if dtype == torch.float16 else "lif_bf16"
    assert fake_cupy.launched == [f"lif_forward<{name}>", f"lif_backward<{name}>"]


def test_dvsgesture_training_step_cupy_equals_torch(fake_cupy):
    """One Adam step of DVSGestureNet with backend='cupy' (stand-in kernels) equals the
    same step with backend='torch': same loss, same gradients, same new weights."""
    torch.manual_seed(5)
    nets = {b: DVSGestureNet(channels=4, input_size=16, backend=b, dropout=0.0)
            for b in ("torch", "cupy")}
    nets["cupy"].load_state_dict(nets["torch"].state_dict())
    x = (torch.rand(4, 3, 2, 16, 16) < 0.3).float()
    target = F.one_hot(torch.tensor([1, 4, 7]), 11).float()
    out = {}
    for b, net in nets.items():
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        loss = F.mse_loss(net(x), target)
        loss.backward()
        grads = torch.cat([p.grad.flatten() for p in net.parameters()])
        opt.step()
        out[b] = (loss.item(), grads, torch.cat([p.detach().flatten() for p in net.parameters()]))
    assert out["cupy"][0] == out["torch"][0]
    assert out["torch"][1].abs().max() > 0
    torch.testing.assert_close(out["cupy"][1], out["torch"][1], rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(out["cupy"][2], out["torch"][2], rtol=1e-5, atol=1e-6)
    assert any(n.startswith("lif_backward") for n in fake_cupy.launched)


# --- benchmarks/gpu_check.py without a GPU ------------------------------------------------
def _gpu_check():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return path, mod


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is visible")
def test_gpu_check_without_gpu_exits_2_with_one_line():
    import subprocess
    import sys
    path, _ = _gpu_check()
    r = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check: no CUDA GPU"), r.stderr
    assert "nothing was checked" in lines[0]


def test_gpu_check_cpu_stand_in_passes_and_catches_a_wrong_gradient(monkeypatch, capsys):
    """Every check of the script at toy sizes, the Numba backend standing in for cupy:
    all pass; with a gradient 1% off in the fused backward, it exits 1."""
    from evframes.train import _lif_op
    _, gc = _gpu_check()
    assert gc.main(["--cpu-stand-in"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    results = {r.split(" | ")[0][2:]: r.split(" | ")[1] for r in rows[1:]}
    assert results["dtype float16"] == results["dtype bfloat16"] == "PASS"
    assert results["training fp32"] == results["training AMP"] == "PASS"
    assert results["side stream"] == "SKIP" and results["timing float32"] == "INFO"
    real = _lif_op._backward_impl
    monkeypatch.setattr(_lif_op, "_backward_impl", lambda *a: real(*a) * 1.01)
    assert gc.main(["--cpu-stand-in"]) == 1
    out = capsys.readouterr().out
    assert "| dtype float32 | FAIL |" in out and "| training fp32 | FAIL |" in out


def test_cupy_kind_under_torch_compile(fake_cupy):
    """backend='cupy' through torch.compile (aot_eager, fullgraph): the op's fake
    implementation (float32 h for the backward) matches what the launcher returns, and
    compiled == eager."""
    torch._dynamo.reset()
    x = _random_input((6, 2, 50), seed=15)
    w = _random_input((2, 50), seed=16)
    node = LIFNode(backend="cupy", detach_reset=False)

    def f(inp):
        return (node(inp) * w).sum()

    xe = x.clone().requires_grad_(True)
    le = f(xe)
    le.backward()
    xc = x.clone().requires_grad_(True)
    lc = torch.compile(f, backend="aot_eager", fullgraph=True)(xc)
    lc.backward()
    assert torch.equal(lc, le)
    torch.testing.assert_close(xc.grad, xe.grad, rtol=1e-6, atol=1e-7)
    assert fake_cupy.launched.count("lif_backward<float>") == 2
