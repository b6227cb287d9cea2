"""Pictures of poses and motions (matplotlib, Agg backend: no display needed)."""

from poseprior.viz.skeleton_plot import plot_poses, plot_skeleton, save_figure, side_colors

__all__ = ["plot_skeleton", "plot_poses", "save_figure", "side_colors"]
