"""Pictures of poses and motions (matplotlib, Agg backend: no display needed)."""

from poseprior.viz.animation import ANIMATION_FORMATS, animate_motion
from poseprior.viz.colors import value_colors, value_mappable
from poseprior.viz.hypotheses import plot_hypotheses
from poseprior.viz.keypoints_2d import edge_pairs, plot_keypoints_2d
from poseprior.viz.sample_grid import plot_sample_grid
from poseprior.viz.skeleton_plot import (
    plot_poses,
    plot_skeleton,
    save_figure,
    side_colors,
)

__all__ = [
    "plot_skeleton",
    "plot_poses",
    "save_figure",
    "side_colors",
    "value_colors",
    "value_mappable",
    "plot_sample_grid",
    "plot_hypotheses",
    "plot_keypoints_2d",
    "edge_pairs",
    "animate_motion",
    "ANIMATION_FORMATS",
]
