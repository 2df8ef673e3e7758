"""What every pane shares: which widget each step focuses, readable colours (contrast), text made
safe for Rich markup, key-value tables, and ``SessionActions`` (what panes ask of the app).

Imports: textual, model, records.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from rich.text import Text
from textual.widgets import (
    DataTable,
)

if TYPE_CHECKING:
    from goci_doctor.records import ChainNode


STEPS: tuple[tuple[str, str], ...] = (
    ("environment", "1 Environment"),
    ("source", "2 What failed"),
    ("facts", "3 Artifact"),
    ("matrix", "4 Matrix"),
    ("chain", "5 Crash chain"),
    ("export", "6 Export"),
)
"""(pane id, tab label) in the order a person walks through them."""

MAIN_WIDGETS = {
    "environment": "#env-table",
    "source": "#browse-artifact",
    "facts": "#facts-table",
    "matrix": "#matrix-table",
    "chain": "#chain-tree",
    "export": "#export-markdown",
}
"""The widget that takes the focus on arriving at each step (never a text field, so keys keep working)."""


def main_widget(step: str, demo: bool = False) -> str:
    """Selector of the widget focused on arriving at ``step`` (a demo's step 2 focuses its scenario list)."""
    if step == "source" and demo:
        return "#demo-list"
    return MAIN_WIDGETS[step]


def _luminance(colour: Any) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""
    from textual.color import Color

    la, lb = sorted((_luminance(Color.parse(a)), _luminance(Color.parse(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(colour: str, background: str, dark: bool, ratio: float = 4.5) -> str:
    """``colour`` darkened (light themes) or lightened (dark themes) until text in it reads on ``background``.

    Theme colours are chosen for backgrounds and borders: orange or green text on a light grey is
    hard to read (about 2:1); this keeps the hue and reaches the WCAG ratio for text.
    """
    from textual.color import Color, ColorParseError

    if "ansi" in colour or "ansi" in background:
        return colour  # the terminal's own palette: its contrast is the terminal's to choose
    try:
        c = Color.parse(colour)
        Color.parse(background)
    except ColorParseError:
        return colour
    for _ in range(20):
        if contrast(c.hex, background) >= ratio:
            break
        c = c.lighten(0.05) if dark else c.darken(0.05)
    return c.hex


KIND_LABEL = {"symptom": "symptom", "mechanism": "why", "cause": "root cause", "fix": "fix", "note": "note"}


def lit(text: str) -> str:
    r"""``text`` made literal inside Content markup (it quotes logs, binaries, paths, titles).

    Every bracket is escaped. A backslash right before a bracket or at the end would escape the
    bracket or the closing tag that follows (the stray ``[/b]`` under a log line ending in ``\``),
    and markup has no way to escape a backslash: a zero-width space goes between them.
    """
    if "\\" in text:
        text = text.replace("\\[", "\\\u200b[")
        if text.endswith("\\"):
            text += "\u200b"
    # Every bracket, not only tag-shaped ones: "[sp,'" before a closing tag would swallow it.
    return text.replace("[", "\\[")


class SessionActions(Protocol):
    """What the panes ask of the app (``tui.app.GociApp`` implements it): the panes never import the
    app, so the app can import them."""

    def open_artifact(self, path: str, *, keep_runs: bool = False) -> None: ...
    def explain_log(self, text: str, source: str = "log") -> None: ...
    def open_project(self, directory: str) -> None: ...
    def open_demo(self, name: str) -> None: ...
    def pick_file(self, purpose: str) -> None: ...
    def show_whole_log(self) -> None: ...
    def action_run_matrix(self) -> None: ...
    def action_cancel(self) -> None: ...
    def action_save_history(self) -> None: ...
    def prove_fix(self, node: ChainNode) -> None: ...
    def why_not_provable(self, node: ChainNode) -> str: ...
    def kind_colours(self) -> dict[str, str]: ...
    def export(self, fmt: str, directory: str = "") -> Path | None: ...


def _app(widget: Any) -> SessionActions:
    return cast(SessionActions, widget.app)


def _kv_table(table: DataTable[Any], rows: Iterable[tuple[str, str]]) -> None:
    """Fact/value rows; the fact column has a fixed width (its longest name, up to 30), so a long
    value never squeezes it to "OS /" or "Kern" whatever the order in which the table is laid out."""
    rows = list(rows)
    table.clear(columns=True)
    table.add_column("Fact", width=min(30, max([len("Fact"), *(len(k) for k, _ in rows)])))
    table.add_column("Value")
    for key, value in rows:
        table.add_row(Text(key), Text(value))
