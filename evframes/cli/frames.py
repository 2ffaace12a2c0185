"""``evframes integrate``: extracted events -> frames stores, and how its options become one
frames setting (:func:`make_setting`, :func:`_load_function` for ``--function``)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import click

from .._click import DatasetChoice
from .._click import folder_path as _folder_path
from .._click import friendly as _friendly
from ._options import _echo_warm_up, _pick_root


def _load_function(spec: str):
    """``module:callable`` or ``path/to/file.py:callable``."""
    import importlib
    import importlib.util
    if ":" not in spec:
        raise click.BadParameter(f"{spec!r}: expected module:callable or file.py:callable",
                                 param_hint="--function")
    mod, _, attr = spec.rpartition(":")
    try:
        if mod.endswith(".py"):
            sp = importlib.util.spec_from_file_location(Path(mod).stem, mod)
            if sp is None or not Path(mod).exists():
                raise FileNotFoundError(mod)
            m = importlib.util.module_from_spec(sp)
            sp.loader.exec_module(m)
        else:
            m = importlib.import_module(mod)
        return getattr(m, attr)
    except (ImportError, FileNotFoundError, AttributeError) as e:
        raise click.BadParameter(f"cannot load {spec!r}: {e}",
                                 param_hint="--function") from None


#: ``--repr`` choices: count frames and :data:`evframes.integrate.representations.REPRESENTATIONS`
#: (spelled out so that ``evframes --help`` does not import Numba; a test keeps them equal)
REPR_CHOICES = ("count", "voxel", "time_surface", "averaged_time_surface", "stacked_histogram",
                "onoff", "event_image", "binary", "latest_timestamp")
#: the representation parameters' options (``--bins`` ...), by parameter name
REPR_OPTIONS = ("bins", "tau", "cell", "radius", "clip")


def make_setting(split_by, frames_number, duration, count, overlap, drop_incomplete, function,
                 name, downsample=1, representation=None, repr_params=None):
    """The frames setting of ``integrate``'s options (``function`` may be a callable or a
    ``module:callable`` / ``file.py:callable`` spec), built by
    :meth:`~evframes.integrate.FrameSetting.from_options` (its defaults and checks); usage
    errors name the option. ``representation`` (``--repr``) and ``repr_params`` (``{'bins':
    10, 'tau': None, ...}``: the ``--bins``/``--tau``/``--cell``/``--radius``/``--clip``
    values, None where not given) choose a representation of
    :mod:`evframes.integrate.representations`."""
    from ..integrate.setting import FrameSetting  # numba: imported when a command runs
    if function is not None and not callable(function):
        function = _load_function(function)
    params = {k: v for k, v in (repr_params or {}).items() if v is not None}
    with split_by_usage():
        try:
            return FrameSetting.from_options(split_by, frames_number, duration, count,
                                             overlap, not drop_incomplete, function, name,
                                             downsample, representation=representation,
                                             repr_params=params)
        except ValueError as e:
            if not (params or representation not in (None, "count")):
                raise
            msg = str(e)
            for k in REPR_OPTIONS:  # name the options, not the Python parameters
                msg = msg.replace(f"needs {k}", f"needs --{k}").replace(
                    f"{k} must", f"--{k} must")
            raise click.UsageError(f"--repr {representation or 'count'}: {msg}") from None


def repr_options(f):
    """``--repr`` and its parameters' options (``--bins --tau --cell --radius --clip``), shared
    by ``integrate`` and ``play``; the command gets ``representation, bins, tau, cell, radius,
    clip``."""
    for option in reversed([
        click.option("--repr", "representation", type=click.Choice(REPR_CHOICES),
                     default="count", show_default=True,
                     help="What each window becomes: count frames, or a representation "
                          "(voxel needs --bins, time_surface --tau, averaged_time_surface "
                          "--tau [--cell --radius], stacked_histogram --bins [--clip])."),
        click.option("--bins", type=int, default=None,
                     help="--repr voxel / stacked_histogram: time bins per window."),
        click.option("--tau", type=float, default=None,
                     help="--repr time_surface / averaged_time_surface: decay in us."),
        click.option("--cell", type=int, default=None,
                     help="--repr averaged_time_surface: cell size in pixels [default: 10]."),
        click.option("--radius", type=int, default=None,
                     help="--repr averaged_time_surface: surface radius, pixels [default: 2]."),
        click.option("--clip", type=int, default=None,
                     help="--repr stacked_histogram: count clip, <= 255 [default: 255]."),
    ]):
        f = option(f)
    return f


def repr_params(bins=None, tau=None, cell=None, radius=None, clip=None) -> dict:
    """The parameter options as :func:`make_setting`'s ``repr_params``."""
    return dict(bins=bins, tau=tau, cell=cell, radius=radius, clip=clip)


@contextmanager
def split_by_usage():
    """Report the setting's :class:`~evframes.integrate.setting.MissingSplitBy` (``-T``
    without ``--split-by``: as in the Python Datasets and SpikingJelly the split rule is never
    guessed) as a usage error naming the options."""
    from ..integrate.setting import MissingSplitBy
    try:
        yield
    except MissingSplitBy:
        raise click.UsageError("-T/--frames-number needs --split-by number (equal event "
                               "counts) or --split-by time (equal time spans)") from None


@click.command()
@click.option("--dataset", type=DatasetChoice(), default=None,
              help="Dataset under ./data [default: the only extracted one].")
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path,
              help="Dataset root holding events/<split>.h5.")
@click.option("--split-by", type=click.Choice(["number", "time"]), default=None,
              help="Needed with -T: equal event counts ('number') or equal time spans "
                   "('time'), as SpikingJelly's split_by.")
@click.option("-T", "--frames-number", type=int, default=None, help="Frames per sample.")
@click.option("--duration", type=int, default=None,
              help="Fixed frame duration in microseconds (variable T).")
@click.option("--count", type=int, default=None, help="Fixed events per frame (variable T).")
@click.option("--overlap", type=int, default=0, show_default=True,
              help="Overlap of consecutive frames: events (number, count) or us (time).")
@click.option("--drop-incomplete", is_flag=True, help="--count: drop the short last frame.")
@click.option("--function", "function", default=None,
              help="Custom integrator module:callable or file.py:callable, f(events, H, W).")
@click.option("--name", default=None, help="Folder name for --function [default: its name].")
@click.option("--downsample", type=int, default=1, show_default=True,
              help="Pool coordinates by K (x//K, y//K) before integration.")
@repr_options
@click.option("--splits", default="train,test", show_default=True)
@click.option("--threads", type=int, default=None, help="Numba threads [default: all cores].")
@click.option("--force", is_flag=True, help="Rebuild even if the frames store is current.")
@click.option("--memory-budget", default="1G", show_default=True, metavar="SIZE",
              help="Memory the integration may hold at once (e.g. 512M, 4G); a setting one "
                   "sample of which needs more is refused.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Integrate on a Dask cluster (tcp://host:8786); shared filesystem needed.")
@click.option("--quiet", "-q", is_flag=True)
@_friendly
def integrate(dataset, root, split_by, frames_number, duration, count, overlap, drop_incomplete,
              function, name, downsample, representation, bins, tau, cell, radius, clip, splits,
              threads, force, memory_budget, scheduler, quiet):
    """Integrate extracted events into frames [T, 2, H, W] (one HDF5 store per split), or
    into a representation (--repr voxel --bins 10, --repr time_surface --tau 50000, ...)."""
    from ..pipeline.frames import build_frames
    from ..pipeline.inspect import frames_current
    from ..warmup import warm_integrate
    root = _pick_root(dataset, root)
    setting = make_setting(split_by, frames_number, duration, count, overlap, drop_incomplete,
                           function, name, downsample, representation,
                           repr_params(bins, tau, cell, radius, clip))
    if scheduler is None and (force or not frames_current(
            root, setting, [s for s in splits.split(",") if s])):
        _echo_warm_up(warm_integrate(setting, n_threads=threads))
    summary = build_frames(root, setting, splits=[s for s in splits.split(",") if s],
                           force=force, progress=not quiet,
                           n_threads=threads, scheduler=scheduler, memory_budget=memory_budget)
    for line in summary.lines():
        click.echo(line)
    return summary
