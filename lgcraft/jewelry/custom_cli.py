"""`lgcraft jewelry custom`: a custom piece (band, solitaire, signet) from an order to a
checked, weighed and priced mesh; one piece from flags, or a batch from a CSV."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from lgcraft.context import app_context
from lgcraft.errors import InputError, VerificationError

MAX_JOBS = 256
LIMIT_KEYS = ("min_wall_mm", "warn_wall_mm", "min_prong_mm", "warn_prong_mm", "min_engrave_depth_mm",
              "warn_engrave_depth_mm", "min_stroke_mm", "warn_stroke_mm", "max_seat_gap_mm",
              "warn_seat_gap_mm", "min_seat_depth_mm")


def custom(
    ctx: typer.Context,
    piece_type: str = typer.Option(None, "--type", help="band, solitaire or signet (default band)."),
    size: str = typer.Option(None, "--size", help="Ring size in --size-system, e.g. 7, 6 1/4, N 1/2, 54."),
    size_system: str = typer.Option(None, "--size-system", help="us (default), iso, uk, jp or hk."),
    profile: str = typer.Option(None, "--profile", help="flat, court, d-shape or knife-edge."),
    width: float = typer.Option(None, "--width", help="Band width along the finger, mm."),
    thickness: float = typer.Option(None, "--thickness", help="Band thickness, mm."),
    comfort_fit: bool = typer.Option(None, "--comfort-fit/--no-comfort-fit", help="Dome the inside (court bands always are)."),
    engrave: str = typer.Option(None, "--engrave", metavar="TEXT", help="Text to engrave (any script the font has)."),
    engrave_side: str = typer.Option(None, "--engrave-side", help="inside (default), outside, or top (signet face)."),
    engrave_depth: float = typer.Option(None, "--engrave-depth", help="Engraving depth, mm (default 0.4)."),
    engrave_height: float = typer.Option(None, "--engrave-height", help="Letter (em) height, mm (default: what the band holds)."),
    font: str = typer.Option(None, "--font", metavar="FILE", help="TTF/OTF/TTC font (FILE#N: face N); default Noto Sans CJK SC Bold."),
    stone: str = typer.Option(None, "--stone", help="Stone from the drafts vocabulary, e.g. diamond, sapphire, moissanite."),
    cut: str = typer.Option(None, "--cut", help="round-brilliant, oval, princess, cushion, emerald, asscher, radiant, marquise, pear."),
    stone_size: str = typer.Option(None, "--stone-size", help="mm (6.5), LxW mm (8x6) or carats (1ct)."),
    setting: str = typer.Option(None, "--setting", help="4-prong (default), 6-prong or bezel."),
    prong_diameter: float = typer.Option(None, "--prong-diameter", help="Prong diameter, mm (default from the stone)."),
    seat_depth: float = typer.Option(None, "--seat-depth", help="How deep the girdle sits in each prong, mm."),
    bezel_wall: float = typer.Option(None, "--bezel-wall", help="Bezel wall at the girdle, mm (default 0.8)."),
    face: str = typer.Option(None, "--face", metavar="WxL", help="Signet face across x along the finger, mm (default 12x10)."),
    metal: str = typer.Option(None, "--metal", help="Metal from the drafts vocabulary (default 18k-yellow-gold)."),
    metal_price: float = typer.Option(None, "--metal-price", help="Metal price per gram for the quote (or LGCRAFT_JEWELRY_METAL_PRICE, [jewelry] metal_price)."),
    shrink: float = typer.Option(None, "--shrink", metavar="PCT", help="Casting shrinkage, %: STL/3MF are printed larger by 1/(1-PCT/100)."),
    name: str = typer.Option(None, "--name", help="Order id: names the files (default custom)."),
    out: Path = typer.Option(None, "--out", "-o", metavar="DIR", help="Output folder (default ./custom)."),
    orders: Path = typer.Option(None, "--orders", metavar="CSV", help="One order a row, columns named like these flags; flags fill empty cells."),
    jobs: int = typer.Option(None, "--jobs", "-j", metavar="N", help="Worker processes for --orders (default: CPU count)."),
    resume: bool = typer.Option(False, "--resume", help="With --orders: skip orders already built from the same values."),
    from_draft: Path = typer.Option(None, "--from-draft", metavar="DRAFT.png", help="Type, metal, stone, cut and setting from a draft's recipe (flags override)."),
    limit: list[str] = typer.Option(None, "--limit", metavar="KEY=MM", help="Override a check limit, e.g. min_wall=0.7 (repeatable)."),
    no_preview: bool = typer.Option(False, "--no-preview", help="Skip the PNG previews."),
    record: bool = typer.Option(False, "--record", help="Add a signed custom-order record per piece to the provenance store."),
    designer: str = typer.Option(None, "--designer", help="Designer named in --record records (default [jewelry] designer, else login name)."),
    executor: str = typer.Option(None, "--executor", metavar="local|ray|auto|ray://HOST:PORT", help="With --orders: where to build, local (default) or on Ray, one task per order (see lgcraft eyewear prep --help). Config [run] executor, env LGCRAFT_RUN_EXECUTOR."),
) -> None:
    """A custom ring from an order: band, solitaire or signet, sized, engraved, set, checked, weighed and priced.

    Writes NAME.stl and NAME.3mf (print), NAME.glb (try-on, as `jewelry prep` writes),
    NAME.front.png, NAME.three_quarter.png (and NAME.engraving.png) and NAME.report.json:
    inner diameter and the size in every system, volume, metal weight, stone carats, the
    quote, and checks measured on the final mesh (walls, prongs, engraving depth and
    strokes, stone fit). A failed check still writes the files, then exits 1 naming it.

    Example: lgcraft jewelry custom --type solitaire --size 6.5 --stone diamond --stone-size 1ct --engrave "李小明 2026.5.20" --metal platinum --metal-price 260
    """
    from lgcraft.extras import require

    require("custom")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    app = app_context(ctx)
    get = app.settings.get
    flags: dict[str, Any] = {
        "name": name, "type": piece_type, "size": size, "size_system": size_system, "profile": profile,
        "width": width, "thickness": thickness, "comfort_fit": comfort_fit, "engrave": engrave,
        "engrave_side": engrave_side, "engrave_depth": engrave_depth, "engrave_height": engrave_height,
        "font": font, "stone": stone, "cut": cut, "stone_size": stone_size, "setting": setting,
        "prong_diameter": prong_diameter, "seat_depth": seat_depth, "bezel_wall": bezel_wall,
        "face": face, "metal": metal, "shrink": shrink,
    }
    flags = {k: v for k, v in flags.items() if v is not None}
    if from_draft is not None:
        from lgcraft.jewelry.custom.drafts import fields_from_draft

        flags = {**fields_from_draft(from_draft), **flags}
    price = get("jewelry", "metal_price", float, None, flag=metal_price,
                valid=lambda v: 0 <= v <= 1e6, expect="0-1000000 per gram")
    if price is not None:
        flags["metal_price"] = price
    options = _options(app, limit or [], not no_preview and not get("jewelry", "no_preview", bool, False))
    out_dir = Path(get("jewelry", "custom_out", str, "custom", flag=out))
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} exists and is not a folder")
    target = _record_target(app, designer) if record else None  # key and store checked first
    if orders is not None:
        _run_orders(app, orders, out_dir, options, flags, jobs, resume, target, executor)
        return
    if resume:
        raise InputError("--resume goes with --orders", hint="a single piece is always built afresh")
    if executor is not None:
        raise InputError("--executor goes with --orders", hint="a single piece is built here")
    _run_one(app, flags, out_dir, options, target)


def _options(app, limits: list[str], previews: bool):
    from lgcraft.jewelry.custom.checks import limits_from
    from lgcraft.jewelry.custom.make import CustomOptions

    values: dict[str, Any] = {}
    for key in LIMIT_KEYS:  # [jewelry] min_wall_mm = 0.7, or LGCRAFT_JEWELRY_MIN_WALL_MM
        value = app.settings.get("jewelry", key, float, None)
        if value is not None:
            values[key] = value
    for item in limits:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--limit {item!r}: expected KEY=MM", hint="e.g. --limit min_wall=0.7")
        values[key.strip()] = value.strip()
    currency = app.settings.get("jewelry", "currency", str, None)
    return CustomOptions(limits=limits_from(values), previews=previews, currency=currency)


def _record_target(app, designer: str | None):
    import getpass

    from lgcraft.jewelry.record import open_target

    try:
        default = getpass.getuser()
    except (KeyError, OSError):
        default = "designer"
    name = app.settings.get("jewelry", "designer", str, default, flag=designer)
    return open_target(app.settings, designer=name)


def _failed_checks(report: dict) -> list[dict]:
    return [c for c in report["checks"] if c["status"] == "fail"]


def _run_one(app, flags: dict[str, Any], out_dir: Path, options, target) -> None:
    from lgcraft.jewelry.custom.make import make_piece
    from lgcraft.jewelry.custom.order import make_order
    from lgcraft.meshes.batch import BatchItem, write_report

    if "size" not in flags:
        raise InputError("--size is required", hint="e.g. --size 7 --size-system us (or --orders FILE)")
    order = make_order(flags)
    report = make_piece(order, out_dir, options)
    item = BatchItem(Path("<flags>"), out_dir, order.name, order.key(), options.key())
    report = write_report(item, report)
    if target is not None:
        from lgcraft.jewelry.custom.record import record_pieces

        report["records"] = record_pieces(target, [report])
    from lgcraft.cli import allow_quick_exit

    allow_quick_exit()
    app.out.emit(report, lambda: _render_piece(app.out, report))
    failed = _failed_checks(report)
    if failed:
        first = failed[0]
        raise VerificationError(
            f"check {first['name']} failed: {first['measured_mm']} mm at {first['where']} "
            f"(limit {first['limit']})" + (f"; also {', '.join(c['name'] for c in failed[1:])}" if failed[1:] else ""),
            hint=f"the files are written; see {out_dir / (order.name + '.report.json')}")


def _render_piece(out, report: dict):
    ring = report["ring"]
    sizes = ", ".join(f"{k.upper()} {v}" for k, v in ring["sizes"].items() if v)
    rows = [("inner diameter", f"{ring['inner_diameter_mm']:.2f} mm (ordered {ring['size_ordered']}: "
                               f"{ring['inner_diameter_ordered_mm']:.2f} mm)"),
            ("sizes", sizes), ("volume", f"{report['volume_mm3']:.1f} mm3"),
            ("metal", f"{report['metal']['alloy']} ({report['metal']['density_g_cm3']} g/cm3)"),
            ("metal weight", f"{report['metal_weight_g']:.2f} g")]
    if report.get("stone"):
        s = report["stone"]
        rows.append(("stone", f"{s['kind']} {s['cut']} {s['size']}, {s['carat']:.2f} ct, {s['setting']}"))
    if report.get("quote"):
        q = report["quote"]
        rows.append(("quote", f"{q['metal_cost']:.2f} {q['currency'] or ''} "
                              f"(metal at {q['metal_price_per_g']:g}/g)".replace("  ", " ")))
    if report.get("engraving"):
        e = report["engraving"]
        rows.append(("engraving", f"{e['text']!r} {e['side']}, {e['letter_height_mm']} mm letters, "
                                  f"font {e['font']['name']} ({e['font']['licence']})"))
    table = out.table(f"{report['name']}: {report['type']} - checks {report['status']}", ["", ""], rows)
    out.console.print(table)
    checks = [(c["name"], c["status"], "-" if c["measured_mm"] is None else f"{c['measured_mm']:.3f}",
               c["limit"], c["where"]) for c in report["checks"]]
    out.console.print(out.table("Checks (measured on the final mesh)", ["check", "result", "mm", "limit",
                                                                        "where"], checks))
    files = ", ".join(Path(p).name for p in report["outputs"].values())
    out.info(f"wrote {files} in {Path(report['outputs']['stl']).parent}")
    for record in report.get("records", []):
        out.info(f"recorded {record['item_id']} (record {record['record_hash'][:18]}...)")
    return None


def _run_orders(app, csv_path: Path, out_dir: Path, options, flags: dict[str, Any], jobs: int | None,
                resume: bool, target, executor: str | None = None) -> None:
    from lgcraft.jewelry.custom.batch import custom_row, run_orders
    from lgcraft.meshes.batch import batch_summary
    from lgcraft.run import refuse_urls, resolve_executor

    spec = resolve_executor(app.settings, executor)
    refuse_urls([out_dir])
    get = app.settings.get
    jobs = get("jewelry", "jobs", int, os.cpu_count() or 1, flag=jobs,
               valid=lambda n: 1 <= n <= MAX_JOBS, expect=f"1-{MAX_JOBS}")
    defaults = {k: v for k, v in flags.items() if k != "name"}
    out = app.out
    with out.progress("Building custom orders") as advance:
        batch = run_orders(csv_path, out_dir, options, defaults, jobs=jobs, resume=resume,
                           on_done=lambda r: advance(1, description=f"{r.name}: {r.status}"),
                           executor=spec)
    records = None
    if target is not None:
        from lgcraft.jewelry.custom.record import record_pieces

        written = [f.report for f in batch.files if f.status == "ok" and f.report]
        records = record_pieces(target, written) if written else []
    from lgcraft.cli import allow_quick_exit

    allow_quick_exit()
    summary = batch_summary(batch, custom_row)
    if records is not None:
        summary["records"] = records

    def render():
        rows = []
        for r in summary["files"]:
            result = {"ok": f"checks {r['checks']}", "skipped": f"kept (checks {r['checks']})"}.get(
                r["status"], r["status"])
            note = r["error"] or (f"failed: {r['failed_checks']}" if r["failed_checks"] else "")
            rows.append([r["name"], result, r["type"] or "-", r["size"] or "-",
                         "-" if r["metal_weight_g"] is None else f"{r['metal_weight_g']:.2f}",
                         "-" if r["quote"] is None else f"{r['quote']:.2f}", note])
        return out.table(f"Custom orders from {csv_path.name}",
                         ["order", "result", "type", "size", "metal g", "quote", "notes"], rows,
                         caption=f"{batch.ok} built, {batch.skipped} skipped (resume), {batch.failed} failed; "
                                 f"batch.json/batch.csv in {out_dir}")

    out.emit(summary, render)
    bad_rows = [f for f in batch.files if f.status == "failed"]
    failed_checks = [r for r in summary["files"] if r["failed_checks"]]
    if bad_rows:
        first = bad_rows[0]
        raise InputError(f"{len(bad_rows)} of {len(batch.files)} orders failed; first: {first.error}",
                         hint=f"the other orders are built; see {out_dir / 'batch.csv'}")
    if failed_checks:
        first = failed_checks[0]
        raise VerificationError(f"{len(failed_checks)} of {len(batch.files)} orders failed a check; "
                                f"first: {first['name']} ({first['failed_checks']})",
                                hint=f"files are written; see {out_dir / 'batch.csv'}")
