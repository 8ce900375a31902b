"""Writing output files all or nothing, shared by every trade.

A killed run leaves either the old file or the new one, never half of one: data goes to
a temporary file beside the target, is flushed to disk, then renamed over it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from lgcraft.errors import InputError

TEMP_SUFFIX = ".part"  # temporaries are ".<name>.<random>.part" beside the target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, data: bytes | Callable[[BinaryIO], object], *,
                 mode: int | None = None, exclusive: bool = False) -> None:
    """Write ``data`` (bytes, or a function writing to a binary handle) to ``path``.

    The file gets ``mode``, by default the permissions a plain ``open(path, "w")``
    would give (mkstemp's are owner-only). ``exclusive`` refuses to replace an existing
    file, atomically (a file created meanwhile is not overwritten either). A path that
    cannot be written (a folder, under a file, read-only) is an `InputError` naming it;
    the file already there is left as it was.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except FileExistsError as exc:  # mkdir met a file where a folder should be
        raise InputError(f"cannot write {path}: Not a directory") from exc
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes | bytearray | memoryview):
                handle.write(data)
            else:
                data(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, (0o666 & ~_umask()) if mode is None else mode)
        if exclusive:
            os.link(tmp, path)  # fails if path exists, whoever made it
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise InputError(f"{path} already exists; not overwriting it") from exc
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {path}: {exc.strerror}") from exc
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """`write_atomic` for UTF-8 text."""
    write_atomic(path, text.encode("utf-8"))
