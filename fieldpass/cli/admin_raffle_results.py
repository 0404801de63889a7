"""``fieldpass admin raffle`` after sales: reconcile, confirm, draw, export and verify the
draw, look up and claim by validation number, and the reports of the standard."""

from __future__ import annotations

from fieldpass.cli.admin_raffle import raffle  # noqa: F401 - commands register on this group
