"""Runs that failed before making anything, remembered by their output folder.

A newcomer's first failure should be said once: when ``lgcraft jewelry draft --out
capsule`` fails (no model), the next command that is handed ``capsule`` names that run
and its error instead of a bare "not a folder". The log is a small JSON file in the
user's state directory (``LGCRAFT_STATE_DIR`` overrides it), never beside the outputs.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

MAX_ENTRIES = 50
_OUT_FLAGS = ("--out", "-o", "--output")


def state_dir() -> Path:
    if os.environ.get("LGCRAFT_STATE_DIR"):
        return Path(os.environ["LGCRAFT_STATE_DIR"])
    from platformdirs import user_state_dir

    return Path(user_state_dir("lgcraft"))


def _log_file() -> Path:
    return state_dir() / "failed-runs.json"


def out_folder(argv: list[str]) -> str | None:
    """The output folder a command line names (``--out X``, ``-o X``, ``--out=X``)."""
    for i, arg in enumerate(argv):
        if arg in _OUT_FLAGS and i + 1 < len(argv):
            return argv[i + 1]
        for flag in _OUT_FLAGS:
            if arg.startswith(flag + "=") and flag.startswith("--"):
                return arg.split("=", 1)[1]
    return None


def _key(folder: str | Path) -> str:
    return str(Path(folder).expanduser().resolve())


def _read() -> dict[str, dict]:
    try:
        data = json.loads(_log_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def record_failure(argv: list[str], error: str) -> None:
    """Remember that ``lgcraft ARGV`` failed with ``error``, if it named an output folder
    that it left empty or absent. Never raises: this is a courtesy, not a feature a run
    depends on."""
    folder = out_folder(argv)
    if not folder:
        return
    try:
        path = Path(folder).expanduser()
        if path.is_dir() and any(path.iterdir()):
            return  # it made something: the folder speaks for itself
        entries = _read()
        entries.pop(_key(path), None)
        entries[_key(path)] = {"command": "lgcraft " + " ".join(argv), "error": error,
                               "time": time.strftime("%Y-%m-%d %H:%M")}
        kept = dict(list(entries.items())[-MAX_ENTRIES:])
        from lgcraft.files import write_atomic

        write_atomic(_log_file(), json.dumps(kept, ensure_ascii=False, indent=1).encode())
    except Exception:  # a broken state dir must not change the exit
        return


def forget(folder: str | Path) -> None:
    """Drop the failure remembered for ``folder`` (a later run of it succeeded)."""
    try:
        entries = _read()
        if entries.pop(_key(folder), None) is not None:
            from lgcraft.files import write_atomic

            write_atomic(_log_file(), json.dumps(entries, ensure_ascii=False, indent=1).encode())
    except Exception:
        return


def failed_run(folder: str | Path) -> str | None:
    """A sentence naming the failed run that should have filled ``folder``, or None.

    >>> failed_run("capsule")  # doctest: +SKIP
    "the run `lgcraft jewelry draft ... --out capsule` (2026-12-04 21:30) made nothing: model ..."
    """
    entry = _read().get(_key(folder))
    if not entry:
        return None
    return f"the run `{entry['command']}` ({entry['time']}) made nothing: {entry['error']}"
