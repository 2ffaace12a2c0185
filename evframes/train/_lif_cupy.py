"""CuPy launcher for ``lif_kernel.cu`` (one CUDA thread per neuron, T loop inside).

torch tensors reach the kernels as raw device pointers (``tensor.data_ptr()``), never
through DLPack: DLPack refuses tensors that require grad (``BufferError``), and autograd
hands the op exactly those.  Outputs are allocated by torch (so they live in torch's
caching allocator) and the kernels are launched on torch's current CUDA stream of the
tensors' device, so ordering with torch ops, side streams included, is preserved.
The module is compiled by NVRTC once per process and device (CuPy also caches the binary
on disk).

Storage types: float32, float16 and bfloat16 (arithmetic in float32 for all three).  The
charged potential ``h`` saved for the backward is float32 whatever the storage type.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch

__all__ = ["KERNEL_SOURCE", "NAME_EXPRESSIONS", "NVRTC_OPTIONS", "DTYPES", "mode_bits",
           "cupy_module", "cupy_available", "forward", "backward"]

KERNEL_SOURCE = Path(__file__).resolve().parent / "lif_kernel.cu"
_STORAGE = {torch.float32: "float", torch.float16: "lif_half", torch.bfloat16: "lif_bf16"}
DTYPES = tuple(_STORAGE)
_NAMES = {(kind, dt): f"lif_{kind}<{s}>" for kind in ("forward", "backward")
          for dt, s in _STORAGE.items()}
NAME_EXPRESSIONS = tuple(_NAMES.values())
# no FMA contraction: each float op rounds like the torch reference (bit-identical spikes)
NVRTC_OPTIONS = ("-std=c++14", "--fmad=false")
_THREADS = 256
_MAX_BLOCKS = 2 ** 31 - 1  # gridDim.x limit
LIF_HARD, LIF_DETACH, LIF_DECAY_INPUT = 1, 2, 4
_modules: Dict[int, object] = {}  # device index -> cupy.RawModule
_cupy = None
_import_error: Optional[BaseException] = None


def mode_bits(hard: bool, detach: bool, decay_input: bool) -> int:
    """The ``mode`` integer understood by the kernels in ``lif_kernel.cu``."""
    return (LIF_HARD if hard else 0) | (LIF_DETACH if detach else 0) | \
        (LIF_DECAY_INPUT if decay_input else 0)


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


def _kernel(kind: str, dtype: torch.dtype, device_index: int):
    try:
        name = _NAMES[(kind, dtype)]
    except KeyError:
        raise TypeError(f"cupy LIF kernels support {', '.join(map(str, DTYPES))}, "
                        f"got {dtype}") from None
    module = _modules.get(device_index)
    if module is None:
        module = cupy_module().RawModule(code=KERNEL_SOURCE.read_text(),
                                         options=NVRTC_OPTIONS,
                                         name_expressions=list(NAME_EXPRESSIONS))
        _modules[device_index] = module
    return module.get_function(name)


def _launch(kind: str, dtype: torch.dtype, device: torch.device, n: int, args: tuple) -> None:
    cp = cupy_module()
    blocks = (n + _THREADS - 1) // _THREADS
    if blocks > _MAX_BLOCKS:
        raise ValueError(f"cupy LIF kernel: {n} neurons need more than {_MAX_BLOCKS} blocks")
    index = device.index if device.index is not None else torch.cuda.current_device()
    with cp.cuda.Device(index):  # the module is loaded and the kernel runs on this device
        kern = _kernel(kind, dtype, index)
        # torch's current stream of that device, so ordering with torch ops is preserved
        with cp.cuda.ExternalStream(torch.cuda.current_stream(device).cuda_stream):
            kern((blocks,), (_THREADS,), args)


def _ptr(t: Optional[torch.Tensor]):
    """The device address of a contiguous tensor as a kernel argument (null for None)."""
    if t is None:
        return np.uint64(0)  # CuPy passes a numpy uint64 as the raw 8-byte value
    if not t.is_contiguous():
        raise ValueError("cupy LIF kernels need contiguous tensors")
    return np.uint64(t.data_ptr())


def forward(x2: torch.Tensor, decay: float, v_th: float, v_reset: float, mode: int,
            save_h: bool) -> Tuple[torch.Tensor, Optional[torch.Tensor], torch.Tensor]:
    """x2: contiguous CUDA [T, N] float32/float16/bfloat16 -> (spikes, h float32 or None,
    v_last).  ``x2`` may require grad: only its address is read."""
    T, N = x2.shape
    if T >= 2 ** 31:
        raise ValueError(f"cupy LIF kernel: T={T} must be < 2**31")
    s = torch.empty_like(x2, memory_format=torch.contiguous_format)
    h = torch.empty(x2.shape, dtype=torch.float32, device=x2.device) if save_h else None
    v = torch.empty(N, dtype=x2.dtype, device=x2.device)
    if N and T:
        args = (_ptr(x2), _ptr(s), _ptr(h), _ptr(v), np.int64(N), np.int32(T),
                np.float32(decay), np.float32(v_th), np.float32(v_reset), np.int32(mode))
        _launch("forward", x2.dtype, x2.device, N, args)
    elif N:
        v.fill_(v_reset)
    return s, h, v


def backward(grad_s: torch.Tensor, h_seq: torch.Tensor, decay: float, v_th: float,
             v_reset: float, alpha: float, mode: int) -> torch.Tensor:
    """grad_s: [T, N] in the forward's storage dtype, h_seq: float32 -> dL/dx (grad_s's
    dtype)."""
    T, N = h_seq.shape
    if h_seq.dtype != torch.float32 or h_seq.device != grad_s.device or \
            grad_s.shape != h_seq.shape:
        raise ValueError(f"cupy LIF backward: h_seq {h_seq.dtype} {tuple(h_seq.shape)} on "
                         f"{h_seq.device} (must be float32), grad {tuple(grad_s.shape)} on "
                         f"{grad_s.device}")
    gx = torch.empty_like(grad_s, memory_format=torch.contiguous_format)
    if N and T:
        args = (_ptr(grad_s), _ptr(h_seq), _ptr(gx), np.int64(N), np.int32(T),
                np.float32(decay), np.float32(v_th), np.float32(v_reset),
                np.float32(alpha / 2), np.float32(math.pi / 2 * alpha), np.int32(mode))
        _launch("backward", grad_s.dtype, grad_s.device, N, args)
    return gx
