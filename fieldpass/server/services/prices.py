"""Ticket prices of an event: price categories (seed price_categories), the sector's
category (seed match_sectors.price_category_id) and the event's VAT rate.

Amounts are integer cents everywhere (the seed's DECIMAL(10,2)); the VAT rate is kept in
basis points (2500 = 25.00 %) and given to devices as text ("25.00") so no float ever
rounds a receipt. Prices include VAT, as on every Croatian ticket.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.errors import ApiError
from fieldpass.server.services.common import clean_text

#: The default VAT on tickets: the Croatian PDV standard rate. Configurable per event
#: (``EventCreate.vat_percent``, ``fieldpass admin event create --vat-percent``).
DEFAULT_VAT_BASIS_POINTS = 2500
#: Largest ticket price, in cents (10,000.00), the most a petrol sale may record.
MAX_PRICE_CENTS = 1_000_000
_AMOUNT = re.compile(r"^(\d{1,7})(?:[.,](\d{1,2}))?$")


class PriceError(ValueError):
    """A price or VAT text that is not a valid amount."""


def parse_cents(text: str, what: str = "price", *, maximum: int = MAX_PRICE_CENTS) -> int:
    """``"25"``, ``"25.5"``, ``"25.00"`` or ``"25,00"`` -> cents; PriceError otherwise."""
    match = _AMOUNT.match(text.strip())
    if match is None:
        raise PriceError(f"{what} must be an amount like 25.00, got {text[:20]!r}")
    cents = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if cents > maximum:
        raise PriceError(f"{what} {text.strip()} is more than {format_cents(maximum)}")
    return cents


def format_cents(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def parse_vat(text: str) -> int:
    """A VAT percent (``"25"``, ``"13.00"``, ``"0"``) -> basis points; at most 100 %."""
    try:
        return parse_cents(text, "VAT percent", maximum=10_000)
    except PriceError as exc:
        raise ApiError("invalid", str(exc)) from None


def format_vat(basis_points: int) -> str:
    """Basis points -> the percent text devices print: 2500 -> ``"25.00"``."""
    return format_cents(basis_points)


def price_cents(text: str, what: str = "price") -> int:
    try:
        return parse_cents(text, what)
    except PriceError as exc:
        raise ApiError("invalid", str(exc)) from None


def resolve_category(
    conn: sa.Connection,
    event_id: str,
    *,
    price: int | None,
    name: str | None,
    now: int,
    new_id: Callable[[], str],
) -> Any:
    """The event's price category for a sector: by name, or named after the amount.

    A new name with a price creates the category; an existing one must have that price
    (changing a category's price would silently reprice every sector using it).
    """
    pc = schema.price_categories
    if name is not None:
        name = clean_text(name, "category", max_length=50)
    elif price is not None:
        name = format_cents(price)
    else:
        return None
    row = conn.execute(sa.select(pc).where(pc.c.event_id == event_id, pc.c.name == name)).first()
    if row is not None:
        if price is not None and row.price_cents != price:
            raise ApiError(
                "invalid",
                f"price category {name!r} costs {format_cents(row.price_cents)}, not "
                f"{format_cents(price)}: give another --category name",
            )
        return row
    if price is None:
        raise not_a_category(name)
    category_id = new_id()
    conn.execute(
        sa.insert(pc).values(
            id=category_id, event_id=event_id, name=name, price_cents=price, created_at=now
        )
    )
    return conn.execute(sa.select(pc).where(pc.c.id == category_id)).one()


def not_a_category(name: str) -> ApiError:
    return ApiError(
        "not_found", f"price category {name!r} of this event not found: give --price with it"
    )


def list_categories(conn: sa.Connection, event_id: str) -> list[dict[str, Any]]:
    pc = schema.price_categories
    rows = conn.execute(
        sa.select(pc).where(pc.c.event_id == event_id).order_by(pc.c.price_cents, pc.c.name)
    ).all()
    return [
        {"name": row.name, "price": format_cents(row.price_cents), "currency": row.currency}
        for row in rows
    ]
