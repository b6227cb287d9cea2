"""Adapters that make models :class:`~poseprior.train.loop.Trainable`."""

from __future__ import annotations

import torch
from torch import nn

from poseprior.models.flow import FlowConfig, FlowPrior

__all__ = ["FlowObjective"]


class FlowObjective(nn.Module):
    """Maximum-likelihood training of a :class:`~poseprior.models.flow.FlowPrior`.

    Batches are ``{"rotations": (B, K, 3, 3)}``. The loss is the mean negative log-likelihood in nats per pose
    (w.r.t. the normalized Haar measure); the validation metric ``log_likelihood`` is its opposite. The prior
    is trained in place: export ``objective.prior``.

    Example:
        >>> objective = FlowObjective(FlowPrior(FlowConfig(num_joints=3, layers=2, hidden=(16,))))
        >>> R = objective.prior.sample(8)
        >>> objective.loss({"rotations": R}, torch.Generator()).shape
        torch.Size([])
    """

    def __init__(self, prior: FlowPrior):
        super().__init__()
        self.prior = prior

    @property
    def config(self) -> FlowConfig:
        return self.prior.config

    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        return -self.prior.log_prob(batch["rotations"], validate=False).mean()

    def validation_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        return {"log_likelihood": self.prior.log_prob(batch["rotations"], validate=False).mean().item()}
