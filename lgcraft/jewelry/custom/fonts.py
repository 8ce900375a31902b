"""Glyph outlines for engraving, read from a real font with fontTools.

The default font is Noto Sans CJK SC Bold from Debian's ``fonts-noto-cjk`` package
(SIL Open Font License 1.1): one face that carries Chinese (simplified and
traditional hanzi), Japanese kana, Korean hangul, Latin, Greek and Cyrillic, so a
Chinese name and a Latin date engrave in the same style. Bold, because engraved
strokes under about 0.25 mm do not survive casting and polishing.

``--font FILE`` takes any TrueType/OpenType file or collection (``FILE#N`` picks face
N of a .ttc). The cmap and the advance widths are read straight from the tables'
bytes (a binary search, not a full decode of a 45,000-entry cmap), so opening even the
20 MB CJK collection costs about 0.1 s.
"""

from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lgcraft.errors import InputError

DEFAULT_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
)
DEFAULT_FACE = "Noto Sans CJK SC Bold"
DEFAULT_LICENCE = "SIL Open Font License 1.1 (Debian package fonts-noto-cjk)"


@dataclass
class Font:
    """One face of a font file: its glyphs as polygons in font units."""

    path: Path
    face: int
    name: str
    licence: str
    units_per_em: int
    ascender: int
    descender: int
    _tt: object = field(repr=False, default=None)
    _cmap: object = field(repr=False, default=None)
    _advances: bytes = field(repr=False, default=b"")
    _num_hmetrics: int = 0
    _order: list | None = field(repr=False, default=None)

    def glyph_id(self, char: str) -> int:
        return self._cmap(ord(char))

    def advance(self, gid: int) -> int:
        i = min(gid, self._num_hmetrics - 1)
        return struct.unpack_from(">H", self._advances, 4 * i)[0]

    def preload(self) -> None:
        """Read the outline tables into memory now. Batch workers forked after this share
        no file offset with the parent (a forked process shares the open file's position:
        two workers seeking and reading it at once would read each other's bytes)."""
        tt = self._tt
        if "CFF " in tt.reader:
            tt["CFF "]
            if self._order is None:
                self._order = tt.getGlyphOrder()
        elif "glyf" in tt.reader:
            tt["loca"]
            tt["glyf"]
            tt.getGlyphOrder()

    def outline(self, gid: int, tolerance: float = 0.0) -> list[np.ndarray]:
        """The glyph's closed contours (font units), curves flattened."""
        pen = _FlatteningPen(steps=6)
        tt = self._tt
        if "CFF " in tt.reader or "CFF2" in tt.reader:
            if self._order is None:
                self._order = tt.getGlyphOrder()
            name = self._order[gid]
            table = tt["CFF "].cff.topDictIndex[0]
            table.CharStrings[name].draw(pen)
        else:
            glyf = tt["glyf"]
            name = tt.getGlyphName(gid)
            glyf[name].draw(pen, glyf)
        pen.closePath()
        return [np.asarray(c, dtype=float) for c in pen.contours if len(c) >= 3]


class _FlatteningPen:
    """A fontTools pen that records contours as point lists, curves as line segments."""

    def __init__(self, steps: int = 6) -> None:
        from fontTools.pens.basePen import BasePen

        self.contours: list[list[tuple[float, float]]] = []
        self._steps = steps
        outer = self

        class Pen(BasePen):
            def _moveTo(self, p):
                outer._close()
                outer._current = [p]

            def _lineTo(self, p):
                outer._current.append(p)

            def _curveToOne(self, p1, p2, p3):
                p0 = outer._current[-1]
                t = np.linspace(0, 1, outer._steps + 1)[1:, None]
                pts = ((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * np.asarray(p1)
                       + 3 * (1 - t) * t ** 2 * np.asarray(p2) + t ** 3 * np.asarray(p3))
                outer._current.extend(map(tuple, pts))

            def _qCurveToOne(self, p1, p2):
                p0 = outer._current[-1]
                t = np.linspace(0, 1, outer._steps + 1)[1:, None]
                pts = (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(p1) + t ** 2 * np.asarray(p2)
                outer._current.extend(map(tuple, pts))

            def _closePath(self):
                outer._close()

            def _endPath(self):
                outer._close()

        self._current: list = []
        self._pen = Pen(None)

    def _close(self) -> None:
        if len(self._current) >= 3:
            pts = self._current
            if pts[0] == pts[-1]:
                pts = pts[:-1]
            self.contours.append(pts)
        self._current = []

    def __getattr__(self, name):
        return getattr(self._pen, name)


def _cmap_lookup(data: bytes):
    """A char -> glyph id function over the font's best Unicode cmap subtable."""
    count = struct.unpack_from(">H", data, 2)[0]
    best = None
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, 4 + 8 * i)
        fmt = struct.unpack_from(">H", data, offset)[0]
        rank = {(3, 10, 12): 0, (0, 4, 12): 1, (0, 6, 12): 1, (3, 1, 4): 2, (0, 3, 4): 3}.get(
            (platform, encoding, fmt))
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, offset, fmt)
    if best is None:
        raise InputError("the font has no Unicode character map", hint="pass another --font")
    _, offset, fmt = best
    if fmt == 12:
        groups = struct.unpack_from(">I", data, offset + 12)[0]
        table = np.frombuffer(data, dtype=">u4", count=3 * groups, offset=offset + 16).reshape(-1, 3)
        starts, ends, firsts = (table[:, 0].tolist(), table[:, 1].tolist(), table[:, 2].tolist())

        def lookup(code: int) -> int:
            i = bisect.bisect_right(starts, code) - 1
            if i >= 0 and code <= ends[i]:
                return firsts[i] + code - starts[i]
            return 0
        return lookup
    segx2 = struct.unpack_from(">H", data, offset + 6)[0]
    n = segx2 // 2
    ends = np.frombuffer(data, dtype=">u2", count=n, offset=offset + 14).tolist()
    starts_at = offset + 16 + segx2
    starts = np.frombuffer(data, dtype=">u2", count=n, offset=starts_at).tolist()
    deltas = np.frombuffer(data, dtype=">i2", count=n, offset=starts_at + segx2).tolist()
    range_at = starts_at + 2 * segx2
    ranges = np.frombuffer(data, dtype=">u2", count=n, offset=range_at).tolist()

    def lookup4(code: int) -> int:
        i = bisect.bisect_left(ends, code)
        if i >= n or code < starts[i]:
            return 0
        if ranges[i] == 0:
            return (code + deltas[i]) & 0xFFFF
        at = range_at + 2 * i + ranges[i] + 2 * (code - starts[i])
        gid = struct.unpack_from(">H", data, at)[0]
        return (gid + deltas[i]) & 0xFFFF if gid else 0
    return lookup4


def _names(data: bytes) -> dict[int, str]:
    """Name records (full name 4, licence 13, ...) from the raw ``name`` table, Windows
    Unicode English first (fontTools' name table would import its whole OpenType layout
    machinery, a tenth of a second, for two strings)."""
    count, strings = struct.unpack_from(">HH", data, 2)
    found: dict[int, tuple[int, str]] = {}
    for i in range(count):
        platform, encoding, language, name_id, length, offset = struct.unpack_from(">HHHHHH", data, 6 + 12 * i)
        raw = data[strings + offset:strings + offset + length]
        if platform == 3 and encoding in (1, 10):
            text, rank = raw.decode("utf-16-be", "replace"), 0 if language == 0x409 else 1
        elif platform == 1 and encoding == 0:
            text, rank = raw.decode("mac_roman", "replace"), 2
        else:
            continue
        if name_id not in found or rank < found[name_id][0]:
            found[name_id] = (rank, text)
    return {k: v for k, (_, v) in found.items()}


def default_font_file() -> tuple[Path, int]:
    for candidate in DEFAULT_FONT_FILES:
        if os.path.isfile(candidate):
            return Path(candidate), 2  # face 2 of the collection: SC (simplified Chinese)
    raise InputError("the default engraving font (Noto Sans CJK, Debian fonts-noto-cjk) is not installed",
                     hint="apt-get install fonts-noto-cjk, or pass --font FILE")


_CACHE: dict[tuple[str, int], Font] = {}


def load_font(spec: str | Path | None = None) -> Font:
    """The font for ``--font`` (None: the default Noto Sans CJK SC Bold)."""
    if spec is None or str(spec) == "":
        path, face = default_font_file()
    else:
        text = str(spec)
        face = 0
        if "#" in text and text.rsplit("#", 1)[1].isdigit():
            text, number = text.rsplit("#", 1)
            face = int(number)
        path = Path(text).expanduser()
        if not path.is_file():
            raise InputError(f"--font {spec}: no such file", hint="give a .ttf, .otf or .ttc file")
    key = (str(path.resolve()), face)
    if key in _CACHE:
        return _CACHE[key]
    from fontTools.ttLib import TTFont, TTLibError

    try:
        tt = TTFont(str(path), fontNumber=face, lazy=True)
        cmap = _cmap_lookup(tt.reader["cmap"])
        head = tt.reader["head"]
        hhea = tt.reader["hhea"]
        units = struct.unpack_from(">H", head, 18)[0]
        ascender, descender = struct.unpack_from(">hh", hhea, 4)
        num_hmetrics = struct.unpack_from(">H", hhea, 34)[0]
        advances = tt.reader["hmtx"]
        names = _names(tt.reader["name"])
        name = names.get(4) or path.stem
        licence = names.get(13) or ""
    except (TTLibError, KeyError, struct.error, OSError, IndexError, ValueError) as exc:
        raise InputError(f"--font {spec}: not a usable TrueType/OpenType font ({exc})",
                         hint="give a .ttf, .otf or .ttc file (FILE#N for face N of a collection)") from exc
    if spec is None or str(spec) == "":
        licence = DEFAULT_LICENCE
    elif len(licence) > 200:
        licence = licence[:197] + "..."
    font = Font(path, face, name, licence or "not stated in the font", units, ascender, descender,
                tt, cmap, advances, num_hmetrics)
    _CACHE[key] = font
    return font
