"""Store.petrol_totals: today's sales per payment method, for the kiosk's status bar."""

from __future__ import annotations

from .test_petrol_redeem import Kiosk


def test_totals_group_by_method_within_the_window(tmp_path):
    kiosk = Kiosk(tmp_path)
    try:
        kiosk.block("blk-1", {"A": [str(n) for n in range(1, 11)]}, price_cents=1250)
        kiosk.pin("pin-1", "11111", quantity=1)
        kiosk.pin("pin-2", "22222", quantity=2)
        kiosk.pin("pin-3", "33333", quantity=1)
        start = kiosk.clock.now
        assert kiosk.store.petrol_totals(start, start + 1) == []
        kiosk.service.redeem("11111", identity_verified=True, cash_cents=2000)  # change 7.50
        kiosk.service.redeem("22222", identity_verified=True, cash_cents=2500)
        kiosk.clock.advance(10)
        kiosk.service.redeem("33333", identity_verified=True, card_ref="POS-1")
        assert kiosk.store.petrol_totals(start, start + 100) == [
            ("card", 1, 1250),
            ("cash", 2, 3750),
        ]
        assert kiosk.store.petrol_totals(start, start + 10) == [("cash", 2, 3750)]
        assert kiosk.store.petrol_totals(start + 100, start + 200) == []
    finally:
        kiosk.store.close()
