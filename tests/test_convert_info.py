"""The format table (read windows, chunked reading, probes, writing), ``evframes convert`` between
every pair of formats and the events store, and ``evframes info FILE``."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import evframes
from evframes.cli import main
from evframes.events import make_events
from evframes.formats import FORMATS, iter_events, probe_events, read_events, write_events
from evframes.formats.stream_writer import EventFileWriter
from evframes.pipeline import convert as convert_mod
from evframes.pipeline.convert import convert
from evframes.store import EventsDataset

from helpers import assert_one_error_line, real_file

#: real files (shared/data/real) -> (format, sensor or None, events, first t, last t) from
#: SOURCES.md and the probes of peers
REAL = {
    "prophesee/faery_evt2.raw": ("evt2", (640, 480), 521252, 913716224, 913812095),
    "prophesee/expelliarmus_evt3_sample_small.raw": ("evt3", (1280, 720), 5000, None, None),
    "prophesee/expelliarmus_dat_sample_small.dat": ("dat", None, 4407, None, None),
    "aedat4/aestream_davis346.aedat4": ("aedat4", (346, 260), 117667, None, None),
    "aedat2/jaer_JSpikeStack_MovingDarkBox_dvs128.aedat": ("aedat2", (128, 128), 489834, None,
                                                           None),
    "nmnist_bin/tonic_sample_nmnist.bin": ("atis", None, 4325, 654, 311175),
}
FILE_FORMATS = sorted(FORMATS)
ENDPOINTS = FILE_FORMATS + ["store"]
EXT = {"aedat4": ".aedat4", "evt2": ".raw", "evt21": ".raw", "evt3": ".raw", "dat": ".dat",
       "aedat3": ".aedat", "aedat2": ".aedat", "atis": ".bin", "store": ".h5"}


def same(a, b):
    for k in "txyp":
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]), err_msg=k)


def sample_events(n=600, seed=0, sensor=(128, 128), t0=50):
    """Time-ordered events every format holds: on a 128x128 sensor (AEDAT 2.0), y != 240
    (ATIS), gaps well below every unwrap limit, runs at equal t (EVT vectors)."""
    rng = np.random.default_rng(seed)
    t = t0 + np.cumsum(rng.integers(0, 900, n))
    t[10:20] = t[10]
    x = rng.integers(0, sensor[0], n)
    x[10:20] = np.arange(10) + min(40, sensor[0] - 10)
    y = rng.integers(0, sensor[1], n)
    y[10:20] = 7
    x[-1], y[-1] = sensor[0] - 1, sensor[1] - 1       # the extent is the sensor
    p = rng.integers(0, 2, n)
    p[10:20] = 1
    return make_events(t, x, y, p)


# ----------------------------------------------------------------------------------------------
# the table on the real files
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rel", sorted(REAL))
def test_probe_iter_and_windows_on_real_files(rel):
    path = real_file(rel)
    fmt, sensor, n, t_first, t_last = REAL[rel]
    info = probe_events(path)
    assert info["format"] == fmt and info["events"] == n
    assert (None if info["width"] is None else (info["width"], info["height"])) == sensor
    full = read_events(path)
    assert len(full) == n
    assert info["t_first"] == int(full["t"][0]) and info["t_last"] == int(full["t"][-1])
    if t_first is not None:
        assert (info["t_first"], info["t_last"]) == (t_first, t_last)
    assert info["file_bytes"] == path.stat().st_size
    chunks = list(iter_events(path, chunk_events=1000))
    assert len(chunks) > 1 and max(len(c) for c in chunks) < 20_000
    same({k: np.concatenate([c[k] for c in chunks]) for k in "txyp"}, full)
    t = full["t"]
    a, b = int(t[n // 4]), int(t[3 * n // 4])
    keep = (t >= a) & (t < b)
    win = read_events(path, t_start=a, t_end=b)
    same(win, {k: full[k][keep] for k in "txyp"})
    parts = list(iter_events(path, 500, t_start=a, t_end=b))
    same({k: np.concatenate([c[k] for c in parts]) for k in "txyp"}, win)


def test_windows_and_chunks_refuse_nonsense(tmp_path):
    path = tmp_path / "a.aedat4"
    write_events(path, sample_events(), sensor_size=(128, 128))
    with pytest.raises(ValueError, match="empty time window"):
        read_events(path, t_start=5, t_end=5)
    with pytest.raises(ValueError, match="chunk_events"):
        next(iter_events(path, 0))
    with pytest.raises(ValueError, match="cannot tell the format"):
        write_events(tmp_path / "a.txt", sample_events())
    with pytest.raises(ValueError, match="sensor_size"):
        write_events(tmp_path / "b.raw", sample_events())


# ----------------------------------------------------------------------------------------------
# chunked writing
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["evt2", "evt21", "evt3"])
def test_chunked_evt_writing_crosses_time_loops(tmp_path, fmt):
    """Chunks after the first carry the TIME_HIGH state on: times past several loops (EVT 3:
    2**24 us, EVT 2: 2**34 us), chunk boundaries inside gaps and at equal times decode exactly,
    as one write_evt* call does."""
    rng = np.random.default_rng(3)
    n = 4000
    step = (1 << 23) if fmt == "evt3" else (1 << 31)
    t = np.cumsum(rng.integers(0, 2 * step // 40, n)) + rng.integers(0, 1 << 20)
    t[1000:1010] = t[1000]
    t[2500:] += 5 * step                # 2.5 loops between two chunks
    ev = make_events(t, rng.integers(0, 640, n), rng.integers(0, 480, n), rng.integers(0, 2, n))
    assert int(t[-1]) >> (24 if fmt == "evt3" else 34) >= 2      # loops crossed
    one, chunked = tmp_path / "one.raw", tmp_path / "chunked.raw"
    write_events(one, ev, format=fmt, sensor_size=(640, 480))
    with EventFileWriter(chunked, fmt, (640, 480)) as w:
        for a, b in [(0, 1), (1, 1005), (1005, 1007), (1007, 2500), (2500, n)]:
            w.write(ev.slice(a, b))
    same(read_events(chunked), ev)
    same(read_events(one), ev)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunked.raw", "one.raw"]


def test_time_checks_of_the_wrapping_formats(tmp_path):
    late = sample_events(t0=(1 << 32) + 5)
    with pytest.raises(ValueError, match="modulo"):
        write_events(tmp_path / "a.dat", late, sensor_size=(128, 128))
    with pytest.raises(ValueError, match="TIME_HIGH"):
        write_events(tmp_path / "a.raw", sample_events(t0=1_633_953_690_975_950),
                     sensor_size=(128, 128))
    gap = sample_events()
    gap["t"][300:] += 1 << 22
    with pytest.raises(ValueError, match="gap"):
        write_events(tmp_path / "a.bin", gap)
    with EventFileWriter(tmp_path / "b.dat", sensor_size=(128, 128)) as w:
        w.write(sample_events().slice(0, 100))
        with pytest.raises(ValueError, match="time order"):
            w.write(sample_events().slice(0, 100))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.dat"]


# ----------------------------------------------------------------------------------------------
# convert: every pair
# ----------------------------------------------------------------------------------------------

def _write(path, kind, ev):
    if kind == "store":
        src = path.with_suffix(".aedat4")
        write_events(src, ev, sensor_size=(128, 128))
        convert(src, path, progress=False)
        src.unlink()
    else:
        write_events(path, ev, format=kind, sensor_size=(128, 128))


def _read(path, kind):
    if kind == "store":
        ds = EventsDataset(path)
        assert len(ds) == 1 and ds.labels.tolist() == [0]
        return ds[0][0], tuple(ds.sensor_size)
    info = probe_events(path)
    assert info["format"] == kind
    return read_events(path), (info["width"], info["height"])


@pytest.mark.parametrize("src_kind", ENDPOINTS)
def test_convert_round_trips_every_pair(tmp_path, src_kind):
    """IN of each kind converted to every other kind (streamed in chunks of 64 events) holds the
    same events, and the sensor size wherever the output format records it."""
    ev = sample_events()
    src = tmp_path / f"in{EXT[src_kind]}"
    _write(src, src_kind, ev)
    for dst_kind in ENDPOINTS:
        if dst_kind == "store" and src_kind == "store":
            continue
        dst = tmp_path / f"out_{dst_kind}{EXT[dst_kind]}"
        s = convert(src, dst, format=None if dst_kind == "store" else dst_kind,
                    sensor_size=(128, 128) if src_kind == "atis" else None, chunk_events=64,
                    progress=False)
        assert s.events == len(ev)
        back, size = _read(dst, dst_kind)
        same(back, ev)
        if dst_kind in ("aedat4", "evt2", "evt21", "evt3", "dat", "store", "aedat2"):
            assert size == (128, 128), (src_kind, dst_kind, size)
    leftovers = [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert not leftovers


def test_convert_windows_sensor_and_rebase(tmp_path):
    ev = sample_events(t0=(1 << 32) + 7)
    src = tmp_path / "in.aedat4"
    write_events(src, ev, sensor_size=(200, 150))
    t = ev["t"]
    a, b = int(t[100]), int(t[400])
    s = convert(src, tmp_path / "w.raw", format="evt2", t_start=a, t_end=b, progress=False)
    same(read_events(tmp_path / "w.raw"), ev.slice(100, 400))
    assert s.sensor_size == (200, 150) and probe_events(tmp_path / "w.raw")["width"] == 200
    with pytest.raises(ValueError, match="rebase"):
        convert(src, tmp_path / "x.dat", progress=False)
    s = convert(src, tmp_path / "x.dat", rebase=True, progress=False)
    back = read_events(tmp_path / "x.dat")
    np.testing.assert_array_equal(back["t"], t - t[0])
    assert any("shifted" in n for n in s.notes)
    with pytest.raises(ValueError, match="128x128"):
        convert(src, tmp_path / "y.aedat", format="aedat2", progress=False)
    # ATIS has no header: the extent is used and said so
    atis = tmp_path / "n.bin"
    write_events(atis, sample_events(sensor=(34, 34)))
    s = convert(atis, tmp_path / "n.aedat4", progress=False)
    assert s.sensor_size == (34, 34) and "extent" in s.notes[0]


def test_store_to_folder_keeps_every_sample(tmp_path):
    """A store of several samples becomes <class>/<index>_<source>.<ext> files, one per sample,
    and `--sample K` one file; the folder appears only when complete."""
    from evframes.store import EventsStoreWriter
    store = tmp_path / "train.h5"
    evs = [sample_events(50 + 10 * i, seed=i) for i in range(4)]
    with EventsStoreWriter(store, {"source": str}) as w:
        for i, e in enumerate(evs):
            w.append(e, i % 2, {"source": f"rec_{i}.aedat"})
        w.commit({"kind": "events", "dataset": "test", "split": "train",
                  "sensor_size": [128, 128], "classes": ["wave", "clap"]})
    out = tmp_path / "out"
    s = convert(store, out, format="evt3", progress=False)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["clap/000001_rec_1.raw", "clap/000003_rec_3.raw",
                     "wave/000000_rec_0.raw", "wave/000002_rec_2.raw"]
    same(read_events(out / "clap/000003_rec_3.raw"), evs[3])
    assert s.samples == 4 and s.events == sum(len(e) for e in evs)
    with pytest.raises(ValueError, match="--force"):
        convert(store, out, format="evt3", progress=False)
    convert(store, out, format="dat", force=True, progress=False)
    assert len(list(out.rglob("*.dat"))) == 4 and not list(out.rglob("*.raw"))
    convert(store, tmp_path / "one.aedat4", sample=2, progress=False)
    same(read_events(tmp_path / "one.aedat4"), evs[2])
    with pytest.raises(ValueError, match="--format"):
        convert(store, tmp_path / "many", progress=False)
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_interrupted_convert_leaves_no_output(tmp_path, monkeypatch):
    src = tmp_path / "in.raw"          # EVT 3: chunks of exactly chunk_events
    write_events(src, sample_events(), sensor_size=(128, 128))
    real_iter = convert_mod.iter_events

    def dying(*a, **k):
        for i, ev in enumerate(real_iter(*a, **k)):
            if i == 2:
                raise KeyboardInterrupt
            yield ev
    monkeypatch.setattr(convert_mod, "iter_events", dying)
    for out in ("out.aedat4", "out.h5"):
        with pytest.raises(KeyboardInterrupt):
            convert(src, tmp_path / out, chunk_events=50, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.raw"]


# ----------------------------------------------------------------------------------------------
# the command line
# ----------------------------------------------------------------------------------------------

def test_info_file_prints_the_facts(tmp_path):
    path = real_file("prophesee/faery_evt2.raw")
    r = CliRunner().invoke(main, ["info", str(path)])
    assert r.exit_code == 0, r.output
    ev = read_events(path)
    on = int(ev["p"].sum())
    out = r.output
    for needle in ("Prophesee EVT 2.0 RAW (evt2)", "640x480 pixels", "521,252",
                   "913,716,224 us .. 913,812,095 us", "95,871 us (0.096 s)",
                   f"{521252 / 0.095871 / 1e6:.3f} M events/s", f"ON {on:,}",
                   f"OFF {521252 - on:,}", "x 0..639, y 0..479",
                   f"{path.stat().st_size:,} bytes"):
        assert needle in out, (needle, out)
    r = CliRunner().invoke(main, ["info", str(real_file("nmnist_bin/tonic_sample_nmnist.bin"))])
    assert r.exit_code == 0 and "ON 2,145 (49.6%)" in r.output and "not in the file" in r.output
    r = CliRunner().invoke(main, ["info", "--quick", str(path)])
    assert r.exit_code == 0 and "polarity" not in r.output and "521,252" in r.output


def test_info_store_and_roots(tmp_path):
    src = tmp_path / "a.aedat4"
    write_events(src, sample_events(), sensor_size=(128, 128))
    r = CliRunner().invoke(main, ["convert", "-q", str(src), str(tmp_path / "a.h5")])
    assert r.exit_code == 0 and "wrote" in r.output, r.output
    r = CliRunner().invoke(main, ["info", str(tmp_path / "a.h5")])
    assert r.exit_code == 0 and "1 samples, 600 events" in r.output, r.output
    assert_one_error_line(CliRunner().invoke(main, ["info", "--root", str(tmp_path)]),
                          "no extracted dataset")
    assert_one_error_line(CliRunner().invoke(main, ["info", str(tmp_path)]),
                          "no extracted dataset")


def test_cli_bad_input_is_one_error_line(tmp_path):
    junk = tmp_path / "junk.raw"
    junk.write_bytes(b"\x01\x02garbage" * 10)
    src = tmp_path / "a.aedat4"
    write_events(src, sample_events(), sensor_size=(128, 128))
    cut = tmp_path / "cut.aedat4"
    cut.write_bytes(src.read_bytes()[:-100])
    run = CliRunner().invoke
    assert_one_error_line(run(main, ["info", str(junk)]), "junk.raw", "unknown event file format")
    assert_one_error_line(run(main, ["info", str(tmp_path / "none.raw")]), "none.raw")
    assert_one_error_line(run(main, ["info", str(cut)]), "cut.aedat4")
    assert_one_error_line(run(main, ["convert", str(junk), str(tmp_path / "o.dat")]),
                          "junk.raw")
    assert_one_error_line(run(main, ["convert", str(src), str(tmp_path / "o.txt")]),
                          "cannot tell the format")
    assert_one_error_line(run(main, ["convert", str(src), str(src)]), "same file")
    assert_one_error_line(run(main, ["convert", str(src), str(tmp_path / "o.raw"),
                                     "--t-start", "9", "--t-end", "9"]), "empty time window")
    assert_one_error_line(run(main, ["convert", str(src), str(tmp_path / "o.raw"),
                                     "--sensor", "12"]), "WIDTHxHEIGHT", exit_code=2)
    assert_one_error_line(run(main, ["convert", str(src), str(tmp_path / "o.aedat"),
                                     "-f", "aedat2", "--sensor", "346x260"]), "128x128")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("o.", ".o."))]


def test_top_level_names():
    assert evframes.iter_events is iter_events and evframes.probe_events is probe_events
    assert evframes.write_events is write_events
