"""Moved to :mod:`evframes.pipeline.sources`; this name stays importable."""
import sys

from .pipeline import sources as _moved

sys.modules[__name__] = _moved
