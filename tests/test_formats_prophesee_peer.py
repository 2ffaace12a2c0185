"""Prophesee readers and writers against the peers: faery, expelliarmus, evlib.

Run in the benchmark environment (the peers are never installed in the project's venv)::

    PYTHONPATH=. .venv-bench/bin/python -m pytest -q tests/test_formats_prophesee_peer.py

Equal events on the real files, on files written by evframes and read by the peers, and on
files written by the peers and read by evframes. Where a peer is wrong, the test pins how (see
/work/notes/bench_formats_prophesee.md for the prose):

* expelliarmus' EVT 3.0 reader adds 4096 us every time TIME_LOW decreases, on top of the
  TIME_HIGH that already advanced: its times drift on every real stream (the real Gen4.1 file
  ends 45 ms late); its EVT 3.0 writer stores ``t >> 32`` instead of ``t >> 12`` as TIME_HIGH,
  so its files hold no time high bits (only its own reader, with the drift above, reads them
  back).
* evlib decodes EVT 2.1 in the "little" word order only: a "legacy" (IMX636) file gives 0
  events; and it keeps the old TIME_LOW after a new TIME_HIGH (OpenEB resets it): evframes'
  EVT 3.0 writer always writes a TIME_LOW after TIME_HIGH, as sensors do.
* faery reads no EVT 2.1 ("EVT21" in the format line is unknown to it; its decoder is a todo)
  and writes none; its EVT 3.0 writer emits lone VECT_12 / VECT_8 words, which OpenEB's
  triplet-wise vector decoding would misread (evframes, faery and evlib read them word by word).
"""
from __future__ import annotations

import numpy as np
import pytest

from evframes.events import make_events
from evframes.formats import (
    FormatError,
    read_events,
    read_evt3,
    write_evt2,
    write_evt3,
    write_evt21,
    write_prophesee_dat,
)

from helpers import real_file

SIZE = (640, 480)


def cols(ev):
    return {k: np.asarray(ev[k]).astype(np.int64) for k in "txyp"}


def equal(a, b, what=""):
    a, b = cols(a), cols(b)
    assert a["t"].shape == b["t"].shape, (what, a["t"].shape, b["t"].shape)
    for k in "txyp":
        assert np.array_equal(a[k], b[k]), (what, k)


def faery_ext():
    return pytest.importorskip("faery").extension


def faery_evt(path, size=SIZE):
    with faery_ext().evt.Decoder(path, size, None) as d:
        a = np.concatenate([pk["events"] for pk in d if "events" in pk])
    return {"t": a["t"], "x": a["x"], "y": a["y"], "p": a["on"]}


def faery_dat(path, size=SIZE):
    with faery_ext().dat.Decoder(path, size, None) as d:
        a = np.concatenate(list(d))
    return {"t": a["t"], "x": a["x"], "y": a["y"], "p": a["payload"]}


def expel(path, enc):
    Wizard = pytest.importorskip("expelliarmus").Wizard
    a = Wizard(encoding=enc).read(str(path))
    return {k: a[k] for k in "txyp"}


def evlib_read(path):
    evlib = pytest.importorskip("evlib")
    df = evlib.load_events(str(path), sort=False).collect()
    return {"t": df["t"].dt.total_microseconds().to_numpy(), "x": df["x"].to_numpy(),
            "y": df["y"].to_numpy(), "p": (df["polarity"].to_numpy() > 0)}


@pytest.fixture(scope="module")
def events():
    rng = np.random.default_rng(11)
    n = 20000
    t = np.cumsum(rng.integers(0, 30, n)) + (1 << 24) - 200_000    # crosses an EVT 3.0 loop
    x, y, p = rng.integers(0, SIZE[0], n), rng.integers(0, SIZE[1], n), rng.integers(0, 2, n)
    for s in range(0, n - 40, 53):        # rows at one time: EVT 2.1 masks, EVT 3.0 vectors
        k = int(rng.integers(3, 20))
        x[s:s + k] = np.arange(k) + 300
        y[s:s + k], p[s:s + k], t[s:s + k] = y[s], p[s], t[s]
    return make_events(np.maximum.accumulate(t), x, y, p)


# ---------------------------------------------------------------------------------------------
# the real recordings
# ---------------------------------------------------------------------------------------------

def test_real_evt2_all_peers_agree():
    path = real_file("prophesee/faery_evt2.raw")
    ours = read_events(path)
    equal(faery_evt(path), ours, "faery")
    equal(expel(path, "evt2"), ours, "expelliarmus")
    equal(evlib_read(path), ours, "evlib")


def test_real_evt3_faery_evlib_agree_expelliarmus_drifts():
    path = real_file("prophesee/expelliarmus_evt3_sample_small.raw")
    ours = read_events(path)
    equal(faery_evt(path, (1280, 720)), ours, "faery")
    equal(evlib_read(path), ours, "evlib")
    ex = cols(expel(path, "evt3"))
    for k in "xyp":
        assert np.array_equal(ex[k], cols(ours)[k]), k
    drift = ex["t"] - cols(ours)["t"]
    assert drift[0] == 0 and np.all(drift % 4096 == 0) and drift[-1] == 5930770 - 5885714


def test_real_dat_faery_expelliarmus_agree():
    path = real_file("prophesee/expelliarmus_dat_sample_small.dat")
    ours = read_events(path)
    equal(faery_dat(path, (128, 128)), ours, "faery")
    equal(expel(path, "dat"), ours, "expelliarmus")


# ---------------------------------------------------------------------------------------------
# written by evframes, read by the peers
# ---------------------------------------------------------------------------------------------

def test_our_evt2_read_by_every_peer(events, tmp_path):
    path = tmp_path / "ours_evt2.raw"
    write_evt2(path, events, sensor_size=SIZE)
    for name, got in [("faery", faery_evt(path)), ("expelliarmus", expel(path, "evt2")),
                      ("evlib", evlib_read(path))]:
        equal(got, events, name)


def test_our_evt21_read_by_evlib(events, tmp_path):
    path = tmp_path / "ours_evt21.raw"
    write_evt21(path, events, sensor_size=SIZE, endianness="little")
    equal(evlib_read(path), events, "evlib")
    write_evt21(path, events, sensor_size=SIZE, endianness="legacy")
    assert len(evlib_read(path)["t"]) == 0           # evlib: no legacy word order
    with pytest.raises(BaseException, match="EVT21"):   # faery reads no EVT 2.1
        faery_evt(path)


@pytest.mark.parametrize("vectorize", [True, False])
def test_our_evt3_read_by_faery_and_evlib(events, vectorize, tmp_path):
    path = tmp_path / "ours_evt3.raw"
    write_evt3(path, events, sensor_size=SIZE, vectorize=vectorize)
    equal(faery_evt(path), events, "faery")
    equal(evlib_read(path), events, "evlib")
    ex = cols(expel(path, "evt3"))                   # expelliarmus: right pixels, drifting t
    assert np.array_equal(ex["x"], cols(events)["x"]) and np.any(ex["t"] != events["t"])


def test_our_dat_read_by_faery_and_expelliarmus(events, tmp_path):
    path = tmp_path / "ours.dat"
    write_prophesee_dat(path, events, sensor_size=SIZE)
    equal(faery_dat(path), events, "faery")
    equal(expel(path, "dat"), events, "expelliarmus")


# ---------------------------------------------------------------------------------------------
# written by the peers, read by evframes
# ---------------------------------------------------------------------------------------------

def _faery_array(events):
    faery = pytest.importorskip("faery")
    arr = np.zeros(len(events), faery.EVENTS_DTYPE)
    for k in "txyp":
        arr[k] = events[k]
    return arr


@pytest.mark.parametrize("version", ["evt2", "evt3"])
def test_faery_written_evt_read_by_evframes(events, version, tmp_path):
    ext = faery_ext()
    path = tmp_path / f"faery_{version}.raw"
    with ext.evt.Encoder(path, version, False, SIZE, True) as enc:
        enc.write({"events": _faery_array(events)})
    equal(read_events(path), events, f"evframes on faery {version}")
    equal(evlib_read(path), events, f"evlib on faery {version}")


def test_faery_written_dat_read_by_evframes(events, tmp_path):
    ext = faery_ext()
    path = tmp_path / "faery.dat"
    pk = np.zeros(len(events), [("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("payload", "u1")])
    pk["t"], pk["x"], pk["y"], pk["payload"] = (events[k] for k in "txyp")
    with ext.dat.Encoder(path, "dat2", "cd", False, SIZE) as enc:
        enc.write(pk)
    equal(read_events(path), events, "evframes on faery dat")


def test_expelliarmus_written_files(events, tmp_path):
    Wizard = pytest.importorskip("expelliarmus").Wizard
    arr = np.zeros(len(events), [("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
    for k in "txyp":
        arr[k] = events[k]
    for enc, name in [("dat", "ex.dat"), ("evt2", "ex2.raw")]:
        Wizard(encoding=enc).save(str(tmp_path / name), arr)
        equal(read_events(tmp_path / name), events, f"evframes on expelliarmus {enc}")
    Wizard(encoding="evt3").save(str(tmp_path / "ex3.raw"), arr)
    with pytest.raises(FormatError, match="backwards"):   # no TIME_HIGH beyond the first
        read_evt3(tmp_path / "ex3.raw")
    garbled = read_evt3(tmp_path / "ex3.raw", validate=False)
    assert int(garbled["t"].max()) < 1 << 24 < int(events["t"].max())
