"""Stones: the drafts vocabulary's stones and cuts with a size in mm or carats.

Carat weight follows the JewelCraft add-on's estimate (gemlib.ct_calc, github.com/
mrachinskiy/jewelcraft): the stone's volume as a cone (round and fancy shapes) or a
pyramid (square and rectangular step cuts), times the cut's volume correction, times
the stone's density; 1 ct = 0.2 g. Depths are the usual proportions for each cut
(GIA's excellent-cut round: total depth 61 %). Densities (g/cm3) from JewelCraft, with
lab diamond as diamond, moissanite 3.21 and jadeite 3.33 (GIA gem reference).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from lgcraft.errors import InputError
from lgcraft.jewelry.vocab import check_term

STONE_DENSITY = {
    "diamond": 3.53, "lab-diamond": 3.53, "sapphire": 4.1, "pink-sapphire": 4.1, "ruby": 4.1,
    "emerald": 2.76, "morganite": 2.76, "aquamarine": 2.76, "tanzanite": 3.38,
    "amethyst": 2.65, "citrine": 2.65, "topaz": 3.57, "garnet": 4.3, "peridot": 3.34,
    "tourmaline": 3.22, "moissanite": 3.21, "jade": 3.33,
}


@dataclass(frozen=True)
class CutShape:
    """A cut's girdle outline (length/width ratio, outline kind) and proportions."""

    outline: str          # round, oval, square, cushion, octagon (cut corners), marquise, pear
    ratio: float          # length / width
    depth: float          # total depth / width
    volume: str           # cone or pyramid (JewelCraft's volume model)
    correction: float     # JewelCraft's volume correction


CUTS = {
    "round-brilliant": CutShape("round", 1.0, 0.61, "cone", 1.3056),
    "round": CutShape("round", 1.0, 0.61, "cone", 1.3056),
    "old-european": CutShape("round", 1.0, 0.61, "cone", 1.3056),
    "oval": CutShape("oval", 1.4, 0.60, "cone", 1.34455),
    "princess": CutShape("square", 1.0, 0.70, "pyramid", 1.43301),
    "cushion": CutShape("cushion", 1.05, 0.65, "pyramid", 1.2852),
    "asscher": CutShape("octagon", 1.0, 0.65, "pyramid", 1.379),
    "radiant": CutShape("octagon", 1.2, 0.65, "pyramid", 1.3494),
    "emerald": CutShape("octagon", 1.45, 0.65, "pyramid", 1.025 * 1.5),  # prism x/2 -> pyramid x/3
    "marquise": CutShape("marquise", 2.0, 0.60, "cone", 1.20412),
    "pear": CutShape("pear", 1.6, 0.60, "cone", 1.24936),
}


@dataclass(frozen=True)
class Stone:
    """A stone of known kind, cut and girdle size (mm)."""

    kind: str
    cut: str
    length_mm: float   # along the finger (Z) for an elongated cut
    width_mm: float    # across the finger (X)
    depth_mm: float

    @property
    def shape(self) -> CutShape:
        return CUTS[self.cut]

    @property
    def carat(self) -> float:
        density_g_mm3 = STONE_DENSITY[self.kind] / 1000.0
        if self.shape.volume == "cone":
            volume = math.pi * (self.length_mm / 2) * (self.width_mm / 2) * self.depth_mm / 3
        else:
            volume = self.length_mm * self.width_mm * self.depth_mm / 3
        return volume * self.shape.correction * density_g_mm3 / 0.2

    @property
    def size_label(self) -> str:
        if self.shape.ratio == 1.0:
            return f"{self.width_mm:.2f} mm"
        return f"{self.length_mm:.2f} x {self.width_mm:.2f} mm"


def _stone_kind(kind: str, where: str) -> str:
    term = check_term("stone", kind, where=where)
    if term in ("pearl", "akoya-pearl"):
        raise InputError(f"{where + ': ' if where else ''}pearls are set on a cup and peg, "
                         "not in a prong or bezel head", hint="choose a faceted stone")
    if term not in STONE_DENSITY:
        raise InputError(f"{where + ': ' if where else ''}stone {kind!r} has no density here",
                         hint="known: " + ", ".join(sorted(STONE_DENSITY)))
    return term


def _cut(cut: str, where: str) -> str:
    term = check_term("cut", cut, where=where)
    if term not in CUTS:
        raise InputError(f"{where + ': ' if where else ''}cut {cut!r} is not built by custom pieces yet",
                         hint="cuts: " + ", ".join(c for c in CUTS if c != "round"))
    return term


def make_stone(kind: str, cut: str, size: str | float, *, where: str = "") -> Stone:
    """A stone from its kind, cut and size: ``6.5`` or ``6.5mm`` (width), ``7x5`` (length x
    width, mm) or ``1ct`` (carats, shape from the cut's usual proportions).

    >>> round(make_stone("diamond", "round-brilliant", "6.5mm").carat, 2)
    1.01
    """
    kind, cut = _stone_kind(kind, where), _cut(cut, where)
    shape = CUTS[cut]
    text = str(size).strip().lower().replace(" ", "")
    place = f"{where}: " if where else ""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ct|mm)?", text) or re.fullmatch(
        r"(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)(mm)?", text)
    if not m:
        raise InputError(f"{place}stone size {size!r} not understood",
                         hint="give mm (6.5 or 6.5mm, or 7x5 for length x width) or carats (1ct)")
    if m.re.pattern.startswith(r"(\d+(?:\.\d+)?)x"):
        length, width = float(m.group(1)), float(m.group(2))
    elif m.group(2) == "ct":
        carat = float(m.group(1))
        if not 0.01 <= carat <= 20:
            raise InputError(f"{place}stone of {carat} ct is outside 0.01-20 ct")
        unit = make_stone(kind, cut, "1", where=where).carat  # carats of a 1 mm wide stone
        width = (carat / unit) ** (1 / 3)
        length = width * shape.ratio
    else:
        width = float(m.group(1))
        length = width * shape.ratio
    if not (1.0 <= width <= 25.0 and 1.0 <= length <= 30.0):
        raise InputError(f"{place}stone size {size!r} is outside 1-25 mm",
                         hint="a head holds stones from 1 mm to 25 mm across")
    return Stone(kind, cut, length, width, width * shape.depth)
