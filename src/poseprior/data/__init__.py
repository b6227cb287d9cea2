"""Datasets: the bandai-v1 protocol and AMASS preparation, prepared caches and torch Datasets."""

from poseprior.data.dataset import (
    PoseDataset,
    PreparedDataset,
    PreparedSplit,
    load_prepared,
)
from poseprior.data.protocol import BANDAI_V1, PoseProtocol, extract_poses

__all__ = [
    "PoseDataset",
    "PreparedDataset",
    "PreparedSplit",
    "load_prepared",
    "BANDAI_V1",
    "PoseProtocol",
    "extract_poses",
]
