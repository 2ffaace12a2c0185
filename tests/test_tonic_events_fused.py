"""The one-pass kernels of evframes.tonic's event transforms (event_ops_fused) against the
generic record kernels (event_ops_kernels, the ones the Tonic reference tests validated) and
against numpy written from Tonic's formulas: every record size class (3 bytes, short
records moved with the bytes after them, 16 bytes, longer, padded), empty input, one event, a
few events (all of them in the last records, which are copied as records), unsorted input
where a min / max of ``t`` is guessed, and the paths that fall back to the generic kernels
(float or uint64 fields, coordinate lists with large or fractional values).
"""
from __future__ import annotations

import numpy as np
import pytest

import evframes.tonic.transforms as T
from evframes.tonic.transforms import event_ops_base as EB
from evframes.tonic.transforms import event_ops_fused as F
from evframes.tonic.transforms import event_ops_kernels as K

S = (34, 34, 2)
DTYPES = {
    "gesture13": [("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")],
    "nmnist32": [("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")],
    "tiny3": [("x", "u1"), ("y", "u1"), ("t", "u1")],
    "exact16": [("x", "<i4"), ("y", "<i4"), ("t", "<i8")],
    "odd17": [("x", "<i4"), ("y", "<i4"), ("t", "<i8"), ("p", "?")],
    "padded24": np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "i1")], align=True),
    "floats": [("x", "<f8"), ("y", "<f4"), ("t", "<f8"), ("p", "<f8")],
    "uint64": [("x", "<u8"), ("y", "<u8"), ("t", "<u8"), ("p", "<u8")],
}
SIZES = [0, 1, 2, 3, 5, 17, 600]


def make(dkey, n, seed=0, sort=True, W=34, H=34, span=200):
    dt = np.dtype(DTYPES[dkey])
    rng = np.random.default_rng(seed)
    e = np.zeros(n, dt)
    e["x"] = rng.integers(0, W, n)
    e["y"] = rng.integers(0, H, n)
    t = rng.integers(0, span, n)
    e["t"] = np.sort(t) if sort else t
    if "p" in dt.names:
        e["p"] = rng.integers(0, 2, n)
    return e


def fields_equal(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    for f in a.dtype.names:
        np.testing.assert_array_equal(a[f], b[f], err_msg=f)
        assert (np.signbit(a[f]) == np.signbit(b[f])).all() if a[f].dtype.kind == "f" else 1


def generic(ev, ops, reverse=False):
    """The generic kernel's result for field ops (``("affine", f, a, b)``, ``("invert", f)``,
    ``("zero", f)``)."""
    out = np.empty_like(ev)
    if not len(ev):
        return out
    zero = np.int64(0)
    tup = [(ev[o[1]], out[o[1]], {"affine": 0, "invert": 1, "zero": 2}[o[0]],
            *(o[2:] if o[0] == "affine" else (zero, zero))) for o in ops]
    tup += [tup[0][:2] + (3, zero, zero)] * (3 - len(tup))
    K.map_records(ev, out, reverse, *tup)
    return out


@pytest.mark.parametrize("dkey", list(DTYPES))
@pytest.mark.parametrize("n", SIZES)
def test_maps_equal_generic_kernel(dkey, n):
    ev = make(dkey, n, seed=n)
    before = ev.copy()
    names = ev.dtype.names
    for ops in ([EB.affine(ev, "x", -1, 33)], [EB.affine(ev, "t", 1.1, 100)],
                [EB.affine(ev, "t", 2, 0), EB.affine(ev, "x", 0.25, 0), EB.affine(ev, "y", 3, 1)],
                [EB.affine(ev, "y", 0.5, 0), EB.affine(ev, "x", 2.5, 0)],
                [("zero", "x")] + ([("invert", "p")] if "p" in names else [])):
        for op in ops[1:] if ops[0][0] == "zero" else []:
            fields_equal(EB.mapped(ev, [op]), generic(ev, [op]))
        fields_equal(EB.mapped(ev, ops[:1] if ops[0][0] == "zero" else ops),
                     generic(ev, ops[:1] if ops[0][0] == "zero" else ops))
    rev = [EB.affine(ev, "t", -1, 199)]
    fields_equal(EB.mapped(ev, rev, reverse=True), generic(ev, rev, reverse=True))
    if "p" in names:
        rev.append(("invert", "p"))
        fields_equal(EB.mapped(ev, rev, reverse=True), generic(ev, rev, reverse=True))
    assert np.array_equal(ev, before)


def numpy_select(ev, keep):
    return ev[keep]


@pytest.mark.parametrize("dkey", list(DTYPES))
@pytest.mark.parametrize("n", SIZES)
def test_selections_equal_numpy(dkey, n):
    ev = make(dkey, n, seed=n + 1, sort=n % 2 == 0)
    x, y, t = (ev[f].astype(np.float64) for f in "xyt")
    for lo, hi in ((20, 150), (0, 199), (150.5, 20), (-np.inf, 60.2), (250, 300), (np.nan, 50),
                   (-2 ** 63, 2 ** 63 - 1), (40, 40), (39.5, 40.5), (41, 40)):
        fields_equal(EB.select_time(ev, lo, hi), numpy_select(ev, (t >= lo) & (t <= hi)))
        fields_equal(EB.select_time(ev, lo, hi, invert=True),
                     numpy_select(ev, ~((t >= lo) & (t <= hi))))
    for box in ((3, 20, 5, 9), (0, 33, 0, 33), (10, 9, 0, 33), (2.5, 7.5, -1.0, 40.2)):
        inside = (x >= box[0]) & (x <= box[1]) & (y >= box[2]) & (y <= box[3])
        a = EB.interval(ev, "x", box[0], box[1])
        b = EB.interval(ev, "y", box[2], box[3])
        fields_equal(EB.select(ev, a, b, closed=True, invert=True), numpy_select(ev, ~inside))
        fields_equal(EB.select(ev, a, b, closed=True), numpy_select(ev, inside))
    drop = np.random.default_rng(n).random(n) < 0.3
    fields_equal(EB.delete_mask(ev, drop), numpy_select(ev, ~drop))
    table = np.random.default_rng(n).random((20, 30)) < 0.2
    px, py = x - 4, y - 2
    ok = (px >= 0) & (px < 20) & (py >= 0) & (py < 30)
    hit = np.zeros(n, bool)
    hit[ok] = table[px[ok].astype(int), py[ok].astype(int)]
    fields_equal(EB.drop_table(ev, table, 4, 2), numpy_select(ev, ~hit))


@pytest.mark.parametrize("dkey", list(DTYPES))
@pytest.mark.parametrize("n", SIZES)
def test_crops_equal_numpy(dkey, n):
    ev = make(dkey, n, seed=n + 2)
    for size in (20, (40, 9), (34, 34), (5, 0)):
        w, h = (size, size) if np.ndim(size) == 0 else size
        ox, oy = (34 - w) // 2, (34 - h) // 2
        x0, y0 = max(ox, 0), max(oy, 0)
        keep = (ev["x"] >= x0) & (ev["x"] < x0 + w) & (ev["y"] >= y0) & (ev["y"] < y0 + h)
        ref = ev[keep].copy()
        for f, o in (("x", ox), ("y", oy)):      # Tonic's int64 arithmetic, cast back
            ref[f] = (ref[f].astype(np.float64 if ref[f].dtype.kind == "f" else np.int64)
                      - o).astype(ref[f].dtype)
        fields_equal(T.CenterCrop(S, size)(ev), ref)


@pytest.mark.parametrize("dkey", ["gesture13", "nmnist32", "tiny3", "floats", "uint64"])
def test_guessed_min_max_on_unsorted_input(dkey):
    """TimeAlignment, RandomTimeReversal and DropEventByTime guess min / max of t from the
    first / last event and check the guess in their pass; unsorted input redoes it right."""
    for seed in range(4):
        for sort in (True, False):
            ev = make(dkey, 300, seed=seed, sort=sort)
            t = ev["t"]
            ref = ev.copy()
            ref["t"] = t - t.min()
            fields_equal(T.TimeAlignment()(ev), ref)
            ref = ev[::-1].copy()
            ref["t"] = t.max() - ref["t"]
            if "p" in ev.dtype.names:
                ref["p"] = np.invert(ref["p"].astype(bool))
            np.random.seed(seed)
            out = T.RandomTimeReversal(p=1.0, flip_polarities="p" in ev.dtype.names)(ev)
            fields_equal(out, ref)
            np.random.seed(seed)
            t_end = t.max()
            duration = (t_end - 0.0) * 0.3
            start = np.random.uniform(0.0, t_end - duration)
            keep = ~((t >= start) & (t <= start + duration))
            state = np.random.get_state()
            np.random.seed(seed)
            fields_equal(T.DropEventByTime(0.3)(ev), ev[keep])
            assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), state))


def test_empty_and_one_event():
    for dkey in ("gesture13", "tiny3", "nmnist32"):
        for n in (0, 1):
            ev = make(dkey, n)
            np.random.seed(0)
            for tr in (T.RandomFlipLR(S, p=1.0), T.RandomFlipUD(S, p=1.0), T.MergePolarities()
                       if "p" in ev.dtype.names else T.TimeSkew(2),
                       T.TimeSkew(1.5, 3), T.TimeAlignment(), T.RandomTimeReversal(p=1.0)
                       if "p" in ev.dtype.names else T.TimeAlignment(),
                       T.Downsample(time_factor=0.5, spatial_factor=0.5), T.CenterCrop(S, 20),
                       T.RandomCrop(S, (20, 20)), T.CropTime(0, 100),
                       T.DropEventByTime(0.3), T.DropEventByArea(S, 0.3),
                       T.DropPixel(coordinates=[(1, 2), (3, 4)]), T.DropEvent(0.5)):
                out = tr(ev)
                assert out.dtype == ev.dtype and len(out) <= max(n, 0) and out.flags.c_contiguous


def test_downsample_keeps_tonic_products_bitwise():
    """Tonic writes ``x * factor`` (no ``+ 0``): a float coordinate keeps the sign of a zero
    product (the former affine op added 0 and turned -0.0 into 0.0); ``t`` keeps Tonic's
    ``t * coef + 0``."""
    ev = make("floats", 50)
    ev["x"][:3] = [0.0, -0.0, 2.0]
    ev["t"][:2] = [0.0, -0.0]
    out = T.Downsample(time_factor=-1.0, spatial_factor=-1.0)(ev)
    ref_x = ev["x"] * -1.0
    ref_t = ev["t"] * -1.0 + 0
    assert np.array_equal(np.signbit(out["x"]), np.signbit(ref_x)) and np.signbit(out["x"][0])
    assert np.array_equal(np.signbit(out["t"]), np.signbit(ref_t)) and not np.signbit(out["t"][0])
    np.testing.assert_array_equal(out["y"], (ev["y"] * -1.0).astype(np.float32))


def test_drop_pixel_coordinate_tables():
    """The table over the listed pixels' own box (integer fields), and the fallbacks: float
    fields, fractional, huge and non-finite coordinates, no integer coordinate at all."""
    for dkey in ("gesture13", "floats", "uint64", "tiny3"):
        ev = make(dkey, 800, seed=3)
        x, y = ev["x"].astype(float), ev["y"].astype(float)
        for coords in ([(1, 2), (3, 4), (33, 33)], [(1.5, 2), (4, 4)], [(5, 5), (1e30, 2)],
                       [(np.inf, 1), (7, 7)], [(0.5, 0.5)], [], np.array([[2, 3], [2, 4]])):
            drop = np.zeros(len(ev), bool)
            for cx, cy in coords:
                drop |= (x == cx) & (y == cy)
            fields_equal(T.DropPixel(coordinates=coords)(ev), ev[~drop])


def test_fused_kernels_are_exported():
    assert {"map_affine", "drop_ibox", "crop_ibox", "select_itable"} <= set(F.__all__)


def ref_integrator(ev, sensor, target, dt_ms, thr):
    """Tonic 1.7's integrator downsampling written from its definition with numpy (the module
    docstring of event_ops_downsampling): scaled coordinates, int16 ON/OFF frames of dt
    windows from the first event, per pixel integrate-and-fire on ON - OFF."""
    dt = dt_ms * 1000
    W2, H2 = target
    x = (ev["x"] * (W2 / sensor[0])).astype(ev["x"].dtype).astype(np.int64)
    y = (ev["y"] * (H2 / sensor[1])).astype(ev["y"].dtype).astype(np.int64)
    t, p = ev["t"], ev["p"].astype(np.int64)
    n = max(int(np.floor((t[-1] - t[0] - dt) / dt) + 1), 1)
    frames = np.zeros((n, 2, H2, W2), np.int16)
    for w in range(n):
        sel = (t >= w * dt + t[0]) & (t < w * dt + t[0] + dt)
        np.add.at(frames[w], (p[sel], y[sel], x[sel]), np.int16(1))
    diff = frames[:, 1] - frames[:, 0]
    state = np.zeros((H2, W2))
    rows = []
    for k in range(n):
        state = state + diff[k]
        pos, neg = state >= thr, -state >= thr
        state[pos | neg] = 0
        for pol, mask in ((1, pos), (0, neg)):
            rows += [(xx, yy, pol, k * dt) for yy, xx in np.argwhere(mask)]
    out = np.zeros(len(rows), [("x", "<i4"), ("y", "<i4"), ("p", "<i4"), ("t", "<i4")])
    if rows:
        out[:] = rows
    return out


@pytest.mark.parametrize("thr", [0, 1, 2])
def test_event_downsampling_integrator_equals_reference(thr):
    """One emitting pass into a buffer of the most events the steps can give (threshold 0:
    ON and OFF at a quiet pixel), or count and fill when that bound is large (long input)."""
    for n, span, dt in ((3000, 100_000, 2), (300, 4_000_000, 1)):
        ev = make("gesture13", n, seed=thr, span=span)
        ev["p"] = np.random.default_rng(thr).integers(0, 2, n).astype(bool)
        out = T.EventDownsampling(S, (17, 17), "integrator", dt=dt, noise_threshold=thr)(ev)
        fields_equal(out, ref_integrator(ev, S, (17, 17), dt, thr))
