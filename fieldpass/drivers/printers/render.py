"""Render a Document to ESC/POS bytes (through python-escpos) or to a plain-text preview.

Rendering is pure and in memory: the whole job is built through python-escpos' Dummy
printer before a byte goes to the hardware, so a layout that cannot render never leaves a
half receipt, and the bytes can be compared across transports and asserted on in tests.

Rules the renderer applies, each for a trap seen with python-escpos 3.1:

* QR codes: ``native`` (GS ( k) or ``image`` (raster) per printer profile, sized to fit.
* Code128 in hardware (GS k) needs a code-set prefix (``{B``, or ``{C`` for digit pairs);
  python-escpos' software path would print such a prefix *into* the barcode, so the prefix
  is added here, only for the hardware path, and ``{`` in data is escaped as ``{{``.
* A barcode too wide for the paper (ImageWidthError on 58 mm) falls back to narrower
  bars, then to a QR code, then to text; the job says which in ``notes``.
* ``cut()`` on a profile without a cutter sends only a feed; we say so in ``notes``.
* Control characters in text are removed (a name containing ESC @ must not reset the
  printer), and CJK ideographs become "?" (python-escpos would otherwise send the whole
  line as GB18030, mangling every accented letter in it).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

import barcode as python_barcode
import qrcode
import qrcode.exceptions
from PIL import Image, ImageDraw

from fieldpass.drivers.printers.document import (
    QR,
    SIZE_SCALE,
    Barcode128,
    Cut,
    Document,
    DocumentError,
    Feed,
    Heading,
    KeyValue,
    Rule,
    Text,
)
from fieldpass.drivers.printers.escpos_lib import load_escpos
from fieldpass.drivers.printers.profile import PrinterProfile, resolve_profile

#: Bar widths tried for Code128, widest first (1-dot bars do not scan reliably at 203 dpi).
BARCODE_BAR_DOTS = (3, 2)
#: Modules of blank space either side of a barcode (the Code128 quiet zone).
BARCODE_QUIET_MODULES = 10
#: Feed lines before a cut (what python-escpos' cut() feeds) or before tearing off.
CUT_FEED_LINES = 6

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_CJK = re.compile(r"[\u4e00-\u9fa5]")


@dataclass(frozen=True)
class RenderedJob:
    """ESC/POS bytes for one document, and the fallbacks taken to produce them."""

    data: bytes
    notes: tuple[str, ...] = ()


def clean_text(text: str) -> str:
    """Text safe to send as printable characters: no control codes (tabs become spaces)."""
    text = text.replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return _CJK.sub("?", text)


def wrap_lines(text: str, columns: int) -> list[str]:
    """Wrap each paragraph of ``text`` to ``columns``; blank paragraphs stay blank lines."""
    lines: list[str] = []
    for paragraph in clean_text(text).split("\n"):
        wrapped = textwrap.wrap(paragraph, max(1, columns), break_on_hyphens=False)
        lines.extend(wrapped or [""])
    return lines


def key_value_lines(key: str, value: str, columns: int) -> list[str]:
    """``key   value`` padded to ``columns``, or key lines then right-aligned value lines."""
    key, value = clean_text(key).replace("\n", " "), clean_text(value).replace("\n", " ")
    if len(key) + 1 + len(value) <= columns:
        return [key + " " * (columns - len(key) - len(value)) + value]
    return wrap_lines(key, columns) + [line.rjust(columns) for line in wrap_lines(value, columns)]


def code128_hardware_payload(data: str) -> tuple[str, int]:
    """The GS k (m=73) payload for ``data`` and its symbol count.

    Exactly one code-set prefix: ``{C`` with digit pairs as byte values when the data is an
    even number of digits (half the width), otherwise ``{B`` with ``{`` escaped as ``{{``.
    """
    if len(data) >= 2 and len(data) % 2 == 0 and data.isascii() and data.isdigit():
        pairs = [int(data[i : i + 2]) for i in range(0, len(data), 2)]
        return "{C" + "".join(chr(pair) for pair in pairs), len(pairs)
    return "{B" + data.replace("{", "{{"), len(data)


def code128_hardware_modules(symbols: int) -> int:
    """Width in modules of a Code128 with ``symbols`` data symbols, quiet zones included."""
    # start (11) + data + checksum (11) + stop (13) + quiet zones
    return 11 * symbols + 35 + 2 * BARCODE_QUIET_MODULES


def code128_image(data: str, bar_dots: int, height: int) -> Image.Image:
    """Code128 as a 1-bit image with exact ``bar_dots``-wide modules (python-barcode encodes)."""
    modules = python_barcode.get_barcode_class("code128")(data).build()[0]
    quiet = BARCODE_QUIET_MODULES * bar_dots
    width = len(modules) * bar_dots + 2 * quiet
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    for index, module in enumerate(modules):
        if module == "1":
            left = quiet + index * bar_dots
            draw.rectangle((left, 0, left + bar_dots - 1, height - 1), fill=0)
    return image


def qr_modules(data: str) -> int | None:
    """Modules across a QR symbol of ``data`` (level M, 1-module border); None if too long."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=1)
    code.add_data(data)
    try:
        version = code.best_fit()
    except (qrcode.exceptions.DataOverflowError, ValueError):  # 8.2 raises "Invalid version"
        return None
    return 17 + 4 * version + 2


class _EscposRenderer:
    """One job: drives a python-escpos Dummy printer configured with our profile."""

    def __init__(self, profile: PrinterProfile) -> None:
        lib = load_escpos()
        self.lib = lib
        self.profile = profile
        self.printer = lib.printer.Dummy(profile=profile.escpos_name)
        # Our copy: "Unknown" width/dpi filled in, so python-escpos never prints about them.
        self.printer.profile.profile_data = profile.escpos_data
        self.notes: list[str] = []

    def render(self, document: Document) -> RenderedJob:
        p = self.printer
        p.hw("INIT")
        if "CP437" in self.profile.codepages:
            # Start from a known code page (after ESC @ some firmwares select Katakana).
            p.magic.write_with_encoding("CP437", None)
        for block in document.blocks:
            mark = len(p._output_list)
            try:
                self._block(block)
            except (self.lib.exceptions.Error, ValueError) as exc:
                del p._output_list[mark:]
                raise DocumentError(
                    f"cannot render {type(block).__name__}: {exc}", code="render_failed"
                ) from exc
        return RenderedJob(p.output, tuple(self.notes))

    # -- blocks -----------------------------------------------------------------------

    def _block(self, block: object) -> None:
        if isinstance(block, Heading):
            block = block.as_text()
        if isinstance(block, Text):
            self._text(block)
        elif isinstance(block, KeyValue):
            self._style(bold=block.bold)
            columns = self.profile.columns
            self.printer.text("\n".join(key_value_lines(block.key, block.value, columns)) + "\n")
        elif isinstance(block, Rule):
            self._style()
            self.printer.text(block.char * self.profile.columns + "\n")
        elif isinstance(block, QR):
            if not self._qr(block.data, block.module_dots):
                self._note(f"QR code of {len(block.data)} characters is too large; printed as text")
                self._text(Text(block.data, align="center"))
        elif isinstance(block, Barcode128):
            self._barcode(block)
        elif isinstance(block, Feed):
            self._style()
            self.printer.ln(block.lines)
        elif isinstance(block, Cut):
            self._cut(block)

    def _style(self, *, align: str = "left", bold: bool = False, size: str = "normal") -> None:
        width, height = SIZE_SCALE[size]
        self.printer.set(align=align, bold=bold, custom_size=True, width=width, height=height)

    def _text(self, block: Text) -> None:
        self._style(align=block.align, bold=block.bold, size=block.size)
        columns = self.profile.columns // SIZE_SCALE[block.size][0]
        self.printer.text("\n".join(wrap_lines(block.text, columns)) + "\n")

    def _qr(self, data: str, module_dots: int) -> bool:
        modules = qr_modules(data)
        if modules is None:
            return False
        dots = min(module_dots, self.profile.width_px // modules)
        if dots < 2:
            return False
        self._style(align="center")
        constants = self.lib.constants
        if self.profile.qr == "native":
            self.printer.qr(data, ec=constants.QR_ECLEVEL_M, size=dots, native=True)
            self.printer.text("\n")
        else:
            self.printer.qr(
                data,
                ec=constants.QR_ECLEVEL_M,
                size=dots,
                native=False,
                image_arguments={"impl": "bitImageRaster", "center": False},
            )
        return True

    def _barcode(self, block: Barcode128) -> None:
        if self.profile.barcode == "hardware":
            printed = self._hardware_barcode(block)
        else:
            printed = self._image_barcode(block)
        if printed:
            return
        width = self.profile.width_px
        if self._qr(block.data, 6):
            self._note(f"barcode {block.data!r} is too wide for {width} dots; printed as a QR code")
            if block.show_text:
                self._text(Text(block.data, align="center"))
        else:
            self._note(f"barcode {block.data!r} is too wide for {width} dots; printed as text")
            self._text(Text(block.data, bold=True, align="center"))

    def _hardware_barcode(self, block: Barcode128) -> bool:
        payload, symbols = code128_hardware_payload(block.data)
        modules = code128_hardware_modules(symbols)
        for bar_dots in BARCODE_BAR_DOTS:
            if modules * bar_dots <= self.profile.width_px:
                self._style(align="center")
                # The checked GS k path, not barcode(): that one print()s to stdout.
                self.printer._hw_barcode(
                    payload,
                    "CODE128",
                    height=block.height,
                    width=bar_dots,
                    pos="BELOW" if block.show_text else "OFF",
                    font="A",
                    align_ct=True,
                    function_type="B",
                    check=True,
                )
                return True
        return False

    def _image_barcode(self, block: Barcode128) -> bool:
        p = self.printer
        for bar_dots in BARCODE_BAR_DOTS:
            image = code128_image(block.data, bar_dots, block.height)
            mark = len(p._output_list)
            self._style(align="center")
            try:
                p.image(image, impl="bitImageRaster", center=False)
            except self.lib.exceptions.ImageWidthError:
                del p._output_list[mark:]
                continue
            if block.show_text:
                self._text(Text(block.data, align="center"))
            return True
        return False

    def _cut(self, block: Cut) -> None:
        p = self.printer
        self._style()
        if not self.profile.cuts:
            p.print_and_feed(CUT_FEED_LINES)
            if self.profile.cut == "auto":
                self._note(f"profile {self.profile.escpos_name} has no cutter: fed for tearing")
            return
        mode = "PART" if block.partial else "FULL"
        if self.profile.has_cutter:
            p.cut(mode=mode)
        else:  # cut=always on a profile that does not list a cutter
            p.print_and_feed(CUT_FEED_LINES)
            constants = self.lib.constants
            p._raw(constants.PAPER_PART_CUT if block.partial else constants.PAPER_FULL_CUT)

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)


def render_escpos_job(document: Document, profile: PrinterProfile | str = "80mm") -> RenderedJob:
    """ESC/POS bytes for ``document`` on ``profile``, with the fallbacks taken.

    Raises DocumentError(code="render_failed") when a block cannot be rendered at all.
    """
    resolved = profile if isinstance(profile, PrinterProfile) else resolve_profile(profile)
    return _EscposRenderer(resolved).render(document)


def render_escpos(document: Document, profile: PrinterProfile | str = "80mm") -> bytes:
    """ESC/POS bytes for ``document`` on ``profile`` (a PrinterProfile or a profile name)."""
    return render_escpos_job(document, profile).data


def render_text(document: Document, width: int = 48) -> str:
    """A plain-text preview of ``document`` ``width`` columns wide, for the screen.

    QR codes and barcodes appear as labelled placeholders with their data; a cut as a
    line of ``~``. Sizes and bold are not shown; wrapping and alignment are.
    """
    if width < 8:
        raise DocumentError("preview width must be at least 8 columns")
    out: list[str] = []
    for block in document.blocks:
        if isinstance(block, Heading):
            block = block.as_text()
        if isinstance(block, Text):
            columns = width // SIZE_SCALE[block.size][0]
            out.extend(_align(line, width, block.align) for line in wrap_lines(block.text, columns))
        elif isinstance(block, KeyValue):
            out.extend(key_value_lines(block.key, block.value, width))
        elif isinstance(block, Rule):
            out.append(block.char * width)
        elif isinstance(block, QR):
            out.extend(_placeholder("QR", block.data, width))
        elif isinstance(block, Barcode128):
            out.extend(_placeholder("Code128", block.data, width))
        elif isinstance(block, Feed):
            out.extend([""] * block.lines)
        elif isinstance(block, Cut):
            out.append(" cut ".center(width, "~"))
    return "\n".join(line.rstrip() for line in out) + "\n"


def _align(line: str, width: int, align: str) -> str:
    if align == "center":
        return line.center(width).rstrip()
    if align == "right":
        return line.rjust(width)
    return line


def _placeholder(label: str, data: str, width: int) -> list[str]:
    return [_align(line, width, "center") for line in wrap_lines(f"[{label}: {data}]", width)]
