"""Multi-step leaky integrate-and-fire (LIF) neuron with three interchangeable backends.

Dynamics per time step (``decay = 1 / tau``; for soft reset ``v_reset`` reads as 0 in the
charge)::

    decay_input=True :  h[t] = v[t-1] + decay * (x[t] - (v[t-1] - v_reset))
    decay_input=False:  h[t] = v[t-1] - decay * (v[t-1] - v_reset) + x[t]
    s[t] = (h[t] - v_th >= 0)                         (Heaviside; ATan surrogate backward)
    hard reset:  v[t] = h[t] * (1 - s[t]) + v_reset * s[t]
    soft reset:  v[t] = h[t] - v_th * s[t]

with ``v[-1] = v_reset`` (hard) or ``0`` (soft).  State does not persist across calls:
every ``forward`` starts from the resting potential, so no ``reset_net`` is needed between
batches.  After a call, :attr:`LIFNode.v` holds the (detached) potential after the last
step, for inspection.

Backward (reverse time, ``sg = ATan'(h - v_th)``; only the spikes are outputs so the
explicit dL/dv[t] is 0)::

    dh[t] = dS[t] * sg[t] + dh[t+1] * (1 - decay) * dv_dh[t]
    dv_dh = 1 - s + (v_reset - h) * sg     hard reset        (1 - s  if detach_reset)
    dv_dh = 1 - v_th * sg                  soft reset        (1      if detach_reset)
    dX[t] = dh[t] * decay  (decay_input)   or   dh[t]

(the charge's dh[t+1]/dv[t] is ``1 - decay`` in all four charge forms).

Backends
--------
``torch``  reference: plain autograd ops, Python loop over T (any device, any dtype).
``cpu``    fused Numba kernels (``_lif_cpu``), parallel over neurons, float32/float64
           (other dtypes are computed in float32); saves only its input for backward
           and recomputes ``h`` there, one cache-sized block of neurons at a time.
``cupy``   CUDA kernels from ``lif_kernel.cu`` via ``cupy.RawModule``; float32, float16
           and bfloat16 stored natively (other dtypes in float32), arithmetic in float32;
           zero copy (raw device pointers, torch's current stream); saves ``h`` in
           float32 (4 bytes per neuron-step whatever the input dtype), so the backward
           sees exactly the spikes the forward fired.
``auto``   ``cupy`` for CUDA tensors when CuPy imports, ``torch`` for other CUDA tensors,
           ``cpu`` for CPU tensors.

The fused backends are one registered custom op (``evframes::lif_forward`` /
``evframes::lif_backward``, see :mod:`evframes.train._lif_op`): ``torch.compile`` keeps each
LIF call as one node of the graph instead of tracing into Numba or CuPy.
Meta tensors (used by :func:`evframes.train.models.estimate_activation_bytes`) run the
torch path for ``backend='torch'`` and the op's shape-only implementation otherwise.
The fused backends only accept the :class:`~evframes.train.surrogate.ATan` surrogate (its
``alpha`` is passed to the kernels).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import nn

from ._lif_op import lif_fused
from .surrogate import ATan

__all__ = ["LIFNode", "BACKENDS", "lif_multistep"]

BACKENDS = ("torch", "cpu", "cupy", "auto")
_CPU_DTYPES = (torch.float32, torch.float64)
_CUPY_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


# --------------------------------------------------------------------------------------
# torch reference
# --------------------------------------------------------------------------------------
def _lif_torch(x: torch.Tensor, decay: float, v_th: float, v_reset: Optional[float],
               decay_input: bool, detach_reset: bool, surrogate: Callable):
    hard = v_reset is not None
    vr = v_reset if hard else 0.0
    v = torch.full_like(x[0], vr)
    spikes = []
    for t in range(x.shape[0]):
        xt = x[t]
        if decay_input:
            h = v + decay * (xt - (v - vr))
        else:
            h = v - decay * (v - vr) + xt
        s = surrogate(h - v_th)
        sd = s.detach() if detach_reset else s
        if hard:
            v = h * (1.0 - sd) + vr * sd
        else:
            v = h - v_th * sd
        spikes.append(s)
    return torch.stack(spikes), v


def lif_multistep(x: torch.Tensor, tau: float = 2.0, v_threshold: float = 1.0,
                  v_reset: Optional[float] = 0.0, decay_input: bool = True,
                  detach_reset: bool = True, surrogate: Optional[Callable] = None,
                  backend: str = "torch"):
    """Functional multi-step LIF: ``x`` [T, ...] -> ``(spikes [T, ...], v_last [...])``.

    ``backend`` must be resolved already (``torch``, ``cpu`` or ``cupy``).
    """
    surrogate = ATan() if surrogate is None else surrogate
    decay = 1.0 / tau
    if backend == "torch":
        return _lif_torch(x, decay, v_threshold, v_reset, decay_input, detach_reset, surrogate)
    if not isinstance(surrogate, ATan):
        raise ValueError(f"backend={backend!r} only supports the ATan surrogate, "
                         f"got {type(surrogate).__name__}; use backend='torch'")
    meta = x.device.type == "meta"  # shape-only propagation (models.estimate_*)
    if backend == "cpu":
        if x.device.type != "cpu" and not meta:
            raise RuntimeError(f"LIFNode backend='cpu' got a tensor on {x.device}; "
                               "use backend='cupy', 'torch' or 'auto'")
        compute = x.dtype if x.dtype in _CPU_DTYPES else torch.float32
    elif backend == "cupy":
        if not meta:
            _require_cuda(x)
        compute = x.dtype if x.dtype in _CUPY_DTYPES else torch.float32
    else:
        raise ValueError(f"unknown LIF backend {backend!r}; expected one of {BACKENDS}")
    shape = x.shape
    x2 = x.to(compute).contiguous().view(shape[0], -1)
    hard = v_reset is not None
    s, v = lif_fused(x2, backend, decay, float(v_threshold),
                     float(v_reset) if hard else 0.0, surrogate.alpha, hard,
                     bool(decay_input), bool(detach_reset),
                     torch.is_grad_enabled() and x2.requires_grad)
    return s.view(shape).to(x.dtype), v.view(shape[1:]).to(x.dtype)


def _require_cuda(x: torch.Tensor) -> None:
    """backend='cupy' runs on CUDA tensors only, and needs CuPy (clear errors otherwise)."""
    if x.device.type != "cuda":
        raise RuntimeError(f"LIFNode backend='cupy' needs CUDA tensors, got {x.device}; "
                           "use backend='cpu' or 'auto' for CPU tensors")
    if not _compiling():  # the import probe stays out of torch.compile's graph
        from ._lif_cupy import cupy_module
        cupy_module()


def _compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and hasattr(compiler, "is_compiling")
                and compiler.is_compiling())


class LIFNode(nn.Module):
    """Multi-step LIF neuron: input ``[T, N, ...]`` -> spikes of the same shape.

    Parameters mirror SpikingJelly's ``LIFNode`` (``step_mode='m'``): ``tau`` (decay
    ``1/tau``), ``v_threshold``, ``v_reset`` (``None`` = soft reset), ``decay_input``,
    ``detach_reset``, ``surrogate`` (default ``ATan(alpha=2.0)``) and ``backend``
    (``'torch' | 'cpu' | 'cupy' | 'auto'``, see the module docstring).

    After a forward call :attr:`v` holds the detached potential after the last step
    (shape ``[N, ...]``) unless ``store_v=False`` (the networks in
    :mod:`evframes.train.models` turn it off to save memory).
    """

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, decay_input: bool = True,
                 detach_reset: bool = True, surrogate: Optional[Callable] = None,
                 backend: str = "torch", store_v: bool = True):
        super().__init__()
        if tau <= 1.0:
            raise ValueError(f"tau must be > 1 (decay = 1/tau < 1), got {tau}")
        if backend not in BACKENDS:
            raise ValueError(f"unknown LIF backend {backend!r}; expected one of {BACKENDS}")
        self.tau = float(tau)
        self.v_threshold = float(v_threshold)
        self.v_reset = None if v_reset is None else float(v_reset)
        self.decay_input = bool(decay_input)
        self.detach_reset = bool(detach_reset)
        self.surrogate = ATan(2.0) if surrogate is None else surrogate
        if backend in ("cpu", "cupy") and not isinstance(self.surrogate, ATan):
            raise ValueError(f"backend={backend!r} only supports the ATan surrogate")
        if backend == "cupy":
            from ._lif_cupy import cupy_module
            cupy_module()  # fail early and clearly
        self.backend = backend
        self.store_v = bool(store_v)
        self.v: Optional[torch.Tensor] = None

    @property
    def decay(self) -> float:
        return 1.0 / self.tau

    def reset(self) -> None:
        """Forget the inspected potential (state never carries across calls anyway)."""
        self.v = None

    def resolve_backend(self, x: torch.Tensor) -> str:
        """The backend that will actually run for ``x``."""
        if x.device.type == "meta":  # shape-only run that mimics what the backend saves
            if self.backend == "torch" or not isinstance(self.surrogate, ATan):
                return "torch"
            return "cupy" if self.backend == "cupy" else "cpu"
        if self.backend != "auto":
            return self.backend
        if not isinstance(self.surrogate, ATan):
            return "torch"
        if x.device.type == "cuda":
            from ._lif_cupy import cupy_available
            return "cupy" if cupy_available() else "torch"
        if x.device.type == "cpu":
            return "cpu"
        return "torch"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2:
            raise ValueError(f"LIFNode is multi-step: expected [T, N, ...], got {tuple(x.shape)}")
        spikes, v = lif_multistep(x, self.tau, self.v_threshold, self.v_reset,
                                  self.decay_input, self.detach_reset, self.surrogate,
                                  self.resolve_backend(x))
        self.v = v.detach() if self.store_v else None
        return spikes

    def extra_repr(self) -> str:
        return (f"tau={self.tau}, v_threshold={self.v_threshold}, v_reset={self.v_reset}, "
                f"decay_input={self.decay_input}, detach_reset={self.detach_reset}, "
                f"backend={self.backend!r}, store_v={self.store_v}")
