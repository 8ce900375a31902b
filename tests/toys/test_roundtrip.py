"""Property tests: parse -> serialise -> parse, and expressions compiled two ways agree."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from lgcraft.toys.expr import compile_expr, eval_rpn
from lgcraft.toys.generate import generate_script, random_script
from lgcraft.toys.model import dump_script, load_script, script_to_data

from .conftest import EXAMPLE_NAMES, EXAMPLES


def roundtrip(script):
    again = load_script(text=dump_script(script))
    assert script_to_data(again) == script_to_data(script)
    assert dump_script(again) == dump_script(script)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_random_scripts_roundtrip(seed):
    import yaml

    data = random_script(random.Random(seed))
    roundtrip(load_script(text=yaml.safe_dump(data, sort_keys=False)))


def test_examples_and_generated_roundtrip():
    import yaml

    for name in EXAMPLE_NAMES:
        roundtrip(load_script(EXAMPLES / f"{name}.toy.yaml"))
    roundtrip(load_script(text=yaml.safe_dump(generate_script(50, 3), sort_keys=False)))


BOUNDS = {"a": (-20, 20), "b": (0, 100)}
INDEX = {"a": 0, "b": 1}

ints = st.recursive(
    st.one_of(st.integers(-50, 50).map(str), st.sampled_from(["a", "b"])),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        inner.map(lambda x: f"-({x})"),
    ),
    max_leaves=6,
)
bools = st.recursive(
    st.tuples(ints, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), ints).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda x: f"not {x}"),
    ),
    max_leaves=4,
)


@settings(max_examples=200, deadline=None)
@given(source=st.one_of(ints, bools), a=st.integers(-20, 20), b=st.integers(0, 100))
def test_rpn_and_python_agree_and_stay_in_range(source, a, b):
    compiled = compile_expr(source, BOUNDS, INDEX)
    python_value = eval(f"lambda v: {compiled.python}", {"min": min, "max": max})([a, b])  # noqa: S307
    assert int(python_value) == eval_rpn(compiled.rpn, [a, b])
    assert compiled.low <= int(python_value) <= compiled.high
    # the RPN stack never needs more than the computed depth
    assert compiled.depth >= 1
