"""Generated corruptions of real files (issue 14): every reader either reads a damaged file or raises a
:class:`~poseprior.errors.PosePriorError` naming it, never anything else.

Each file starts as a short excerpt of real data (CMU 01_01 as BVH and ASF/AMC, an interchange npz and a
keypoints npz made from it); hypothesis truncates it, flips bytes, inserts NaN, infinities and huge numbers,
drops lines and changes counts. ``POSEPRIOR_HOSTILE_EXAMPLES`` sets the examples per reader (default 2,000:
10,000 per run over the five readers, about two and a half minutes on one core; a nightly run sets 20,000).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poseprior.errors import PosePriorError
from poseprior.io import read_keypoints_npz, read_motion
from poseprior.io.asf_amc import read_amc, read_asf
from poseprior.io.npz import write_motion_npz

EXAMPLES = int(os.environ.get("POSEPRIOR_HOSTILE_EXAMPLES", "2000"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
NUMBERS = [
    "nan",
    "NaN",
    "-inf",
    "inf",
    "1e30",
    "-1e30",
    "1e300",
    "1e309",
    "1e-300",
    "-0",
    "99999999999999999999",
    "0x10",
    "",
    "1,5",
]


@st.composite
def text_corruption(draw, data: bytes) -> bytes:
    """One damage to a text file's bytes."""
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "drop_line", "count", "replace_number"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(out) - 1))
            out[i] = draw(st.integers(0, 255))
        return bytes(out)
    lines = data.split(b"\n")
    i = draw(st.integers(0, len(lines) - 1))
    if kind == "insert":
        lines.insert(i, draw(st.sampled_from(NUMBERS)).encode())
    elif kind == "drop_line":
        del lines[i]
    elif kind == "count":  # any integer on a line becomes another
        words = lines[i].split()
        ints = [k for k, w in enumerate(words) if w.lstrip(b"-").isdigit()]
        if ints:
            words[draw(st.sampled_from(ints))] = str(draw(st.integers(-5, 10**6))).encode()
            lines[i] = b" ".join(words)
    else:  # a number on a line becomes NaN, an infinity, a huge or an unreadable one
        words = lines[i].split()
        if words:
            words[draw(st.integers(0, len(words) - 1))] = draw(st.sampled_from(NUMBERS)).encode()
            lines[i] = b" ".join(words)
    return b"\n".join(lines)


@st.composite
def npz_corruption(draw, arrays: dict[str, np.ndarray]) -> bytes:
    """One damage to an npz: to an array (a value, a shape, a dtype, a missing key) or to the archive's bytes."""
    arrays = dict(arrays)
    kind = draw(st.sampled_from(["value", "shape", "dtype", "drop", "truncate", "flip"]))
    key = draw(st.sampled_from(sorted(arrays)))
    a = np.array(arrays[key])
    if kind == "value" and a.size and a.dtype.kind == "f":
        a = a.copy()
        a.reshape(-1)[draw(st.integers(0, a.size - 1))] = draw(
            st.sampled_from([np.nan, np.inf, -np.inf, 1e30, 1e300, -1e300])
        )
        arrays[key] = a
    elif kind == "shape" and a.ndim and a.shape[0] > 0:
        arrays[key] = a[:-1] if draw(st.booleans()) else a.reshape(-1)
    elif kind == "dtype":
        dtype = draw(st.sampled_from([np.int8, np.float16, np.str_, np.bool_]))
        try:
            arrays[key] = a.astype(dtype)
        except (ValueError, TypeError, OverflowError):  # text that is no number: another kind of damage
            del arrays[key]
    elif kind == "drop":
        del arrays[key]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    return data


def read_or_refuse(read, path: Path) -> None:
    """``read(path)`` either works or raises a PosePriorError naming the file."""
    try:
        read(path)
    except PosePriorError as e:
        assert path.name in str(e) or "motion" in str(e) or "rotations" in str(e), str(e)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("corrupt")


@pytest.fixture(scope="module")
def bvh_excerpt(cmu_dir: Path) -> bytes:
    head, motion = (cmu_dir / "01_01.bvh").read_text().split("MOTION\n", 1)
    frames = [line for line in motion.splitlines()[2:] if line.strip()][:5]
    return (head + "MOTION\n" + f"Frames: {len(frames)}\nFrame Time: 0.0083333\n" + "\n".join(frames) + "\n").encode()


@pytest.fixture(scope="module")
def cmu_asf(cmu_dir: Path):
    return read_asf(cmu_dir / "01.asf")


@pytest.fixture(scope="module")
def amc_excerpt(cmu_dir: Path) -> bytes:
    lines = (cmu_dir / "01_01.amc").read_text().splitlines()
    third = next(i for i, line in enumerate(lines) if line.strip() == "4")  # header and frames 1 to 3
    return ("\n".join(lines[:third]) + "\n").encode()


@pytest.fixture(scope="module")
def motion_arrays(cmu_dir: Path, workdir: Path) -> dict[str, np.ndarray]:
    path = workdir / "clean.npz"
    write_motion_npz(read_motion(cmu_dir / "01_01.bvh").frames(slice(0, 10)), path)
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@given(data=st.data())
@SETTINGS
def test_bvh(data, bvh_excerpt, workdir):
    path = workdir / "damaged.bvh"
    path.write_bytes(data.draw(text_corruption(bvh_excerpt)))
    read_or_refuse(read_motion, path)


@given(data=st.data())
@SETTINGS
def test_amc(data, amc_excerpt, cmu_asf, workdir):
    asf = cmu_asf
    path = workdir / "damaged.amc"
    path.write_bytes(data.draw(text_corruption(amc_excerpt)))
    read_or_refuse(lambda p: read_amc(p, asf), path)


@given(data=st.data())
@SETTINGS
def test_asf(data, cmu_dir, workdir):
    path = workdir / "damaged.asf"
    path.write_bytes(data.draw(text_corruption((cmu_dir / "01.asf").read_bytes())))
    read_or_refuse(read_asf, path)


@given(data=st.data())
@SETTINGS
def test_interchange_npz(data, motion_arrays, workdir):
    path = workdir / "damaged.npz"
    path.write_bytes(data.draw(npz_corruption(motion_arrays)))
    read_or_refuse(read_motion, path)


@given(data=st.data())
@SETTINGS
def test_keypoints_npz(data, motion_arrays, workdir):
    arrays = {
        "positions": motion_arrays["positions"],
        "joint_names": motion_arrays["joint_names"],
        "fps": np.float64(120.0),
        "unit": np.array("cm"),
    }
    path = workdir / "damaged_keypoints.npz"
    path.write_bytes(data.draw(npz_corruption(arrays)))
    read_or_refuse(read_keypoints_npz, path)


def test_the_clean_excerpts_read(bvh_excerpt, amc_excerpt, motion_arrays, cmu_dir, workdir):
    (workdir / "clean.bvh").write_bytes(bvh_excerpt)
    (workdir / "clean.amc").write_bytes(amc_excerpt)
    assert read_motion(workdir / "clean.bvh").num_frames == 5
    assert read_amc(workdir / "clean.amc", read_asf(cmu_dir / "01.asf")).num_frames == 3
    with zipfile.ZipFile(workdir / "clean.npz") as z:
        assert {n.removesuffix(".npy") for n in z.namelist()} == set(motion_arrays)
