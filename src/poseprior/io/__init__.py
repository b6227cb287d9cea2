"""Motion readers and writers: BVH, ASF/AMC, AMASS npz, Human3.6M-style arrays, the interchange npz."""

from poseprior.io.motion import Motion
from poseprior.io.units import UNITS_MM, unit_to_mm

__all__ = ["Motion", "UNITS_MM", "unit_to_mm"]
