"""Engraving: text laid out from a font's glyphs, curved onto the band, cut as a boolean.

The text is drawn flat in (u, v) mm (u along the line, v up the letters), extruded
into a cutter of the engraving depth, refined so its long edges can bend, then warped
onto the surface it is cut into:

- inside: around the finger hole, following the comfort dome when there is one,
  centred under the finger (-Y), readable from inside the ring;
- outside: around the outer surface, following the profile, centred at -Y;
- top: flat on a signet's face, readable from above.

manifold3d subtracts the cutter, so the result is a closed, manifold solid.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

import numpy as np

from lgcraft.errors import InputError

SIDES = ("inside", "outside", "top")


@dataclass(frozen=True)
class TextLayout:
    """Glyph contours in mm, centred on (0, 0); the line's length and letter height."""

    contours: list[np.ndarray]
    length_mm: float
    height_mm: float


def layout_text(text: str, font, height_mm: float, *, tracking: float = 0.06,
                where: str = "") -> TextLayout:
    """Contours of ``text`` set in ``font`` with the em square ``height_mm`` tall.

    Every character must be in the font: one it lacks is an `InputError` naming it.
    """
    place = f"{where}: " if where else ""
    bad = [ch for ch in text if unicodedata.category(ch)[0] == "C"]
    if bad:
        raise InputError(f"{place}engraving text has a control character (U+{ord(bad[0]):04X})",
                         hint="engrave printable characters only")
    missing = sorted({ch for ch in text if not ch.isspace() and font.glyph_id(ch) == 0})
    if missing:
        shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing[:5])
        raise InputError(f"{place}the engraving font {font.name} has no glyph for {shown}",
                         hint="remove the character or pass --font FILE with a font that has it")
    scale = height_mm / font.units_per_em
    pen_x = 0.0
    contours: list[np.ndarray] = []
    for ch in text:
        gid = font.glyph_id(ch) if not ch.isspace() else font.glyph_id(" ")
        if not ch.isspace():
            for contour in font.outline(gid):
                contours.append(np.column_stack([contour[:, 0] * scale + pen_x, contour[:, 1] * scale]))
        pen_x += font.advance(gid) * scale + tracking * height_mm
    if not contours:
        raise InputError(f"{place}engraving text {text!r} has nothing to cut", hint="give some letters")
    pen_x -= tracking * height_mm
    points = np.vstack(contours)
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2])
    return TextLayout([c - centre for c in contours], float(hi[0] - lo[0]), float(hi[1] - lo[1]))


def flat_cutter(layout: TextLayout, depth_mm: float, overcut_mm: float = 0.3):
    """The text as a solid in (u, v, w), readable from +w, occupying w from -depth (into
    the metal) to +overcut (out in the air).

    Every placement maps (u, v, -w) onto (right, up, into the metal) as the reader sees
    it, which is a mirror; the solid is built mirrored here so that it comes out the
    right way round (and the right way out) once placed.
    """
    from manifold3d import CrossSection, FillRule, Manifold

    section = CrossSection([c for c in layout.contours], FillRule.NonZero)
    if section.is_empty():
        raise InputError("engraving text has no area to cut")
    solid = Manifold.extrude(section, depth_mm + overcut_mm).translate((0.0, 0.0, -overcut_mm))
    return solid.mirror((0.0, 0.0, 1.0))


def curved_cutter(layout: TextLayout, side: str, depth_mm: float, band, *, signet_top_y: float | None = None,
                  refine_mm: float = 0.35):
    """The engraving cutter placed on the piece (mm, ring pose: finger axis Z, head +Y).

    ``band`` is the `BandSection` (its inner_r / outer_r follow the profile).
    """
    solid = flat_cutter(layout, depth_mm)
    if side == "top":
        if signet_top_y is None:
            raise InputError("--engrave-side top needs a signet face", hint="use --type signet")

        def to_top(p: np.ndarray) -> np.ndarray:
            # u -> +X, v -> -Z (readable from above, +Y), -w -> down into the face
            return np.column_stack([p[:, 0], signet_top_y + p[:, 2], -p[:, 1]])

        return solid.warp_batch(to_top)
    solid = solid.refine_to_length(refine_mm)
    if side == "inside":
        reference = band.inner_radius_mm

        def to_inside(p: np.ndarray) -> np.ndarray:
            z = -p[:, 1]
            phi = -math.pi / 2 + p[:, 0] / reference
            r = band.inner_r(z) - p[:, 2]
            return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])

        return solid.warp_batch(to_inside)
    reference = float(band.outer_r(0.0))

    def to_outside(p: np.ndarray) -> np.ndarray:
        z = p[:, 1]
        phi = -math.pi / 2 + p[:, 0] / reference
        r = band.outer_r(z) + p[:, 2]
        return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])

    return solid.warp_batch(to_outside)


def check_fits(layout: TextLayout, side: str, band, *, arc_fraction: float, face_mm=None,
               where: str = "") -> None:
    """Refuse text that does not fit where it goes (names the lengths)."""
    place = f"{where}: " if where else ""
    if side == "top":
        across, along = face_mm
        if layout.length_mm > 0.85 * across or layout.height_mm > 0.85 * along:
            raise InputError(f"{place}engraving {layout.length_mm:.1f} x {layout.height_mm:.1f} mm does not fit "
                             f"the {across:g} x {along:g} mm signet face",
                             hint="shorter text or a smaller --engrave-height")
        return
    radius = band.inner_radius_mm if side == "inside" else float(band.outer_r(0.0))
    room = 2 * math.pi * radius * arc_fraction
    if layout.length_mm > room:
        raise InputError(f"{place}engraving is {layout.length_mm:.1f} mm long; the {side} of this band "
                         f"holds {room:.1f} mm", hint="shorter text or a smaller --engrave-height")
    usable = band.width_mm - 0.6
    if layout.height_mm > usable:
        raise InputError(f"{place}letters {layout.height_mm:.2f} mm tall do not fit a {band.width_mm:g} mm band "
                         f"(room {usable:.2f} mm)", hint="a smaller --engrave-height or a wider band")
