"""Motion animations: GIF frames and size, MP4 readable, frame subsampling, atomic writing, argument checks."""

from __future__ import annotations

import sys

import imageio.v2
import imageio.v3 as iio
import numpy as np
import pytest
import torch

from poseprior.errors import MissingDependencyError, ValidationError
from poseprior.viz.animation import animate_motion

PARENTS = (-1, 0, 1, 0, 3, 0, 5)
STAND = np.array([[0.0, 90, 0], [0, 120, 0], [0, 150, 0], [10, 90, 0], [10, 45, 0], [-10, 90, 0], [-10, 45, 0]])


def walk(frames: int) -> np.ndarray:
    """``(T, 7, 3)``: the figure walks 20 cm a frame along x, Y-up, centimetres."""
    return STAND + np.arange(frames)[:, None, None] * np.array([20.0, 0, 0])


def test_gif_has_every_frame_side_by_side(tmp_path):
    noisy = walk(5) + np.random.default_rng(0).normal(0, 2, (5, 7, 3))
    path = animate_motion(
        [torch.from_numpy(noisy), walk(5)],
        PARENTS,
        tmp_path / "walk.gif",
        titles=["noisy", "clean"],
        panel_size=1.0,
        dpi=50,
    )
    assert path == tmp_path / "walk.gif" and [p.name for p in tmp_path.iterdir()] == ["walk.gif"]
    frames = iio.imread(path, index=None)
    assert frames.shape[:3] == (5, 50, 100)  # T frames, 2 panels of 1 inch at 50 dpi
    for frame in frames:
        ink = frame[..., :3].sum(-1) < 300
        assert ink[:, :50].sum() > 10 and ink[:, 50:].sum() > 10  # a figure in each panel
    moved = [np.abs(frames[0].astype(int) - f).sum() for f in frames[1:]]
    assert all(m > 0 for m in moved)
    assert iio.immeta(path)["duration"] == pytest.approx(1000 / 30, abs=5)  # real time at 30 fps


def test_mp4_is_readable(tmp_path):
    path = animate_motion(walk(6), PARENTS, tmp_path / "walk.mp4", fps=25, panel_size=1.0, dpi=45)
    reader = imageio.v2.get_reader(path, format="FFMPEG")
    try:
        assert reader.count_frames() == 6
        assert reader.get_meta_data()["size"] == (46, 46)  # 45 pixels padded to even sides for H.264
        assert reader.get_meta_data()["fps"] == pytest.approx(25)
    finally:
        reader.close()


def test_max_frames_subsamples_and_keeps_real_time(tmp_path):
    path = animate_motion(
        walk(10), PARENTS, tmp_path / "w.gif", fps=20, max_frames=4, panel_size=0.8, dpi=40, show_time=False
    )
    frames = iio.imread(path, index=None)
    assert frames.shape[:3] == (4, 32, 32)  # frames 0, 3, 6, 9
    assert iio.immeta(path)["duration"] == pytest.approx(150, abs=10)  # 3 frames of 1/20 s each


def test_bad_arguments(tmp_path):
    with pytest.raises(ValidationError, match="format"):
        animate_motion(walk(3), PARENTS, tmp_path / "w.avi")
    with pytest.raises(ValidationError, match="format"):
        animate_motion(walk(3), PARENTS, tmp_path / "w")
    with pytest.raises(ValidationError, match="positions"):
        animate_motion(STAND, PARENTS, tmp_path / "w.gif")
    with pytest.raises(ValidationError, match=r"positions\[1\]"):
        animate_motion([walk(3), walk(4)], PARENTS, tmp_path / "w.gif")
    bad = walk(3)
    bad[1, 2, 0] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        animate_motion(bad, PARENTS, tmp_path / "w.gif")
    with pytest.raises(ValidationError, match="parents"):
        animate_motion(walk(3), PARENTS[:-1], tmp_path / "w.gif")
    with pytest.raises(ValidationError, match="titles"):
        animate_motion([walk(3), walk(3)], PARENTS, tmp_path / "w.gif", titles=["one"])
    with pytest.raises(ValidationError, match="fps"):
        animate_motion(walk(3), PARENTS, tmp_path / "w.gif", fps=0)
    with pytest.raises(ValidationError, match="max_frames"):
        animate_motion(walk(3), PARENTS, tmp_path / "w.gif", max_frames=0)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


def test_missing_ffmpeg_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if not installed
    with pytest.raises(MissingDependencyError, match="imageio-ffmpeg"):
        animate_motion(walk(2), PARENTS, tmp_path / "w.mp4")
    assert list(tmp_path.iterdir()) == []
