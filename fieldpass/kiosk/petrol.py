"""The petrol kiosk's reads and pure helpers: PIN look-up for the screens, masking, money.

``look_up_pin`` is the screen's preview of a PIN (run in a worker) through
``PetrolService.look_up``, the same checks ``redeem`` runs again inside its transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from fieldpass.device.context import DeviceContext
from fieldpass.kiosk.present import one_line_error

_REFUSED = {
    "USED": ("pin_used", "PIN {pin} was already redeemed"),
    "EXPIRED": ("pin_expired", "PIN {pin} has expired"),
    "CANCELLED": ("pin_cancelled", "PIN {pin} was cancelled"),
}
#: Amounts as typed: whole units with up to two decimals ("25", "25.5", "25.50").
_AMOUNT = re.compile(r"[0-9]{1,7}(\.[0-9]{1,2})?")


@dataclass(frozen=True)
class HolderView:
    """One holder as the attendant may see it: the name and a masked document."""

    name: str
    document: str  # e.g. "OIB ***1530"


@dataclass(frozen=True)
class PinView:
    pin: str
    quantity: int
    holders: list[HolderView]


def mask_document(document_type: str, number: str) -> str:
    """The document type and only the last four characters of its number."""
    tail = number[-4:] if len(number) > 4 else ""
    return f"{document_type or 'document'} ***{tail}"


def look_up_pin(ctx: DeviceContext, pin: str) -> PinView:
    """The PIN's quantity and holders as the attendant may see them, or DeviceError with
    ``redeem``'s code (blocking: run it in a worker)."""
    found = ctx.petrol.look_up(pin)
    holders = [
        HolderView(
            holder["full_name"],
            mask_document(
                str(holder.get("document_type", "")), str(holder.get("document_number", ""))
            ),
        )
        for holder in found.holders
    ]
    return PinView(pin, len(holders), holders)


def parse_amount(text: str) -> int | None:
    """An amount as typed in cents, or None when it is not a well-formed amount."""
    value = text.strip()
    if not _AMOUNT.fullmatch(value):
        return None
    whole, _, fraction = value.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


def format_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def cash_change(due_cents: int, tendered_text: str) -> tuple[str, int | None]:
    """(what the change line says, the cash tendered in cents when it covers the total)."""
    tendered = parse_amount(tendered_text)
    if tendered is None or tendered == 0:
        return f"Enter the cash tendered (total {format_cents(due_cents)})", None
    if tendered < due_cents:
        return f"Tendered is {format_cents(due_cents - tendered)} short of the total", None
    return f"Change {format_cents(tendered - due_cents)}", tendered


def day_start_ms(now_ms: int, tz: tzinfo | None) -> int:
    """Midnight of ``now_ms``'s day in ``tz`` (None: the device's local zone), epoch ms."""
    moment = datetime.fromtimestamp(now_ms / 1000, tz=tz)
    return int(moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


def present_totals(totals: list[tuple[str, int, int]]) -> str:
    """Today's sales per payment method for the status bar."""
    if not totals:
        return "Today: no sales yet"
    parts = [f"{method} {count} sale(s) {format_cents(amount)}" for method, count, amount in totals]
    return "Today: " + " · ".join(parts)


def present_sale_error(error: Any) -> str:
    """A refused look-up or sale for the attendant: the code and what it means."""
    code = getattr(error, "code", None)
    line = one_line_error(error)
    return f"{line} [{code}]" if isinstance(code, str) else line
