"""Tasks built on pose models: inverse kinematics with uncertainty, fitting to 3D and 2D keypoints with any prior."""

from poseprior.tasks.fit2d import Fit2DConfig, Fit2DResult, default_camera, fit_keypoints_2d
from poseprior.tasks.fit3d import FitConfig, FitResult, fit_keypoints_3d
from poseprior.tasks.ik import IKResult, solve_ik

__all__ = ["Fit2DConfig", "Fit2DResult", "FitConfig", "FitResult", "IKResult", "default_camera", "fit_keypoints_2d", "fit_keypoints_3d", "solve_ik"]
