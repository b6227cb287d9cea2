"""Motion readers and writers: BVH, ASF/AMC, AMASS npz, Fit3D SMPL-X JSON, Human3.6M-style arrays, the
interchange npz, the poses npz of sampled poses, and 2D detector output (OpenPose, MediaPipe JSON).

:func:`read_motion` / :func:`write_motion` pick the format from the file extension.
"""

from poseprior.io.amass import read_amass, write_amass
from poseprior.io.archive import Archive, list_members, read_text, split_member
from poseprior.io.asf_amc import (
    AsfSkeleton,
    read_amc,
    read_asf,
    read_asf_amc,
    write_asf_amc,
)
from poseprior.io.bvh import format_bvh, iter_bvh, parse_bvh, read_bvh, write_bvh
from poseprior.io.detections import (
    read_keypoints_2d,
    read_mediapipe_json,
    read_openpose_json,
)
from poseprior.io.fit3d import read_fit3d_smplx
from poseprior.io.formats import read_motion, write_motion
from poseprior.io.h36m import read_h36m_2d, read_h36m_3d, read_h36m_positions
from poseprior.io.keypoints import Keypoints, read_keypoints_npz, write_keypoints_npz
from poseprior.io.motion import Motion
from poseprior.io.npz import read_motion_npz, write_motion_npz
from poseprior.io.poses import read_poses_npz, write_poses_npz
from poseprior.io.units import UNITS_MM, unit_to_mm

__all__ = [
    "Motion",
    "UNITS_MM",
    "unit_to_mm",
    "read_motion",
    "write_motion",
    "read_bvh",
    "parse_bvh",
    "iter_bvh",
    "write_bvh",
    "format_bvh",
    "AsfSkeleton",
    "read_asf",
    "read_amc",
    "read_asf_amc",
    "write_asf_amc",
    "read_amass",
    "write_amass",
    "read_fit3d_smplx",
    "read_motion_npz",
    "write_motion_npz",
    "read_poses_npz",
    "write_poses_npz",
    "Keypoints",
    "read_keypoints_npz",
    "write_keypoints_npz",
    "read_keypoints_2d",
    "read_openpose_json",
    "read_mediapipe_json",
    "read_h36m_3d",
    "read_h36m_2d",
    "read_h36m_positions",
    "Archive",
    "list_members",
    "read_text",
    "split_member",
]
