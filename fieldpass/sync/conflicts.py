"""Conflict kinds the server raises when an event breaks a domain rule. The event is
still stored; the conflict is for an admin to resolve."""

from enum import StrEnum


class ConflictKind(StrEnum):
    DOUBLE_ENTRY = "double_entry"  # one ticket admitted at two gates while offline
    FORK = "fork"  # a different event under an already accepted seq
    REVOKED_ADMITTED = "revoked_admitted"  # admitted offline after the server revoked it
    RAFFLE_OUT_OF_RANGE = "raffle_out_of_range"  # an RSU sold a number outside its allocations
    RAFFLE_NUMBER_SOLD_TWICE = "raffle_number_sold_twice"  # a number already sold by another order
    #: a raffle event the server could not apply as reported (validation number taken,
    #: unknown order or package, sale after the RSU closed); the event is kept
    RAFFLE_SALE_PROBLEM = "raffle_sale_problem"
    PIN_REDEEMED_TWICE = "pin_redeemed_twice"  # one PIN sold at two kiosks while offline
    #: a petrol sale the server could not match fully (PIN unknown or cancelled, seats not
    #: held by the kiosk, barcode already taken); the sale and its other tickets are kept
    PETROL_SALE_PROBLEM = "petrol_sale_problem"
    #: an event naming an event, gate or raffle its device is not assigned to (another
    #: organization's, or another event of the same one); kept in the chain, never applied
    WRONG_ASSIGNMENT = "wrong_assignment"
    #: a scan that admitted a signed ticket the server could not verify (no signed code, a
    #: code the event's ticket key did not sign, or one naming another ticket); kept in the
    #: chain, not applied: the server never creates a ticket from a device's word
    UNVERIFIED_TICKET = "unverified_ticket"
    #: a gate admitted a ticket a certified kiosk signed offline, but that kiosk has pushed
    #: past the ticket's issue time and no sale of it arrived (a lost or forged sale)
    ISSUED_TICKET_WITHOUT_SALE = "issued_ticket_without_sale"
    #: a gate admitted a kiosk-signed ticket issued after the kiosk was revoked
    REVOKED_ISSUER = "revoked_issuer"
