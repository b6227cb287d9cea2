"""Lifting long sequences in blocks: the same result as one pass, in bounded memory."""

from __future__ import annotations

import pytest
import torch

import poseprior.zoo as zoo
from poseprior.errors import ValidationError
from poseprior.geometry import default_camera
from poseprior.models.lifter import Lifter
from poseprior.tasks.lift import lift_sequence

# COCO-17 keypoints of a person about 250 px tall in a 640 x 480 image.
BODY = torch.tensor([[320, 100], [325, 95], [315, 95], [330, 97], [310, 97], [340, 130], [300, 130], [350, 170], [290, 170],
                     [355, 210], [285, 210], [330, 210], [310, 210], [332, 280], [308, 280], [334, 350], [306, 350]], dtype=torch.float32)  # fmt: skip


def sequence(T: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    pixels = BODY + 3 * torch.randn(T, 17, 2, generator=g)
    return pixels, default_camera((640, 480)), torch.ones(T, 17)


@pytest.mark.parametrize("T", [9, 37, 64])
def test_rotation_lifter_blocks_equal_one_pass(T):
    lifter = zoo.load("lifter-rot-coco17").eval()
    pixels, camera, confidence = sequence(T)
    with torch.no_grad():
        whole = lifter(pixels, camera, confidence)
        blocks = lift_sequence(lifter, pixels, camera, confidence, block=10)  # last blocks shorter than the window
    for key, value in whole.items():  # float32 sums in another order: 1e-5 of a rotation, 1e-3 mm
        tol = 1e-3 if key == "positions" else 1e-5
        torch.testing.assert_close(getattr(blocks, key), value, atol=tol, rtol=0, msg=key)
    assert blocks.hypotheses is None


def test_rotation_lifter_blocks_with_a_camera_per_frame():
    lifter = zoo.load("lifter-rot-coco17").eval()
    pixels, camera, confidence = sequence(30)
    cameras = camera.expand(30, 3, 3).clone()
    cameras[15:, 0, 0] *= 1.5  # a zoom halfway
    with torch.no_grad():
        whole, blocks = (
            lifter(pixels, cameras, confidence),
            lift_sequence(lifter, pixels, cameras, confidence, block=7),
        )
    torch.testing.assert_close(blocks.positions, whole["positions"], atol=1e-3, rtol=0)


def test_flow_lifter_blocks_keep_the_mode_and_shapes():
    lifter = zoo.load("lifter-flow-coco17").eval()
    pixels, camera, confidence = sequence(23)
    torch.manual_seed(0)
    with torch.no_grad():
        result = lift_sequence(lifter, pixels, camera, confidence, hypotheses=4, block=5)
        whole_mode = lifter.mode(pixels, camera, confidence)
    torch.testing.assert_close(result.positions, whole_mode, atol=1e-3, rtol=0)  # mm
    samples, log_prob = result.hypotheses, result.hypotheses_log_prob
    assert samples.shape == (23, 4, *whole_mode.shape[1:]) and log_prob.shape == (23, 4)
    assert torch.isfinite(samples).all() and torch.isfinite(log_prob).all()
    assert float(samples.std(1).mean()) > 0  # the hypotheses differ
    assert result.rotations is None


def test_both_shipped_lifters_are_lifters_and_other_models_are_refused():
    rot, flow = zoo.load("lifter-rot-coco17"), zoo.load("lifter-flow-coco17")
    assert isinstance(rot, Lifter) and isinstance(flow, Lifter)
    assert (rot.gives_rotations, flow.gives_rotations) == (True, False)
    assert rot.context_frames == rot.config.window // 2 and flow.context_frames == 0
    pixels, camera, confidence = sequence(12)
    with pytest.raises(ValidationError, match="lifter: expected a Lifter"):
        lift_sequence(zoo.load("flow-bandai"), pixels, camera, confidence)
