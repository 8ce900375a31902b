"""The trust list: who may sign which records and who may anchor where (like TLS roots).

A TOML file (``--trust FILE``, ``[provenance] trust``, else ``trust.toml`` in the
store folder), format ``lgcraft-trust/1``, documented in docs/provenance.md::

    format = "lgcraft-trust/1"

    [[organisation]]
    name = "Shuibei Precision Casting Co."
    roles = ["maker"]                       # maker designer setter lab assay_office wholesaler retailer
    addresses = ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"]   # keys that sign its records
    names = ["Shuibei Casting"]             # optional: other names its records may carry

    [[organisation.anchor]]                 # optional: where it anchors batches
    chain_id = 31337
    issuer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"   # optional, see below

An anchor entry without ``contract`` accepts any contract whose runtime code is one of
lgcraft's published anchor contracts (checked with ``eth_getCode``). None is shipped:
a verifier trusts exactly what its list names. ``deploy`` adds the maker's own entry.
Public development keys (anvil's accounts) are only accepted when the entry says
``dev = true``, and such an entry counts only on development chains.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgcraft.errors import ConfigError, InputError
from lgcraft.files import write_text_atomic

TRUST_FORMAT = "lgcraft-trust/1"
TRUST_FILE = "trust.toml"
ROLES = ("maker", "designer", "setter", "lab", "assay_office", "wholesaler", "retailer")
ROLE_ALIASES = {
    "manufacturer": "maker", "caster": "maker", "casting": "maker", "workshop": "maker",
    "grader": "lab", "laboratory": "lab", "grading_lab": "lab", "gem_lab": "lab",
    "assay": "assay_office", "assayer": "assay_office", "hallmarking": "assay_office",
    "shop": "retailer", "store": "retailer", "seller": "retailer",
    "distributor": "wholesaler", "trader": "wholesaler",
}
# the role a business step claims (None: any listed organisation may record it)
STEP_ROLES: dict[str, tuple[str, ...] | None] = {
    "commissioning": ("maker", "designer"), "casting": ("maker",), "setting": ("setter",),
    "grading": ("lab",), "inspecting": ("lab",), "hallmarking": ("assay_office",),
    "selling": ("retailer",), "repairing": ("maker", "setter", "retailer"),
    "shipping": None, "receiving": None, "transferring": None,
}
# anvil's / hardhat's well-known accounts 0-5 (mnemonic "test test ... junk"): public keys
DEV_KEYS = {
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266":
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8":
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC":
        "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906":
        "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65":
        "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc":
        "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
}
DEV_ADDRESSES = frozenset(a.lower() for a in DEV_KEYS)
DEV_CHAIN_IDS = frozenset({31337, 1337, 131277322940537})  # anvil/hardhat, geth --dev, embedded


def is_dev_address(address: str) -> bool:
    return address.lower() in DEV_ADDRESSES


def canonical_role(text: str) -> str:
    """``"assay office"`` -> ``assay_office``, ``"grader"`` -> ``lab``; other text kept
    (normalised), so an organisation can list a role of its own."""
    norm = text.strip().lower().replace(" ", "_").replace("-", "_")
    return ROLE_ALIASES.get(norm, norm)


def claimed_roles(body: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """What a record claims about its signer: (why, acceptable roles) for its step and
    for ``actor.role``. The signer's organisation must hold one role of each."""
    claims = []
    step_roles = STEP_ROLES.get(str(body.get("biz_step")))
    if step_roles:
        claims.append((f"step {body.get('biz_step')}", step_roles))
    role = (body.get("actor") or {}).get("role") if isinstance(body.get("actor"), dict) else None
    if isinstance(role, str) and role.strip():
        claims.append((f"role {role!r}", (canonical_role(role),)))
    return claims


@dataclass
class AnchorEntry:
    chain_id: int
    issuer: str
    contract: str | None = None


@dataclass
class Organisation:
    name: str
    roles: list[str]
    addresses: list[str]
    names: list[str] = field(default_factory=list)
    anchors: list[AnchorEntry] = field(default_factory=list)
    dev: bool = False

    def answers_to(self, name: str) -> bool:
        wanted = name.strip().casefold()
        return any(n.strip().casefold() == wanted for n in [self.name, *self.names])


@dataclass
class TrustList:
    path: Path | None
    organisations: list[Organisation] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return str(self.path) if self.path else "the trust lists given"

    def signer(self, address: str) -> Organisation | None:
        """The organisation that lists ``address`` as a signing key."""
        low = address.lower()
        return next((o for o in self.organisations if any(a.lower() == low for a in o.addresses)), None)

    def anchorers(self, chain_id: int, issuer: str) -> list[tuple[Organisation, AnchorEntry]]:
        """Every (organisation, entry) that lets ``issuer`` anchor on ``chain_id``."""
        low = issuer.lower()
        return [(o, e) for o in self.organisations for e in o.anchors
                if e.chain_id == chain_id and e.issuer.lower() == low]

    def find(self, name: str) -> Organisation | None:
        return next((o for o in self.organisations if o.name.casefold() == name.strip().casefold()), None)


# --------------------------------------------------------------------------------------------
def _address(value: Any, where: str) -> str:
    from lgcraft.provenance.records import validate_address

    try:
        return validate_address(value, where)
    except InputError as exc:
        raise ConfigError(exc.message) from None


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return [v.strip() for v in value]


def _chain_id(value: Any, where: str) -> int:
    if type(value) is not int or value < 1:
        raise ConfigError(f"{where}: chain_id must be a positive integer, got {value!r}")
    return value


def parse_trust(text: str, origin: str) -> TrustList:
    """Parse and check a trust list; `ConfigError` (exit 2) naming the file and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"trust list {origin}: not valid TOML ({exc})") from None
    _check_keys(data, {"format", "organisation"}, f"trust list {origin}")
    if data.get("format", TRUST_FORMAT) != TRUST_FORMAT:
        raise ConfigError(f"trust list {origin}: format {data.get('format')!r} is not {TRUST_FORMAT!r}")
    orgs = data.get("organisation", [])
    if not isinstance(orgs, list):
        raise ConfigError(f"trust list {origin}: 'organisation' must be an array of tables ([[organisation]])")
    trust = TrustList(Path(origin))
    seen: dict[str, str] = {}
    for i, raw in enumerate(orgs):
        where = f"trust list {origin}: organisation {i + 1}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a table")
        _check_keys(raw, {"name", "roles", "addresses", "names", "anchor", "dev"}, where)
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: 'name' is required")
        where = f"trust list {origin}: organisation {name!r}"
        roles = [canonical_role(r) for r in _strings(raw.get("roles", []), f"{where}.roles")]
        addresses = [_address(a, f"{where}.addresses") for a in _strings(raw.get("addresses", []), f"{where}.addresses")]
        dev = raw.get("dev", False)
        if not isinstance(dev, bool):
            raise ConfigError(f"{where}.dev: expected true or false")
        anchors = []
        for j, entry in enumerate(raw.get("anchor", [])):
            at = f"{where}.anchor[{j}]"
            if not isinstance(entry, dict):
                raise ConfigError(f"{at}: expected a table")
            _check_keys(entry, {"chain_id", "issuer", "contract"}, at)
            if "issuer" not in entry or "chain_id" not in entry:
                raise ConfigError(f"{at}: 'chain_id' and 'issuer' are required")
            anchors.append(AnchorEntry(_chain_id(entry["chain_id"], at), _address(entry["issuer"], f"{at}.issuer"),
                                       _address(entry["contract"], f"{at}.contract") if "contract" in entry else None))
        for address in addresses + [a.issuer for a in anchors]:
            if is_dev_address(address) and not dev:
                raise ConfigError(f"{where}: {address} is a public development key (anvil's); "
                                  "mark the organisation dev = true to use it on development chains")
            if address.lower() in seen and seen[address.lower()] != name and address in addresses:
                raise ConfigError(f"{where}: address {address} is already listed for {seen[address.lower()]!r}; "
                                  "one signing key belongs to one organisation")
        for address in addresses:
            seen[address.lower()] = name
        if dev:
            for entry in anchors:
                if entry.chain_id not in DEV_CHAIN_IDS:
                    raise ConfigError(f"{where}: a dev organisation cannot anchor on chain {entry.chain_id} "
                                      f"(development chains: {', '.join(map(str, sorted(DEV_CHAIN_IDS)))})")
        trust.organisations.append(Organisation(name.strip(), roles, addresses,
                                                _strings(raw.get("names", []), f"{where}.names"), anchors, dev))
    return trust


def load_trust(path: str | Path) -> TrustList:
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"trust list {path} not found",
                         hint="create it with 'lgcraft provenance trust add --trust FILE ...'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"trust list {path}: cannot read ({exc})") from None
    trust = parse_trust(text, str(path))
    trust.path = path
    return trust


def load_trusts(paths: list[str | Path]) -> TrustList:
    """Several trust lists read as one (like a system's and a user's root stores); one
    key listed for two different organisations is refused."""
    merged = TrustList(Path(paths[0]).expanduser() if len(paths) == 1 else None)
    seen: dict[str, tuple[str, str]] = {}
    for path in paths:
        trust = load_trust(path)
        for org in trust.organisations:
            for address in org.addresses:
                other = seen.get(address.lower())
                if other and other[0] != org.name:
                    raise ConfigError(f"trust lists {other[1]} and {path} give {address} to two organisations "
                                      f"({other[0]!r} and {org.name!r})")
                seen[address.lower()] = (org.name, str(path))
            merged.organisations.append(org)
    return merged


def load_or_empty(path: str | Path) -> TrustList:
    path = Path(path).expanduser()
    return load_trust(path) if path.exists() else TrustList(path)


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def dumps_trust(trust: TrustList) -> str:
    lines = ["# lgcraft provenance trust list: who may sign which records, who may anchor where.",
             "# Format: docs/provenance.md, 'Trust list'.", f'format = "{TRUST_FORMAT}"']
    for org in trust.organisations:
        lines += ["", "[[organisation]]", f"name = {json.dumps(org.name, ensure_ascii=False)}",
                  f"roles = {_toml_list(org.roles)}", f"addresses = {_toml_list(org.addresses)}"]
        if org.names:
            lines.append(f"names = {_toml_list(org.names)}")
        if org.dev:
            lines.append("dev = true  # public development keys: only on development chains")
        for entry in org.anchors:
            lines += ["", "[[organisation.anchor]]", f"chain_id = {entry.chain_id}",
                      f'issuer = "{entry.issuer}"']
            if entry.contract:
                lines.append(f'contract = "{entry.contract}"')
    return "\n".join(lines) + "\n"


def save_trust(trust: TrustList) -> None:
    if trust.path is None:
        raise InputError("no trust list file to write", hint="pass --trust FILE")
    text = dumps_trust(trust)
    parse_trust(text, str(trust.path))  # never write a file this module would refuse
    write_text_atomic(trust.path, text)


def add_entry(trust: TrustList, *, name: str, roles: list[str] | None = None, addresses: list[str] | None = None,
              names: list[str] | None = None, anchor: AnchorEntry | None = None, dev: bool | None = None,
              ) -> Organisation:
    """Add an organisation, or merge roles, addresses, names and an anchor entry into
    the one of that name. Returns it (the list is checked again when saved)."""
    if not name or not name.strip():
        raise InputError("--name: the organisation's name is required")
    org = trust.find(name)
    if org is None:
        org = Organisation(name.strip(), [], [])
        trust.organisations.append(org)
    for role in roles or []:
        role = canonical_role(role)
        if role not in org.roles:
            org.roles.append(role)
    for address in addresses or []:
        if address.lower() not in (a.lower() for a in org.addresses):
            org.addresses.append(address)
    for alias in names or []:
        if alias not in org.names:
            org.names.append(alias)
    if anchor is not None and not any(e.chain_id == anchor.chain_id and e.issuer.lower() == anchor.issuer.lower()
                                      and (e.contract or "").lower() == (anchor.contract or "").lower()
                                      for e in org.anchors):
        org.anchors.append(anchor)
    if dev is not None:
        org.dev = org.dev or dev
    return org


def remove_entry(trust: TrustList, name: str, address: str | None = None) -> str:
    """Remove an organisation, or only one of its addresses (signing or anchoring)."""
    org = trust.find(name)
    if org is None:
        known = ", ".join(o.name for o in trust.organisations) or "none"
        raise InputError(f"no organisation {name!r} in the trust list {trust.path} (listed: {known})")
    if address is None:
        trust.organisations.remove(org)
        return f"removed {org.name}"
    low = address.lower()
    before = len(org.addresses) + len(org.anchors)
    org.addresses = [a for a in org.addresses if a.lower() != low]
    org.anchors = [e for e in org.anchors if e.issuer.lower() != low]
    if len(org.addresses) + len(org.anchors) == before:
        raise InputError(f"{address} is not an address of {org.name}")
    return f"removed {address} from {org.name}"
