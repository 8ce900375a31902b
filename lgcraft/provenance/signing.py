"""EIP-712 typed-data signatures over provenance records, and signing keys.

Every record is signed by its actor. The signed struct shows a wallet the piece, the
step and the time in clear, and commits to the whole record through ``recordHash``
(SHA-256 of its RFC 8785 form)::

    EIP712Domain(string name,string version)          name "lgcraft provenance", version "1"
    ProvenanceRecord(string itemId,string bizStep,string eventTime,address actor,
                     bytes32 prev,bytes32 recordHash)

The domain has no chainId on purpose: records are signed before anyone knows which
chain their batch will be anchored on. Keys come from ``LGCRAFT_PRIVATE_KEY`` or an
encrypted keystore file; this module receives them as values (the CLI reads the
environment) and never prints or logs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError
from lgcraft.files import write_atomic

DOMAIN = {"name": "lgcraft provenance", "version": "1"}
RECORD_TYPE = [
    {"name": "itemId", "type": "string"},
    {"name": "bizStep", "type": "string"},
    {"name": "eventTime", "type": "string"},
    {"name": "actor", "type": "address"},
    {"name": "prev", "type": "bytes32"},
    {"name": "recordHash", "type": "bytes32"},
]
TYPES = {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}],
    "ProvenanceRecord": RECORD_TYPE,
}
_TYPE_STRING = ("ProvenanceRecord(string itemId,string bizStep,string eventTime,address actor,"
                "bytes32 prev,bytes32 recordHash)")
_DOMAIN_TYPE_STRING = "EIP712Domain(string name,string version)"
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def typed_data(body: dict[str, Any], record_hash: str) -> dict[str, Any]:
    """The full EIP-712 message of a record (what a wallet would display)."""
    return {
        "types": TYPES,
        "primaryType": "ProvenanceRecord",
        "domain": DOMAIN,
        "message": {
            "itemId": body["item_id"],
            "bizStep": body["biz_step"],
            "eventTime": body["event_time"],
            "actor": body["actor"]["address"],
            "prev": body["prev"],
            "recordHash": record_hash,
        },
    }


_KECCAK = None


def _keccak(data: bytes) -> bytes:
    global _KECCAK
    if _KECCAK is None:
        from eth_hash.auto import keccak

        _KECCAK = keccak
    return _KECCAK(data)


@lru_cache(maxsize=1024)
def _keccak_text(text: str) -> bytes:
    """keccak of a short repeated string (item ids, step names): cached."""
    return _keccak(text.encode())


_PREFIX: bytes | None = None  # 0x1901 || domain separator
_TYPE_HASH: bytes | None = None


def signing_digest(body: dict[str, Any], record_hash: str) -> bytes:
    """The 32-byte EIP-712 digest, computed directly (the struct is fixed) - equal to
    eth_account's ``encode_typed_data`` hash, which the tests check, and ~20x faster."""
    global _PREFIX, _TYPE_HASH
    if _PREFIX is None:
        _PREFIX = b"\x19\x01" + _keccak(
            _keccak(_DOMAIN_TYPE_STRING.encode())
            + _keccak(DOMAIN["name"].encode())
            + _keccak(DOMAIN["version"].encode())
        )
        _TYPE_HASH = _keccak(_TYPE_STRING.encode())
    address = bytes.fromhex(body["actor"]["address"][2:])
    struct = _keccak(
        _TYPE_HASH
        + _keccak_text(body["item_id"])
        + _keccak_text(body["biz_step"])
        + _keccak(body["event_time"].encode())
        + bytes(12) + address
        + bytes.fromhex(body["prev"][2:])
        + bytes.fromhex(record_hash[2:])
    )
    return _keccak(_PREFIX + struct)


def recover_signer(body: dict[str, Any], record_hash: str, signature: str) -> str:
    """The checksummed address that made ``signature`` over the record."""
    from eth_keys import KeyAPI
    from eth_keys.exceptions import BadSignature, ValidationError
    from eth_utils import to_checksum_address

    from lgcraft.provenance.records import _checksum

    raw = _hex_bytes(signature, 65, "signature")
    v = raw[64]
    if v >= 27:
        v -= 27
    if v not in (0, 1):
        raise InputError(f"signature has a bad recovery byte {raw[64]}")
    digest = signing_digest(body, record_hash)
    try:
        import coincurve  # libsecp256k1: ~10x faster than the pure-Python fallback
    except ImportError:
        coincurve = None
    if coincurve is not None:
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big")
        if not (0 < r < _SECP256K1_N and 0 < s < _SECP256K1_N):
            raise InputError(f"signature {signature[:18]}... is not a valid secp256k1 signature")
        try:
            public = coincurve.PublicKey.from_signature_and_message(raw[:64] + bytes([v]), digest, hasher=None)
        except Exception as exc:  # coincurve raises plain Exception subclasses
            raise InputError(f"signature {signature[:18]}... is not a valid secp256k1 signature") from exc
        return _checksum("0x" + _keccak(public.format(compressed=False)[1:])[-20:].hex())
    try:
        sig = KeyAPI.Signature(vrs=(v, int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big")))
        public = sig.recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError, ValueError) as exc:
        raise InputError(f"signature {signature[:18]}... is not a valid secp256k1 signature") from exc
    return to_checksum_address(public.to_canonical_address())


def _hex_bytes(text: str, length: int, what: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("0x"):
        raise InputError(f"{what} must be 0x-prefixed hex")
    try:
        raw = bytes.fromhex(text[2:])
    except ValueError as exc:
        raise InputError(f"{what} {text[:20]}... is not hex") from exc
    if len(raw) != length:
        raise InputError(f"{what} must be {length} bytes, got {len(raw)}")
    return raw


@dataclass(frozen=True)
class Signer:
    """A private key in memory. ``repr`` never shows the key."""

    address: str
    _key: bytes = field(repr=False)

    def sign_record(self, body: dict[str, Any], record_hash: str) -> str:
        """EIP-712 signature (65 bytes r||s||v, v in {27, 28}) as 0x hex (RFC 6979, low s)."""
        digest = signing_digest(body, record_hash)
        native = _native_key(self._key)
        if native is not None:
            raw = native.sign_recoverable(digest, hasher=None)  # r || s || recovery id
            return "0x" + raw[:64].hex() + bytes([raw[64] + 27]).hex()
        from eth_keys import KeyAPI

        sig = KeyAPI.PrivateKey(self._key).sign_msg_hash(digest)
        r, s, v = sig.r, sig.s, sig.v
        return "0x" + r.to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex() + bytes([v + 27]).hex()

    def sign_transaction(self, tx: dict[str, Any]):
        from eth_account import Account

        return Account.sign_transaction(tx, self._key)


@lru_cache(maxsize=8)
def _native_key(key: bytes):
    """A libsecp256k1 key object (coincurve) if installed; None otherwise."""
    try:
        import coincurve
    except ImportError:
        return None
    return coincurve.PrivateKey(key)


def signer_from_private_key(secret: str, origin: str = "LGCRAFT_PRIVATE_KEY") -> Signer:
    """A `Signer` from a hex private key (the value is never echoed in errors)."""
    from eth_keys import KeyAPI
    from eth_utils import to_checksum_address

    text = secret.strip()
    if text.startswith(("0x", "0X")):
        text = text[2:]
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise InputError(f"{origin} is not a hex private key") from None
    if len(raw) != 32:
        raise InputError(f"{origin} must hold a 32-byte private key (64 hex digits)")
    try:
        public = KeyAPI.PrivateKey(raw).public_key
    except Exception:  # eth_keys ValidationError for a zero / out-of-range key
        raise InputError(f"{origin} is not a valid secp256k1 private key") from None
    return Signer(to_checksum_address(public.to_canonical_address()), raw)


def signer_from_keystore(path: Path, password: str) -> Signer:
    """Decrypt an Ethereum keystore (Web3 Secret Storage, V3) file."""
    from eth_account import Account

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"keystore {path}: cannot read ({exc.strerror})") from exc
    except ValueError as exc:
        raise InputError(f"keystore {path}: not a JSON keystore file") from exc
    try:
        raw = bytes(Account.decrypt(data, password))
    except ValueError:
        raise InputError(f"keystore {path}: wrong password or damaged file") from None
    except Exception as exc:
        raise InputError(f"keystore {path}: not a keystore file ({type(exc).__name__})") from None
    return signer_from_private_key("0x" + raw.hex(), origin=f"keystore {path}")


# anvil's account 0: a PUBLIC key, offered for trying lgcraft on development chains only
DEV_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def password_file_for(keystore: Path) -> Path:
    """Where `new_keystore` keeps a generated password: ``<keystore>.password``."""
    return Path(str(keystore) + ".password")


def new_keystore(path: Path, password: str, password_file: Path | None = None) -> str:
    """Create a fresh key, write it encrypted to ``path`` (refuses to overwrite);
    returns the address. With ``password_file`` the password is written there too
    (mode 600, before the keystore, so a keystore never exists without its password)."""
    from eth_account import Account

    path = Path(path)
    if path.exists():
        raise InputError(f"{path} already exists; not overwriting a keystore")
    if password_file is not None and password_file.exists():
        raise InputError(f"{password_file} already exists; not overwriting a password file")
    if len(password) < 8:
        raise InputError("keystore password must have at least 8 characters")
    account = Account.create()
    data = Account.encrypt(account.key, password)
    if password_file is not None:
        write_atomic(password_file, (password + "\n").encode(), mode=0o600, exclusive=True)
    try:
        write_atomic(path, json.dumps(data).encode(), mode=0o600, exclusive=True)
    except BaseException:
        if password_file is not None:
            password_file.unlink(missing_ok=True)
        raise
    return account.address
