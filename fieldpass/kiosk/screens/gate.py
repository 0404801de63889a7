"""The gate's main screen: one big result panel per scan, counters, code input, status."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from fieldpass.drivers.scanners.keyboard import KeystrokeBurst
from fieldpass.kiosk.bigtext import big_text
from fieldpass.kiosk.messages import CodeScanned
from fieldpass.kiosk.present import IDLE_VIEW, ResultView
from fieldpass.kiosk.screens.kiosk_screen import KioskScreen

TONES = ("idle", "ok", "bad", "error")


class CodeInput(Input):
    """The always-focused code field; a wedge scanner types here, and so can staff."""

    def __init__(self, *, blink: bool = True, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.cursor_blink = blink
        self.burst = KeystrokeBurst()

    def on_key(self, event: events.Key) -> None:
        # Runs before Input's own key handling: note when each printable key arrived.
        if event.is_printable:
            self.burst.key(event.time)


class BigTitle(Widget):
    """The result word in three-row letters when they fit, else plain bold text."""

    text: reactive[str] = reactive("", layout=True)

    def render(self) -> str:
        return big_text(self.text, self.content_size.width) or self.text


class ResultPanel(Vertical):
    """Fills the screen with the last result; its tone class sets the colour."""

    def compose(self) -> ComposeResult:
        yield BigTitle(id="result-title")
        yield Static(id="result-reason", markup=False)
        yield Static(id="result-holder", markup=False)
        yield Static(id="result-place", markup=False)
        yield Static(id="result-first-entry", markup=False)
        yield Static(id="result-meta", markup=False)

    def show(self, view: ResultView) -> None:
        for tone in TONES:
            self.set_class(tone == view.tone, f"-{tone}")
        self.query_one(BigTitle).text = view.title
        self.query_one("#result-reason", Static).update(view.reason)
        self.query_one("#result-holder", Static).update(view.holder)
        self.query_one("#result-place", Static).update(view.place)
        self.query_one("#result-first-entry", Static).update(view.first_entry)
        self.query_one("#result-meta", Static).update(view.meta)
        self.view = view


class GateScreen(KioskScreen[None]):
    """Shows what the app's handlers tell it; owns no device state, queries no database."""

    CSS_PATH = "gate.tcss"
    AUTO_FOCUS = "#code-input"

    def __init__(self, header: str, mode_line: str, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self._header = header
        self._mode_line = mode_line
        self._cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        with Vertical(id="top"):
            yield Static(self._header, id="header-line", markup=False)
            yield Static(self._mode_line, id="mode-line", markup=False)
        yield ResultPanel(id="result")
        yield Static("", id="counters", markup=False)
        yield CodeInput(
            placeholder="scan or type a ticket code, then Enter",
            id="code-input",
            blink=self._cursor_blink,
        )
        yield Static("", id="message-line", markup=False)
        yield Static("", id="status-bar", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ResultPanel).show(IDLE_VIEW)

    def on_screen_resume(self) -> None:
        self.query_one(CodeInput).focus()

    @on(Input.Submitted, "#code-input")
    def code_submitted(self, event: Input.Submitted) -> None:
        field = self.query_one(CodeInput)
        source = field.burst.finish()
        field.clear()
        event.stop()
        if event.value.strip():
            self.app.post_message(CodeScanned(event.value, source.value))

    def on_click(self) -> None:
        # Whatever was clicked, the next scan must land in the code field.
        self.query_one(CodeInput).focus()

    # The app's handlers call these with already-formatted text.

    def show_result(self, view: ResultView) -> None:
        self.query_one(ResultPanel).show(view)

    def show_header(self, header: str) -> None:
        self.query_one("#header-line", Static).update(header)

    def show_mode(self, mode_line: str) -> None:
        self.query_one("#mode-line", Static).update(mode_line)

    def show_counters(self, text: str) -> None:
        self.query_one("#counters", Static).update(text)

    def show_status(self, text: str, online: bool) -> None:
        bar = self.query_one("#status-bar", Static)
        bar.update(text)
        bar.set_class(online, "-online")
        bar.set_class(not online, "-offline")

    @property
    def result_title(self) -> str:
        """The plain words of the result shown (the big letters spell exactly these)."""
        return self.query_one(BigTitle).text

    @property
    def result_view(self) -> ResultView:
        return self.query_one(ResultPanel).view
