"""Compile a program to the binary the C runtime executes, or to a C source/header pair.

The format is specified in docs/toys-format.md: a 32-byte little-endian header (magic
``LGTY``, format version 2, flags, total size, CRC-32, table counts, the code area's
offset and size, the bitmask of waived check rules, the number of clips, LEDs and
motors), then the event flags, variables, states, transitions and timers tables, one
code area of action lists and RPN expressions referenced by 16-bit offsets, the waived
rules' names, and for a signed image a 64-byte Ed25519 signature of everything before it.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from lgcraft.errors import InputError, VerificationError
from lgcraft.toys import expr as ex
from lgcraft.toys.program import Program

MAGIC = b"LGTY"
FORMAT_VERSION = 2
HEADER = struct.Struct("<4sBBHIBBBBBBHHHHHBBBB")  # 32 bytes
FLAG_SIGNED = 0x01
SIGNATURE_BYTES = 64
NO_CODE = 0xFFFF
QUEUE_CAPACITY = 8

A_END, A_PLAY, A_SPEAK, A_LED, A_MOTOR, A_RECORD = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05
A_UPLOAD, A_DELETE, A_LISTEN, A_SET, A_RAISE, A_RANDOM, A_UTILITY = 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C


class FormatError(VerificationError):
    """A compiled toy program that is malformed (bad magic, version, size or checksum)."""


@dataclass
class SizeReport:
    flash_bytes: int
    flash_budget_bytes: int | None
    ram_bytes: int
    ram_state_bytes: int
    ram_stack_bytes: int
    ram_budget_bytes: int | None
    pointer_bytes: int

    @property
    def flash_percent(self) -> float | None:
        return None if not self.flash_budget_bytes else 100 * self.flash_bytes / self.flash_budget_bytes

    @property
    def ram_percent(self) -> float | None:
        return None if not self.ram_budget_bytes else 100 * self.ram_bytes / self.ram_budget_bytes

    @property
    def fits(self) -> bool:
        return (self.flash_budget_bytes is None or self.flash_bytes <= self.flash_budget_bytes) and \
               (self.ram_budget_bytes is None or self.ram_bytes <= self.ram_budget_bytes)


class _Code:
    """The code area: deduplicated action lists and expressions."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.index: dict[bytes, int] = {}

    def put(self, blob: bytes) -> int:
        if blob in self.index:
            return self.index[blob]
        offset = len(self.data)
        if offset + len(blob) > 0xFFFE:
            raise InputError("the program's code area exceeds 64 KB")
        self.data += blob
        self.index[blob] = offset
        return offset

    def expression(self, compiled) -> int:
        return self.put(compiled.rpn)

    def actions(self, actions: list[tuple]) -> int:
        if not actions:
            return NO_CODE
        out = bytearray()
        for a in actions:
            op = a[0]
            if op in ("play", "speak"):
                out += bytes([A_PLAY if op == "play" else A_SPEAK, a[1], a[2]])
            elif op == "led":
                _, led, pattern, rgb, dhz = a
                out += bytes([A_LED, led, pattern, (rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF, dhz])
            elif op == "motor":
                out += struct.pack("<BBbH", A_MOTOR, a[1], a[2], a[3])
            elif op == "record":
                out += struct.pack("<BH", A_RECORD, a[1])
            elif op == "upload":
                out.append(A_UPLOAD)
            elif op == "delete":
                out.append(A_DELETE)
            elif op == "listen":
                out += bytes([A_LISTEN, a[1]])
            elif op == "set":
                for var, compiled in a[1]:
                    out += struct.pack("<BBH", A_SET, var, self.expression(compiled))
            elif op == "raise":
                out += bytes([A_RAISE, a[1]])
            elif op == "random":
                out += bytes([A_RANDOM, len(a[1])])
                for weight, body in a[1]:
                    out += struct.pack("<HH", weight, self.actions(body))
            elif op == "utility":
                out += bytes([A_UTILITY, len(a[1])])
                for score, body in a[1]:
                    out += struct.pack("<HH", self.expression(score), self.actions(body))
        out.append(A_END)
        return self.put(bytes(out))


def encode(program: Program, waivers: list[str] | tuple[str, ...] = (), signing_key=None) -> bytes:
    """The binary image of ``program`` (see docs/toys-format.md). ``waivers``: check
    rules compiled in despite failing (recorded in the header and as names);
    ``signing_key``: an Ed25519 private key (`load_signing_key`) to sign the image."""
    from lgcraft.toys.check import RULES
    code = _Code()
    p = program
    events = bytes(1 if k else 0 for k in p.keyword_event)
    variables = b"".join(struct.pack("<hhh", lo, hi, init)
                         for lo, hi, init in zip(p.var_min, p.var_max, p.var_init, strict=True))
    states = bytearray()
    for s in range(len(p.state_names)):
        trans = p.state_transitions[s]
        timers = p.state_timers[s]
        states += struct.pack("<BBHHHBBH", p.parent[s], p.initial_child[s],
                              code.actions(p.entry[s]), code.actions(p.exit[s]),
                              trans[0] if trans else 0, len(trans), len(timers),
                              timers[0] if timers else 0)
        if len(trans) > 255 or len(timers) > 255:
            raise InputError(f"state '{p.state_names[s]}' has more than 255 transitions")
    transitions = b"".join(
        struct.pack("<BBHH", t.event, t.target,
                    code.expression(t.guard) if t.guard is not None else NO_CODE,
                    code.actions(t.actions))
        for t in p.transitions)
    timers = b"".join(
        struct.pack("<IBBHH", t.delay_ms, t.slot, t.target,
                    code.expression(t.guard) if t.guard is not None else NO_CODE,
                    code.actions(t.actions))
        for t in p.timers)
    body = events + variables + bytes(states) + transitions + timers
    code_offset = HEADER.size + len(body)
    rules = list(RULES)
    mask = 0
    for rule in waivers:
        mask |= 1 << rules.index(rule)
    waiver_text = ",".join(waivers).encode("ascii")
    signed = signing_key is not None
    content = code_offset + len(code.data) + len(waiver_text)
    total = content + (SIGNATURE_BYTES if signed else 0)
    if total > 0xFFFF:
        raise InputError(f"the compiled program is {total} bytes; the format holds at most 65535")
    header = HEADER.pack(MAGIC, FORMAT_VERSION, FLAG_SIGNED if signed else 0, total, 0, len(p.state_names),
                         len(p.event_names), len(p.var_names), p.n_slots, p.max_stack,
                         p.root_initial, len(p.transitions), len(p.timers), code_offset, len(code.data),
                         mask, len(p.clip_names), len(p.led_names), len(p.motor_names), 0)
    image = bytearray(header + body + bytes(code.data) + waiver_text)
    struct.pack_into("<I", image, 8, zlib.crc32(image[12:content]) & 0xFFFFFFFF)
    if signed:
        image += signing_key.sign(bytes(image))
    return bytes(image)


def generate_key(path) -> bytes:
    """Write a new Ed25519 private key (PEM, owner-only permissions) to ``path``; returns
    the 32-byte public key. Refuses to overwrite an existing file."""
    import os
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InputError(f"{path} exists; not overwriting a key", hint="choose a new file name") from exc
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return public_key_bytes(key)


def load_signing_key(path):
    """An Ed25519 private key from a PEM file (``openssl genpkey -algorithm ed25519`` or
    `generate_key`); `InputError` naming the file when it is not one."""
    from pathlib import Path

    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError as exc:
        from lgcraft.errors import DependencyError

        raise DependencyError("signing needs the 'cryptography' package",
                              hint="pip install 'lgcraft[toys]'") from exc
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the signing key {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path} is not an unencrypted PEM private key",
                         hint="make one with: lgcraft toys keygen KEYFILE") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path} is not an Ed25519 key", hint="make one with: lgcraft toys keygen KEYFILE")
    return key


def public_key_bytes(private_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verify_signature(image: bytes, public_key: bytes) -> bool:
    """True when ``image`` is signed and its Ed25519 signature checks with ``public_key``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    head = read_header(image)
    if not head.signed:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(image[-SIGNATURE_BYTES:], image[:-SIGNATURE_BYTES])
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class Header:
    version: int
    size: int
    crc32: int
    n_states: int
    n_events: int
    n_vars: int
    n_slots: int
    max_stack: int
    root_initial: int
    n_transitions: int
    n_timers: int
    code_offset: int
    code_size: int = 0
    waived_mask: int = 0
    waivers: tuple[str, ...] = ()
    signed: bool = False
    n_clips: int = 0
    n_leds: int = 0
    n_motors: int = 0


def read_header(image: bytes) -> Header:
    """Parse and verify a binary's header and checksum; `FormatError` when malformed."""
    if len(image) < HEADER.size:
        raise FormatError(f"not a toy program: {len(image)} bytes is shorter than the header")
    (magic, version, flags, size, crc, n_states, n_events, n_vars, n_slots, max_stack,
     root, n_tr, n_tm, code_offset, code_size, mask, n_clips, n_leds, n_motors, _reserved) = HEADER.unpack_from(image)
    if magic != MAGIC:
        raise FormatError(f"not a toy program: magic {magic!r}, expected {MAGIC!r}")
    if version != FORMAT_VERSION:
        raise FormatError(f"unsupported format version {version} (this lgcraft reads {FORMAT_VERSION})")
    if size != len(image):
        raise FormatError(f"size mismatch: header says {size} bytes, file has {len(image)}")
    signed = bool(flags & FLAG_SIGNED)
    content = size - (SIGNATURE_BYTES if signed else 0)
    if content < HEADER.size or code_offset + code_size > content:
        raise FormatError("the code area lies outside the image")
    actual = zlib.crc32(image[12:content]) & 0xFFFFFFFF
    if actual != crc:
        raise FormatError(f"checksum mismatch: header 0x{crc:08x}, content 0x{actual:08x}")
    text = bytes(image[code_offset + code_size:content])
    waivers = tuple(text.decode("ascii", "replace").split(",")) if text else ()
    return Header(version, size, crc, n_states, n_events, n_vars, n_slots, max_stack, root,
                  n_tr, n_tm, code_offset, code_size, mask, waivers, signed, n_clips, n_leds, n_motors)


def ram_bytes(n_slots: int, n_vars: int, pointer_bytes: int = 4) -> int:
    """Size of ``toyrt_t`` (runtime/toyrt.h) sized for this program, on a target with
    ``pointer_bytes`` pointers: 3 pointers, 3 + slots uint32, vars int16, 3 + queue bytes."""
    slots, variables = max(1, n_slots), max(1, n_vars)
    raw = 3 * pointer_bytes + 4 * (3 + slots) + 2 * variables + 3 + QUEUE_CAPACITY
    align = max(4, pointer_bytes)
    return (raw + align - 1) // align * align


def size_report(program: Program, image: bytes) -> SizeReport:
    prof = program.profile
    pointer = prof.pointer_bytes if prof else 4
    state = ram_bytes(program.n_slots, len(program.var_names), pointer)
    stack = 4 * max(1, program.max_stack)
    return SizeReport(
        flash_bytes=len(image), flash_budget_bytes=prof.flash_budget_bytes if prof else None,
        ram_bytes=state + stack, ram_state_bytes=state, ram_stack_bytes=stack,
        ram_budget_bytes=prof.ram_budget_bytes if prof else None, pointer_bytes=pointer,
    )


def _c_name(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).upper()


def c_sources(program: Program, image: bytes, stem: str, public_key: bytes | None = None) -> tuple[str, str]:
    """A header (ids and runtime sizes) and a C file holding the image in flash; with
    ``public_key`` (a signed image) also the key the toy should trust, for
    toyrt_init_signed()."""
    guard = f"TOY_{_c_name(stem)}_H"
    p = program
    lines = [
        f"/* Generated by lgcraft from script '{p.script.name}'; do not edit. */",
        f"#ifndef {guard}", f"#define {guard}", "", "#include <stdint.h>", "",
        "/* Runtime sizes for this program (define before including toyrt.h). */",
        f"#define TOYRT_MAX_SLOTS {max(1, p.n_slots)}",
        f"#define TOYRT_MAX_VARS {max(1, len(p.var_names))}",
        f"#define TOYRT_MAX_STACK {max(1, p.max_stack)}",
        "", "/* Event ids: pass these to toyrt_event(). */",
    ]
    lines += [f"#define TOY_EV_{_c_name(n)} {i}" for i, n in enumerate(p.event_names)]
    lines += ["", "/* Ids in the actions the runtime emits. */"]
    lines += [f"#define TOY_STATE_{_c_name(n)} {i}" for i, n in enumerate(p.state_names)]
    lines += [f"#define TOY_CLIP_{_c_name(n)} {i}" for i, n in enumerate(p.clip_names)]
    lines += [f"#define TOY_LED_{_c_name(n)} {i}" for i, n in enumerate(p.led_names)]
    lines += [f"#define TOY_MOTOR_{_c_name(n)} {i}" for i, n in enumerate(p.motor_names)]
    lines += [f"#define TOY_VAR_{_c_name(n)} {i}" for i, n in enumerate(p.var_names)]
    head = read_header(image)
    if head.waivers:
        lines += ["", f"/* Compiled despite failing checks (waived): {', '.join(head.waivers)} */"]
    if public_key is not None:
        lines += ["", "/* The signer's Ed25519 public key: build it into the toy's firmware and load",
                  "   updates with toyrt_init_signed(..., TOY_TRUSTED_KEY_BYTES, ...). */",
                  "#define TOY_TRUSTED_KEY { " + ", ".join(f"0x{b:02x}" for b in public_key) + " }"]
    lines += ["", f"#define TOY_PROGRAM_SIZE {len(image)}u",
              "extern const uint8_t toy_program[TOY_PROGRAM_SIZE];", "", f"#endif /* {guard} */", ""]
    header = "\n".join(lines)
    rows = [", ".join(f"0x{b:02x}" for b in image[i:i + 12]) for i in range(0, len(image), 12)]
    source = "\n".join([
        f"/* Generated by lgcraft from script '{p.script.name}'; do not edit. */",
        f'#include "{stem}.h"', "",
        "const uint8_t toy_program[TOY_PROGRAM_SIZE] = {",
        *(f"    {row}," for row in rows), "};", "",
    ])
    return header, source


def decode_rpn_check(image: bytes, offset: int, values: list[int]) -> int:
    """Evaluate an expression stored at ``offset`` of the code area (tests, debugging)."""
    head = read_header(image)
    return ex.eval_rpn(image, values, head.code_offset + offset)
