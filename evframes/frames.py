"""Moved to :mod:`evframes.pipeline.frames`; this name stays importable."""
import sys

from .pipeline import frames as _moved

sys.modules[__name__] = _moved
