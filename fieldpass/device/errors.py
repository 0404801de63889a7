"""The one exception type of the device core; ``code`` is what callers branch on."""

from __future__ import annotations


class DeviceError(Exception):
    """A device-side failure with a machine-readable ``code`` and a one-line ``message``.

    Codes: not_enrolled, already_enrolled, not_approved, revoked, store_corrupt,
    offline, server_error, unauthorized, device_revoked, fork, upgrade_required,
    bad_identity, bad_key, bad_response; petrol redemption: invalid_pin, unknown_pin,
    wrong_event, pin_used, pin_expired, pin_cancelled, identity_not_verified,
    invalid_payment, no_seats, no_holders_key, bad_holders; raffle sales at an RSU
    (fieldpass.device.raffle): store_corrupt, no_raffle, raffle_not_pulled, closed,
    raffle_not_active, sales_not_started, sales_ended, no_terminal, rsu_not_active,
    unknown_package, package_inactive, sold_out, not_enough_numbers, invalid_payment,
    insufficient_cash, invalid_customer, invalid_operator, invalid_sale,
    invalid_validation, invalid_reason, unknown_order, already_voided, too_many_copies;
    petrol reservations and reprints (fieldpass.device.petrol): pin_reserved,
    invalid_seats, seat_taken, seat_gone, unknown_reservation, reservation_expired,
    reservation_ended, wrong_reservation, invalid_document, invalid_reason,
    unknown_ticket, holder_data_purged, invalid_setting.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message
