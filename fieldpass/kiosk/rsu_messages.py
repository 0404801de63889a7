"""Messages of the RSU app, named as past events. Workers only post these (and
``messages.WorkerFailed`` / ``ReceiptPrinted`` / ``PrinterStatusRead``); screens post the
requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class RsuStatusRead(Message):
    """Sync status and the raffle's status (packages, remaining, totals, can_sell) were read."""

    status: Any  # fieldpass.device.store.DeviceStatus
    raffle: Any  # fieldpass.device.raffle.RaffleStatus
    synced: bool = False  # a background sync round produced this read

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RsuStatusRead) and not self.synced and not message.synced


@dataclass
class IntegrityChecked(Message):
    """The start-up store check finished (SQLite integrity check + outbox hash chain)."""

    report: Any  # fieldpass.device.raffle.IntegrityReport


@dataclass
class LastOrderRead(Message):
    """At start-up: the newest order of this RSU (a crash may have cut its printing)."""

    receipt: Any  # fieldpass.device.raffle.RaffleReceipt


@dataclass
class SaleRequested(Message):
    """The seller confirmed a sale on the sale screen; it waits to be committed."""

    order: Any  # fieldpass.kiosk.screens.rsu_sale.OrderRequest


@dataclass
class RaffleSaleCommitted(Message):
    """RaffleService.sell committed the order and its outbox event; the receipt prints next."""

    sale: Any  # fieldpass.device.raffle.RaffleSale


@dataclass
class ReprintRequested(Message):
    """The seller asked for the last order's receipt again (logged first, marked REPRINT)."""

    validation_number: str


@dataclass
class RaffleReprintLogged(Message):
    """The ``raffle_reprint`` event is committed; the copy prints next."""

    receipt: Any  # fieldpass.device.raffle.RaffleReceipt


@dataclass
class RaffleReprintPrinted(Message):
    """The REPRINT copy was handed to the printer."""

    receipt: Any
    result: Any  # PrintResult


@dataclass
class VoidLookupRequested(Message):
    """The void screen wants to show the order of a validation number before voiding it."""

    validation_number: str


@dataclass
class VoidOrderFound(Message):
    """The order to void, as its receipt (None with ``error`` when not found)."""

    receipt: Any
    error: str = ""


@dataclass
class OrderVoided(Message):
    """RaffleService.void committed the void and its outbox event."""

    sale: Any  # fieldpass.device.raffle.RaffleSale


@dataclass
class CloseRequested(Message):
    """The seller confirmed the end of sales on this RSU."""


@dataclass
class SalesClosed(Message):
    """The close is recorded; ``unsynced`` events were still waiting after the last sync."""

    closing: Any  # fieldpass.device.raffle.RaffleClosing
    unsynced_before: int
    unsynced: int
    error: str | None
