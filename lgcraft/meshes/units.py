"""Units: the scales a model can be in, and telling which one from a known real size.

>>> pick_unit(1.735, "auto", 11.0, 27.0, 17.5, "inner diameter", "ring.stl")
('cm', 10.0)
"""

from __future__ import annotations

import math

from lgcraft.meshes.errors import UnitError

UNIT_SCALES_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4}


def pick_unit(size: float, units: str, lo: float, hi: float, typical: float, what: str,
              name: str, prefer_mm: bool = False) -> tuple[str, float]:
    """(unit, mm per unit) for a feature ``size`` units big whose real size lies between
    ``lo`` and ``hi`` mm (``typical`` breaks ties); ``units`` other than auto wins."""
    if units != "auto":
        if units not in UNIT_SCALES_MM:
            raise UnitError(f"unknown unit {units!r}", hint="use auto, mm, cm, m or in")
        return units, UNIT_SCALES_MM[units]
    choices = [(u, s) for u, s in UNIT_SCALES_MM.items() if lo <= size * s <= hi]
    if not choices:
        raise UnitError(f"{name}: cannot tell the unit: the {what} is {size:.4g} units, no "
                        "plausible size in mm, cm, m or in", hint="pass --units")
    if prefer_mm and any(u == "mm" for u, _ in choices):
        return "mm", 1.0
    return min(choices, key=lambda c: abs(math.log(size * c[1] / typical)))
