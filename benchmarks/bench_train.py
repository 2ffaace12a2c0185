"""Learning check: the companion network on a generated DVS128 Gesture replica, on CPU.

Writes a replica (30 recordings: 24 train, 6 test -> 288 / 72 samples, 0.05 x real event
rates), extracts it, and trains DVSGestureNet on 32x32 frames (downsample 4), T=16, with the
fused Numba LIF backend. Prints seconds per epoch and accuracy per epoch, and a markdown table
with --markdown. Target: >= 80 % test accuracy.

    .venv/bin/python benchmarks/bench_train.py --markdown
"""
import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evframes import synth  # noqa: E402
from evframes.train.loop import TrainConfig, train  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recordings", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--amp", action="store_true")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="evframes-train-bench-"))
    try:
        t0 = time.perf_counter()
        info = synth.fake_dvs128(work / "dvs128", recordings=a.recordings, scale=0.05, seed=0)
        print(f"replica: {info['recordings']} recordings, {info['events']:,} events "
              f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        cfg = TrainConfig(dataset="dvs128", root=str(work / "dvs128"), T=16, batch_size=16,
                          epochs=a.epochs, T_max=a.epochs, workers=2, channels=a.channels,
                          downsample=4, backend=a.backend, amp=a.amp,
                          out_dir=str(work / "run"), progress=False)
        recs = train(cfg, log=lambda m: print(m, file=sys.stderr))
        best = max(r.test_acc for r in recs)
        # the first epoch includes building the stores and compiling kernels
        steady = [r.seconds for r in recs[1:]] or [recs[0].seconds]
        rows = [("epochs", len(recs)), ("train / test samples", "288 / 72" if a.recordings == 30
                                        else "-"),
                ("seconds per epoch (median, epochs 2..)",
                 f"{sorted(steady)[len(steady) // 2]:.1f}"),
                ("train samples/s (median)",
                 f"{sorted(r.train_samples_per_s for r in recs[1:])[len(recs[1:]) // 2]:.0f}"
                 if len(recs) > 1 else "-"),
                ("final test accuracy", f"{recs[-1].test_acc:.3f}"),
                ("max test accuracy", f"{best:.3f}"),
                ("target >= 0.80 met", "yes" if best >= 0.8 else "NO")]
        if a.markdown:
            print(f"Learning check: DVSGestureNet(channels={a.channels}, input 32x32), T=16, "
                  f"batch 16, Adam 1e-3, cosine over {a.epochs} epochs, LIF backend "
                  f"{a.backend}{', AMP bf16' if a.amp else ''}, CPU (2 cores).\n")
            print("| epoch | train loss | train acc | test acc | seconds |")
            print("|---:|---:|---:|---:|---:|")
            for r in recs:
                print(f"| {r.epoch} | {r.train_loss:.4f} | {r.train_acc:.3f} | {r.test_acc:.3f} "
                      f"| {r.seconds:.1f} |")
            print()
            print("| figure | value |\n|---|---|")
            for k, v in rows:
                print(f"| {k} | {v} |")
        else:
            for k, v in rows:
                print(f"{k}: {v}")
        return 0 if best >= 0.8 else 1
    finally:
        if a.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
