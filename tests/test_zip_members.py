"""evframes.raw.zip_members: members read with zlib from the archive's bytes, in threads."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from evframes import synth_wave1b as sw
from evframes.cli import main
from evframes.raw.zip_members import ZipMembers, read_ahead

from helpers import assert_one_error_line


def _zip(members, method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _members(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return {f"d/f{i:02d}.dat": rng.integers(0, 4, 997 * i + 1, dtype=np.uint8).tobytes()
            for i in range(n)}


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_members_equal_zipfile_from_bytes_file_and_window(tmp_path, method):
    mem = _members()
    blob = _zip(mem, method)
    path = tmp_path / "a.zip"
    path.write_bytes(blob)
    padded = tmp_path / "padded.bin"  # the zip as a window [7, 7 + len) of a larger file
    padded.write_bytes(b"x" * 7 + blob + b"y" * 5)
    for zm in (ZipMembers(data=blob), ZipMembers(path=path),
               ZipMembers(path=padded, offset=7, size=len(blob))):
        with zm:
            assert sorted(zm.names()) == sorted(mem)
            groups = [(k, [lambda zm=zm, k=k: zm.read(k)]) for k in mem]
            got = list(read_ahead(groups, window=4, threads=3))
            assert [k for k, _ in got] == list(mem)          # in order
            assert all(v[0] == mem[k] for k, v in got)


def test_corrupt_member_is_refused_not_returned():
    mem = _members(3)
    blob = bytearray(_zip(mem, zipfile.ZIP_STORED))
    info = zipfile.ZipFile(io.BytesIO(bytes(blob))).getinfo("d/f02.dat")
    blob[info.header_offset + 30 + len("d/f02.dat") + 100] ^= 0xFF  # payload byte
    with ZipMembers(data=bytes(blob)) as zm:
        assert zm.read("d/f01.dat") == mem["d/f01.dat"]
        with pytest.raises(zipfile.BadZipFile, match="CRC-32"):
            zm.read("d/f02.dat")
    deflated = bytearray(_zip(mem))
    info = zipfile.ZipFile(io.BytesIO(bytes(deflated))).getinfo("d/f02.dat")
    start = info.header_offset + 30 + len("d/f02.dat")
    deflated[start:start + info.compress_size] = b"\xff" * info.compress_size
    with ZipMembers(data=bytes(deflated)) as zm, pytest.raises(zipfile.BadZipFile):
        zm.read("d/f02.dat")


def test_read_ahead_raises_a_failed_read_in_its_turn():
    def boom():
        raise OSError("disk gone")
    groups = [("a", [lambda: b"1"]), ("b", [boom]), ("c", [lambda: b"3"])]
    it = read_ahead(groups, window=8, threads=2)
    assert next(it) == ("a", [b"1"])
    with pytest.raises(OSError, match="disk gone"):
        next(it)


def test_navgesture_corrupt_member_in_a_subject_zip_is_one_error_line(tmp_path):
    root = tmp_path / "r"
    sw.fake_navgesture(root, "walk", users=1, per_class=1, scale=0.05)
    outer = next(root.rglob("navgesture-walk.zip"))
    with zipfile.ZipFile(outer) as z:
        inner = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in inner if n.endswith(".zip"))
    sub = zipfile.ZipFile(io.BytesIO(inner[name]))
    victim = next(n for n in sub.namelist() if n.endswith(".dat"))
    members = {n: sub.read(n) for n in sub.namelist()}
    blob = bytearray(_zip(members, zipfile.ZIP_STORED))
    info = zipfile.ZipFile(io.BytesIO(bytes(blob))).getinfo(victim)
    blob[info.header_offset + 30 + len(victim.encode()) + info.compress_size - 3] ^= 0x55
    inner[name] = bytes(blob)
    outer.write_bytes(_zip(inner))
    r = CliRunner().invoke(main, ["extract", "--dataset", "navgesture-walk", "--root",
                                  str(root), "-q"])
    assert r.exit_code != 0
    assert_one_error_line(r, victim.rsplit("/", 1)[-1], "CRC")
    assert not list(root.rglob("*.h5"))  # nothing a later run would trust
