"""Band cross-sections (profiles) and the band they sweep around the finger.

A profile is drawn in (r, z): r the distance from the finger axis, z along it, the
band's inner diameter at r = R. The trade's four shapes:

- flat: square edges, flat outside;
- court: curved outside *and* inside (comfort fit by definition);
- d-shape: curved outside, flat inside;
- knife-edge: two flanks meeting in a ridge at the middle of the outside.

``comfort_fit`` domes the inside of flat, d-shape and knife-edge bands. The inside
apex stays at r = R (so the size is the size), the dome falls away toward the edges.
Curves are circular arcs through the edge points and the apex, so the band's volume
has a closed form (`closed_form_volume`), which the tests hold the mesh to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lgcraft.errors import InputError

PROFILES = ("flat", "court", "d-shape", "knife-edge")

# sagittas as fractions of the thickness: how far the outside curve falls from the
# apex to the edge, and how deep the comfort dome is
OUTER_SAG = {"flat": 0.0, "court": 0.4, "d-shape": 0.5, "knife-edge": 0.55}
INNER_SAG = 0.25


@dataclass(frozen=True)
class BandSection:
    """One band's cross-section, all in mm."""

    profile: str
    inner_radius_mm: float
    width_mm: float
    thickness_mm: float
    comfort_fit: bool

    @property
    def outer_sag(self) -> float:
        return OUTER_SAG[self.profile] * self.thickness_mm

    @property
    def inner_sag(self) -> float:
        return INNER_SAG * self.thickness_mm if (self.comfort_fit or self.profile == "court") else 0.0

    def inner_r(self, z: np.ndarray) -> np.ndarray:
        """The inside surface's radius at axial position z (mm)."""
        return self.inner_radius_mm + _arc_drop(np.asarray(z, float), self.width_mm / 2, self.inner_sag)

    def outer_r(self, z: np.ndarray) -> np.ndarray:
        """The outside surface's radius at axial position z (mm)."""
        z = np.asarray(z, float)
        top = self.inner_radius_mm + self.thickness_mm
        if self.profile == "knife-edge":
            return top - self.outer_sag * np.abs(z) / (self.width_mm / 2)
        return top - _arc_drop(z, self.width_mm / 2, self.outer_sag)

    def polygon(self, arc_segments: int = 24) -> np.ndarray:
        """The closed (r, z) outline, counter-clockwise, with a vertex at each apex."""
        h = self.width_mm / 2
        n = max(2, arc_segments) if self.inner_sag or self.outer_sag else 1
        n += n % 2  # even: a vertex at z = 0, the apex the size is measured on
        z_up = np.linspace(-h, h, n + 1)
        outer = np.column_stack([self.outer_r(z_up), z_up])
        inner = np.column_stack([self.inner_r(z_up[::-1]), z_up[::-1]])
        if self.profile == "knife-edge":
            outer = np.array([[self.outer_r(-h), -h], [self.outer_r(0.0), 0.0], [self.outer_r(h), h]])
        points = np.vstack([outer, inner])
        # (r, z) counter-clockwise = positive area in manifold's (x, y)
        area = 0.5 * np.sum(points[:, 0] * np.roll(points[:, 1], -1) - np.roll(points[:, 0], -1) * points[:, 1])
        return points if area > 0 else points[::-1]


def _arc_drop(z: np.ndarray, half_width: float, sag: float) -> np.ndarray:
    """How far a circular arc with apex at z = 0 and sagitta ``sag`` at |z| = half_width
    has fallen at z (0 at the apex)."""
    if sag <= 0:
        return np.zeros_like(z)
    rho = (half_width ** 2 + sag ** 2) / (2 * sag)
    return rho - np.sqrt(np.maximum(rho ** 2 - np.minimum(np.abs(z), half_width) ** 2, 0.0))


def _arc_integrals(half_width: float, sag: float) -> tuple[float, float]:
    """(integral of drop, integral of drop^2) over z in [-h, h] for `_arc_drop`."""
    h = half_width
    if sag <= 0:
        return 0.0, 0.0
    rho = (h ** 2 + sag ** 2) / (2 * sag)
    root = h * math.sqrt(rho ** 2 - h ** 2) + rho ** 2 * math.asin(h / rho)  # int sqrt(rho^2 - z^2)
    int_drop = 2 * h * rho - root
    # drop^2 = rho^2 - 2 rho sqrt(.) + rho^2 - z^2
    int_drop2 = 2 * h * 2 * rho ** 2 - 2 * rho * root - 2 * h ** 3 / 3
    return int_drop, int_drop2


def closed_form_volume(section: BandSection) -> float:
    """The band's volume in mm3 by Pappus: pi * integral of (r_out^2 - r_in^2) dz.

    >>> round(closed_form_volume(BandSection("flat", 8.0, 2.0, 1.0, False)), 3)
    106.814
    """
    h = section.width_mm / 2
    top = section.inner_radius_mm + section.thickness_mm
    r0 = section.inner_radius_mm
    if section.profile == "knife-edge":  # linear flanks: r = top - s |z| / h
        s = section.outer_sag
        outer = 2 * (top ** 2 * h - top * s * h + s ** 2 * h / 3)
    else:
        d1, d2 = _arc_integrals(h, section.outer_sag)
        outer = 2 * h * top ** 2 - 2 * top * d1 + d2
    d1, d2 = _arc_integrals(h, section.inner_sag)
    inner = 2 * h * r0 ** 2 + 2 * r0 * d1 + d2
    return math.pi * (outer - inner)


def band_section(profile: str, inner_diameter_mm: float, width_mm: float, thickness_mm: float,
                 comfort_fit: bool = False, *, where: str = "") -> BandSection:
    """A checked `BandSection` (bad values are `InputError` naming the value)."""
    place = f"{where}: " if where else ""
    if profile not in PROFILES:
        import difflib

        close = difflib.get_close_matches(str(profile), PROFILES, n=1)
        raise InputError(f"{place}unknown profile {profile!r}",
                         hint=f"did you mean {close[0]!r}?" if close else "use " + ", ".join(PROFILES))
    for name, value, lo, hi in (("--width", width_mm, 1.0, 20.0), ("--thickness", thickness_mm, 0.2, 6.0)):
        if not (isinstance(value, int | float) and math.isfinite(value)):
            raise InputError(f"{place}{name} {value!r} is not a number")
        if value <= 0:
            raise InputError(f"{place}{name} {value:g} mm must be positive")
        if not lo <= value <= hi:
            raise InputError(f"{place}{name} {value:g} mm is outside {lo:g}-{hi:g} mm")
    return BandSection(profile, inner_diameter_mm / 2, float(width_mm), float(thickness_mm), bool(comfort_fit))
