"""The password policy for every way an admin password is set.

At least 12 characters; not a common password (the list shipped in
``fieldpass/server/common_passwords.txt``, from zxcvbn's frequency list), also once the
digits and symbols around it are stripped ("Password2024!" is "password"); not the
account's e-mail address or its local part; not one character repeated.
"""

from __future__ import annotations

import functools
from importlib import resources

MIN_LENGTH = 12
_AROUND = "0123456789!@#$%^&*()_+-=[]{};:'\",.<>/?\\|`~ "


class PasswordRefused(ValueError):
    """A password the policy refuses; the message says why in one line."""


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("fieldpass.server").joinpath("common_passwords.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password(password: str, email: str) -> None:
    """Raise PasswordRefused when ``password`` may not be the password of ``email``."""
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(f"password must have at least {MIN_LENGTH} characters")
    if not password.isprintable():
        raise PasswordRefused("password must not hold control characters")
    lowered = password.lower()
    email = email.strip().lower()
    if lowered in (email, email.partition("@")[0]):
        raise PasswordRefused("password must not be the e-mail address")
    if len(set(lowered)) == 1:
        raise PasswordRefused("password must not be one character repeated")
    common = common_passwords()
    core = lowered.strip(_AROUND)
    if lowered in common or core in common or lowered.replace(" ", "") in common:
        raise PasswordRefused("password is on the list of common passwords; choose another")
