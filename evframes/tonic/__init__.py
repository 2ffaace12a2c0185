"""Tonic-compatible facade: ``import evframes.tonic as tonic`` in place of ``import tonic``.

Tonic's names, parameters and values (Tonic 1.7) over evframes' kernels and stores; see
``docs/switching.md`` for the deliberate differences.
"""
from . import transforms

__all__ = ["transforms"]
