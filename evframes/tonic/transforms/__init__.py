"""Tonic's transforms (``import evframes.tonic.transforms as transforms``), Tonic 1.7 values.

- :mod:`.representations`: the ``To*`` transforms (events -> frames / surfaces / tensors).
- :mod:`.event_ops`: transforms from events to events (Denoise, DropEvent, flips, crops, ...).
- :mod:`.targets`: ``Repeat`` (a target transform).
"""
from .event_ops import *  # noqa: F403
from .event_ops import __all__ as _event_ops_all
from .representations import *  # noqa: F403
from .representations import __all__ as _representations_all
from .targets import Repeat

__all__ = [*_representations_all, *_event_ops_all, "Repeat"]
