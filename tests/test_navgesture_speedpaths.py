"""NAVGesture from its download: the subject zips are inflated once per extraction (the
listing's copies serve the jobs), released after it; a broken subject zip or member is one
error line and leaves no store."""
from __future__ import annotations

import zipfile

import numpy as np
from click.testing import CliRunner

from evframes import synth_wave1b as sw
from evframes.cli import main
from evframes.pipeline.extract import extract
from evframes.raw import open_raw
from evframes.raw.zip_members import ZipMembers
from evframes.store import EventsDataset

from helpers import assert_one_error_line


def _events(root, splits):
    out = []
    for s in splits:
        ds = EventsDataset(root, s)
        out.append([ds.events(i) for i in range(len(ds))] + [ds.offsets[:].copy()])
    return out


def test_subject_zips_inflated_once_and_released(tmp_path, monkeypatch):
    root = tmp_path / "r"
    sw.fake_navgesture(root, "walk", users=3, per_class=2, scale=0.1, seed=1)
    reads = []
    orig = ZipMembers.read

    def counted(self, name):
        reads.append(name)
        return orig(self, name)

    monkeypatch.setattr(ZipMembers, "read", counted)
    raw = open_raw("navgesture-walk", root)
    extract(raw, progress=False, warn=False)
    subjects = [n for n in reads if n.endswith(".zip")]
    assert len(subjects) == 3 and len(set(subjects)) == 3
    assert raw._zips == {} and raw._outer is None  # nothing held after the extraction
    first = _events(root, raw.splits)
    # over the budget: every use inflates again, same stores
    monkeypatch.setattr("evframes.raw.nav_gesture.CACHE_BYTES", 0)
    reads.clear()
    raw = open_raw("navgesture-walk", root)
    extract(raw, force=True, progress=False, warn=False)
    assert len([n for n in reads if n.endswith(".zip")]) > 3
    for a, b in zip(first, _events(root, raw.splits)):
        for ea, eb in zip(a[:-1], b[:-1]):
            for k in "txyp":
                np.testing.assert_array_equal(ea[k], eb[k])
        np.testing.assert_array_equal(a[-1], b[-1])


def test_corrupt_subject_zip_is_one_error_line_and_no_store(tmp_path):
    root = tmp_path / "r"
    sw.fake_navgesture(root, "walk", users=2, per_class=1, scale=0.05)
    outer = next(root.rglob("navgesture-walk.zip"))
    blob = bytearray(outer.read_bytes())
    with zipfile.ZipFile(outer) as z:
        info = z.getinfo(sorted(n for n in z.namelist() if n.endswith(".zip"))[-1])
    start = info.header_offset + 30 + len(info.filename.encode()) + info.compress_size // 2
    blob[start:start + 16] = b"\x00" * 16
    outer.write_bytes(bytes(blob))
    r = CliRunner().invoke(main, ["extract", "--dataset", "navgesture-walk", "--root",
                                  str(root), "-q"])
    assert r.exit_code != 0
    assert_one_error_line(r, info.filename)
    assert not list(root.rglob("*.h5"))
