"""Three-row box-drawing letters, so a result reads from a step back (like Textual's Digits,
which has no letters)."""

from __future__ import annotations

GLYPHS: dict[str, tuple[str, str, str]] = {
    "A": ("╭─╮", "├─┤", "╵ ╵"),
    "B": ("┬─╮", "├─┤", "┴─╯"),
    "C": ("╭─╴", "│  ", "╰─╴"),
    "D": ("┬─╮", "│ │", "┴─╯"),
    "E": ("╭─╴", "├─ ", "╰─╴"),
    "F": ("╭─╴", "├─ ", "╵  "),
    "G": ("╭─╴", "│╶╮", "╰─╯"),
    "H": ("╷ ╷", "├─┤", "╵ ╵"),
    "I": ("╶┬╴", " │ ", "╶┴╴"),
    "J": ("  ╷", "  │", "╰─╯"),
    "K": ("╷ ╱", "├┤ ", "╵ ╲"),
    "L": ("╷  ", "│  ", "╰─╴"),
    "M": ("╭┬╮", "│││", "╵╵╵"),
    "N": ("╭╮╷", "│││", "╵╰╯"),
    "O": ("╭─╮", "│ │", "╰─╯"),
    "P": ("┌─╮", "├─╯", "╵  "),
    "Q": ("╭─╮", "│ │", "╰─╲"),
    "R": ("┌─╮", "├┬╯", "╵╰╴"),
    "S": ("╭─╴", "╰─╮", "╶─╯"),
    "T": ("╶┬╴", " │ ", " ╵ "),
    "U": ("╷ ╷", "│ │", "╰─╯"),
    "V": ("╷ ╷", "╲ ╱", " ╵ "),
    "W": ("╷╷╷", "│││", "╰┴╯"),
    "X": ("╲ ╱", " ╳ ", "╱ ╲"),
    "Y": ("╷ ╷", "╰┬╯", " ╵ "),
    "Z": ("╶─┐", " ╱ ", "└─╴"),
    " ": ("  ", "  ", "  "),
    "(": ("╭", "│", "╰"),
    ")": ("╮", "│", "╯"),
}


def big_text(text: str, max_width: int) -> str | None:
    """``text`` in three-row letters, or None when a character has no glyph or it is too wide."""
    glyphs = []
    for char in text.upper():
        glyph = GLYPHS.get(char)
        if glyph is None:
            return None
        glyphs.append(glyph)
    rows = [" ".join(glyph[row] for glyph in glyphs) for row in range(3)]
    if len(rows[0]) > max_width:
        return None
    return "\n".join(rows)
