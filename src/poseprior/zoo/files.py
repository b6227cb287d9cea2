"""The exported-model format: ``NAME.safetensors`` (weights) + ``NAME.json`` (what they are).

``NAME.json`` holds::

    {"format": "poseprior-model", "version": 1,
     "class": "FlowPrior",                 # resolved through poseprior.zoo.classes
     "config": {...},                      # the model's config.to_dict()
     "joint_names": [...] | null,          # the K pose joints, in the model's order
     "skeleton": {...} | null,             # joint_names, parents, offsets, end sites, unit (mm per unit)
     "description": "...", "licence": "...",
     "training": {...},                    # data, steps, wall time, validation log-likelihood, ...
     "parameters": 123456, "weights": "NAME.safetensors", "weights_sha256": "...",
     "created": "...", "poseprior_version": "..."}

Both files are written atomically, the weights first, so a ``NAME.json`` always describes complete weights;
its SHA-256 catches a json paired with other weights.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from poseprior import __version__
from poseprior._atomic import atomic_open, atomic_path
from poseprior._device import check_device
from poseprior.errors import FormatError, ValidationError
from poseprior.skeleton import Skeleton
from poseprior.zoo.classes import model_class, registered_classes

__all__ = ["ModelCard", "model_files", "write_model", "read_card", "read_model"]

FORMAT = "poseprior-model"
VERSION = 1


@dataclass(frozen=True)
class ModelCard:
    """What an exported model is, read from its ``NAME.json`` without loading the weights.

    Attributes:
        name: ``NAME``.
        path: the ``NAME.json`` file.
        model_class: the registered class name (``"FlowPrior"``).
        config: the model's config as a dict.
        joint_names: the ``K`` pose joints in the model's order (``None`` if not recorded).
        skeleton: the skeleton the model was trained on (root + pose joints), or ``None``.
        unit: millimetres per length unit of ``skeleton``.
        description, licence: one line each.
        training: training metadata (data, steps, wall time, validation log-likelihood, ...).
        parameters: number of trainable parameters.
    """

    name: str
    path: Path
    model_class: str
    config: dict[str, Any]
    joint_names: tuple[str, ...] | None = None
    skeleton: Skeleton | None = None
    unit: float | None = None
    description: str = ""
    licence: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    parameters: int = 0


def model_files(path: str | Path) -> tuple[Path, Path]:
    """``(NAME.json, NAME.safetensors)`` for ``path`` given as ``NAME``, ``NAME.json`` or ``NAME.safetensors``."""
    p = Path(path)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.parent / f"{p.name}.json", p.parent / f"{p.name}.safetensors"


def write_model(
    model: nn.Module,
    path: str | Path,
    *,
    description: str = "",
    licence: str = "",
    training: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` as ``NAME.safetensors`` + ``NAME.json`` (see the module docstring); returns the json path.

    ``model`` must be of a registered class (:mod:`poseprior.zoo.classes`) and have a ``config`` with
    ``to_dict()``. Its joints are recorded from ``model.joint_names`` and its
    :class:`~poseprior.models.prior.PoseJoints` (``model.joints`` or ``model.config.joints``), when it has
    them. ``path`` is ``NAME``, ``NAME.json`` or ``NAME.safetensors``, in any folder.
    """
    name = type(model).__name__
    if name not in registered_classes() or model_class(name).cls is not type(model):
        raise ValidationError(
            f"model: class {name} is not in the zoo's class registry; add it with poseprior.zoo.register_model_class"
        )
    config = model.config.to_dict()
    joint_names = getattr(model, "joint_names", None)
    joints = getattr(model, "joints", None) or getattr(model.config, "joints", None)
    skeleton = getattr(joints, "skeleton", None)
    json_path, weights_path = model_files(path)
    with atomic_path(weights_path) as tmp:
        safetensors.torch.save_model(model, str(tmp), metadata={"format": FORMAT, "class": name})
    card = {
        "format": FORMAT,
        "version": VERSION,
        "class": name,
        "config": config,
        "joint_names": None if joint_names is None else list(joint_names),
        "skeleton": None if skeleton is None else _skeleton_to_dict(skeleton, joints.unit_mm),
        "description": description,
        "licence": licence,
        "training": training or {},
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "weights": weights_path.name,
        "weights_sha256": _sha256(weights_path),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "poseprior_version": __version__,
    }
    with atomic_open(json_path, "w") as f:
        json.dump(card, f, indent=1)
    return json_path


def read_card(path: str | Path) -> ModelCard:
    """The :class:`ModelCard` of an exported model (``NAME``, ``NAME.json`` or ``NAME.safetensors``)."""
    return _card(*_read_json(path))


def read_model(path: str | Path, device: str | torch.device | None = None) -> nn.Module:
    """Rebuild an exported model and load its weights; returned in eval mode on ``device`` (default CPU)."""
    json_path, d = _read_json(path)
    card = _card(json_path, d)
    weights = json_path.parent / d["weights"]
    if not weights.is_file():
        raise FormatError(weights, f"weights file missing (described by {json_path.name})")
    if _sha256(weights) != d["weights_sha256"]:
        raise FormatError(weights, f"weights do not match {json_path.name} (SHA-256 differs); re-export the model")
    try:
        model = model_class(card.model_class).build(card.config)
    except (TypeError, ValueError, KeyError) as e:
        raise FormatError(json_path, f"cannot build {card.model_class} from its config ({e})") from None
    try:
        safetensors.torch.load_model(model, str(weights), strict=True)
    except (RuntimeError, OSError) as e:
        raise FormatError(weights, f"weights do not fit {card.model_class}: {e}") from None
    return model.to(check_device(device)).eval()


def _read_json(path: str | Path) -> tuple[Path, dict[str, Any]]:
    json_path, _ = model_files(path)
    try:
        d = json.loads(json_path.read_text())
    except FileNotFoundError:
        raise FormatError(json_path, "no such exported model file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(json_path, f"unreadable model description ({e})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise FormatError(json_path, f'not a poseprior model description (no "format": "{FORMAT}")')
    if d.get("version") != VERSION:
        raise FormatError(json_path, f"model format version {d.get('version')!r}; this poseprior reads {VERSION}")
    for key, kind in (("class", str), ("config", dict), ("weights", str), ("weights_sha256", str)):
        if not isinstance(d.get(key), kind):
            raise FormatError(json_path, f"missing or invalid {key!r}")
    return json_path, d


def _card(json_path: Path, d: dict[str, Any]) -> ModelCard:
    sk = d.get("skeleton")
    return ModelCard(
        name=json_path.name.removesuffix(".json"),
        path=json_path,
        model_class=d["class"],
        config=d["config"],
        joint_names=None if d.get("joint_names") is None else tuple(d["joint_names"]),
        skeleton=None if sk is None else _skeleton_from_dict(sk, json_path),
        unit=None if sk is None else sk.get("unit"),
        description=d.get("description", ""),
        licence=d.get("licence", ""),
        training=d.get("training") or {},
        parameters=int(d.get("parameters", 0)),
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _skeleton_to_dict(sk: Skeleton, unit: float | None) -> dict[str, Any]:
    return {
        "joint_names": list(sk.joint_names),
        "parents": list(sk.parents),
        "offsets": sk.offsets.tolist(),
        "end_site_parents": list(sk.end_site_parents),
        "end_site_offsets": sk.end_site_offsets.tolist(),
        "unit": unit,
    }


def _skeleton_from_dict(d: dict[str, Any], path: Path) -> Skeleton:
    try:
        return Skeleton(
            tuple(d["joint_names"]),
            tuple(d["parents"]),
            torch.tensor(d["offsets"], dtype=torch.float64),
            tuple(d.get("end_site_parents", ())),
            torch.tensor(d.get("end_site_offsets", []), dtype=torch.float64).reshape(-1, 3),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(path, f"invalid skeleton ({e})") from None
