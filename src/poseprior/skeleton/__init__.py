"""Skeletons, forward kinematics, rest-pose changes, keypoint layouts and the SMPL family's trees."""

from poseprior.skeleton.kinematics import change_rest_pose, end_site_positions, forward_kinematics
from poseprior.skeleton.skeleton import Skeleton

__all__ = ["Skeleton", "forward_kinematics", "end_site_positions", "change_rest_pose"]
