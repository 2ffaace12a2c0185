"""Build checks for the LIF CUDA source that run without a GPU.

* :func:`compile_ptx` runs ``nvcc -ptx`` on ``lif_kernel.cu`` (both precisions are
  explicitly instantiated, so the PTX must contain four ``.entry`` kernels).
* :func:`compile_nvrtc` compiles it in-process with libnvrtc exactly as the ``cupy``
  backend does (same options and ``name_expressions``) and returns the lowered names.
* :func:`build_host_harness` compiles ``lif_host_harness.cpp`` (which ``#include``\\ s the
  ``.cu``; the ``__host__ __device__`` per-neuron functions become plain inline C++) with
  g++ into a cache directory and returns a :class:`HostLIF` ctypes wrapper whose
  ``forward`` / ``backward`` take numpy float32 arrays.  The tests compare it with the torch
  reference, which checks the arithmetic of the CUDA source on machines without a GPU.

All raise :class:`ToolchainMissing` (a ``RuntimeError``) when the compiler is not on PATH,
so callers (tests) can skip with a clear reason.
"""
from __future__ import annotations

import ctypes
import hashlib
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

__all__ = ["KERNEL_SOURCE", "HARNESS_SOURCE", "ToolchainMissing", "compile_ptx",
           "compile_nvrtc", "build_host_harness", "HostLIF", "mode_bits"]

_HERE = Path(__file__).resolve().parent
KERNEL_SOURCE = _HERE / "lif_kernel.cu"
HARNESS_SOURCE = _HERE / "lif_host_harness.cpp"

LIF_HARD, LIF_DETACH, LIF_DECAY_INPUT = 1, 2, 4


class ToolchainMissing(RuntimeError):
    """The requested compiler (nvcc / g++) is not available."""


def mode_bits(hard: bool, detach: bool, decay_input: bool) -> int:
    """The ``mode`` integer understood by the kernels in ``lif_kernel.cu``."""
    return (LIF_HARD if hard else 0) | (LIF_DETACH if detach else 0) | \
        (LIF_DECAY_INPUT if decay_input else 0)


def _which(exe: str) -> str:
    path = shutil.which(exe)
    if path is None:
        raise ToolchainMissing(f"{exe!r} not found on PATH")
    return path


def _run(cmd: Sequence[str], what: str) -> None:
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                           f"{proc.stdout}\n{proc.stderr}")


def compile_ptx(nvcc: str = "nvcc", out_dir: Optional[str] = None,
                extra_args: Sequence[str] = ()) -> Path:
    """Compile ``lif_kernel.cu`` with ``nvcc -ptx``; return the ``.ptx`` path.

    ``out_dir`` defaults to a fresh temporary directory.  Raises :class:`ToolchainMissing`
    if ``nvcc`` is not found and ``RuntimeError`` (with the compiler output) on failure.
    """
    exe = _which(nvcc)
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="evframes-ptx-"))
    out.mkdir(parents=True, exist_ok=True)
    ptx = out / "lif_kernel.ptx"
    _run([exe, "-ptx", *extra_args, str(KERNEL_SOURCE), "-o", str(ptx)], "nvcc -ptx")
    return ptx


def _find_nvrtc() -> str:
    env = os.environ.get("EVFRAMES_NVRTC_LIB")
    if env:
        return env
    import ctypes.util
    found = ctypes.util.find_library("nvrtc")
    if found:
        return found
    try:  # NVIDIA pip wheels (nvidia-cuda-nvrtc-cu12 / nvidia/cu13)
        import nvidia  # type: ignore
        for base in getattr(nvidia, "__path__", []):
            for cand in sorted(Path(base).glob("**/lib/libnvrtc.so*")):
                if "builtins" not in cand.name and "alt" not in cand.name:
                    return str(cand)
    except ImportError:
        pass
    raise ToolchainMissing("libnvrtc not found (set EVFRAMES_NVRTC_LIB=/path/libnvrtc.so)")


def compile_nvrtc(arch: str = "compute_75", lib: Optional[str] = None) -> dict:
    """Compile ``lif_kernel.cu`` with NVRTC like the cupy backend; no GPU needed.

    Returns ``{"lowered": {name_expression: mangled_name}, "ptx": str}``.  Raises
    :class:`ToolchainMissing` when libnvrtc cannot be loaded, ``RuntimeError`` with the
    compile log on failure.
    """
    from ._lif_cupy import NAME_EXPRESSIONS, NVRTC_OPTIONS
    path = lib or _find_nvrtc()
    here = Path(path).parent
    for builtins in sorted(here.glob("libnvrtc-builtins.so*")):  # so the soname resolves
        if "alt" not in builtins.name:
            try:
                ctypes.CDLL(str(builtins), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                pass
    try:
        nvrtc = ctypes.CDLL(path)
    except OSError as exc:
        raise ToolchainMissing(f"cannot load libnvrtc ({path}): {exc}") from None
    prog = ctypes.c_void_p()
    src = KERNEL_SOURCE.read_bytes()
    if nvrtc.nvrtcCreateProgram(ctypes.byref(prog), src, b"lif_kernel.cu", 0, None, None):
        raise RuntimeError("nvrtcCreateProgram failed")
    try:
        names = [n.encode() for n in NAME_EXPRESSIONS]
        for n in names:
            nvrtc.nvrtcAddNameExpression(prog, n)
        opts = [o.encode() for o in NVRTC_OPTIONS] + [f"--gpu-architecture={arch}".encode()]
        argv = (ctypes.c_char_p * len(opts))(*opts)
        rc = nvrtc.nvrtcCompileProgram(prog, len(opts), argv)
        size = ctypes.c_size_t()
        nvrtc.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        nvrtc.nvrtcGetProgramLog(prog, log)
        if rc != 0:
            raise RuntimeError(f"NVRTC compile failed (status {rc}):\n"
                               f"{log.value.decode(errors='replace')}")
        lowered = {}
        for n in names:
            out = ctypes.c_char_p()
            nvrtc.nvrtcGetLoweredName(prog, n, ctypes.byref(out))
            lowered[n.decode()] = out.value.decode() if out.value else None
        nvrtc.nvrtcGetPTXSize(prog, ctypes.byref(size))
        ptx = ctypes.create_string_buffer(size.value)
        nvrtc.nvrtcGetPTX(prog, ptx)
        return {"lowered": lowered, "ptx": ptx.value.decode()}
    finally:
        nvrtc.nvrtcDestroyProgram(ctypes.byref(prog))


def _cache_dir() -> Path:
    base = os.environ.get("EVFRAMES_CACHE_DIR") or os.path.join(tempfile.gettempdir(),
                                                                 f"evframes-{os.getuid()}")
    path = Path(base) / "lif_host"
    path.mkdir(parents=True, exist_ok=True)
    return path


_FLAGS = ["-O2", "-shared", "-fPIC", "-ffp-contract=off", "-std=c++14"]


def build_host_harness(cxx: str = "g++", force: bool = False) -> "HostLIF":
    """Compile (or reuse from the cache) the host harness and return a :class:`HostLIF`.

    The library name includes a hash of both sources and the flags, so edits rebuild it.
    """
    exe = _which(cxx)
    digest = hashlib.sha1()
    for src in (KERNEL_SOURCE, HARNESS_SOURCE):
        digest.update(src.read_bytes())
    digest.update(" ".join([exe] + _FLAGS).encode())
    lib = _cache_dir() / f"liblif_host_{digest.hexdigest()[:16]}.so"
    if force or not lib.exists():
        tmp = lib.with_suffix(f".{os.getpid()}.tmp")
        _run([exe, *_FLAGS, str(HARNESS_SOURCE), "-o", str(tmp)], f"{cxx} host harness")
        os.replace(tmp, lib)  # atomic: concurrent builders never load a half-written file
    return HostLIF(lib)


_f32p = np.ctypeslib.ndpointer(dtype=np.float32, flags="C_CONTIGUOUS")


class HostLIF:
    """ctypes view of ``liblif_host``: float32 multi-step LIF on ``[T, N]`` arrays."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lib = ctypes.CDLL(str(self.path))
        fwd = self._lib.lif_host_forward_f32
        fwd.restype = None
        fwd.argtypes = [_f32p, _f32p, _f32p, _f32p, ctypes.c_long, ctypes.c_long,
                        ctypes.c_float, ctypes.c_float, ctypes.c_float, ctypes.c_int]
        bwd = self._lib.lif_host_backward_f32
        bwd.restype = None
        bwd.argtypes = [_f32p, _f32p, _f32p, ctypes.c_long, ctypes.c_long, ctypes.c_float,
                        ctypes.c_float, ctypes.c_float, ctypes.c_float, ctypes.c_float,
                        ctypes.c_int]
        self._fwd, self._bwd = fwd, bwd

    @staticmethod
    def _as2d(a: np.ndarray) -> np.ndarray:
        a = np.ascontiguousarray(a, dtype=np.float32)
        return a.reshape(a.shape[0], -1)

    def forward(self, x: np.ndarray, tau: float = 2.0, v_threshold: float = 1.0,
                v_reset: Optional[float] = 0.0, decay_input: bool = True):
        """``x`` [T, ...] -> ``(spikes, h_seq, v_last)`` (spikes/h_seq shaped like x)."""
        x2 = self._as2d(x)
        T, N = x2.shape
        s = np.empty_like(x2)
        h = np.empty_like(x2)
        v = np.empty(N, np.float32)
        mode = mode_bits(v_reset is not None, False, decay_input)
        self._fwd(x2, s, h, v, N, T, 1.0 / tau, v_threshold,
                  0.0 if v_reset is None else v_reset, mode)
        shape = np.shape(x)
        return s.reshape(shape), h.reshape(shape), v.reshape(shape[1:])

    def backward(self, grad_spikes: np.ndarray, h_seq: np.ndarray, tau: float = 2.0,
                 v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 decay_input: bool = True, detach_reset: bool = True,
                 alpha: float = 2.0) -> np.ndarray:
        """dL/dspikes and the forward's ``h_seq`` -> dL/dx (same shape)."""
        g2 = self._as2d(grad_spikes)
        h2 = self._as2d(h_seq)
        T, N = g2.shape
        gx = np.empty_like(g2)
        mode = mode_bits(v_reset is not None, detach_reset, decay_input)
        self._bwd(g2, h2, gx, N, T, 1.0 / tau, v_threshold,
                  0.0 if v_reset is None else v_reset, alpha / 2, math.pi / 2 * alpha, mode)
        return gx.reshape(np.shape(grad_spikes))
