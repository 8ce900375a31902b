"""The jewelry trade's vocabulary: what a brief may ask for, checked with suggestions.

Terms follow the trade's own words (GIA/RJC usage, the common catalogue terms of
Shenzhen and Hong Kong workshops). Every term maps to the words the prompt compiler
uses; unknown terms are refused with the closest known ones, because a typo
("platnum") silently drafted as something else wastes a batch.
"""

from __future__ import annotations

import difflib

from lgcraft.errors import InputError

PIECE_TYPES: dict[str, str] = {
    "ring": "ring",
    "pendant": "pendant on a fine chain",
    "earrings": "earrings",
    "bracelet": "bracelet",
    "necklace": "necklace",
    "brooch": "brooch",
}

# Ring and earring sub-styles are "styles" too; they only make sense for some types.
STYLES: dict[str, str] = {
    # rings
    "solitaire": "solitaire", "halo": "halo",
    "three-stone": "three-stone", "eternity": "eternity band", "cathedral": "cathedral shoulders",
    "split-shank": "split shank", "bypass": "bypass", "cluster": "cluster", "toi-et-moi": "toi et moi",
    "signet": "signet", "cocktail": "cocktail", "stackable": "slim stackable band",
    # earrings
    "stud": "stud", "hoop": "hoop", "huggie": "huggie hoop", "drop": "drop", "chandelier": "chandelier",
    # design languages
    "minimalist": "minimalist clean lines", "vintage": "vintage inspired", "art-deco": "art deco geometric",
    "floral": "floral motif", "modern": "modern architectural", "classic": "classic timeless",
    "bohemian": "bohemian organic", "geometric": "geometric", "nature": "nature inspired organic",
    "chinese-traditional": "traditional Chinese motif", "bridal": "bridal",
}
STYLE_TYPES: dict[str, tuple[str, ...]] = {
    **{s: ("ring",) for s in ("solitaire", "halo", "three-stone", "eternity", "cathedral",
                              "split-shank", "bypass", "toi-et-moi", "signet", "cocktail",
                              "stackable")},
    **{s: ("earrings",) for s in ("stud", "hoop", "huggie", "chandelier")},
    "drop": ("earrings", "pendant"),
}

METALS: dict[str, str] = {
    "yellow-gold": "18k yellow gold", "white-gold": "18k white gold", "rose-gold": "18k rose gold",
    "9k-yellow-gold": "9k yellow gold", "9k-white-gold": "9k white gold", "9k-rose-gold": "9k rose gold",
    "14k-yellow-gold": "14k yellow gold", "14k-white-gold": "14k white gold",
    "14k-rose-gold": "14k rose gold",
    "18k-yellow-gold": "18k yellow gold", "18k-white-gold": "18k white gold",
    "18k-rose-gold": "18k rose gold",
    "platinum": "platinum 950", "sterling-silver": "sterling silver 925",
    "two-tone": "two-tone yellow and white gold",
}
# Colour family of each metal, for the quality check of the drawn metal.
METAL_FAMILY: dict[str, str] = {
    m: ("yellow" if "yellow" in m else "rose" if "rose" in m else "white" if m != "two-tone" else "mixed")
    for m in METALS
}

STONES: dict[str, str] = {
    "diamond": "diamond", "lab-diamond": "lab-grown diamond", "sapphire": "blue sapphire",
    "pink-sapphire": "pink sapphire", "ruby": "ruby", "emerald": "emerald", "pearl": "pearl",
    "akoya-pearl": "akoya pearl", "jade": "jadeite jade", "morganite": "morganite",
    "aquamarine": "aquamarine", "tanzanite": "tanzanite", "amethyst": "amethyst",
    "topaz": "blue topaz", "opal": "opal", "moissanite": "moissanite", "garnet": "garnet",
    "citrine": "citrine", "peridot": "peridot", "tourmaline": "tourmaline", "none": "",
}

CUTS: dict[str, str] = {
    "round-brilliant": "round brilliant cut", "round": "round brilliant cut",
    "princess": "princess cut", "cushion": "cushion cut", "oval": "oval cut",
    "emerald": "emerald cut", "asscher": "asscher cut", "radiant": "radiant cut",
    "marquise": "marquise cut", "pear": "pear cut", "heart": "heart cut", "baguette": "baguette cut",
    "trillion": "trillion cut", "rose": "rose cut", "old-european": "old European cut",
    "cabochon": "cabochon",
}

SETTINGS: dict[str, str] = {
    "prong": "prong setting", "4-prong": "four-prong setting", "6-prong": "six-prong setting",
    "bezel": "bezel setting", "half-bezel": "half-bezel setting", "pave": "pavé band",
    "micro-pave": "micro-pavé band", "channel": "channel setting", "bar": "bar setting",
    "tension": "tension setting", "flush": "flush setting", "basket": "basket setting",
}

FINISHES: dict[str, str] = {
    "high-polish": "high polish finish", "brushed": "brushed satin finish",
    "hammered": "hammered texture", "milgrain": "milgrain edges", "filigree": "filigree detail",
    "engraved": "hand engraving pattern", "enamel": "enamel accents",
}

VIEWS: dict[str, str] = {
    "three-quarter": "three-quarter view", "front": "front view", "top": "top-down view",
    "side": "side profile view", "on-hand": "worn on a hand, close-up", "on-model": "worn by a model, close-up",
    "flat-lay": "flat lay",
}

FIELDS: dict[str, dict[str, str]] = {
    "type": PIECE_TYPES, "metal": METALS, "stone": STONES, "cut": CUTS, "setting": SETTINGS,
    "style": STYLES, "finish": FINISHES, "view": VIEWS,
}


def _normalise(value: str) -> str:
    return "-".join(value.strip().lower().replace("_", " ").replace("é", "e").split())


def check_term(field: str, value: str, *, where: str = "") -> str:
    """The canonical term for ``value`` in ``field``, or InputError with suggestions.

    >>> check_term("metal", "Rose Gold")
    'rose-gold'
    """
    terms = FIELDS[field]
    key = _normalise(value)
    if key in terms:
        return key
    close = difflib.get_close_matches(key, list(terms), n=3, cutoff=0.6)
    place = f"{where}: " if where else ""
    hint = (f"did you mean {' or '.join(repr(c) for c in close)}?" if close
            else f"known {field} terms: {', '.join(sorted(terms))}")
    raise InputError(f"{place}unknown {field} {value!r}", hint=hint)


def check_style_fits(style: str, piece_type: str | None, *, where: str = "") -> None:
    allowed = STYLE_TYPES.get(style)
    if piece_type and allowed and piece_type not in allowed:
        place = f"{where}: " if where else ""
        raise InputError(f"{place}style {style!r} does not apply to a {piece_type}",
                         hint=f"{style!r} is a style for: {', '.join(allowed)}")
