"""Guard and value expressions: a tiny typed integer language.

Grammar (Python-like, parsed with `ast` and then restricted): integer literals,
``true``/``false``, variable names, ``+ - *``, unary ``-``, ``min(a, b)``, ``max(a, b)``,
comparisons ``< <= > >= == !=`` (not chained), ``and``, ``or``, ``not``, parentheses.

Types: ``int`` and ``bool``; arithmetic and comparisons take ints, ``and``/``or``/``not``
take bools. A guard must be bool; a ``set`` value or a utility score must be int.

Arithmetic is exact: each expression is checked by interval analysis (variables are
bounded) so that no intermediate value leaves the signed 32-bit range; the C runtime can
then evaluate with plain ``int32_t`` and agree with Python bit for bit.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1

# RPN opcodes, shared with the binary format and the C runtime (docs/toys-format.md).
OP_END, OP_CONST, OP_VAR = 0x00, 0x01, 0x02
OP_ADD, OP_SUB, OP_MUL, OP_NEG = 0x03, 0x04, 0x05, 0x06
OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE = 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C
OP_AND, OP_OR, OP_NOT, OP_MIN, OP_MAX = 0x0D, 0x0E, 0x0F, 0x10, 0x11

_CMP = {ast.Lt: (OP_LT, "<"), ast.LtE: (OP_LE, "<="), ast.Gt: (OP_GT, ">"),
        ast.GtE: (OP_GE, ">="), ast.Eq: (OP_EQ, "=="), ast.NotEq: (OP_NE, "!=")}
_ARITH = {ast.Add: (OP_ADD, "+"), ast.Sub: (OP_SUB, "-"), ast.Mult: (OP_MUL, "*")}


class ExprError(ValueError):
    """A bad expression; the message names the offending part."""


@dataclass(frozen=True)
class Compiled:
    """A checked expression: its type, RPN code, Python source and stack depth."""

    source: str
    type: str  # "int" | "bool"
    rpn: bytes
    python: str  # an expression over ``v`` (the list of variable values)
    depth: int
    low: int
    high: int
    variables: frozenset[str]


def compile_expr(source: str | int | bool, bounds: dict[str, tuple[int, int]],
                 index: dict[str, int]) -> Compiled:
    """Parse, type-check and compile ``source`` against bounded variables.

    >>> c = compile_expr("mood > 3 and energy >= 10", {"mood": (0, 10), "energy": (0, 99)},
    ...                  {"mood": 0, "energy": 1})
    >>> c.type, c.python
    ('bool', '((v[0] > 3) and (v[1] >= 10))')
    """
    if isinstance(source, bool):
        text = "true" if source else "false"
    elif isinstance(source, int):
        text = str(source)
    elif isinstance(source, str):
        text = source.strip()
    else:
        raise ExprError(f"an expression must be text or a number, not {type(source).__name__}")
    if not text:
        raise ExprError("empty expression")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"syntax error in expression at column {exc.offset}") from exc
    code = bytearray()
    used: set[str] = set()
    typ, py, low, high, depth = _walk(tree.body, bounds, index, code, used)
    code.append(OP_END)
    return Compiled(text, typ, bytes(code), py, depth, low, high, frozenset(used))


def _range_check(low: int, high: int, what: str) -> None:
    if low < INT32_MIN or high > INT32_MAX:
        raise ExprError(f"'{what}' can overflow 32-bit integers (range {low}..{high})")


def _walk(node, bounds, index, code: bytearray, used: set[str]):
    """Returns (type, python source, low, high, stack depth) and appends RPN to ``code``."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise ExprError(f"unsupported literal {node.value!r}")
        value = node.value
        if not INT16_MIN <= value <= INT16_MAX:
            raise ExprError(f"constant {value} is outside -32768..32767")
        code.append(OP_CONST)
        code += int(value).to_bytes(2, "little", signed=True)
        return "int", str(value), value, value, 1
    if isinstance(node, ast.Name):
        if node.id in ("true", "false"):
            value = 1 if node.id == "true" else 0
            code.append(OP_CONST)
            code += value.to_bytes(2, "little", signed=True)
            return "bool", "True" if value else "False", value, value, 1
        if node.id not in bounds:
            raise ExprError(f"unknown variable '{node.id}'")
        used.add(node.id)
        low, high = bounds[node.id]
        code += bytes([OP_VAR, index[node.id]])
        return "int", f"v[{index[node.id]}]", low, high, 1
    if isinstance(node, ast.UnaryOp):
        typ, py, low, high, depth = _walk(node.operand, bounds, index, code, used)
        if isinstance(node.op, ast.USub):
            _need("int", typ, "-", py)
            code.append(OP_NEG)
            _range_check(-high, -low, "-" + py)
            return "int", f"(-{py})", -high, -low, depth
        if isinstance(node.op, ast.Not):
            _need("bool", typ, "not", py)
            code.append(OP_NOT)
            return "bool", f"(not {py})", 0, 1, depth
        raise ExprError("unsupported unary operator")
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITH:
            raise ExprError(f"unsupported operator {type(node.op).__name__} (use + - * only)")
        ta, pa, la, ha, da = _walk(node.left, bounds, index, code, used)
        tb, pb, lb, hb, db = _walk(node.right, bounds, index, code, used)
        opcode, sym = _ARITH[type(node.op)]
        _need("int", ta, sym, pa)
        _need("int", tb, sym, pb)
        if opcode == OP_ADD:
            low, high = la + lb, ha + hb
        elif opcode == OP_SUB:
            low, high = la - hb, ha - lb
        else:
            products = (la * lb, la * hb, ha * lb, ha * hb)
            low, high = min(products), max(products)
        py = f"({pa} {sym} {pb})"
        _range_check(low, high, py)
        code.append(opcode)
        return "int", py, low, high, max(da, db + 1)
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise ExprError("chained comparisons are not supported; use 'and'")
        ta, pa, _, _, da = _walk(node.left, bounds, index, code, used)
        tb, pb, _, _, db = _walk(node.comparators[0], bounds, index, code, used)
        if type(node.ops[0]) not in _CMP:
            raise ExprError("unsupported comparison")
        opcode, sym = _CMP[type(node.ops[0])]
        _need("int", ta, sym, pa)
        _need("int", tb, sym, pb)
        code.append(opcode)
        return "bool", f"({pa} {sym} {pb})", 0, 1, max(da, db + 1)
    if isinstance(node, ast.BoolOp):
        opcode, word = (OP_AND, "and") if isinstance(node.op, ast.And) else (OP_OR, "or")
        parts = []
        depth = 0
        for i, value in enumerate(node.values):
            typ, py, _, _, d = _walk(value, bounds, index, code, used)
            _need("bool", typ, word, py)
            depth = max(depth, d + (1 if i else 0))
            parts.append(py)
            if i:
                code.append(opcode)
        return "bool", "(" + f" {word} ".join(parts) + ")", 0, 1, depth
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
        if len(node.args) != 2 or node.keywords:
            raise ExprError(f"{node.func.id}() takes exactly two values")
        ta, pa, la, ha, da = _walk(node.args[0], bounds, index, code, used)
        tb, pb, lb, hb, db = _walk(node.args[1], bounds, index, code, used)
        _need("int", ta, node.func.id, pa)
        _need("int", tb, node.func.id, pb)
        if node.func.id == "min":
            code.append(OP_MIN)
            low, high = min(la, lb), min(ha, hb)
        else:
            code.append(OP_MAX)
            low, high = max(la, lb), max(ha, hb)
        return "int", f"{node.func.id}({pa}, {pb})", low, high, max(da, db + 1)
    raise ExprError(f"unsupported syntax: {type(node).__name__}")


def _need(expected: str, got: str, op: str, operand: str) -> None:
    if expected != got:
        raise ExprError(f"type error: '{op}' needs {expected} operands, got {got} ({operand})")


def eval_rpn(code: bytes, values: list[int], start: int = 0) -> int:
    """Reference evaluator of RPN code (what the C runtime does), for tests."""
    stack: list[int] = []
    i = start
    while True:
        op = code[i]
        i += 1
        if op == OP_END:
            return stack[-1]
        if op == OP_CONST:
            stack.append(int.from_bytes(code[i:i + 2], "little", signed=True))
            i += 2
        elif op == OP_VAR:
            stack.append(values[code[i]])
            i += 1
        elif op == OP_NEG:
            stack.append(-stack.pop())
        elif op == OP_NOT:
            stack.append(0 if stack.pop() else 1)
        else:
            b, a = stack.pop(), stack.pop()
            stack.append(_BINARY[op](a, b))


_BINARY = {
    OP_ADD: lambda a, b: a + b, OP_SUB: lambda a, b: a - b, OP_MUL: lambda a, b: a * b,
    OP_LT: lambda a, b: int(a < b), OP_LE: lambda a, b: int(a <= b),
    OP_GT: lambda a, b: int(a > b), OP_GE: lambda a, b: int(a >= b),
    OP_EQ: lambda a, b: int(a == b), OP_NE: lambda a, b: int(a != b),
    OP_AND: lambda a, b: int(bool(a) and bool(b)), OP_OR: lambda a, b: int(bool(a) or bool(b)),
    OP_MIN: min, OP_MAX: max,
}
