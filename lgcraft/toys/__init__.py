"""Toys: behavior scripts for smart toys: checks, simulator, compiler.

The public API, imported lazily so ``lgcraft toys --help`` stays light::

    from lgcraft.toys import load_script, load_profile, build_program, check_program
    program = build_program(load_script("mimi.toy.yaml"), load_profile("mimi.profile.yaml"))
    report = check_program(program)          # CheckReport
    result = simulate(program, trace, seed=7)  # SimulationResult
    image = encode(program)                  # bytes for the C runtime
"""

from __future__ import annotations

import importlib

_API = {
    "load_script": "lgcraft.toys.model", "load_profile": "lgcraft.toys.model",
    "dump_script": "lgcraft.toys.model", "Script": "lgcraft.toys.model", "Profile": "lgcraft.toys.model",
    "build_program": "lgcraft.toys.program", "Program": "lgcraft.toys.program",
    "check_program": "lgcraft.toys.check", "CheckReport": "lgcraft.toys.check",
    "Engine": "lgcraft.toys.engine",
    "simulate": "lgcraft.toys.simulate", "coverage": "lgcraft.toys.simulate",
    "load_trace": "lgcraft.toys.simulate",
    "encode": "lgcraft.toys.compiler", "read_header": "lgcraft.toys.compiler",
    "size_report": "lgcraft.toys.compiler", "c_sources": "lgcraft.toys.compiler",
    "to_mermaid": "lgcraft.toys.graph", "to_dot": "lgcraft.toys.graph",
    "Diagnostic": "lgcraft.toys.source", "ToyScriptError": "lgcraft.toys.source",
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'lgcraft.toys' has no attribute {name!r}")
