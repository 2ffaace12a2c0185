"""Moved to :mod:`evframes.raw.dvs128`; this name stays importable."""
import sys

from ..raw import dvs128 as _moved

sys.modules[__name__] = _moved
