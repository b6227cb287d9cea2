"""The kinematic trees of the SMPL family, a generic rest pose, and rest joints from licensed model files.

Three trees are built in, with joint names and order exactly as in the official models' ``kintree_table``
(and as the ``smplx`` package names them):

=========  ====  ==============================================================================
model      K     joints
=========  ====  ==============================================================================
``smpl``   24    body 22 (``pelvis`` ... ``right_wrist``) + ``left_hand``, ``right_hand``
``smplh``  52    body 22 + left hand 15 + right hand 15 (index, middle, pinky, ring, thumb; 1-3 each)
``smplx``  55    body 22 + ``jaw``, ``left_eye_smplhf``, ``right_eye_smplhf`` + hands 30
=========  ====  ==============================================================================

SMPL's frame: ``+y`` up, ``+x`` towards the subject's left, ``+z`` forward; lengths in metres; the rest pose
is a T-pose with identity local rotations, so a joint's offset is its rest position minus its parent's.
A posed joint is ``p = FK(rotations, offsets)`` with the root at ``trans + J_rest[0]``: the ``trans`` of
SMPL, SMPL-H and SMPL-X (and of AMASS) translates the whole body, not the pelvis.

The rest joints depend on the body shape (``betas``) and live in the licensed model files, which poseprior
never ships. :func:`rest_joints_from_model` reads them through the optional ``smplx`` package
(``pip install poseprior[smpl]``); without a model, :func:`template_rest_joints` gives a hand-written
average-adult T-pose (about 1.74 m tall). The template is NOT derived from the licensed models: use it for
visualisation and for tests, not for measurements.

Example:
    >>> sk = smpl_skeleton("smplh")
    >>> sk.num_joints, sk.joint_names[20], sk.joint_names[sk.parents[22]]
    (52, 'left_wrist', 'left_wrist')
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from poseprior.errors import FormatError, MissingDependencyError, ValidationError
from poseprior.skeleton.skeleton import Skeleton

__all__ = [
    "MODEL_TYPES",
    "BODY_JOINTS",
    "BODY_PARENTS",
    "POSE_JOINTS",
    "body_skeleton",
    "pose_skeleton",
    "SMPL_JOINTS",
    "SMPLH_JOINTS",
    "SMPLX_JOINTS",
    "smpl_joint_names",
    "smpl_parents",
    "smpl_model_type",
    "template_rest_joints",
    "smpl_skeleton",
    "rest_joints_from_model",
]

#: The model types, in order of joint count.
MODEL_TYPES: tuple[str, ...] = ("smpl", "smplh", "smplx")

_BODY = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle", "right_ankle",
    "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)  # fmt: skip
_BODY_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

#: The canonical body: SMPL's 22 body joints (``pelvis`` + the 21 of ``body_pose``), in SMPL's order.
BODY_JOINTS: tuple[str, ...] = _BODY
#: Parent of each of :data:`BODY_JOINTS` (``-1`` for the pelvis).
BODY_PARENTS: tuple[int, ...] = _BODY_PARENTS
#: The 20 joints below the pelvis that every pose model of poseprior works on: the canonical body without
#: ``spine2``. Mocap rigs have two spine joints (Bandai Namco, ReActIdle) or three (SMPL, CMU, Reallusion,
#: Mixamo); a joint that some training sources never move (``spine2`` of a two-joint spine is the identity,
#: or a copy of its neighbour under an even split) is degenerate data, on which a flow's density has no
#: bound. Dropping it keeps the joints every source has; a rig's longer spine is composed into
#: ``spine1 -> spine3`` by :mod:`poseprior.retarget` (docs/conventions.md, "The canonical body").
POSE_JOINTS: tuple[str, ...] = tuple(n for n in _BODY if n not in ("pelvis", "spine2"))
_FINGERS = ("index", "middle", "pinky", "ring", "thumb")


def _hand(side: str) -> tuple[str, ...]:
    return tuple(f"{side}_{finger}{k}" for finger in _FINGERS for k in (1, 2, 3))


def _hand_parents(wrist: int, first: int) -> tuple[int, ...]:
    # Each finger is a chain of three joints hanging from the wrist.
    return tuple(p for f in range(5) for p in (wrist, first + 3 * f, first + 3 * f + 1))


#: Joint names of SMPL (24).
SMPL_JOINTS: tuple[str, ...] = _BODY + ("left_hand", "right_hand")
#: Joint names of SMPL-H (52).
SMPLH_JOINTS: tuple[str, ...] = _BODY + _hand("left") + _hand("right")
#: Joint names of SMPL-X (55).
SMPLX_JOINTS: tuple[str, ...] = _BODY + ("jaw", "left_eye_smplhf", "right_eye_smplhf") + _hand("left") + _hand("right")

_TREES: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "smpl": (SMPL_JOINTS, _BODY_PARENTS + (20, 21)),
    "smplh": (SMPLH_JOINTS, _BODY_PARENTS + _hand_parents(20, 22) + _hand_parents(21, 37)),
    "smplx": (SMPLX_JOINTS, _BODY_PARENTS + (15, 15, 15) + _hand_parents(20, 25) + _hand_parents(21, 40)),
}

# The generic template: rest positions (metres, SMPL frame) of the midline and left-side joints of an
# average adult in a T-pose, written by hand from anthropometric proportions. Right = left mirrored in x.
_TEMPLATE_BODY: dict[str, tuple[float, float, float]] = {
    "pelvis": (0.0, -0.225, 0.020),
    "left_hip": (0.062, -0.315, 0.010),
    "spine1": (0.0, -0.110, -0.010),
    "left_knee": (0.105, -0.700, 0.010),
    "spine2": (0.0, 0.025, 0.000),
    "left_ankle": (0.085, -1.110, -0.035),
    "spine3": (0.0, 0.080, 0.020),
    "left_foot": (0.115, -1.165, 0.085),
    "neck": (0.0, 0.290, -0.010),
    "left_collar": (0.075, 0.200, -0.005),
    "head": (0.0, 0.370, 0.035),
    "left_shoulder": (0.175, 0.230, -0.015),
    "left_elbow": (0.435, 0.215, -0.030),
    "left_wrist": (0.690, 0.220, -0.030),
    "left_hand": (0.775, 0.210, -0.040),
    "jaw": (0.0, 0.355, 0.060),
    "left_eye_smplhf": (0.032, 0.440, 0.095),
}
# Left-hand finger joints as offsets from their parent (flat hand, fingers along +x, thumb forward).
_TEMPLATE_FINGERS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "index": ((0.090, -0.005, 0.025), (0.035, -0.003, 0.0), (0.023, -0.002, 0.0)),
    "middle": ((0.095, -0.006, 0.002), (0.038, -0.003, 0.0), (0.025, -0.002, 0.0)),
    "pinky": ((0.078, -0.010, -0.040), (0.024, -0.002, 0.0), (0.018, -0.002, 0.0)),
    "ring": ((0.088, -0.008, -0.020), (0.034, -0.003, 0.0), (0.024, -0.002, 0.0)),
    "thumb": ((0.025, -0.015, 0.025), (0.030, -0.008, 0.020), (0.025, -0.005, 0.015)),
}


def _check_type(model_type: str) -> str:
    if model_type not in _TREES:
        raise ValidationError(f"model_type: expected one of {list(MODEL_TYPES)}, got {model_type!r}")
    return model_type


def smpl_joint_names(model_type: str = "smplh") -> tuple[str, ...]:
    """The ``K`` joint names of ``"smpl"`` (24), ``"smplh"`` (52) or ``"smplx"`` (55), in model order."""
    return _TREES[_check_type(model_type)][0]


def smpl_parents(model_type: str = "smplh") -> tuple[int, ...]:
    """The ``K`` parent indices (``kintree_table[0]``, root ``-1``) of a model type."""
    return _TREES[_check_type(model_type)][1]


def smpl_model_type(skeleton: Skeleton) -> str | None:
    """``"smpl"``, ``"smplh"`` or ``"smplx"`` when ``skeleton`` has that tree (names and parents), else None."""
    for model_type, (names, parents) in _TREES.items():
        if skeleton.joint_names == names and skeleton.parents == parents:
            return model_type
    return None


def _template_positions() -> dict[str, np.ndarray]:
    pos = {name: np.array(p) for name, p in _TEMPLATE_BODY.items()}
    for finger, chain in _TEMPLATE_FINGERS.items():
        parent = pos["left_wrist"]
        for k, offset in enumerate(chain, start=1):
            parent = pos[f"left_{finger}{k}"] = parent + np.array(offset)
    mirror = np.array([-1.0, 1.0, 1.0])
    for name in [n for n in pos if n.startswith("left_")]:
        pos["right_" + name[len("left_") :]] = pos[name] * mirror
    return pos


def template_rest_joints(model_type: str = "smplh") -> torch.Tensor:
    """``(K, 3)`` rest joint positions of the generic template, in metres (SMPL frame, T-pose).

    A hand-written average adult (about 1.74 m), NOT the licensed SMPL models' joints: for visualisation
    and tests only. The pelvis is at ``(0, -0.225, 0.02)``, near where the models put it, so a ``trans``
    from real data places the body roughly right.
    """
    pos = _template_positions()
    return torch.tensor(np.stack([pos[n] for n in smpl_joint_names(model_type)]), dtype=torch.float64)


def smpl_skeleton(model_type: str = "smplh", rest_joints: torch.Tensor | np.ndarray | None = None) -> Skeleton:
    """The :class:`Skeleton` of a SMPL-family model.

    Args:
        model_type: ``"smpl"``, ``"smplh"`` or ``"smplx"``.
        rest_joints: ``(K, 3)`` rest joint positions (metres, or any unit: offsets come out in it), e.g.
            from :func:`rest_joints_from_model`. ``None`` uses :func:`template_rest_joints` (approximate).

    Returns:
        The tree with offsets ``J[j] - J[parent[j]]`` and the root's offset ``J[0]``; no end sites.
    """
    names, parents = _TREES[_check_type(model_type)]
    J = template_rest_joints(model_type) if rest_joints is None else torch.as_tensor(rest_joints, dtype=torch.float64)
    if J.shape != (len(names), 3):
        raise ValidationError(f"rest_joints: expected shape ({len(names)}, 3) for {model_type}, got {tuple(J.shape)}")
    offsets = J.clone()
    offsets[1:] = J[1:] - J[list(parents[1:])]
    return Skeleton(names, parents, offsets)


def body_skeleton(rest_joints: torch.Tensor | np.ndarray | None = None) -> Skeleton:
    """The canonical body: SMPL's 22-joint body tree, T-pose rest with identity rotations, SMPL's frame.

    Args:
        rest_joints: ``(22, 3)`` rest joint positions (SMPL frame: ``+y`` up, ``+x`` the body's left, ``+z``
            forward); ``None`` for the average adult of :func:`template_rest_joints`, in metres.

    Example:
        >>> sk = body_skeleton()
        >>> sk.num_joints, sk.joint_names[:3], round(float(sk.bone_lengths()[4]), 3)  # left hip -> knee
        (22, ('pelvis', 'left_hip', 'right_hip'), 0.387)
    """
    J = (
        template_rest_joints("smpl")[: len(_BODY)]
        if rest_joints is None
        else torch.as_tensor(rest_joints, dtype=torch.float64)
    )
    if J.shape != (len(_BODY), 3):
        raise ValidationError(f"rest_joints: expected shape ({len(_BODY)}, 3) for the body, got {tuple(J.shape)}")
    offsets = J.clone()
    offsets[1:] = J[1:] - J[list(_BODY_PARENTS[1:])]
    return Skeleton(_BODY, _BODY_PARENTS, offsets)


def pose_skeleton(body: Skeleton | None = None) -> Skeleton:
    """The pelvis and the 20 :data:`POSE_JOINTS` of a canonical ``body`` (default :func:`body_skeleton`):
    ``spine3`` hangs from ``spine1`` at the sum of the two spine offsets, exact when ``spine2`` is unrotated."""
    body = body_skeleton() if body is None else body
    if body.joint_names != _BODY:
        raise ValidationError(f"body: expected the canonical body's joints {list(_BODY)}, got {list(body.joint_names)}")
    return body.subset(("pelvis", *POSE_JOINTS))


def _model_file(model_path: Path, model_type: str, gender: str) -> Path:
    """The model file for a path that is either the file or a folder in the smplx or AMASS layout."""
    if model_path.is_file():
        return model_path
    if not model_path.is_dir():
        raise ValidationError(f"model_path: {model_path} does not exist")
    stem = f"{model_type.upper()}_{gender.upper()}"
    candidates = [
        folder / name
        for folder in (model_path, model_path / model_type)
        for name in (f"{stem}.npz", f"{stem}.pkl", f"{gender}/model.npz", f"{gender}/model.pkl")
    ]
    for path in candidates:
        if path.is_file():
            return path
    tried = ", ".join(str(p.relative_to(model_path)) for p in candidates)
    raise ValidationError(f"model_path: no {model_type} {gender} model in {model_path} (looked for {tried})")


def _load_model_data(path: Path) -> dict:
    try:
        if path.suffix == ".pkl":
            with open(path, "rb") as f:
                # Only open model files you trust: pickles can run code. The official .pkl models hold
                # chumpy arrays, which need the `chumpy` package to unpickle.
                return dict(pickle.load(f, encoding="latin1"))
        with np.load(path, allow_pickle=True) as npz:
            return {k: npz[k] for k in npz.files}
    except ModuleNotFoundError as e:
        raise FormatError(
            path, f"this model file needs the {e.name!r} package to load ({e}); use the .npz release"
        ) from e
    except Exception as e:
        raise FormatError(path, f"not a readable SMPL-family model file (.npz or .pkl): {e}") from e


def rest_joints_from_model(
    model_path: str | Path,
    model_type: str = "smplh",
    gender: str = "neutral",
    betas: torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """``(K, 3)`` rest joint positions, in metres, of a licensed SMPL / SMPL-H / SMPL-X model and body shape.

    ``J = J_regressor @ (v_template + shapedirs @ betas)`` through ``smplx``'s own blend-shape code. The
    shape basis is used in full (the 16 betas of AMASS's SMPL-H models included; ``smplx``'s model classes
    would keep only 10 of them); for SMPL-X the expression directions after the shape ones are left out.

    Args:
        model_path: the model file (``.npz`` or ``.pkl``), or a folder holding ``SMPLH_MALE.npz``-style files
            (optionally under ``smplh/``) or AMASS's ``male/model.npz`` layout.
        model_type: ``"smpl"``, ``"smplh"`` or ``"smplx"``; the file's ``kintree_table`` must match it.
        gender: ``"neutral"``, ``"male"`` or ``"female"``, to pick the file in a folder.
        betas: ``(B,)`` shape coefficients; ``None`` is the mean shape. Coefficients beyond the model's
            shape basis must be zero.

    Raises:
        MissingDependencyError: ``smplx`` is not installed (``pip install poseprior[smpl]``).
        FormatError: the file is not a model of ``model_type``.

    Example:
        >>> J = rest_joints_from_model("models/smplh", "smplh", "male")  # doctest: +SKIP
    """
    names, parents = _TREES[_check_type(model_type)]
    try:
        from smplx.lbs import blend_shapes, vertices2joints
        from smplx.utils import to_np
    except ImportError as e:
        raise MissingDependencyError(
            "reading SMPL-family model files needs the optional 'smplx' package: pip install poseprior[smpl]"
        ) from e
    path = _model_file(Path(model_path), model_type, gender)
    data = _load_model_data(path)
    missing = [k for k in ("v_template", "shapedirs", "J_regressor", "kintree_table") if k not in data]
    if missing:
        raise FormatError(path, f"not a SMPL-family model: missing {missing}")
    try:
        v_template = torch.as_tensor(to_np(data["v_template"], np.float64))
        shapedirs = to_np(data["shapedirs"], np.float64)
        regressor = torch.as_tensor(to_np(data["J_regressor"], np.float64))  # to_np densifies scipy sparse
        tree = np.asarray(to_np(data["kintree_table"], np.int64))
    except Exception as e:
        raise FormatError(path, f"model arrays could not be read: {e}") from e
    file_parents = [-1] + tree[0, 1:].tolist() if tree.ndim == 2 and tree.shape[0] == 2 else None
    if file_parents != list(parents):
        found = "an unreadable tree" if file_parents is None else f"a {len(file_parents)}-joint tree"
        raise FormatError(path, f"kintree_table is {found}, not the {len(names)}-joint {model_type} tree")
    if shapedirs.ndim == 2:
        shapedirs = shapedirs[:, :, None]
    V = v_template.shape[0]
    if v_template.shape != (V, 3) or shapedirs.shape[:2] != (V, 3) or regressor.shape != (len(names), V):
        raise FormatError(
            path,
            f"inconsistent shapes: v_template {tuple(v_template.shape)}, shapedirs {shapedirs.shape}, "
            f"J_regressor {tuple(regressor.shape)}",
        )
    n_shape = shapedirs.shape[-1]
    if model_type == "smplx":  # shape directions first, then expression: 300 + 100, or 10 + 10
        n_shape = 300 if n_shape >= 400 else 10
    b = torch.zeros(n_shape, dtype=torch.float64)
    if betas is not None:
        given = torch.as_tensor(np.asarray(betas, dtype=np.float64)).reshape(-1)
        if given.shape[0] > n_shape and given[n_shape:].abs().max() > 0:
            raise ValidationError(
                f"betas: {given.shape[0]} coefficients but {path} has only {n_shape} shape components "
                "and the extra coefficients are not zero"
            )
        n = min(n_shape, given.shape[0])
        b[:n] = given[:n]
    v_shaped = v_template + blend_shapes(b[None], torch.as_tensor(shapedirs[:, :, :n_shape]))[0]
    return vertices2joints(regressor, v_shaped[None])[0]
