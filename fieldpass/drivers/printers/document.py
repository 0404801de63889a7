"""A receipt or ticket as data: a Document built once from blocks, rendered later.

The same Document becomes ESC/POS bytes for the printer (``render_escpos``) and a plain
text preview for the screen (``render_text``), so what the demo shows is what prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from fieldpass.drivers.errors import DriverError

Align = Literal["left", "center", "right"]
Size = Literal["normal", "large", "double"]

ALIGNS: tuple[str, ...] = get_args(Align)
SIZES: tuple[str, ...] = get_args(Size)
#: (width, height) multipliers: large is double height (keeps the columns), double is 2x2.
SIZE_SCALE: dict[str, tuple[int, int]] = {"normal": (1, 1), "large": (1, 2), "double": (2, 2)}
MAX_QR_CHARS = 2000
MAX_BARCODE_CHARS = 80
MAX_FEED_LINES = 20


class DocumentError(DriverError):
    """A block was built with values no printer can render."""

    code = "bad_document"


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise DocumentError(f"{what} must be one of {'|'.join(allowed)}, not {value!r}")


@dataclass(frozen=True)
class Text:
    """A paragraph, wrapped to the paper width."""

    text: str
    bold: bool = False
    size: Size = "normal"
    align: Align = "left"

    def __post_init__(self) -> None:
        _check_choice("size", self.size, SIZES)
        _check_choice("align", self.align, ALIGNS)


@dataclass(frozen=True)
class Heading:
    """A bold, enlarged title line (double size and centred by default)."""

    text: str
    size: Size = "double"
    align: Align = "center"

    def __post_init__(self) -> None:
        _check_choice("size", self.size, SIZES)
        _check_choice("align", self.align, ALIGNS)

    def as_text(self) -> Text:
        return Text(self.text, bold=True, size=self.size, align=self.align)


@dataclass(frozen=True)
class Rule:
    """A full-width line of one character."""

    char: str = "-"

    def __post_init__(self) -> None:
        if len(self.char) != 1 or not self.char.isprintable():
            raise DocumentError("a rule is drawn with exactly one printable character")


#: Another name for Rule.
Line = Rule


@dataclass(frozen=True)
class KeyValue:
    """``key ........ value`` on one line; the value moves to its own line when too long."""

    key: str
    value: str
    bold: bool = False


@dataclass(frozen=True)
class QR:
    """A QR code of ``data`` (error correction M), as large as fits up to ``module_dots``."""

    data: str
    module_dots: int = 6

    def __post_init__(self) -> None:
        if not self.data:
            raise DocumentError("a QR code needs data")
        if len(self.data) > MAX_QR_CHARS:
            raise DocumentError(f"QR data longer than {MAX_QR_CHARS} characters")
        if not 1 <= self.module_dots <= 16:
            raise DocumentError("QR module size must be 1..16 dots")


@dataclass(frozen=True)
class Barcode128:
    """A Code128 barcode of ``data`` with its text below; ``height`` in printer dots."""

    data: str
    height: int = 80
    show_text: bool = True

    def __post_init__(self) -> None:
        if not self.data:
            raise DocumentError("a barcode needs data")
        if len(self.data) > MAX_BARCODE_CHARS:
            raise DocumentError(f"barcode data longer than {MAX_BARCODE_CHARS} characters")
        if not all(" " <= ch <= "~" for ch in self.data):
            raise DocumentError("Code128 data must be printable ASCII")
        if not 1 <= self.height <= 255:
            raise DocumentError("barcode height must be 1..255 dots")


@dataclass(frozen=True)
class Feed:
    """Blank lines."""

    lines: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.lines <= MAX_FEED_LINES:
            raise DocumentError(f"feed 1..{MAX_FEED_LINES} lines")


@dataclass(frozen=True)
class Cut:
    """Feed past the cutter and cut (or only feed, on printers without a cutter)."""

    partial: bool = False


Block = Text | Heading | Rule | KeyValue | QR | Barcode128 | Feed | Cut
BLOCK_TYPES = (Text, Heading, Rule, KeyValue, QR, Barcode128, Feed, Cut)


@dataclass(frozen=True)
class Document:
    """An immutable sequence of blocks."""

    blocks: tuple[Block, ...]

    def __post_init__(self) -> None:
        blocks = tuple(self.blocks)
        for block in blocks:
            if not isinstance(block, BLOCK_TYPES):
                raise DocumentError(f"not a document block: {block!r}")
        object.__setattr__(self, "blocks", blocks)

    @classmethod
    def of(cls, *blocks: Block | Iterable[Block]) -> Document:
        """``Document.of(Heading("X"), [Text("a"), Text("b")], Cut())``: lists are flattened."""
        flat: list[Block] = []
        for item in blocks:
            if isinstance(item, BLOCK_TYPES):
                flat.append(item)  # type: ignore[arg-type]
            else:
                flat.extend(item)  # type: ignore[arg-type]
        return cls(tuple(flat))


#: Characters that exercise the code page switching on a test page.
TEST_PAGE_CHARSET = "ČĆŽŠĐ čćžšđ ÄÖÜ äöüß é €"


def test_page_document(
    *, spec: str = "", profile_name: str = "", columns: int = 0, printed_at: str = ""
) -> Document:
    """The page ``fieldpass device test-printer SPEC`` prints: styles, charset, QR, barcode."""
    info = [
        KeyValue("Printer", spec or "-"),
        KeyValue("Profile", profile_name or "-"),
    ]
    if columns:
        info.append(KeyValue("Columns", str(columns)))
    if printed_at:
        info.append(KeyValue("Printed", printed_at))
    return Document.of(
        Heading("FIELDPASS"),
        Text("Printer test page", align="center"),
        Rule("="),
        info,
        Rule(),
        Text("Normal text, left aligned."),
        Text("Bold text", bold=True),
        Text("Large text", size="large"),
        Text("Double", size="double", align="center"),
        Text("Right aligned", align="right"),
        Text(TEST_PAGE_CHARSET),
        Rule(),
        Text("QR code:", align="center"),
        QR("FIELDPASS-TEST-PAGE"),
        Text("Code128:", align="center"),
        Barcode128("FP-TEST-0001"),
        Rule(),
        Text("If you can read this, the printer works.", align="center"),
        Feed(1),
        Cut(),
    )


# pytest would otherwise collect this function wherever a test module imports it.
test_page_document.__test__ = False  # type: ignore[attr-defined]
