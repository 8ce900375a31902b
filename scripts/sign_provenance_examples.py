"""Write the signed copies of the provenance examples and their demo trust list.

Each party of examples/provenance/*.jsonl signs its own records with one of anvil's
PUBLIC development keys (accounts 0-5), so the quick start shows a real multi-party
chain that verifies VALID - on development chains only (the trust list marks the
parties dev = true). EIP-712 signatures are deterministic (RFC 6979), so rerunning
this rewrites the same bytes; tests/provenance check that.

    python scripts/sign_provenance_examples.py
"""

from __future__ import annotations

import json
from pathlib import Path

from lgcraft.provenance.service import read_events_file, sign_events
from lgcraft.provenance.signing import signer_from_private_key
from lgcraft.provenance.trust import DEV_KEYS, AnchorEntry, TrustList, add_entry, dumps_trust

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "provenance"
# party -> (anvil account, roles); the caster is the maker and anchors the batches
PARTIES = {
    "Shuibei Precision Casting Co.": ("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", ["maker"]),
    "Longgang Master Setters Workshop": ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", ["setter"]),
    "GIA Laboratory, Hong Kong": ("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", ["lab"]),
    "Shenzhen Assay Office": ("0x90F79bf6EB2c4f870365E785982E1f101E93b906", ["assay_office"]),
    "Longgang Jewelry Flagship Store": ("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", ["retailer"]),
    "Shuibei Wholesale Jewelry Trading": ("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", ["wholesaler"]),
}
MAKER = "Shuibei Precision Casting Co."


def signed_lines(path: Path) -> str:
    prevs: dict[str, str] = {}
    out = []
    for event in read_events_file(path):
        address, _ = PARTIES[event["actor"]["name"]]
        signer = signer_from_private_key(DEV_KEYS[address])
        record = sign_events([event], signer, prevs)[0]
        prevs[record["item_id"]] = _hash_of(record)
        out.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(out) + "\n"


def _hash_of(record: dict) -> str:
    from lgcraft.provenance.canonical import record_hash

    return record_hash({k: v for k, v in record.items() if k != "signature"})


def demo_trust() -> str:
    trust = TrustList(None)
    for name, (address, roles) in PARTIES.items():
        anchors = []
        if name == MAKER:  # anvil's default chain and the embedded dev chain, any lgcraft contract
            anchors = [AnchorEntry(31337, address), AnchorEntry(131277322940537, address)]
        org = add_entry(trust, name=name, roles=roles, addresses=[address], dev=True)
        org.anchors += anchors
    text = dumps_trust(trust)
    return ("# DEMO trust list of the examples: every key here is one of anvil's PUBLIC development\n"
            "# keys, so it counts only on development chains (dev = true). Never use it for real pieces.\n"
            + text)


def main() -> None:
    for name in ("solitaire-ring", "recycled-earrings"):
        (EXAMPLES / f"{name}.signed.jsonl").write_text(signed_lines(EXAMPLES / f"{name}.jsonl"), encoding="utf-8")
    (EXAMPLES / "demo-trust.toml").write_text(demo_trust(), encoding="utf-8")


if __name__ == "__main__":
    main()
