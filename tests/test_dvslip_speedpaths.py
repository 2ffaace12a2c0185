"""DVS-Lip's members inflated ahead on a thread pool: a corrupt member is still one error line
naming the archive and member, and leaves no store."""
from __future__ import annotations

import zipfile

from click.testing import CliRunner

from evframes import synth_wave1b as sw
from evframes.cli import main

from helpers import assert_one_error_line


def test_corrupt_member_in_the_read_ahead_is_one_error_line_and_no_store(tmp_path):
    root = tmp_path / "r"
    sw.fake_dvslip(root, per_class_train=1, per_class_test=1, n_classes=3, seed=0)
    z = next(root.rglob("DVS-Lip.zip"))
    with zipfile.ZipFile(z) as zf:
        info = [i for i in zf.infolist() if i.filename.endswith(".npy")][1]
    blob = bytearray(z.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + info.compress_size // 2
    blob[start:start + 8] = bytes(b ^ 0x55 for b in blob[start:start + 8])
    z.write_bytes(bytes(blob))
    r = CliRunner().invoke(main, ["extract", "--dataset", "dvslip", "--root", str(root), "-q"])
    assert r.exit_code != 0
    assert_one_error_line(r, info.filename.rsplit("/", 1)[-1])
    assert not list(root.rglob("*.h5"))
