"""CuPy launcher for ``lif_kernel.cu`` (one CUDA thread per neuron, T loop inside).

Tensors are shared zero-copy between torch and CuPy through DLPack
(``cupy.from_dlpack(tensor)``); outputs are allocated by torch (so they live in torch's
caching allocator) and the kernels are launched on torch's current CUDA stream.
The module is compiled once per process by NVRTC (CuPy also caches the binary on disk).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch

_SOURCE = Path(__file__).resolve().parent / "lif_kernel.cu"
_NAMES = {
    ("forward", torch.float32): "lif_forward<float>",
    ("forward", torch.float16): "lif_forward<lif_half>",
    ("backward", torch.float32): "lif_backward<float>",
    ("backward", torch.float16): "lif_backward<lif_half>",
}
NAME_EXPRESSIONS = tuple(_NAMES.values())
# no FMA contraction: each float op rounds like the torch reference (bit-identical spikes)
NVRTC_OPTIONS = ("-std=c++14", "--fmad=false")
_THREADS = 256
_module = None
_cupy = None
_import_error: Optional[BaseException] = None


def cupy_module():
    """Import CuPy or raise a RuntimeError saying why the cupy backend is unavailable."""
    global _cupy, _import_error
    if _cupy is not None:
        return _cupy
    if _import_error is None:
        try:
            import cupy  # noqa: F401
            _cupy = cupy
            return cupy
        except BaseException as exc:  # ImportError, or CUDA driver problems at import
            _import_error = exc
    raise RuntimeError(
        "LIFNode backend='cupy' needs CuPy (pip install cupy-cuda12x, or the extra "
        f"'evframes[cuda]') and a CUDA GPU; importing cupy failed: {_import_error!r}. "
        "Use backend='cpu' (Numba) or 'torch' instead.")


def cupy_available() -> bool:
    try:
        cupy_module()
        return True
    except RuntimeError:
        return False


def _kernels():
    global _module
    cp = cupy_module()
    if _module is None:
        _module = cp.RawModule(code=_SOURCE.read_text(), options=NVRTC_OPTIONS,
                               name_expressions=list(NAME_EXPRESSIONS))
    return _module


def _kernel(kind: str, dtype: torch.dtype):
    try:
        name = _NAMES[(kind, dtype)]
    except KeyError:
        raise TypeError(f"cupy LIF kernels support float32 and float16, got {dtype}") from None
    return _kernels().get_function(name)


def _launch(kind: str, dtype: torch.dtype, device: torch.device, n: int, args: tuple) -> None:
    cp = cupy_module()
    kern = _kernel(kind, dtype)
    blocks = (n + _THREADS - 1) // _THREADS
    with cp.cuda.Device(device.index):
        # launch on torch's current stream so ordering with torch ops is preserved
        with cp.cuda.ExternalStream(torch.cuda.current_stream(device).cuda_stream):
            kern((blocks,), (_THREADS,), args)


def _ptr(t: Optional[torch.Tensor]):
    """A CuPy view of a torch CUDA tensor (zero copy), or a null pointer for None."""
    if t is None:
        return np.uint64(0)  # CuPy passes it as a raw (null) pointer argument
    return cupy_module().from_dlpack(t)


def forward(x2: torch.Tensor, decay: float, v_th: float, v_reset: float, mode: int,
            save_h: bool) -> Tuple[torch.Tensor, Optional[torch.Tensor], torch.Tensor]:
    """x2: contiguous CUDA [T, N] float32/float16 -> (spikes, h_seq or None, v_last)."""
    T, N = x2.shape
    if N >= 2 ** 31:
        raise ValueError("cupy LIF kernel indexes neurons with int32; N must be < 2**31")
    s = torch.empty_like(x2)
    h = torch.empty_like(x2) if save_h else None
    v = torch.empty(N, dtype=x2.dtype, device=x2.device)
    if N and T:
        args = (_ptr(x2), _ptr(s), _ptr(h), _ptr(v), np.int32(N), np.int32(T),
                np.float32(decay), np.float32(v_th), np.float32(v_reset), np.int32(mode))
        _launch("forward", x2.dtype, x2.device, N, args)
    elif N:
        v.fill_(v_reset)
    return s, h, v


def backward(grad_s: torch.Tensor, h_seq: torch.Tensor, decay: float, v_th: float,
             v_reset: float, alpha: float, mode: int) -> torch.Tensor:
    T, N = h_seq.shape
    gx = torch.empty_like(h_seq)
    if N and T:
        args = (_ptr(grad_s), _ptr(h_seq), _ptr(gx), np.int32(N), np.int32(T),
                np.float32(decay), np.float32(v_th), np.float32(v_reset),
                np.float32(alpha / 2), np.float32(math.pi / 2 * alpha), np.int32(mode))
        _launch("backward", h_seq.dtype, h_seq.device, N, args)
    return gx
