"""docs/cli.md matches --help, and every command has help text with an example."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from lgcraft.cli import app
from lgcraft.clidocs import iter_commands, render_cli_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_current():
    assert DOCS.read_text(encoding="utf-8") == render_cli_markdown(), (
        "docs/cli.md is stale: run `python scripts/gen_cli_docs.py`")


def test_every_command_has_help_with_an_example():
    missing = []
    for path, command, text in iter_commands(get_command(app)):
        if getattr(command, "commands", None):  # groups need a description only
            if not (command.help or "").strip():
                missing.append(" ".join(path) + " (no description)")
            continue
        if "Example" not in text:
            missing.append(" ".join(path))
    assert not missing, f"commands without an example in --help: {missing}"
