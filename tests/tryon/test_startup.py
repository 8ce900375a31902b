"""The try-on stays off the start-up path: the groups' --help import none of it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from lgcraft.cli import main
try:
    main({args!r})
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["eyewear", "--help"], ["jewelry", "--help"],
                                  ["eyewear", "tryon", "--help"], ["eyewear", "measure", "--help"],
                                  ["jewelry", "tryon", "--help"]])
def test_help_imports_no_tryon_engine(args):
    result = subprocess.run([sys.executable, "-c", PROBE.format(args=args)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stderr.strip().splitlines()[-1]))
    heavy = {m for m in loaded if m.split(".")[0] in ("mediapipe", "pyrender", "numpy", "OpenGL")
             or m.startswith("lgcraft.tryon")}
    assert not heavy, f"{args} imported {sorted(heavy)[:8]}"
    assert "Example:" in result.stdout
