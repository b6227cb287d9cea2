"""Colours for per-joint values: a joint's error (mm), log-likelihood or confidence mapped through a colormap.

Example:
    >>> value_colors([0.0, 5.0, 10.0], cmap="viridis")[0]  # the colormap's low end
    (0.267004, 0.004874, 0.329415, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize

from poseprior.errors import ValidationError

__all__ = ["value_colors", "value_mappable"]

RGBA = tuple[float, float, float, float]


def _as_values(values: torch.Tensor | np.ndarray | Sequence[float], name: str, ndim: int | None) -> np.ndarray:
    """``values`` as a finite float64 array with ``ndim`` dimensions (any when ``None``)."""
    v = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, dtype=np.float64)
    if ndim is not None and v.ndim != ndim:
        raise ValidationError(
            f"{name}: expected {ndim} dimension(s) ({'(K,)' if ndim == 1 else '(N, K)'}), got shape {v.shape}"
        )
    if not np.isfinite(v).all():
        raise ValidationError(f"{name}: contains NaN or inf")
    return v.astype(np.float64)


def value_mappable(
    values: torch.Tensor | np.ndarray | Sequence[float],
    cmap: str | Colormap = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> ScalarMappable:
    """The colormap and value range that :func:`value_colors` uses, as a matplotlib ``ScalarMappable``
    (what ``Figure.colorbar`` takes).

    Args:
        values: any shape of finite values; only their minimum and maximum are used.
        cmap: a matplotlib colormap or its name (``"viridis"``, ``"magma"``, ...).
        vmin, vmax: the values mapped to the colormap's ends; default the values' minimum and maximum.
            Values outside are clipped to the ends.
    """
    v = _as_values(values, "values", None)
    if v.size == 0 and (vmin is None or vmax is None):
        raise ValidationError("values: empty, so vmin and vmax must be given")
    if isinstance(cmap, str):
        try:
            cmap = matplotlib.colormaps[cmap]
        except KeyError:
            raise ValidationError(f"cmap: unknown colormap {cmap!r}") from None
    elif not isinstance(cmap, Colormap):
        raise ValidationError(f"cmap: expected a colormap name or matplotlib Colormap, got {type(cmap).__name__}")
    lo = float(v.min()) if vmin is None else float(vmin)
    hi = float(v.max()) if vmax is None else float(vmax)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValidationError(f"vmin, vmax: need finite vmin <= vmax, got {lo} and {hi}")
    return ScalarMappable(norm=Normalize(lo, hi, clip=True), cmap=cmap)


def value_colors(
    values: torch.Tensor | np.ndarray | Sequence[float],
    cmap: str | Colormap = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> list[RGBA]:
    """One RGBA colour per value: ``values`` ``(K,)`` scaled linearly from ``[vmin, vmax]`` onto ``cmap``.

    Pass the result as ``colors`` to the skeleton plots to colour each joint (and the bone to its parent)
    by, say, its error in millimetres. With ``vmin == vmax`` every joint gets the colormap's low end.

    Args:
        values: ``(K,)`` finite numbers, one per joint.
        cmap, vmin, vmax: as in :func:`value_mappable`.

    Returns:
        ``K`` ``(r, g, b, a)`` tuples in ``[0, 1]``.
    """
    v = _as_values(values, "values", 1)
    mappable = value_mappable(v, cmap, vmin, vmax)
    return [tuple(float(c) for c in rgba) for rgba in mappable.to_rgba(v)]
