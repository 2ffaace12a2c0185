"""The ``evframes`` command line (click group).

Every command turns expected failures (bad raw data, stale or foreign stores, bad options) into
a one-line ``Error: ...`` naming the file and the problem, with exit code 1 or 2, never a
traceback. Set ``EVFRAMES_DEBUG=1`` to see tracebacks.

The commands are thin: they parse options, call the library and print. One module per command
group: :mod:`~evframes.cli.raw` (``extract``, ``fake``), :mod:`~evframes.cli.frames`
(``integrate``), :mod:`~evframes.cli.view` (``play``, ``plot``), :mod:`~evframes.cli.inspect`
(``info``, ``verify``), :mod:`~evframes.cli.files` (``convert``), :mod:`~evframes.cli.tour`
(``demo``); ``train`` is
:mod:`evframes.train.command`, shared with ``python -m evframes.train``. Error handling and path
checks are :mod:`evframes._click` (shared with that entry too); the dataset choices are the
registry's (:mod:`evframes.raw`).
"""
from __future__ import annotations

import click

from .. import __version__
from .._click import CONTEXT_SETTINGS
from .._click import file_path as _file_path  # noqa: F401 (old names, re-exported)
from .._click import first_existing as _first_existing  # noqa: F401
from .._click import folder_path as _folder_path  # noqa: F401
from .._click import friendly as _friendly  # noqa: F401
from .._click import show_warnings as _show_warnings  # noqa: F401
from ..train.command import train
from ._options import _pick_root, _root  # noqa: F401
from .files import convert
from .frames import _load_function, integrate, make_setting  # noqa: F401
from .inspect import _roots_under, info, verify  # noqa: F401
from .raw import extract, fake
from .tour import demo
from .view import _dataset_of, _open_split, play, plot  # noqa: F401


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="evframes")
def main():
    """evframes: raw event-camera datasets to training-ready PyTorch tensors, fast.

    \b
    Typical session:
      evframes fake --dataset dvs128 --out data/dvs128   # a demo replica (no download here)
      evframes extract --dataset dvs128                  # raw -> data/dvs128/events/*.h5
      evframes integrate --split-by number -T 20         # events -> frames store
    """


for _command in (extract, fake, integrate, play, plot, info, verify, convert, demo, train):
    main.add_command(_command)
del _command


def __getattr__(name):
    if name == "DATASETS":  # the old tuple of ``--dataset`` choices: the registry's names
        from ..raw import DATASET_NAMES
        return DATASET_NAMES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["main", "DATASETS", "make_setting", "extract", "fake", "integrate", "play", "plot",
           "info", "verify", "convert", "demo", "train"]
