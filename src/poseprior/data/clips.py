"""The two motion clips shipped in the package (``poseprior/assets``; sources and credits in the README
there): a CMU take and a Bandai Namco test take, used by the demo, the docs and the tests.

Example:
    >>> sample_clip().name
    'cmu_01_01.bvh'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from poseprior.io import Motion

__all__ = ["SAMPLE_CLIP", "BANDAI_CLIP", "sample_clip", "bandai_clip_path", "bandai_clip"]

#: File name of the CMU sample clip (subject 1, take 1; Y-up, centimetres).
SAMPLE_CLIP = "cmu_01_01.bvh"
#: File name of the Bandai Namco sample clip (a bandai-v1 test take at 10 fps).
BANDAI_CLIP = "bandai_wave_both_hands_exhausted_030.bvh"


def _asset(name: str) -> Path:
    return Path(str(resources.files("poseprior") / "assets" / name))


def sample_clip() -> Path:
    """Path of the CMU sample BVH clip."""
    return _asset(SAMPLE_CLIP)


def bandai_clip_path() -> Path:
    """Path of the Bandai Namco sample BVH clip."""
    return _asset(BANDAI_CLIP)


def bandai_clip() -> Motion:
    """The Bandai Namco clip retargeted onto the canonical pose joints the shipped models work on (10 fps)."""
    from poseprior.io.bvh import read_bvh
    from poseprior.retarget import to_pose

    return to_pose(read_bvh(bandai_clip_path(), unit="cm"))[0]
