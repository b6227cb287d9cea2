"""Checks shared by several commands' options, run by typer as the arguments are parsed so that a bad value
is reported as a usage error naming its flag (``Invalid value for '--device': ...``)."""

from __future__ import annotations

import typer

__all__ = ["check_device_option"]


def check_device_option(value: str | None) -> str | None:
    """typer callback of a ``--device`` option: the device must exist here (:func:`poseprior._device.check_device`)."""
    if value is None:
        return None
    from poseprior._device import check_device
    from poseprior.errors import ValidationError

    try:
        check_device(value)
    except ValidationError as e:
        raise typer.BadParameter(str(e)) from None
    return value
