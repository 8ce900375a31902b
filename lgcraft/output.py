"""How results reach people and scripts: the one output module.

People get rich tables and panels on stdout; scripts get JSON on stdout with
``--json`` and nothing else there. Progress bars, notes, warnings and errors go to
stderr, so ``lgcraft --json ... | jq`` always works. JSON keys are a public contract.

Commands get an `Output` from the CLI context (``ctx.obj.out``) and call::

    out.emit(result_dict, render=lambda: out.table("Title", ["a", "b"], rows))
    with out.progress("Preparing meshes", total=len(files)) as advance:
        for f in files: ...; advance()
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths, enums, dates, sets and numpy scalars -> plain JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if hasattr(value, "tolist"):  # numpy arrays and scalars, without importing numpy
        return to_jsonable(value.tolist())
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)


_HEX_TOKEN = re.compile(r"^(0x)?[0-9a-fA-F]{24,}$")
_TEXT_MIN = 36  # a text column keeps words this long whole when the table has room


def shorten_hash(text: str) -> str:
    """``0x`` + 40 or 64 hex digits (or any hex of 24+) as ``0x1234…abcd``; else as given.

    >>> shorten_hash("0x" + "ab" * 32)
    '0xabab…abab'
    """
    if _HEX_TOKEN.match(text):
        prefix = "0x" if text.startswith("0x") else ""
        digits = text[len(prefix):]
        return f"{prefix}{digits[:4]}…{digits[-4:]}"
    return text


def _all_tokens(cells: Sequence[str]) -> bool:
    return any(cells) and all(not any(ch.isspace() for ch in cell) for cell in cells)


def _min_width(name: str, cells: Sequence[str]) -> int:
    """The width a column cannot do without: its longest token (token columns) or a
    readable minimum (text columns, which rich wraps between words)."""
    from rich.cells import cell_len

    token_column = _all_tokens(cells)
    widest = max((cell_len(word) for word in name.split()), default=1)
    for cell in cells:
        for line in cell.splitlines() or [""]:
            words = [line] if token_column else line.split()
            for word in words:
                size = cell_len(word)
                widest = max(widest, size if token_column else min(size, _TEXT_MIN))
    return widest


def need_tokens(names: Sequence[str], cells: Sequence[Sequence[str]], mins: Sequence[int]) -> int:
    """The width the token columns need whole, with a narrow text column beside them."""
    total = 3 * len(names) + 1
    for i, _ in enumerate(names):
        column = [row[i] for row in cells if i < len(row)]
        total += mins[i] if _all_tokens(column) else min(mins[i], 8)
    return total


class Output:
    """Renders results for people or as JSON. One per invocation."""

    def __init__(self, *, json_mode: bool = False, quiet: bool = False,
                 verbose: bool = False, stdout=None, stderr=None) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.verbose = verbose and not quiet
        self._stdout = stdout
        self._stderr = stderr

    # Consoles are made on first use: importing rich costs start-up time.
    @cached_property
    def console(self):
        from rich.console import Console

        # emoji=False: a value like 'ring.png:abc:' must print as given, not as an emoji code
        return Console(file=self._stdout or sys.stdout, highlight=False, soft_wrap=False, emoji=False)

    @cached_property
    def err(self):
        from rich.console import Console

        return Console(file=self._stderr or sys.stderr, highlight=False, stderr=self._stderr is None, emoji=False)

    # -- results -----------------------------------------------------------------
    def emit(self, data: Any, render: Callable[[], Any] | Any | None = None) -> None:
        """Print a result: ``data`` as JSON with --json, else ``render`` for people.

        ``render`` is a rich renderable, a callable returning one (or printing itself
        and returning None), or None for a plain key/value table of ``data``.
        """
        if self.json_mode:
            stream = self._stdout or sys.stdout
            stream.write(dumps(data) + "\n")
            stream.flush()
            return
        if render is None:
            renderable = self.mapping_table(to_jsonable(data))
        elif callable(render):
            renderable = render()
        else:
            renderable = render
        if renderable is not None:
            self.console.print(renderable)

    def json_line(self, data: Any) -> None:
        """One JSON object on one line of stdout: for results that stream (JSON lines)."""
        stream = self._stdout or sys.stdout
        stream.write(json.dumps(to_jsonable(data)) + "\n")
        stream.flush()

    def table(self, title: str | None, columns: Sequence[str],
              rows: Iterable[Sequence[Any]], *, caption: str | None = None,
              optional: Sequence[str] = ()):
        """A rich table that fits the terminal without breaking a token in two.

        Cells are shown as given, but a long hash becomes ``0x1234…abcd`` (the full
        value is in ``--json``). A column whose cells are all single tokens (ids, file
        names, times, hashes) is never wrapped; text columns wrap between words.
        When the tokens cannot fit, the ``optional`` columns are dropped (in the order
        given) and the caption says so.
        """
        from rich.table import Table

        cells = [["" if cell is None else shorten_hash(str(cell)) for cell in row] for row in rows]
        names = list(columns)
        dropped: list[str] = []
        width = self.console.width
        while True:
            mins = [_min_width(name, [row[i] for row in cells if i < len(row)])
                    for i, name in enumerate(names)]
            need = sum(mins) + 3 * len(names) + 1
            drop = next((name for name in optional if name in names and name not in dropped), None)
            if drop is None and len(names) > 2 and need_tokens(names, cells, mins) > width:
                drop = names[-1]  # the tokens cannot fit: the last column goes, not a cut id
            if need <= width or drop is None:
                break
            index = names.index(drop)
            names.pop(index)
            cells = [row[:index] + row[index + 1:] for row in cells]
            dropped.append(drop)
        if dropped:
            note = f"narrow terminal: {', '.join(dropped)} hidden (see --json)"
            caption = f"{caption}; {note}" if caption else note
        table = Table(title=title, caption=caption, title_justify="left")
        for i, name in enumerate(names):
            column = [row[i] for row in cells if i < len(row)]
            if _all_tokens(column):
                table.add_column(name, no_wrap=True, overflow="ellipsis", min_width=mins[i])
            elif need <= width:  # room for every word whole (up to _TEXT_MIN long)
                table.add_column(name, overflow="fold", min_width=mins[i])
            else:  # rich narrows text columns first; only words longer than they are fold
                table.add_column(name, overflow="fold")
        for row in cells:
            table.add_row(*row)
        return table

    def mapping_table(self, data: Any, title: str | None = None):
        if not isinstance(data, dict):
            from rich.pretty import Pretty

            return Pretty(data)
        rows = []
        for key, value in data.items():
            shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
            rows.append((key, shown))
        table = self.table(title, ["field", "value"], rows)
        table.show_header = False
        return table

    def panel(self, body: str, title: str | None = None, style: str = "green"):
        from rich.panel import Panel

        return Panel(body, title=title, border_style=style, expand=False)

    # -- notes on stderr --------------------------------------------------------------
    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(message, markup=False, soft_wrap=True)

    def detail(self, message: str) -> None:
        """Shown only with --verbose."""
        if self.verbose:
            self.err.print(message, markup=False, style="dim", soft_wrap=True)

    def warn(self, message: str) -> None:
        self.err.print(f"Warning: {message}", markup=False, style="yellow", soft_wrap=True)

    def error(self, message: str, hint: str | None = None) -> None:
        self.err.print(f"Error: {message}", markup=False, style="bold red", soft_wrap=True)
        if hint:
            self.err.print(f"Hint: {hint}", markup=False, soft_wrap=True)

    # -- progress ---------------------------------------------------------------------
    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Callable[..., None]]:
        """A progress bar on stderr; yields ``advance(n=1, description=None)``."""
        if self.quiet:
            yield lambda n=1, description=None: None
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=self.err, transient=False) as bar:
            task = bar.add_task(description, total=total)

            def advance(n: int = 1, description: str | None = None) -> None:
                if description is not None:
                    bar.update(task, advance=n, description=description)
                else:
                    bar.advance(task, n)

            yield advance
