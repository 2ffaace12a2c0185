"""evframes.raw.tarstream (DVS128 Gesture's .tar.gz reader) against tarfile's own listing, on
ustar, GNU (long names) and pax (long and non-ASCII names) archives, and on cut archives."""
import gzip
import io
import random
import tarfile

import pytest

from evframes.raw.tarstream import iter_tar, open_gzip

LONG = "DvsGesture/" + "d" * 140 + "/user01_fluorescent_led.aedat"  # > 100 chars: GNU or pax
NON_ASCII = "DvsGesture/é" * 4 + "_labels.csv"  # pax ``path`` record (utf-8)
SHORT = ["DvsGesture/trials_to_train.txt", "DvsGesture/user02_led.aedat"]


def _archive(fmt, names, closing=True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        d = tarfile.TarInfo("DvsGesture")
        d.type = tarfile.DIRTYPE
        tf.addfile(d)
        for i, name in enumerate(names):
            data = random.Random(i).randbytes(700 * i + 3)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    if not closing:  # drop the closing zero blocks (and the record padding)
        data = data.rstrip(b"\0")
        data += b"\0" * (-len(data) % tarfile.BLOCKSIZE)
    return data


def _reference(data: bytes):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
        return [(m.name, tf.extractfile(m).read()) for m in tf.getmembers() if m.isreg()]


FORMATS = {"ustar": (tarfile.USTAR_FORMAT, SHORT),
           "gnu": (tarfile.GNU_FORMAT, SHORT + [LONG, NON_ASCII]),
           "pax": (tarfile.PAX_FORMAT, SHORT + [LONG, NON_ASCII])}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("closing", [True, False])
def test_members_match_tarfile(fmt, closing):
    kind, names = FORMATS[fmt]
    data = _archive(kind, names, closing)
    got = [(n, bytes(d)) for n, d in iter_tar(io.BytesIO(data))]
    assert got == _reference(_archive(kind, names))
    assert [n for n, _ in got] == names


def test_long_names_really_use_gnu_and_pax_records():
    gnu = _archive(tarfile.GNU_FORMAT, [LONG])
    pax = _archive(tarfile.PAX_FORMAT, [LONG])
    with tarfile.open(fileobj=io.BytesIO(gnu)) as tf:
        assert tf.getmembers()[1].name == LONG
    assert b"././@LongLink" in gnu and b"path=" + LONG.encode() in pax


def test_unwanted_members_skipped():
    kind, names = FORMATS["pax"]
    got = list(iter_tar(io.BytesIO(_archive(kind, names)), lambda n: n.endswith(".aedat")))
    ref = dict(_reference(_archive(kind, names)))
    assert [n for n, _ in got] == names
    for n, d in got:
        assert d == (ref[n] if n.endswith(".aedat") else None)


def test_empty_stream_has_no_members():
    assert list(iter_tar(io.BytesIO(b""))) == []


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_cut_archive_raises(fmt):
    kind, names = FORMATS[fmt]
    data = _archive(kind, names)
    ends = {len(_archive(kind, names[:k], closing=False)) for k in range(len(names) + 1)}
    for cut in range(1, len(data.rstrip(b"\0")), 97):
        if cut in ends:
            continue  # a cut at a member boundary is a valid, shorter archive
        with pytest.raises((EOFError, tarfile.TarError)):
            list(iter_tar(io.BytesIO(data[:cut])))


def test_bad_header_checksum_raises():
    data = bytearray(_archive(tarfile.USTAR_FORMAT, SHORT))
    data[3 * tarfile.BLOCKSIZE + 10] ^= 0xFF  # inside the second file's header
    with pytest.raises(tarfile.TarError):
        list(iter_tar(io.BytesIO(bytes(data))))


def test_open_gzip_reads_tar_gz(tmp_path):
    kind, names = FORMATS["gnu"]
    data = _archive(kind, names)
    p = tmp_path / "a.tar.gz"
    p.write_bytes(gzip.compress(data))
    with open_gzip(p) as f:
        assert [(n, bytes(d)) for n, d in iter_tar(f)] == _reference(data)
    (tmp_path / "plain.tar").write_bytes(data)
    with pytest.raises(tarfile.ReadError, match="not a gzip file"):
        open_gzip(tmp_path / "plain.tar")


def test_corrupt_deflate_stream_raises_zlib_error_whichever_inflater(tmp_path):
    """A .tar.gz whose deflate stream is damaged raises ``zlib.error`` (which the dataset
    readers turn into one error line), also when ISA-L inflates it: its own IsalError was
    a traceback from ``evframes extract``."""
    import zlib
    data = bytearray(gzip.compress(_archive(tarfile.PAX_FORMAT, SHORT + [LONG]) * 3))
    for i in range(100, 164):
        data[i] ^= 0xFF
    p = tmp_path / "bad.tar.gz"
    p.write_bytes(bytes(data))
    with open_gzip(p) as f, pytest.raises(zlib.error):
        list(iter_tar(f))


def test_corrupt_dvs128_archive_is_one_error_line(tmp_path):
    from click.testing import CliRunner

    from evframes import synth
    from evframes.cli import main
    synth.fake_dvs128(tmp_path, recordings=2, scale=0.02, seed=1, workers=1)
    p = tmp_path / "DvsGesture.tar.gz"
    data = bytearray(p.read_bytes())
    for i in range(100, 164):
        data[i] ^= 0xFF
    p.write_bytes(bytes(data))
    r = CliRunner().invoke(main, ["extract", "--dataset", "dvs128", "--root", str(tmp_path)])
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    err = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(err) == 1 and "DvsGesture.tar.gz: archive is truncated or corrupt" in err[0]
    assert not list((tmp_path / "events").glob("*.h5"))
