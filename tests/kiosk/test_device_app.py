"""The shared device app base: the roles only fill its hooks, and the status bar and the
reservation countdown get their looks from global.tcss."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from fieldpass.kiosk.app import GateApp
from fieldpass.kiosk.device_app import DeviceApp
from fieldpass.kiosk.petrol_app import PetrolApp
from fieldpass.kiosk.petrol_widgets import ReservationCountdown
from fieldpass.kiosk.rsu_app import RsuApp
from fieldpass.kiosk.status_bar import DeviceStatusBar

from .test_petrol_app import MINUTE, idle, outbox_kinds, petrol_app, to_seats

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("role", [GateApp, PetrolApp, RsuApp])
def test_roles_never_redefine_a_handler_of_the_base(role):
    # Textual calls a handler of every class in the MRO: a role's own on_mount (or
    # on_worker_failed...) would run next to the base's, starting every worker twice.
    assert issubclass(role, DeviceApp)
    base_handlers = {name for name in vars(DeviceApp) if name.startswith(("on_", "_on_"))}
    assert base_handlers, "the base handles mount, failures and the printer"
    assert base_handlers.isdisjoint(vars(role))


async def test_status_bar_and_countdown_are_styled_by_global_tcss(petrol_device, clock):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        seats = await to_seats(pilot, app)
        bar = seats.query_one(DeviceStatusBar)
        assert bar.size.height == 2  # without its rules a Vertical takes the free space
        line = bar.query_one("#status-bar", Static)
        assert line.has_class("-offline") and "OFFLINE" in str(line.render())
        assert line.styles.background != bar.query_one("#totals-line").styles.background
        countdown = seats.query_one(ReservationCountdown)
        assert countdown.size.height == 1 and countdown.styles.text_style.bold
        calm = countdown.styles.background
        clock.advance(4 * MINUTE + 30_000)
        app.check_reservation()
        await pilot.pause()
        assert countdown.has_class("-urgent") and countdown.styles.background != calm


async def test_the_back_button_of_a_step_cancels_it_like_escape(petrol_device):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await to_seats(pilot, app)
        assert await pilot.click("#back-button")
        await idle(pilot, app)
        assert app.screen is app.pin_screen
        assert "seats are released" in app.pin_screen.text_of("#message-line")
        assert outbox_kinds(petrol_device) == ["petrol_reservation", "petrol_reservation_end"]
