"""Issue 10, items 1, 3, 6, 9: custom-function frames stored exactly, int64 arrays handed to
callbacks, function fingerprints (no stale custom caches), bounded memory and impossible
settings refused before anything is created."""
import functools
import os
import shutil
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from click.testing import CliRunner

from evframes import EventsDataset, StoreError
from evframes import integrate as I
from evframes.cli import main
from evframes.frames import FramesStore, build_frames, frames_store_path, setting_from_options
from evframes.store import read_manifest

from helpers import assert_same_arrays, store_arrays


@pytest.fixture()
def root(dvs_extracted, tmp_path):
    r = tmp_path / "root"
    shutil.copytree(dvs_extracted, r)
    return r


def counts(events, H, W):
    return I.integrate_events_by_fixed_frames_number(events, "number", 3, H, W, dtype=np.int64)


def build(root, fn, name=None, **kw):
    s = setting_from_options(function=fn, function_name=name)
    summary = build_frames(root, s, splits=["test"], progress=False, **kw)
    return summary.splits["test"], FramesStore(frames_store_path(root, s, "test"))


def expected(root, fn, i):
    ev = EventsDataset(root, "test")[i][0]
    return np.asarray(fn(ev, 128, 128))


# ------------------------------------------------------------------------------------------
# 1. custom-function frames are stored losslessly
# ------------------------------------------------------------------------------------------

def on_minus_off(events, H, W):
    c = counts(events, H, W)
    d = c[:, 1] - c[:, 0]                      # signed: -k .. +k
    return np.stack([d, -d], axis=1)


def halves(events, H, W):
    return counts(events, H, W) * 0.5          # float64 fractions x.0 / x.5


def thirds(events, H, W):
    return counts(events, H, W) / 3.0          # float64 values float32 cannot hold


def with_nan(events, H, W):
    f = counts(events, H, W).astype(np.float32)
    f[0, 0, 0, 0] = np.nan
    f[0, 1, 0, 0] = np.inf
    f[1, 0, 0, 0] = -np.inf
    return f


@pytest.mark.parametrize("fn, kind", [(on_minus_off, "i"), (halves, "f"), (thirds, "f"),
                                      (with_nan, "f")])
def test_custom_values_come_back_exactly(root, fn, kind):
    import torch

    from evframes.datasets import DVS128Gesture
    info, st = build(root, fn)
    for i in (0, 5, 11):
        want = expected(root, fn, i)
        got = st[i][0]
        assert got.dtype.kind == kind, got.dtype
        np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64))
    # narrowest exact dtype: small signed counts fit int8; halves of small counts fit float16
    assert st[0][0].dtype == {on_minus_off: np.int8, halves: np.float16,
                              thirds: np.float64, with_nan: np.float16}[fn]
    ds = DVS128Gesture(root, train=False, data_type="frame", custom_integrate_function=fn,
                       progress=False, frame_dtype=torch.float64)
    x, _ = ds[5]
    np.testing.assert_array_equal(x.numpy(), expected(root, fn, 5).astype(np.float64))
    if fn is thirds:  # float32 (the default) cannot hold 1/3 of float64: refused, not rounded
        with pytest.raises(ValueError, match="float64"):
            DVS128Gesture(root, train=False, data_type="frame", custom_integrate_function=fn,
                          progress=False)
    else:  # every stored value is exact in float32 too (the default)
        x32, _ = DVS128Gesture(root, train=False, data_type="frame",
                               custom_integrate_function=fn, progress=False)[5]
        assert x32.dtype == torch.float32
        np.testing.assert_array_equal(x32.numpy(), expected(root, fn, 5).astype(np.float32))


def test_float_counts_stored_as_small_integers(root):
    """SpikingJelly-style float64 counts hold integers only: stored as uint8, values equal."""
    def sj_counts(events, H, W):
        return I.integrate_events_by_fixed_frames_number(events, "number", 2, H, W)

    info, st = build(root, sj_counts)
    assert st[3][0].dtype == np.uint8
    np.testing.assert_array_equal(st[3][0], expected(root, sj_counts, 3))


def test_dtype_widens_across_samples_and_batches(root, monkeypatch):
    """Samples 0-3 fit uint8, samples 4-7 hold -100000 (int32), samples 8- hold halves (float16
    alone): written over several batches, the store ends up float32, the one dtype that holds
    every value of every sample exactly."""
    import evframes.frames as fr
    monkeypatch.setattr(fr, "BATCH_EVENTS", 20_000)  # several batches
    ev = EventsDataset(root, "test")
    index = {int(ev[i][0]["t"][0]): i for i in range(len(ev))}
    assert len(index) == len(ev) == 12

    def varying(events, H, W):
        c = counts(events, H, W)
        i = index[int(events["t"][0])]
        if 4 <= i < 8:
            c[0, 0, 0, 0] = -100_000
        if i >= 8:
            c = c * 0.5
        return c

    info, st = build(root, varying)
    assert st[0][0].dtype == np.float32
    for i in range(len(ev)):
        np.testing.assert_array_equal(st[i][0].astype(np.float64),
                                      expected(root, varying, i).astype(np.float64))


def test_mixed_dtypes_in_one_batch_stay_exact():
    """integrate_batch with a function returning int64 for one sample and uint64 for
    another: numpy's concatenate would make float64 and round 2**60 + 1."""
    big = 2 ** 60 + 1

    def f(events, H, W):
        out = np.zeros((1, 2, H, W), np.int64 if len(events["t"]) == 1 else np.uint64)
        out[0, 0, 0, 0] = big
        return out

    t = np.arange(3)
    z = np.zeros(3, np.int64)
    frames, fo = I.integrate_batch(t, z, z, z, [0, 1, 3], I.FrameSetting(function=f), 4, 4)
    assert int(frames[0, 0, 0, 0]) == big and int(frames[1, 0, 0, 0]) == big


@pytest.mark.parametrize("bad, word", [(lambda c: c.astype(np.complex64), "complex"),
                                       (lambda c: c.astype(object), "object")])
def test_unstorable_values_refused(root, bad, word):
    def weird(events, H, W):
        return bad(counts(events, H, W))

    s = setting_from_options(function=weird)
    with pytest.raises(ValueError, match=word) as e:
        build_frames(root, s, splits=["test"], progress=False)
    assert "weird" in str(e.value)
    folder = frames_store_path(root, s, "test").parent
    assert not folder.exists() or \
        [p.name for p in folder.iterdir() if not p.name.endswith(".lock")] == []


def test_bool_frames_stored_as_0_1(root):
    def active(events, H, W):
        return counts(events, H, W) > 0

    info, st = build(root, active)
    got = st[2][0]
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected(root, active, 2).astype(np.uint8))


# ------------------------------------------------------------------------------------------
# 3. callbacks get int64 arrays (SpikingJelly's), so flat-index arithmetic is correct
# ------------------------------------------------------------------------------------------

def sj_flat_index(events, H, W):
    """A SpikingJelly user's callback: flat indices without casting first."""
    for k in "txyp":
        assert events[k].dtype == np.int64, (k, events[k].dtype)
    idx = events["p"] * H * W + events["y"] * W + events["x"]
    return np.bincount(idx, minlength=2 * H * W).reshape(1, 2, H, W)


def test_callbacks_get_int64_arrays(root):
    ev = EventsDataset(root, "test")[4][0]
    assert ev["p"].dtype == np.int8  # the store's compact dtypes
    ref = I.integrate_events_by_fixed_frames_number(ev, "number", 1, 128, 128, dtype=np.int64)
    np.testing.assert_array_equal(I.integrate_with_function(ev, sj_flat_index, 128, 128), ref)
    np.testing.assert_array_equal(I.to_frames(ev, 128, 128, function=sj_flat_index), ref)
    fr, fo = I.integrate_batch(ev["t"], ev["x"], ev["y"], ev["p"], [0, len(ev)],
                               I.FrameSetting(function=sj_flat_index), 128, 128)
    np.testing.assert_array_equal(fr, ref)
    info, st = build(root, sj_flat_index)
    np.testing.assert_array_equal(st[4][0], ref)


def test_callback_cannot_corrupt_the_batch(root):
    """A callback that shifts t in place (common in SpikingJelly code) gets its own arrays."""
    def shift(events, H, W):
        events["t"] -= events["t"][0]
        events["x"][:] = 0
        return counts(events, H, W)

    ev = EventsDataset(root, "test")[0][0]
    t = ev["t"].copy()
    z = np.zeros(len(ev) * 2, np.int64)
    tt = np.concatenate([ev["t"], ev["t"]])
    x = np.concatenate([ev["x"], ev["x"]])
    I.integrate_batch(tt, x, np.zeros_like(x), z, [0, len(ev), 2 * len(ev)],
                      I.FrameSetting(function=shift), 128, 128)
    np.testing.assert_array_equal(tt[:len(ev)], t)
    np.testing.assert_array_equal(x[len(ev):], ev["x"])


# ------------------------------------------------------------------------------------------
# 6. fingerprints: an edited function, other partial arguments, other closures rebuild
# ------------------------------------------------------------------------------------------

def make_fn(src, name="my_int"):
    ns = {"np": np, "I": I}
    exec(textwrap.dedent(src), ns)
    return ns[name]


V1 = """
def my_int(events, H, W):
    return I.integrate_events_by_fixed_frames_number(events, "number", 2, H, W)
"""
V2 = """
def my_int(events, H, W):
    return I.integrate_events_by_fixed_frames_number(events, "time", 2, H, W)
"""


def test_edited_body_rebuilds(root):
    f1, f2 = make_fn(V1), make_fn(V2)
    a, st = build(root, f1)
    np.testing.assert_array_equal(st[1][0], expected(root, f1, 1))
    fp1 = read_manifest(st.path)["function_fingerprint"]
    assert isinstance(fp1, str) and len(fp1) >= 16
    b, st = build(root, make_fn(V1))               # same code again: reused
    assert b["reused"]
    c, st = build(root, f2)                        # same name, other body: rebuilt
    assert not c["reused"] and "function_fingerprint" in c["rebuilt_because"]
    np.testing.assert_array_equal(st[1][0], expected(root, f2, 1))
    assert not np.array_equal(expected(root, f1, 1), expected(root, f2, 1))
    d, _ = build(root, f2, force=True)
    assert not d["reused"]


def scaled(events, H, W, k=1, offset=0):
    return counts(events, H, W) * k + offset


def test_partial_arguments_rebuild(root):
    a, st = build(root, functools.partial(scaled, k=1), name="scaled")
    b, st = build(root, functools.partial(scaled, k=1), name="scaled")
    assert b["reused"]
    c, st = build(root, functools.partial(scaled, k=3), name="scaled")
    assert not c["reused"]
    np.testing.assert_array_equal(st[0][0], expected(root, functools.partial(scaled, k=3), 0))
    d, st = build(root, functools.partial(scaled, offset=2, k=3), name="scaled")
    assert not d["reused"]


def factory(k, base=0):
    def closed(events, H, W, _extra=base):
        return counts(events, H, W) * k + _extra
    return closed


class Scaler:
    def __init__(self, k):
        self.k = k
        self.__name__ = "scaler"

    def __call__(self, events, H, W):
        return counts(events, H, W) * self.k


def test_fingerprint_sees_closures_defaults_and_instances():
    from evframes.fingerprint import function_fingerprint as fp

    def fpr(f):
        digest, why = fp(f)
        assert digest is not None, why
        return digest

    assert fpr(factory(2)) == fpr(factory(2))
    assert fpr(factory(2)) != fpr(factory(3))           # closure cell value
    assert fpr(factory(2, 1)) != fpr(factory(2, 0))     # default
    assert fpr(Scaler(2)) == fpr(Scaler(2)) and fpr(Scaler(2)) != fpr(Scaler(5))
    assert fpr(functools.partial(scaled, k=np.arange(3))) != \
        fpr(functools.partial(scaled, k=np.arange(4)))
    assert fpr(make_fn(V1)) != fpr(make_fn(V2))
    g = make_fn(V1)
    g.__kwdefaults__ = None
    g.__defaults__ = (5,)
    assert fpr(g) != fpr(make_fn(V1))
    # what cannot be fingerprinted says so
    lock = threading.Lock()
    digest, why = fp(lambda e, H, W, _l=lock: counts(e, H, W))
    assert digest is None and "lock" in why.lower()
    digest, why = fp(np.add)
    assert digest is None and why


def test_unfingerprintable_function_warns_and_rebuilds(root):
    lock = threading.Lock()

    def locked(events, H, W, _lock=lock):
        with _lock:
            return counts(events, H, W)

    with pytest.warns(UserWarning, match="locked"):
        build(root, locked)
    with pytest.warns(UserWarning, match="locked.*rebuil"):
        b, st = build(root, locked)
    assert not b["reused"]
    np.testing.assert_array_equal(st[0][0], expected(root, locked, 0))


HELPER_V1 = "def helper(c):\n    return c\n"
HELPER_V2 = "def helper(c):\n    return c * 2\n"
MODULE = """
import numpy as np
from evframes.integrate import integrate_events_by_fixed_frames_number as f
{helper}
def frames3(ev, H, W):
    return helper(f(ev, 'number', 3, H, W))
"""


def run_cli(args):
    r = CliRunner().invoke(main, args)
    return r


def test_cli_function_module_edit_rebuilds_and_verify_says_what_it_checked(root, tmp_path):
    mod = tmp_path / "userint.py"
    mod.write_text(MODULE.format(helper=HELPER_V1))
    args = ["integrate", "--root", str(root), "--function", f"{mod}:frames3", "--splits",
            "test", "-q"]
    r = run_cli(args)
    assert r.exit_code == 0, r.output
    r = run_cli(args)
    assert r.exit_code == 0 and "reused" in r.output, r.output
    st = FramesStore(root / "frames3" / "test.h5")
    v1 = st[2][0].copy()
    mod.write_text(MODULE.format(helper=HELPER_V2))  # only a helper of the module changed
    r = run_cli(args)
    assert r.exit_code == 0 and "rebuilt" in r.output and "reused" not in r.output, r.output
    np.testing.assert_array_equal(FramesStore(root / "frames3" / "test.h5")[2][0], v1 * 2)
    r = run_cli(args + ["--force"])
    assert r.exit_code == 0 and "reused" not in r.output, r.output
    r = run_cli(["verify", "--root", str(root)])
    assert r.exit_code == 0, r.output
    line = [x for x in r.output.splitlines() if "frames3" in x][0]
    assert "custom function" in line and "not checked" in line, line


def test_fingerprint_is_stable_across_processes(tmp_path):
    mod = tmp_path / "stable_mod.py"
    mod.write_text(MODULE.format(helper=HELPER_V1) +
                   "import functools\nP = functools.partial(frames3)\n"
                   "SETS = {'b', 'a', 'c'}\n"
                   "def uses_set(ev, H, W, s=frozenset(SETS)):\n    return frames3(ev, H, W)\n")
    code = (f"import importlib.util as u\n"
            f"sp = u.spec_from_file_location('stable_mod', {str(mod)!r})\n"
            f"m = u.module_from_spec(sp); sp.loader.exec_module(m)\n"
            f"from evframes.fingerprint import function_fingerprint as fp\n"
            f"print(fp(m.frames3)[0], fp(m.P)[0], fp(m.uses_set)[0])\n")
    outs = set()
    for seed in ("0", "1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout.split()
        assert len(out) == 3 and "None" not in out, out
        outs.add(tuple(out))
    assert len(outs) == 1, outs


# ------------------------------------------------------------------------------------------
# 9. memory bounded by output bytes; impossible settings refused before anything is created
# ------------------------------------------------------------------------------------------

def _peak_numpy_bytes(fn):
    import tracemalloc
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_duration_memory_stays_within_budget(root):
    """duration 20 ms: 12 test samples of ~300 frames = 3580 frames of 32 KiB (the old code
    held all of them at once as uint16, plus a uint8 copy: about 350 MB)."""
    s = setting_from_options(duration=20_000)
    budget = 40 << 20
    build_frames(root, s, splits=["test"], progress=False, memory_budget=budget)  # compile
    peak = _peak_numpy_bytes(lambda: build_frames(root, s, splits=["test"], progress=False,
                                                  memory_budget=budget, force=True))
    assert peak <= budget, f"peak {peak / 2**20:.1f} MiB > budget {budget / 2**20:.0f} MiB"
    st = FramesStore(frames_store_path(root, s, "test"))
    assert st.manifest["n_frames"] > 3000
    ev = EventsDataset(root, "test")
    for i in (0, 11):
        np.testing.assert_array_equal(st[i][0], I.integrate_events_by_fixed_duration(
            ev[i][0], 20_000, 128, 128))


def test_small_budget_gives_identical_store(root):
    s = setting_from_options(duration=100_000)
    build_frames(root, s, splits=["test"], progress=False)
    ref = store_arrays(frames_store_path(root, s, "test"))
    build_frames(root, s, splits=["test"], progress=False, memory_budget="12M", force=True)
    assert_same_arrays(store_arrays(frames_store_path(root, s, "test")), ref)
    s = setting_from_options(split_by="time", frames_number=20)
    build_frames(root, s, splits=["test"], progress=False)
    ref = store_arrays(frames_store_path(root, s, "test"))
    build_frames(root, s, splits=["test"], progress=False, memory_budget=3 << 20, force=True)
    assert_same_arrays(store_arrays(frames_store_path(root, s, "test")), ref)


@pytest.mark.parametrize("args, folder", [
    (["-T", "100000", "--split-by", "number"], "frames_number_100000_split_by_number"),
    (["--duration", "1"], "duration_1"),
])
def test_impossible_settings_one_error_line_nothing_created(root, args, folder):
    before = sorted(p.name for p in root.iterdir())
    r = run_cli(["integrate", "--root", str(root), "-q"] + args)
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), (r.output, r.exception)
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), r.output
    assert "memory budget" in lines[0] and "sample" in lines[0], lines[0]
    assert "Traceback" not in r.output and "ArrayMemoryError" not in r.output
    assert not (root / folder).exists()
    assert sorted(p.name for p in root.iterdir()) == before


def test_memory_budget_option(root):
    """-T 1000: 64 MiB of uint16 frames per sample. A 48M budget refuses it up front, 200M
    builds it."""
    args = ["integrate", "--root", str(root), "-q", "-T", "1000", "--split-by", "number",
            "--splits", "test"]
    r = run_cli(args + ["--memory-budget", "48M"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert "Error:" in r.output and "memory budget of 48.0 MiB" in r.output, r.output
    assert not (root / "frames_number_1000_split_by_number").exists()
    r = run_cli(args + ["--memory-budget", "200M"])
    assert r.exit_code == 0, r.output
    st = FramesStore(root / "frames_number_1000_split_by_number" / "test.h5")
    assert st.manifest["n_frames"] == 12 * 1000
    r = run_cli(args + ["--memory-budget", "lots"])
    assert r.exit_code == 1 and "memory budget 'lots'" in r.output, r.output


def test_output_that_cannot_fit_the_disk_is_refused_first(root, monkeypatch):
    import evframes.frames_plan as fp
    monkeypatch.setattr(fp, "free_bytes", lambda folder: 1 << 20)  # 1 MiB free
    s = setting_from_options(duration=1000)
    with pytest.raises(StoreError, match="disk") as e:
        build_frames(root, s, splits=["train", "test"], progress=False)
    assert "MiB" in str(e.value)
    assert not frames_store_path(root, s, "test").parent.exists()


def test_dataset_force_and_memory_budget(root):
    from evframes.datasets import DVS128Gesture
    kw = dict(train=False, data_type="frame", custom_integrate_function=halves, progress=False)
    DVS128Gesture(root, **kw)
    path = root / "halves" / "test.h5"
    ino = os.stat(path).st_ino
    DVS128Gesture(root, **kw)
    assert os.stat(path).st_ino == ino                   # current: reused
    ds = DVS128Gesture(root, force=True, **kw)
    assert os.stat(path).st_ino != ino                   # rebuilt (a new file renamed in)
    np.testing.assert_array_equal(ds[1][0].numpy(), expected(root, halves, 1))
    with pytest.raises(ValueError, match="memory budget of 48.0 MiB"):
        DVS128Gesture(root, train=False, data_type="frame", frames_number=1000,
                      split_by="number", progress=False, memory_budget="48M")
    assert not (root / "frames_number_1000_split_by_number").exists()


def test_wrong_shape_names_the_sample(root):
    n3 = len(EventsDataset(root, "test")[3][0])

    def bad_shape(events, H, W):
        c = counts(events, H, W)
        return c[:, 0] if len(events["t"]) == n3 else c

    with pytest.raises(ValueError, match=r"bad_shape, sample 3: expected shape"):
        build(root, bad_shape)
