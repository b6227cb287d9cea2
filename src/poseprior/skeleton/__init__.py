"""Skeletons, forward kinematics, rest-pose changes, keypoint layouts and the SMPL family's trees."""

from poseprior.skeleton.kinematics import (
    change_rest_pose,
    end_site_positions,
    forward_kinematics,
    pelvis_keypoints,
    posed_joints,
)
from poseprior.skeleton.layouts import (
    COCO17,
    H36M17,
    KeypointLayout,
    KeypointMap,
    get_layout,
    keypoints_from_positions,
    layout_map_for,
)
from poseprior.skeleton.skeleton import Skeleton
from poseprior.skeleton.smpl import (
    rest_joints_from_model,
    smpl_model_type,
    smpl_skeleton,
)
from poseprior.skeleton.upright import upright_rotation

__all__ = [
    "Skeleton",
    "forward_kinematics",
    "posed_joints",
    "pelvis_keypoints",
    "end_site_positions",
    "change_rest_pose",
    "KeypointLayout",
    "KeypointMap",
    "H36M17",
    "COCO17",
    "get_layout",
    "keypoints_from_positions",
    "layout_map_for",
    "upright_rotation",
    "smpl_skeleton",
    "smpl_model_type",
    "rest_joints_from_model",
]
