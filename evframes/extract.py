"""Moved to :mod:`evframes.pipeline.extract`; this name stays importable."""
import sys

from .pipeline import extract as _moved

sys.modules[__name__] = _moved
