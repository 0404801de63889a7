"""The one exception type of the device core; ``code`` is what callers branch on."""

from __future__ import annotations


class DeviceError(Exception):
    """A device-side failure with a machine-readable ``code`` and a one-line ``message``.

    Codes: not_enrolled, already_enrolled, not_approved, revoked, store_corrupt,
    offline, server_error, unauthorized, device_revoked, fork, upgrade_required,
    bad_identity, bad_key, bad_response; petrol redemption: invalid_pin, unknown_pin,
    wrong_event, pin_used, pin_expired, pin_cancelled, identity_not_verified,
    invalid_payment, no_seats, no_holders_key, bad_holders.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message
