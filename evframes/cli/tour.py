"""``evframes demo``: a tour of the whole pipeline on a generated DVS128 Gesture replica
(fake -> extract -> integrate -> GIF + PNG sheet -> a DataLoader pass)."""
from __future__ import annotations

import time
from pathlib import Path

import click

from .._click import folder_path as _folder_path
from .._click import friendly as _friendly
from ._options import _echo_warm_up


@click.command()
@click.option("--out", type=click.Path(file_okay=False), callback=_folder_path,
              default="demo_out", show_default=True,
              help="Working folder of the demo.")
@click.option("--quick", is_flag=True, help="Fewer recordings (for tests).")
@_friendly
def demo(out, quick):
    """The whole pipeline on a generated DVS128 Gesture replica: fake -> extract -> integrate
    T=20 -> GIF + PNG sheet -> a DataLoader pass."""
    from .. import synth
    from ..pipeline.extract import extract as run_extract
    from ..pipeline.frames import build_frames, setting_from_options
    from ..pipeline.inspect import extract_current, frames_current
    from ..raw import open_raw
    from ..warmup import warm_extract, warm_integrate
    out = Path(out)
    root = out / "dvs128"
    t0 = time.perf_counter()
    click.echo(f"[1/5] fake: DVS128 Gesture replica -> {root}")
    if not (root / "DvsGesture.tar.gz").exists():
        info_ = synth.fake_dvs128(root, recordings=4 if quick else 12, scale=0.05)
        click.echo(f"      {info_['recordings']} recordings ({info_['train_recordings']} train, "
                   f"{info_['test_recordings']} test), {info_['events']:,} events")
    else:
        click.echo("      reusing the existing replica")
    click.echo("[2/5] extract: DvsGesture.tar.gz -> events stores")
    raw = open_raw("dvs128", root)
    if not extract_current(raw):
        _echo_warm_up(warm_extract("dvs128", root))
    summary = run_extract(raw, progress=True, warn=False)
    for line in summary.lines():
        click.echo("      " + line)
    click.echo("[3/5] integrate: frames_number=20, split_by=number")
    setting = setting_from_options("number", 20)
    if not frames_current(root, setting, ("train", "test")):
        _echo_warm_up(warm_integrate(setting))
    fs = build_frames(root, setting, progress=True)
    for line in fs.lines():
        click.echo("      " + line)
    click.echo("[4/5] play + plot")
    from ..datasets import DVS128Gesture
    from ..store import EventsDataset
    from ..viz import event_grid, play_frame
    train = DVS128Gesture(root, train=True, data_type="frame", frames_number=20,
                          split_by="number", progress=False)
    x, y = train[1]
    gif = play_frame(x, save_gif_to=str(out / "sample.gif"), label=y, class_names=train.classes)
    ev = EventsDataset(root, "train")
    picks = [int((ev.labels == c).nonzero()[0][0]) for c in range(len(ev.classes))]
    png = event_grid([ev[i][0] for i in picks], labels=[int(ev.labels[i]) for i in picks],
                     class_names=ev.classes, path=str(out / "samples.png"),
                     sensor_size=ev.sensor_size)
    click.echo(f"      {gif} (train[1], {train.classes[y]}), {png} (one sample per class)")
    click.echo("[5/5] DataLoader: batch 16, 2 workers")
    import torch
    loader = torch.utils.data.DataLoader(train, batch_size=16, shuffle=True, num_workers=2,
                                         persistent_workers=True)
    for _ in loader:  # warm-up epoch: starts the workers
        pass
    t1 = time.perf_counter()
    n = 0
    for xb, yb in loader:  # noqa: B007 (the last batch is reported)
        n += xb.shape[0]
    dt = time.perf_counter() - t1
    click.echo(f"      batch x {tuple(xb.shape)} {xb.dtype}, y {tuple(yb.shape)}; "
               f"{n} samples in {dt:.2f} s = {n / dt:.0f} samples/s")
    click.echo(f"demo finished in {time.perf_counter() - t0:.1f} s; outputs in {out}/ "
               f"(benchmarks/README.md has the speeds on full-size data)")
