"""Tasks built on pose models: inverse kinematics with uncertainty, fitting to 3D keypoints with any prior."""

from poseprior.tasks.fit3d import FitConfig, FitResult, fit_keypoints_3d
from poseprior.tasks.ik import IKResult, solve_ik

__all__ = ["FitConfig", "FitResult", "IKResult", "fit_keypoints_3d", "solve_ik"]
