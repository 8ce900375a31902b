"""Fast start: --help of the root and of each group imports no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "diffusers", "transformers", "trimesh", "web3", "pyrender", "pxr",
         "eth_tester", "eth", "numpy", "scipy")

PROBE = """
import json, sys
from lgcraft.cli import main
try:
    main({args!r})
except SystemExit:
    pass
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["jewelry", "--help"], ["eyewear", "--help"],
                                  ["toys", "--help"], ["provenance", "--help"], ["--version"]])
def test_help_imports_no_heavy_module(args):
    result = subprocess.run([sys.executable, "-c", PROBE.format(args=args)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert "Usage" in result.stdout or "lgcraft" in result.stdout
    assert not loaded & set(HEAVY), f"{args} imported {sorted(loaded & set(HEAVY))}"


def test_root_help_loads_no_trade_group():
    result = subprocess.run([sys.executable, "-c", PROBE.format(args=["--help"]).replace(
        "m.split('.')[0] for m", "m for m")], capture_output=True, text=True, timeout=120)
    loaded = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert "provenance" in result.stdout
    assert not {m for m in loaded if m.endswith(".cli") and m != "lgcraft.cli"}, loaded
