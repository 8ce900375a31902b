"""Frame markings (ISO 12870: ``52□18-140`` = lens width A, bridge DBL, temple length, mm)
and the markings CSV that tells a catalogue's scale: one row per file name or SKU.

>>> parse_marking("52□18-140")
(52.0, 18.0, 140.0)
>>> parse_marking("54-16-145")
(54.0, 16.0, 145.0)
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from lgcraft.errors import InputError

# A, DBL and an optional temple: "52□18-140", "52[]18-140", "52-18-140", "52 18 140",
# "52x18x140", "52/18/140", "52□18" (the box may come out as any symbol in a CSV)
_MARKING = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:□|\[\]|[^\d.\s]{1,3}|\s)\s*(\d+(?:\.\d+)?)"
                      r"(?:\s*[^\d.]{0,3}\s*(\d+(?:\.\d+)?))?\s*$")
LENS_RANGE_MM = (25.0, 80.0)
BRIDGE_RANGE_MM = (5.0, 35.0)
TEMPLE_RANGE_MM = (100.0, 175.0)
KEY_COLUMNS = ("file", "name", "sku", "model", "filename")
MARKING_COLUMNS = ("marking", "size", "boxing")


def parse_marking(text: str) -> tuple[float, float, float | None]:
    """(lens width A, bridge DBL, temple or None) in mm from a temple marking."""
    match = _MARKING.match(str(text))
    if not match:
        raise InputError(f"not a frame marking: {text!r}", hint="write it as 52□18-140 or 52-18-140")
    a, dbl = float(match.group(1)), float(match.group(2))
    temple = float(match.group(3)) if match.group(3) else None
    _check_marking(a, dbl, temple, text)
    return a, dbl, temple


def _check_marking(a: float, dbl: float, temple: float | None, text: str) -> None:
    problems = []
    if not LENS_RANGE_MM[0] <= a <= LENS_RANGE_MM[1]:
        problems.append(f"lens width {a:g} mm")
    if not BRIDGE_RANGE_MM[0] <= dbl <= BRIDGE_RANGE_MM[1]:
        problems.append(f"bridge {dbl:g} mm")
    if temple is not None and not TEMPLE_RANGE_MM[0] <= temple <= TEMPLE_RANGE_MM[1]:
        problems.append(f"temple {temple:g} mm")
    if problems:
        raise InputError(f"marking {text!r}: implausible " + ", ".join(problems),
                         hint="the order is lens width □ bridge - temple, e.g. 52□18-140")


def format_marking(a: float, dbl: float, temple: float | None) -> str:
    return f"{a:g}\u25a1{dbl:g}" + (f"-{temple:g}" if temple else "")


def read_markings(path: Path) -> tuple[tuple[str, tuple[float, float, float | None]], ...]:
    """``(key, (A, DBL, temple))`` rows of a markings CSV.

    The key column (``file``, ``name``, ``sku`` or the first column) holds a file name,
    its stem or a SKU (the file's or its folder's name); the marking is one column
    (``marking``: ``52□18-140``) or three (``lens``/``a``, ``bridge``/``dbl``,
    ``temple``). A header row is optional when there are two columns (key, marking).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"--markings {path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--markings {path}: cannot read ({exc})") from exc
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if not rows:
        raise InputError(f"--markings {path}: empty", hint="one row per file: name,52□18-140")
    header = [c.strip().lower() for c in rows[0]]
    has_header = any(h in KEY_COLUMNS + MARKING_COLUMNS for h in header)
    body = rows[1:] if has_header else rows
    key_at = next((header.index(h) for h in KEY_COLUMNS if has_header and h in header), 0)

    def column(*names: str) -> int | None:
        return next((header.index(n) for n in names if has_header and n in header), None)

    mark_at = column(*MARKING_COLUMNS)
    parts_at = (column("lens", "a", "lens_width", "lens_width_mm"), column("bridge", "dbl", "bridge_mm"),
                column("temple", "temple_length", "temple_length_mm"))
    if mark_at is None and None in parts_at[:2]:
        mark_at = 1 if key_at == 0 else 0
    out, seen = [], set()
    for line, row in enumerate(body, start=2 if has_header else 1):
        where = f"--markings {path.name} line {line}"
        key = row[key_at].strip() if key_at < len(row) else ""
        if not key:
            raise InputError(f"{where}: no file name or SKU")
        if key.lower() in seen:
            raise InputError(f"{where}: {key!r} is listed twice")
        seen.add(key.lower())
        try:
            if mark_at is not None:
                value = parse_marking(row[mark_at] if mark_at < len(row) else "")
            else:
                a, dbl = (float(row[i]) for i in parts_at[:2])
                temple = float(row[parts_at[2]]) if parts_at[2] is not None and row[parts_at[2]].strip() else None
                _check_marking(a, dbl, temple, f"{a:g} {dbl:g} {temple or ''}")
                value = (a, dbl, temple)
        except (ValueError, IndexError) as exc:
            raise InputError(f"{where}: cannot read the marking ({exc})") from exc
        except InputError as exc:
            raise InputError(f"{where}: {exc.message}", hint=exc.hint) from exc
        out.append((key, value))
    return tuple(out)
