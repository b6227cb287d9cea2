"""Tasks built on pose models: inverse kinematics with uncertainty."""

from poseprior.tasks.ik import IKResult, solve_ik

__all__ = ["IKResult", "solve_ik"]
