"""Tables fit the terminal: ids, hashes, times and file names are never cut in two.

Every table lgcraft shows is built by `Output.table`; the tests render real rows of
every trade's shapes at 80 and 120 columns and check each token cell whole on one line.
"""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcraft.output import Output, shorten_hash

ADDRESS = "0x" + "3f" * 20
ROOT = "0x" + "a1b2" * 16
TABLES = {
    "provenance status": (["item", "records", "time", "anchored", "root", "batch"], [
        ("LG-RING-2025-0001", 4, "2025-03-01T10:00:00+08:00", "anchored (block 8)", ROOT, "batch-0001"),
        ("LG-EARRING-2025-0012", 12, "2025-03-02T16:45:10+08:00", "pending", "", "-"),
    ], ["batch", "root"]),
    "provenance history": (["#", "event", "actor", "time", "what"], [
        (1, "hallmarking", ADDRESS, "2025-03-01T10:00:00+08:00",
         "Pt950 ring, 4.21 g, hallmarked by the Shenzhen assay office with a long description"),
        (2, "retail_selling", ADDRESS, "2025-04-11T09:30:00+08:00", "sold to a customer"),
    ], ["actor"]),
    "eyewear prep": (["file", "unit", "triangles", "boxing", "error mm", "status"], [
        ("frame-52-18-140-cm-tilted.obj", "cm", "12,300 -> 12,300", "52□18-140", "0.000", "ok"),
        ("glasses-06/scene.gltf", "assumed", "120,544 -> 50,000", "54□17-145", "0.058",
         "scale assumed: give --markings"),
    ], []),
    "jewelry drafts": (["#", "file", "seed", "s", "sharp", "clean bg", "metal", "warnings"], [
        (1, "001-ring-s7-4f3a9c2e1d.png", 7, "12.3", "812", "yes", "platinum",
         "near-duplicate of 002-ring-s8-99aa00bb11.png"),
    ], []),
}


def render(columns_wide: int, columns, rows, optional) -> str:
    stdout = io.StringIO()
    out = Output(stdout=stdout)
    out.console.width = columns_wide
    out.console.print(out.table("title", columns, rows, optional=optional))
    return stdout.getvalue()


def token_cells(columns, rows):
    """Cells of columns that hold only single tokens, as they are shown."""
    for i, _ in enumerate(columns):
        cells = [shorten_hash(str(row[i])) for row in rows if str(row[i])]
        if cells and all(not re.search(r"\s", cell) for cell in cells):
            yield from ((i, cell) for cell in cells)


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", sorted(TABLES))
def test_tokens_stay_whole_and_lines_fit(name, width):
    columns, rows, optional = TABLES[name]
    text = render(width, columns, rows, optional)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), text
    hidden = re.search(r"narrow terminal: (.*) hidden", " ".join(lines))
    hidden_names = hidden.group(1).split(", ") if hidden else []
    for index, cell in token_cells(columns, rows):
        if columns[index] in hidden_names:
            continue
        assert any(cell in line for line in lines), f"{cell!r} is cut in {name} at {width}:\n{text}"


def test_full_hashes_are_shortened_for_people_only():
    assert shorten_hash(ROOT) == "0xa1b2…a1b2"
    assert shorten_hash(ADDRESS) == "0x3f3f…3f3f"
    assert shorten_hash("LG-RING-2025-0001") == "LG-RING-2025-0001"
    assert shorten_hash("deadbeef") == "deadbeef"  # short hex stays
    text = render(120, ["root"], [(ROOT,)], [])
    assert "0xa1b2…a1b2" in text and ROOT not in text


def test_low_value_columns_drop_at_narrow_widths_and_the_caption_says_so():
    columns, rows, optional = TABLES["provenance status"]
    narrow = render(80, columns, rows, optional)
    wide = render(160, columns, rows, optional)
    assert "narrow terminal" in narrow and "batch-0001" not in narrow
    assert "narrow terminal" not in wide and "batch-0001" in wide


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"[A-Z]{2}-[A-Z]{3,8}-20[0-9]{2}-[0-9]{4}", fullmatch=True),
                          st.text(alphabet="abc defg", min_size=0, max_size=90),
                          st.from_regex(r"20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:00:00\+08:00",
                                        fullmatch=True)),
                min_size=1, max_size=5),
       st.sampled_from([80, 100, 120]))
def test_any_ids_and_times_stay_whole(rows, width):
    text = render(width, ["item", "note", "time"], rows, [])
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    for item, _, when in rows:
        assert any(item in line for line in lines) and any(when in line for line in lines), text
