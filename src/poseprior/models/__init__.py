"""Models: pose priors and lifters, behind two protocols.

- :class:`PosePrior` (``energy``, ``sample``, ``project``; :class:`ExactPosePrior` adds ``log_prob``,
  :class:`LatentPosePrior` a latent space): :class:`FlowPrior` (exact likelihood on SO(3)^K),
  :class:`ConditionalFlowPrior` (the same, conditioned on keypoints: inverse kinematics), :class:`VAEPrior`,
  :class:`DistanceFieldPrior`, and the baselines :class:`TangentGaussianPrior` and :class:`UniformPrior`;
- :class:`Lifter` (``lift``): :class:`RotationLifter` and :class:`ProbabilisticLifter`.

Pretrained ones: :func:`poseprior.zoo.load`.
"""

from poseprior.models.baseline import TangentGaussianPrior, UniformPrior
from poseprior.models.flow import ConditionalFlowPrior, FlowPrior
from poseprior.models.lifter import Lifter, LiftResult, ProbabilisticLifter, RotationLifter
from poseprior.models.ndf import DistanceFieldPrior
from poseprior.models.prior import ExactPosePrior, LatentPosePrior, PoseJoints, PosePrior
from poseprior.models.vae import VAEPrior

__all__ = [
    "PosePrior",
    "ExactPosePrior",
    "LatentPosePrior",
    "PoseJoints",
    "Lifter",
    "LiftResult",
    "FlowPrior",
    "ConditionalFlowPrior",
    "VAEPrior",
    "DistanceFieldPrior",
    "TangentGaussianPrior",
    "UniformPrior",
    "RotationLifter",
    "ProbabilisticLifter",
]
