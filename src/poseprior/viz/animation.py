"""Motions as animated GIF or MP4 stick figures, several side by side (noisy against denoised, say).

Frames are drawn on an Agg canvas (no pyplot, no display) and encoded with imageio: GIF through Pillow,
MP4 (H.264, yuv420p) through imageio-ffmpeg's bundled ffmpeg.

Example:
    >>> animate_motion([noisy, denoised], skeleton.parents, "compare.gif", fps=30, titles=["noisy", "denoised"])  # doctest: +SKIP
    PosixPath('compare.gif')
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from poseprior._atomic import atomic_path
from poseprior.errors import MissingDependencyError, ValidationError
from poseprior.viz.skeleton_plot import (
    _SIDE_COLORS,
    _as_points,
    _check_parents,
    _setup_panel,
    _to_plot_frame,
)

__all__ = ["animate_motion", "ANIMATION_FORMATS"]

#: File extensions :func:`animate_motion` writes.
ANIMATION_FORMATS = (".gif", ".mp4")

Motion = torch.Tensor | np.ndarray


def _as_motions(positions: Motion | Sequence[Motion]) -> list[np.ndarray]:
    """``M`` motions ``(T, K, 3)`` from one ``(T, K, 3)``, an ``(M, T, K, 3)`` stack or a sequence."""
    if isinstance(positions, (torch.Tensor, np.ndarray)):
        if positions.ndim == 4:
            positions = list(positions)
        else:
            positions = [positions]
    elif not isinstance(positions, Sequence) or len(positions) == 0:
        raise ValidationError("positions: expected a (T, K, 3) motion or a non-empty sequence of them")
    name = "positions" if len(positions) == 1 else "positions[{}]"
    motions = [_as_points(m, name.format(i), 3) for i, m in enumerate(positions)]
    T, K = motions[0].shape[:2]
    if T == 0:
        raise ValidationError("positions: a motion needs at least one frame")
    for i, m in enumerate(motions):
        if m.shape[:2] != (T, K):
            raise ValidationError(
                f"positions[{i}]: shape {m.shape} differs from the first motion's {motions[0].shape} (same frames and joints needed)"
            )
    return motions


def animate_motion(
    positions: Motion | Sequence[Motion],
    parents: Sequence[int],
    path: str | Path,
    *,
    fps: float = 30.0,
    up: str = "y",
    titles: Sequence[str] | None = None,
    colors: Sequence | None = None,
    panel_size: float = 3.0,
    dpi: int = 80,
    elev: float = 15.0,
    azim: float = -60.0,
    max_frames: int | None = None,
    show_time: bool = True,
) -> Path:
    """Write ``M`` motions as one animation, one 3D panel per motion, to a ``.gif`` or ``.mp4`` file.

    The axes stay fixed over the whole motion (each panel centred on its motion's bounding box, all at
    the scale of the largest), with a grey floor grid at the motion's lowest point, so travel and jumps
    show. The file is written atomically.

    Args:
        positions: a ``(T, K, 3)`` motion (global joint positions, any length unit), or ``M`` of them with
            the same ``T`` and ``K`` (a sequence, or an ``(M, T, K, 3)`` array) shown side by side.
        parents: ``K`` parent indices, ``-1`` for the root.
        path: the output file; its extension picks the format: ``.gif`` or ``.mp4``.
        fps: the motion's frame rate; playback runs in real time.
        up: the data's up axis: ``"y"``, ``"z"``, or ``"-y"`` for camera-frame poses (y down).
        titles: optional ``M`` panel titles.
        colors: optional colour per joint (see :func:`~poseprior.viz.skeleton_plot.side_colors`).
        panel_size: width and height of each panel in inches.
        dpi: resolution: frames are ``M * panel_size * dpi`` by ``panel_size * dpi`` pixels (MP4 rounds
            each side up to an even number, which H.264 needs).
        elev, azim: the camera's elevation and azimuth in degrees.
        max_frames: if given and ``T`` is larger, keep every ``ceil(T / max_frames)``-th frame (the frame
            rate drops by the same factor, so playback still runs in real time).
        show_time: print the time in seconds in the bottom-left corner.

    Returns:
        ``path``.

    Raises:
        ValidationError: bad shapes or values, or an extension other than ``.gif`` / ``.mp4``.
        MissingDependencyError: ``imageio`` (or, for MP4, ``imageio-ffmpeg``) is not installed.

    Notes:
        GIF stores frame times in hundredths of a second (30 fps plays at about 33 fps), and Pillow merges
        identical consecutive frames into one longer frame.
    """
    path = Path(path)
    fmt = path.suffix.lower()
    if fmt not in ANIMATION_FORMATS:
        raise ValidationError(
            f"path: unknown animation format {path.suffix or '(no extension)'!r} in {str(path)!r}; use one of {ANIMATION_FORMATS}"
        )
    motions = _as_motions(positions)
    M, (T, K) = len(motions), motions[0].shape[:2]
    parents = _check_parents(parents, K)
    if titles is not None and len(titles) != M:
        raise ValidationError(f"titles: expected {M} entries (one per motion), got {len(titles)}")
    colors = list(colors) if colors is not None else [_SIDE_COLORS[2]] * K
    if len(colors) != K:
        raise ValidationError(f"colors: expected {K} entries (one per joint), got {len(colors)}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValidationError(f"fps: expected a positive frame rate, got {fps}")
    if max_frames is not None and (int(max_frames) != max_frames or max_frames < 1):
        raise ValidationError(f"max_frames: expected a positive integer, got {max_frames!r}")
    stride = 1 if max_frames is None else math.ceil(T / max_frames)
    frames = range(0, T, stride)
    imageio = _import_imageio(fmt)

    rendered = _render(motions, parents, colors, frames, fps, up, titles, panel_size, dpi, elev, azim, show_time)
    with atomic_path(path) as tmp:
        if fmt == ".gif":
            # Pillow's GIF writer needs every frame at once.
            imageio.v3.imwrite(
                tmp, np.stack(list(rendered)), plugin="pillow", extension=".gif", duration=1000 * stride / fps, loop=0
            )
        else:
            with imageio.v2.get_writer(
                tmp,
                format="FFMPEG",
                mode="I",
                fps=fps / stride,
                codec="libx264",
                pixelformat="yuv420p",
                macro_block_size=2,
            ) as writer:
                for frame in rendered:
                    writer.append_data(_even(frame))
    return path


def _import_imageio(fmt: str):
    try:
        import imageio.v2
        import imageio.v3
    except ImportError:
        raise MissingDependencyError("animate_motion: writing animations needs imageio (pip install imageio)") from None
    if fmt == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise MissingDependencyError(
                "animate_motion: writing .mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg)"
            ) from None
    return imageio


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad an ``(H, W, 3)`` frame by repeating its last row / column to even sides."""
    H, W = frame.shape[:2]
    return np.pad(frame, ((0, H % 2), (0, W % 2), (0, 0)), mode="edge") if H % 2 or W % 2 else frame


def _render(
    motions, parents, colors, frames, fps, up, titles, panel_size, dpi, elev, azim, show_time
) -> Iterator[np.ndarray]:
    """Yield ``(H, W, 3)`` uint8 frames: one figure, its lines moved to each frame's pose."""
    M = len(motions)
    q = [_to_plot_frame(m, up) for m in motions]
    lo = np.stack([m.reshape(-1, 3).min(axis=0) for m in q])
    hi = np.stack([m.reshape(-1, 3).max(axis=0) for m in q])
    half = max(float((hi - lo).max()), 1e-9) / 2 * 1.05
    bones = [(parent, j) for j, parent in enumerate(parents) if parent >= 0]

    fig = Figure(figsize=(panel_size * M, panel_size), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    panels = []
    for i in range(M):
        ax = fig.add_subplot(1, M, i + 1, projection="3d")
        _setup_panel(ax, (lo[i] + hi[i]) / 2, half, float(lo[i, 2]), elev, azim)
        lines = [ax.plot([], [], [], color=colors[j], linewidth=2.0, solid_capstyle="round")[0] for _, j in bones]
        joints = ax.plot([], [], [], linestyle="none", marker="o", markersize=2.5, color="0.25")[0]
        panels.append((lines, joints))
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    clock = fig.text(0.01, 0.01, "", fontsize=8, color="0.4") if show_time else None
    fig.subplots_adjust(left=0, right=1, bottom=0, top=0.92 if titles is not None else 1, wspace=0)

    for t in frames:
        for m, (lines, joints) in zip(q, panels, strict=False):
            for line, (parent, j) in zip(lines, bones, strict=False):
                seg = m[t, [parent, j]]
                line.set_data_3d(seg[:, 0], seg[:, 1], seg[:, 2])
            joints.set_data_3d(m[t, :, 0], m[t, :, 1], m[t, :, 2])
        if clock is not None:
            clock.set_text(f"{t / fps:.2f} s")
        canvas.draw()
        yield np.asarray(canvas.buffer_rgba())[..., :3].copy()
