"""Test tooling for the LIF CUDA source that runs without a GPU (not part of the package).

* :func:`compile_ptx` runs ``nvcc -ptx`` on ``evframes/train/lif_kernel.cu`` (every
  precision is explicitly instantiated, so the PTX must contain six ``.entry`` kernels).
* :func:`compile_nvrtc` compiles it in-process with libnvrtc exactly as the ``cupy``
  backend does (same options and ``name_expressions``) and returns the lowered names.
* :func:`build_host_harness` compiles ``tests/lif_host_harness.cpp`` (which ``#include``\\ s
  the ``.cu``: the kernels' own ``__host__ __device__`` per-neuron loops and 16-bit
  conversions become plain C++) with g++ into a cache directory and returns a
  :class:`HostLIF` ctypes wrapper.  The tests compare it with the torch reference, which
  checks what the GPU threads compute on machines without a GPU.

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

from evframes.train._lif_cupy import KERNEL_SOURCE, NAME_EXPRESSIONS, NVRTC_OPTIONS, mode_bits

HARNESS_SOURCE = Path(__file__).resolve().parent / "lif_host_harness.cpp"
# numpy dtype of each storage type's payload -> harness suffix (bf16 travels as uint16)
STORAGE = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16}


class ToolchainMissing(RuntimeError):
    """The requested compiler (nvcc / g++ / libnvrtc) is not available."""


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


def compile_ptx(out_dir: str, nvcc: str = "nvcc", extra_args: Sequence[str] = ()) -> Path:
    """Compile ``lif_kernel.cu`` with ``nvcc -ptx`` into ``out_dir``; return the ``.ptx``."""
    exe = _which(nvcc)
    ptx = Path(out_dir) / "lif_kernel.ptx"
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

    Returns ``{"lowered": {name_expression: mangled_name}, "ptx": str}``.
    """
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


def build_host_harness(cxx: str = "g++", kernel_dir: Optional[Path] = None,
                       harness: Optional[Path] = None) -> "HostLIF":
    """Compile (or reuse from the cache) the host harness and return a :class:`HostLIF`.

    ``kernel_dir`` (default: the package's) is the folder whose ``lif_kernel.cu`` is
    included, ``harness`` the ``.cpp`` (default: ``tests/lif_host_harness.cpp``).  The
    library name includes a hash of both sources and the flags, so edits rebuild it.
    """
    exe = _which(cxx)
    kernel = Path(kernel_dir) / "lif_kernel.cu" if kernel_dir else KERNEL_SOURCE
    harness = Path(harness) if harness else HARNESS_SOURCE
    digest = hashlib.sha1()
    for src in (kernel, harness):
        digest.update(src.read_bytes())
    digest.update(" ".join([exe] + _FLAGS).encode())
    lib = _cache_dir() / f"liblif_host_{digest.hexdigest()[:16]}.so"
    if not lib.exists():
        tmp = lib.with_suffix(f".{os.getpid()}.tmp")
        _run([exe, *_FLAGS, f"-I{kernel.parent}", str(harness), "-o", str(tmp)],
             f"{cxx} host harness")
        os.replace(tmp, lib)  # atomic: concurrent builders never load a half-written file
    return HostLIF(lib)


_P = ctypes.c_void_p
_LL, _I, _F = ctypes.c_longlong, ctypes.c_int, ctypes.c_float


def _ptr(a: np.ndarray) -> int:
    assert a.flags.c_contiguous
    return a.ctypes.data


class HostLIF:
    """ctypes view of the harness: the CUDA threads' loops on ``[T, N]`` numpy arrays.

    ``storage`` is ``'f32'``, ``'f16'`` or ``'bf16'`` (bf16 arrays are ``uint16``
    payloads, see :func:`to_bf16`); ``h_seq`` is float32 as in the kernels.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lib = ctypes.CDLL(str(self.path))
        for suffix in STORAGE:
            fwd = getattr(self._lib, f"lif_host_forward_{suffix}")
            fwd.restype = None
            fwd.argtypes = [_P, _P, _P, _P, _LL, _I, _F, _F, _F, _I]
            bwd = getattr(self._lib, f"lif_host_backward_{suffix}")
            bwd.restype = None
            bwd.argtypes = [_P, _P, _P, _LL, _I, _F, _F, _F, _F, _F, _I]
            for kind in ("load", "store"):
                f = getattr(self._lib, f"lif_host_{kind}_{suffix}")
                f.restype = None
                f.argtypes = [_P, _P, _LL]

    # raw entry points: pointers (ints) and the kernels' scalar arguments
    def forward_raw(self, suffix, x, s, h, v, N, T, decay, v_th, v_reset, mode):
        getattr(self._lib, f"lif_host_forward_{suffix}")(x, s, h, v, N, T, decay, v_th,
                                                          v_reset, mode)

    def backward_raw(self, suffix, gs, h, gx, N, T, decay, v_th, v_reset, ha, pa, mode):
        getattr(self._lib, f"lif_host_backward_{suffix}")(gs, h, gx, N, T, decay, v_th,
                                                           v_reset, ha, pa, mode)

    def load(self, a: np.ndarray, suffix: str) -> np.ndarray:
        """Storage payloads -> float32, with the kernels' ``lif_load``."""
        a = np.ascontiguousarray(a, dtype=STORAGE[suffix])
        out = np.empty(a.shape, np.float32)
        getattr(self._lib, f"lif_host_load_{suffix}")(_ptr(a), _ptr(out), a.size)
        return out

    def store(self, a: np.ndarray, suffix: str) -> np.ndarray:
        """float32 -> storage payloads, with the kernels' ``lif_store``."""
        a = np.ascontiguousarray(a, dtype=np.float32)
        out = np.empty(a.shape, STORAGE[suffix])
        getattr(self._lib, f"lif_host_store_{suffix}")(_ptr(a), _ptr(out), a.size)
        return out

    def forward(self, x: np.ndarray, tau: float = 2.0, v_threshold: float = 1.0,
                v_reset: Optional[float] = 0.0, decay_input: bool = True,
                storage: str = "f32"):
        """``x`` [T, ...] (storage dtype) -> ``(spikes, h_seq float32, v_last)``."""
        x2 = np.ascontiguousarray(x, dtype=STORAGE[storage]).reshape(x.shape[0], -1)
        T, N = x2.shape
        s = np.empty_like(x2)
        h = np.empty((T, N), np.float32)
        v = np.empty(N, x2.dtype)
        mode = mode_bits(v_reset is not None, False, decay_input)
        self.forward_raw(storage, _ptr(x2), _ptr(s), _ptr(h), _ptr(v), N, T, 1.0 / tau,
                         v_threshold, 0.0 if v_reset is None else v_reset, mode)
        shape = np.shape(x)
        return s.reshape(shape), h.reshape(shape), v.reshape(shape[1:])

    def backward(self, grad_spikes: np.ndarray, h_seq: np.ndarray, tau: float = 2.0,
                 v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 decay_input: bool = True, detach_reset: bool = True, alpha: float = 2.0,
                 storage: str = "f32") -> np.ndarray:
        """dL/dspikes (storage dtype) and the forward's float32 ``h_seq`` -> dL/dx."""
        g2 = np.ascontiguousarray(grad_spikes, dtype=STORAGE[storage])
        g2 = g2.reshape(g2.shape[0], -1)
        h2 = np.ascontiguousarray(h_seq, dtype=np.float32).reshape(g2.shape)
        T, N = g2.shape
        gx = np.empty_like(g2)
        mode = mode_bits(v_reset is not None, detach_reset, decay_input)
        self.backward_raw(storage, _ptr(g2), _ptr(h2), _ptr(gx), N, T, 1.0 / tau,
                          v_threshold, 0.0 if v_reset is None else v_reset, alpha / 2,
                          math.pi / 2 * alpha, mode)
        return gx.reshape(np.shape(grad_spikes))
