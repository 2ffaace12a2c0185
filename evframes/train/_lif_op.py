"""The fused multi-step LIF op (Numba ``cpu`` / CUDA ``cupy`` kernels) for autograd and
``torch.compile``.

:func:`lif_fused` takes a contiguous ``[T, N]`` tensor and returns ``(spikes [T, N],
v_last [N])``; only the spikes carry gradient.  It is registered as the custom operators
``evframes::lif_forward`` / ``evframes::lif_backward`` (``torch.library.custom_op``), with
fake (meta) implementations giving shapes and dtypes, so ``torch.compile`` (Dynamo,
AOTAutograd, Inductor) treats each call as one opaque node of the graph instead of tracing
into Numba or CuPy, and meta tensors (``models.estimate_activation_bytes``) propagate
shapes without computing.  On a torch without ``torch.library.custom_op`` (< 2.4) the
same implementations run through an ``autograd.Function`` that ``torch.compile`` is told
not to trace (``torch.compiler.disable``).

What the backward needs: ``kind='cpu'`` saves the input ``x`` and recomputes ``h`` block by
block in cache; ``kind='cupy'`` saves the charged potential ``h`` as float32 whatever
``x``'s dtype (4 bytes per neuron-step), so the spikes the backward recomputes from it are
the ones the forward fired (a half-precision ``h`` just below the threshold can round up
onto it).
"""
from __future__ import annotations

import math
from typing import Tuple

import numpy as np
import torch

__all__ = ["lif_fused", "CUSTOM_OP"]

_NUMBA_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}
CUSTOM_OP = hasattr(torch.library, "custom_op")


# --------------------------------------------------------------------------------------
# implementations on real tensors
# --------------------------------------------------------------------------------------
def _forward_impl(x2, kind, decay, v_th, v_reset, hard, decay_input, detach, save):
    """-> (spikes, v_last, h float32 [T, N] for cupy+save else an empty tensor)."""
    if kind == "cpu":
        from ._lif_cpu import block_size, lif_forward
        T, N = x2.shape
        f = _NUMBA_DTYPES[x2.dtype]
        s = torch.empty_like(x2, memory_format=torch.contiguous_format)
        v = torch.empty(N, dtype=x2.dtype)
        if T == 0:
            v.fill_(v_reset)
        elif N:
            lif_forward(x2.detach().numpy(), s.numpy(), v.numpy(), f(decay), f(v_th),
                        f(v_reset), block_size(T, x2.element_size()), bool(hard),
                        bool(decay_input))
        return s, v, x2.new_empty(0)
    from . import _lif_cupy
    s, h, v = _lif_cupy.forward(x2, decay, v_th, v_reset,
                                _lif_cupy.mode_bits(hard, detach, decay_input), save)
    return s, v, (h if h is not None else x2.new_empty(0))


def _backward_impl(saved, grad_s, kind, decay, v_th, v_reset, alpha, hard, decay_input,
                   detach):
    """``saved``: x (cpu) or float32 h (cupy); ``grad_s`` in x's dtype -> dL/dx."""
    if kind == "cpu":
        from ._lif_cpu import block_size, lif_backward
        T, N = saved.shape
        f = _NUMBA_DTYPES[saved.dtype]
        gx = torch.empty_like(saved, memory_format=torch.contiguous_format)
        if T and N:
            lif_backward(saved.detach().numpy(), grad_s.numpy(), gx.numpy(), f(decay),
                         f(v_th), f(v_reset), f(alpha / 2), f(math.pi / 2 * alpha),
                         block_size(T, saved.element_size()), bool(hard), bool(decay_input),
                         bool(detach))
        return gx
    from . import _lif_cupy
    return _lif_cupy.backward(grad_s, saved, decay, v_th, v_reset, alpha,
                              _lif_cupy.mode_bits(hard, detach, decay_input))


def _forward_fake(x2, kind, save):
    s = torch.empty_like(x2, memory_format=torch.contiguous_format)
    v = x2.new_empty(x2.shape[1:])
    h = x2.new_empty(x2.shape, dtype=torch.float32) if (kind == "cupy" and save) \
        else x2.new_empty(0)
    return s, v, h


def _grad_in(grad_s, x_meta):
    """dL/dspikes in x's dtype, contiguous (zeros when the spikes got no gradient)."""
    shape, dtype, device = x_meta
    if grad_s is None:
        return torch.zeros(shape, dtype=dtype, device=device)
    return grad_s.to(dtype).contiguous()


# --------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------
if CUSTOM_OP:
    @torch.library.custom_op("evframes::lif_forward", mutates_args=())
    def _lif_forward_op(x2: torch.Tensor, kind: str, decay: float, v_th: float,
                        v_reset: float, alpha: float, hard: bool, decay_input: bool,
                        detach: bool, save: bool
                        ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s, v, h = _forward_impl(x2, kind, decay, v_th, v_reset, hard, decay_input, detach,
                                save)
        return s, v, h

    @_lif_forward_op.register_fake
    def _(x2, kind, decay, v_th, v_reset, alpha, hard, decay_input, detach, save):
        return _forward_fake(x2, kind, save)

    @torch.library.custom_op("evframes::lif_backward", mutates_args=())
    def _lif_backward_op(saved: torch.Tensor, grad_s: torch.Tensor, kind: str,
                         decay: float, v_th: float, v_reset: float, alpha: float,
                         hard: bool, decay_input: bool, detach: bool) -> torch.Tensor:
        return _backward_impl(saved, grad_s, kind, decay, v_th, v_reset, alpha, hard,
                              decay_input, detach)

    @_lif_backward_op.register_fake
    def _(saved, grad_s, kind, decay, v_th, v_reset, alpha, hard, decay_input, detach):
        return torch.empty_like(grad_s, memory_format=torch.contiguous_format)

    def _setup_context(ctx, inputs, output):
        x2, kind, decay, v_th, v_reset, alpha, hard, decay_input, detach, save = inputs
        s, v, h = output
        ctx.mark_non_differentiable(v, h)
        ctx.set_materialize_grads(False)  # no zero-filled [T, N] grads for v and h
        if save:
            ctx.save_for_backward(x2 if kind == "cpu" else h)
        ctx.params = (kind, decay, v_th, v_reset, alpha, hard, decay_input, detach)
        ctx.x_meta = (x2.shape, x2.dtype, x2.device)

    def _backward(ctx, grad_s, grad_v, grad_h):
        (saved,) = ctx.saved_tensors
        gx = _lif_backward_op(saved, _grad_in(grad_s, ctx.x_meta), *ctx.params)
        return gx, None, None, None, None, None, None, None, None, None

    _lif_forward_op.register_autograd(_backward, setup_context=_setup_context)

    def _apply(x2, kind, decay, v_th, v_reset, alpha, hard, decay_input, detach, save):
        s, v, _ = _lif_forward_op(x2, kind, decay, v_th, v_reset, alpha, hard, decay_input,
                                  detach, save)
        return s, v

else:  # torch < 2.4 (tested by test_neuron.py::test_fallback_without_custom_op_api)
    class _LIFFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x2, kind, decay, v_th, v_reset, alpha, hard, decay_input, detach,
                    save):
            if x2.is_meta:
                s, v, h = _forward_fake(x2, kind, save)
            else:
                s, v, h = _forward_impl(x2, kind, decay, v_th, v_reset, hard, decay_input,
                                        detach, save)
            ctx.mark_non_differentiable(v)
            if save:
                ctx.save_for_backward(x2 if kind == "cpu" else h)
            ctx.params = (kind, decay, v_th, v_reset, alpha, hard, decay_input, detach)
            ctx.x_meta = (x2.shape, x2.dtype, x2.device)
            return s, v

        @staticmethod
        def backward(ctx, grad_s, grad_v):
            (saved,) = ctx.saved_tensors
            gx = _backward_impl(saved, _grad_in(grad_s, ctx.x_meta), *ctx.params)
            return gx, None, None, None, None, None, None, None, None, None

    def _apply(*args):
        return _LIFFunction.apply(*args)

    if hasattr(torch, "compiler") and hasattr(torch.compiler, "disable"):
        _apply = torch.compiler.disable(_apply)


def lif_fused(x2: torch.Tensor, kind: str, decay: float, v_th: float, v_reset: float,
              alpha: float, hard: bool, decay_input: bool, detach: bool,
              save: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """``x2``: contiguous ``[T, N]`` (float32/float64 for ``cpu``; float32/float16/
    bfloat16 for ``cupy``) -> ``(spikes [T, N], v_last [N])``.  ``save``: keep what the
    backward needs (pass ``torch.is_grad_enabled() and x2.requires_grad``)."""
    return _apply(x2, kind, float(decay), float(v_th), float(v_reset), float(alpha),
                  bool(hard), bool(decay_input), bool(detach), bool(save))
