"""``evframes play`` (one sample's frames as an animated GIF) and ``evframes plot`` (a PNG
sheet of accumulated events per class)."""
from __future__ import annotations

import click

from .._click import DatasetChoice
from .._click import file_path as _file_path
from .._click import folder_path as _folder_path
from .._click import friendly as _friendly
from ._options import _pick_root
from .frames import repr_options, repr_params


def _open_split(dataset, root, split, frames_number, split_by, duration, representation=None,
                repr_params=None):
    """A NeuromorphicDataset over existing stores (frames built if missing); the Dataset
    builds and checks the frames setting (``play``'s own default: 20 frames split by number)."""
    from .. import datasets
    from ..raw import entry
    from .frames import make_setting, split_by_usage
    cls = getattr(datasets, entry(dataset).torch_class)
    if frames_number is None and duration is None:
        frames_number, split_by = 20, split_by or "number"
    params = {k: v for k, v in (repr_params or {}).items() if v is not None}
    if representation not in (None, "count") or params:  # usage errors name the options
        make_setting(split_by, frames_number, duration, None, 0, False, None, None, 1,
                     representation, params)
    with split_by_usage():
        return cls(root, split=split, data_type="frame", frames_number=frames_number,
                   split_by=split_by, duration=duration, progress=False,
                   representation=representation, repr_params=params)


def _dataset_of(root):
    from ..store.summary import dataset_of
    return dataset_of(root)


@click.command()
@click.option("--dataset", type=DatasetChoice(), default=None)
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path)
@click.option("--split", type=click.Choice(["train", "test"]), default="train", show_default=True)
@click.option("--index", "-i", type=int, default=0, show_default=True, help="Sample index.")
@click.option("-T", "--frames-number", type=int, default=None,
              help="Frames, with --split-by [default: 20 split by number].")
@click.option("--split-by", type=click.Choice(["number", "time"]), default=None)
@click.option("--duration", type=int, default=None, help="Frame duration in us instead of -T.")
@click.option("--out", type=click.Path(dir_okay=False), callback=_file_path, default="sample.gif",
              show_default=True)
@click.option("--fps", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--upscale", type=int, default=None, help="Pixel upscaling [default: auto].")
@repr_options
@_friendly
def play(dataset, root, split, index, frames_number, split_by, duration, out, fps, upscale,
         representation, bins, tau, cell, radius, clip):
    """Write one sample's frames as an animated GIF (polarity colours, frame number, label);
    with --repr, that representation (signed colours for voxel / onoff, a sequential map for
    time surfaces and timestamps, channels in a grid)."""
    from ..viz import play_frame
    root = _pick_root(dataset, root)
    dataset = dataset or _dataset_of(root)
    ds = _open_split(dataset, root, split, frames_number, split_by, duration, representation,
                     repr_params(bins, tau, cell, radius, clip))
    if not -len(ds) <= index < len(ds):
        raise click.BadParameter(f"{index} out of range: {split} has {len(ds)} samples",
                                 param_hint="--index")
    x, y = ds[index]
    path = play_frame(x, save_gif_to=out, fps=fps, upscale=upscale, label=y,
                      class_names=ds.classes, representation=ds.setting.representation)
    click.echo(f"wrote {path}: {split}[{index}], label {y} ({ds.classes[y]}), "
               f"{x.shape[0]} frames of {x.shape[2]}x{x.shape[3]}")


@click.command()
@click.option("--dataset", type=DatasetChoice(), default=None)
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=_folder_path)
@click.option("--split", type=click.Choice(["train", "test"]), default="train", show_default=True)
@click.option("--per-class", type=int, default=2, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), callback=_file_path,
              default="samples.png", show_default=True)
@_friendly
def plot(dataset, root, split, per_class, out):
    """Write a PNG sheet of accumulated events: a few samples of every class."""
    from ..store import EventsDataset
    from ..viz import event_grid
    root = _pick_root(dataset, root)
    ds = EventsDataset(root, split)
    picks = []
    for c in range(len(ds.classes)):
        idx = [int(i) for i in (ds.labels == c).nonzero()[0][:per_class]]
        picks.extend(idx)
    if not picks:
        raise click.ClickException(f"{ds.path}: no samples to plot")
    path = event_grid([ds[i][0] for i in picks], labels=[int(ds.labels[i]) for i in picks],
                      class_names=ds.classes, path=out, sensor_size=ds.sensor_size)
    click.echo(f"wrote {path}: {len(picks)} samples of {len(ds.classes)} classes from {split}")
