"""Named pretrained models shipped inside the package: :func:`load`, :func:`info`, :func:`available`.

Every shipped model works on the canonical body (SMPL's body tree, the 20 pose joints below the pelvis;
docs/conventions.md) and was trained on bandai-v1 retargeted onto it. The weights live in ``poseprior/zoo/weights/NAME.safetensors`` + ``NAME.json`` (the format of
:mod:`poseprior.zoo.files`), so loading needs no download. ``load`` also takes the path of any exported model.

Example:
    >>> prior = load("flow-bandai")  # doctest: +SKIP
    >>> prior.log_prob(R)  # R: (..., 20, 3, 3) canonical poses (poseprior.retarget.to_pose)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from poseprior.errors import FormatError, ValidationError
from poseprior.zoo.files import ModelCard, model_files, read_card, read_model

__all__ = ["ZooEntry", "WEIGHTS_DIR", "BANDAI_LICENCE", "available", "info", "load"]

WEIGHTS_DIR = Path(__file__).parent / "weights"

BANDAI_LICENCE = (
    "CC BY-NC 4.0: trained on the Bandai Namco Research Motion datasets (Kobayashi et al., arXiv 2306.08861); "
    "non-commercial use only"
)


@dataclass(frozen=True)
class ZooEntry:
    """One named model: its one-line description, its licence, and whether its files are installed."""

    name: str
    description: str
    licence: str
    installed: bool


# The names the package promises; more are found by dropping NAME.json + NAME.safetensors in WEIGHTS_DIR.
_NAMED: dict[str, tuple[str, str]] = {
    "flow-bandai": (
        "Flow prior over the 20 canonical pose joint rotations (FlowPrior): exact log-likelihood and sampling.",
        BANDAI_LICENCE,
    ),
    "flow-ik-bandai": (
        "Flow prior conditioned on 3D/2D keypoints with visibility masks (ConditionalFlowPrior): IK with uncertainty.",
        BANDAI_LICENCE,
    ),
    "vae-bandai": (
        "VAE prior over the 20 canonical pose joint rotations (VAEPrior, VPoser's design): latent codes, interpolation.",
        BANDAI_LICENCE,
    ),
    "ndf-bandai": (
        "Distance field to the bandai-v1 training poses on the canonical body (DistanceFieldPrior, Pose-NDF's idea): distance, projection.",
        BANDAI_LICENCE,
    ),
    "lifter-rot-bandai": (
        "Lifter from windows of 2D keypoints to 3D joints and joint rotations of the canonical body (RotationLifter).",
        BANDAI_LICENCE,
    ),
    "lifter-flow-bandai": (
        "Flow lifter from 2D keypoints to many 3D hypotheses with exact likelihoods, canonical body (ProbabilisticLifter).",
        BANDAI_LICENCE,
    ),
    "lifter-rot-coco17": (
        "Lifter from windows of COCO-17 keypoints (OpenPose, MediaPipe) to the canonical body's 3D joints and joint rotations (RotationLifter).",
        BANDAI_LICENCE,
    ),
    "lifter-flow-coco17": (
        "Flow lifter from COCO-17 keypoints (OpenPose, MediaPipe) to many 3D COCO-17 hypotheses with exact likelihoods (ProbabilisticLifter).",
        BANDAI_LICENCE,
    ),
}


def available() -> list[ZooEntry]:
    """Every named model, the promised ones first, with its description and licence."""
    entries = [ZooEntry(n, d, lic, model_files(WEIGHTS_DIR / n)[0].is_file()) for n, (d, lic) in _NAMED.items()]
    for json_path in sorted(WEIGHTS_DIR.glob("*.json")):
        name = json_path.name.removesuffix(".json")
        if name not in _NAMED:
            d = json.loads(json_path.read_text())
            entries.append(ZooEntry(name, d.get("description", ""), d.get("licence", ""), True))
    return entries


def _resolve(model: str | Path) -> Path:
    """The ``NAME.json`` of a zoo name or of an exported-model path."""
    p = Path(model)
    if isinstance(model, Path) or len(p.parts) > 1 or p.suffix in (".json", ".safetensors"):
        return model_files(p)[0]
    json_path = model_files(WEIGHTS_DIR / str(model))[0]
    if json_path.is_file():
        return json_path
    if model in _NAMED:
        raise FormatError(
            json_path, f"the weights of {model!r} are not installed in this copy of poseprior (reinstall it)"
        )
    known = ", ".join(e.name for e in available())
    raise ValidationError(
        f"model: unknown model {model!r}; known models: {known} (or give the path of an exported NAME.json)"
    )


def info(model: str | Path) -> ModelCard:
    """The :class:`~poseprior.zoo.files.ModelCard` of a zoo name or an exported model path, weights unread."""
    return read_card(_resolve(model))


#: The kinds :func:`load` can insist on: what each is, for the error when a model is another.
KINDS = {
    "prior": "an unconditional pose prior (one with joints, energy and sample(n)); conditional models are used by `poseprior ik`",
    "ik": "a conditional IK model (e.g. flow-ik-bandai)",
    "lifter": "a lifter (lifter-rot-bandai, lifter-rot-coco17, lifter-flow-bandai)",
}


def _is_kind(model: nn.Module, kind: str) -> bool:
    from poseprior.models.flow.conditional import ConditionalFlowPrior
    from poseprior.models.lifter import ProbabilisticLifter, RotationLifter
    from poseprior.models.prior import PosePrior

    if kind == "prior":
        return isinstance(model, PosePrior)
    if kind == "ik":
        return isinstance(model, ConditionalFlowPrior)
    return isinstance(model, (RotationLifter, ProbabilisticLifter))


def load(model: str | Path, device: str | torch.device | None = None, kind: str | None = None) -> nn.Module:
    """A pretrained model by zoo name (``"flow-bandai"``) or by the path of an exported model.

    Args:
        model: a name from :func:`available`, or ``NAME``/``NAME.json``/``NAME.safetensors`` written by
            :func:`poseprior.train.export` (a bare word is a zoo name; anything with a folder or a suffix, or a
            ``Path``, is a path).
        device: where to put it (default CPU).
        kind: one of :data:`KINDS` (``"prior"``, ``"ik"``, ``"lifter"``) to refuse a model of another kind
            with a clear error; any model if None.

    Returns:
        the model (e.g. a :class:`~poseprior.models.flow.FlowPrior`) in eval mode; its joints, skeleton and
        training record are in :func:`info`.

    Raises:
        ValidationError: an unknown name or kind, or a model that is not of ``kind``.
    """
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"kind: expected one of {', '.join(KINDS)} or None, got {kind!r}")
    loaded = read_model(_resolve(model), device)
    if kind is not None and not _is_kind(loaded, kind):
        raise ValidationError(f"model: {str(model)!r} is a {type(loaded).__name__}, not {KINDS[kind]}")
    return loaded
