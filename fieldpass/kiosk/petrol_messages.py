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
    kickoff_ms: int | None = None  # the event's kick-off, printed on tickets

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PetrolStatusRead) and not self.synced and not message.synced


@dataclass
class ReservationMade(Message):
    """Seats were reserved for the PIN (or changed): the seat screen shows them."""

    view: Any  # fieldpass.kiosk.petrol.PinView
    documents: list[str]
    reservation: Any  # fieldpass.device.petrol.Reservation
    free_seats: list[Any]  # PricedSeat: the reservation's own and every other free seat
    changed: bool = False


@dataclass
class SeatsChangeRequested(Message):
    """The attendant picked other seats for the current reservation."""

    reservation_id: str
    seats: list[tuple[str, str, str]]


@dataclass
class ReservationsExpired(Message):
    """``expire_reservations`` ended these reservations (their seats went back)."""

    ids: list[str]


@dataclass
class ReprintLogged(Message):
    """An emergency reprint's ``petrol_reprint`` event is committed; the copy prints next."""

    copy: Any  # fieldpass.device.petrol.ReprintTicket


@dataclass
class ReprintPrinted(Message):
    """The REPRINT copy was handed to the printer."""

    barcode: str
