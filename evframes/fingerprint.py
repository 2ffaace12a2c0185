"""Moved to :mod:`evframes.integrate.fingerprint`; this name stays importable."""
import sys

from .integrate import fingerprint as _moved

sys.modules[__name__] = _moved
