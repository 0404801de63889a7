"""The one exception type of the device core; ``code`` is what callers branch on."""

from __future__ import annotations


class DeviceError(Exception):
    """A device-side failure with a machine-readable ``code`` and a one-line ``message``.

    Codes: not_enrolled, already_enrolled, not_approved, revoked, store_corrupt,
    offline, server_error, unauthorized, device_revoked, fork, upgrade_required,
    bad_identity, bad_key, bad_response.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message
