"""The canonical body: which joints the models work on, and what the choice costs.

Three measurements, written to ``benchmarks/results/canonical_body.json`` (``record.py``) and printed as markdown:

1. **Which tree** (bandai-v1 *val*, Bandai having two spine joints): a full-covariance tangent Gaussian fitted on
   the train poses, scored on val, over (a) the 20 pose joints (``spine2`` left out), (b) SMPL's 21 with
   ``spine2`` filled by the identity, (c) SMPL's 21 with Bandai's lower spine rotation split evenly into
   ``spine1`` and ``spine2``. A joint that is constant, or a copy of another, has zero variance in some
   direction: the fitted density grows without bound as the covariance's ridge shrinks, and a flow's does
   as it trains. The sweep over the ridge shows which trees are degenerate.
2. **What it costs an SMPL user**: motions with three spine joints (CMU, both namings; Reallusion), taken onto
   the canonical body (22 joints, ``spine2`` real), then onto the 20 pose joints (``spine2``'s bend composed
   into ``spine1``, aimed at ``spine3``) and back onto the body: how far the body's joints move (mm) and how
   much the spine rotations change (degrees).
3. **Without the user's SMPL model**: an SMPL-topology skeleton built with other proportions than the
   template (a "subject": the template scaled 1.08 and every rest joint moved up to 15 mm), posed with the
   canonical rotations of CMU 01_01. SMPL rotations go in unchanged either way; the template only changes
   positions (forward kinematics) and the composition of the spine onto the pose joints: the angular
   difference of the composed ``spine1`` and the joint position error, template against the subject's own.

Run from the repository root: ``.venv/bin/python benchmarks/canonical_body.py [--threads 1]``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import roma
import torch

from poseprior.data import load_prepared
from poseprior.io import Motion, read_motion
from poseprior.retarget import Rig, retarget, to_body
from poseprior.skeleton.smpl import BODY_JOINTS, POSE_JOINTS, body_skeleton, template_rest_joints
from record import save

SHARED = Path(os.environ.get("POSEPRIOR_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data"
THREE_SPINE_TAKES = {
    "cmu_bvh": ("CMU 01_01 (MotionBuilder naming)", "cmu/01_01.bvh"),
    "cmu_asf": ("CMU 01_01 (ASF)", "cmu/01_01.amc"),
    "cmu_max": ("CMU 131_02 (3ds Max naming)", "crosslab/crosslab-dev.zip:cmu-max/131_02.bvh"),
    "reallusion": ("CMU 005_04 (Reallusion rig)", "crosslab/crosslab-dev.zip:cmu-cc3/005_04.bvh"),
}
RIDGES = (1e-4, 1e-6, 1e-8, 1e-10)


def gaussian_log_likelihood(train: torch.Tensor, val: torch.Tensor, ridge: float) -> float:
    """Mean log-density (nats) of ``val (N, K, 3, 3)`` under a full-covariance Gaussian in the exponential
    chart at the train poses' per-joint mean, covariance ``+ ridge * I``. The Haar correction and the chart's
    truncation are left out: they are finite and the same for every ridge, so the sweep shows the divergence."""
    centers = roma.special_procrustes(train.double().mean(0))
    to_chart = lambda R: roma.rotmat_to_rotvec(centers.transpose(-1, -2) @ R.double()).flatten(1)  # noqa: E731
    v, w = to_chart(train), to_chart(val)
    loc = v.mean(0)
    cov = (v - loc).T @ (v - loc) / v.shape[0] + ridge * torch.eye(v.shape[1], dtype=v.dtype)
    dist = torch.distributions.MultivariateNormal(loc, covariance_matrix=cov)
    return float(dist.log_prob(w).mean())


def with_spine2(poses: torch.Tensor, split: bool) -> torch.Tensor:
    """``(N, 21, 3, 3)``: the 20 pose joints with SMPL's ``spine2`` inserted (identity, or half of
    ``spine1``'s rotation each, the two halves composing to it)."""
    i = POSE_JOINTS.index("spine1")
    spine1 = poses[:, i]
    if split:
        half = roma.rotvec_to_rotmat(roma.rotmat_to_rotvec(spine1) / 2)
        spine1, spine2 = half, half
    else:
        spine2 = torch.eye(3, dtype=poses.dtype).expand_as(spine1)
    out = poses.clone()
    out[:, i] = spine1
    j = BODY_JOINTS.index("spine2") - 1  # in the 21 body joints below the pelvis
    return torch.cat([out[:, :j], spine2[:, None], out[:, j:]], dim=1)


def tree_choice(prepared: Path) -> dict:
    data = load_prepared(prepared, ["train", "val"])
    train, val = data["train"].rotations, data["val"].rotations
    trees = {
        "pose20": ("20 pose joints (spine2 left out)", train, val),
        "identity21": ("21 joints, spine2 = identity", with_spine2(train, False), with_spine2(val, False)),
        "split21": (
            "21 joints, spine1 split evenly into spine1 and spine2",
            with_spine2(train, True),
            with_spine2(val, True),
        ),
    }
    return {
        "split": "val (fit on train)",
        "poses": {"train": len(train), "val": len(val)},
        "unit": "nats per pose (Gaussian term only)",
        "rows": {
            key: {"label": label, **{f"ridge_{r:.0e}_nats": gaussian_log_likelihood(a, b, r) for r in RIDGES}}
            for key, (label, a, b) in trees.items()
        },
    }


def joint_error_mm(a: Motion, b: Motion) -> torch.Tensor:
    return ((a.positions() - b.positions()) * a.unit).norm(dim=-1)


def smpl_cost() -> dict:
    rows = {}
    for key, (label, path) in THREE_SPINE_TAKES.items():
        motion = read_motion(f"{SHARED}/{path}")
        motion = motion.frames(slice(0, None, max(1, round(motion.fps / 10))))  # 10 fps
        body, _ = to_body(motion)
        body_rig = Rig.from_skeleton(body.skeleton, body.unit)
        pose, _ = retarget(body, Rig.from_skeleton(body_rig.pose_skeleton(), body.unit), body_rig)
        back, _ = retarget(pose, body_rig, Rig.from_skeleton(pose.skeleton, pose.unit))
        error = joint_error_mm(body, back)
        spine = [BODY_JOINTS.index(n) for n in ("spine1", "spine2", "spine3")]
        angle = torch.rad2deg(roma.rotmat_geodesic_distance(body.rotations[:, spine], back.rotations[:, spine]))
        spine2_bend = torch.rad2deg(roma.rotmat_to_rotvec(body.rotations[:, BODY_JOINTS.index("spine2")]).norm(dim=-1))
        rows[key] = {
            "label": label,
            "frames": body.num_frames,
            "spine2_bend_deg_mean": float(spine2_bend.mean()),
            "joint_error_mm_mean": float(error.mean()),
            "joint_error_mm_max": float(error.max()),
            "spine_rotation_change_deg_mean": float(angle.mean()),
            "other_joints_error_mm_max": float(error[:, [j for j in range(22) if j not in spine]].max()),
        }
    return {"fps": 10, "rows": rows}


def template_cost(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    template = template_rest_joints("smpl")[:22]
    subject = template * 1.08 + (torch.rand(22, 3, generator=g, dtype=torch.float64) * 2 - 1) * 0.015
    motion = read_motion(f"{SHARED}/cmu/01_01.bvh")
    motion = motion.frames(slice(0, None, 12))
    canonical, _ = to_body(motion)  # canonical rotations of a real take
    out = {}
    poses = {}
    for name, rest in (("subject", subject), ("template", template)):
        sk = body_skeleton(rest)
        posed = Motion(sk, canonical.rotations, canonical.root_translation * 0, canonical.fps, unit="m")
        rig = Rig.from_skeleton(sk, "m")
        poses[name], _ = retarget(posed, Rig.from_skeleton(rig.pose_skeleton(), "m"), rig)
        out[name] = posed
    spine1 = 1 + POSE_JOINTS.index("spine1")
    angle = torch.rad2deg(roma.rotmat_geodesic_distance(poses["subject"].rotations, poses["template"].rotations))
    position = joint_error_mm(out["subject"], out["template"])
    return {
        "frames": motion.num_frames,
        "subject": "template x 1.08, every rest joint moved uniformly up to 15 mm (seed 0)",
        "body_pose_rotation_difference_deg": 0.0,
        "composed_spine1_difference_deg_mean": float(angle[:, spine1].mean()),
        "composed_spine1_difference_deg_max": float(angle[:, spine1].max()),
        "pose_joints_other_difference_deg_max": float(
            angle[:, [k for k in range(angle.shape[1]) if k != spine1]].max()
        ),
        "joint_position_error_mm_mean": float(position.mean()),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepared", type=Path, default=Path("prepared/bandai-v1"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--quick", action="store_true", help="written under record.quick_dir() (the run is small already)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = {"tree_choice": tree_choice(args.prepared), "smpl_cost": smpl_cost(), "template_cost": template_cost()}
    subset = {
        "tree_choice": "bandai-v1: fitted on all train poses, scored on all val poses",
        "smpl_cost": f"every frame at 10 fps of {', '.join(path for _, path in THREE_SPINE_TAKES.values())}",
        "template_cost": "every 12th frame of cmu/01_01.bvh (10 fps); subject rest joints: template x 1.08 + uniform 15 mm, seed 0",
    }
    save("canonical_body", result, subset=subset, quick=args.quick)
    for text in render(lambda setting="": {"results": result}).values():
        print(text + "\n")
    return result


def render(results) -> dict[str, str]:
    """The docs' blocks (``benchmarks/report.py``)."""
    r = results()["results"]
    t = r["tree_choice"]
    lines = ["| tree | " + " | ".join(f"ridge {r:g}" for r in RIDGES) + " |", "|---|" + "---|" * len(RIDGES)]
    lines += [
        f"| {row['label']} | " + " | ".join(f"{row[f'ridge_{r:.0e}_nats']:.1f}" for r in RIDGES) + " |"
        for row in t["rows"].values()
    ]
    tree = "\n".join(lines)
    lines = [
        "| take | frames | spine2 bend (deg) | body joints moved, mean / max (mm) | other joints, max (mm) | spine rotations changed (deg) |",
        "|---|---|---|---|---|---|",
    ]
    for row in r["smpl_cost"]["rows"].values():
        lines.append(
            f"| {row['label']} | {row['frames']} | {row['spine2_bend_deg_mean']:.1f} | {row['joint_error_mm_mean']:.1f} / {row['joint_error_mm_max']:.1f} "
            f"| {row['other_joints_error_mm_max']:.2f} | {row['spine_rotation_change_deg_mean']:.1f} |"
        )
    return {"tree_choice": tree, "smpl_cost": "\n".join(lines)}


if __name__ == "__main__":
    main()
