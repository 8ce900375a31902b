"""The anchor contracts: Vyper sources in the package, compiled artifacts committed beside them.

- version 2 (``AnchorV2.vy``, what ``deploy`` installs): roots are kept per issuer,
  ``anchored(issuer, root) -> (block time, leaf count)``, so nobody can take a root
  someone else is about to anchor;
- version 1 (``Anchor.vy``): ``anchorOf(root) -> (issuer, block time, leaf count)``,
  first sender wins. Still read, for stores and bundles anchored with it (docs/provenance.md,
  "Migration"), never deployed again.

`load_artifact` reads a committed ``*.json`` artifact (no compiler at run time);
`compile_anchor` recompiles a source with vyper from PyPI (in-process) so a test can
check the artifacts still match their sources. `runtime_code_hash` is the keccak of the
runtime bytecode, which `verify` compares with ``eth_getCode`` of a contract that is not
pinned in the trust list::

    python -m lgcraft.provenance.contract   # rewrite both artifacts after editing a source
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from lgcraft.errors import DependencyError, OperationError
from lgcraft.files import write_text_atomic

CONTRACT_DIR = Path(__file__).resolve().parent / "contracts"
SOURCES = {1: CONTRACT_DIR / "Anchor.vy", 2: CONTRACT_DIR / "AnchorV2.vy"}
ARTIFACTS = {1: CONTRACT_DIR / "Anchor.json", 2: CONTRACT_DIR / "AnchorV2.json"}
CURRENT_VERSION = 2
SOURCE_PATH = SOURCES[1]
ARTIFACT_PATH = ARTIFACTS[1]
EVM_VERSION = "cancun"
# keccak("Anchored(address,bytes32,uint256,uint256)"): topic 0 of the version 2 event
ANCHORED_V2_TOPIC = "0xfdb3bf667beac2c2ec43eb46591be8a61f3426d05a1e30c8a59ff6608bab0088"


def compile_anchor(version: int = 1) -> dict[str, Any]:
    """Compile the anchor contract of ``version`` and return its artifact dict.

    >>> compile_anchor(2)["contract"]  # doctest: +SKIP
    'AnchorV2'
    """
    try:
        import vyper
        from vyper.compiler import compile_code
    except ImportError as exc:  # pragma: no cover - vyper is a test dependency
        raise DependencyError("vyper is not installed", hint="pip install 'vyper>=0.4'") from exc
    path = SOURCES[version]
    source = path.read_text(encoding="utf-8")
    out = compile_code(source, output_formats=["abi", "bytecode", "bytecode_runtime"])
    return {
        "contract": path.stem,
        "compiler": f"vyper {vyper.__version__.split('+')[0]}",
        "evm_version": EVM_VERSION,
        "source": f"lgcraft/provenance/contracts/{path.name}",
        "source_sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "bytecode_runtime": out["bytecode_runtime"],
    }


@cache
def load_artifact(version: int = CURRENT_VERSION) -> dict[str, Any]:
    """The committed compiled artifact (abi, bytecode, runtime bytecode) of ``version``."""
    path = ARTIFACTS.get(version)
    if path is None:
        raise OperationError(f"no anchor contract version {version} (this lgcraft knows 1 and 2)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OperationError(f"cannot read the anchor contract artifact {path}: {exc}") from exc


@cache
def runtime_code_hash(version: int) -> str:
    """``0x`` + keccak-256 of the published runtime bytecode of ``version`` (what
    ``EXTCODEHASH`` returns for a genuine deployment)."""
    from eth_hash.auto import keccak

    return "0x" + keccak(bytes.fromhex(load_artifact(version)["bytecode_runtime"].removeprefix("0x"))).hex()


def version_of_code(code: bytes) -> int | None:
    """The lgcraft contract version whose runtime bytecode is ``code``, else None."""
    from eth_hash.auto import keccak

    digest = "0x" + keccak(bytes(code)).hex()
    return next((v for v in ARTIFACTS if runtime_code_hash(v) == digest), None)


def write_artifacts() -> list[Path]:
    written = []
    for version, path in ARTIFACTS.items():
        write_text_atomic(path, json.dumps(compile_anchor(version), indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    print(*write_artifacts(), sep="\n")
