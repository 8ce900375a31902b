"""A custom order: every parameter of one piece, checked, from flags or a CSV row.

The CSV's columns are the flags' names (``size_system`` or ``size-system``); a value
that is wrong is an `InputError` naming the row, the column and the value.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from lgcraft.errors import InputError
from lgcraft.jewelry.custom.engrave import SIDES
from lgcraft.jewelry.custom.metals import Alloy, alloy
from lgcraft.jewelry.custom.profiles import BandSection, band_section
from lgcraft.jewelry.custom.settings import SETTINGS
from lgcraft.jewelry.custom.sizes import RingSize, parse_size
from lgcraft.jewelry.custom.stones import Stone, make_stone

PIECE_TYPES = ("band", "solitaire", "signet")
FIELDS = ("name", "type", "size", "size_system", "profile", "width", "thickness", "comfort_fit",
          "engrave", "engrave_side", "engrave_depth", "engrave_height", "font", "stone", "cut",
          "stone_size", "setting", "prong_diameter", "seat_depth", "bezel_wall", "face", "metal",
          "metal_price", "shrink")
# per type: width, thickness, profile (mm)
TYPE_DEFAULTS = {"band": (4.0, 1.8, "court"), "solitaire": (2.5, 1.7, "d-shape"),
                 "signet": (3.5, 2.0, "d-shape")}


@dataclass(frozen=True)
class CustomOrder:
    """One piece, every value checked. ``key()`` hashes what shapes the output."""

    name: str
    piece_type: str
    size: RingSize
    band: BandSection
    metal: str
    alloy: Alloy
    engrave: str = ""
    engrave_side: str = "inside"
    engrave_depth_mm: float = 0.4
    engrave_height_mm: float | None = None
    font: str | None = None
    stone: Stone | None = None
    setting: str | None = None
    prong_diameter_mm: float | None = None
    seat_depth_mm: float | None = None
    bezel_wall_mm: float = 0.8
    face_mm: tuple[float, float] | None = None  # signet face: across x along the finger
    metal_price_per_g: float | None = None
    shrink_pct: float = 0.0

    def key(self) -> str:
        data = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def parameters(self) -> dict[str, Any]:
        """The order as plain values (for the report and the provenance record)."""
        return {
            "name": self.name, "type": self.piece_type,
            "size": self.size.label, "size_system": self.size.system,
            "profile": self.band.profile, "width_mm": self.band.width_mm,
            "thickness_mm": self.band.thickness_mm, "comfort_fit": self.band.comfort_fit,
            "engrave": self.engrave or None, "engrave_side": self.engrave_side if self.engrave else None,
            "engrave_depth_mm": self.engrave_depth_mm if self.engrave else None,
            "engrave_height_mm": self.engrave_height_mm, "font": self.font,
            "stone": self.stone.kind if self.stone else None,
            "cut": self.stone.cut if self.stone else None,
            "stone_size": self.stone.size_label if self.stone else None,
            "setting": self.setting, "prong_diameter_mm": self.prong_diameter_mm,
            "seat_depth_mm": self.seat_depth_mm,
            "bezel_wall_mm": self.bezel_wall_mm if self.setting == "bezel" else None,
            "face_mm": list(self.face_mm) if self.face_mm else None,
            "metal": self.metal, "metal_price_per_g": self.metal_price_per_g,
            "shrink_pct": self.shrink_pct,
        }


def _place(where: str, column: str) -> str:
    return f"{where}: {column}" if where else f"--{column.replace('_', '-')}"


def _number(value: Any, column: str, where: str, lo: float, hi: float, *, allow_zero: bool = False) -> float:
    place = _place(where, column)
    try:
        number = float(str(value).strip().lower().removesuffix("mm").removesuffix("%"))
    except ValueError:
        raise InputError(f"{place} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise InputError(f"{place} {value!r} is not a number")
    if number < 0 or (number == 0 and not allow_zero):
        raise InputError(f"{place} {number:g} must be {'0 or more' if allow_zero else 'positive'}")
    if not lo <= number <= hi:
        raise InputError(f"{place} {number:g} is outside {lo:g}-{hi:g}")
    return number


def _choice(value: Any, column: str, where: str, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text in choices:
        return text
    close = difflib.get_close_matches(text, choices, n=1)
    raise InputError(f"{_place(where, column)} {value!r} is not one of {', '.join(choices)}",
                     hint=f"did you mean {close[0]!r}?" if close else None)


def _flag(value: Any, column: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "on"):
        return True
    if text in ("", "0", "false", "no", "n", "off"):
        return False
    raise InputError(f"{_place(where, column)} {value!r} is not yes/no")


def safe_name(name: str, where: str = "") -> str:
    """An output base name: letters (any script), digits, . _ - ; no path separators."""
    text = str(name).strip()
    if not text or not re.fullmatch(r"[\w.\-]{1,80}", text) or text.startswith(".") or ".." in text:
        raise InputError(f"{_place(where, 'name')} {name!r} cannot name output files",
                         hint="letters, digits, '.', '_' and '-' only (up to 80)")
    return text


def check_columns(columns: list[str], values: dict[str, Any], where: str) -> dict[str, Any]:
    """Column names normalised (size-system -> size_system); an unknown column with a
    value in this row is an error naming it (and the column it was probably meant as)."""
    out: dict[str, Any] = {}
    for column in columns:
        key = column.strip().lower().replace("-", "_").replace(" ", "_")
        value = values.get(column)
        if key in ("order_id", "order"):
            key = "name"
        if key == "comfort":
            key = "comfort_fit"
        if key not in FIELDS:
            if value not in (None, ""):
                close = difflib.get_close_matches(key, FIELDS, n=1)
                raise InputError(f"{where}: unknown column {column!r} = {value!r}",
                                 hint=f"did you mean {close[0]!r}?" if close else "columns: " + ", ".join(FIELDS))
            continue
        out[key] = value
    return out


def make_order(fields: dict[str, Any], *, where: str = "") -> CustomOrder:
    """A checked `CustomOrder` from flag values or a CSV row (strings).

    >>> make_order({"name": "A1", "type": "band", "size": "7", "size_system": "us",
    ...             "metal": "18k-yellow-gold"}).band.profile
    'court'
    """
    given = {k: v for k, v in fields.items() if v is not None and v != ""}
    piece_type = _choice(given.get("type", "band"), "type", where, PIECE_TYPES)
    name = safe_name(given.get("name", "custom"), where)
    if "size" not in given:
        raise InputError(f"{_place(where, 'size')} is required", hint="e.g. --size 7 --size-system us")
    system = _choice(given.get("size_system", "us"), "size_system", where, ("us", "iso", "uk", "jp", "hk"))
    try:
        size = parse_size(given["size"], system)
    except InputError as exc:
        raise InputError(f"{where + ': ' if where else ''}{exc.message}", hint=exc.hint) from None
    width_default, thickness_default, profile_default = TYPE_DEFAULTS[piece_type]
    width = _number(given.get("width", width_default), "width", where, 1.0, 20.0)
    thickness = _number(given.get("thickness", thickness_default), "thickness", where, 0.2, 6.0)
    profile = _choice(given.get("profile", profile_default), "profile", where,
                      ("flat", "court", "d-shape", "knife-edge"))
    comfort = _flag(given.get("comfort_fit", False), "comfort_fit", where)
    band = band_section(profile, size.inner_diameter_mm, width, thickness, comfort, where=where)
    metal, metal_alloy = alloy(str(given.get("metal", "18k-yellow-gold")), where=where)
    price = None
    if "metal_price" in given:
        price = _number(given["metal_price"], "metal_price", where, 0.0, 1e6, allow_zero=True)
    shrink = _number(given.get("shrink", 0), "shrink", where, 0.0, 15.0, allow_zero=True)

    engrave = str(given.get("engrave", ""))
    if len(engrave) > 40:
        raise InputError(f"{_place(where, 'engrave')} {engrave[:20]!r}... is {len(engrave)} characters",
                         hint="engrave up to 40 characters")
    side_default = "top" if piece_type == "signet" else "inside"
    side = _choice(given.get("engrave_side", side_default), "engrave_side", where, SIDES)
    if engrave and side == "top" and piece_type != "signet":
        raise InputError(f"{_place(where, 'engrave_side')} top needs a signet face",
                         hint="use inside or outside, or --type signet")
    depth = _number(given.get("engrave_depth", 0.4), "engrave_depth", where, 0.05, 2.0)
    if engrave and side != "top" and depth >= band.thickness_mm - 0.1:
        raise InputError(f"{_place(where, 'engrave_depth')} {depth:g} mm would cut through a "
                         f"{band.thickness_mm:g} mm band", hint="engrave shallower (0.2-0.5 mm is usual)")
    height = None
    if "engrave_height" in given:
        height = _number(given["engrave_height"], "engrave_height", where, 0.5, 12.0)
    font = str(given["font"]) if "font" in given else None

    stone = setting = prong = seat = None
    bezel_wall = _number(given.get("bezel_wall", 0.8), "bezel_wall", where, 0.2, 3.0)
    face = None
    if piece_type == "solitaire":
        stone = make_stone(str(given.get("stone", "diamond")), str(given.get("cut", "round-brilliant")),
                           given.get("stone_size", "6.5mm"), where=where)
        setting = _choice(given.get("setting", "4-prong"), "setting", where, SETTINGS)
        if stone.width_mm > size.inner_diameter_mm or stone.length_mm > size.inner_diameter_mm * 1.3:
            raise InputError(f"{_place(where, 'stone_size')} {stone.size_label} is larger than a size "
                             f"{size.label} ({system.upper()}) band can hold",
                             hint=f"stones up to {size.inner_diameter_mm:.1f} mm wide on this size")
        default_prong = round(max(1.0, min(1.5, 0.15 * stone.width_mm + 0.1)), 2)
        prong = _number(given.get("prong_diameter", default_prong), "prong_diameter", where, 0.2, 3.0)
        seat = _number(given.get("seat_depth", round(0.25 * prong, 2)), "seat_depth", where, 0.0, 3.0,
                       allow_zero=True)
        if seat >= prong * 0.75:
            raise InputError(f"{_place(where, 'seat_depth')} {seat:g} mm would cut through a {prong:g} mm prong",
                             hint=f"keep the seat under {prong * 0.75:.2f} mm (about a third of the prong)")
        if setting != "bezel" and stone.width_mm < 2 * prong:
            raise InputError(f"{_place(where, 'stone_size')} {stone.size_label} is too small for "
                             f"{prong:g} mm prongs", hint="a smaller --prong-diameter or a bezel")
    else:
        for column in ("stone", "stone_size", "setting", "prong_diameter", "seat_depth"):
            if column in given:
                raise InputError(f"{_place(where, column)} applies to solitaires, not a {piece_type}",
                                 hint="use --type solitaire for a stone")
    if piece_type == "signet":
        text = str(given.get("face", "12x10")).lower().replace(" ", "").removesuffix("mm")
        m = re.fullmatch(r"(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)", text)
        if not m:
            raise InputError(f"{_place(where, 'face')} {given.get('face')!r} is not WIDTHxLENGTH in mm",
                             hint="e.g. 12x10 (across x along the finger)")
        face = (float(m.group(1)), float(m.group(2)))
        if not (5 <= face[0] <= 25 and 4 <= face[1] <= 25):
            raise InputError(f"{_place(where, 'face')} {text} is outside 5-25 x 4-25 mm")
        if face[1] < width:
            raise InputError(f"{_place(where, 'face')} {text}: the face is narrower than the {width:g} mm band")
    return CustomOrder(name=name, piece_type=piece_type, size=size, band=band, metal=metal,
                       alloy=metal_alloy, engrave=engrave, engrave_side=side, engrave_depth_mm=depth,
                       engrave_height_mm=height, font=font, stone=stone, setting=setting,
                       prong_diameter_mm=prong, seat_depth_mm=seat, bezel_wall_mm=bezel_wall,
                       face_mm=face, metal_price_per_g=price, shrink_pct=shrink)
