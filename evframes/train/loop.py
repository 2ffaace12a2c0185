"""The training loop behind ``evframes train`` (SpikingJelly's DVS128 Gesture tutorial, ported).

One epoch: the train split through the network (frames ``[N, T, 2, H, W]`` from the loader,
transposed to time-first ``[T, N, 2, H, W]``), loss between the output firing rate ``[N, C]``
and the one-hot label (MSE, SpikingJelly's choice; cross-entropy optional), optimizer step, then
the learning-rate scheduler steps (after the optimizer, once per epoch), then the test split.

Written to ``out_dir`` every epoch: ``checkpoint_latest.pth`` and ``checkpoint_max.pth`` (net,
optimizer, lr_scheduler, scaler, epoch, max_test_acc, args, RNG states), ``metrics.csv``,
``metrics.jsonl`` and ``curves.png``. ``resume`` continues exactly: the shuffling of epoch ``e``
depends only on ``seed + e`` and the global RNG state is restored, so 2 epochs equal 1 epoch +
resume + 1 epoch.

AMP: on CUDA fp16 autocast with a GradScaler; on CPU bf16 autocast (no scaler needed).

Several processes: launch with ``torchrun --nproc_per_node=K -m evframes.train ...`` (or pass
``--ddp`` under any launcher that sets RANK / WORLD_SIZE / MASTER_ADDR). Each rank trains a
DistributedDataParallel replica on its DistributedSampler shard (``gloo`` on CPU, ``nccl`` on
CUDA); test metrics are summed over ranks; only rank 0 logs and writes checkpoints, metrics and
curves. Each rank sets its CUDA device (``cuda:LOCAL_RANK``) before it creates the process
group, the model or the LIF kernels. ``--resume`` works the same, every rank loading the
checkpoint. At the end the ranks compare a checksum of their parameters and rank 0 logs
whether they are identical.
"""
from __future__ import annotations

import csv
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from .plots import save_spike_maps, write_curves  # noqa: F401  (public names of loop)

DEFAULT_MODEL = {"dvs128": "dvsgesture", "cifar10dvs": "dvsgesture", "nmnist": "csnn"}


@dataclass
class TrainConfig:
    dataset: str = "dvs128"
    root: Optional[str] = None
    T: int = 16
    batch_size: int = 16
    epochs: int = 64
    workers: int = 4
    channels: int = 128
    amp: bool = False
    backend: str = "auto"
    opt: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    lr_scheduler: str = "cosa"
    T_max: int = 64
    step_size: int = 32
    gamma: float = 0.1
    downsample: int = 1
    split_by: str = "number"
    resume: Optional[str] = None
    out_dir: str = "runs/train"
    device: str = "cpu"
    loss: str = "mse"
    model: Optional[str] = None
    seed: int = 0
    save_spikes: Optional[str] = None
    save_spikes_samples: int = 2
    max_batches: Optional[int] = None  # per epoch, for quick checks
    progress: bool = True
    ddp: bool = False  # also on automatically when launched by torchrun (WORLD_SIZE > 1)


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    lr: float
    seconds: float
    train_samples_per_s: float
    max_test_acc: float


class _Dist:
    """Rank / world size and the collectives the loop needs (no-ops in one process)."""

    def __init__(self, cfg: TrainConfig, device: torch.device):
        import os
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.enabled = cfg.ddp or self.world > 1
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if self.enabled:
            import torch.distributed as dist
            if not dist.is_initialized():
                backend = "nccl" if device.type == "cuda" else "gloo"
                dist.init_process_group(backend=backend)
            self.rank, self.world = dist.get_rank(), dist.get_world_size()

    @property
    def main(self) -> bool:
        return self.rank == 0

    def sum(self, values, device):
        if not self.enabled:
            return values
        import torch.distributed as dist
        t = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return t.tolist()

    def params_identical(self, net) -> bool:
        if not self.enabled:
            return True
        import torch.distributed as dist
        with torch.no_grad():
            flat = torch.cat([p.detach().double().flatten() for p in net.parameters()])
            v = torch.stack([flat.sum(), (flat * flat).sum(),
                             (flat * torch.arange(flat.numel(), device=flat.device)).sum()])
        gathered = [torch.zeros_like(v) for _ in range(self.world)]
        dist.all_gather(gathered, v)
        return all(torch.equal(g, gathered[0]) for g in gathered)

    def close(self):
        if self.enabled:
            import torch.distributed as dist
            if dist.is_initialized():
                dist.barrier()
                dist.destroy_process_group()


def select_device(cfg: TrainConfig) -> torch.device:
    """This process's device.  For CUDA it is made the current device
    (``torch.cuda.set_device``) before anything is built on it: NCCL, the model and the
    cupy LIF kernels then all land on this rank's GPU, not on GPU 0.  A bare ``cuda``
    means ``cuda:LOCAL_RANK`` when several processes train (torchrun / ``--ddp``), the
    current device otherwise; an explicit ``cuda:K`` is kept."""
    import os
    device = torch.device(cfg.device)
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        raise ValueError(f"--device {cfg.device}: CUDA is not available on this machine")
    if device.index is None:
        several = cfg.ddp or int(os.environ.get("WORLD_SIZE", "1")) > 1
        index = int(os.environ.get("LOCAL_RANK", "0")) if several \
            else torch.cuda.current_device()
        device = torch.device("cuda", index)
    count = torch.cuda.device_count()
    if device.index >= count:
        raise ValueError(f"--device {cfg.device}: cuda:{device.index} requested, "
                         f"{count} CUDA device(s) visible")
    torch.cuda.set_device(device)
    return device


def build_datasets(cfg: TrainConfig):
    from ..datasets import DATASET_NAMES, dataset_class, default_root
    if cfg.dataset not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {cfg.dataset!r}")
    cls = dataset_class(cfg.dataset)
    root = cfg.root or str(default_root(cfg.dataset))
    kw = dict(data_type="frame", frames_number=cfg.T, split_by=cfg.split_by,
              downsample=cfg.downsample, progress=cfg.progress)
    return cls(root, train=True, **kw), cls(root, train=False, **kw)


def build_model(cfg: TrainConfig, sensor_size, n_classes: int) -> torch.nn.Module:
    from .models import CSNN, DVSGestureNet
    W, H = sensor_size
    name = cfg.model or DEFAULT_MODEL[cfg.dataset]
    if name == "dvsgesture":
        if H != W:
            raise ValueError(f"DVSGestureNet needs square frames, got {W}x{H}")
        return DVSGestureNet(channels=cfg.channels, input_size=H, backend=cfg.backend,
                             n_classes=n_classes)
    if name == "csnn":
        return CSNN(input_size=(H, W), backend=cfg.backend, n_classes=n_classes)
    raise ValueError(f"unknown model {name!r} (dvsgesture, csnn)")


def build_optimizer(cfg: TrainConfig, net):
    if cfg.opt == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    elif cfg.opt == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    else:
        raise ValueError(f"--opt must be adam or sgd, got {cfg.opt!r}")
    if cfg.lr_scheduler == "cosa":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.T_max)
    elif cfg.lr_scheduler == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    else:
        raise ValueError(f"--lr-scheduler must be cosa or step, got {cfg.lr_scheduler!r}")
    return opt, sched


def amp_context(cfg: TrainConfig, device: torch.device):
    if not cfg.amp:
        return torch.autocast(device.type, enabled=False)
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return torch.autocast("cpu", dtype=torch.bfloat16)


def loss_and_correct(out_fr: torch.Tensor, y: torch.Tensor, n_classes: int, kind: str):
    out_fr = out_fr.float()
    if kind == "mse":
        loss = F.mse_loss(out_fr, F.one_hot(y, n_classes).float())
    elif kind == "ce":
        loss = F.cross_entropy(out_fr * 10.0, y)  # firing rates in [0, 1] as scaled logits
    else:
        raise ValueError(f"--loss must be mse or ce, got {kind!r}")
    return loss, int((out_fr.argmax(1) == y).sum())


def _rng_state():
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_state(s):
    torch.set_rng_state(s["torch"])
    np.random.set_state(s["numpy"])
    random.setstate(s["python"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def run_epoch(net, loader, cfg, device, n_classes, optimizer=None, scaler=None, bar=None):
    train = optimizer is not None
    net.train(train)
    tot_loss, tot_correct, n = 0.0, 0, 0
    ctx = torch.enable_grad() if train else torch.no_grad()
    with ctx:
        for b, (x, y) in enumerate(loader):
            if cfg.max_batches is not None and b >= cfg.max_batches:
                break
            x = x.to(device, non_blocking=True).float().transpose(0, 1)  # [T, N, C, H, W]
            y = y.to(device, non_blocking=True)
            with amp_context(cfg, device):
                out_fr = net(x)
            loss, correct = loss_and_correct(out_fr, y, n_classes, cfg.loss)
            if train:
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
            tot_loss += float(loss.detach()) * y.numel()
            tot_correct += correct
            n += y.numel()
            if bar is not None:
                bar.update(y.numel())
                bar.set_postfix(loss=f"{tot_loss / n:.4f}", acc=f"{tot_correct / n:.3f}")
    return (tot_loss / n if n else float("nan")), (tot_correct / n if n else float("nan")), n


def _save_atomic(obj, path: Path):
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def train(cfg: TrainConfig, log=print) -> List[EpochRecord]:
    """Run the whole training; returns the per-epoch records (also written to out_dir)."""
    from tqdm import tqdm
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    device = select_device(cfg)  # before the process group, the model and the kernels
    dist = _Dist(cfg, device)
    if not dist.main:
        log = lambda *a, **k: None  # noqa: E731  rank 0 speaks for all
    out = Path(cfg.out_dir)
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)
    if dist.enabled and not dist.main:
        import torch.distributed as tdist
        tdist.barrier()  # rank 0 builds the stores first; the others then reuse them
    train_set, test_set = build_datasets(cfg)
    if dist.enabled and dist.main:
        import torch.distributed as tdist
        tdist.barrier()
    n_classes = len(train_set.classes)
    net = build_model(cfg, train_set.sensor_size, n_classes).to(device)
    model = net
    if dist.enabled:
        model = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer, sched = build_optimizer(cfg, net)
    scaler = torch.amp.GradScaler("cuda") if (cfg.amp and device.type == "cuda") else None
    start_epoch, max_acc, records = 0, -1.0, []
    if cfg.resume:
        ck = torch.load(cfg.resume, map_location=device, weights_only=False)
        net.load_state_dict(ck["net"])
        optimizer.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["lr_scheduler"])
        if scaler is not None and ck.get("scaler"):
            scaler.load_state_dict(ck["scaler"])
        start_epoch, max_acc = ck["epoch"] + 1, ck["max_test_acc"]
        records = [EpochRecord(**r) for r in ck.get("records", [])]
        if not dist.enabled:
            _set_rng_state(ck["rng"])
        log(f"resumed from {cfg.resume} at epoch {start_epoch} (max test acc {max_acc:.4f})")
    pin = device.type == "cuda"
    test_sampler = None
    if dist.enabled:
        from torch.utils.data.distributed import DistributedSampler
        test_sampler = DistributedSampler(test_set, shuffle=False, drop_last=False)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=cfg.batch_size, shuffle=False,
                                              sampler=test_sampler, num_workers=cfg.workers,
                                              pin_memory=pin,
                                              persistent_workers=cfg.workers > 0)
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        if dist.enabled:
            from torch.utils.data.distributed import DistributedSampler
            sampler = DistributedSampler(train_set, shuffle=True, seed=cfg.seed, drop_last=False)
            sampler.set_epoch(epoch)
            train_loader = torch.utils.data.DataLoader(
                train_set, batch_size=cfg.batch_size, sampler=sampler,
                num_workers=cfg.workers, pin_memory=pin)
            n_train = len(sampler)
        else:
            g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
            train_loader = torch.utils.data.DataLoader(
                train_set, batch_size=cfg.batch_size, shuffle=True, generator=g,
                drop_last=False, num_workers=cfg.workers, pin_memory=pin)
            n_train = len(train_set)
        if cfg.max_batches is not None:
            n_train = min(n_train, cfg.max_batches * cfg.batch_size)
        bar = tqdm(total=n_train, desc=f"epoch {epoch}", unit=" samples", file=sys.stderr,
                   disable=not (cfg.progress and dist.main), dynamic_ncols=True, leave=False)
        tr_loss, tr_acc, n_tr = run_epoch(model, train_loader, cfg, device, n_classes,
                                          optimizer, scaler, bar)
        bar.close()
        t_train = time.perf_counter() - t0
        lr = optimizer.param_groups[0]["lr"]
        sched.step()  # after the optimizer steps of this epoch
        te_loss, te_acc, n_te = run_epoch(model, test_loader, cfg, device, n_classes)
        if dist.enabled:  # sums over ranks (DistributedSampler pads the last shard)
            a, b, c, d, e, f_ = dist.sum([tr_loss * n_tr, tr_acc * n_tr, n_tr,
                                          te_loss * n_te, te_acc * n_te, n_te], device)
            tr_loss, tr_acc, te_loss, te_acc = a / c, b / c, d / f_, e / f_
            n_tr_all = c
        else:
            n_tr_all = n_tr
        improved = te_acc > max_acc
        max_acc = max(max_acc, te_acc)
        rec = EpochRecord(epoch, tr_loss, tr_acc, te_loss, te_acc, lr,
                          time.perf_counter() - t0, n_tr_all / t_train if t_train else 0.0,
                          max_acc)
        records.append(rec)
        if dist.main:
            ck = {"net": net.state_dict(), "optimizer": optimizer.state_dict(),
                  "lr_scheduler": sched.state_dict(),
                  "scaler": scaler.state_dict() if scaler is not None else None,
                  "epoch": epoch, "max_test_acc": max_acc, "args": asdict(cfg),
                  "records": [asdict(r) for r in records], "rng": _rng_state(),
                  "world_size": dist.world}
            _save_atomic(ck, out / "checkpoint_latest.pth")
            if improved:
                _save_atomic(ck, out / "checkpoint_max.pth")
            _write_metrics(records, out)
            write_curves(records, out / "curves.png")
        log(f"epoch {epoch}: train loss {tr_loss:.4f} acc {tr_acc:.4f} | test loss "
            f"{te_loss:.4f} acc {te_acc:.4f} | max {max_acc:.4f} | lr {lr:.2e} | "
            f"{rec.seconds:.1f} s, {rec.train_samples_per_s:.0f} samples/s")
    if dist.enabled:
        same = dist.params_identical(net)
        log(f"ddp: {dist.world} ranks, parameters identical across ranks: {same}")
    if cfg.save_spikes and dist.main:
        paths = save_spike_maps(net, test_set, cfg, device, Path(cfg.save_spikes))
        log(f"wrote {len(paths)} spike maps to {cfg.save_spikes}")
    dist.close()
    return records


def _write_metrics(records: List[EpochRecord], out: Path):
    rows = [asdict(r) for r in records]
    tmp = out / "metrics.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    tmp.replace(out / "metrics.csv")
    tmp = out / "metrics.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(out / "metrics.jsonl")


def dry_run(cfg: TrainConfig, log=print):
    """Print the model, its parameter count and the estimated memory per batch."""
    from .models import count_parameters, estimate_training_memory
    train_set, _ = build_datasets(cfg)
    W, H = train_set.sensor_size
    net = build_model(cfg, train_set.sensor_size, len(train_set.classes))
    log(str(net))
    n_par = count_parameters(net)
    dtype = torch.bfloat16 if cfg.amp else torch.float32
    mem = estimate_training_memory(net, cfg.T, cfg.batch_size, (2, H, W), dtype=dtype)
    log(f"parameters: {n_par:,}")
    for k, v in mem.items():
        if isinstance(v, (int, float)):
            log(f"{k}: {v / 2**20:.1f} MiB" if "bytes" in k else f"{k}: {v}")
    return n_par, mem
