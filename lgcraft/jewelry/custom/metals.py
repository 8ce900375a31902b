"""Alloy densities for the metal weight, and the quote from a price per gram.

Densities in g/cm3 from the JewelCraft add-on's weighting table
(github.com/mrachinskiy/jewelcraft, source/assets/weighting/Precious.json): 24K 19.32,
18K yellow 15.53, 18K white (Pd) 15.66, 18K rose 15.02, 14K yellow 13.05, 14K white (Pd)
14.6, 14K rose 13.03, Pt950 20.7, sterling 10.36. White golds are the palladium
alloys: nickel white gold is barred from skin-contact jewelry in the EU (REACH Annex
XVII entry 27) and most Hong Kong and mainland workshops cast Pd white gold.

JewelCraft has no 9K; the 9K figures are computed here from a typical composition by
the rule of mixtures (1/rho = sum of w_i/rho_i, pure-metal densities Au 19.32, Ag
10.49, Cu 8.96, Zn 7.14, Pd 12.02): 9K yellow Au 37.5 Ag 10 Cu 45 Zn 7.5 -> 11.15;
9K white Au 37.5 Ag 47.5 Pd 10 Cu 5 -> 12.72; 9K rose Au 37.5 Cu 57.5 Ag 5 -> 11.32.
"""

from __future__ import annotations

from dataclasses import dataclass

from lgcraft.errors import InputError
from lgcraft.jewelry.vocab import check_term


@dataclass(frozen=True)
class Alloy:
    name: str
    density_g_cm3: float
    fineness: int  # millesimal: 375, 585, 750, 925, 950
    source: str


_JC = "JewelCraft Precious.json"
_MIX = "rule of mixtures (see lgcraft.jewelry.custom.metals)"

ALLOYS: dict[str, Alloy] = {
    "18k-yellow-gold": Alloy("Yellow Gold 18K", 15.53, 750, _JC),
    "18k-white-gold": Alloy("White Gold 18K Pd", 15.66, 750, _JC),
    "18k-rose-gold": Alloy("Rose Gold 18K", 15.02, 750, _JC),
    "14k-yellow-gold": Alloy("Yellow Gold 14K", 13.05, 585, _JC),
    "14k-white-gold": Alloy("White Gold 14K Pd", 14.6, 585, _JC),
    "14k-rose-gold": Alloy("Rose Gold 14K", 13.03, 585, _JC),
    "9k-yellow-gold": Alloy("Yellow Gold 9K", 11.15, 375, _MIX),
    "9k-white-gold": Alloy("White Gold 9K Pd", 12.72, 375, _MIX),
    "9k-rose-gold": Alloy("Rose Gold 9K", 11.32, 375, _MIX),
    "platinum": Alloy("Platinum 950", 20.7, 950, _JC),
    "sterling-silver": Alloy("Silver Sterling", 10.36, 925, _JC),
}
# the drafts vocabulary's short names mean 18K (vocab.METALS says so)
ALLOYS["yellow-gold"] = ALLOYS["18k-yellow-gold"]
ALLOYS["white-gold"] = ALLOYS["18k-white-gold"]
ALLOYS["rose-gold"] = ALLOYS["18k-rose-gold"]


def alloy(metal: str, *, where: str = "") -> tuple[str, Alloy]:
    """(canonical drafts term, `Alloy`) for a metal name from the drafts vocabulary.

    >>> alloy("Platinum")[1].density_g_cm3
    20.7
    """
    term = check_term("metal", metal, where=where)
    if term not in ALLOYS:
        place = f"{where}: " if where else ""
        raise InputError(f"{place}metal {metal!r} has no single density (two-tone is two alloys)",
                         hint="choose one alloy, e.g. 18k-yellow-gold or 18k-white-gold")
    return term, ALLOYS[term]


def weight_g(volume_mm3: float, density_g_cm3: float) -> float:
    """Grams of metal: mm3 / 1000 = cm3, times g/cm3."""
    return volume_mm3 / 1000.0 * density_g_cm3
