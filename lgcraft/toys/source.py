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
class Limits:
    """What a script or profile may cost before it is parsed into objects.

    Checked on the file size (before reading) and on YAML's event stream (before any
    object is built), so a 600-byte alias bomb or a 12 MB file is refused in
    milliseconds. Defaults fit the largest real toy scripts many times over; the
    settings ``[toys] max_file_bytes``, ``max_yaml_nodes``, ``max_yaml_depth`` and
    ``max_yaml_aliases`` change them (e.g. ``LGCRAFT_TOYS_MAX_FILE_BYTES=2000000``).
    """

    max_file_bytes: int = 1_000_000
    max_nodes: int = 200_000  # values after alias expansion
    max_depth: int = 64  # nested mappings/lists
    max_aliases: int = 10_000


DEFAULT_LIMITS = Limits()


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

    def __init__(self, diagnostics: list[Diagnostic], script=None) -> None:
        diagnostics = sorted(diagnostics, key=lambda d: (d.file, d.line, d.column))
        first = diagnostics[0]
        more = len(diagnostics) - 1
        hint = (f"{more} more problem(s); run 'lgcraft toys validate' to list them all"
                if more else None)
        super().__init__(str(first), hint=hint)
        self.diagnostics = diagnostics
        self.script = script  # what could be built despite the problems (for validate)


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


def _resource_check(text: str, file: str, limits: Limits, loader) -> None:
    """Walk YAML's event stream once (no objects built) and refuse a document whose
    expanded size, nesting or alias count is over ``limits``: an alias counts as the
    whole value it names, so ``&a [*b, *b, ...]`` chains are measured, not expanded."""
    import yaml

    if len(text.encode("utf-8", "surrogatepass")) > limits.max_file_bytes:
        raise ToyScriptError([Diagnostic(file, 1, 1, f"the file is larger than {limits.max_file_bytes} bytes "
                                         "(setting toys.max_file_bytes)", len(text))])
    sizes: dict[str, int] = {}
    stack: list[list] = []  # [anchor, expanded size so far]
    total = aliases = 0

    def fail(event, message: str, value=None):
        mark = event.start_mark
        raise ToyScriptError([Diagnostic(file, mark.line + 1, mark.column + 1, message, value)])

    def add(n: int, event) -> None:
        nonlocal total
        total += n
        if stack:
            stack[-1][1] += n
        if total > limits.max_nodes:
            fail(event, f"the document expands to more than {limits.max_nodes} values "
                        "(an alias bomb? setting toys.max_yaml_nodes)")

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            add(1, event)
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) > limits.max_depth:
                fail(event, f"values nested deeper than {limits.max_depth} levels (setting toys.max_yaml_depth)")
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
            total += 1  # its children were counted as they came
            if stack:
                stack[-1][1] += size
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > limits.max_aliases:
                fail(event, f"more than {limits.max_aliases} aliases (setting toys.max_yaml_aliases)")
            if event.anchor not in sizes:  # an alias inside its own anchor: a cycle
                fail(event, "an alias refers to the value that contains it (a recursive alias)",
                     f"*{event.anchor}")
            add(sizes[event.anchor], event)


def parse_yaml(text: str, file: str = "<string>", limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse YAML text into a `Document`; syntax errors become a positioned `ToyScriptError`.
    Resource limits (`Limits`) are checked before any object is built.

    >>> parse_yaml("a: [1, 2]").pos(("a", 1))
    (1, 8)
    """
    import yaml

    doc = Document(file=file, data=None)
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _resource_check(text, file, limits, loader)
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


def load_yaml(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Read and parse a YAML file; a missing or unreadable file is an `InputError`, a
    file over ``limits.max_file_bytes`` is refused before it is read."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise ToyScriptError([Diagnostic(str(path), 1, 1, f"the file is larger than {limits.max_file_bytes} "
                                             "bytes (setting toys.max_file_bytes)", size)])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    return parse_yaml(text, str(path), limits)
