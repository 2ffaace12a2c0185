"""Training companion: spiking building blocks and reference networks.

- :mod:`evframes.train.surrogate` -- :class:`ATan` surrogate spike function.
- :mod:`evframes.train.neuron` -- multi-step :class:`LIFNode` (backends torch / cpu (Numba) /
  cupy (CUDA C in ``lif_kernel.cu``) / auto); the fused backends are one ``torch.library``
  custom op (:mod:`evframes.train._lif_op`), so ``torch.compile`` does not trace into them.
- :mod:`evframes.train.models` -- :class:`DVSGestureNet`, :class:`CSNN`, :class:`SharedDropout`,
  :class:`SeqToANN`, parameter / activation-memory estimates.
- :mod:`evframes.train.loop` -- the ``evframes train`` loop (:mod:`evframes.train.plots`: its
  curves and spike maps).

Build checks of the CUDA source without a GPU live in ``tests/lif_cuda_tools.py``; the GPU
acceptance check is ``benchmarks/gpu_check.py``.

Names are imported lazily so ``import evframes.train`` does not pull in Numba.
"""
_LAZY = {
    "ATan": "surrogate",
    "LIFNode": "neuron",
    "DVSGestureNet": "models",
    "CSNN": "models",
    "SharedDropout": "models",
    "SeqToANN": "models",
    "VotingLayer": "models",
    "count_parameters": "models",
    "estimate_activation_bytes": "models",
    "estimate_training_memory": "models",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
