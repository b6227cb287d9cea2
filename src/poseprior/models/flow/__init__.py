"""Normalizing flows on SO(3)^K."""

from poseprior.models.flow.chart import SO3Chart
from poseprior.models.flow.prior import FlowConfig, FlowPrior

__all__ = ["SO3Chart", "FlowConfig", "FlowPrior"]
