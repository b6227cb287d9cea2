"""The ``--prior NAME`` option of the fitting and denoising commands: a zoo name, an exported model, or ``none``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poseprior.models.prior import PosePrior

__all__ = ["load_prior_option", "NO_PRIOR", "DEFAULT_JOINTS_FROM"]

#: The ``--prior`` value for no prior.
NO_PRIOR = "none"
#: The model whose joints (and skeleton) ``none`` uses.
DEFAULT_JOINTS_FROM = "flow-bandai"


def load_prior_option(name: str, device: str | None = None) -> PosePrior:
    """The prior named ``name`` (zoo name or exported path), or for ``none`` a
    :class:`~poseprior.models.baseline.UniformPrior` over the joints of the default prior (flow-bandai)."""
    from poseprior.cli.sample import load_prior
    from poseprior.models.baseline import UniformPrior

    if name == NO_PRIOR:
        joints = load_prior(DEFAULT_JOINTS_FROM, device).joints
        return UniformPrior(len(joints.names), joints)
    return load_prior(name, device)
