"""Every command block in README.md runs as written, in order, in a fresh copy of the
repository, and leaves nothing that .gitignore does not cover.

A block is a ```bash fence. The comment line just above it may say:
- ``<!-- readme: needs-model -->``: each command needs a diffusion model this machine
  does not have; it must fail with one ``Error:`` line and a ``Hint:``;
- ``<!-- readme: skip REASON -->``: not run here (the install and test commands
  themselves, a server that runs until stopped), with its reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"(?:<!-- readme: (?P<mark>[^>]*?) -->\n)?```bash\n(?P<body>.*?)```", re.S)


@dataclass
class Block:
    line: int
    mark: str
    commands: list[str]


def commands_of(body: str) -> list[str]:
    """Commands of a block: continuation lines joined, comment-only lines dropped."""
    commands, current = [], ""
    for raw in body.splitlines():
        line = raw.rstrip()
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.append(current)
            current = ""
    return commands


def readme_blocks(text: str) -> list[Block]:
    return [Block(text[:m.start()].count("\n") + 1, (m.group("mark") or "").strip(),
                  commands_of(m.group("body"))) for m in BLOCK.finditer(text)]


def test_blocks_are_found_and_marked():
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    for block in blocks:
        assert block.mark in ("", "needs-model") or block.mark.startswith("skip "), block
        for command in block.commands:
            assert "<" not in re.sub(r"<<|<\(|2>&1|<-", "", command.split(" #")[0]), (
                f"README line {block.line}: a placeholder the shell reads as a redirection: {command}")


def fresh_copy(tmp_path: Path) -> Path:
    """The tracked files as they are now, in a git repository of their own."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    copy = tmp_path / "lgcraft"
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    if (ROOT / "node_modules").exists():  # what the install command put there
        (copy / "node_modules").symlink_to(ROOT / "node_modules")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run(["git", "add", "-A"], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "copy"], cwd=copy, check=True)
    return copy


@pytest.mark.slow
def test_every_readme_block_runs_as_written(tmp_path):
    copy = fresh_copy(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "LGCRAFT_STATE_DIR": str(tmp_path / "state"),
           "HF_HUB_CACHE": str(tmp_path / "no-models"), "COLUMNS": "100",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for key in [k for k in env if k.startswith("LGCRAFT_") and k != "LGCRAFT_STATE_DIR"]:
        del env[key]
    env.pop("VIRTUAL_ENV", None)
    state = tmp_path / "shell"
    state.mkdir()
    (state / "cwd").write_text(str(copy))
    ran = 0
    for block in readme_blocks(README.read_text(encoding="utf-8")):
        if block.mark.startswith("skip "):
            continue
        if block.mark == "needs-model":
            for command in block.commands:
                done = subprocess.run(["bash", "-c", f'cd "$(cat {state}/cwd)"; {command}'],
                                      env=env, text=True, capture_output=True, timeout=300)
                assert done.returncode != 0, f"README line {block.line}: {command} ran without a model"
                assert "Traceback" not in done.stderr, done.stderr
                lines = done.stderr.strip().splitlines()
                assert sum(line.startswith("Error: ") for line in lines) == 1, (command, done.stderr)
                assert any(line.startswith("Hint: ") for line in lines), (command, done.stderr)
                ran += 1
            continue
        # one shell session, as a newcomer pasting blocks: a `cd` or `export` carries on
        script = ("set -eo pipefail\n"
                  f"[ -f {state}/env ] && source {state}/env; cd \"$(cat {state}/cwd)\"\n"
                  + "\n".join(block.commands)
                  + f"\npwd > {state}/cwd; export -p > {state}/env\n")
        done = subprocess.run(["bash", "-c", script], cwd=copy, env=env, text=True,
                              capture_output=True, timeout=900)
        assert done.returncode == 0, (
            f"README block at line {block.line} failed ({done.returncode}):\n{script}\n"
            f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}")
        assert "Traceback" not in done.stderr, done.stderr
        ran += len(block.commands)
    assert ran >= 20
    left = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=copy,
                          capture_output=True, text=True, check=True).stdout
    assert left == "", f"quick-start outputs that .gitignore does not cover:\n{left}"
