"""Issue 10, items 4 and 5: truncated recordings never become silent empty samples, and format
detection refuses what does not parse (real Prophesee EVT 3.0 / EVT 2.0 / DAT, AEDAT 4 files)."""
from __future__ import annotations

import shutil
import struct
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evframes import EventsDataset, FormatError, synth
from evframes.cli import main
from evframes.datasets import open_raw
from evframes.datasets.dvs128 import parse_labels_csv
from evframes.events import make_events
from evframes.extract import extract
from evframes.formats import (
    TruncatedFileWarning,
    decode_atis_bytes,
    decode_events_bytes,
    read_aedat2,
    read_aedat3,
    read_atis_bin,
    read_events,
    write_aedat3,
    write_atis_bin,
)
from evframes.store import events_store_path, read_manifest

from helpers import real_file as real

A3_END = b"#!END-HEADER\r\n"


def a3_cut_packet_offset(data: bytes, cut: int) -> int:
    """Independent walk of AEDAT 3.1 packet headers: start of the packet containing ``cut``."""
    pos = data.index(A3_END) + len(A3_END)
    while True:
        size, cap = struct.unpack_from("<I", data, pos + 4)[0], \
            struct.unpack_from("<I", data, pos + 16)[0]
        end = pos + 28 + size * cap
        if end > cut:
            return pos
        pos = end


def no_stores_nor_temporaries(root: Path):
    ev = root / "events"
    left = [p.name for p in ev.iterdir()] if ev.exists() else []
    assert not [n for n in left if n.endswith(".h5") or ".tmp-" in n], left


def error_lines(r):
    return [ln for ln in r.output.splitlines() if ln.startswith("Error:")]


# ----------------------------------------------------------------------------------------------
# DVS128 Gesture: a recording cut mid-packet
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dvs_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("dvs_folder")
    synth.fake_dvs128(root, recordings=4, scale=0.02, seed=1, archive=False, workers=1)
    return root


CUT_NAME = "user07_led.aedat"   # second train recording of the 4-recording replica


def cut_replica(dvs_folder, dest, archive=False):
    """Copy the replica and cut CUT_NAME in half; returns (root, cut file, packet offset)."""
    shutil.copytree(dvs_folder / "DvsGesture", dest / "DvsGesture")
    rec = dest / "DvsGesture" / CUT_NAME
    data = rec.read_bytes()
    cut = len(data) // 2 + 3
    rec.write_bytes(data[:cut])
    offset = a3_cut_packet_offset(data, cut)
    assert offset < cut                                       # really mid-packet
    if archive:
        with tarfile.open(dest / "DvsGesture.tar.gz", "w:gz") as tf:
            for p in sorted((dest / "DvsGesture").iterdir()):
                tf.add(p, arcname=f"DvsGesture/{p.name}")
        shutil.rmtree(dest / "DvsGesture")
    return dest, rec, offset


@pytest.mark.parametrize("archive", [False, True])
def test_truncated_recording_fails_extract_by_default(dvs_folder, tmp_path, archive):
    root, rec, offset = cut_replica(dvs_folder, tmp_path, archive)
    with pytest.raises(FormatError) as info:
        extract(open_raw("dvs128", root), workers=1, progress=False, warn=False)
    msg = str(info.value)
    assert CUT_NAME in msg and f"byte {offset}" in msg and info.value.offset == offset, msg
    assert "keep" in msg                                       # says how to keep the rest
    no_stores_nor_temporaries(root)


def test_truncated_recording_cli_one_error_line(dvs_folder, tmp_path):
    root, rec, offset = cut_replica(dvs_folder, tmp_path)
    r = CliRunner().invoke(main, ["extract", "--dataset", "dvs128", "--root", str(root), "-q"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    lines = error_lines(r)
    assert len(lines) == 1 and str(rec) in lines[0] and f"byte {offset}" in lines[0], r.output
    assert "--keep-truncated" in lines[0]
    assert "Traceback" not in r.output
    no_stores_nor_temporaries(root)


def test_keep_truncated_drops_samples_past_the_cut(dvs_folder, tmp_path):
    root, rec, offset = cut_replica(dvs_folder, tmp_path)
    s = extract(open_raw("dvs128", root), workers=2, progress=False, warn=False,
                on_truncated="keep")
    with pytest.warns(TruncatedFileWarning):
        part = read_aedat3(rec)                                # the complete part
    t_last = int(part["t"].max())
    rows = parse_labels_csv(rec.with_name(CUT_NAME.replace(".aedat", "_labels.csv")).read_text(),
                            "csv")
    n_in = [int(((part["t"] >= a) & (part["t"] < b)).sum()) for _, a, b in rows]
    gone = [i for i, (_, a, b) in enumerate(rows) if b > t_last and n_in[i] == 0]
    assert gone and all(rows[i][1] > t_last for i in gone[1:])
    # the summary and the manifest list exactly those samples
    man = read_manifest(events_store_path(root, "train"))
    want = [{"recording": CUT_NAME, "label": rows[i][0] - 1, "start": rows[i][1],
             "end": rows[i][2], "reason": "truncated recording"} for i in gone]
    got = [{k: d[k] for k in ("recording", "label", "start", "end", "reason")}
           for d in man["dropped_samples"]]
    assert got == want
    assert s.dropped["train"] == man["dropped_samples"] and s.dropped.get("test", []) == []
    assert read_manifest(events_store_path(root, "test"))["dropped_samples"] == []
    assert [(d["recording"], d["offset"]) for d in man["truncated_recordings"]] == \
        [(CUT_NAME, offset)]
    text = "\n".join(s.lines())
    assert "dropped" in text and CUT_NAME in text and f"byte {offset}" in text
    # the store: 36 - dropped train samples; kept samples of the cut recording are exact
    tr = EventsDataset(root, "train")
    assert len(tr) == 36 - len(gone) and s.samples["train"] == len(tr)
    kept = [i for i in range(len(tr)) if tr.sample_meta(i)["source"] == CUT_NAME]
    assert [tr.sample_meta(i)["row"] for i in kept] == \
        [r for r in range(len(rows)) if r not in gone]
    for i in kept:
        ev, label = tr[i]
        m = tr.sample_meta(i)
        sel = (part["t"] >= m["start"]) & (part["t"] < m["end"])
        assert len(ev["t"]) == int(sel.sum()) > 0
        np.testing.assert_array_equal(ev["t"], part["t"][sel])
    # nothing stored is empty
    assert all(len(tr[i][0]["t"]) > 0 for i in range(len(tr)))


def test_keep_truncated_cli_verify_note_and_default_rerun(dvs_folder, tmp_path):
    root, rec, offset = cut_replica(dvs_folder, tmp_path)
    runner = CliRunner()
    r = runner.invoke(main, ["extract", "--dataset", "dvs128", "--root", str(root), "-q",
                             "--keep-truncated"])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert "dropped" in r.output and CUT_NAME in r.output
    r = runner.invoke(main, ["verify", "--root", str(root)])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert "0 with problems" in r.output and "BAD" not in r.output
    note = [ln for ln in r.output.splitlines() if "events/train.h5" in ln][0]
    assert note.lstrip().startswith("ok") and "note" in note and "dropped" in note, r.output
    before = read_manifest(events_store_path(root, "train"))["build_id"]
    # a default run does not silently accept the truncated recording, and keeps the store
    r = runner.invoke(main, ["extract", "--dataset", "dvs128", "--root", str(root), "-q"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    lines = error_lines(r)
    assert len(lines) == 1 and CUT_NAME in lines[0] and f"byte {offset}" in lines[0], r.output
    assert read_manifest(events_store_path(root, "train"))["build_id"] == before
    # with the option again, the stores are reused
    r = runner.invoke(main, ["extract", "--dataset", "dvs128", "--root", str(root), "-q",
                             "--keep-truncated"])
    assert r.exit_code == 0 and "reused" in r.output and "dropped" in r.output, r.output


def test_cut_short_empty_gap_and_dropped_in_one_recording(tmp_path):
    """An empty window before the cut stays (as in an intact recording); a window straddling
    the cut keeps its complete events; windows past the cut are dropped."""
    folder = tmp_path / "DvsGesture"
    folder.mkdir()
    t = np.r_[[10, 20, 30, 40], np.arange(5000, 6000, 10)]
    ev = make_events(t, np.full(t.size, 5), np.full(t.size, 6), np.arange(t.size) % 2)
    path = folder / "user01_lab.aedat"
    write_aedat3(path, ev, packet_size=4)
    data = path.read_bytes()
    head = data.index(A3_END) + len(A3_END)
    k = 10                                     # cut inside the 11th packet, after 2 events
    cut = head + k * (28 + 32) + 28 + 16 + 5
    path.write_bytes(data[:cut])
    (folder / "user01_lab_labels.csv").write_text(
        "class,startTime_usec,endTime_usec\n1,0,100\n2,1000,2000\n3,5000,7000\n4,8000,9000\n")
    (folder / "trials_to_train.txt").write_text("user01_lab.aedat\n")
    (folder / "trials_to_test.txt").write_text("")
    with pytest.raises(FormatError, match=f"byte {head + k * 60}"):
        extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False)
    s = extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False,
                on_truncated="keep")
    tr = EventsDataset(tmp_path, "train")
    assert [int(v) for v in tr.labels] == [0, 1, 2]
    assert len(tr[0][0]["t"]) == 4 and len(tr[1][0]["t"]) == 0
    np.testing.assert_array_equal(tr[2][0]["t"], t[4:4 + 4 * (k - 1) + 2])
    assert [(d["label"], d["start"]) for d in s.dropped["train"]] == [(3, 8000)]
    msgs = " | ".join(s.warnings)
    assert "row 3" in msgs and "holds no events" in msgs          # the gap: as before
    assert "row 4" in msgs and "cut short" in msgs                 # straddles the cut


def test_intact_empty_window_is_kept_not_dropped(tmp_path):
    folder = tmp_path / "DvsGesture"
    folder.mkdir()
    write_aedat3(folder / "user01_lab.aedat", make_events([10, 20], [1, 2], [3, 4], [0, 1]))
    (folder / "user01_lab_labels.csv").write_text(
        "class,startTime_usec,endTime_usec\n1,0,100\n2,1000,2000\n")
    (folder / "trials_to_train.txt").write_text("user01_lab.aedat\n")
    (folder / "trials_to_test.txt").write_text("")
    for policy in ("error", "keep"):
        s = extract(open_raw("dvs128", tmp_path), workers=1, progress=False, warn=False,
                    on_truncated=policy, force=True)
        assert s.samples["train"] == 2 and s.dropped["train"] == []
        assert read_manifest(events_store_path(tmp_path, "train"))["dropped_samples"] == []
    with pytest.raises(ValueError, match="on_truncated"):
        extract(open_raw("dvs128", tmp_path), progress=False, on_truncated="warn")


# ----------------------------------------------------------------------------------------------
# N-MNIST and CIFAR10-DVS: one file per sample, cut mid-record
# ----------------------------------------------------------------------------------------------

def test_nmnist_cut_members(tmp_path):
    synth.fake_nmnist(tmp_path, per_class_train=2, per_class_test=1, seed=4, archive=False)
    a = tmp_path / "Train" / "3" / "00007.bin"
    b = tmp_path / "Train" / "5" / "00011.bin"
    full_a = read_atis_bin(a)
    a.write_bytes(a.read_bytes()[:5 * 40 + 2])           # 40 complete events, 2 stray bytes
    b.write_bytes(b.read_bytes()[:3])                    # no complete event at all
    with pytest.raises(FormatError) as info:             # through a process pool
        extract(open_raw("nmnist", tmp_path), workers=2, progress=False, warn=False)
    assert info.value.offset == 200 and str(a) in str(info.value), str(info.value)
    assert "keep" in str(info.value)
    no_stores_nor_temporaries(tmp_path)
    s = extract(open_raw("nmnist", tmp_path), workers=2, progress=False, warn=False,
                on_truncated="keep")
    assert s.samples["train"] == 19
    assert [(d["recording"], d["label"], d["reason"]) for d in s.dropped["train"]] == \
        [("5/00011.bin", 5, "truncated recording")]
    man = read_manifest(events_store_path(tmp_path, "train"))
    assert man["dropped_samples"] == s.dropped["train"]
    assert sorted((d["recording"], d["offset"], d["events_kept"])
                  for d in man["truncated_recordings"]) == \
        [("3/00007.bin", 200, 40), ("5/00011.bin", 0, 0)]
    tr = EventsDataset(tmp_path, "train")
    i = [tr.sample_meta(j)["source"] for j in range(len(tr))].index("3/00007.bin")
    np.testing.assert_array_equal(tr[i][0]["t"], full_a["t"][:40])
    assert "5/00011.bin" not in [tr.sample_meta(j)["source"] for j in range(len(tr))]


def test_cifar10dvs_cut_members_in_zip(tmp_path):
    synth.fake_cifar10dvs(tmp_path, per_class=2, seed=5, archive=True)
    z = tmp_path / "airplane.zip"
    with zipfile.ZipFile(z) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    names = sorted(members)
    head_end = 0
    while members[names[0]][head_end:head_end + 1] == b"#":
        head_end = members[names[0]].index(b"\n", head_end) + 1
    members[names[0]] = members[names[0]][:head_end + 8 * 25 + 3]
    with zipfile.ZipFile(z, "w") as zf:
        for n in names:
            zf.writestr(n, members[n])
    with pytest.raises(FormatError) as info:
        extract(open_raw("cifar10dvs", tmp_path), workers=1, progress=False, warn=False)
    assert f"{z}:{names[0]}" in str(info.value) and info.value.offset == head_end + 200
    s = extract(open_raw("cifar10dvs", tmp_path), workers=1, progress=False, warn=False,
                on_truncated="keep")
    assert s.samples == {"train": 10, "test": 10} and s.dropped == {"train": [], "test": []}
    ev, _ = EventsDataset(tmp_path, "train")[0]
    assert len(ev["t"]) == 25
    assert [d["offset"] for d in s.truncated] == [head_end + 200]


# ----------------------------------------------------------------------------------------------
# Format detection refuses what does not parse
# ----------------------------------------------------------------------------------------------

FOREIGN = [("prophesee/expelliarmus_evt3_sample_small.raw", "Prophesee EVT 3.0"),
           ("prophesee/faery_evt2.raw", "Prophesee EVT 2.0"),
           ("prophesee/expelliarmus_dat_sample_small.dat", "Prophesee DAT")]
# (AEDAT 4 is read since issue 14: tests/test_formats_aedat4.py checks the other readers refuse it;
# the Prophesee files too: read_events reads them, tests/test_formats_prophesee.py, while the
# readers of the other formats below still refuse them by name)
SUPPORTED = ("AEDAT 3.1", "AEDAT 2.0", "ATIS")


def assert_refused(fn, arg, name, what, offset=0, **kw):
    with pytest.raises(FormatError) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("error", TruncatedFileWarning)   # no garbage "decode" either
            fn(arg, **kw)
    msg = str(info.value)
    assert str(name) in msg and f"byte {offset}" in msg and info.value.offset == offset, msg
    assert what in msg, msg
    assert all(s in msg for s in SUPPORTED), msg
    return msg


@pytest.mark.parametrize("rel,what", FOREIGN)
def test_foreign_real_files_are_refused_by_name(rel, what, tmp_path):
    path = real(rel)
    assert_refused(read_atis_bin, path, path, what)
    assert_refused(read_atis_bin, path, path, what, on_truncated="warn")
    data = path.read_bytes()
    assert_refused(lambda d: decode_atis_bytes(d, name="m.bin", on_truncated="warn"), data,
                   "m.bin", what)
    for fn in (read_aedat3, read_aedat2):            # the AEDAT readers name it too
        with pytest.raises(FormatError, match=what):
            fn(path)


def test_headerless_garbage_refused_by_plausibility(tmp_path):
    evt3 = real("prophesee/expelliarmus_evt3_sample_small.raw").read_bytes()
    body = evt3[evt3.index(b"\n% system_ID 48\n") + 16:]
    body = body[: len(body) // 5 * 5]
    path = tmp_path / "headerless.bin"
    path.write_bytes(body)
    # independent: first record whose 23-bit timestamp goes back by less than a wrap
    r = np.frombuffer(body, np.uint8).reshape(-1, 5).astype(np.int64)
    ts = ((r[:, 2] & 0x7F) << 16) | (r[:, 3] << 8) | r[:, 4]
    first = int(np.flatnonzero((np.diff(ts) < 0) & (np.diff(ts) >= -(1 << 22)))[0]) + 1
    assert not np.any(r[:first + 1, 1] == 240)       # no overflow marker before it
    msg = assert_refused(read_atis_bin, path, path, "backwards", offset=5 * first)
    assert "not an ATIS" in msg
    assert_refused(read_events, path, path, "backwards", offset=5 * first)
    # the explicit escape hatch still decodes the records as before
    assert len(read_atis_bin(path, validate=False, overflow_events=False)) == len(body) // 5
    rng = np.random.default_rng(0)
    for n in (50, 1000, 20000):
        with pytest.raises(FormatError, match="supported formats"):
            decode_atis_bytes(rng.integers(0, 256, 5 * n, dtype=np.uint8).tobytes(),
                              name="rand.bin")


def test_real_atis_files_still_decode_to_their_figures():
    for rel, n, n_on in [("nmnist_bin/tonic_sample_nmnist.bin", 4325, 2145),
                         ("nmnist_bin/slayer_NMNISTsmall_train00001_label5.bs2", 4681, None),
                         ("nmnist_bin/slayer_NMNISTsmall_test60001_label7.bs2", 3330, None),
                         ("nmnist_bin/ncaltech101_faces_easy_0001.bin", 67445, None),
                         ("dvs_gesture/dvsgesture_clip_40bit.bs2", 63471, None)]:
        ev = read_events(real(rel))
        assert len(ev) == n and np.all(np.diff(ev["t"]) >= 0)
        if n_on is not None:
            assert int(ev["p"].sum()) == n_on


def test_atis_file_whose_first_bytes_look_like_text_still_decodes(tmp_path):
    """A real recording whose first event is x=37 ('%'), y=35 ('#') is not taken for a header."""
    data = bytearray(real("nmnist_bin/tonic_sample_nmnist.bin").read_bytes())
    data[0], data[1] = 37, 35
    ev = decode_atis_bytes(bytes(data), name="x.bin")
    assert len(ev) == 4325 and int(ev["x"][0]) == 37
    data[0], data[1] = 35, 33                         # '#!'
    assert len(decode_events_bytes(bytes(data), name="x.bin")) == 4325


def test_atis_overflow_markers_and_wraps_are_plausible(tmp_path):
    rows = [(1, 2, 1, 8000), (0, 240, 0, 0), (3, 4, 0, 50), (5, 6, 1, (1 << 23) - 5),
            (7, 8, 0, 3)]                             # marker, then a 23-bit wrap
    data = b"".join(bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])
                    for x, y, p, t in rows)
    ev = decode_atis_bytes(data, name="ok.bin")
    assert ev["t"].tolist() == [8000, 50 + 8192, (1 << 23) - 5 + 8192, 3 + 8192 + (1 << 23)]
    raw = decode_atis_bytes(data, name="ok.bin", overflow_events=False, unwrap=False)
    assert len(raw) == 5                             # options change the output, not validity
    bad = data[:5] + bytes([3, 4, 0, 0, 50])          # 8000 -> 50 without a marker
    with pytest.raises(FormatError, match="byte 5"):
        decode_atis_bytes(bad, name="bad.bin")
    ev = make_events(np.arange(0, 3 * 2**23, 2**21), np.zeros(12, int), np.zeros(12, int),
                     np.zeros(12, int))
    write_atis_bin(tmp_path / "w.bin", ev)
    assert read_atis_bin(tmp_path / "w.bin")["t"].tolist() == ev["t"].tolist()


def test_resume_shard_keeps_the_truncation(tmp_path):
    """A job's truncation survives its resume shard, so a resumed run applies the policy too."""
    from evframes.datasets.base import pack_samples
    from evframes.extract import _Shards
    ev = make_events([1, 2, 3], [0, 1, 2], [0, 1, 2], [0, 1, 0])
    cut = [{"recording": "a.aedat", "path": "/x/a.aedat", "offset": 123, "reason": "cut",
            "events_kept": 3, "samples": [1]}]
    res = pack_samples("a.aedat", [(ev, 0, {"source": "a.aedat"}),
                                   (ev.slice(0, 0), 1, {"source": "a.aedat"})], ["w"], cut)
    shards = _Shards(tmp_path / "s")
    shards.save(res)
    back = shards.load("a.aedat")
    assert back.truncated == cut and back.offsets.tolist() == [0, 3, 3]
