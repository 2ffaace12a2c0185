"""Pictures written by the training loop: loss / accuracy curves and spike maps."""
from __future__ import annotations

import math
from pathlib import Path
from typing import List

import numpy as np
import torch


def write_curves(records: List, path: Path):
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    ep = [r.epoch for r in records]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    ax[0].plot(ep, [r.train_loss for r in records], "o-", label="train")
    ax[0].plot(ep, [r.test_loss for r in records], "s-", label="test")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("loss")
    ax[0].legend()
    ax[0].grid(alpha=.3)
    ax[1].plot(ep, [r.train_acc for r in records], "o-", label="train")
    ax[1].plot(ep, [r.test_acc for r in records], "s-", label="test")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel("accuracy")
    ax[1].set_ylim(0, 1)
    ax[1].legend()
    ax[1].grid(alpha=.3)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)


def save_spike_maps(net, dataset, cfg, device, out: Path, max_channels: int = 16):
    """PNG maps of the first spiking layer's output per time step for a few test samples:
    ``sample<i>_t<tt>.png`` grids of up to ``max_channels`` channels."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from .neuron import LIFNode
    out.mkdir(parents=True, exist_ok=True)
    first = next((m for m in net.modules() if isinstance(m, LIFNode)), None)
    if first is None:
        raise ValueError("the network has no LIFNode to record")
    captured = {}
    h = first.register_forward_hook(lambda m, i, o: captured.__setitem__("s", o.detach()))
    written = []
    net.eval()
    try:
        for i in range(min(cfg.save_spikes_samples, len(dataset))):
            x, y = dataset[i]
            with torch.no_grad():
                net(x.unsqueeze(1).to(device).float())
            s = captured["s"][:, 0].float().cpu()  # [T, C, h, w]
            C = min(max_channels, s.shape[1])
            cols = int(math.ceil(math.sqrt(C)))
            rows = int(math.ceil(C / cols))
            for t in range(s.shape[0]):
                fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.3, rows * 1.3 + 0.3))
                for k, ax in enumerate(np.atleast_1d(axes).ravel()):
                    ax.axis("off")
                    if k < C:
                        ax.imshow(s[t, k].numpy(), cmap="gray", vmin=0, vmax=1)
                fig.suptitle(f"sample {i} (label {y}) t={t + 1}/{s.shape[0]}", fontsize=8)
                p = out / f"sample{i}_t{t:02d}.png"
                fig.savefig(p, dpi=80)
                plt.close(fig)
                written.append(p)
    finally:
        h.remove()
    return written
