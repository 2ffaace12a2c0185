"""evframes train: learning on the replica, exact resume, AMP, outputs, dry run."""
import json

import pytest
import torch
from click.testing import CliRunner

from evframes import synth
from evframes.cli import main
from evframes.train.loop import TrainConfig, train

from helpers import assert_one_error_line


@pytest.fixture(scope="module")
def gesture_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_gestures")
    synth.fake_dvs128(root, recordings=10, scale=0.03, seed=7, workers=1)
    return root


def _cfg(root, out, **kw):
    base = dict(dataset="dvs128", root=str(root), T=8, batch_size=8, epochs=3, workers=0,
                channels=8, downsample=4, lr=3e-3, T_max=3, out_dir=str(out), progress=False,
                backend="cpu", seed=1)
    base.update(kw)
    return TrainConfig(**base)


def test_loss_falls_and_beats_chance(gesture_root, tmp_path):
    recs = train(_cfg(gesture_root, tmp_path / "run", epochs=4, T_max=4), log=lambda *a: None)
    assert recs[-1].train_loss < recs[0].train_loss
    assert max(r.test_acc for r in recs) > 2 / 11  # chance is 1/11
    out = tmp_path / "run"
    for f in ("checkpoint_latest.pth", "checkpoint_max.pth", "metrics.csv", "metrics.jsonl",
              "curves.png"):
        assert (out / f).stat().st_size > 0, f
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3]
    assert (out / "metrics.csv").read_text().splitlines()[0].startswith("epoch,train_loss")
    ck = torch.load(out / "checkpoint_latest.pth", weights_only=False)
    assert set(ck) >= {"net", "optimizer", "lr_scheduler", "epoch", "max_test_acc"}
    assert ck["epoch"] == 3 and ck["max_test_acc"] == max(r.test_acc for r in recs)
    # the scheduler stepped once per epoch, after the optimizer: cosine with T_max=4
    assert [round(r.lr, 6) for r in recs] == [0.003, 0.002561, 0.0015, 0.000439]


def test_resume_is_exact(gesture_root, tmp_path):
    a = train(_cfg(gesture_root, tmp_path / "a", epochs=2), log=lambda *a: None)
    train(_cfg(gesture_root, tmp_path / "b", epochs=1), log=lambda *a: None)
    b = train(_cfg(gesture_root, tmp_path / "b", epochs=2,
                   resume=str(tmp_path / "b" / "checkpoint_latest.pth")), log=lambda *a: None)
    assert [r.train_loss for r in a] == [r.train_loss for r in b]
    sa = torch.load(tmp_path / "a" / "checkpoint_latest.pth", weights_only=False)["net"]
    sb = torch.load(tmp_path / "b" / "checkpoint_latest.pth", weights_only=False)["net"]
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_amp_bf16_on_cpu_trains(gesture_root, tmp_path):
    recs = train(_cfg(gesture_root, tmp_path / "amp", amp=True, epochs=3), log=lambda *a: None)
    assert recs[-1].train_loss < recs[0].train_loss


def test_cli_dry_run_and_spike_maps(gesture_root, tmp_path):
    r = CliRunner().invoke(main, ["train", "--root", str(gesture_root), "--dry-run",
                                  "--downsample", "4", "--channels", "8", "-T", "4", "-q"])
    assert r.exit_code == 0, r.output
    assert "parameters:" in r.output and "activation_bytes" in r.output and "MiB" in r.output
    r = CliRunner().invoke(main, ["train", "--root", str(gesture_root), "--downsample", "4",
                                  "--channels", "8", "-T", "4", "--epochs", "1", "-j", "0",
                                  "--max-batches", "2", "--out-dir", str(tmp_path / "o"),
                                  "--save-spikes", str(tmp_path / "spk"), "-q"])
    assert r.exit_code == 0, r.output
    pngs = sorted((tmp_path / "spk").glob("*.png"))
    assert len(pngs) == 2 * 4 and pngs[0].name == "sample0_t00.png"
    r = CliRunner().invoke(main, ["train", "--root", str(gesture_root), "--device", "cuda:0",
                                  "--epochs", "1", "-q", "--out-dir", str(tmp_path / "x")])
    if not torch.cuda.is_available():
        assert_one_error_line(r, "CUDA is not available")


def test_ddp_two_cpu_ranks_with_gloo(gesture_root, tmp_path):
    """torchrun --standalone (loopback) with 2 ranks: ranks agree, loss falls, rank 0 writes."""
    import subprocess
    import sys
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "evframes.train", "--root", str(gesture_root), "--downsample", "4",
           "--channels", "8", "-T", "8", "-b", "4", "--epochs", "3", "--T-max", "3",
           "--lr", "5e-3", "-j", "0", "--backend", "cpu", "--out-dir", str(out), "-q"]
    env = dict(__import__("os").environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ddp: 2 ranks, parameters identical across ranks: True" in r.stdout
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert r.stdout.count("epoch 0:") == 1  # only rank 0 logs
    ck = torch.load(out / "checkpoint_latest.pth", weights_only=False)
    assert ck["world_size"] == 2 and ck["epoch"] == 2


class _Stop(Exception):
    pass


@pytest.fixture
def fake_gpus(monkeypatch):
    """torch.cuda pretending to have 2 GPUs; records set_device calls."""
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "set_device",
                        lambda d: calls.append(("set_device", torch.device(d))))
    return calls


def test_ddp_rank_sets_its_cuda_device_first(fake_gpus, monkeypatch, tmp_path):
    """Rank 1 of 2 with --device cuda: cuda:1 becomes the current device before the process
    group (then the model and the kernels) is created."""
    from evframes.train import loop
    for k, v in (("WORLD_SIZE", "2"), ("RANK", "1"), ("LOCAL_RANK", "1")):
        monkeypatch.setenv(k, v)

    def dist_init(self, cfg, device):
        fake_gpus.append(("process group", device))
        raise _Stop

    monkeypatch.setattr(loop._Dist, "__init__", dist_init)
    with pytest.raises(_Stop):
        train(TrainConfig(device="cuda", out_dir=str(tmp_path)), log=lambda *a: None)
    cuda1 = torch.device("cuda", 1)
    assert fake_gpus == [("set_device", cuda1), ("process group", cuda1)]


def test_select_device_rules(fake_gpus, monkeypatch):
    from evframes.train.loop import select_device
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert select_device(TrainConfig(device="cpu")) == torch.device("cpu")
    assert select_device(TrainConfig(device="cuda")) == torch.device("cuda", 0)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert select_device(TrainConfig(device="cuda", ddp=True)) == torch.device("cuda", 1)
    assert select_device(TrainConfig(device="cuda:0", ddp=True)) == torch.device("cuda", 0)
    assert [d for _, d in fake_gpus] == [torch.device("cuda", i) for i in (0, 1, 0)]
    with pytest.raises(ValueError, match="2 CUDA device"):
        select_device(TrainConfig(device="cuda:2"))
