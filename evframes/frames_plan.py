"""Moved to :mod:`evframes.pipeline.plan`; this name stays importable."""
import sys

from .pipeline import plan as _moved

sys.modules[__name__] = _moved
