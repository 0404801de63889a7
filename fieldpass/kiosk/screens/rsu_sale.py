"""The RSU's main screen: packages on keys 1-9, optional customer, cash (change shown) or
card (POS reference), F9 confirms; the last order with what the printer did; the seller's
running totals, the numbers left (a warning when low) and, when selling is refused, why.

The screen only shows and asks: the app commits sales, prints and reads status in workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Static

from fieldpass.device.raffle import MAX_CUSTOMER_NAME, MAX_CUSTOMER_PHONE, MAX_REFERENCE_LENGTH
from fieldpass.kiosk.petrol import cash_change, format_cents
from fieldpass.kiosk.rsu_messages import ReprintRequested, SaleRequested
from fieldpass.kiosk.screens.kiosk_screen import KioskScreen
from fieldpass.kiosk.status_bar import status_footer
from fieldpass.sync.validation_numbers import format_validation_number

Method = Literal["cash", "card"]
#: Packages reachable by a digit key.
MAX_KEYED_PACKAGES = 9


@dataclass(frozen=True)
class OrderRequest:
    """What ``RaffleService.sell`` is called with."""

    package_id: str
    package_name: str
    cash_tendered_cents: int | None = None
    card_reference: str | None = None
    customer_name: str | None = None
    customer_phone: str | None = None


def package_label(key: int, package: Any) -> str:
    """``2 · 3 for 10 · 10.00``: the key, the package's name and its price."""
    return f"{key} · {package.name} · {format_cents(package.price_cents)}"


def present_remaining(raffle: Any) -> str:
    """Numbers left on this RSU, with the warning the seller must act on when low."""
    if raffle.allocated == 0:
        return "No numbers allocated to this RSU"
    text = f"Numbers left: {raffle.remaining} of {raffle.allocated}"
    if raffle.remaining == 0:
        return f"{text} — SOLD OUT: ask the office for a new range"
    if raffle.low:
        return f"{text} — LOW: ask the office for more numbers"
    return text


def present_raffle_totals(totals: Any) -> str:
    """The seller's running totals (voided orders are not counted in them)."""
    text = (
        f"Orders {totals.orders} · tickets {totals.tickets} · cash {format_cents(totals.cash_cents)}"
        f" · card {format_cents(totals.card_cents)}"
    )
    return f"{text} · voided {totals.voided_orders}" if totals.voided_orders else text


def present_numbers(numbers: list[int]) -> str:
    return ", ".join(str(number) for number in numbers)


def present_payment(receipt: Any) -> str:
    price = f"{receipt.package_name} · {format_cents(receipt.price_cents)}"
    if receipt.payment_method == "cash" and receipt.tendered_cents is not None:
        return (
            f"{price} · cash {format_cents(receipt.tendered_cents)}"
            f" · change {format_cents(receipt.change_cents or 0)}"
        )
    return f"{price} · card · POS reference {receipt.payment_reference}"


class RsuSaleScreen(KioskScreen[None]):
    """Digits pick a package while no field is being typed in; Esc drops the order."""

    CSS_PATH = "rsu_sale.tcss"
    AUTO_FOCUS = ""  # no field: the digit keys pick a package until one is chosen
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "choose(1)", "Package", key_display="1-9", id="rsu-package"),
        *(Binding(str(n), f"choose({n})", show=False) for n in range(2, MAX_KEYED_PACKAGES + 1)),
        Binding("f2", "method('cash')", "Cash", id="rsu-cash"),
        Binding("f3", "method('card')", "Card", id="rsu-card"),
        Binding("f9", "confirm", "Confirm sale", id="rsu-confirm"),
        Binding("escape", "cancel_order", "Cancel order", id="rsu-cancel"),
        Binding("f5", "reprint", "Reprint", id="rsu-reprint"),
        Binding("f6", "app.open_void", "Void order", id="rsu-void"),
        Binding("f8", "app.open_close", "Close sales", id="rsu-close"),
    ]

    def __init__(self, header: str) -> None:
        super().__init__()
        self._header = header
        self.packages: list[Any] = []  # RafflePackage, in key order
        self.package: Any = None  # the package of the order being taken
        self.method: Method = "cash"
        self.can_sell = False
        self.refusal = "reading the raffle…"
        self.busy = False  # a sale is being committed
        self.last_receipt: Any = None
        self.can_reprint = False

    def compose(self) -> ComposeResult:
        yield Static(self._header, id="header-line", markup=False)
        with Vertical(id="rsu-body"):
            yield from self._compose_body()
        yield from status_footer()

    def _compose_body(self) -> ComposeResult:
        yield Static("", id="refusal-line", markup=False)
        yield Grid(id="packages")
        yield Static("", id="remaining-line", markup=False)
        with Vertical(id="order-panel"):
            yield Static("", id="order-line", markup=False)
            with Horizontal(id="customer-fields"):
                yield Input(
                    placeholder="customer name (optional)",
                    id="customer-name-input",
                    max_length=MAX_CUSTOMER_NAME,
                )
                yield Input(
                    placeholder="phone (optional)",
                    id="customer-phone-input",
                    max_length=MAX_CUSTOMER_PHONE,
                )
            yield Static("", id="method-line", markup=False)
            with Horizontal(id="cash-fields"):
                yield Input(placeholder="cash tendered", id="tendered-input", restrict=r"[0-9.]*")
                yield Static("", id="change-line", markup=False)
            with Horizontal(id="card-fields"):
                yield Input(
                    placeholder="POS reference",
                    id="card-ref-input",
                    max_length=MAX_REFERENCE_LENGTH,
                )
            with Horizontal(id="order-buttons"):
                yield Button("Confirm sale (F9)", id="confirm-button", variant="primary")
                yield Button("Cancel (Esc)", id="cancel-button")
        with Vertical(id="sale-panel"):
            yield Static("", id="sale-title", markup=False)
            yield Static("", id="sale-numbers", markup=False)
            yield Static("", id="sale-payment", markup=False)
            yield Static("", id="print-line", markup=False)

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False
        self._show_refusal()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Payment keys only while an order is being taken (the footer shows them then)."""
        if action in ("method", "confirm", "cancel_order"):
            return self.package is not None
        return True

    # -- what the app shows ------------------------------------------------------------------

    def show_header(self, header: str) -> None:
        self.query_one("#header-line", Static).update(header)

    def show_raffle(self, raffle: Any) -> None:
        """Packages, remaining numbers and whether selling is possible (a RaffleStatus)."""
        packages = list(raffle.packages)[:MAX_KEYED_PACKAGES]
        if [p.id for p in packages] != [p.id for p in self.packages]:
            self.packages = packages
            grid = self.query_one("#packages", Grid)
            grid.remove_children()  # no ids on the buttons: the new ones never clash
            buttons = [
                Button(package_label(n, p), name=str(n), classes="package")
                for n, p in enumerate(packages, 1)
            ]
            for button in buttons:
                button.can_focus = False
            grid.mount_all(buttons)
        else:
            self.packages = packages
        self.can_sell = bool(raffle.can_sell)
        self.refusal = raffle.cannot_sell_reason or ""
        self._show_refusal()
        remaining = self.query_one("#remaining-line", Static)
        remaining.update(present_remaining(raffle))
        remaining.set_class(bool(raffle.low), "-low")

    def refuse_selling(self, reason: str) -> None:
        """Stop selling from this screen (e.g. the store failed its integrity check)."""
        self.can_sell = False
        self.refusal = reason
        self._show_refusal()

    def _show_refusal(self) -> None:
        line = self.query_one("#refusal-line", Static)
        line.update("" if self.can_sell else f"NOT SELLING: {self.refusal}")
        line.set_class(not self.can_sell, "-visible")
        for button in self.query(".package").results(Button):
            button.disabled = not self.can_sell
        if not self.can_sell and self.package is not None and not self.busy:
            self._clear_order()
            self.show_message(f"Order cancelled, nothing sold: {self.refusal}")

    def sale_done(self, receipt: Any) -> None:
        """The order is committed: clear the form, show the numbers and the validation."""
        self.busy = False
        self._clear_order()
        self.last_receipt = receipt
        self.query_one("#sale-panel").display = True
        self.query_one("#sale-title", Static).update(
            f"SOLD · validation {format_validation_number(receipt.validation_number)}"
        )
        self.query_one("#sale-numbers", Static).update(
            f"Numbers ({len(receipt.draw_numbers)}): {present_numbers(receipt.draw_numbers)}"
        )
        self.query_one("#sale-payment", Static).update(present_payment(receipt))
        self.show_print("")

    def show_last_order(self, receipt: Any) -> None:
        """The newest order from before a restart, so its receipt can be printed again."""
        if self.last_receipt is not None or receipt.voided:
            return  # a sale of this run is newer
        self.sale_done(receipt)
        self.query_one("#sale-title", Static).update(
            f"LAST ORDER · validation {format_validation_number(receipt.validation_number)}"
        )
        self.show_print(
            "If its receipt did not print before the restart, F5 prints a copy marked REPRINT"
        )
        self.can_reprint = True

    def sale_refused(self, text: str) -> None:
        """The sale was not committed: the form stays filled so the seller can fix it."""
        self.busy = False
        self.query_one("#confirm-button", Button).disabled = False
        self.show_message(text)

    def show_print(self, text: str, *, failed: bool = False) -> None:
        line = self.query_one("#print-line", Static)
        line.update(text)
        line.set_class(failed, "-failed")
        self.can_reprint = failed

    # -- the order ---------------------------------------------------------------------------

    def action_choose(self, key: int) -> None:
        if self.busy:
            return
        if not self.can_sell:
            self.show_message(f"Not selling: {self.refusal}")
            return
        if not 1 <= key <= len(self.packages):
            self.show_message(f"No package on key {key}")
            return
        self.package = self.packages[key - 1]
        self.method = "cash"  # every order starts as cash; F3 switches
        tickets = self.package.ticket_count
        self.query_one("#order-line", Static).update(
            f"Order: {package_label(key, self.package)} · {tickets} "
            f"{'ticket' if tickets == 1 else 'tickets'}"
        )
        self.query_one("#order-panel").display = True
        self.query_one("#confirm-button", Button).disabled = False
        self.show_message("")
        self.action_method(self.method)
        self.refresh_bindings()

    @on(Button.Pressed, ".package")
    def package_pressed(self, event: Button.Pressed) -> None:
        self.action_choose(int(event.button.name or 0))

    def action_method(self, method: Method) -> None:
        if self.package is None:
            return
        self.method = method
        self.query_one("#cash-fields").display = method == "cash"
        self.query_one("#card-fields").display = method == "card"
        other = "F3 card" if method == "cash" else "F2 cash"
        self.query_one("#method-line", Static).update(f"Paying by {method.upper()} ({other})")
        self.query_one("#tendered-input" if method == "cash" else "#card-ref-input", Input).focus()
        self._update_change()

    @on(Input.Changed, "#tendered-input")
    def _update_change(self) -> None:
        if self.package is None:
            return
        text, _ = cash_change(self.package.price_cents, self._value("#tendered-input"))
        self.query_one("#change-line", Static).update(text)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id in ("tendered-input", "card-ref-input"):
            self.action_confirm()
        else:
            self.focus_next()

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    def action_confirm(self) -> None:
        package = self.package
        if package is None or self.busy:
            return
        if not self.can_sell:
            self.show_message(f"Not selling: {self.refusal}")
            return
        name = self._value("#customer-name-input").strip() or None
        phone = self._value("#customer-phone-input").strip() or None
        if self.method == "cash":
            text, tendered = cash_change(package.price_cents, self._value("#tendered-input"))
            if tendered is None:
                self.show_message(f"Cash not accepted: {text.lower()}")
                return
            order = OrderRequest(package.id, package.name, tendered, None, name, phone)
        else:
            reference = self._value("#card-ref-input").strip()
            if not reference or not reference.isprintable():
                self.show_message("A card payment needs the POS reference from the card terminal")
                return
            order = OrderRequest(package.id, package.name, None, reference, name, phone)
        self.busy = True
        self.query_one("#confirm-button", Button).disabled = True
        self.show_message(f"Selling {package.name}…")
        self.app.post_message(SaleRequested(order))

    @on(Button.Pressed, "#confirm-button")
    def confirm_pressed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel-button")
    def cancel_pressed(self) -> None:
        self.action_cancel_order()

    def action_cancel_order(self) -> None:
        if self.busy or self.package is None:
            return
        self._clear_order()
        self.show_message("Order cancelled, nothing sold")

    def _clear_order(self) -> None:
        self.package = None
        for field in self.query("#order-panel Input").results(Input):
            field.clear()
        self.query_one("#order-panel").display = False
        self.set_focus(None)
        self.refresh_bindings()

    def action_reprint(self) -> None:
        receipt = self.last_receipt
        if receipt is None or self.busy:
            self.show_message("No receipt to reprint yet")
            return
        self.show_print("Logging the reprint…")
        self.app.post_message(ReprintRequested(receipt.validation_number))
