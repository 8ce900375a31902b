"""RFC 8785 (JSON Canonicalization Scheme) bytes and the hashes built on them.

Hashed data never holds floats: weights are integer milligrams, carats integer
hundredths. `canonical_bytes` refuses floats outright (JCS would accept them, but two
decimal spellings of one weight must never hash differently) and integers beyond
2**53 - 1 (JCS cannot represent them exactly).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lgcraft.errors import InputError

MAX_SAFE_INTEGER = 2**53 - 1


def check_hashable(value: Any, path: str = "record") -> None:
    """Raise `InputError` naming the path of a float, huge integer or non-JSON value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InputError(f"{path}: integer {value} is beyond 2^53-1 and cannot be hashed exactly")
        return
    if isinstance(value, float):
        raise InputError(f"{path}: {value!r} is a float; use integer units (milligrams, hundredths of a carat)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"{path}: key {key!r} is not a string")
            check_hashable(item, f"{path}.{key}")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_hashable(item, f"{path}[{index}]")
        return
    raise InputError(f"{path}: {type(value).__name__} value {value!r} is not JSON data")


def _ascii_keys_only(value: Any, path: str) -> bool:
    """Check hashability (as `check_hashable`) and report whether every object key is
    ASCII - then Python's sorted keys equal RFC 8785's UTF-16 order."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return True
        check_hashable(value, path)
    if kind is dict:
        ascii_keys = True
        for key, item in value.items():
            if type(key) is not str:
                check_hashable(value, path)
            if not key.isascii():
                ascii_keys = False
            if not _ascii_keys_only(item, path + "." + key):
                ascii_keys = False
        return ascii_keys
    if kind is list:
        ascii_keys = True
        for index, item in enumerate(value):
            if not _ascii_keys_only(item, f"{path}[{index}]"):
                ascii_keys = False
        return ascii_keys
    check_hashable(value, path)  # floats, subclasses, foreign types: precise error or slow path
    return False


_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                          allow_nan=False).encode


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value (floats refused).

    Fast path: with no floats (refused anyway) and only ASCII object keys, RFC 8785 is
    exactly ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    (same string escapes, same integer form, same key order); anything else goes
    through the ``rfc8785`` package. A property test checks both agree.

    >>> canonical_bytes({"b": 1, "a": "x"})
    b'{"a":"x","b":1}'
    """
    if _ascii_keys_only(value, "record"):
        try:
            return _dumps(value).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"record cannot be canonicalised: a string holds a lone surrogate ({exc.reason})") from exc
    return canonical_bytes_reference(value)


def canonical_bytes_validated(body: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of a body that came out of `validate_event`: its keys are lgcraft's
    own ASCII field names and its integers are range-checked, so the fast path applies
    without the walk (the record path uses this; bundles from outside never do)."""
    try:
        return _dumps(body).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"record cannot be canonicalised: a string holds a lone surrogate ({exc.reason})") from exc


def canonical_bytes_reference(value: Any) -> bytes:
    """RFC 8785 through the ``rfc8785`` package (the reference implementation)."""
    import rfc8785

    check_hashable(value)
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise InputError(f"record cannot be canonicalised: {exc}") from exc


def sha256_hex(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def record_hash(body: dict[str, Any]) -> str:
    """``0x`` + SHA-256 of the RFC 8785 form of a record body."""
    return sha256_hex(canonical_bytes(body))
