"""Tasks built on pose models, each with any prior: inverse kinematics with uncertainty, fitting to 3D and 2D
keypoints, motion denoising, interpolation."""

from poseprior.tasks.denoise import DenoiseConfig, denoise_motion
from poseprior.tasks.fit2d import Fit2DConfig, Fit2DResult, fit_keypoints_2d
from poseprior.tasks.fit3d import FitConfig, FitResult, fit_keypoints_3d
from poseprior.tasks.ik import IKResult, solve_ik
from poseprior.tasks.interpolate import interpolate

__all__ = [
    "DenoiseConfig",
    "Fit2DConfig",
    "Fit2DResult",
    "FitConfig",
    "FitResult",
    "IKResult",
    "denoise_motion",
    "fit_keypoints_2d",
    "fit_keypoints_3d",
    "interpolate",
    "solve_ik",
]
