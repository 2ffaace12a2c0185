"""LIF neuron: fused CPU (Numba) kernels vs the torch reference, both vs hand-computed values
(so a bug shared by all backends still fails), torch.compile, and the cupy backend on a GPU
when there is one (the CUDA source without a GPU: test_lif_kernel.py)."""
import math

import pytest
import torch

from evframes.train._lif_cupy import cupy_available
from evframes.train.neuron import LIFNode
from evframes.train.surrogate import ATan

from lif_helpers import assert_grad_close, run_lif

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


@pytest.mark.parametrize("mode", MODES, ids=_ids)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_cpu_matches_torch(mode, dtype):
    v_reset, detach, decay_input = mode
    kw = dict(v_reset=v_reset, detach_reset=detach, decay_input=decay_input)
    # 8 x 5 x 2100 = several Numba blocks, N not a multiple of the block size
    x = _random_input((8, 5, 2100), dtype, seed=1)
    grad = _random_input((8, 5, 2100), dtype, seed=2)
    s_ref, g_ref, v_ref = run_lif("torch", x, grad, **kw)
    s_cpu, g_cpu, v_cpu = run_lif("cpu", x, grad, **kw)
    assert 0.05 < s_ref.mean().item() < 0.6
    assert torch.equal(s_cpu, s_ref)
    assert torch.equal(v_cpu, v_ref)
    assert_grad_close(g_cpu, g_ref, 1e-6 if dtype == torch.float32 else 1e-13)


@pytest.mark.parametrize("tau,v_th,v_reset", [(3.0, 0.7, -0.25), (1.5, 1.3, None)])
def test_cpu_matches_torch_other_params(tau, v_th, v_reset):
    kw = dict(tau=tau, v_threshold=v_th, v_reset=v_reset, detach_reset=False,
              surrogate=ATan(alpha=3.0))
    x = _random_input((6, 4, 33), torch.float32, seed=3)
    grad = _random_input((6, 4, 33), torch.float32, seed=4)
    s_ref, g_ref, v_ref = run_lif("torch", x, grad, **kw)
    s_cpu, g_cpu, v_cpu = run_lif("cpu", x, grad, **kw)
    assert torch.equal(s_cpu, s_ref) and torch.equal(v_cpu, v_ref)
    assert_grad_close(g_cpu, g_ref, 2e-6)


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
    s_ref, g_ref, v_ref = run_lif("torch", x, grad, **kw)
    s_gpu, g_gpu, v_gpu = run_lif("cupy", x, grad, **kw)
    # compiled with --fmad=false: the same IEEE float32 operations as the torch reference
    assert torch.equal(s_gpu, s_ref)
    assert torch.equal(v_gpu, v_ref)
    assert_grad_close(g_gpu, g_ref, 1e-5)


# --- torch.compile ---------------------------------------------------------------------
@pytest.mark.parametrize("v_reset", [0.0, None], ids=["hard", "soft"])
def test_torch_compile_matches_eager(v_reset):
    """The fused op is a registered custom op: Dynamo captures LIFNode(backend='cpu') in
    one graph (fullgraph=True: no graph break into Numba) and compiled == eager, forward
    and backward.  backend='aot_eager' (AOTAutograd + the op's fake implementation, no
    Inductor C++ build, which takes ~30 s here)."""
    torch._dynamo.reset()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, 40, generator=g) * 1.5 + 0.6
    w = torch.randn(3, 40, generator=g)
    node = LIFNode(backend="cpu", v_reset=v_reset, detach_reset=False)

    def f(inp):
        return (node(inp * 1.5) * w).sum()

    xe = x.clone().requires_grad_(True)
    le = f(xe)
    le.backward()
    ve = node.v.clone()
    xc = x.clone().requires_grad_(True)
    lc = torch.compile(f, backend="aot_eager", fullgraph=True)(xc)
    lc.backward()
    assert torch.equal(lc, le)
    assert torch.equal(node.v, ve)
    assert xe.grad.abs().sum() > 0
    torch.testing.assert_close(xc.grad, xe.grad, rtol=1e-6, atol=1e-7)


def test_fused_op_is_registered_with_fake_impl():
    """Meta tensors go through the op's fake implementation (shapes and dtypes only)."""
    from evframes.train import _lif_op
    assert _lif_op.CUSTOM_OP and hasattr(torch.ops.evframes, "lif_forward")
    x = torch.empty(5, 7, device="meta", dtype=torch.bfloat16)
    s, v, h = torch.ops.evframes.lif_forward(x, "cupy", 0.5, 1.0, 0.0, 2.0, True, True,
                                             True, True)
    assert s.shape == (5, 7) and s.dtype == torch.bfloat16 and v.shape == (7,)
    assert h.shape == (5, 7) and h.dtype == torch.float32  # cupy saves float32 h


def test_fallback_without_custom_op_api():
    """torch < 2.4 (no torch.library.custom_op): the autograd.Function fallback gives the
    same spikes and gradients as the torch reference, meta tensors included."""
    import subprocess
    import sys
    code = """
import torch, torch.distributed.tensor, torch._dynamo  # torch itself uses custom_op
del torch.library.custom_op
from evframes.train import _lif_op
from evframes.train.neuron import LIFNode
assert not _lif_op.CUSTOM_OP
g = torch.Generator().manual_seed(0)
x = torch.randn(6, 3, 40, generator=g) * 1.5 + 0.6
out = []
for b in ("torch", "cpu"):
    xx = x.clone().requires_grad_(True)
    s = LIFNode(backend=b, detach_reset=False)(xx)
    (s * torch.arange(40.)).sum().backward()
    out.append((s, xx.grad))
assert torch.equal(out[0][0], out[1][0])
torch.testing.assert_close(out[0][1], out[1][1], rtol=1e-6, atol=1e-7)
m = LIFNode(backend="cpu")(torch.empty(4, 2, 5, device="meta", requires_grad=True))
assert m.shape == (4, 2, 5) and m.device.type == "meta"
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
