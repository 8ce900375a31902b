"""``--orders orders.csv``: one piece per row on the mesh engine's batch runner.

Each row is written as an order file (``OUT/orders/NAME.json``: the row's values, its
row number, and the run's defaults), and the runner's job builds the piece from it.
So the runner's digest of the order file is the digest of the order: ``--resume``
skips exactly the orders whose values and options are unchanged, and any executor the
runner gains (worker processes here) runs custom orders too. A row with a bad value
fails alone, named by its row and column; the rest of the batch goes on.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lgcraft.errors import InputError
from lgcraft.files import write_atomic

ROW_FIELDS = ("name", "status", "checks", "failed_checks", "type", "size", "inner_diameter_mm",
              "metal", "metal_weight_g", "stone_carat", "quote", "seconds", "error", "row")


def read_orders(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The CSV's columns and rows (UTF-8, with or without a BOM)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"--orders {path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"--orders {path}: not UTF-8 text (byte {exc.start})",
                         hint="save the sheet as CSV UTF-8") from None
    except OSError as exc:
        raise InputError(f"--orders {path}: cannot read ({exc.strerror})") from None
    reader = csv.DictReader(text.splitlines())
    columns = [c for c in (reader.fieldnames or []) if c is not None]
    if not columns:
        raise InputError(f"--orders {path}: no header row", hint="first row: name,type,size,size_system,...")
    rows = []
    for row in reader:
        if None in row:  # more cells than columns
            row = {k: v for k, v in row.items() if k is not None} | {"__extra__": ",".join(row[None])}
        if any((v or "").strip() for k, v in row.items() if k != "__extra__"):
            rows.append(row)
    if not rows:
        raise InputError(f"--orders {path}: no orders in the file")
    return columns, rows


def write_order_files(columns: list[str], rows: list[dict[str, str]], defaults: dict[str, Any],
                      folder: Path) -> list[Path]:
    """One order file per row (named after the order; unnamed rows get ``row-N``)."""
    paths, seen = [], set()
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        name = (row.get("name") or row.get("order_id") or "").strip() or f"row-{number}"
        stem = name if name not in seen else f"{name}-row-{number}"
        safe = "".join(ch if (ch.isalnum() or ch in "._-") else "_" for ch in stem).strip(".") or f"row-{number}"
        seen.add(name)
        body = {"row": number, "columns": columns, "values": row, "defaults": defaults,
                "duplicate": stem != name}
        path = folder / f"{safe}.json"
        write_atomic(path, json.dumps(body, ensure_ascii=False, sort_keys=True).encode())
        paths.append(path)
    return paths


def order_from_file(path: Path):
    """The checked `CustomOrder` of one order file (errors name the row)."""
    from lgcraft.jewelry.custom.order import check_columns, make_order

    body = json.loads(Path(path).read_text(encoding="utf-8"))
    where = f"row {body['row']}"
    values = dict(body["values"])
    if "__extra__" in values:
        raise InputError(f"{where}: more cells than columns ({values['__extra__']!r})",
                         hint="quote values that hold commas")
    fields = check_columns(body["columns"], values, where)
    if body.get("duplicate"):
        raise InputError(f"{where}: order name {fields.get('name')!r} is used by an earlier row",
                         hint="give every order its own name")
    merged = {**body["defaults"], **{k: v for k, v in fields.items() if v not in (None, "")}}
    return make_order(merged, where=where), where


def custom_job(item, options) -> dict:
    """The batch runner's job for one order file (see `lgcraft.meshes.batch`)."""
    from lgcraft.errors import LgcraftError
    from lgcraft.jewelry.custom.make import make_piece

    order, where = order_from_file(item.path)
    try:
        report = make_piece(order, item.out_dir, options)
    except LgcraftError as exc:
        if exc.message.startswith("row "):
            raise
        raise type(exc)(f"{where} ({order.name}): {exc.message}", hint=exc.hint) from None
    report["row"] = int(where.split()[1])
    if order.name != item.name:
        raise InputError(f"{where}: order name {order.name!r} cannot name a file here")
    return report


def custom_row(result) -> dict:
    """One order's row in batch.json / batch.csv."""
    r = result.report or {}
    failed = [c["name"] for c in r.get("checks", []) if c["status"] == "fail"]
    return {"name": result.name, "status": result.status, "checks": r.get("status"),
            "failed_checks": ";".join(failed) or None, "type": r.get("type"),
            "size": (r.get("ring") or {}).get("size_ordered"),
            "inner_diameter_mm": (r.get("ring") or {}).get("inner_diameter_mm"),
            "metal": (r.get("metal") or {}).get("term"), "metal_weight_g": r.get("metal_weight_g"),
            "stone_carat": (r.get("stone") or {}).get("carat"),
            "quote": (r.get("quote") or {}).get("metal_cost"),
            "seconds": round(result.seconds, 2), "error": result.error, "row": r.get("row")}


def warm(paths, options) -> None:
    """Import what every order needs once, before the workers fork."""
    import manifold3d  # noqa: F401
    import numpy  # noqa: F401
    from fontTools.ttLib import TTFont  # noqa: F401

    from lgcraft.jewelry.custom import checks, engrave, make, pieces, render, settings  # noqa: F401
    from lgcraft.jewelry.custom.fonts import load_font

    try:
        load_font(None).preload()  # the default font's tables, in memory before the fork
    except InputError:
        pass


def run_orders(csv_path: Path, out_dir: Path, options, defaults: dict[str, Any], *, jobs: int = 1,
               resume: bool = False, on_done: Callable | None = None, executor=None):
    """Build every order of a CSV (``jobs`` worker processes, or one Ray task per order
    with a Ray ``executor``); batch.json/csv last."""
    from lgcraft.meshes.batch import run_batch

    columns, rows = read_orders(csv_path)
    paths = write_order_files(columns, rows, defaults, Path(out_dir) / "orders")
    return run_batch(paths, out_dir, custom_job, options, jobs=jobs, resume=resume, on_done=on_done,
                     row=custom_row, fields=ROW_FIELDS, warm=warm, executor=executor)
