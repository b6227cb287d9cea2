"""Geometry at the bottom of the stack: rotations (over roma), point-set alignment, nearest poses, pinhole cameras."""

from poseprior.geometry.alignment import procrustes, procrustes_align
from poseprior.geometry.camera import default_camera, intrinsics, level_camera_rotations, project_points
from poseprior.geometry.nearest import nearest_poses
from poseprior.geometry.rotations import (
    LOG_HAAR_VOLUME,
    check_rotations,
    euler_to_matrix,
    geodesic_distance,
    is_rotation,
    log_haar_density_rotvec,
    matrix_to_euler,
    matrix_to_quat,
    matrix_to_rotvec,
    matrix_to_sixd,
    nearest_rotation,
    quat_to_matrix,
    random_rotations,
    rotvec_between,
    rotvec_to_matrix,
    sixd_to_matrix,
    swing_between,
)

__all__ = [
    "LOG_HAAR_VOLUME",
    "check_rotations",
    "default_camera",
    "euler_to_matrix",
    "geodesic_distance",
    "intrinsics",
    "is_rotation",
    "level_camera_rotations",
    "log_haar_density_rotvec",
    "matrix_to_euler",
    "matrix_to_quat",
    "matrix_to_rotvec",
    "matrix_to_sixd",
    "nearest_poses",
    "nearest_rotation",
    "procrustes",
    "procrustes_align",
    "project_points",
    "quat_to_matrix",
    "random_rotations",
    "rotvec_between",
    "swing_between",
    "rotvec_to_matrix",
    "sixd_to_matrix",
]
