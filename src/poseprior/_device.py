"""Checking a device name before anything is put on it: one clear error instead of torch's assertion."""

from __future__ import annotations

import torch

from poseprior.errors import ValidationError

__all__ = ["check_device"]


def check_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a :class:`torch.device` (None: the CPU), if this machine has it.

    Raises:
        ValidationError: not a device name torch knows, or a CUDA/MPS device this build or machine lacks.

    Example:
        >>> check_device(None), check_device("cpu")
        (device(type='cpu'), device(type='cpu'))
    """
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValidationError(f"device {str(device)!r}: not a device name; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValidationError(f"device {str(device)!r}: this machine or torch build has no CUDA; use cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValidationError(f"device {str(device)!r}: there are {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValidationError(f"device {str(device)!r}: MPS is not available here; use cpu")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ValidationError(f"device {str(device)!r}: poseprior runs on cpu, cuda or mps")
    return dev
