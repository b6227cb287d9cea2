"""2D keypoints and their bones over an image or a blank canvas, in pixel coordinates.

Pixel coordinates have their origin at the image's top-left corner, x to the right and y down, and the
centre of pixel ``(i, j)`` (row ``i``, column ``j``) at ``(x, y) = (j, i)`` (OpenCV's and COCO's
convention). A keypoint is missing when its pixel is NaN (it and its bones are not drawn) and
uncertain when its confidence is at most ``min_confidence`` (drawn hollow, its bones dashed).

Example:
    >>> fig = plot_keypoints_2d(  # doctest: +SKIP
    ...     np.stack([detected, reprojected]), COCO17, confidence=np.stack([scores, np.ones(17)]),
    ...     image=frame, labels=["detections", "reprojection"])
    >>> save_figure(fig, "keypoints.png")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from poseprior.errors import ValidationError
from poseprior.skeleton.layouts import KeypointLayout

__all__ = ["plot_keypoints_2d", "edge_pairs"]

Edges = KeypointLayout | Sequence[int] | Sequence[tuple[int, int]] | np.ndarray


def _numpy(x, dtype=np.float64) -> np.ndarray:
    return (x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)).astype(dtype)


def edge_pairs(edges: Edges, num_keypoints: int) -> np.ndarray:
    """Bones as ``(E, 2)`` keypoint index pairs, from any of the ways they are given.

    Args:
        edges: a :class:`~poseprior.skeleton.layouts.KeypointLayout` (its ``edges``), ``P`` parent
            indices (``-1`` for the root; a flat sequence of integers), or ``(E, 2)`` index pairs.
        num_keypoints: ``P``, the number of keypoints the indices refer to.

    Example:
        >>> edge_pairs([-1, 0, 1], 3).tolist()
        [[0, 1], [1, 2]]
    """
    P = num_keypoints
    if isinstance(edges, KeypointLayout):
        if edges.num_joints != P:
            raise ValidationError(f"edges: layout {edges.name!r} has {edges.num_joints} keypoints, the pixels {P}")
        return np.asarray(edges.edges, dtype=np.int64).reshape(-1, 2)
    try:
        e = np.asarray(edges)
        if e.dtype.kind not in "iu" and not (e.dtype.kind == "f" and np.all(e == np.round(e))):
            raise TypeError
        e = e.astype(np.int64)
    except (TypeError, ValueError):
        raise ValidationError("edges: expected a KeypointLayout, P parent indices or (E, 2) index pairs") from None
    if e.ndim == 1:
        if len(e) != P:
            raise ValidationError(f"edges: {len(e)} parent indices for {P} keypoints (give one per keypoint)")
        if np.any((e < -1) | (e >= P)):
            raise ValidationError(f"edges: parent indices must lie in [-1, {P}), got {e.tolist()}")
        return np.array([(p, j) for j, p in enumerate(e) if p >= 0], dtype=np.int64).reshape(-1, 2)
    if e.ndim != 2 or e.shape[1] != 2:
        raise ValidationError(f"edges: expected P parent indices or (E, 2) index pairs, got shape {e.shape}")
    if np.any((e < 0) | (e >= P)):
        raise ValidationError(f"edges: index out of range for {P} keypoints")
    return e


def plot_keypoints_2d(
    pixels: torch.Tensor | np.ndarray,
    edges: Edges,
    *,
    confidence: torch.Tensor | np.ndarray | None = None,
    image: torch.Tensor | np.ndarray | None = None,
    image_size: tuple[int, int] | None = None,
    labels: Sequence[str] | None = None,
    colors: Sequence | None = None,
    min_confidence: float = 0.0,
    marker_size: float = 20.0,
    linewidth: float = 2.0,
    scale: float = 1.0,
    dpi: int = 100,
    title: str | None = None,
) -> Figure:
    """``N`` 2D poses overlaid (detections against a reprojection, say) in pixel coordinates.

    Args:
        pixels: ``(P, 2)`` or ``(N, P, 2)`` keypoints in pixels (x right, y down, origin top-left);
            NaN marks a missing keypoint.
        edges: the bones: a :class:`~poseprior.skeleton.layouts.KeypointLayout` (``H36M17``, ``COCO17``),
            ``P`` parent indices (``-1`` for the root) or ``(E, 2)`` index pairs (see :func:`edge_pairs`).
        confidence: optional ``(P,)`` or ``(N, P)`` score per keypoint; a keypoint scoring at most
            ``min_confidence`` is drawn hollow and its bones dashed.
        image: optional ``(H, W)`` grey or ``(H, W, 3|4)`` RGB(A) picture underneath (``uint8``, or floats
            in ``[0, 1]``).
        image_size: ``(W, H)`` of a blank canvas when there is no ``image`` (must match it if both are
            given). With neither, the canvas is the keypoints' bounding box plus a margin (10%, at least 10 pixels).
        labels: optional ``N`` legend entries, one per pose.
        colors: optional ``N`` colours, one per pose; default matplotlib's ``C0, C1, ...`` cycle.
        min_confidence: the score at or below which a keypoint counts as uncertain.
        marker_size: keypoint marker area in points squared.
        linewidth: bone width in points.
        scale: output pixels per image pixel: the PNG is ``round(scale * W)`` by ``round(scale * H)``.
        dpi: resolution used with ``scale`` (it sets the size of markers and text relative to the image).
        title: optional text in the top-left corner.

    Returns:
        A :class:`matplotlib.figure.Figure` on an Agg canvas whose single axes fills the figure, in pixel
        coordinates.
    """
    px = _numpy(pixels)
    if px.ndim == 2:
        px = px[None]
    if px.ndim != 3 or px.shape[-1] != 2 or px.shape[0] == 0:
        raise ValidationError(f"pixels: expected shape (P, 2) or (N, P, 2) with N >= 1, got {_numpy(pixels).shape}")
    if np.isinf(px).any():
        raise ValidationError("pixels: contains inf (use NaN for a missing keypoint)")
    N, P = px.shape[:2]
    pairs = edge_pairs(edges, P)
    conf = np.ones((N, P))
    if confidence is not None:
        c = _numpy(confidence)
        if c.shape == (P,) and N == 1:
            c = c[None]
        if c.shape != (N, P):
            raise ValidationError(
                f"confidence: expected shape {(P,) if N == 1 else (N, P)} like the pixels, got {c.shape}"
            )
        if not np.isfinite(c).all():
            raise ValidationError(
                "confidence: contains NaN or inf (mark a missing keypoint with a NaN pixel or confidence 0)"
            )
        conf = c
    if labels is not None and len(labels) != N:
        raise ValidationError(f"labels: expected {N} entries (one per pose), got {len(labels)}")
    colors = list(colors) if colors is not None else [f"C{n % 10}" for n in range(N)]
    if len(colors) != N:
        raise ValidationError(f"colors: expected {N} entries (one per pose), got {len(colors)}")
    if scale <= 0:
        raise ValidationError(f"scale: expected a positive number, got {scale}")
    img = _check_image(image)
    x0, x1, y0, y1 = _canvas(px, img, image_size)

    fig = Figure(figsize=(scale * (x1 - x0) / dpi, scale * (y1 - y0) / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    if img is not None:
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, extent=(x0, x1, y1, y0), interpolation="nearest")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)  # y down
    ax.set_aspect("auto")  # the figure already has the canvas' aspect: pixels stay square
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(img is None)
        spine.set_color("0.8")

    for n in range(N):
        visible = np.isfinite(px[n]).all(axis=-1)
        sure = visible & (conf[n] > min_confidence)
        drawn = visible[pairs].all(axis=1)
        solid = sure[pairs].all(axis=1)
        for mask, style, width in ((drawn & solid, "solid", linewidth), (drawn & ~solid, (0, (2, 2)), 0.6 * linewidth)):
            if mask.any():
                ax.add_collection(
                    LineCollection(
                        px[n][pairs[mask]], colors=colors[n], linewidths=width, linestyles=style, capstyle="round"
                    )
                )
        ax.scatter(px[n, sure, 0], px[n, sure, 1], s=marker_size, color=colors[n], zorder=3)
        unsure = visible & ~sure
        ax.scatter(px[n, unsure, 0], px[n, unsure, 1], s=marker_size, facecolors="none", edgecolors=colors[n], zorder=3)
    if labels is not None:
        handles = [Line2D([], [], color=colors[n], marker="o", linewidth=linewidth, label=labels[n]) for n in range(N)]
        ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
    if title:
        ax.text(
            0.01,
            0.99,
            title,
            transform=ax.transAxes,
            va="top",
            ha="left",
            fontsize=9,
            bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0},
        )
    return fig


def _check_image(image) -> np.ndarray | None:
    if image is None:
        return None
    img = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[-1] in (3, 4))) or min(img.shape[:2]) == 0:
        raise ValidationError(f"image: expected shape (H, W), (H, W, 3) or (H, W, 4), got {img.shape}")
    if img.dtype.kind == "f" and not np.isfinite(img).all():
        raise ValidationError("image: contains NaN or inf")
    return img


def _canvas(px: np.ndarray, img: np.ndarray | None, image_size) -> tuple[float, float, float, float]:
    """``(x0, x1, y0, y1)``: the canvas' outer edges in pixel coordinates."""
    if image_size is not None:
        try:
            W, H = (int(s) for s in image_size)
        except (TypeError, ValueError):
            raise ValidationError(f"image_size: expected (W, H), got {image_size!r}") from None
        if W <= 0 or H <= 0 or (W, H) != tuple(image_size):
            raise ValidationError(f"image_size: expected positive integers (W, H), got {image_size!r}")
        if img is not None and img.shape[:2] != (H, W):
            raise ValidationError(f"image_size: {(W, H)} does not match the image's (W, H) = {img.shape[1::-1]}")
    elif img is not None:
        H, W = img.shape[:2]
    else:
        finite = px[np.isfinite(px).all(axis=-1)]
        if len(finite) == 0:
            raise ValidationError("pixels: every keypoint is NaN; give image or image_size to draw an empty canvas")
        lo, hi = finite.min(axis=0), finite.max(axis=0)
        margin = max(0.1 * float((hi - lo).max()), 10.0)
        return lo[0] - margin, hi[0] + margin, lo[1] - margin, hi[1] + margin
    return -0.5, W - 0.5, -0.5, H - 0.5
