"""Retargeting: any humanoid rig onto the canonical body (SMPL's 22-joint tree) and back.

- :mod:`~poseprior.retarget.names`: which joint is which (name conventions, the spine by structure,
  mapping files).
- :mod:`~poseprior.retarget.rig`: a rig's rest-pose alignment with the canonical T-pose and its twists.
- :mod:`~poseprior.retarget.transfer`: moving motions between rigs through the canonical body.
"""

from poseprior.retarget.names import (
    CONVENTIONS,
    JointMap,
    find_joint_map,
    map_point_names,
    read_joint_map_file,
)
from poseprior.retarget.rig import Rig
from poseprior.retarget.transfer import (
    RetargetReport,
    from_canonical,
    keypoints_onto_pose,
    onto_joints,
    retarget,
    source_rig,
    to_body,
    to_pose,
)

__all__ = [
    "CONVENTIONS",
    "JointMap",
    "find_joint_map",
    "map_point_names",
    "read_joint_map_file",
    "Rig",
    "RetargetReport",
    "retarget",
    "source_rig",
    "to_body",
    "to_pose",
    "onto_joints",
    "keypoints_onto_pose",
    "from_canonical",
]
