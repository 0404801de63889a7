"""Ticket holders' identity: the Croatian OIB check digit and the holder record.

Shared by the server (PIN creation and import) and the petrol kiosk (identity checks), so
both refuse exactly the same input. Pure: no I/O, no clock (callers pass ``today``).

The one-line holder format the admin CLI and the PIN import use is
``NAME;YYYY-MM-DD;NATIONALITY;OIB_OR_PASSPORT``. The document is an OIB when it is 11
digits and the nationality is HR (then its check digit must be right); otherwise it must
look like a passport number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

DocumentType = Literal["OIB", "PASSPORT"]

OIB_LENGTH = 11
MAX_NAME_LENGTH = 200
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
#: ICAO 9303 document numbers are at most 9 characters; some countries use a few more.
PASSPORT_PATTERN = re.compile(r"[A-Z0-9]{5,20}")
NATIONALITY_PATTERN = re.compile(r"[A-Z]{2}")  # ISO 3166-1 alpha-2
_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


class HolderError(ValueError):
    """A holder that cannot be accepted; ``field`` names the part that is wrong."""

    code = "invalid_holder"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def oib_check_digit(first_ten: str) -> int:
    """The ISO 7064 MOD 11,10 check digit of the first ten digits of an OIB."""
    if len(first_ten) != OIB_LENGTH - 1 or not _ascii_digits(first_ten):
        raise ValueError("an OIB's check digit is computed over exactly 10 digits")
    remainder = 10
    for char in first_ten:
        remainder = (remainder + int(char)) % 10
        if remainder == 0:
            remainder = 10
        remainder = (remainder * 2) % 11
    check = 11 - remainder
    return 0 if check == 10 else check


def oib_is_valid(oib: str) -> bool:
    """True for 11 ASCII digits whose last one is the MOD 11,10 check digit of the rest."""
    if not isinstance(oib, str) or len(oib) != OIB_LENGTH or not _ascii_digits(oib):
        return False
    return oib_check_digit(oib[:-1]) == int(oib[-1])


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@dataclass(frozen=True)
class Holder:
    """One ticket holder as the PIN carries it."""

    full_name: str
    date_of_birth: date
    nationality: str
    document_type: DocumentType
    document_number: str

    def to_dict(self) -> dict[str, str]:
        return {
            "full_name": self.full_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "nationality": self.nationality,
            "document_type": self.document_type,
            "document_number": self.document_number,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Holder:
        """Rebuild (and re-check) a holder from :meth:`to_dict` output."""
        holder = make_holder(
            str(data["full_name"]),
            str(data["date_of_birth"]),
            str(data["nationality"]),
            str(data["document_number"]),
        )
        if holder.document_type != data.get("document_type", holder.document_type):
            raise HolderError("document", "document type does not match the document number")
        return holder

    def masked(self) -> dict[str, str]:
        """The holder for people who may not see identifiers: name and nationality only."""
        return {
            "full_name": self.full_name,
            "date_of_birth": "****-**-**",
            "nationality": self.nationality,
            "document_type": self.document_type,
            "document_number": "*" * (len(self.document_number) - 3) + self.document_number[-3:],
        }


def make_holder(
    full_name: str,
    date_of_birth: str,
    nationality: str,
    document: str,
    *,
    today: date | None = None,
) -> Holder:
    """Check and normalise a holder's parts; raises :class:`HolderError` naming the field."""
    name = " ".join(full_name.split())
    if not name:
        raise HolderError("name", "the holder's full name is required")
    if len(name) > MAX_NAME_LENGTH:
        raise HolderError("name", f"the holder's name is longer than {MAX_NAME_LENGTH} characters")
    if not name.isprintable() or ";" in name:
        raise HolderError("name", "the holder's name contains control characters or ';'")
    if not any(char.isalpha() for char in name):
        raise HolderError("name", f"the holder's name has no letters: {name[:40]!r}")
    birth = _birth_date(date_of_birth.strip(), today)
    country = nationality.strip().upper()
    if not NATIONALITY_PATTERN.fullmatch(country):
        raise HolderError(
            "nationality",
            f"nationality must be a 2-letter ISO country code like HR, got {nationality[:20]!r}",
        )
    number = document.strip().upper().replace(" ", "")
    if country == "HR" and len(number) == OIB_LENGTH and _ascii_digits(number):
        if not oib_is_valid(number):
            raise HolderError("document", f"invalid OIB {number}: wrong check digit")
        return Holder(name, birth, country, "OIB", number)
    if not number:
        raise HolderError("document", "an OIB or passport number is required")
    if not number.isascii() or not PASSPORT_PATTERN.fullmatch(number):
        raise HolderError(
            "document",
            f"not an OIB (11 digits, nationality HR) nor a passport number "
            f"(5-20 letters and digits): {document[:30]!r}",
        )
    return Holder(name, birth, country, "PASSPORT", number)


def _birth_date(text: str, today: date | None) -> date:
    if not _DATE_PATTERN.fullmatch(text):
        raise HolderError("date_of_birth", f"date of birth must be YYYY-MM-DD, got {text[:20]!r}")
    try:
        birth = date.fromisoformat(text)
    except ValueError:
        raise HolderError("date_of_birth", f"no such date: {text}") from None
    if birth < EARLIEST_BIRTH_DATE:
        raise HolderError("date_of_birth", f"date of birth {text} is before 1900")
    if today is not None and birth > today:
        raise HolderError("date_of_birth", f"date of birth {text} is in the future")
    return birth


def parse_holder(line: str, *, today: date | None = None) -> Holder:
    """Parse ``NAME;YYYY-MM-DD;NATIONALITY;OIB_OR_PASSPORT`` into a checked :class:`Holder`."""
    parts = line.split(";")
    if len(parts) != 4:
        raise HolderError(
            "holder",
            f"a holder is NAME;YYYY-MM-DD;NATIONALITY;OIB_OR_PASSPORT (4 parts separated by "
            f"';'), got {len(parts)} part(s)",
        )
    return make_holder(*parts, today=today)
