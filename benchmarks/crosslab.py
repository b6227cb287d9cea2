"""Cross-lab numbers: how the models trained on Bandai Namco data do on other labs' motion, on other rigs.

Sources (never trained on), each read with :func:`poseprior.io.read_motion` and brought onto the canonical body
by :mod:`poseprior.retarget` (:func:`~poseprior.retarget.source_rig`: joints mapped by name, twists calibrated
on the whole take, the unit of a BVH guessed from the body's size, the up axis found from the motion):

==============  ===========================  =====================================================================
source          naming convention            files
==============  ===========================  =====================================================================
``cmu-cc3``     reallusion (Reallusion CC)   ``crosslab/crosslab-dev.zip:cmu-cc3/*.bvh``, 35 CMU takes, 60 fps
``cmu-max``     3dsmax (3ds Max)             ``crosslab/crosslab-dev.zip:cmu-max/131_02.bvh``, 120 fps
``reactidle``   blender (Rigify)             ``crosslab/crosslab-dev.zip:reactidle/*.bvh``, 3 takes, 24 fps, no
                                             hands or toes
``cmu-bvh``     motionbuilder                ``cmu/01_01.bvh``, 120 fps (its frame 0, an added T-pose, dropped)
``cmu-asf``     asf (CMU ASF/AMC)            ``cmu/01_01.amc``, ``cmu/11_01.amc``, 120 fps
==============  ===========================  =====================================================================

Beside them, ``bandai`` is a reference row (never pooled): ``--bandai-takes`` bandai-v1 **test** takes read from
the zips and put through the very same pipeline (per-take rig, resampling), so that a gap between a source and
``bandai`` is the data's, not the pipeline's. "pooled" rows pool the five cross-lab sources, weighted by
takes (retargeting), poses (log-likelihood, fitting, lifting) or frames (denoising).

Poses: each take is resampled to 10 fps (slerp, :meth:`~poseprior.io.Motion.resample`) **before** retargeting,
as bandai-v1 takes every 3rd frame of its 30 fps takes before retargeting, the rig calibrated on the whole take at
its own rate; the canonical poses are the 20 pose joints of :func:`~poseprior.retarget.to_pose`'s skeleton in
the source's proportions. Joints a rig lacks (ReActIdle: ``spine2``, the feet's toes ``left_foot``/``right_foot``
and the wrists) are *filled* with the identity rotation: they are scored at that value by the log-likelihood and
left out of every other metric (positions and angles).

Sections (every number's unit is in its key: ``_mm``, ``_deg``, ``_nats``, ``_s``; ratios are bare):

1. **retargeting**: per take, the mean angle (over frames and mapped bones, zero-length bones skipped) between the
   canonical body's bones and the source's (deg); round trip onto the take's own rig from its skeleton alone
   (mean error of the mapped joints, mm) and with the original as template (largest error of any joint, mm);
   per source the mean and max over takes, the unit (guessed or stated), up axes and missing joints. And for the
   bandai takes, how far their per-take rig puts their poses from bandai-v1's training rig (calibrated on many
   train takes together): the models' training data never saw per-take calibration, so this is an offset every
   source pays (the bandai row against the bandai-v1 test rows of section 3 shows its cost in nats).
2. **twist**: for each knee and elbow on the canonical body, the main axis of its bend (principal component of the
   rotation vectors of the swing part, the rotation without its roll about the bone, bending positive, as
   ``tests/retarget/test_transfer.py::_hinge_axis``) over all the source's 10 fps frames together, its angle to
   the canonical hinge axis (knees ``+x``, left elbow ``-y``, right elbow ``+y``) and the largest such angle of a
   single take; the mean bend off the canonical axis (deg: a correct twist puts the bend about the axis, so this
   stays small however still the joint is, where the principal axis of a joint that hardly moves is noise); and
   the largest angle between two sources' axes (bandai included). A hinge bent by at least 30 degrees in fewer
   than 10% of the frames (:meth:`~poseprior.retarget.Rig.calibrated`'s rule) is marked and left out of that.
3. **log_likelihood**: mean and median ``log p`` per pose under ``flow-bandai`` (nats, normalized Haar measure on
   SO(3)^20) and under the independent-joints baseline (``TangentGaussianPrior.fit(train, "joint")`` on bandai-v1
   train, every ``--train-every``-th pose), the flow's lead over it (mean of the differences), and the share of
   poses the flow scores below the 1st percentile of bandai-v1 test poses (a mean is at the mercy of a few
   poses far outside the training data); bandai-v1 test (prepared) split by dataset 1 and 2 for reference.
4. **fit3d**: world-frame keypoints (the take's own root motion, Y-up) of ``--limit`` poses per source spread
   evenly over its 10 fps poses (every take, in name order), in the IK model's unit; Gaussian noise of 20 mm per
   coordinate on every joint (root included), 30% of the 20 non-root joints (6) hidden per pose, root visible;
   :func:`~poseprior.tasks.fit_keypoints_3d` with ``FitConfig(steps=--steps, fit_root_rotation=True,
   fit_root_translation=True)`` on the take's own pose skeleton, IK init ``flow-ik-bandai``, no prior and each
   prior at its default weight. MPJPE (mm) of the world-frame joints the source has (root included), and best
   prior / no prior.
5. **denoise**: ``--denoise-takes`` takes per source (evenly spaced), of each the ``--denoise-seconds`` at its
   middle at 30 fps (the rate :class:`~poseprior.tasks.denoise.DenoiseConfig` was tuned at) on the pose
   skeleton; :func:`~poseprior.tasks.denoise.add_rotation_noise` on the 20 pose joints, 20 degrees RMS angle per
   joint (20 / sqrt(3) degrees per axis, as ``benchmarks/denoise.py``); denoised by
   :func:`~poseprior.tasks.denoise.denoise_motion` without a prior and with ``ndf-bandai``. MPJPE (mm, pose
   joints the source has, root trajectory clean) noisy and denoised, and the fraction of the noisy MPJPE removed.
6. **lifting**: the fit3d poses, each with its window of 10 fps neighbours (clamped at the take's ends), posed on
   the lifters' own skeleton (so that only the motion differs from Bandai, not the proportions) and seen by one
   random camera per window (``random_views`` with ``LiftingConfig()``, as ``benchmarks/lifting.py``: exact
   pixels). ``lifter-rot-bandai``: MPJPE (mm, root-relative, camera frame) and MPJAE (deg, local rotations) of the
   centre frame; ``lifter-flow-bandai``: MPJPE of its mode and best-of-``--samples`` MPJPE.
7. **placement**: why the rotation priors reject other labs' poses. Per source and pose joint, the mean rotation
   of its 10 fps poses (chordal mean) against bandai-v1 train's (every ``--train-every``-th pose), split into the
   swing of the joint's T-pose bone and the twist about it (deg), beside the spread of bandai-v1 train about its
   mean (mean angle, deg): an offset many times that spread, with a small spread of the source's own, is a
   constant difference in how the rigs place joints or split chains, not different motion. And, from the
   source's own joint positions, the median angle between the shin (knee to ankle) and the foot (ankle to toe
   joint) over all frames: where each lab puts its ankle and toe joints.
8. **same_take**: one take on several rigs. CMU's 01_01 is in the set three times: as ASF/AMC (``cmu-asf``), as
   the MotionBuilder-named BVH (``cmu-bvh``) and retargeted by a third party onto the Reallusion rig
   (``cmu-cc3/001_01.bvh``). Per pose joint, the mean angle (deg) between each rig's canonical rotations and
   the ASF's over the take's 10 fps poses: what retargeting leaves of the rigs' differences (the BVH has no
   thorax bone, and the Reallusion retarget poses the body itself). Left out when a cut of the sources lacks one.

Seeds are fixed (``--seed``). The JSON (``--out``, written atomically) holds the command line, git commit and
whether tracked files differ from it, date, CPU, threads, torch version, the models' weight hashes, the subsets
(takes, poses, how chosen, seeds, frame rates) and every number. Run from the repository root:

    .venv/bin/python benchmarks/crosslab.py --threads 1                 # the published numbers
    .venv/bin/python benchmarks/crosslab.py --quick                     # about a minute, numbers not for publication

On one thread of a 2-core development machine a full run was estimated at about 9 minutes (fit3d two thirds of
it: one ``fit_keypoints_3d`` call per take and method) and 1.5 GB of memory; ``--quick`` took 25 to 40 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import roma
import torch

import poseprior.zoo as zoo
from poseprior.data import BANDAI_V1, extract_poses, load_prepared
from poseprior.data.bandai import reference_rig
from poseprior.data.lifting import LiftingConfig, layout_keypoints, random_views
from poseprior.io import Motion, list_members, read_motion
from poseprior.io.units import unit_name
from poseprior.metrics import best_of_n, geodesic_error, mpjae, mpjpe
from poseprior.models.baseline import TangentGaussianPrior
from poseprior.models.prior import PoseJoints
from poseprior.retarget import Rig, from_canonical, retarget, source_rig
from poseprior.retarget.rig import HINGE_AXES, bend_axis, bends, bone_axis, swing_twist_deg
from poseprior.retarget.transfer import up_rotation
from poseprior.skeleton.smpl import BODY_JOINTS, BODY_PARENTS, POSE_JOINTS
from poseprior.tasks import FitConfig, fit_keypoints_3d
from poseprior.tasks.denoise import DenoiseConfig, add_rotation_noise, denoise_motion
from record import save, settle_arguments

REPO = Path(__file__).resolve().parents[1]
CROSSLAB = ("cmu-cc3", "cmu-max", "reactidle", "cmu-bvh", "cmu-asf")
REFERENCE = "bandai"
PRIORS = ("flow-bandai", "vae-bandai", "ndf-bandai")
HINGES = ("left_knee", "right_knee", "left_elbow", "right_elbow")
POSE_FPS = 10.0
DENOISE_FPS = 30.0
NOISE_MM = 20.0
HIDDEN = 0.3
NOISE_DEG = 20.0
BEND_DEG = 30.0  # a hinge bending less than this in 90% of the frames does not show its axis

#: Option defaults of a full run and of ``--quick`` (an explicit option wins over both).
FULL = dict(takes=None, limit=200, steps=FitConfig().steps, samples=50, denoise_takes=3, denoise_seconds=10.0,
            denoise_steps=DenoiseConfig().steps, bandai_takes=5, train_every=1)  # fmt: skip
QUICK = dict(takes=1, limit=20, steps=5, samples=8, denoise_takes=1, denoise_seconds=2.0,
             denoise_steps=10, bandai_takes=1, train_every=20)  # fmt: skip


# ------------------------------------------------------------------------------------------------ sources
@dataclass(frozen=True)
class Source:
    """Where a source's takes are and how to read them."""

    name: str
    naming: str  # the naming convention, as the benchmark reports it
    paths: tuple[str, ...]  # read_motion paths (``zip:member`` inside archives), in name order
    drop_first: bool = False  # frame 0 is not captured motion (an added T-pose)


def source_list(shared: Path, takes: int | None, bandai_takes: int) -> list[Source]:
    """The five cross-lab sources, each cut to at most ``takes`` takes (evenly spaced over its takes in name
    order; ``None``: all), and the bandai reference of ``bandai_takes`` test takes."""
    crosslab = shared / "crosslab" / "crosslab-dev.zip"
    members = sorted(list_members(crosslab, ".bvh"))

    def folder(name: str) -> tuple[str, ...]:
        return tuple(f"{crosslab}:{m}" for m in members if m.startswith(f"{name}/"))

    sources = [
        Source("cmu-cc3", "reallusion (Reallusion CC: CC_Base_L_Thigh, CC_Base_L_Upperarm)", folder("cmu-cc3")),
        Source("cmu-max", "3dsmax (3ds Max: LeftHip, LeftElbow)", folder("cmu-max")),
        Source("reactidle", "blender (Rigify: thigh.L, upper_arm.L)", folder("reactidle")),
        Source(
            "cmu-bvh", "motionbuilder (LeftUpLeg, LeftForeArm)", (str(shared / "cmu" / "01_01.bvh"),), drop_first=True
        ),
        Source(
            "cmu-asf",
            "asf (CMU ASF/AMC: lfemur, lhumerus)",
            tuple(str(shared / "cmu" / n) for n in ("01_01.amc", "11_01.amc")),
        ),
    ]
    bandai = Source(
        REFERENCE,
        "bandai (Bandai Namco: UpperLeg_L, LowerArm_L)",
        bandai_test_paths(shared / "bandai-namco", bandai_takes),
    )
    return [replace(s, paths=tuple(evenly(s.paths, takes))) for s in sources] + [bandai]


def bandai_test_paths(folder: Path, count: int) -> tuple[str, ...]:
    """``count`` bandai-v1 test takes spread evenly over splits.json's test list, as ``zip:member`` paths."""
    names = evenly(json.loads((folder / "splits.json").read_text())["test"], count)
    where = {PurePosixPath(m).name: f"{z}:{m}" for z in sorted(folder.glob("*.zip")) for m in list_members(z, ".bvh")}
    return tuple(where[n] for n in names)


def evenly(items: Sequence, count: int | None) -> list:
    """At most ``count`` of ``items`` spread evenly (first and last included); all of them for ``None``."""
    if count is None or count >= len(items):
        return list(items)
    return [items[i] for i in spaced(len(items), count).tolist()]


def spaced(n: int, count: int) -> torch.Tensor:
    """``min(n, count)`` distinct indices spread evenly over ``range(n)``."""
    return torch.linspace(0, n - 1, min(n, count)).round().long().unique()


# ------------------------------------------------------------------------------------------------ takes
@dataclass
class Take:
    """One take on the canonical body, with what the sections need of it.

    Attributes:
        source, name: the source and the take's file name.
        convention, unit_mm, unit_guessed, up, missing: what retargeting found (naming, millimetres per unit,
            whether the unit was guessed, the world's up axis, canonical body joints without a rotation).
        pose: the 10 fps motion on ``pelvis + POSE_JOINTS`` (source proportions and unit, Y-up).
        quality: the take's retargeting numbers.
        swings: per hinge joint, the ``(T, 3)`` rotation vectors of the swing part of its 10 fps rotations.
        clip: the 30 fps denoising clip on the pose skeleton, or None.
    """

    source: str
    name: str
    convention: str
    unit_mm: float
    unit_guessed: bool
    up: str
    missing: tuple[str, ...]
    pose: Motion
    quality: dict[str, float]
    swings: dict[str, torch.Tensor]
    clip: Motion | None = None

    @property
    def present(self) -> torch.Tensor:
        """``(21,)`` bool: which of the pelvis and the 20 pose joints the source has (not filled)."""
        return torch.tensor([n not in self.missing for n in ("pelvis", *POSE_JOINTS)])


def load_take(source: Source, path: str, clip_seconds: float | None) -> Take:
    """Read one take and bring it onto the canonical body (see the module docstring)."""
    motion = read_motion(path)
    if source.drop_first:
        motion = motion.frames(slice(1, None))
    rig = source_rig(motion)
    slow = motion.resample(POSE_FPS)
    body, report = retarget(slow, Rig.from_skeleton(rig.body_skeleton(), rig.unit), rig)
    pose = on_pose_skeleton(slow, rig)
    clip = None
    if clip_seconds is not None:
        start = max(0, (motion.num_frames - round(clip_seconds * motion.fps)) // 2)
        clip = on_pose_skeleton(
            motion.frames(slice(start, start + round(clip_seconds * motion.fps))).resample(DENOISE_FPS), rig
        )
    return Take(
        source=source.name,
        name=PurePosixPath(path.split(":")[-1]).name,
        convention=rig.joint_map.convention,
        unit_mm=rig.unit,
        unit_guessed=bool(rig.unit_note),
        up=report.up,
        missing=report.missing,
        pose=pose,
        quality=retargeting_quality(slow, body, rig, report.up),
        swings=hinge_swings(body),  # the hinges' local rotations
        clip=clip,
    )


def on_pose_skeleton(motion: Motion, rig: Rig) -> Motion:
    """``motion`` on the pose skeleton (pelvis + 20 pose joints) in ``rig``'s proportions, through ``rig``."""
    return retarget(motion, Rig.from_skeleton(rig.pose_skeleton(), rig.unit), rig)[0]


def load_sources(sources: list[Source], denoise_takes: int, clip_seconds: float) -> dict[str, list[Take]]:
    """Every take of every source; the denoising clip of ``denoise_takes`` evenly spaced takes per source."""
    out = {}
    for source in sources:
        clipped = set(evenly(source.paths, denoise_takes))
        out[source.name] = [load_take(source, p, clip_seconds if p in clipped else None) for p in source.paths]
        print(f"read {source.name}: {len(source.paths)} takes, {sum(t.pose.num_frames for t in out[source.name])} poses at {POSE_FPS:g} fps",
              file=sys.stderr, flush=True)  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------------ helpers
def mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values))


def pooled(per_source: dict[str, torch.Tensor]) -> float:
    """The mean of the cross-lab sources' values together (the bandai reference left out)."""
    return float(torch.cat([v.reshape(-1).double() for s, v in per_source.items() if s in CROSSLAB]).mean())


def rows_with_pool(per_source: dict[str, dict], pool: dict) -> dict:
    """The cross-lab sources in order, then ``pooled``, then the bandai reference."""
    out = {s: per_source[s] for s in CROSSLAB if s in per_source}
    out["pooled"] = pool
    if REFERENCE in per_source:
        out[REFERENCE] = per_source[REFERENCE]
    return out


def mean_rows(values: dict[str, dict[str, torch.Tensor]], count: str) -> dict[str, dict]:
    """Rows of means: ``values[metric][source]`` holds one value per pose (or frame, or view); each source's row
    and the pooled one get every metric's mean and, under ``count``, how many values it has."""
    first = next(iter(values.values()))
    rows = {
        s: {count: int(first[s].numel()), **{k: float(v[s].double().mean()) for k, v in values.items()}} for s in first
    }
    pool = {
        count: sum(int(first[s].numel()) for s in CROSSLAB if s in first),
        **{k: pooled(v) for k, v in values.items()},
    }
    return rows_with_pool(rows, pool)


def angle_deg(a: torch.Tensor, b: torch.Tensor) -> float:
    """Angle between unit vectors, degrees."""
    return math.degrees(math.acos(max(-1.0, min(1.0, float(a @ b)))))


# ------------------------------------------------------------------------------------------------ 1. retargeting
def retargeting_quality(motion: Motion, body: Motion, rig: Rig, up: str) -> dict[str, float]:
    """A take's bone-direction agreement and round trips (module docstring, section 1)."""
    source = motion.positions().double() @ up_rotation(up).T
    target = body.positions()
    joints = rig.joint_map.joints
    angles = []
    for c, p in enumerate(BODY_PARENTS):
        child, parent = BODY_JOINTS[c], BODY_JOINTS[p] if p >= 0 else None
        if parent is None or child not in joints or parent not in joints:
            continue
        a = source[:, joints[child]] - source[:, joints[parent]]
        if float(a.norm(dim=-1).min()) < 1e-6:
            continue  # a zero-length bone (CMU's neck starts at its chest) has no direction
        cos = torch.nn.functional.cosine_similarity(a, target[:, c] - target[:, p], dim=-1).clamp(-1, 1)
        angles.append(float(torch.rad2deg(torch.acos(cos)).mean()))
    mapped = list(joints.values())
    back = from_canonical(body, rig, up=up)
    exact = from_canonical(body, rig, up=up, template=motion)
    truth = motion.positions().double()
    return {
        "bone_angle_deg": mean(angles),
        "bone_angle_worst_bone_deg": max(angles),
        "round_trip_mm": float((back.positions()[:, mapped] - truth[:, mapped]).norm(dim=-1).mean() * rig.unit),
        "round_trip_template_max_mm": float((exact.positions() - truth).norm(dim=-1).max() * rig.unit),
    }


def retargeting_section(takes: dict[str, list[Take]]) -> dict:
    """Per source: naming, unit, up axes, missing joints; mean and max over takes of each take's numbers."""
    # a take's number -> (name of its summary, unit)
    keys = {"bone_angle_deg": ("bone_angle", "deg"), "round_trip_mm": ("round_trip", "mm"),
            "round_trip_template_max_mm": ("round_trip_template_max", "mm")}  # fmt: skip

    def summary(ts: list[Take]) -> dict:
        row: dict = {"takes": len(ts)}
        for key, (name, unit) in keys.items():
            values = [t.quality[key] for t in ts]
            row[f"{name}_mean_{unit}"], row[f"{name}_max_{unit}"] = mean(values), max(values)
        return row

    rows = {}
    for source, ts in takes.items():
        units = sorted({f"{unit_name(t.unit_mm)} ({'guessed' if t.unit_guessed else 'stated'})" for t in ts})
        rows[source] = {
            "naming": sorted({t.convention for t in ts}),
            "unit": units,
            "up": sorted({t.up for t in ts}),
            "missing": sorted({n for t in ts for n in t.missing}, key=BODY_JOINTS.index),
            **summary(ts),
            "per_take": {t.name: t.quality for t in ts},
        }
    return {"rows": rows_with_pool(rows, summary([t for s in CROSSLAB for t in takes.get(s, [])]))}


def calibration_offsets(source: Source, bandai_dir: Path) -> dict:
    """How far calibrating a rig on one take (:meth:`Rig.calibrated`, what every cross-lab source gets) puts
    Bandai's own takes from the bandai-v1 training data's rig (its shipped profile, calibrated on every 25th
    train take together, which :func:`source_rig` gives Bandai files): per take, the mean angle between the two
    versions of each pose joint's rotation (deg) and the worst joint's."""
    reference = reference_rig(bandai_dir)
    out = {}
    for path in source.paths:
        motion = read_motion(path)
        own = Rig.from_skeleton(motion.skeleton, motion.unit).calibrated(motion.rotations)
        ours, theirs = (extract_poses(motion, BANDAI_V1, rig)["rotations"].double() for rig in (own, reference))
        per_joint = geodesic_error(ours, theirs).mean(0)
        worst = int(per_joint.argmax())
        out[PurePosixPath(path).name] = {
            "mean_deg": float(per_joint.mean()),
            "worst_joint": POSE_JOINTS[worst],
            "worst_joint_deg": float(per_joint[worst]),
        }
    return out


def retargeting_table(section: dict) -> str:
    rows = []
    for source, r in section["rows"].items():
        info = [", ".join(r.get(k, ["-"])) or "none" for k in ("naming", "unit", "up", "missing")]
        rows.append([source, *info, r["takes"], f"{r['bone_angle_mean_deg']:.2f} / {r['bone_angle_max_deg']:.2f}",
                     f"{r['round_trip_mean_mm']:.2f} / {r['round_trip_max_mm']:.2f}",
                     f"{r['round_trip_template_max_mean_mm']:.1e} / {r['round_trip_template_max_max_mm']:.1e}"])  # fmt: skip
    table = markdown(["source", "naming", "unit", "up", "missing joints", "takes", "bone angle deg (mean / max over takes)",
                      "round trip mm (mean / max)", "round trip with template, largest error mm (mean / max)"], rows)  # fmt: skip
    offsets = section["bandai_per_take_vs_reference_rig"]
    lines = [
        f"- {take}: {o['mean_deg']:.1f} deg per joint, worst {o['worst_joint']} {o['worst_joint_deg']:.1f} deg"
        for take, o in offsets.items()
    ]
    return (
        table
        + "\n\nbandai takes, each calibrated on itself against bandai-v1's training rig (mean angle between the two poses):\n"
        + "\n".join(lines)
    )


# ------------------------------------------------------------------------------------------------ 2. twist
def hinge_swings(body: Motion) -> dict[str, torch.Tensor]:
    """Per hinge joint, its canonical local rotations ``(T, 3, 3)``."""
    return {j: body.rotations[:, BODY_JOINTS.index(j)] for j in HINGES}


def hinge_stats(rotations: torch.Tensor, joint: str) -> dict:
    """A hinge's bend axis (:func:`~poseprior.retarget.rig.bend_axis`), its angle to the canonical axis, the share of frames bent at
    least ``BEND_DEG`` (``measurable``: at least 10% of them, :meth:`Rig.calibrated`'s rule), and the mean bend
    off the canonical axis (deg: the part of the swing a correct twist puts about the hinge axis)."""
    canonical = HINGE_AXES[joint].to(torch.float64)
    axis = bend_axis(rotations, joint)
    swings = bends(rotations, joint)
    off = (swings - (swings @ canonical)[:, None] * canonical).norm(dim=-1)
    bent = float((swings.norm(dim=-1) >= math.radians(BEND_DEG)).double().mean())
    return {"axis": axis, "to_canonical_deg": angle_deg(axis, canonical), "bent_share": bent, "measurable": bent >= 0.1,
            "off_axis_mean_deg": math.degrees(float(off.mean()))}  # fmt: skip


def twist_section(takes: dict[str, list[Take]]) -> dict:
    """Per source and hinge joint: :func:`hinge_stats` of all its frames together, and the largest angle to the
    canonical axis of a single take's axis (takes that bend enough); the largest angle between two sources'
    axes where both bend enough."""

    def row(ts: list[Take]) -> dict:
        out: dict = {"frames": sum(t.pose.num_frames for t in ts)}
        for j in HINGES:
            out[j] = hinge_stats(torch.cat([t.swings[j] for t in ts]), j)
            per_take = [hinge_stats(t.swings[j], j) for t in ts]
            worst = [h["to_canonical_deg"] for h in per_take if h["measurable"]]
            out[j]["worst_take_to_canonical_deg"] = max(worst) if worst else None
        return out

    rows = {s: row(ts) for s, ts in takes.items()}
    widest = {}
    for j in HINGES:
        ok = [s for s in rows if rows[s][j]["measurable"]]
        pairs = [
            (angle_deg(rows[a][j]["axis"], rows[b][j]["axis"]), a, b) for i, a in enumerate(ok) for b in ok[i + 1 :]
        ]
        angle, a, b = max(pairs) if pairs else (0.0, "-", "-")
        widest[j] = {"angle_deg": angle, "between": [a, b], "sources_compared": ok}
    out = rows_with_pool(rows, row([t for s in CROSSLAB for t in takes.get(s, [])]))
    for r in out.values():
        for j in HINGES:
            r[j]["axis"] = [round(float(x), 4) for x in r[j]["axis"]]
    return {"rows": out, "largest_between_sources": widest, "canonical_axes": {j: HINGE_AXES[j].tolist() for j in HINGES},
            "bend_threshold_deg": BEND_DEG, "measurable_share": 0.1}  # fmt: skip


def twist_table(section: dict) -> str:
    def cell(r: dict) -> str:
        if not r["measurable"]:
            return f"{r['to_canonical_deg']:.1f}; off-axis {r['off_axis_mean_deg']:.1f} (barely bends: {r['bent_share']:.0%} of frames >= {BEND_DEG:g} deg)"
        worst = r["worst_take_to_canonical_deg"]
        return f"{r['to_canonical_deg']:.1f} (worst take {'-' if worst is None else f'{worst:.1f}'}); off-axis {r['off_axis_mean_deg']:.1f}"

    rows = [[s, r["frames"], *(cell(r[j]) for j in HINGES)] for s, r in section["rows"].items()]
    widest = section["largest_between_sources"]
    rows.append(
        [
            "largest between sources that bend",
            "-",
            *(f"{widest[j]['angle_deg']:.1f} ({' / '.join(widest[j]['between'])})" for j in HINGES),
        ]
    )
    return markdown(
        ["source", "frames (10 fps)", *(f"{j}: axis to canonical (worst take); off-axis, deg" for j in HINGES)], rows
    )


# ------------------------------------------------------------------------------------------------ 3. log-likelihood
@torch.no_grad()
def log_probs(prior, R: torch.Tensor) -> torch.Tensor:
    """``(N,)`` float64 log-densities of poses ``R (N, 20, 3, 3)`` (nats), in batches."""
    R = R.float()
    return torch.cat([prior.log_prob(R[i : i + 4096]).double() for i in range(0, R.shape[0], 4096)])


def likelihood_row(flow_lp: torch.Tensor, base_lp: torch.Tensor, floor: float) -> dict:
    """Means and medians of the two log-likelihoods (nats), the flow's lead, and the share of poses the flow
    scores below ``floor`` (the 1st percentile of bandai-v1 test poses: out of the training distribution)."""
    return {
        "poses": int(flow_lp.numel()),
        "flow_mean_nats": float(flow_lp.mean()),
        "baseline_mean_nats": float(base_lp.mean()),
        "lead_mean_nats": float((flow_lp - base_lp).mean()),
        "flow_median_nats": float(flow_lp.median()),
        "baseline_median_nats": float(base_lp.median()),
        "flow_below_bandai_p01": float((flow_lp < floor).double().mean()),
    }


def likelihood_section(takes: dict[str, list[Take]], flow, baseline, test) -> dict:
    """Per source, pooled and bandai-v1 test by dataset: the flow's and the baseline's log-likelihoods."""
    test_flow, test_base = log_probs(flow, test.rotations), log_probs(baseline, test.rotations)
    floor = float(test_flow.quantile(0.01))
    flow_lp, base_lp = {}, {}
    for source, ts in takes.items():
        R = torch.cat([t.pose.rotations[:, 1:] for t in ts])
        flow_lp[source], base_lp[source] = log_probs(flow, R), log_probs(baseline, R)
    rows = {s: likelihood_row(flow_lp[s], base_lp[s], floor) for s in takes}
    crosslab = (torch.cat([v[s] for s in CROSSLAB if s in v]) for v in (flow_lp, base_lp))
    out = rows_with_pool(rows, likelihood_row(*crosslab, floor))
    datasets = [test.take_names[int(t)].split("_")[0] for t in test.take.tolist()]
    for name in sorted(set(datasets)):
        rows_in = torch.tensor([d == name for d in datasets])
        out[f"bandai-v1 test {name}"] = likelihood_row(test_flow[rows_in], test_base[rows_in], floor)
    out["bandai-v1 test"] = likelihood_row(test_flow, test_base, floor)
    return {"rows": out, "bandai_test_p01_nats": floor}


def likelihood_table(section: dict) -> str:
    rows = [[s, r["poses"], f"{r['flow_mean_nats']:.2f}", f"{r['baseline_mean_nats']:.2f}", f"{r['lead_mean_nats']:+.2f}",
             f"{r['flow_median_nats']:.2f}", f"{r['baseline_median_nats']:.2f}", f"{r['flow_below_bandai_p01']:.1%}"]
            for s, r in section["rows"].items()]  # fmt: skip
    return markdown(["poses from", "poses", "flow-bandai mean (nats/pose)", "independent joints mean", "lead of the flow", "flow median",
                     "independent median", f"flow below bandai test's 1st percentile ({section['bandai_test_p01_nats']:.1f})"], rows)  # fmt: skip


# ------------------------------------------------------------------------------------------------ 7. placement
def chordal_mean(R: torch.Tensor) -> torch.Tensor:
    """``(J, 3, 3)`` the chordal L2 mean of rotations ``R (N, J, 3, 3)`` per joint (the nearest rotation to their
    arithmetic mean)."""
    return roma.special_procrustes(R.double().mean(0))


def placement_section(takes: dict[str, list[Take]], train: torch.Tensor) -> dict:
    """Per source and pose joint, the offset of its mean rotation from bandai-v1 train's (swing and twist, deg)
    and its spread; bandai-v1 train's spread; the median shin-to-foot angle per source (module docstring)."""
    reference = chordal_mean(train)
    spread = geodesic_error(train.double(), reference.expand_as(train)).mean(0)
    rows: dict[str, dict] = {}
    for source, ts in takes.items():
        R = torch.cat([t.pose.rotations[:, 1:] for t in ts]).double()
        centre = chordal_mean(R)
        own = geodesic_error(R, centre.expand_as(R)).mean(0)
        offsets = {}
        for j, name in enumerate(POSE_JOINTS):
            swing, twist = swing_twist_deg(reference[j].T @ centre[j], bone_axis(name))
            offsets[name] = {
                "swing_deg": swing,
                "twist_deg": twist,
                "spread_deg": float(own[j]),
                "in_bandai_spreads": math.hypot(swing, twist) / float(spread[j]),
            }
        rows[source] = {"poses": int(R.shape[0]), "joints": offsets, "shin_foot_median_deg": shin_foot_angle(ts)}
    return {"rows": rows, "bandai_train_spread_deg": {n: float(spread[j]) for j, n in enumerate(POSE_JOINTS)}}


def shin_foot_angle(ts: list[Take]) -> dict[str, float | None]:
    """Median over a source's frames of the angle (deg) between each leg's shin (knee to ankle) and foot (ankle
    to toe joint), from its own joint positions; None where the rig has no toe joint."""
    out: dict[str, float | None] = {}
    names = ("pelvis", *POSE_JOINTS)
    for side in ("left", "right"):
        if any(f"{side}_foot" in t.missing for t in ts):
            out[side] = None
            continue
        p = torch.cat([t.pose.positions() for t in ts]).double()
        knee, ankle, toe = (p[:, names.index(f"{side}_{n}")] for n in ("knee", "ankle", "foot"))
        shin, foot = ankle - knee, toe - ankle
        cos = (shin * foot).sum(-1) / (shin.norm(dim=-1) * foot.norm(dim=-1)).clamp_min(1e-12)
        out[side] = math.degrees(float(torch.acos(cos.clamp(-1, 1)).median()))
    return out


def placement_table(section: dict) -> str:
    sources = list(section["rows"])
    spread = section["bandai_train_spread_deg"]
    rows = [
        [name, f"{spread[name]:.1f}", *(_offset_cell(section["rows"][s]["joints"][name]) for s in sources)]
        for name in POSE_JOINTS
    ]
    feet = [
        f"{s}: left {_deg(r['shin_foot_median_deg']['left'])}, right {_deg(r['shin_foot_median_deg']['right'])}"
        for s, r in section["rows"].items()
    ]
    table = markdown(
        ["joint", "bandai-v1 train spread deg", *(f"{s}: swing / twist deg (own spread)" for s in sources)], rows
    )
    return (
        table
        + "\n\nMedian angle between shin and foot, from each source's own joint positions: "
        + "; ".join(feet)
        + "."
    )


def _offset_cell(o: dict) -> str:
    return f"{o['swing_deg']:.0f} / {o['twist_deg']:+.0f} ({o['spread_deg']:.0f})"


def _deg(x: float | None) -> str:
    return "no toe joint" if x is None else f"{x:.0f} deg"


# ------------------------------------------------------------------------------------------------ 8. same take
#: CMU 01_01 on each rig that has it: (source, file name); the first is the reference.
SAME_TAKE = (("cmu-asf", "01_01.amc"), ("cmu-bvh", "01_01.bvh"), ("cmu-cc3", "001_01.bvh"))


def same_take_section(takes: dict[str, list[Take]]) -> dict:
    """Per rig of :data:`SAME_TAKE` but the first, the mean angle per pose joint to the first's poses (deg)."""
    found = {s: next((t for t in takes.get(s, []) if t.name == n), None) for s, n in SAME_TAKE}
    if any(t is None for t in found.values()):
        return {}
    reference, *others = found.values()
    rows = {}
    for take in others:
        n = min(take.pose.num_frames, reference.pose.num_frames)
        a, b = take.pose.rotations[:n, 1:].double(), reference.pose.rotations[:n, 1:].double()
        rows[take.source] = {
            "poses": n,
            "joints_deg": dict(zip(POSE_JOINTS, geodesic_error(a, b).mean(0).tolist(), strict=False)),
        }
    return {"reference": reference.source, "rows": rows}


def same_take_table(section: dict) -> str:
    if not section:
        return "(not measured: a source of the take is not in this cut)"
    rows = [[n, *(f"{r['joints_deg'][n]:.1f}" for r in section["rows"].values())] for n in POSE_JOINTS]
    return markdown(["joint", *(f"{s} against {section['reference']} (deg)" for s in section["rows"])], rows)


# ------------------------------------------------------------------------------------------------ poses subset
@dataclass
class Subset:
    """The evenly spaced poses of one source used by fit3d and lifting: per take, its frame indices."""

    frames: dict[int, torch.Tensor] = field(default_factory=dict)  # take index -> frames of its 10 fps pose motion

    @classmethod
    def of(cls, ts: list[Take], limit: int) -> Subset:
        lengths = torch.tensor([t.pose.num_frames for t in ts])
        starts = torch.cumsum(lengths, 0) - lengths
        pick = spaced(int(lengths.sum()), limit)
        take = torch.searchsorted(starts, pick, right=True) - 1
        return cls({int(k): pick[take == k] - starts[k] for k in take.unique()})

    def size(self) -> int:
        return sum(len(f) for f in self.frames.values())

    def describe(self, ts: list[Take]) -> dict:
        return {"poses": self.size(), "takes": {ts[k].name: f.tolist() for k, f in self.frames.items()}}


def subsets(takes: dict[str, list[Take]], limit: int) -> dict[str, Subset]:
    return {s: Subset.of(ts, limit) for s, ts in takes.items()}


# ------------------------------------------------------------------------------------------------ 4. fit3d
def world_keypoints(take: Take, frames: torch.Tensor, unit_mm: float) -> tuple[Motion, torch.Tensor]:
    """The take's pose motion at ``frames`` in the unit ``unit_mm`` (float32) and its world-frame joints ``(N, 21, 3)``."""
    m = take.pose.frames(frames).with_unit(unit_mm)
    return m, m.positions().float()


def corrupt(truth: torch.Tensor, unit_mm: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy keypoints (``NOISE_MM`` per coordinate, every joint) and the mask hiding ``HIDDEN`` of the non-root joints."""
    N, J, _ = truth.shape
    noisy = truth + torch.randn(truth.shape, generator=generator) * (NOISE_MM / unit_mm)
    hidden = torch.rand(N, J - 1, generator=generator).argsort(-1)[:, : round(HIDDEN * (J - 1))] + 1
    return noisy, torch.ones(N, J, dtype=torch.bool).scatter(1, hidden, False)


def fit_section(
    takes: dict[str, list[Take]], picks: dict[str, Subset], ik, priors: dict, steps: int, seed: int
) -> dict:
    """World-frame fitting MPJPE per source, method (no prior and each prior, IK init) and pooled."""
    unit = ik.unit_mm
    config = FitConfig(steps=steps, fit_root_rotation=True, fit_root_translation=True)
    methods = {"none": None, **priors}
    errors: dict[str, dict[str, torch.Tensor]] = {m: {} for m in methods}
    seconds = {m: 0.0 for m in methods}
    for s_index, (source, ts) in enumerate(takes.items()):
        g = torch.Generator().manual_seed(seed + s_index)
        cases = []
        for k, frames in picks[source].frames.items():
            m, truth = world_keypoints(ts[k], frames, unit)
            keypoints, mask = corrupt(truth, unit, g)
            cases.append((m.skeleton, truth, keypoints, mask, ts[k].present))
        for label, prior in methods.items():
            start, per_pose = time.perf_counter(), []
            for skeleton, truth, keypoints, mask, present in cases:
                fit = fit_keypoints_3d(
                    keypoints,
                    mask,
                    skeleton,
                    prior,
                    unit_mm=unit,
                    init=ik,
                    config=config,
                    generator=torch.Generator().manual_seed(seed),
                )
                per_pose.append(mpjpe(fit.positions * unit, truth * unit, mask=present, reduction="none"))
            errors[label][source] = torch.cat(per_pose)
            seconds[label] += time.perf_counter() - start
        print(f"fit3d {source}: done", file=sys.stderr, flush=True)

    rows = mean_rows({f"{m}_mpjpe_mm": e for m, e in errors.items()}, "poses")
    for r in rows.values():
        best = min(priors, key=lambda p: r[f"{p}_mpjpe_mm"])
        r.update(best_prior=best, best_prior_over_none=r[f"{best}_mpjpe_mm"] / r["none_mpjpe_mm"])
    return {"rows": rows, "seconds": seconds}


def fit_table(section: dict) -> str:
    methods = [k.removesuffix("_mpjpe_mm") for k in next(iter(section["rows"].values())) if k.endswith("_mpjpe_mm")]
    rows = [[s, r["poses"], *(f"{r[f'{m}_mpjpe_mm']:.1f}" for m in methods), f"{r['best_prior_over_none']:.3f} ({r['best_prior']})"]
            for s, r in section["rows"].items()]  # fmt: skip
    return markdown(
        [
            "source",
            "poses",
            *(f"{m} MPJPE mm" if m != "none" else "no prior MPJPE mm" for m in methods),
            "best prior / no prior",
        ],
        rows,
    )


# ------------------------------------------------------------------------------------------------ 5. denoise
def denoise_section(takes: dict[str, list[Take]], prior, steps: int, seed: int) -> dict:
    """Per source: MPJPE of the noisy clips and of their denoising without a prior and with ``prior``."""
    config = DenoiseConfig(steps=steps)
    joints = list(range(1, 1 + len(POSE_JOINTS)))
    methods = {"none": None, "ndf-bandai": prior}
    errors: dict[str, dict[str, torch.Tensor]] = {k: {} for k in ("noisy", *methods)}  # per frame, mm
    clips: dict[str, list[str]] = {}
    seconds = {m: 0.0 for m in methods}
    for source, ts in takes.items():
        clipped = [t for t in ts if t.clip is not None]
        clips[source] = [t.name for t in clipped]
        parts: dict[str, list[torch.Tensor]] = {k: [] for k in errors}
        for i, take in enumerate(clipped):
            noisy = add_rotation_noise(take.clip, joints, NOISE_DEG, torch.Generator().manual_seed(seed + 1000 + i))
            parts["noisy"].append(pose_error(noisy, take, joints))
            for label, p in methods.items():
                start = time.perf_counter()
                parts[label].append(pose_error(denoise_motion(noisy, p, config=config), take, joints))
                seconds[label] += time.perf_counter() - start
        for k, v in parts.items():
            errors[k][source] = torch.cat(v)
        print(f"denoise {source}: done", file=sys.stderr, flush=True)
    rows = mean_rows({f"{k}_mpjpe_mm": v for k, v in errors.items()}, "frames")
    for source, r in rows.items():
        r["clips"] = len(clips[source]) if source in clips else sum(len(clips[s]) for s in CROSSLAB if s in clips)
        for m in methods:
            r[f"{m}_removed"] = 1 - r[f"{m}_mpjpe_mm"] / r["noisy_mpjpe_mm"]
    return {"rows": rows, "clips": clips, "seconds": seconds}


def pose_error(motion: Motion, take: Take, joints: list[int]) -> torch.Tensor:
    """``(T,)`` MPJPE (mm) of ``motion``'s pose joints to the take's clean clip, over the joints the source has."""
    truth = take.clip.positions(millimetres=True)[:, joints]
    return mpjpe(motion.positions(millimetres=True)[:, joints], truth, mask=take.present[1:], reduction="none")


def denoise_table(section: dict) -> str:
    rows = [[s, r["clips"], r["frames"], f"{r['noisy_mpjpe_mm']:.1f}", f"{r['none_mpjpe_mm']:.1f} ({r['none_removed']:.0%})",
             f"{r['ndf-bandai_mpjpe_mm']:.1f} ({r['ndf-bandai_removed']:.0%})"] for s, r in section["rows"].items()]  # fmt: skip
    return markdown(
        [
            "source",
            "clips",
            "frames (30 fps)",
            "noisy MPJPE mm",
            "no prior: MPJPE mm (removed)",
            "ndf-bandai: MPJPE mm (removed)",
        ],
        rows,
    )


# ------------------------------------------------------------------------------------------------ 6. lifting
def windows(take: Take, frames: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, W, 20, 3, 3)`` local rotations and ``(N, W, 3, 3)`` root rotations of each frame's window of the
    take's 10 fps poses, clamped at its ends (float32)."""
    index = (frames[:, None] + torch.arange(width) - width // 2).clamp(0, take.pose.num_frames - 1)
    R = take.pose.rotations.float()[index]
    return R[:, :, 1:], R[:, :, 0]


def camera_views(
    skeleton, unit_mm: float, window_R: torch.Tensor, window_root: torch.Tensor, generator: torch.Generator
) -> dict:
    """One random camera per window (``LiftingConfig()``): pixels ``(B, W, J, 2)`` of the skeleton's joints, the
    camera ``(B, 3, 3)``, and the centre frame's root-relative camera-frame joints ``truth (B, J, 3)`` mm."""
    B, W = window_R.shape[:2]
    keypoints = layout_keypoints(skeleton, window_R, None)
    world = (keypoints @ window_root.transpose(-1, -2)).flatten(1, 2)
    v = random_views(world, torch.eye(3).expand(B, 3, 3), LiftingConfig(), unit_mm, generator)
    c = W // 2
    centre = (keypoints[:, c] @ window_root[:, c].transpose(-1, -2)) @ v["R_cw"].transpose(-1, -2) * unit_mm
    return {
        "pixels": v["pixels"].unflatten(1, (W, keypoints.shape[2])),
        "camera": v["camera"],
        "truth": centre - centre[:, :1],
    }


def lifting_section(takes: dict[str, list[Take]], picks: dict[str, Subset], rot, flow, samples: int, seed: int) -> dict:
    """Per source: the rotation lifter's MPJPE and MPJAE, the flow lifter's mode and best-of-N MPJPE."""
    if rot.skeleton.joint_names != flow.skeleton.joint_names or not torch.allclose(
        rot.skeleton.offsets, flow.skeleton.offsets
    ):
        raise SystemExit("lifter-rot-bandai and lifter-flow-bandai must share a skeleton (one set of views)")
    width, c = rot.config.window, rot.config.window // 2
    per_view: dict[str, dict[str, torch.Tensor]] = {
        k: {} for k in ("rot_mpjpe_mm", "rot_mpjae_deg", "flow_mode_mpjpe_mm", "flow_best_mpjpe_mm")
    }
    for s_index, (source, ts) in enumerate(takes.items()):
        parts = [(*windows(ts[k], f, width), ts[k].present.expand(len(f), -1)) for k, f in picks[source].frames.items()]
        window_R, window_root, present = (torch.cat(x) for x in zip(*parts, strict=False))
        v = camera_views(
            rot.skeleton, rot.unit_mm, window_R, window_root, torch.Generator().manual_seed(seed + s_index)
        )
        with torch.no_grad():
            out = rot(v["pixels"], v["camera"][:, None].expand(-1, width, 3, 3))
            pixels = v["pixels"][:, c]
            mode = flow.mode(pixels, v["camera"])
            g = torch.Generator().manual_seed(seed + s_index)
            hyp = torch.cat(
                [
                    flow.sample(samples, pixels[i : i + 50], v["camera"][i : i + 50], generator=g)
                    for i in range(0, len(pixels), 50)
                ],
                dim=1,
            )
        per_view["rot_mpjpe_mm"][source] = mpjpe(out["positions"][:, c], v["truth"], mask=present, reduction="none")
        per_view["rot_mpjae_deg"][source] = mpjae(
            out["rotations"][:, c], window_R[:, c], mask=present[:, 1:], reduction="none"
        )
        per_view["flow_mode_mpjpe_mm"][source] = mpjpe(mode, v["truth"], mask=present, reduction="none")
        per_view["flow_best_mpjpe_mm"][source] = best_of_n(
            hyp.transpose(0, 1), v["truth"], mask=present, reduction="none"
        )
        print(f"lifting {source}: done", file=sys.stderr, flush=True)
    return {"rows": mean_rows(per_view, "views"), "samples": samples}


def lifting_table(section: dict) -> str:
    n = section["samples"]
    rows = [[s, r["views"], f"{r['rot_mpjpe_mm']:.1f}", f"{r['rot_mpjae_deg']:.1f}", f"{r['flow_mode_mpjpe_mm']:.1f}", f"{r['flow_best_mpjpe_mm']:.1f}"]
            for s, r in section["rows"].items()]  # fmt: skip
    return markdown(["source", "views", "lifter-rot-bandai MPJPE mm", "lifter-rot-bandai MPJAE deg", "lifter-flow-bandai mode MPJPE mm",
                     f"lifter-flow-bandai best-of-{n} MPJPE mm"], rows)  # fmt: skip


# ------------------------------------------------------------------------------------------------ output
def markdown(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def model_records() -> dict:
    """Class, weights' sha256 and training record of every model used (which weights made the numbers)."""
    models = {}
    for name in (*PRIORS, "flow-ik-bandai", "lifter-rot-bandai", "lifter-flow-bandai"):
        card = zoo.info(name)
        weights = card.path.with_suffix(".safetensors")
        models[name] = {
            "class": card.model_class,
            "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
            "training": card.training,
        }
    return models


# ------------------------------------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a tiny subset (about a minute; numbers not for publication)"
    )
    parser.add_argument(
        "--shared",
        default=str(Path(os.environ.get("POSEPRIOR_SHARED", REPO.parent / "shared")) / "data"),
        help="the shared data folder",
    )
    parser.add_argument("--prepared", default=str(REPO / "prepared" / "bandai-v1"))
    parser.add_argument(
        "--out",
        help="another folder for the results file (default benchmarks/results, with --quick record.quick_dir())",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--takes", type=int, help="at most this many takes per source, evenly spaced (default all)")
    parser.add_argument("--limit", type=int, help=f"poses per source for fit3d and lifting (default {FULL['limit']})")
    parser.add_argument("--steps", type=int, help=f"fit3d Adam steps (default {FULL['steps']})")
    parser.add_argument("--samples", type=int, help=f"flow lifter hypotheses per view (default {FULL['samples']})")
    parser.add_argument(
        "--denoise-takes", type=int, help=f"denoised takes per source (default {FULL['denoise_takes']})"
    )
    parser.add_argument(
        "--denoise-seconds", type=float, help=f"length of each denoised clip (default {FULL['denoise_seconds']:g})"
    )
    parser.add_argument(
        "--denoise-steps", type=int, help=f"denoising L-BFGS evaluations (default {FULL['denoise_steps']})"
    )
    parser.add_argument(
        "--bandai-takes", type=int, help=f"bandai-v1 test takes of the reference row (default {FULL['bandai_takes']})"
    )
    parser.add_argument(
        "--train-every", type=int, help="fit the baseline on every N-th bandai-v1 train pose (default 1)"
    )
    return settle_arguments(parser, parser.parse_args(argv), FULL, QUICK)


def main(argv: list[str] | None = None) -> dict:
    """Run every section, print the tables, write the JSON; returns what was written."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - start
        return out

    shared = Path(args.shared)
    sources = source_list(shared, args.takes, args.bandai_takes)
    takes = timed("read_and_retarget", lambda: load_sources(sources, args.denoise_takes, args.denoise_seconds))
    prepared = load_prepared(args.prepared, ["train", "test"])
    joints = PoseJoints.from_skeleton(prepared.skeleton, prepared.unit)
    baseline = timed(
        "baseline_fit",
        lambda: TangentGaussianPrior.fit(prepared["train"].rotations[:: args.train_every], "joint", joints),
    )
    priors = {name: zoo.load(name).eval() for name in PRIORS}
    ik, rot, flow = (zoo.load(name).eval() for name in ("flow-ik-bandai", "lifter-rot-bandai", "lifter-flow-bandai"))
    picks = subsets(takes, args.limit)

    result = {"models": model_records()}
    result["retargeting"] = timed("retargeting", lambda: {**retargeting_section(takes),
                                  "bandai_per_take_vs_reference_rig": calibration_offsets(sources[-1], shared / "bandai-namco")})  # fmt: skip
    result["twist"] = timed("twist", lambda: twist_section(takes))
    result["log_likelihood"] = timed(
        "log_likelihood", lambda: likelihood_section(takes, priors["flow-bandai"], baseline, prepared["test"])
    )
    result["fit3d"] = timed("fit3d", lambda: fit_section(takes, picks, ik, priors, args.steps, args.seed))
    result["denoise"] = timed(
        "denoise", lambda: denoise_section(takes, priors["ndf-bandai"], args.denoise_steps, args.seed)
    )
    result["lifting"] = timed("lifting", lambda: lifting_section(takes, picks, rot, flow, args.samples, args.seed))
    result["placement"] = timed(
        "placement", lambda: placement_section(takes, prepared["train"].rotations[:: args.train_every])
    )
    result["same_take"] = timed("same_take", lambda: same_take_section(takes))
    timings["total"] = time.perf_counter() - started
    result["seconds"] = timings
    subset = subset_description(args, sources, takes, picks, len(prepared["train"]))
    save("crosslab", result, subset=subset, quick=args.quick, out=None if args.out is None else Path(args.out))
    for title, table in zip(TITLES, render(lambda setting="": {"results": result}).values(), strict=False):
        print(f"\n{title}\n\n{table}")
    return {"subset": subset, "results": result}


def subset_description(
    args: argparse.Namespace, sources: list[Source], takes: dict[str, list[Take]], picks: dict[str, Subset], train: int
) -> dict:
    """Which takes, poses and clips each section used, how they were chosen, seeds and frame rates."""
    return {
        "quick": args.quick,
        "pose_fps": POSE_FPS,
        "filled_joints": "joints a rig lacks get the identity rotation: scored so by the log-likelihood, left out of every other metric",
        "resampling": "each take resampled to 10 fps (slerp) before retargeting; rig calibrated on the whole take at its own rate",
        "sources": {
            s.name: {
                "naming": s.naming,
                "takes": [t.name for t in takes[s.name]],
                "poses": sum(t.pose.num_frames for t in takes[s.name]),
                "chosen": "all takes"
                if args.takes is None or s.name == REFERENCE
                else f"at most {args.takes}, evenly spaced in name order",
                "dropped_first_frame": s.drop_first,
            }  # fmt: skip
            for s in sources
        },
        "bandai_reference": f"{args.bandai_takes} bandai-v1 test takes evenly spaced over splits.json's test list, read from the zips; never pooled",
        "baseline": f"TangentGaussianPrior.fit(bandai-v1 train[::{args.train_every}], 'joint'): {len(range(0, train, args.train_every))} poses",
        "fit3d_and_lifting": {
            "chosen": f"--limit {args.limit} poses per source, evenly spaced over its 10 fps poses (takes in name order)",
            "seed": args.seed,
            "per_source": {s: picks[s].describe(takes[s]) for s in takes},
        },
        "fit3d": {
            "steps": args.steps,
            "noise_mm_per_coordinate": NOISE_MM,
            "hidden_fraction_of_non_root_joints": HIDDEN,
            "noise_seed": f"{args.seed} + source index",
            "ik_init": "flow-ik-bandai",
            "unit": "flow-ik-bandai's",
        },  # fmt: skip
        "denoise": {
            "fps": DENOISE_FPS,
            "takes_per_source": args.denoise_takes,
            "clip_seconds": args.denoise_seconds,
            "clip": "the middle of the take",
            "steps": args.denoise_steps,
            "noise": f"{NOISE_DEG:g} deg RMS angle per joint ({NOISE_DEG / math.sqrt(3):.2f} deg per axis), the 20 pose joints",
            "noise_seed": f"{args.seed} + 1000 + clip index within its source",
        },  # fmt: skip
        "lifting": {
            "camera": "LiftingConfig() defaults, one random camera per window",
            "camera_seed": f"{args.seed} + source index",
            "samples": args.samples,
            "window_fps": POSE_FPS,
            "skeleton": "the lifters' own (bandai-v1)",
        },  # fmt: skip
    }


TITLES = (
    "1. Retargeting (10 fps)",
    "2. Twist consistency: knee and elbow bend axes",
    "3. Log-likelihood per pose, 10 fps (ReActIdle's missing feet and wrists scored at their filled identity value)",
    "4. World-frame 3D fitting, 20 mm noise, 30% hidden, IK init flow-ik-bandai",
    f"5. Denoising, {NOISE_DEG:g} deg RMS per joint, 30 fps",
    "6. Lifting from a random camera",
    "7. Placement: each source's mean rotation per joint against bandai-v1 train's",
    "8. One take (CMU 01_01) on three rigs: mean angle per joint to the ASF's",
)


def render(results: Callable[..., dict]) -> dict[str, str]:
    """The docs' blocks from the results file (``benchmarks/report.py``)."""
    r = results()["results"]
    return {
        "retargeting": retargeting_table(r["retargeting"]),
        "twist": twist_table(r["twist"]),
        "log_likelihood": likelihood_table(r["log_likelihood"]),
        "fit3d": fit_table(r["fit3d"]),
        "denoise": denoise_table(r["denoise"]),
        "lifting": lifting_table(r["lifting"]),
        "placement": placement_table(r["placement"]),
        "same_take": same_take_table(r.get("same_take", {})),
    }


if __name__ == "__main__":
    main()
