"""Value colours: the colormap's ends, clipping, the shared scale, argument checks."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from poseprior.errors import ValidationError
from poseprior.viz.colors import value_colors, value_mappable


def test_ends_of_the_range_get_the_ends_of_the_colormap():
    cmap = matplotlib.colormaps["magma"]
    colors = value_colors(torch.tensor([3.0, 7.0, 5.0]), cmap="magma")
    assert np.allclose(colors[0], cmap(0.0)) and np.allclose(colors[1], cmap(1.0))
    assert np.allclose(colors[2], cmap(0.5), atol=0.01)
    assert all(len(c) == 4 for c in colors)


def test_vmin_vmax_clip_and_fix_the_scale():
    cmap = matplotlib.colormaps["viridis"]
    colors = value_colors([-10.0, 50.0, 200.0], vmin=0, vmax=100)
    assert np.allclose(colors[0], cmap(0.0)) and np.allclose(colors[2], cmap(1.0))
    assert np.allclose(colors[1], cmap(0.5), atol=0.01)
    assert value_colors([4.0, 4.0]) == [tuple(cmap(0.0))] * 2  # a constant has no range: the low end
    mappable = value_mappable(np.array([[1.0, 2.0], [3.0, 9.0]]), "plasma")
    assert (mappable.norm.vmin, mappable.norm.vmax) == (1.0, 9.0)


def test_bad_arguments():
    with pytest.raises(ValidationError, match="cmap"):
        value_colors([1.0, 2.0], cmap="no-such-map")
    with pytest.raises(ValidationError, match="values"):
        value_colors([1.0, float("nan")])
    with pytest.raises(ValidationError, match="values"):
        value_colors(np.zeros((2, 3)))
    with pytest.raises(ValidationError, match="vmin"):
        value_colors([1.0, 2.0], vmin=5, vmax=1)
