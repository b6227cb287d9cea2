"""The ``--prior NAME`` option shared by the commands that take any pose prior (denoise, interpolate, fit3d,
fit2d): a zoo name, the path of an exported model, or ``none``.

``none`` is :class:`~poseprior.models.baseline.UniformPrior` (energy 0) over the joints of the default prior,
``flow-bandai``, read from its model card (:func:`poseprior.zoo.info`) without loading its weights, so the
command picks the same joints from a motion as with a real prior, and no prior at all shapes the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poseprior.models.prior import PosePrior

__all__ = ["load_prior_option", "NO_PRIOR", "DEFAULT_JOINTS_FROM", "PRIOR_OPTION_HELP", "MAP_HELP"]

#: The ``--prior`` value meaning no prior.
NO_PRIOR = "none"
#: The zoo model whose joints ``none`` models uniformly.
DEFAULT_JOINTS_FROM = "flow-bandai"
#: Help text of a ``--map`` option (the commands that read a motion on any rig).
MAP_HELP = "Joint mapping file for a rig no naming convention covers: lines 'canonical_joint = rig_joint' (docs/conventions.md)."
#: Help text of a ``--prior`` option.
PRIOR_OPTION_HELP = (
    "Prior: a zoo name (flow-bandai, vae-bandai, ndf-bandai), an exported model path (NAME.json), or 'none'."
)


def load_prior_option(name: str, device: str | None = None) -> PosePrior:
    """The :class:`~poseprior.models.prior.PosePrior` a ``--prior`` value names.

    Args:
        name: a zoo name or exported-model path (an unconditional prior, checked), or ``none`` (any case):
            :class:`UniformPrior` over the joints (names, tree, skeleton) of ``flow-bandai``.
        device: where to load the model (default CPU); ignored for ``none``.

    Example:
        >>> prior = load_prior_option("none")
        >>> type(prior).__name__, prior.num_joints, prior.joint_names[0]
        ('UniformPrior', 20, 'left_hip')
    """
    from poseprior.errors import ValidationError

    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"prior: expected a zoo name, an exported model path or 'none', got {name!r}")
    if name.strip().lower() == NO_PRIOR:
        from poseprior.models.baseline import UniformPrior
        from poseprior.models.prior import PoseJoints
        from poseprior.zoo import info

        card = info(DEFAULT_JOINTS_FROM)
        joints = PoseJoints.from_dict(card.config["joints"])
        return UniformPrior(len(joints.names), joints)
    from poseprior.zoo import load

    return load(name, device, kind="prior")
