"""Length units. A :class:`~poseprior.io.Motion` stores lengths in its source file's unit and records how
many millimetres one unit is; every metric reports millimetres."""

from __future__ import annotations

from poseprior.errors import ValidationError

__all__ = ["UNITS_MM", "unit_to_mm", "unit_name", "parse_unit"]

#: Millimetres per unit for the units that motion formats use. ``asf`` is the CMU ASF/AMC length unit
#: (``:units length 0.45``: one unit is 1/0.45 inch).
UNITS_MM: dict[str, float] = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4, "asf": 25.4 / 0.45}


def unit_to_mm(unit: str | float) -> float:
    """Millimetres per unit for a unit name in :data:`UNITS_MM` or a positive number (already mm per unit)."""
    if isinstance(unit, str):
        if unit not in UNITS_MM:
            raise ValidationError(
                f"unit: unknown length unit {unit!r}; use one of {sorted(UNITS_MM)} or millimetres per unit"
            )
        return UNITS_MM[unit]
    value = float(unit)
    if not value > 0:
        raise ValidationError(f"unit: millimetres per unit must be positive, got {unit!r}")
    return value


def unit_name(mm_per_unit: float) -> str:
    """The name of a unit given in millimetres, or ``'<x> mm'`` when it has none."""
    for name, mm in UNITS_MM.items():
        if abs(mm - mm_per_unit) < 1e-9 * mm:
            return name
    return f"{mm_per_unit:g} mm"


def parse_unit(text: str | None) -> str | float | None:
    """A unit as a user types it (a ``--unit`` value): a unit name (``cm``, ``asf``, ...), a number of
    millimetres per unit, or None.

    Example:
        >>> parse_unit("cm"), parse_unit("25.4"), parse_unit(None)
        ('cm', 25.4, None)
    """
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text
