"""Generate docs/cli.md from the commands' own ``--help`` (see scripts/gen_cli_docs.py)."""

from __future__ import annotations

from collections.abc import Iterator


def iter_commands(command, path: tuple[str, ...] = ("lgcraft",), parent=None) -> Iterator:
    """(path, command, help text) for ``command`` and every subcommand, depth first."""
    import typer

    settings = {"terminal_width": 88, "max_content_width": 88, **(command.context_settings or {})}
    ctx = typer.Context(command, info_name=path[-1], parent=parent, **settings)
    yield path, command, command.get_help(ctx)
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            yield from iter_commands(command.get_command(ctx, name), (*path, name), ctx)


def render_cli_markdown() -> str:
    from typer.main import get_command

    from lgcraft.cli import app

    parts = [
        "# lgcraft command reference\n",
        "Generated from `--help` by `python scripts/gen_cli_docs.py`; "
        "tests/test_docs.py fails when this file is stale.\n",
    ]
    for path, _command, text in iter_commands(get_command(app)):
        depth = min(len(path) + 1, 4)
        parts.append(f"{'#' * depth} `{' '.join(path)}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(parts)
