"""``fieldpass admin raffle``: the raffle lifecycle up to sales — create, packages, prizes,
configure, allocate/deallocate number ranges, activate, seed commitment, close.

The results half (reconcile, confirm, draw, verify-draw, lookup, claim, reports) is in
:mod:`fieldpass.cli.admin_raffle_results`, registered on the same group.
"""

from __future__ import annotations

import click


@click.group("raffle")
def raffle() -> None:
    """Raffles: set up, sell through RSUs, reconcile and draw."""
