"""Raffle validation numbers, made on the RSU and checked by the server and the CLI.

A validation number is unique without the network and cannot be guessed from a draw
number or a counter: 4 digits of the RSU's terminal number (unique per server, handed
out at approval), 15 digits from the OS CSPRNG (about 50 bits), and a Luhn check digit
so a mistyped number is caught before any lookup. Two RSUs never share a terminal
number and one RSU checks its own store before using a number, so no two orders get
the same one, and the server's UNIQUE index would flag it if they ever did.
"""

from __future__ import annotations

import secrets

TERMINAL_DIGITS = 4
RANDOM_DIGITS = 15
VALIDATION_LENGTH = TERMINAL_DIGITS + RANDOM_DIGITS + 1
MAX_TERMINAL_NUMBER = 10**TERMINAL_DIGITS - 1


class ValidationNumberError(ValueError):
    pass


def luhn_digit(digits: str) -> str:
    """The Luhn check digit to append to ``digits``."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def new_validation_number(terminal_number: int, random_digits: str | None = None) -> str:
    """A fresh validation number (canonical form: 20 digits, no separators)."""
    if not 1 <= terminal_number <= MAX_TERMINAL_NUMBER:
        raise ValidationNumberError(f"terminal number must be 1..{MAX_TERMINAL_NUMBER}")
    if random_digits is None:
        random_digits = f"{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"
    if len(random_digits) != RANDOM_DIGITS or not random_digits.isdigit():
        raise ValidationNumberError(f"need {RANDOM_DIGITS} random digits")
    body = f"{terminal_number:0{TERMINAL_DIGITS}d}{random_digits}"
    return body + luhn_digit(body)


def parse_validation_number(text: str) -> str:
    """The canonical form of a typed or scanned validation number (spaces and dashes
    allowed between digits); raises ValidationNumberError saying what is wrong."""
    if not isinstance(text, str):
        raise ValidationNumberError("a validation number is text")
    compact = text.strip().replace("-", "").replace(" ", "")
    if not (compact.isascii() and compact.isdigit()):
        raise ValidationNumberError(
            f"a validation number has only digits (and dashes), got {text[:30]!r}"
        )
    if len(compact) != VALIDATION_LENGTH:
        raise ValidationNumberError(
            f"a validation number has {VALIDATION_LENGTH} digits, got {len(compact)}"
        )
    if luhn_digit(compact[:-1]) != compact[-1]:
        raise ValidationNumberError("validation number check digit is wrong (mistyped?)")
    if int(compact[:TERMINAL_DIGITS]) == 0:
        raise ValidationNumberError("validation number has no terminal number")
    return compact


def format_validation_number(canonical: str) -> str:
    """Groups of four for receipts and screens: ``0007-1234-5678-9012-3456``."""
    return "-".join(canonical[i : i + 4] for i in range(0, len(canonical), 4))


def terminal_of(canonical: str) -> int:
    return int(canonical[:TERMINAL_DIGITS])
