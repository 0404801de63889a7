"""A small parser for the ESC/POS commands Fieldpass emits, for asserting on printer bytes.

``parse(data)`` turns bytes back into a list of ``Op(name, args)``: commands with decoded
arguments, and ``TEXT`` runs decoded with the code page selected at that point. Any byte
sequence it does not know raises ParseError, so an unexpected command fails the test
instead of hiding in a byte blob.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

ESC, GS, DLE, FS, LF, NUL = 0x1B, 0x1D, 0x10, 0x1C, 0x0A, 0x00
ALIGN_NAMES = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
QR_FUNCTIONS = {65: "QR_MODEL", 67: "QR_SIZE", 69: "QR_EC", 80: "QR_STORE", 81: "QR_PRINT"}


class ParseError(ValueError):
    """Bytes that are not a command this parser knows."""


@dataclass(frozen=True)
class Op:
    """One command (``name`` and decoded ``args``) or a ``TEXT`` run (args = (text,))."""

    name: str
    args: tuple = ()

    @property
    def text(self) -> str:
        return self.args[0] if self.name == "TEXT" else ""


def codec_for(codepage_name: str) -> str:
    """python-escpos code page name -> Python codec name (CP852 -> cp852)."""
    return codepage_name.lower().replace("iso_", "iso").replace("_", "-")


def parse(data: bytes, codepages: dict[str, int] | None = None) -> list[Op]:
    """Parse ESC/POS ``data``. ``codepages`` maps profile code page names to ESC t numbers."""
    by_number = {number: codec_for(name) for name, number in (codepages or {"CP437": 0}).items()}
    ops: list[Op] = []
    codec = "cp437"
    i, n = 0, len(data)

    def need(count: int) -> bytes:
        if i + count > n:
            raise ParseError(f"truncated command at byte {i}: {data[i : i + 8]!r}")
        return data[i : i + count]

    while i < n:
        byte = data[i]
        if byte == LF:
            ops.append(Op("LF"))
            i += 1
        elif byte == ESC:
            cmd = need(2)[1]
            if cmd == ord("@"):
                ops.append(Op("INIT"))
                codec = by_number.get(0, "cp437")
                i += 2
            elif cmd in (ord("E"), ord("a"), ord("t"), ord("d"), ord("!"), ord("-"), ord("M")):
                value = need(3)[2]
                i += 3
                if cmd == ord("E"):
                    ops.append(Op("BOLD", (bool(value & 1),)))
                elif cmd == ord("a"):
                    ops.append(Op("ALIGN", (ALIGN_NAMES[value],)))
                elif cmd == ord("t"):
                    codec = by_number.get(value, f"unknown-{value}")
                    ops.append(Op("CODEPAGE", (value,)))
                elif cmd == ord("d"):
                    ops.append(Op("FEED", (value,)))
                elif cmd == ord("!"):
                    ops.append(Op("PRINT_MODE", (value,)))
                elif cmd == ord("-"):
                    ops.append(Op("UNDERLINE", (value,)))
                else:
                    ops.append(Op("FONT", (value,)))
            else:
                raise ParseError(f"unknown ESC command {data[i : i + 4]!r} at byte {i}")
        elif byte == GS:
            cmd = need(2)[1]
            if cmd == ord("!"):
                value = need(3)[2]
                ops.append(Op("SIZE", ((value >> 4) + 1, (value & 0x0F) + 1)))
                i += 3
            elif cmd in (ord("h"), ord("w"), ord("f"), ord("H")):
                value = need(3)[2]
                name = {
                    ord("h"): "BARCODE_HEIGHT",
                    ord("w"): "BARCODE_WIDTH",
                    ord("f"): "HRI_FONT",
                    ord("H"): "HRI_POSITION",
                }[cmd]
                ops.append(Op(name, (value,)))
                i += 3
            elif cmd == ord("("):
                head = need(5)
                if head[2] != ord("k"):
                    raise ParseError(f"unknown GS ( command {head!r} at byte {i}")
                length = head[3] | head[4] << 8
                body = need(5 + length)[5:]
                i += 5 + length
                cn, fn = body[0], body[1]
                if cn != ord("1") or fn not in QR_FUNCTIONS:
                    raise ParseError(f"unknown 2D code function cn={cn} fn={fn}")
                name = QR_FUNCTIONS[fn]
                if name == "QR_STORE":
                    ops.append(Op(name, (body[3:],)))  # skip m ('0')
                elif name == "QR_PRINT":
                    ops.append(Op(name))
                else:
                    ops.append(Op(name, tuple(body[2:])))
            elif cmd == ord("k"):
                kind = need(3)[2]
                if kind <= 6:
                    end = data.index(NUL, i + 3)
                    ops.append(Op("BARCODE", (kind, data[i + 3 : end])))
                    i = end + 1
                else:
                    length = need(4)[3]
                    payload = need(4 + length)[4:]
                    ops.append(Op("BARCODE", (kind, payload)))
                    i += 4 + length
            elif cmd == ord("v"):
                head = need(8)
                if head[2] != ord("0"):
                    raise ParseError(f"unknown GS v command {head!r}")
                mode = head[3]
                width_bytes = head[4] | head[5] << 8
                height = head[6] | head[7] << 8
                raster = need(8 + width_bytes * height)[8:]
                ops.append(Op("RASTER", (mode, width_bytes, height, raster)))
                i += 8 + width_bytes * height
            elif cmd == ord("V"):
                mode = need(3)[2]
                if mode in (65, 66):
                    ops.append(Op("CUT", (mode, need(4)[3])))
                    i += 4
                elif mode in (0, 1, 48, 49):
                    ops.append(Op("CUT", (mode, None)))
                    i += 3
                else:
                    raise ParseError(f"unknown cut mode {mode}")
            else:
                raise ParseError(f"unknown GS command {data[i : i + 4]!r} at byte {i}")
        elif byte == DLE:
            head = need(3)
            if head[1] != 0x04:
                raise ParseError(f"unknown DLE command {head!r}")
            ops.append(Op("STATUS_QUERY", (head[2],)))
            i += 3
        elif byte < 0x20 or byte == 0x7F:
            raise ParseError(f"stray control byte 0x{byte:02x} at {i}: {data[i : i + 8]!r}")
        else:
            start = i
            while i < n and data[i] >= 0x20 and data[i] != 0x7F:
                i += 1
            chunk = data[start:i]
            try:
                text = chunk.decode(codec)
            except (LookupError, UnicodeDecodeError):
                text = chunk.decode("latin-1")
            if ops and ops[-1].name == "TEXT":
                ops[-1] = Op("TEXT", (ops[-1].text + text,))
            else:
                ops.append(Op("TEXT", (text,)))
    return ops


def names(ops: list[Op]) -> list[str]:
    return [op.name for op in ops]


def find(ops: list[Op], name: str) -> list[Op]:
    return [op for op in ops if op.name == name]


def text_lines(ops: list[Op]) -> list[str]:
    """The printed text, split into lines at LF (style commands ignored)."""
    lines, current = [], ""
    for op in ops:
        if op.name == "TEXT":
            current += op.text
        elif op.name == "LF":
            lines.append(current)
            current = ""
    if current:
        lines.append(current)
    return lines


def style_of_line(ops: list[Op], wanted: str) -> dict[str, object]:
    """The bold/size/align state in force when the line containing ``wanted`` was printed."""
    state: dict[str, object] = {"bold": False, "size": (1, 1), "align": "left"}
    for op in ops:
        if op.name == "INIT":
            state = {"bold": False, "size": (1, 1), "align": "left"}
        elif op.name == "BOLD":
            state["bold"] = op.args[0]
        elif op.name == "SIZE":
            state["size"] = op.args
        elif op.name == "ALIGN":
            state["align"] = op.args[0]
        elif op.name == "TEXT" and wanted in op.text:
            return dict(state)
    raise AssertionError(f"no text {wanted!r} in the job")


def raster_image(op: Op, border: int = 16) -> Image.Image:
    """A GS v 0 raster as a greyscale image (black bars on white) with a white border."""
    _mode, width_bytes, height, raster = op.args
    bits = Image.frombytes("1", (width_bytes * 8, height), bytes(raster))
    grey = bits.convert("L").point(lambda value: 255 - value)  # raster 1 = black dot
    canvas = Image.new("L", (grey.width + 2 * border, grey.height + 2 * border), 255)
    canvas.paste(grey, (border, border))
    return canvas
