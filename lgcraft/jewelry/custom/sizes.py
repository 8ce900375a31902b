"""Ring sizes: the five systems a Longgang workshop meets, as tables of inner diameters.

Every size is an inner circumference in millimetres; the inner diameter is that over
pi, kept unrounded (the band is built to it, so it is exact to far better than
0.01 mm). Sources:

- ISO 8653:2016 "Jewellery - Ring-sizes": the size *is* the inner circumference in
  mm. Table: 40-76 in whole sizes.
- US/Canada (the numerical scale): circumference 36.5367 mm + 2.5535 mm per size
  (inner diameter 11.630 mm + 0.8128 mm, i.e. 0.032 in, per size), as in the
  JewelCraft add-on's ringsizelib (github.com/mrachinskiy/jewelcraft,
  source/lib/ringsizelib.py). Table: 0-16 in quarter sizes.
- UK/Australia letters (BS 6820:1987 as tabulated by JewelCraft): A = 37.5 mm
  circumference, + 1.25 mm per letter, + 0.625 mm for a half size. Table: A to Z 1/2.
- Japan (JIS, non-linear) and Hong Kong: JewelCraft's maps from each size to the US
  size with the same circumference. Tables: JP 1-27, HK 5-30.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from fractions import Fraction

from lgcraft.errors import InputError

SYSTEMS = ("us", "iso", "uk", "jp", "hk")

US_BASE_CIRCUMFERENCE_MM = 36.5367
US_STEP_CIRCUMFERENCE_MM = 2.5535
UK_BASE_CIRCUMFERENCE_MM = 37.5
UK_STEP_CIRCUMFERENCE_MM = 1.25

JP_TO_US = {
    1: 1, 2: 2, 3: 2.5, 4: 3, 5: 3.375, 6: 3.625, 7: 4, 8: 4.5, 9: 5, 10: 5.375,
    11: 5.875, 12: 6, 13: 6.5, 14: 7, 15: 7.5, 16: 8, 17: 8.5, 18: 9, 19: 9.5, 20: 10,
    21: 10.25, 22: 10.5, 23: 11, 24: 11.5, 25: 12, 26: 12.5, 27: 13,
}
HK_TO_US = {
    5: 2.75, 6: 3, 7: 3.5, 8: 3.75, 9: 4.25, 10: 4.75, 11: 5.25, 12: 5.5, 13: 6, 14: 6.5,
    15: 7, 16: 7.5, 17: 7.75, 18: 8.25, 19: 8.75, 20: 9, 21: 9.5, 22: 10, 23: 10.25,
    24: 10.75, 25: 11.25, 26: 11.5, 27: 12, 28: 12.5, 29: 12.75, 30: 13.25,
}


def _us_circumference(size: float) -> float:
    return US_BASE_CIRCUMFERENCE_MM + US_STEP_CIRCUMFERENCE_MM * size


def _label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _uk_label(index: int, half: bool) -> str:
    return string.ascii_uppercase[index] + (" 1/2" if half else "")


def _tables() -> dict[str, list[tuple[str, float]]]:
    """system -> [(size label, inner circumference mm)], ascending."""
    us = [(_label(q / 4), _us_circumference(q / 4)) for q in range(0, 16 * 4 + 1)]
    iso = [(str(s), float(s)) for s in range(40, 77)]
    uk = [(_uk_label(i, half), UK_BASE_CIRCUMFERENCE_MM + UK_STEP_CIRCUMFERENCE_MM * (i + 0.5 * half))
          for i in range(26) for half in (False, True)]
    jp = [(str(k), _us_circumference(v)) for k, v in JP_TO_US.items()]
    hk = [(str(k), _us_circumference(v)) for k, v in HK_TO_US.items()]
    return {"us": us, "iso": iso, "uk": uk, "jp": jp, "hk": hk}


TABLES = _tables()


@dataclass(frozen=True)
class RingSize:
    """One size of one system and the inner diameter it stands for.

    >>> parse_size("7", "us").inner_diameter_mm
    17.3196...
    """

    system: str
    label: str
    inner_circumference_mm: float

    @property
    def inner_diameter_mm(self) -> float:
        return self.inner_circumference_mm / math.pi


def _normalise_label(text: str, system: str) -> str:
    value = text.strip().upper().replace("½", " 1/2").replace("-", " ")
    value = re.sub(r"\s+", " ", value)
    if system == "uk":
        m = re.fullmatch(r"([A-Z])\s*(?:(1/2|\.5|HALF))?", value)
        if not m:
            return value
        return m.group(1) + (" 1/2" if m.group(2) else "")
    # numbers: 7, 7.25, 7 1/4, 7¼
    value = value.replace("¼", " 1/4").replace("¾", " 3/4").strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:\s+(\d+)/(\d+))?", value)
    if not m:
        return value
    number = Fraction(m.group(1))
    if m.group(2):
        if int(m.group(3)) == 0:
            return value
        number += Fraction(int(m.group(2)), int(m.group(3)))
    return _label(float(number))


def parse_size(text: str | float, system: str) -> RingSize:
    """The `RingSize` for ``text`` in ``system`` (us, iso, uk, jp, hk), or InputError.

    >>> parse_size("N 1/2", "uk").label
    'N 1/2'
    """
    system = str(system).strip().lower()
    if system not in TABLES:
        raise InputError(f"unknown size system {system!r}", hint="use " + ", ".join(SYSTEMS))
    label = _normalise_label(str(text), system)
    for name, circumference in TABLES[system]:
        if name == label:
            return RingSize(system, name, circumference)
    table = TABLES[system]
    raise InputError(f"ring size {str(text)!r} is not in the {system.upper()} table",
                     hint=f"{system.upper()} sizes run {table[0][0]} to {table[-1][0]}"
                          + (" in quarter sizes" if system == "us" else "")
                          + (" with half sizes (e.g. 'N 1/2')" if system == "uk" else ""))


def sizes_for_diameter(inner_diameter_mm: float) -> dict[str, str | None]:
    """The nearest size of every system for an inner diameter (None outside a table by
    more than half a step).

    >>> sizes_for_diameter(17.33)["iso"]
    '54'
    """
    circumference = inner_diameter_mm * math.pi
    found: dict[str, str | None] = {}
    for system, table in TABLES.items():
        values = [c for _, c in table]
        i = min(range(len(values)), key=lambda k: abs(values[k] - circumference))
        found[system] = table[i][0]
        # beyond either end of the table by more than half its end step: no size
        if circumference < values[0] - (values[1] - values[0]) / 2 or \
                circumference > values[-1] + (values[-1] - values[-2]) / 2:
            found[system] = None
    return found
