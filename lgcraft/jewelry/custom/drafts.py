"""``--from-draft``: an order's type, metal, stone, cut and setting from a draft PNG's
recipe (the ``lgcraft-recipe`` chunk `jewelry draft` writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lgcraft.errors import InputError


def fields_from_draft(path: Path) -> dict[str, Any]:
    """Order fields a draft's recipe implies (flags given beside it win).

    A ring draft with a signet style makes a signet; one with a stone makes a solitaire
    (a prong setting becomes 4-prong); any other ring, a band.
    """
    from lgcraft.jewelry.recipe import read_recipe

    recipe = read_recipe(Path(path))
    spec = recipe.spec or {}
    piece = spec.get("type")
    if piece not in (None, "ring"):
        raise InputError(f"--from-draft {path}: the draft is a {piece}, custom pieces are rings",
                         hint="draft a ring, or give --type and the rest as flags")
    styles = set(spec.get("style") or ())
    stone = spec.get("stone")
    fields: dict[str, Any] = {}
    if "signet" in styles:
        fields["type"] = "signet"
    elif stone and stone != "none":
        fields["type"] = "solitaire"
        fields["stone"] = stone
        if spec.get("cut"):
            fields["cut"] = spec["cut"]
        setting = spec.get("setting")
        if setting in ("4-prong", "6-prong", "bezel"):
            fields["setting"] = setting
        elif setting == "prong":
            fields["setting"] = "4-prong"
    else:
        fields["type"] = "band"
    if spec.get("metal") and spec["metal"] != "two-tone":
        fields["metal"] = spec["metal"]
    return fields
