"""2D-to-3D lifters: from 2D keypoints of a known camera to root-relative 3D keypoints (camera frame, mm):
:class:`ProbabilisticLifter` (a conditional flow, many hypotheses) and :class:`RotationLifter` (windows of
2D keypoints to joint rotations and joints, fast); both satisfy the :class:`Lifter` protocol.

Training pairs are synthetic views of motion capture (:mod:`poseprior.data.lifting`).
"""

from poseprior.models.lifter.flow import FlowLifterConfig, ProbabilisticLifter
from poseprior.models.lifter.protocol import Lifter, LiftResult
from poseprior.models.lifter.rotation import (
    RotationLifter,
    RotationLifterConfig,
    sequence_windows,
)

__all__ = [
    "Lifter",
    "LiftResult",
    "FlowLifterConfig",
    "ProbabilisticLifter",
    "RotationLifter",
    "RotationLifterConfig",
    "sequence_windows",
]
