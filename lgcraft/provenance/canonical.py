"""RFC 8785 (JSON Canonicalization Scheme) bytes and the hashes built on them.

Hashed data never holds floats: weights are integer milligrams, carats integer
hundredths. `canonical_bytes` refuses floats outright (JCS would accept them, but two
decimal spellings of one weight must never hash differently) and integers beyond
2**53 - 1 (JCS cannot represent them exactly).
"""

from __future__ import annotations

import hashlib
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


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value (floats refused).

    >>> canonical_bytes({"b": 1, "a": "x"})
    b'{"a":"x","b":1}'
    """
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
