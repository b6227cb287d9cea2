"""Every input the viewer reads, as a SceneMotion: motions, the npz files of sample / fit3d / fit2d / lift (written
here in exactly their layout), keypoints, prepared datasets; and the errors for files it cannot show."""

from __future__ import annotations

import json
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import roma
import torch

from poseprior.data.cache import TakePoses, begin_prepare, write_prepared
from poseprior.data.protocol import BANDAI_V1
from poseprior.errors import FormatError, ValidationError
from poseprior.geometry import procrustes
from poseprior.io import (
    Keypoints,
    Motion,
    read_motion,
    write_keypoints_npz,
    write_motion,
)
from poseprior.io.npz import write_motion_npz
from poseprior.io.poses import write_poses_npz
from poseprior.skeleton import Skeleton, forward_kinematics
from poseprior.skeleton.layouts import COCO17, H36M17
from poseprior.viz.viewer_load import (
    ReferenceSkeleton,
    ViewOptions,
    joint_distances,
    load_scene,
    load_scene_motion,
)

CLIP = Path(__file__).resolve().parents[2] / "src/poseprior/assets/cmu_01_01.bvh"
T = 5


@pytest.fixture(scope="module")
def clip() -> Motion:
    """Five frames (a sixth of a second apart) of the shipped CMU walk, in centimetres."""
    return read_motion(CLIP).frames(slice(0, 25, 5))


def upright(p: np.ndarray, up: str = "y") -> np.ndarray:
    """Y-up (or camera-frame ``-y``) points turned Z-up, written out independently of ``to_z_up``."""
    x, y, z = np.moveaxis(p, -1, 0)
    return np.stack([x, -z, y] if up == "y" else [x, z, -y], axis=-1)


def metres(motion: Motion) -> np.ndarray:
    return motion.positions().numpy() * motion.unit / 1000


def hypothesis_rotations(motion: Motion, seed: int = 0) -> np.ndarray:
    """``(T, 2, K - 1, 3, 3)``: the motion's own joint rotations, then perturbed ones (a fit's restarts)."""
    R = motion.rotations[:, 1:]
    g = torch.Generator().manual_seed(seed)
    turned = R @ roma.rotvec_to_rotmat(0.3 * torch.randn(*R.shape[:2], 3, generator=g, dtype=R.dtype))
    return torch.stack([R, turned], dim=1).numpy()


# ------------------------------------------------------------------------------------------------ motions
def test_bvh_in_metres_standing_on_z(clip: Motion, tmp_path: Path) -> None:
    path = tmp_path / "walk.bvh"
    write_motion(clip, path)
    m = load_scene_motion(path)
    assert m.name == "walk.bvh" and m.fps == 30.0 and m.num_frames == T
    assert m.parents == clip.skeleton.parents and m.joint_names == clip.joint_names
    assert np.allclose(m.positions, upright(metres(clip)), atol=1e-6)
    assert 1.2 < np.ptp(m.positions[0, :, 2]) < 2.0  # toes to head joint of an adult, upright
    assert m.hypotheses is None and m.joint_values is None and "up axis y" in m.note
    assert load_scene_motion(path, ViewOptions(fps=10.0)).fps == 10.0
    flat = load_scene_motion(path, ViewOptions(up="z"))
    assert np.allclose(flat.positions, metres(clip), atol=1e-6)


def test_amc_and_a_bvh_inside_a_zip(clip: Motion, tmp_path: Path) -> None:
    write_motion(clip, tmp_path / "walk.amc")  # and walk.asf
    m = load_scene_motion(tmp_path / "walk.amc", ViewOptions(fps=30.0))
    expected = read_motion(tmp_path / "walk.amc", fps=30.0)
    assert m.fps == 30.0 and np.allclose(m.positions, upright(metres(expected)), atol=1e-6)
    with zipfile.ZipFile(tmp_path / "takes.zip", "w") as z:
        z.write(CLIP, "data/walk.bvh")
    zipped = load_scene_motion(f"{tmp_path / 'takes.zip'}:data/walk.bvh")
    assert zipped.name == "walk.bvh" and zipped.num_frames == read_motion(CLIP).num_frames


def test_fit3d_npz_with_hypotheses(clip: Motion, tmp_path: Path) -> None:
    # `poseprior fit3d --hypotheses 2 -o fit.npz`: the interchange npz + objective and the ranked restarts
    hyp = hypothesis_rotations(clip)
    extra = {"objective": np.linspace(1.0, 2.0, T), "hypotheses": hyp, "hypotheses_objective": np.ones((T, 2))}
    write_motion_npz(replace(clip, metadata={"source": "poseprior fit3d"}), tmp_path / "fit.npz", extra)
    m = load_scene_motion(tmp_path / "fit.npz")
    assert np.allclose(m.positions, upright(metres(clip)), atol=1e-6)
    assert m.hypotheses.shape == (T, 2, 31, 3)
    assert np.allclose(m.hypotheses[:, 0], m.positions, atol=1e-6)  # restart 0 is the motion itself
    assert np.allclose(m.hypotheses[:, 1, 0], m.positions[:, 0])  # restarts share the motion's root
    assert not np.allclose(m.hypotheses[:, 1], m.positions, atol=1e-3)
    assert list(m.frame_values) == ["objective"] and np.allclose(m.frame_values["objective"], extra["objective"])
    assert m.joint_values is None  # hypotheses_objective is per hypothesis, not per joint


def test_fit2d_npz_in_the_camera_frame(clip: Motion, tmp_path: Path) -> None:
    # `poseprior fit2d`: millimetres, camera frame (y down), hypotheses with their own root (mm)
    mm = replace(clip.with_unit(1.0), metadata={"source": "poseprior fit2d"})
    hyp = hypothesis_rotations(mm)
    root_R = mm.rotations[:, None, 0].expand(T, 2, 3, 3).numpy()
    root_t = np.stack(
        [mm.root_translation.numpy(), mm.root_translation.numpy() + [0, 0, 500.0]], axis=1
    )  # 2nd: 0.5 m deeper
    extra = {
        "objective": np.zeros(T), "hypotheses": hyp, "hypotheses_objective": np.zeros((T, 2)), "hypotheses_root_rotation": root_R,
        "hypotheses_root_translation": root_t, "pixels": np.zeros((T, 17, 2)),
    }  # fmt: skip
    write_motion_npz(mm, tmp_path / "fit2d.npz", extra)
    m = load_scene_motion(tmp_path / "fit2d.npz")
    assert "up axis -y" in m.note
    assert np.allclose(m.positions, upright(metres(mm), "-y"), atol=1e-6)
    assert np.allclose(m.hypotheses[:, 0], m.positions, atol=1e-6)
    # camera z (depth) is the scene's y after the turn: the second root sits 0.5 m further away
    assert np.allclose(m.hypotheses[:, 1, 0] - m.positions[:, 0], [0, 0.5, 0], atol=1e-9)


def test_lift_outputs_rotation_and_flow_lifters(clip: Motion, tmp_path: Path) -> None:
    # a rotation lifter: interchange npz in mm with a 'unit' key, root-relative, camera frame
    mm = replace(clip.with_unit(1.0), metadata={"source": "poseprior lift (lifter-rot-bandai)"})
    write_motion_npz(mm, tmp_path / "rot.npz", {"unit": np.array("mm")})
    rot = load_scene_motion(tmp_path / "rot.npz")
    assert np.allclose(rot.positions, upright(metres(mm), "-y"), atol=1e-6) and rot.frame_values == {}

    # a flow lifter on the h36m17 layout: positions and hypotheses (mm), no tree in the file
    rng = np.random.default_rng(0)
    positions = rng.normal(0, 300, (T, 17, 3))
    arrays = {
        "joint_names": np.array(H36M17.joint_names, dtype=np.str_), "positions": positions,
        "hypotheses": positions[:, None] + rng.normal(0, 20, (T, 4, 17, 3)), "hypotheses_log_prob": rng.normal(size=(T, 4)),
        "fps": np.array(10.0), "unit": np.array("mm"),
    }  # fmt: skip
    np.savez_compressed(tmp_path / "flow.npz", **arrays)
    flow = load_scene_motion(tmp_path / "flow.npz")
    assert flow.parents == H36M17.parents and flow.fps == 10.0 and "up axis -y" in flow.note
    assert np.allclose(flow.positions, upright(positions / 1000, "-y"))
    assert flow.hypotheses.shape == (T, 4, 17, 3) and np.allclose(
        flow.hypotheses, upright(arrays["hypotheses"] / 1000, "-y")
    )
    assert flow.joint_values is None and flow.frame_values == {}


def test_named_joints_take_their_tree_from_a_known_skeleton(tmp_path: Path) -> None:
    sk = Skeleton(("root", "spine", "neck", "head", "arm"), (-1, 0, 1, 2, 2), torch.eye(5, 3))
    names = ("head", "root", "arm", "spine")  # no neck: head and arm hang from the spine
    np.savez(
        tmp_path / "joints.npz",
        joint_names=np.array(names),
        positions=np.zeros((2, 4, 3)),
        fps=np.array(5.0),
        unit=np.array("m"),
    )
    bare = load_scene_motion(tmp_path / "joints.npz")
    assert bare.parents == (-1, -1, -1, -1) and "unconnected" in bare.note
    known = load_scene_motion(tmp_path / "joints.npz", ViewOptions(skeletons=(ReferenceSkeleton("ref", sk, 10.0),)))
    assert known.parents == (3, -1, 3, 1) and "ref skeleton" in known.note


def test_sampled_poses_on_a_known_skeleton(clip: Motion, tmp_path: Path) -> None:
    # a skeleton whose rest pose lies along -X (like Bandai's along +X): the CMU one turned a quarter about Z
    quarter = roma.rotvec_to_rotmat(torch.tensor([0.0, 0.0, torch.pi / 2], dtype=torch.float64))
    sk = clip.skeleton.with_offsets(clip.skeleton.offsets @ quarter.T)
    R = quarter @ clip.rotations[:, 1:] @ quarter.T  # the clip's poses in the turned joint frames
    write_poses_npz(tmp_path / "poses.npz", R, sk.joint_names[1:], log_prob=torch.arange(T, dtype=torch.float64))
    with pytest.raises(FormatError, match="poses.npz.*no skeleton.*--skeleton"):
        load_scene_motion(tmp_path / "poses.npz")
    m = load_scene_motion(tmp_path / "poses.npz", ViewOptions(skeletons=(ReferenceSkeleton("cmu", sk, clip.unit),)))
    assert m.fps == 1.0 and m.parents == sk.parents and m.joint_names == sk.joint_names
    assert np.allclose(m.frame_values["log_prob"], np.arange(T)) and "cmu skeleton, stood up" in m.note
    # the clip's own poses (its root unrotated), up to one turn about the root shared by every pose ...
    unrotated = torch.cat([torch.eye(3, dtype=torch.float64).expand(T, 1, 3, 3), clip.rotations[:, 1:]], dim=1)
    own = upright(
        forward_kinematics(clip.skeleton, unrotated, torch.zeros(T, 3, dtype=torch.float64))[0].numpy()
        * clip.unit
        / 1000
    )
    got = m.positions - m.positions[:, :1]
    turn, _, _ = procrustes(torch.from_numpy(own.reshape(-1, 3)), torch.from_numpy(got.reshape(-1, 3)), scale=False)
    assert np.allclose(own @ turn.numpy().T, got, atol=1e-6)
    # ... which is small: the CMU rest pose already stands (head over feet), so the quarter turn is undone
    assert np.degrees(np.arccos((np.trace(turn.numpy()) - 1) / 2)) < 15


def test_keypoints_npz_mask_confidence_and_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    positions = rng.normal(size=(T, 17, 3))
    mask = np.ones((T, 17), bool)
    mask[1, 3] = False
    positions[1, 3] = np.nan
    confidence = rng.uniform(size=(T, 17))
    kp = Keypoints(positions, H36M17.joint_names, fps=50, unit="m", mask=mask, confidence=confidence, layout="h36m17")
    write_keypoints_npz(kp, tmp_path / "kp.npz")
    m = load_scene_motion(tmp_path / "kp.npz")
    assert m.fps == 50 and m.parents == H36M17.parents and "up axis y" in m.note
    assert np.isnan(m.positions[1, 3]).all() and np.isfinite(np.delete(m.positions[1], 3, axis=0)).all()
    assert m.value_label == "confidence" and np.allclose(m.joint_values, confidence)
    with pytest.raises(ValidationError, match="values: .*kp.npz has no array 'error'.*confidence"):
        load_scene_motion(tmp_path / "kp.npz", ViewOptions(values="error"))
    np.savez(
        tmp_path / "nofps.npz",
        positions=positions[0:1, :2] * 0,
        joint_names=np.array(["a", "b"]),
        unit=np.array(10.0),
        error=np.ones((1, 3)),
    )
    nofps = load_scene_motion(tmp_path / "nofps.npz")
    assert nofps.fps == 30.0 and "30 assumed" in nofps.note and nofps.joint_values is None
    with pytest.raises(ValidationError, match="values: .*'error' has shape \\(1, 3\\)"):
        load_scene_motion(tmp_path / "nofps.npz", ViewOptions(values="error"))


# ------------------------------------------------------------------------------------------------ datasets
@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """A prepared folder (``poseprior data prepare``'s format) on a 4-joint chain: train with one take, test
    with takes ``a.bvh`` (3 poses) and ``b.bvh`` (2 poses, its own bone lengths), in centimetres."""
    sk = Skeleton(
        ("Hips", "A", "B", "C"), (-1, 0, 1, 2), torch.tensor([[0.0, 0, 0], [0, 10, 0], [0, 10, 0], [0, 10, 0]])
    )
    g = torch.Generator().manual_seed(0)

    def take(name: str, n: int, scale: float) -> TakePoses:
        poses = {
            "rotations": roma.random_rotmat((n, 3), generator=g),
            "root_rotation": roma.random_rotmat(n, generator=g),
            "root_position": torch.randn(n, 3, generator=g) * 50,
            "frame": torch.arange(n) * 3,
        }
        return TakePoses.from_skeleton(name, f"x:{name}", poses, 3 * n, 30.0, sk.scaled(scale), {"content": name[0]})

    root = begin_prepare(tmp_path_factory.mktemp("prepared") / "tiny")
    takes = {"train": [take("t.bvh", 4, 1.0)], "test": [take("a.bvh", 3, 1.0), take("b.bvh", 2, 2.0)]}
    write_prepared(
        root, takes, dataset="test", protocol=BANDAI_V1, unit=10.0, source={"path": "x"}, started=time.perf_counter()
    )
    return root


def test_prepared_dataset_shows_one_take(prepared: Path) -> None:
    first = load_scene_motion(prepared)
    assert first.name == "tiny train: t.bvh" and first.num_frames == 4 and first.fps == 10.0
    data = torch.load(prepared / "test.pt", weights_only=True)
    rows = data["take"] == 1
    sk = Skeleton(("Hips", "A", "B", "C"), (-1, 0, 1, 2), data["take_offsets"][1])
    R = torch.cat([data["root_rotation"][rows, None], data["rotations"][rows]], dim=1).double()
    expected = forward_kinematics(sk, R, data["root_position"][rows].double())[0].numpy() / 100
    for how in (ViewOptions(split="test", take="b.bvh"), ViewOptions(split="test", take="1"), ViewOptions(take=1)):
        path = prepared / "test.pt" if how.split is None else prepared
        b = load_scene_motion(path, how)
        assert b.name == "tiny test: b.bvh" and np.allclose(b.positions, upright(expected), atol=1e-5)
        assert "take 1 of 2 in the test split (content b)" in b.note
    assert np.isclose(np.linalg.norm(b.positions[0, 1] - b.positions[0, 0]), 0.2)  # the take's own 20 cm bone
    with pytest.raises(ValidationError, match="split: 'val' is not in .*tiny; splits: train, test"):
        load_scene_motion(prepared, ViewOptions(split="val"))
    with pytest.raises(ValidationError, match="take: no take 'c.bvh' in the test split"):
        load_scene_motion(prepared, ViewOptions(split="test", take="c.bvh"))
    with pytest.raises(ValidationError, match="take: index 2 out of range"):
        load_scene_motion(prepared, ViewOptions(split="test", take=2))
    with pytest.raises(ValidationError, match="split, take: only for a prepared dataset"):
        load_scene_motion(CLIP, ViewOptions(take=0))
    beside = load_scene([prepared, CLIP], ViewOptions(split="test", take=1))  # the take is the dataset's
    assert [m.name for m in beside.motions] == ["tiny test: b.bvh", "cmu_01_01.bvh"]


# ------------------------------------------------------------------------------------------------ two files
def test_two_motions_are_coloured_by_their_distance(clip: Motion, tmp_path: Path) -> None:
    write_motion(clip, tmp_path / "clean.bvh")
    noisy = clip.positions().numpy() + np.random.default_rng(3).normal(0, 1.0, (T, 31, 3))  # 1 cm noise
    write_keypoints_npz(Keypoints(noisy, clip.joint_names, clip.fps, unit="cm"), tmp_path / "noisy.npz")
    scene = load_scene([tmp_path / "noisy.npz", tmp_path / "clean.bvh"])
    a, b = scene.motions
    assert a.parents == b.parents and "bones from clean.bvh" in a.note  # the keypoints borrow the motion's tree
    expected = np.linalg.norm(noisy - clip.positions().numpy(), axis=-1) * 10  # cm to mm
    assert a.value_label == b.value_label == "distance between the two motions (mm)"
    assert np.allclose(a.joint_values, expected, atol=1e-4) and np.allclose(b.joint_values, expected, atol=1e-4)
    same = load_scene([tmp_path / "clean.bvh", tmp_path / "clean.bvh"])
    assert np.allclose(same.motions[0].joint_values, 0.0)

    write_motion(clip.frames(slice(0, 3)), tmp_path / "short.bvh")
    uneven = load_scene([tmp_path / "clean.bvh", tmp_path / "short.bvh"])
    assert uneven.motions[0].joint_values is None and "not compared: 5 and 3 frames" in uneven.motions[0].note
    with pytest.raises(ValidationError, match="paths"):
        load_scene([])


def test_joint_distances_match_joints_by_name() -> None:
    from poseprior.viz.viewer_scene import SceneMotion

    a = SceneMotion("a", np.zeros((1, 3, 3)), (-1, 0, 1), 10, joint_names=("x", "y", "z"))
    b = SceneMotion("b", np.array([[[0.0, 0, 0.003], [0.004, 0, 0]]]), (-1, 0), 10, joint_names=("z", "w"))
    da, db = joint_distances(a, b)
    assert np.allclose(da, [[np.nan, np.nan, 3.0]], equal_nan=True) and np.allclose(db, [[3.0, np.nan]], equal_nan=True)


# ------------------------------------------------------------------------------------------------ bad input
def test_files_the_viewer_cannot_show(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="missing.bvh: no such file"):
        load_scene_motion(tmp_path / "missing.bvh")
    with pytest.raises(FormatError, match="missing.npz: no such file"):
        load_scene_motion(tmp_path / "missing.npz")
    (tmp_path / "walk.fbx").write_text("x")
    with pytest.raises(ValidationError, match="walk.fbx.*supported: .bvh, .amc, .npz"):
        load_scene_motion(tmp_path / "walk.fbx")
    np.savez(tmp_path / "loss.npz", loss=np.zeros(3))
    with pytest.raises(FormatError, match="loss.npz: npz with keys \\['loss'\\] is none of what the viewer shows"):
        load_scene_motion(tmp_path / "loss.npz")
    np.savez(tmp_path / "2d.npz", keypoints_2d=np.zeros((2, 17, 2)), layout=np.array("h36m17"), fps=np.array(10.0))
    with pytest.raises(FormatError, match="2d.npz: holds 2D keypoints"):
        load_scene_motion(tmp_path / "2d.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(FormatError, match="text.npz: not a readable npz"):
        load_scene_motion(tmp_path / "text.npz")
    np.savez(tmp_path / "pickled.npz", positions=np.array([{"a": 1}], dtype=object))
    with pytest.raises(FormatError, match="pickled.npz: holds pickled"):
        load_scene_motion(tmp_path / "pickled.npz")
    (tmp_path / "folder").mkdir()
    with pytest.raises(FormatError, match="folder: a folder, but not a prepared dataset"):
        load_scene_motion(tmp_path / "folder")
    np.savez(
        tmp_path / "nounit.npz", positions=np.zeros((2, 2, 3)), joint_names=np.array(["a", "b"]), fps=np.array(10.0)
    )
    with pytest.raises(FormatError, match="nounit.npz: 3D keypoints without a 'unit' key"):
        load_scene_motion(tmp_path / "nounit.npz")
    assert load_scene_motion(tmp_path / "nounit.npz", ViewOptions(unit="mm")).num_frames == 2
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "prepared.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(FormatError, match="prepared.json: not a poseprior prepared-dataset manifest"):
        load_scene_motion(tmp_path / "meta")
    with pytest.raises(ValidationError, match="up: expected one of y, z, -y"):
        ViewOptions(up="x")


def test_coco_keypoints_draw_every_layout_edge(tmp_path: Path) -> None:
    """COCO-17 has no tree: its parents are a spanning tree and the loop-closing edges are drawn too."""
    rng = np.random.default_rng(0)
    kp = Keypoints(rng.normal(size=(3, 17, 3)), COCO17.joint_names, fps=10, unit="mm", layout="coco17")
    write_keypoints_npz(kp, tmp_path / "coco.npz")
    scene = load_scene([tmp_path / "coco.npz"])
    drawn = {frozenset(pair) for pair in scene.bones(0).tolist()}
    assert drawn == {frozenset(edge) for edge in COCO17.edges}
