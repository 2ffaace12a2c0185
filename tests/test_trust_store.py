"""Issue 10, items 7 and 8: staleness by content (not by modification time), frames never built
on a stale events store, and temporaries of killed runs removed under the store lock."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evframes import StoreError, synth
from evframes.cli import main
from evframes.datasets import open_raw
from evframes.extract import extract
from evframes.frames import build_frames, frames_store_path, setting_from_options
from evframes.store import events_store_path, read_manifest, remove_stale_temporaries, store_lock

from helpers import slow_cli_command

SETTING = setting_from_options("number", 4)
HOST = socket.gethostname()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """A small DVS128 replica as an extracted folder and as an archive (raw files only)."""
    base = tmp_path_factory.mktemp("trust")
    synth.fake_dvs128(base / "folder", recordings=4, scale=0.02, seed=1, archive=False,
                      workers=1)
    synth.fake_dvs128(base / "archive", recordings=4, scale=0.02, seed=1, archive=True,
                      workers=1)
    return base


def _extracted(replicas, tmp_path, kind="folder", frames=False):
    root = tmp_path / kind
    shutil.copytree(replicas / kind, root)
    s = extract(open_raw("dvs128", root), workers=1, progress=False, warn=False)
    assert not s.reused
    if frames:
        build_frames(root, SETTING, progress=False)
    return root


def _extract(root, **kw):
    return extract(open_raw("dvs128", root), workers=1, progress=False, warn=False, **kw)


def _edit_keep_mtime(path: Path, edit):
    """Rewrite ``path`` through ``edit(bytes) -> bytes`` (same size) and restore its times."""
    st = path.stat()
    data = path.read_bytes()
    new = edit(data)
    assert len(new) == len(data) and new != data
    path.write_bytes(new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns


def _leftovers(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*")
                  if ".tmp-" in p.name or p.name.startswith(".partial-"))


def _verify(root):
    return CliRunner().invoke(main, ["verify", "--root", str(root)])


# -- item 7: content, not modification times ------------------------------------------------
@pytest.mark.parametrize("kind", ["folder", "archive"])
def test_copy_without_mtimes_is_not_reextracted(replicas, tmp_path, kind):
    a = _extracted(replicas, tmp_path, kind, frames=True)
    b = tmp_path / "copy"
    shutil.copytree(a, b, copy_function=shutil.copyfile)  # `cp -r` without -p
    later = time.time_ns() + 100 * 10**9
    for p in b.rglob("*"):
        if p.is_file():
            os.utime(p, ns=(later, later))  # every mtime differs from the manifest's
    s = _extract(b)
    assert s.reused, s.rebuilt_because
    f = build_frames(b, SETTING, progress=False)
    assert all(d["reused"] for d in f.splits.values())
    r = _verify(b)
    assert r.exit_code == 0 and "0 with problems" in r.output, r.output
    # the confirmed hashes are remembered: the next check does not read the recordings again
    import evframes.sources as src
    hashed = []
    real = src.file_digest

    def counting(path):
        hashed.append(Path(path).name)
        return real(path)

    src.file_digest = counting
    try:
        assert _extract(b).reused
    finally:
        src.file_digest = real
    assert not [n for n in hashed if n.endswith((".aedat", ".tar.gz"))], hashed


def test_edited_labels_csv_with_restored_mtime_is_rebuilt(replicas, tmp_path):
    root = _extracted(replicas, tmp_path)
    csv = sorted((root / "DvsGesture").glob("*_labels.csv"))[0]
    lines = csv.read_bytes().split(b"\n")
    c, s, e = lines[1].split(b",")
    lines[1] = b",".join([c, s, e[:-1] + (b"1" if e[-1:] != b"1" else b"2")])  # end moves 1 us
    _edit_keep_mtime(csv, lambda _: b"\n".join(lines))
    r = _verify(root)
    assert r.exit_code == 1 and "stale against the raw data" in r.output, r.output
    s2 = _extract(root)
    assert not s2.reused and "source_fingerprint" in s2.rebuilt_because
    from evframes import EventsDataset
    ds = EventsDataset(root, "train" if "user24" not in csv.name else "test")
    ends = [ds.sample_meta(i)["end"] for i in range(len(ds))]
    assert int(lines[1].split(b",")[2]) in ends
    # a reordered trials list (same bytes, same size, same mtime) is a change too
    trials = root / "DvsGesture" / "trials_to_train.txt"
    _edit_keep_mtime(trials, lambda d: b"\n".join(
        list(reversed([ln for ln in d.split(b"\n") if ln]))) + b"\n")
    s3 = _extract(root)
    assert not s3.reused and "source_fingerprint" in s3.rebuilt_because


def test_hash_sources_catches_recording_edit_with_restored_mtime(replicas, tmp_path):
    root = _extracted(replicas, tmp_path)
    assert read_manifest(events_store_path(root, "train"))["hash_sources"] is False
    rec = sorted((root / "DvsGesture").glob("*.aedat"))[0]

    def flip_last_polarity(d):  # the last event's data word: bit 1 is the polarity
        return d[:-8] + bytes([d[-8] ^ 0x02]) + d[-7:]

    _edit_keep_mtime(rec, flip_last_polarity)
    # by default a recording with its size and mtime unchanged is trusted (documented) ...
    assert _extract(root).reused
    # ... hash_sources=True reads every recording and finds the edit
    s = _extract(root, hash_sources=True)
    assert not s.reused and "source_fingerprint" in s.rebuilt_because
    man = read_manifest(events_store_path(root, "train"))
    assert man["hash_sources"] is True
    # the mode is recorded in the manifest and sticks: a plain run also hashes now
    _edit_keep_mtime(rec, flip_last_polarity)
    s = _extract(root)
    assert not s.reused and "source_fingerprint" in s.rebuilt_because
    # the command line flag
    r = CliRunner().invoke(main, ["extract", "--dataset", "dvs128", "--root", str(root), "-q",
                                  "-j", "1", "--hash-sources"])
    assert r.exception is None and r.exit_code == 0, r.output
    assert "reused" in r.output
    # turned off by a rebuild that says so
    _extract(root, hash_sources=False, force=True)
    assert read_manifest(events_store_path(root, "test"))["hash_sources"] is False
    _edit_keep_mtime(rec, flip_last_polarity)
    assert _extract(root).reused


def test_frames_of_a_stale_events_store_are_refused(replicas, tmp_path):
    root = _extracted(replicas, tmp_path, frames=True)
    csv = sorted((root / "DvsGesture").glob("*_labels.csv"))[-1]
    _edit_keep_mtime(csv, lambda d: d.replace(b"\n2,", b"\n3,", 1))
    assert "stale against the raw data" in _verify(root).output
    with pytest.raises(StoreError, match=r"stale against the raw data.*evframes extract"):
        build_frames(root, SETTING, progress=False)
    r = CliRunner().invoke(main, ["integrate", "--root", str(root), "-T", "4", "--split-by",
                                  "number", "-q"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "stale against the raw data" in errors[0], r.output
    # once extract has rebuilt the events store, the frames are rebuilt from it
    _extract(root)
    f = build_frames(root, SETTING, progress=False)
    assert all("events_store" in d["rebuilt_because"] for d in f.splits.values())
    # with the raw data gone there is nothing to compare with: the stores are used as they are
    shutil.rmtree(root / "DvsGesture")
    f = build_frames(root, SETTING, progress=False)
    assert all(d["reused"] for d in f.splits.values())


# -- item 8: temporaries of killed runs -----------------------------------------------------
def _cli(args, slow=None):
    """The CLI in a child process; ``slow``: ``(delay, batch_events)`` of the pipeline's test
    hooks (:func:`helpers.slow_cli_command`), so the run can be killed mid-way."""
    cmd = slow_cli_command(*slow) if slow else [sys.executable, "-m", "evframes.cli"]
    return subprocess.Popen(cmd + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(p, cond, timeout=60):
    t0 = time.monotonic()
    while not cond():
        assert p.poll() is None, p.stderr.read().decode()
        assert time.monotonic() - t0 < timeout, "the run never got there"
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()


def test_killed_run_leftovers_removed_when_the_store_is_current(replicas, tmp_path):
    root = _extracted(replicas, tmp_path, frames=True)
    ev = root / "events"
    slow = (0.5, 20_000)  # pause per job / batch: time to kill
    p = _cli(["extract", "--dataset", "dvs128", "--root", str(root), "-q", "-j", "1",
              "--resumable", "--force"], slow)
    _kill_when(p, lambda: list(ev.glob(".partial-*/*.npz")) and list(ev.glob("*.h5.tmp-*")))
    assert _leftovers(root)
    s = _extract(root)  # finds the stores current (the killed run never committed)
    assert s.reused and _leftovers(root) == []
    folder = frames_store_path(root, SETTING, "train").parent
    p = _cli(["integrate", "--root", str(root), "-T", "4", "--split-by", "number", "-q",
              "--force"], slow)
    _kill_when(p, lambda: list(folder.glob("*.h5.tmp-*")))
    assert _leftovers(root)
    f = build_frames(root, SETTING, progress=False)
    assert all(d["reused"] for d in f.splits.values()) and _leftovers(root) == []


def test_temporaries_are_judged_under_the_lock_not_by_pid(replicas, tmp_path):
    root = _extracted(replicas, tmp_path, frames=True)
    ev = root / "events"
    folder = frames_store_path(root, SETTING, "train").parent
    live = os.getppid()  # a live process that writes nothing here (a reused pid)
    junk = [
        ev / f"train.h5.tmp-otherhost-{os.getpid()}-0123abcd-000001",  # another NFS client
        ev / f"test.h5.tmp-{HOST}-{live}-0123abcd-000002",  # this host, pid alive, not a writer
        ev / f"test.h5.tmp-{live}-deadbeef",  # the old name format, pid alive
        ev / ".partial-0123456789abcdef" / f"x.npz.tmp-otherhost-{live}-0123abcd-000003",
        folder / f"train.h5.tmp-otherhost-{os.getpid()}-0123abcd-000004",
    ]
    for j in junk:
        j.parent.mkdir(exist_ok=True)
        j.write_bytes(b"half written")
    assert _extract(root).reused
    f = build_frames(root, SETTING, progress=False)
    assert all(d["reused"] for d in f.splits.values())
    assert _leftovers(root) == [], "temporaries of dead writers survived under the lock"
    # without the lock nothing of another host is touched; this host's dead pids are removed
    other = ev / "train.h5.tmp-otherhost-999999999-0123abcd-000005"
    dead = ev / f"train.h5.tmp-{HOST}-999999999-0123abcd-000006"
    for j in (other, dead):
        j.write_bytes(b"x")
    remove_stale_temporaries(ev, "train.h5")
    assert other.exists() and not dead.exists()


def test_temporary_names_carry_the_host(tmp_path):
    from evframes.store import AtomicH5
    with AtomicH5(tmp_path / "x.h5") as a:
        assert a.tmp.name.startswith(f"x.h5.tmp-{HOST}-{os.getpid()}-"), a.tmp.name


def test_store_lock_waits_with_a_message_and_times_out(tmp_path, capsys):
    final = tmp_path / "s" / "train.h5"
    code = ("import sys, time\nfrom evframes.store import store_lock\n"
            "with store_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)\n")
    p = subprocess.Popen([sys.executable, "-c", code, str(final)], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline().strip() == b"locked"
        t0 = time.monotonic()
        with pytest.raises(StoreError, match="another evframes process is building this store"):
            with store_lock(final, timeout=0.5):
                pass
        assert 0.4 < time.monotonic() - t0 < 5
        assert "waiting for another evframes process building" in capsys.readouterr().err
    finally:
        p.kill()
        p.wait()
    with store_lock(final, timeout=5):  # released by the OS when its holder was killed
        pass
