"""Binary format: header, checksum, malformed images, size report and budget, C target."""

from __future__ import annotations

import struct

import pytest

from lgcraft.errors import VerificationError
from lgcraft.toys.compiler import (
    HEADER,
    FormatError,
    c_sources,
    encode,
    ram_bytes,
    read_header,
    size_report,
)
from lgcraft.toys.workflow import compile_files, over_budget_error

from .conftest import EXAMPLE_NAMES, example_program, program_from


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_examples_compile_with_valid_header(name):
    program = example_program(name)
    image = encode(program)
    head = read_header(image)
    assert image[:4] == b"LGTY" and head.version == 2 and head.size == len(image)
    assert head.n_states == len(program.state_names)
    assert head.code_offset > HEADER.size


def test_twelve_state_example_fits_one_kilobyte_and_256_bytes():
    program = example_program("bolt")
    assert len(program.state_names) == 12
    report = size_report(program, encode(program))
    assert report.flash_bytes <= 1024 and report.ram_bytes <= 256 and report.fits


@pytest.mark.parametrize("damage, message", [
    (lambda b: b"XXXX" + b[4:], "magic"),
    (lambda b: b[:4] + bytes([9]) + b[5:], "version"),
    (lambda b: b[:-1], "size mismatch"),
    (lambda b: b[:40] + bytes([b[40] ^ 0xFF]) + b[41:], "checksum mismatch"),
    (lambda b: b[:10], "shorter than the header"),
])
def test_malformed_images_are_refused(damage, message):
    image = encode(example_program("mimi"))
    with pytest.raises(FormatError, match=message):
        read_header(damage(image))


def test_encoding_is_deterministic_and_deduplicates_code():
    program = example_program("luna")
    assert encode(program) == encode(program)


def test_over_budget_is_refused_and_nothing_written(tmp_path):
    program = program_from({"script": "s", "initial": "a", "states": {"a": {}}},
                           profile=None)
    program.profile.flash_budget_bytes = 40
    out = tmp_path / "s.bin"
    result = compile_files(program, "bin", out)
    assert not result.fits and not out.exists() and result.outputs == []
    err = over_budget_error(result)
    assert isinstance(err, VerificationError) and "flash" in str(err) and "/40 B" in str(err)


def test_ram_formula_matches_struct_layout():
    # 3 pointers, now/rng/active, one deadline per slot, int16 vars, 3 bytes + queue
    assert ram_bytes(2, 3, 4) == 4 * ((12 + 20 + 6 + 11 + 3) // 4)
    assert ram_bytes(0, 0, 4) % 4 == 0


def test_c_target_writes_header_and_source(tmp_path):
    program = example_program("mimi")
    result = compile_files(program, "c", tmp_path / "mimi", "mimi")
    header = (tmp_path / "mimi" / "mimi.h").read_text()
    source = (tmp_path / "mimi" / "mimi.c").read_text()
    assert "#define TOY_EV_PAT_HEAD" in header and "#define TOYRT_MAX_SLOTS" in header
    assert "const uint8_t toy_program[TOY_PROGRAM_SIZE]" in source
    assert result.fits and len(result.outputs) == 2
    h, c = c_sources(program, encode(program), "mimi")
    assert h == header and c == source


def test_crc_field_covers_everything_after_it():
    image = bytearray(encode(example_program("mimi")))
    import zlib

    assert struct.unpack_from("<I", image, 8)[0] == zlib.crc32(bytes(image[12:]))
