"""Contact sheets: every draft of a folder on one PNG, captioned from its recipe."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from lgcraft.errors import InputError
from lgcraft.files import write_atomic
from lgcraft.jewelry.recipe import RECIPE_CHUNK


@dataclass
class SheetResult:
    file: Path
    images: int
    columns: int
    rows: int
    width: int
    height: int
    skipped: list[str]


def caption_of(path: Path, text_chunks: dict[str, str]) -> list[str]:
    """Two short caption lines: design and seed; metal / stone / cut from the recipe."""
    try:
        recipe = json.loads(text_chunks[RECIPE_CHUNK])
    except (KeyError, ValueError):
        return [path.stem[:40], ""]
    spec = recipe.get("spec") or {}
    first = f"{recipe.get('design', path.stem)}  #{recipe.get('seed')}"
    words = [spec.get(k) for k in ("metal", "stone", "cut", "setting") if spec.get(k)]
    if recipe.get("kind") and recipe["kind"] != "txt2img":
        words.append(recipe["kind"])
    return [first, " / ".join(words)]


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):
        return ImageFont.load_default()


def _fit(draw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


MAX_COLUMNS = 64  # 64 columns of 2048 px thumbnails is already a 131k px wide image


def make_sheet(folder: Path, output: Path, *, thumb: int = 256, columns: int | None = None,
               title: str | None = None) -> SheetResult:
    """Lay out every PNG draft in ``folder`` (sorted by name) with captions.

    >>> make_sheet(Path("drafts"), Path("sheet.png"))  # doctest: +SKIP
    """
    from PIL import Image, ImageDraw, UnidentifiedImageError

    from lgcraft.runs import failed_run

    folder = Path(folder)
    if not folder.is_dir():
        why = failed_run(folder)
        raise InputError(f"not a folder: {folder}" + (f" ({why})" if why else ""),
                         hint="fix that run first" if why else None)
    if not 32 <= thumb <= 2048:
        raise InputError(f"--thumb must be 32-2048 pixels, got {thumb}")
    output = Path(output)
    if output.is_dir():
        raise InputError(f"cannot write {output}: Is a directory")
    if output.suffix.lower() != ".png":
        raise InputError(f"-o {output}: a contact sheet is a PNG; name it *.png")
    paths = sorted(p for p in folder.glob("*.png")
                   if p.resolve() != output.resolve() and not p.name.startswith("."))
    tiles, skipped = [], []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
                chunks = {str(k): str(v) for k, v in getattr(image, "text", {}).items()}
                if "lgcraft-sheet" in chunks:
                    continue
                tile = image.convert("RGB")
                scale = thumb / max(tile.size)
                tile = tile.resize((max(1, round(tile.width * scale)), max(1, round(tile.height * scale))),
                                   Image.Resampling.LANCZOS)
                tiles.append((tile, caption_of(path, chunks)))
        except (UnidentifiedImageError, OSError):
            skipped.append(path.name)
    if not tiles:
        why = failed_run(folder)
        raise InputError(f"no draft PNGs in {folder}" + (f" ({why})" if why else ""),
                         hint="fix that run first" if why else None)
    if columns is not None and not 1 <= columns <= MAX_COLUMNS:
        raise InputError(f"--columns must be 1-{MAX_COLUMNS}, got {columns}")
    cols = columns or min(len(tiles), max(1, math.ceil(math.sqrt(len(tiles) * 1.5))))
    rows = math.ceil(len(tiles) / cols)
    pad, font_size = 12, max(10, thumb // 18)
    caption_h = 2 * (font_size + 4)
    header = (font_size * 2 + pad) if title else 0
    cell_w, cell_h = thumb + pad, thumb + caption_h + pad
    width, height = pad + cols * cell_w, pad + header + rows * cell_h
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    font = _font(font_size)
    if title:
        draw.text((pad, pad // 2), _fit(draw, title, _font(font_size * 2 - 4), width - 2 * pad),
                  fill=(20, 20, 20), font=_font(font_size * 2 - 4))
    for n, (tile, caption) in enumerate(tiles):
        x = pad + (n % cols) * cell_w
        y = pad + header + (n // cols) * cell_h
        sheet.paste(tile, (x + (thumb - tile.width) // 2, y + (thumb - tile.height) // 2))
        for line_no, line in enumerate(caption):
            draw.text((x, y + thumb + 2 + line_no * (font_size + 4)), _fit(draw, line, font, thumb),
                      fill=(40, 40, 40) if line_no == 0 else (110, 110, 110), font=font)
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("lgcraft-sheet", json.dumps({"folder": str(folder), "images": [p.name for p in paths
                                                                                 if p.name not in skipped]}))
    write_atomic(output, lambda handle: sheet.save(handle, format="PNG", pnginfo=info))
    return SheetResult(file=output, images=len(tiles), columns=cols, rows=rows, width=width,
                       height=height, skipped=skipped)
