"""YAML documents with positions: every value keeps the line and column it came from.

PyYAML's composed nodes carry start marks; we build plain Python objects from them and
keep a side table ``path -> (line, column)`` (1-based), so any later error about a value
can name ``file:line:column``. Paths are tuples of mapping keys and list indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError

Pos = tuple[int, int]


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a script or profile file, with where it is and the value."""

    file: str
    line: int
    column: int
    message: str
    value: Any = None

    def __str__(self) -> str:
        shown = "" if self.value is None else f" (value: {self.value!r})"
        return f"{self.file}:{self.line}:{self.column}: {self.message}{shown}"


class ToyScriptError(InputError):
    """A script or profile that does not load or validate. Exit 2."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        first = diagnostics[0]
        more = len(diagnostics) - 1
        hint = (f"{more} more problem(s); run 'lgcraft toys validate' to list them all"
                if more else None)
        super().__init__(str(first), hint=hint)
        self.diagnostics = diagnostics


@dataclass
class Document:
    """A loaded YAML document: ``data`` plus the positions of its values and keys."""

    file: str
    data: Any
    positions: dict[tuple, Pos] = field(default_factory=dict)
    key_positions: dict[tuple, Pos] = field(default_factory=dict)

    def pos(self, path: tuple, key: bool = False) -> Pos:
        """Best position for ``path``: the exact node, else its nearest ancestor."""
        table = self.key_positions if key else self.positions
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), (1, 1))

    def diag(self, path: tuple, message: str, value: Any = None, key: bool = False) -> Diagnostic:
        line, column = self.pos(path, key=key)
        return Diagnostic(self.file, line, column, message, value)


def _convert(node, path: tuple, doc: Document) -> Any:
    import yaml

    doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _convert_scalar(key_node, doc)
            if isinstance(key, dict | list):
                raise ToyScriptError([doc.diag(path, "a mapping key must be a plain value")])
            if key in result:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                raise ToyScriptError([Diagnostic(doc.file, line, col, "duplicate key", key)])
            child = (*path, key)
            doc.key_positions[child] = (key_node.start_mark.line + 1,
                                        key_node.start_mark.column + 1)
            result[key] = _convert(value_node, child, doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), doc) for i, item in enumerate(node.value)]
    return _convert_scalar(node, doc)


def _convert_scalar(node, doc: Document) -> Any:
    import yaml

    if not isinstance(node, yaml.ScalarNode):
        return _convert(node, ("<key>",), doc)
    if node.tag == "tag:yaml.org,2002:bool" and node.value.lower() not in ("true", "false"):
        return node.value  # YAML 1.2: 'on', 'off', 'yes', 'no' are plain words ('on:' is a key)
    constructor = yaml.constructor.SafeConstructor()
    return constructor.construct_object(node, deep=True)


def parse_yaml(text: str, file: str = "<string>") -> Document:
    """Parse YAML text into a `Document`; syntax errors become a positioned `ToyScriptError`.

    >>> parse_yaml("a: [1, 2]").pos(("a", 1))
    (1, 8)
    """
    import yaml

    doc = Document(file=file, data=None)
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        node = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ToyScriptError([Diagnostic(file, line, col, f"YAML syntax error: {problem}")]) from exc
    if node is None:
        raise ToyScriptError([Diagnostic(file, 1, 1, "the file is empty")])
    doc.data = _convert(node, (), doc)
    return doc


def load_yaml(path: str | Path) -> Document:
    """Read and parse a YAML file; a missing or unreadable file is an `InputError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    return parse_yaml(text, str(path))
