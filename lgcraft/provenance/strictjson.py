"""Strict JSON for data from outside (bundles, event files): one reading only.

Python's `json` keeps the *last* of two equal keys while other readers keep the first,
so ``{"carat_hundredths": 152, "carat_hundredths": 102}`` would show 1.52 ct to one
program and hash as 1.02 ct in another. `loads_strict` refuses duplicate keys (naming
the key and where it is), ``NaN``/``Infinity``, and checks size and nesting depth
*before* parsing, so a hostile file cannot exhaust the stack or memory.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lgcraft.errors import InputError

MAX_BYTES = 16 * 1024 * 1024  # a bundle of thousands of records is a few MB
MAX_DEPTH = 32  # a bundle nests 6 deep, a record body 4 more

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: one pass, no per-character alternation
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


class DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return out


class _Marked(dict):
    duplicate: str | None = None


def _marking(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = _Marked(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                out.duplicate = key
                break
            seen.add(key)
    return out


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def nesting_depth(text: str) -> int:
    """Deepest nesting of arrays and objects, counted without parsing."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def find_duplicate(value: Any, path: str = "") -> tuple[str, str] | None:
    """(path, key) of the first object holding a duplicate key in a `_marking` parse."""
    if isinstance(value, _Marked):
        if value.duplicate is not None:
            return path or "top level", value.duplicate
        for key, item in value.items():
            found = find_duplicate(item, f"{path}.{key}" if path else key)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_duplicate(item, f"{path}[{index}]")
            if found:
                return found
    return None


def loads_strict(text: str, origin: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                 parse_float: Any = None, error: type[InputError] = InputError,
                 describe: Any = None) -> Any:
    """Parse ``text``; ``error`` (an `InputError`, exit 2) for anything not strictly one
    JSON reading. ``describe(path)`` may turn a path like ``records[2].body.stones[0]``
    into words (e.g. "record 3 (grading, ...)").

    >>> loads_strict('{"a": 1, "a": 2}', "x.json")
    Traceback (most recent call last):
    lgcraft.errors.InputError: x.json: duplicate key 'a' at top level
    """
    size = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > max_bytes else len(text)
    if size > max_bytes:
        raise error(f"{origin}: {size} bytes, more than the limit of {max_bytes} bytes")
    depth = nesting_depth(text)
    if depth > max_depth:
        raise error(f"{origin}: nested {depth} levels deep, more than the limit of {max_depth}")
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=parse_float)
    except DuplicateKeyError as exc:
        where, key = find_duplicate(json.loads(text, object_pairs_hook=_marking)) or ("", exc.key)
        shown = describe(where) if describe else where
        raise error(f"{origin}: duplicate key {key!r} in {shown} (JSON readers disagree on which "
                    "value counts, so the file is refused)") from None
