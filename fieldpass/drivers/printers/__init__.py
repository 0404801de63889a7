"""Receipt printers: one ABC, one module per transport, a recording fake, a document model.

Printing is blocking I/O: call ``Printer.open/print_document/status`` from a worker
thread. Importing this package loads no printer library; python-escpos is loaded (with its
import-time side effects contained) on first use.
"""

from fieldpass.drivers.printers.base import Printer, PrintError, PrinterStatus, PrintResult
from fieldpass.drivers.printers.document import (
    QR,
    Barcode128,
    Block,
    Cut,
    Document,
    DocumentError,
    Feed,
    Heading,
    KeyValue,
    Line,
    Rule,
    Text,
    test_page_document,
)
from fieldpass.drivers.printers.dummy import DummyPrinter
from fieldpass.drivers.printers.fake import RecordedJob, RecordingPrinter
from fieldpass.drivers.printers.file import FilePrinter
from fieldpass.drivers.printers.network import NetworkPrinter
from fieldpass.drivers.printers.profile import PrinterProfile, available_profiles, resolve_profile
from fieldpass.drivers.printers.render import (
    RenderedJob,
    render_escpos,
    render_escpos_job,
    render_text,
)
from fieldpass.drivers.printers.serial import SerialPrinter
from fieldpass.drivers.printers.spec import (
    PRINTER_KINDS,
    SPEC_HELP,
    PrinterSpec,
    make_printer,
    parse_printer_spec,
)
from fieldpass.drivers.printers.usb import UsbPrinter

__all__ = [
    "PRINTER_KINDS",
    "QR",
    "SPEC_HELP",
    "Barcode128",
    "Block",
    "Cut",
    "Document",
    "DocumentError",
    "DummyPrinter",
    "Feed",
    "FilePrinter",
    "Heading",
    "KeyValue",
    "Line",
    "NetworkPrinter",
    "PrintError",
    "PrintResult",
    "Printer",
    "PrinterProfile",
    "PrinterSpec",
    "PrinterStatus",
    "RecordedJob",
    "RecordingPrinter",
    "RenderedJob",
    "Rule",
    "SerialPrinter",
    "Text",
    "UsbPrinter",
    "available_profiles",
    "make_printer",
    "parse_printer_spec",
    "render_escpos",
    "render_escpos_job",
    "render_text",
    "resolve_profile",
    "test_page_document",
]
