"""Regenerate docs/cli.md from the CLI's --help texts."""

from pathlib import Path

from lgcraft.clidocs import render_cli_markdown

target = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
target.write_text(render_cli_markdown(), encoding="utf-8")
print(f"wrote {target}")
