"""LIF neuron: fused CPU (Numba) kernels and the CUDA source vs the torch reference, and
both vs hand-computed values (so a bug shared by all backends still fails)."""
import math
import shutil

import numpy as np
import pytest
import torch

from evframes.train import cuda_check
from evframes.train._lif_cupy import cupy_available
from evframes.train.neuron import LIFNode
from evframes.train.surrogate import ATan

MODES = [  # (v_reset, detach_reset, decay_input)
    (v_reset, detach, decay_input)
    for v_reset in (0.0, None)
    for detach in (True, False)
    for decay_input in (True, False)
]


def _ids(mode):
    v_reset, detach, decay_input = mode
    return (f"{'hard' if v_reset is not None else 'soft'}-"
            f"{'detach' if detach else 'attached'}-{'decayin' if decay_input else 'rawin'}")


def _random_input(shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    # mean 0.6, std 1.5: a good mix of spiking and silent steps, many reset paths
    return (torch.randn(shape, generator=g, dtype=torch.float64) * 1.5 + 0.6).to(dtype)


def _run(backend, x, grad, **kw):
    node = LIFNode(backend=backend, **kw)
    xx = x.clone().requires_grad_(True)
    s = node(xx)
    s.backward(grad)
    return s.detach(), xx.grad, node.v


def _assert_grad_close(got, ref, rel):
    scale = ref.abs().max().item()
    assert scale > 0
    err = (got - ref).abs().max().item()
    assert err <= rel * scale, f"max |diff| {err:.3g} > {rel:g} * max|ref| ({scale:.3g})"


@pytest.mark.parametrize("mode", MODES, ids=_ids)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_cpu_matches_torch(mode, dtype):
    v_reset, detach, decay_input = mode
    kw = dict(v_reset=v_reset, detach_reset=detach, decay_input=decay_input)
    # 8 x 5 x 2100 = several Numba blocks, N not a multiple of the block size
    x = _random_input((8, 5, 2100), dtype, seed=1)
    grad = _random_input((8, 5, 2100), dtype, seed=2)
    s_ref, g_ref, v_ref = _run("torch", x, grad, **kw)
    s_cpu, g_cpu, v_cpu = _run("cpu", x, grad, **kw)
    assert 0.05 < s_ref.mean().item() < 0.6
    assert torch.equal(s_cpu, s_ref)
    assert torch.equal(v_cpu, v_ref)
    _assert_grad_close(g_cpu, g_ref, 1e-6 if dtype == torch.float32 else 1e-13)


@pytest.mark.parametrize("tau,v_th,v_reset", [(3.0, 0.7, -0.25), (1.5, 1.3, None)])
def test_cpu_matches_torch_other_params(tau, v_th, v_reset):
    kw = dict(tau=tau, v_threshold=v_th, v_reset=v_reset, detach_reset=False,
              surrogate=ATan(alpha=3.0))
    x = _random_input((6, 4, 33), torch.float32, seed=3)
    grad = _random_input((6, 4, 33), torch.float32, seed=4)
    s_ref, g_ref, v_ref = _run("torch", x, grad, **kw)
    s_cpu, g_cpu, v_cpu = _run("cpu", x, grad, **kw)
    assert torch.equal(s_cpu, s_ref) and torch.equal(v_cpu, v_ref)
    _assert_grad_close(g_cpu, g_ref, 2e-6)


# --- hand-computed cases -----------------------------------------------------------------
def _sg(u, alpha=2.0):
    return alpha / 2 / (1 + (math.pi / 2 * alpha * u) ** 2)


@pytest.mark.parametrize("backend", ["torch", "cpu"])
@pytest.mark.parametrize("decay_input", [True, False])
def test_constant_input_spike_times(backend, decay_input):
    # tau=2, v_th=1, constant drive 1.6 (decay_input) == 0.8 raw: h = 0.8, 1.2 -> spike ...
    c = 1.6 if decay_input else 0.8
    x = torch.full((8, 1), c, dtype=torch.float64)
    expected = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1], dtype=torch.float64)[:, None]
    hard = LIFNode(backend=backend, decay_input=decay_input)
    assert torch.equal(hard(x), expected)
    assert hard.v.item() == 0.0  # reset at the last step
    soft = LIFNode(backend=backend, v_reset=None, decay_input=decay_input)
    # soft: h = .8, 1.2(s, v=.2), .9, 1.25(s, v=.25), .925, 1.2625(s), .93125, 1.265625(s)
    assert torch.equal(soft(x), expected)
    assert soft.v.item() == pytest.approx(0.265625, abs=1e-12)
    # drive 1.2: h = .6, .9, 1.05 -> spikes every third step
    x = torch.full((8, 1), 1.2 if decay_input else 0.6, dtype=torch.float64)
    assert hard(x)[:, 0].tolist() == [0, 0, 1, 0, 0, 1, 0, 0]
    assert hard.v.item() == pytest.approx(0.9, abs=1e-12)


@pytest.mark.parametrize("backend", ["torch", "cpu"])
@pytest.mark.parametrize("mode", MODES, ids=_ids)
def test_hand_computed_gradient(backend, mode):
    v_reset, detach, decay_input = mode
    # x (decay_input form) = [2.4, 1.0]: h1 = 1.2 spikes; loss = s[1] only
    scale = 1.0 if decay_input else 0.5
    x = torch.tensor([[2.4], [1.0]], dtype=torch.float64) * scale
    x.requires_grad_(True)
    node = LIFNode(backend=backend, v_reset=v_reset, detach_reset=detach,
                   decay_input=decay_input)
    s = node(x)
    assert s[:, 0].tolist() == [1.0, 0.0]
    (s[1, 0]).backward()
    if v_reset is not None:  # h2 = 0 + .5 * (1 - 0) = .5
        dh2 = _sg(0.5 - 1.0)
        dv_dh1 = 0.0 if detach else (0.0 - 1.2) * _sg(0.2)
    else:  # v1 = .2, h2 = .2 + .5 * (1 - .2) = .6
        dh2 = _sg(0.6 - 1.0)
        dv_dh1 = 1.0 if detach else 1.0 - _sg(0.2)
    dh1 = 0.0 * _sg(0.2) + dh2 * 0.5 * dv_dh1
    k = 0.5 if decay_input else 1.0
    expected = torch.tensor([[dh1 * k], [dh2 * k]], dtype=torch.float64)
    torch.testing.assert_close(x.grad, expected, rtol=1e-12, atol=1e-15)


# --- module behaviour --------------------------------------------------------------------
def test_state_resets_per_call_and_v_inspection():
    x = _random_input((5, 3, 7), torch.float32, seed=5)
    node = LIFNode(backend="cpu")
    a = node(x)
    v1 = node.v.clone()
    b = node(x)
    assert torch.equal(a, b) and torch.equal(v1, node.v)
    assert node.v.shape == (3, 7) and not node.v.requires_grad
    node.reset()
    assert node.v is None


def test_no_grad_half_auto_and_noncontiguous():
    x = _random_input((6, 4, 10), torch.float32, seed=6)
    ref = LIFNode(backend="torch")(x)
    auto = LIFNode(backend="auto")
    assert auto.resolve_backend(x) == "cpu"
    with torch.no_grad():
        assert torch.equal(auto(x), ref)
    # float16 on CPU is computed in float32 and cast back
    h = LIFNode(backend="cpu")(x.half())
    assert h.dtype == torch.float16
    # non-contiguous input with gradient
    xt = x.transpose(1, 2).contiguous().transpose(1, 2).requires_grad_(True)
    assert not xt.is_contiguous()
    out = LIFNode(backend="cpu")(xt)
    assert torch.equal(out, ref)
    out.sum().backward()
    assert xt.grad.shape == x.shape and torch.isfinite(xt.grad).all()


def test_fused_backends_need_atan():
    with pytest.raises(ValueError, match="ATan"):
        LIFNode(backend="cpu", surrogate=torch.sigmoid)
    with pytest.raises(ValueError, match="backend"):
        LIFNode(backend="triton")


@pytest.mark.skipif(cupy_available(), reason="CuPy is installed; testing the missing case")
def test_cupy_backend_without_cupy_raises():
    with pytest.raises(RuntimeError, match="CuPy"):
        LIFNode(backend="cupy")
    # 'auto' falls back silently
    assert LIFNode(backend="auto").resolve_backend(torch.zeros(2, 2)) == "cpu"


@pytest.mark.skipif(not cupy_available(), reason="CuPy not installed")
def test_cupy_backend_rejects_cpu_tensors():
    with pytest.raises(RuntimeError, match="CUDA"):
        LIFNode(backend="cupy")(torch.zeros(2, 3))


@pytest.mark.skipif(not (cupy_available() and torch.cuda.is_available()),
                    reason="needs CuPy and a CUDA GPU")
@pytest.mark.parametrize("mode", MODES, ids=_ids)
def test_cupy_matches_torch(mode):
    v_reset, detach, decay_input = mode
    kw = dict(v_reset=v_reset, detach_reset=detach, decay_input=decay_input)
    x = _random_input((8, 4, 1000), torch.float32, seed=7).cuda()
    grad = _random_input((8, 4, 1000), torch.float32, seed=8).cuda()
    s_ref, g_ref, v_ref = _run("torch", x, grad, **kw)
    s_gpu, g_gpu, v_gpu = _run("cupy", x, grad, **kw)
    # compiled with --fmad=false: the same IEEE float32 operations as the torch reference
    assert torch.equal(s_gpu, s_ref)
    assert torch.equal(v_gpu, v_ref)
    _assert_grad_close(g_gpu, g_ref, 1e-5)


# --- the CUDA source without a GPU ---------------------------------------------------------
def test_cuda_source_compiles_to_ptx(tmp_path):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc not on PATH: cannot compile lif_kernel.cu to PTX")
    ptx = cuda_check.compile_ptx(out_dir=str(tmp_path))
    text = ptx.read_text()
    entries = [line for line in text.splitlines() if ".entry" in line]
    assert len(entries) == 4, entries  # lif_forward/lif_backward x float/lif_half
    assert any("lif_forward" in e and "half" in e for e in entries)


def test_cuda_source_compiles_with_nvrtc():
    """The exact cupy-backend path (NVRTC, options, name_expressions) without a GPU."""
    try:
        out = cuda_check.compile_nvrtc()
    except cuda_check.ToolchainMissing as exc:
        pytest.skip(f"libnvrtc not available: {exc}")
    assert all(out["lowered"].values()), out["lowered"]
    for mangled in out["lowered"].values():
        assert f".entry {mangled}" in out["ptx"]


@pytest.fixture(scope="module")
def host_lif():
    if shutil.which("g++") is None:
        pytest.skip("g++ not on PATH: cannot build the host harness of lif_kernel.cu")
    return cuda_check.build_host_harness()


@pytest.mark.parametrize("mode", MODES, ids=_ids)
def test_host_harness_matches_torch(host_lif, mode):
    v_reset, detach, decay_input = mode
    kw = dict(v_reset=v_reset, decay_input=decay_input)
    x = _random_input((8, 3, 129), torch.float32, seed=9)
    grad = _random_input((8, 3, 129), torch.float32, seed=10)
    s_ref, g_ref, v_ref = _run("torch", x, grad, detach_reset=detach, **kw)
    s, h, v = host_lif.forward(x.numpy(), **kw)
    assert np.array_equal(s, s_ref.numpy())
    assert np.array_equal(v, v_ref.numpy())
    gx = host_lif.backward(grad.numpy(), h, detach_reset=detach, **kw)
    _assert_grad_close(torch.from_numpy(gx), g_ref, 1e-6)


def test_cupy_glue_against_host_harness(host_lif, monkeypatch):
    """Drive evframes.train._lif_cupy with a stand-in CuPy whose 'kernels' are the host
    harness: checks argument order/types of the launches against the .cu signatures."""
    import contextlib
    import types

    from evframes.train import _lif_cupy

    launched = []

    class FakeModule:
        def __init__(self, code, options, name_expressions):
            assert "lif_forward" in code and "__global__" in code
            self.names = set(name_expressions)

        def get_function(self, name):
            assert name in self.names

            def kernel(grid, block, args):
                launched.append(name)
                assert grid[0] * block[0] >= int(args[4 if "forward" in name else 3])
                a = [t.numpy() if isinstance(t, torch.Tensor) else t for t in args]
                if name.startswith("lif_forward"):
                    x, s, h, v, n, t, decay, v_th, v_reset, mode = a
                    if not isinstance(h, np.ndarray):  # null pointer: nothing to save
                        assert int(h) == 0
                        h = np.empty_like(x)
                    assert all(isinstance(p, np.float32) for p in (decay, v_th, v_reset))
                    host_lif._fwd(x, s, h, v, int(n), int(t), decay, v_th, v_reset, int(mode))
                else:
                    gs, h, gx, n, t, decay, v_th, v_reset, ha, pa, mode = a
                    host_lif._bwd(gs, h, gx, int(n), int(t), decay, v_th, v_reset, ha, pa,
                                  int(mode))
            return kernel

    fake = types.SimpleNamespace(
        RawModule=FakeModule, from_dlpack=lambda t: t,
        cuda=types.SimpleNamespace(Device=lambda i: contextlib.nullcontext(),
                                   ExternalStream=lambda p: contextlib.nullcontext()))
    monkeypatch.setattr(_lif_cupy, "_cupy", fake)
    monkeypatch.setattr(_lif_cupy, "_module", None)
    monkeypatch.setattr(torch.cuda, "current_stream",
                        lambda device=None: types.SimpleNamespace(cuda_stream=0))
    from evframes.train.cuda_check import mode_bits
    x = _random_input((8, 2, 300), torch.float32, seed=11)
    grad = _random_input((8, 2, 300), torch.float32, seed=12)
    for v_reset, detach, decay_input in MODES:
        s_ref, g_ref, v_ref = _run("torch", x, grad, v_reset=v_reset, detach_reset=detach,
                                   decay_input=decay_input)
        mode = mode_bits(v_reset is not None, detach, decay_input)
        vr = 0.0 if v_reset is None else v_reset
        x2 = x.view(8, -1)
        s, h, v = _lif_cupy.forward(x2, 0.5, 1.0, vr, mode, save_h=True)
        assert torch.equal(s.view_as(s_ref), s_ref) and torch.equal(v.view_as(v_ref), v_ref)
        gx = _lif_cupy.backward(grad.view(8, -1), h, 0.5, 1.0, vr, 2.0, mode)
        _assert_grad_close(gx.view_as(g_ref), g_ref, 1e-6)
        s2, h2, _ = _lif_cupy.forward(x2, 0.5, 1.0, vr, mode, save_h=False)
        assert h2 is None and torch.equal(s2, s)
    assert set(launched) == {"lif_forward<float>", "lif_backward<float>"}
