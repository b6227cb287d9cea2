"""Normalizing flows on SO(3)^K: the unconditional prior and its keypoint-conditioned version (IK)."""

from poseprior.models.flow.chart import SO3Chart
from poseprior.models.flow.condition import ConditionConfig
from poseprior.models.flow.conditional import (
    ConditionalFlowConfig,
    ConditionalFlowPrior,
)
from poseprior.models.flow.prior import FlowConfig, FlowPrior

__all__ = ["SO3Chart", "FlowConfig", "FlowPrior", "ConditionConfig", "ConditionalFlowConfig", "ConditionalFlowPrior"]
