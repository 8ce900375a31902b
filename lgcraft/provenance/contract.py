"""The anchor contract: Vyper source in the package, compiled artifact committed beside it.

`load_artifact` reads the committed ``Anchor.json`` (no compiler needed at run time);
`compile_anchor` recompiles ``Anchor.vy`` with vyper from PyPI (in-process, no binary
download) so a test can check the artifact still matches its source::

    python -m lgcraft.provenance.contract   # rewrite Anchor.json after editing Anchor.vy
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
SOURCE_PATH = CONTRACT_DIR / "Anchor.vy"
ARTIFACT_PATH = CONTRACT_DIR / "Anchor.json"
EVM_VERSION = "cancun"


def compile_anchor() -> dict[str, Any]:
    """Compile ``Anchor.vy`` and return the artifact dict (what ``Anchor.json`` holds).

    >>> compile_anchor()["abi"][0]["name"]  # doctest: +SKIP
    'Anchored'
    """
    try:
        import vyper
        from vyper.compiler import compile_code
    except ImportError as exc:  # pragma: no cover - vyper is a test dependency
        raise DependencyError("vyper is not installed", hint="pip install 'vyper>=0.4'") from exc
    source = SOURCE_PATH.read_text(encoding="utf-8")
    out = compile_code(source, output_formats=["abi", "bytecode", "bytecode_runtime"])
    return {
        "contract": "Anchor",
        "compiler": f"vyper {vyper.__version__.split('+')[0]}",
        "evm_version": EVM_VERSION,
        "source": "lgcraft/provenance/contracts/Anchor.vy",
        "source_sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "bytecode_runtime": out["bytecode_runtime"],
    }


@cache
def load_artifact() -> dict[str, Any]:
    """The committed compiled artifact (abi, bytecode, runtime bytecode)."""
    try:
        return json.loads(ARTIFACT_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OperationError(f"cannot read the anchor contract artifact {ARTIFACT_PATH}: {exc}") from exc


def write_artifact() -> Path:
    artifact = compile_anchor()
    write_text_atomic(ARTIFACT_PATH, json.dumps(artifact, indent=1, sort_keys=True) + "\n")
    return ARTIFACT_PATH


if __name__ == "__main__":  # pragma: no cover
    print(write_artifact())
