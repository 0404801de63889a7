"""``fieldpass admin raffle verify-draw FILE``: recompute a draw from its exported record,
with no server and no database."""

from __future__ import annotations

from fieldpass.cli.admin_raffle import raffle  # noqa: F401 - commands register on this group
