"""Moved to :mod:`evframes.pipeline.dask`; this name stays importable."""
import sys

from .pipeline import dask as _moved

sys.modules[__name__] = _moved
