"""The ``train`` command: ``evframes train ...`` and ``python -m evframes.train ...``.

The command (its options and body) lives here, in the training companion, so that both entry
points share it: :mod:`evframes.cli` registers it in the ``evframes`` group and
:mod:`evframes.train.__main__` runs it on its own, without importing the command line.
The body only builds a :class:`~evframes.train.loop.TrainConfig` and calls the loop.
"""
from __future__ import annotations

import click

from .._click import CONTEXT_SETTINGS, DatasetChoice, folder_path, friendly


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--dataset", type=DatasetChoice(), default="dvs128", show_default=True)
@click.option("--root", type=click.Path(file_okay=False), default=None, callback=folder_path,
              help="Dataset root [default: ./data/DATASET].")
@click.option("-T", "T", type=int, default=16, show_default=True, help="Frames per sample.")
@click.option("-b", "--batch-size", type=int, default=16, show_default=True)
@click.option("--epochs", type=int, default=64, show_default=True)
@click.option("-j", "--workers", type=int, default=4, show_default=True,
              help="DataLoader workers.")
@click.option("--channels", type=int, default=128, show_default=True)
@click.option("--amp", is_flag=True, help="Mixed precision: fp16 + GradScaler on CUDA, bf16 on "
                                          "CPU.")
@click.option("--backend", type=click.Choice(["torch", "cpu", "cupy", "auto"]), default="auto",
              show_default=True, help="LIF implementation (auto: cupy on CUDA tensors when "
                                      "CuPy is installed, else the fused Numba cpu kernel).")
@click.option("--opt", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--momentum", type=float, default=0.9, show_default=True)
@click.option("--lr-scheduler", type=click.Choice(["cosa", "step"]), default="cosa",
              show_default=True)
@click.option("--T-max", "T_max", type=int, default=64, show_default=True,
              help="Cosine annealing period (epochs).")
@click.option("--step-size", type=int, default=32, show_default=True, help="StepLR period.")
@click.option("--downsample", type=int, default=1, show_default=True,
              help="Pool frames' coordinates by K (128 -> 128/K).")
@click.option("--loss", type=click.Choice(["mse", "ce"]), default="mse", show_default=True)
@click.option("--model", type=click.Choice(["dvsgesture", "csnn"]), default=None,
              help="[default: dvsgesture for dvs128/cifar10dvs, csnn for nmnist]")
@click.option("--resume", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option("--out-dir", type=click.Path(file_okay=False), callback=folder_path,
              default="runs/train",
              show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--save-spikes", type=click.Path(file_okay=False), callback=folder_path,
              default=None,
              help="Write PNG maps of the first spiking layer per time step here.")
@click.option("--max-batches", type=int, default=None, help="Batches per epoch (quick runs).")
@click.option("--ddp", is_flag=True, help="DistributedDataParallel (on by itself under torchrun).")
@click.option("--dry-run", is_flag=True, help="Print the model, parameters and memory; exit.")
@click.option("--quiet", "-q", is_flag=True)
@friendly
def train(dry_run, quiet, **kw):
    """Train the companion spiking network (SpikingJelly's DVS128 Gesture tutorial)."""
    from .loop import TrainConfig
    from .loop import dry_run as run_dry
    from .loop import train as run_train
    cfg = TrainConfig(progress=not quiet, **kw)
    if dry_run:
        run_dry(cfg, log=click.echo)
        return
    records = run_train(cfg, log=click.echo)
    if records:
        best = max(r.test_acc for r in records)
        click.echo(f"done: {len(records)} epochs, max test accuracy {best:.4f}; "
                   f"checkpoints and curves in {cfg.out_dir}")
