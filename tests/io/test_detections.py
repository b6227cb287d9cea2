"""OpenPose and MediaPipe JSON readers: keypoint order, values, masks, confidence, errors, dispatch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poseprior.errors import FormatError, ValidationError
from poseprior.io import read_keypoints_2d, read_mediapipe_json, read_openpose_json
from poseprior.io.keypoints import Keypoints, write_keypoints_npz
from poseprior.skeleton.layouts import COCO17

rng = np.random.default_rng(0)

# Written out here from OpenPose's poseParameters.cpp and MediaPipe's PoseLandmark, independently of the module.
BODY_25 = (
    "Nose Neck RShoulder RElbow RWrist LShoulder LElbow LWrist MidHip RHip RKnee RAnkle LHip LKnee LAnkle REye LEye "
    "REar LEar LBigToe LSmallToe LHeel RBigToe RSmallToe RHeel"
).split()
COCO_18 = "Nose Neck RShoulder RElbow RWrist LShoulder LElbow LWrist RHip RKnee RAnkle LHip LKnee LAnkle REye LEye REar LEar".split()
# COCO-17 keypoint -> OpenPose name, in COCO-17 order.
COCO17_TO_OPENPOSE = "Nose LEye REye LEar REar LShoulder RShoulder LElbow RElbow LWrist RWrist LHip RHip LKnee RKnee LAnkle RAnkle".split()
# COCO-17 keypoint -> MediaPipe Pose landmark index.
COCO17_TO_MEDIAPIPE = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def openpose_file(path, people):
    """Write one OpenPose frame; ``people`` is a list of (K, 3) arrays (or raw lists)."""
    entries = [{"person_id": [-1], "pose_keypoints_2d": np.asarray(p).ravel().tolist() if not isinstance(p, list) else p,
                "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": []} for p in people]  # fmt: skip
    path.write_text(json.dumps({"version": 1.3, "people": entries}))
    return path


def coded(names):
    """(K, 3) values whose x, y, c encode the keypoint index k: (100 + k, 200 + k, 0.5 + k / 100)."""
    k = np.arange(len(names), dtype=float)
    return np.stack([100 + k, 200 + k, 0.5 + k / 100], -1)


@pytest.mark.parametrize("names, model", [(BODY_25, "BODY_25"), (COCO_18, "COCO")])
def test_openpose_single_file_order_values_and_mask(tmp_path, names, model):
    values = coded(names)
    values[names.index("LEye")] = 0  # OpenPose's "not detected"
    kp = read_openpose_json(openpose_file(tmp_path / "f_keypoints.json", [values]), fps=25)
    assert kp.layout == "coco17" and kp.joint_names == COCO17.joint_names and kp.positions.shape == (1, 17, 2)
    assert kp.fps == 25 and kp.metadata["model"] == model and kp.unit is None
    src = np.array([names.index(n) for n in COCO17_TO_OPENPOSE])
    eye = COCO17.index("left_eye")
    keep = np.arange(17) != eye
    assert np.array_equal(kp.positions[0, keep], np.stack([100 + src, 200 + src], -1)[keep])
    assert np.allclose(kp.confidence[0, keep], 0.5 + src[keep] / 100) and kp.confidence[0, eye] == 0
    assert kp.mask[0].tolist() == keep.tolist() and np.isnan(kp.positions[0, eye]).all()
    assert kp.positions[0, COCO17.index("right_ankle")].tolist() == [
        100 + names.index("RAnkle"),
        200 + names.index("RAnkle"),
    ]


def test_openpose_directory_sorted_by_name_with_empty_frame_and_person(tmp_path):
    frames = [coded(BODY_25) + t for t in range(4)]
    # Written out of order; a non-keypoint JSON beside them is ignored.
    openpose_file(tmp_path / "clip_000000000002_keypoints.json", [])
    openpose_file(tmp_path / "clip_000000000000_keypoints.json", [frames[0], frames[0] + 50])
    openpose_file(tmp_path / "clip_000000000003_keypoints.json", [frames[3]])
    openpose_file(tmp_path / "clip_000000000001_keypoints.json", [frames[1], frames[1] + 50])
    (tmp_path / "settings.json").write_text("{}")
    kp = read_openpose_json(tmp_path)
    nose = COCO17.index("nose")
    assert kp.num_frames == 4 and kp.fps == 30
    assert kp.positions[[0, 1, 3], nose, 0].tolist() == [100, 101, 103]
    assert not kp.mask[2].any() and np.isnan(kp.positions[2]).all() and (kp.confidence[2] == 0).all()
    assert kp.mask[[0, 1, 3]].all()
    second = read_openpose_json(tmp_path, person=1)
    assert second.positions[[0, 1], nose, 0].tolist() == [150, 151] and second.mask.sum(1).tolist() == [17, 17, 0, 0]
    with pytest.raises(ValidationError, match="person"):
        read_openpose_json(tmp_path, person=-1)


def test_openpose_round_trip_from_coco_pixels(tmp_path):
    T = 6
    coco = rng.uniform(0, 1920, size=(T, 17, 2))
    conf = rng.uniform(0.05, 1.0, size=(T, 17))
    camera = np.array([[1000.0, 0, 960], [0, 1000, 540], [0, 0, 1]])
    for t in range(T):
        body25 = np.zeros((25, 3))  # non-COCO keypoints (Neck, MidHip, feet) stay 0, 0, 0
        for j, name in enumerate(COCO17_TO_OPENPOSE):
            body25[BODY_25.index(name)] = [*coco[t, j], conf[t, j]]
        openpose_file(tmp_path / f"v_{t:012d}_keypoints.json", [body25])
    kp = read_openpose_json(tmp_path, fps=50, camera=camera)
    assert np.allclose(kp.positions, coco, rtol=0, atol=1e-9) and np.allclose(kp.confidence, conf) and kp.mask.all()
    assert np.array_equal(kp.camera, camera) and kp.fps == 50


def test_openpose_errors(tmp_path):
    bad_json = tmp_path / "a_keypoints.json"
    bad_json.write_text('{"version": 1.3,\n "people": [}')
    with pytest.raises(FormatError, match="malformed JSON") as e:
        read_openpose_json(bad_json)
    assert e.value.line == 2 and e.value.path == str(bad_json)

    with pytest.raises(FormatError, match=r"has 60 values; supported: 75 \(BODY_25.*54 \(COCO"):
        read_openpose_json(openpose_file(tmp_path / "b_keypoints.json", [np.ones((20, 3))]))

    values = coded(BODY_25).ravel().tolist()
    values[3 * BODY_25.index("RKnee") + 1] = "12.5"
    with pytest.raises(FormatError, match=r"keypoint 10 \(RKnee\): not a finite number \('12.5'\)"):
        read_openpose_json(openpose_file(tmp_path / "c_keypoints.json", [values]))
    values[3 * BODY_25.index("RKnee") + 1] = None
    with pytest.raises(FormatError, match="RKnee"):
        read_openpose_json(openpose_file(tmp_path / "c_keypoints.json", [values]))

    (tmp_path / "d_keypoints.json").write_text('{"version": 1.3, "bodies": []}')
    with pytest.raises(FormatError, match="'people' list"):
        read_openpose_json(tmp_path / "d_keypoints.json")

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    openpose_file(mixed / "m_000_keypoints.json", [coded(BODY_25)])
    openpose_file(mixed / "m_001_keypoints.json", [])
    openpose_file(mixed / "m_002_keypoints.json", [coded(COCO_18)])
    with pytest.raises(FormatError, match="m_002_keypoints.json: OpenPose model COCO here, but BODY_25 in m_000"):
        read_openpose_json(mixed)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FormatError, match="no OpenPose"):
        read_openpose_json(empty)


def landmarks(seed):
    """33 MediaPipe landmarks with x = (i + seed) / 100, y = (i + seed) / 50, visibility = i / 40."""
    return [{"x": (i + seed) / 100, "y": (i + seed) / 50, "z": -0.1, "visibility": i / 40} for i in range(33)]


def test_mediapipe_list_form(tmp_path):
    path = tmp_path / "mp.json"
    path.write_text(json.dumps([landmarks(0), None, [], landmarks(3)]))
    kp = read_mediapipe_json(path, fps=24, image_size=(640, 480))
    src = np.array(COCO17_TO_MEDIAPIPE)
    assert kp.layout == "coco17" and kp.num_frames == 4 and kp.fps == 24
    for t, seed in ((0, 0), (3, 3)):
        assert np.allclose(kp.positions[t], np.stack([(src + seed) / 100 * 640, (src + seed) / 50 * 480], -1))
        assert np.allclose(kp.confidence[t], src / 40)
    # Low visibility is kept (only the confidence says so): masking only for frames without a detection.
    assert kp.mask.tolist() == [[True] * 17, [False] * 17, [False] * 17, [True] * 17] and kp.confidence[0, 0] == 0
    assert np.isnan(kp.positions[1:3]).all()
    strict = read_mediapipe_json(path, fps=24, image_size=(640, 480), min_confidence=0.5)
    assert (
        strict.mask[0].tolist() == (src / 40 >= 0.5).tolist() and np.isnan(strict.positions[0, ~strict.mask[0]]).all()
    )


def test_mediapipe_object_form_and_dispatch(tmp_path):
    path = tmp_path / "mp.json"
    path.write_text(json.dumps({"fps": 60, "image_width": 1920, "image_height": 1080, "frames": [landmarks(1)]}))
    kp = read_keypoints_2d(path, fps=10, image_size=(1, 1))  # the file's values win
    assert kp.fps == 60 and kp.metadata["format"] == "mediapipe-json"
    assert np.allclose(kp.positions[0, COCO17.index("left_hip")], [24 / 100 * 1920, 24 / 50 * 1080])

    op = openpose_file(tmp_path / "x_keypoints.json", [coded(COCO_18)])
    assert read_keypoints_2d(op, fps=5).metadata["model"] == "COCO"
    assert read_keypoints_2d(tmp_path).metadata["format"] == "openpose-json"

    k2 = Keypoints(rng.normal(size=(3, 17, 2)), COCO17.joint_names, fps=30, layout="coco17")
    write_keypoints_npz(k2, tmp_path / "k.npz")
    assert np.array_equal(read_keypoints_2d(tmp_path / "k.npz").positions, k2.positions)
    write_keypoints_npz(Keypoints(np.zeros((3, 17, 3)), COCO17.joint_names, fps=30, unit="m"), tmp_path / "k3.npz")
    with pytest.raises(FormatError, match="3D keypoints"):
        read_keypoints_2d(tmp_path / "k3.npz")
    (tmp_path / "k.csv").write_text("1,2")
    with pytest.raises(FormatError, match="unknown 2D keypoint format '.csv'"):
        read_keypoints_2d(tmp_path / "k.csv")


def test_mediapipe_errors(tmp_path):
    path = tmp_path / "mp.json"
    path.write_text(json.dumps([landmarks(0)]))
    with pytest.raises(FormatError, match=r"mp.json: .*no 'image_width'/'image_height'; pass image_size=\(W, H\)"):
        read_mediapipe_json(path, fps=30)
    with pytest.raises(FormatError, match="no frame rate"):
        read_mediapipe_json(path, image_size=(640, 480))
    with pytest.raises(FormatError, match="image_size"):
        read_mediapipe_json(path, fps=30, image_size=(640, 0))

    path.write_text(json.dumps([landmarks(0), landmarks(0)[:17]]))
    with pytest.raises(FormatError, match="frame 1: expected null, \\[\\] or a list of 33 .* got 17 landmarks"):
        read_mediapipe_json(path, fps=30, image_size=(640, 480))
    frame = landmarks(0)
    del frame[25]["visibility"]
    path.write_text(json.dumps([frame]))
    with pytest.raises(FormatError, match=r"frame 0, landmark 25 \(left_knee\): 'visibility' missing"):
        read_mediapipe_json(path, fps=30, image_size=(640, 480))
    frame[25]["visibility"], frame[2]["x"] = 0.9, "left"
    path.write_text(json.dumps([frame]))
    with pytest.raises(FormatError, match=r"landmark 2 \(left_eye\): 'x' missing or not a finite number \('left'\)"):
        read_mediapipe_json(path, fps=30, image_size=(640, 480))
    path.write_text(json.dumps({"fps": 30, "image_width": 640, "image_height": 480, "frames": {}}))
    with pytest.raises(FormatError, match="'frames' list"):
        read_mediapipe_json(path)
    path.write_text('[[{"x": 1,]]')
    with pytest.raises(FormatError, match="malformed JSON"):
        read_keypoints_2d(path)
