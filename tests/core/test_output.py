"""The output module: JSON for scripts, tables for people, notes on stderr."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from lgcraft.output import Output, to_jsonable


@dataclass
class Measured:
    lens_width_mm: float
    path: Path


def test_json_mode_writes_only_json_to_stdout():
    out, err = io.StringIO(), io.StringIO()
    output = Output(json_mode=True, stdout=out, stderr=err)
    output.info("working...")
    with output.progress("steps", total=2) as advance:
        advance()
        advance()
    output.emit({"marking": "52□18-140", "parts": [Measured(52.0, Path("a.glb"))]},
                render=lambda: output.table("x", ["a"], [[1]]))
    assert json.loads(out.getvalue()) == {
        "marking": "52□18-140", "parts": [{"lens_width_mm": 52.0, "path": "a.glb"}]}
    assert "working..." in err.getvalue()


def test_people_get_a_table_and_quiet_silences_notes():
    out, err = io.StringIO(), io.StringIO()
    output = Output(quiet=True, stdout=out, stderr=err)
    output.info("hidden")
    output.detail("hidden too")
    output.emit({"lens_width_mm": 52})
    assert "lens_width_mm" in out.getvalue() and "52" in out.getvalue()
    assert err.getvalue() == ""


def test_verbose_details_and_warnings_go_to_stderr():
    out, err = io.StringIO(), io.StringIO()
    output = Output(verbose=True, stdout=out, stderr=err)
    output.detail("prompt: a gold ring")
    output.warn("texture missing")
    assert out.getvalue() == ""
    assert "prompt: a gold ring" in err.getvalue() and "Warning: texture missing" in err.getvalue()


def test_to_jsonable_handles_sets_bytes_and_numpy():
    import numpy as np

    assert to_jsonable({"s": {"b", "a"}, "h": b"\x01\xff", "n": np.float32(1.5),
                        "a": np.arange(3)}) == {"s": ["a", "b"], "h": "0x01ff", "n": 1.5, "a": [0, 1, 2]}


def test_values_with_colons_print_as_given_not_as_emoji():
    out, err = io.StringIO(), io.StringIO()
    output = Output(stdout=out, stderr=err)
    output.error("--lora ring.png:abc: file not found", hint="check :smile: paths")
    output.emit({"note": "a:abc:b"})
    assert "--lora ring.png:abc: file not found" in err.getvalue() and ":smile:" in err.getvalue()
    assert "a:abc:b" in out.getvalue()
