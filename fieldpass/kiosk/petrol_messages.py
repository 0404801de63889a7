"""Messages of the petrol app, named as past events. Workers only post these (and
``messages.WorkerFailed``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class PinEntered(Message):
    """The attendant submitted a well-formed PIN; it waits to be looked up."""

    pin: str


@dataclass
class PinLookedUp(Message):
    """A PIN was found redeemable; carries its quantity and masked holders."""

    view: Any  # fieldpass.kiosk.petrol.PinView


@dataclass
class SaleCommitted(Message):
    """PetrolService.redeem committed the sale and its outbox event."""

    sale: Any  # fieldpass.device.petrol.PetrolSale


@dataclass
class TicketPrinted(Message):
    """One ticket of the current sale was handed to the printer."""

    seq: int
    index: int


@dataclass
class ReprintRequested(Message):
    """The attendant asked to print the tickets of a sale that did not print."""

    seq: int


@dataclass
class PetrolStatusRead(Message):
    """Sync status and today's totals were read (periodically, after a sync or a sale)."""

    status: Any  # DeviceStatus
    totals: list[tuple[str, int, int]]
    synced: bool = False  # a background sync round produced this read
    match: str = ""  # the event's name, which may arrive with a pull

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PetrolStatusRead) and not self.synced and not message.synced
