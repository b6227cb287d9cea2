"""Archive access (zip, folder, ``archive.zip:member``) and iterating over BVH files in one."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from poseprior.errors import FormatError
from poseprior.io import archive as archive_module
from poseprior.io.archive import Archive, list_members, read_text, split_member
from poseprior.io.bvh import iter_bvh, parse_bvh

BVH = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  End Site
  {
    OFFSET 0 1 0
  }
}
MOTION
Frames: 2
Frame Time: 0.04
0 0 0 0 0 0
1 2 3 4 5 6
"""

FILES = {
    "data/b.bvh": BVH,
    "data/a.bvh": BVH.replace("hips", "pelvis"),
    "other/c.BVH": BVH,
    "data/a.json": "{}",
    "README.md": "hello",
}


@pytest.fixture
def zip_path(tmp_path: Path) -> Path:
    path = tmp_path / "takes.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/", "")  # a directory entry, as real archives have
        for name, text in FILES.items():
            z.writestr(name, text)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "takes"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_split_member(tmp_path):
    assert split_member("x.zip:data/a.bvh") == (Path("x.zip"), "data/a.bvh")
    assert split_member("dir/X.ZIP:a.bvh") == (Path("dir/X.ZIP"), "a.bvh")
    assert split_member("x.zip:") == (Path("x.zip"), None)
    assert split_member("take.bvh") == (Path("take.bvh"), None)
    assert split_member(Path("a/b.zip")) == (Path("a/b.zip"), None)
    odd = tmp_path / "odd.zip:name.bvh"  # a real file whose name looks like archive:member
    odd.write_text(BVH)
    assert split_member(odd) == (odd, None)
    assert read_text(odd) == BVH


@pytest.mark.parametrize("source", ["zip_path", "folder"])
def test_list_members(source, request):
    src = request.getfixturevalue(source)
    assert list_members(src) == ["data/a.bvh", "data/b.bvh", "other/c.BVH"]
    assert list_members(src, suffix=".json") == ["data/a.json"]
    assert list_members(src, suffix=None) == sorted(FILES)


@pytest.mark.parametrize("source", ["zip_path", "folder"])
def test_read_text(source, request):
    src = request.getfixturevalue(source)
    assert read_text(src, "data/b.bvh") == BVH
    if source == "zip_path":
        assert read_text(f"{src}:data/b.bvh") == BVH
    with pytest.raises(FormatError, match=r"takes(\.zip)?:data/missing\.bvh: no such"):
        read_text(src, "data/missing.bvh")
    with pytest.raises(FormatError, match="name a member"):
        read_text(src)


def test_read_text_plain_file_and_bom(tmp_path):
    path = tmp_path / "take.bvh"
    path.write_bytes(b"\xef\xbb\xbf" + BVH.encode())
    assert read_text(path) == BVH
    with pytest.raises(FormatError, match="no such file"):
        read_text(tmp_path / "missing.bvh")


def test_non_utf8_names_file_and_line(tmp_path, zip_path):
    path = tmp_path / "latin.bvh"
    path.write_bytes(b"HIERARCHY\nROOT h\xe9\n")
    with pytest.raises(FormatError, match=r"latin\.bvh, line 2: not UTF-8") as info:
        read_text(path)
    assert info.value.line == 2
    with zipfile.ZipFile(zip_path, "a") as z:
        z.writestr("data/latin.bvh", b"\n\n\xff")
    with pytest.raises(FormatError, match=r"takes\.zip:data/latin\.bvh, line 3: not UTF-8"):
        read_text(zip_path, "data/latin.bvh")


def test_corrupt_archives(tmp_path, zip_path):
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"this is not a zip file at all" * 10)
    with pytest.raises(FormatError, match=r"garbage\.zip: not a readable zip archive"):
        list_members(garbage)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(zip_path.read_bytes()[:200])
    with pytest.raises(FormatError, match=r"truncated\.zip: not a readable zip archive"):
        read_text(truncated, "data/b.bvh")
    # A damaged member: the archive opens, the member's checksum fails.
    stored = tmp_path / "stored.zip"
    with zipfile.ZipFile(stored, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("data/b.bvh", BVH)
    data = bytearray(stored.read_bytes())
    at = data.index(b"HIERARCHY")
    data[at] = ord("h")
    stored.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"stored\.zip:data/b\.bvh: cannot read the member"):
        read_text(stored, "data/b.bvh")
    with pytest.raises(FormatError, match="no such file or folder"):
        list_members(tmp_path / "nowhere.zip")
    text = tmp_path / "take.txt"
    text.write_text("x")
    with pytest.raises(FormatError, match="not a folder or a .zip archive"):
        list_members(text)


def test_archive_is_opened_once_for_many_members(zip_path, monkeypatch):
    opened = []

    class CountingZipFile(zipfile.ZipFile):
        def __init__(self, *args, **kwargs):
            opened.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(archive_module.zipfile, "ZipFile", CountingZipFile)
    taken = [name for name, _ in iter_bvh(zip_path)]
    assert taken == ["data/a.bvh", "data/b.bvh", "other/c.BVH"]
    assert len(opened) == 1
    with Archive(zip_path) as archive:
        texts = [archive.read_text(m) for m in archive.members()]
    assert len(opened) == 2 and texts[1] == BVH


@pytest.mark.parametrize("source", ["zip_path", "folder"])
def test_iter_bvh_names(source, request):
    src = request.getfixturevalue(source)
    got = list(iter_bvh(src, names=["b.bvh", "data/a.bvh", "c.BVH"], unit="m"))
    assert [name for name, _ in got] == ["data/b.bvh", "data/a.bvh", "other/c.BVH"]
    assert got[1][1].joint_names == ("pelvis",)
    assert got[0][1].unit == 1000.0 and got[0][1].metadata["source"] == f"{src}:data/b.bvh"
    assert got[0][1].root_translation.tolist() == parse_bvh(BVH).root_translation.tolist()
    with pytest.raises(FormatError, match="missing.bvh: no member of this name"):
        list(iter_bvh(src, names=["b.bvh", "missing.bvh"]))


def test_iter_bvh_ambiguous_name(zip_path):
    with zipfile.ZipFile(zip_path, "a") as z:
        z.writestr("more/b.bvh", BVH)
    with pytest.raises(FormatError, match="'b.bvh' matches several members: data/b.bvh, more/b.bvh"):
        list(iter_bvh(zip_path, names=["b.bvh"]))
    assert [n for n, _ in iter_bvh(zip_path, names=["more/b.bvh"])] == ["more/b.bvh"]


def test_iter_bvh_stops_at_a_bad_file_naming_it(zip_path):
    with zipfile.ZipFile(zip_path, "a") as z:
        z.writestr("data/broken.bvh", BVH.replace("1 2 3 4 5 6", "1 2 3 4 5"))
    with pytest.raises(FormatError, match=r"takes\.zip:data/broken\.bvh, line 15: frame 2 has 5 values, expected 6"):
        list(iter_bvh(zip_path))


def test_real_archive_listing(bandai_dir):
    members = list_members(bandai_dir / "bandai-namco-motion-1.zip")
    assert len(members) == 174 and all(m.startswith("data/dataset-1_") for m in members)
    assert members == sorted(members)
