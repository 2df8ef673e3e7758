"""Step 4: the container matrix (targets x variants), stable column widths, elapsed time of
running cells, the highlighted row in full.

Imports: textual, model, records, knowledge, tui.kit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    DataTable,
    Static,
)

from goci_doctor.tui.kit import _app, lit

if TYPE_CHECKING:
    from goci_doctor.records import BuildResult, RunResult, Verdict

# --------------------------------------------------------------------------------------------
# 4 Container matrix


def _known_libc(target: str) -> str:
    """What the knowledge base says a target ships, marked as such (nothing was run there)."""
    from goci_doctor import knowledge

    t = knowledge.find_target(target)
    if t is None:
        return ""
    return f"{t.libc} {t.libc_version} (kb)".replace("  ", " ") if t.libc != "none" else "none (kb)"


MATRIX_COLUMNS = ("Target", "Image", "libc", "Predicted", "Observed", "Exact message")

MATRIX_WIDTHS = {"Image": (22, 8), "libc": (15, 6), "Predicted": (9, 9)}
"""(width, narrowest) of the columns whose values have a known size; Target and Observed are sized
from what the table will hold. On a narrow terminal Target (down to its plain targets), then libc,
Image and Observed give way so the exact message keeps at least MESSAGE_MIN columns, or
MESSAGE_SHARE of the table's width; a message narrower than WIDE_MESSAGE then makes the rows taller
(``row_lines``), and every cell wraps in its width. The detail box below the table shows the
highlighted row's values whole."""
MESSAGE_MIN = 16
MESSAGE_SHARE = 0.4
OBSERVED_NARROWEST = 10
"""Observed wraps its longer outcomes at this width: "not run:" / "predicted only"."""
WIDE_MESSAGE = 40
MESSAGE_CHARS = 90
"""What a narrow row holds of its message: a loader's "…: version `GLIBC_2.34' not found" line."""
MAX_ROW_LINES = 4


def row_lines(message: int) -> int:
    """Lines per matrix row when the exact message is ``message`` cells wide: one when it is wide
    (it runs on, the table scrolls sideways), else as many as MESSAGE_CHARS take, up to MAX_ROW_LINES."""
    if message >= WIDE_MESSAGE:
        return 1
    return max(2, min(MAX_ROW_LINES, -(-MESSAGE_CHARS // max(1, message))))


def matrix_widths(available: int, targets: Sequence[str], variants: Sequence[str], observed: int) -> dict[str, int]:
    """Widths of every matrix column but the last, for a table ``available`` cells wide."""
    labels = [*targets, *(f"{v} build" for v in variants)]
    target = max([len("Target"), *(len(t) for t in labels)])
    if variants and targets:
        target = max(target, max(len(t) for t in targets) + max(len(v) for v in variants) + 3)
    widths = {"Target": min(target, 34), **{k: w for k, (w, _) in MATRIX_WIDTHS.items()}, "Observed": observed}
    narrowest = {
        "Target": min(widths["Target"], max([len("Target"), *(len(t) for t in targets)])),
        **{k: n for k, (_, n) in MATRIX_WIDTHS.items()},
        "Observed": min(observed, OBSERVED_NARROWEST),
    }
    message = max(MESSAGE_MIN, int(available * MESSAGE_SHARE))
    # Each column also takes one cell of padding on either side.
    spare = available - sum(widths.values()) - 2 * len(MATRIX_COLUMNS) - message
    for col in ("Target", "libc", "Image", "Observed"):
        if spare >= 0:
            break
        give = min(widths[col] - narrowest[col], -spare)
        widths[col] -= give
        spare += give
    return widths


def message_width(available: int, widths: dict[str, int]) -> int:
    """What the exact message (the last column) has left of ``available`` cells."""
    return available - sum(widths.values()) - 2 * len(MATRIX_COLUMNS)


def elapsed_text(seconds: float) -> str:
    """A running cell's age: "7 s", "2 min 05 s"."""
    whole = max(0, int(seconds))
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"


class MatrixPane(Vertical):
    """Step 4: live per-target runs, then diagnostic build variants as they finish.

    Every column but the last has a width fixed when the table is reset, from what its rows can
    hold (the targets, the variants that may run, the longest outcome), so the columns stay where
    they are while rows arrive; the exact message, last, takes the rest. Running cells and builds
    show how long they have been at it, ticking every second.
    """

    def compose(self) -> ComposeResult:
        yield Static("Press [b]m[/b] (or Run) to run the artifact in the target containers.", id="matrix-status")
        with Horizontal(classes="row"):
            yield Button("Run matrix", id="run-matrix", variant="primary")
            yield Button("Cancel", id="cancel-work", variant="error")
        yield DataTable(id="matrix-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="matrix-detail")

    _row_height = 1
    """Lines per row: more than one when the exact message is narrow (it wraps in its width)."""

    def on_mount(self) -> None:
        self._messages: dict[str, str] = {}
        self._ticking: dict[str, tuple[str, float]] = {}
        """Row key -> (its phase, when it started): the cells whose Observed column ticks."""
        self._clock = self.set_interval(1.0, self._tick, pause=True)
        self._set_columns([], [])

    def _set_columns(self, targets: Sequence[str], variants: Sequence[str], observed: int = 16) -> None:
        """(Re)create the columns, every one but the last with a fixed width."""
        table = self.query_one("#matrix-table", DataTable)
        table.clear(columns=True)
        # The table spans the pane (less its padding and a scrollbar), laid out or not yet.
        available = (self.size.width or self.app.size.width - 2) - 2
        widths = matrix_widths(available, targets, variants, observed)
        message = message_width(available, widths)
        # A narrow message wraps onto a second line in its own width, rather than running off the edge.
        self._row_height = row_lines(message)
        if self._row_height > 1:
            widths[MATRIX_COLUMNS[-1]] = max(MESSAGE_MIN, message)
        for col in MATRIX_COLUMNS:
            table.add_column(col, key=col, width=widths.get(col))

    def start_clock(self) -> None:
        """Work started: running cells tick."""
        self._ticking = {}
        self._clock.resume()

    def stop_clock(self) -> None:
        """Work ended: nothing ticks any more."""
        self._clock.pause()
        self._ticking = {}

    def _tick(self) -> None:
        now = time.monotonic()
        for key, (phase, started) in list(self._ticking.items()):
            if key in self.query_one("#matrix-table", DataTable).rows:
                self._update(key, "Observed", f"… {phase} {elapsed_text(now - started)}")

    def _start(self, key: str, phase: str) -> str:
        """Mark ``key`` as running ``phase``: the Observed text with its age so far."""
        if phase == "queued":
            self._ticking.pop(key, None)
            return "… queued"
        started = self._ticking.get(key, (phase, time.monotonic()))[1]
        self._ticking[key] = (phase, started)
        return f"… {phase} {elapsed_text(time.monotonic() - started)}"

    @on(Button.Pressed, "#run-matrix")
    def _run(self) -> None:
        _app(self).action_run_matrix()

    @on(Button.Pressed, "#cancel-work")
    def _cancel(self) -> None:
        _app(self).action_cancel()

    def mark_cancelled(self) -> None:
        """Work was cancelled: rows still waiting or running, and rows that never got an answer, say
        "cancelled" (the status line says why, once)."""
        table = self.query_one("#matrix-table", DataTable)
        for key in list(table.rows):
            observed = str(table.get_cell(key, "Observed"))
            if not observed or observed.startswith("…"):
                self._update(key.value or "", "Observed", "cancelled")

    def set_status(self, text: str) -> None:
        """One line above the table: what is happening, or why nothing can run."""
        self.query_one("#matrix-status", Static).update(text)

    def _cell(self, column: str, value: str) -> Text:
        """A cell as plain text (never markup: messages quote binaries), outcomes in the theme's colours."""
        if column not in ("Predicted", "Observed") or not value:
            return Text(value)
        colours = _app(self).kind_colours()
        kind = (
            "fix"
            if value.startswith(("runs", "built"))
            else "symptom"
            if value.startswith(("crashes", "build failed"))
            else "mechanism"
            if value.startswith("…")
            else ""
        )
        return Text(value, style=f"bold {colours[kind]}" if kind else "dim")

    def _update(self, key: str, column: str, value: str) -> None:
        # The last column grows with its widest message, unless it wraps in the width it was given.
        grow = column == MATRIX_COLUMNS[-1] and self._row_height == 1
        table = self.query_one("#matrix-table", DataTable)
        table.update_cell(key, column, self._cell(column, value), update_width=grow)

    @staticmethod
    def row_key(target: str, variant: str = "") -> str:
        return f"{variant}@{target}" if variant else target

    def reset(
        self,
        targets: Sequence[str],
        verdicts: Sequence[Verdict],
        runs: Sequence[RunResult] = (),
        *,
        recorded: bool = False,
        predicted_only: Sequence[str] = (),
        variants: Sequence[str] = (),
        size_for: Sequence[str] = (),
    ) -> None:
        """One row per target with its static prediction, and any runs already known.

        ``variants`` (rebuilt variants whose rows may arrive later) and ``size_for`` (targets whose
        rows may arrive later) size the first column.
        """
        runs = list(runs)
        names = [*targets, *size_for, *(r.target for r in runs)]
        kinds = {*variants, *(r.variant for r in runs if r.variant)}
        observed = 23 if predicted_only else 18 if recorded else 16
        self._set_columns(names, sorted(kinds), observed)
        table = self.query_one("#matrix-table", DataTable)
        self._messages = {}
        by_target = {v.target: v for v in verdicts}
        for t in targets:
            v = by_target.get(t)
            observed_text = "not run: predicted only" if t in predicted_only else ""
            image, libc = ("-", _known_libc(t)) if t in predicted_only else ("", "")
            values = (t, image, libc, v.outcome if v else "?", observed_text, v.message if v else "")
            table.add_row(
                *(self._cell(c, x) for c, x in zip(MATRIX_COLUMNS, values, strict=True)),
                key=self.row_key(t),
                height=self._row_height,
            )
            self._messages[self.row_key(t)] = f"{t}: predicted {v.outcome}: {v.message}" if v else ""
        for r in runs:
            self.show_result(r, recorded=recorded)
        self._show_detail(self.row_key(targets[0]) if targets else "")

    def _show_detail(self, key: str) -> None:
        self.query_one("#matrix-detail", Static).update(lit(self._messages.get(key, "")))

    @on(DataTable.RowHighlighted, "#matrix-table")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.row_key.value or "")

    def _ensure_row(self, target: str, variant: str) -> str:
        table = self.query_one("#matrix-table", DataTable)
        key = self.row_key(target, variant)
        if key not in table.rows:
            label = f"{target} ({variant})" if variant else target
            table.add_row(Text(label), "", "", "", "", "", key=key, height=self._row_height)
        return key

    def show_phase(self, target: str, phase: str, message: str, variant: str = "") -> None:
        """A run in progress: its phase and how long it has run, in the Observed column."""
        key = self._ensure_row(target, variant)
        self._update(key, "Observed", self._start(key, phase))
        if message:
            self._update(key, "Exact message", message)

    def show_build(self, variant: str, result: BuildResult | None, message: str = "") -> None:
        """A diagnostic build started (``result`` None) or finished: the variant's heading row.

        Image is the build image; libc is what the binary produced needs, so each variant's
        target rows below it read as "this binary, in that image, with that libc".
        """
        key = self.row_key("build", variant)
        table = self.query_one("#matrix-table", DataTable)
        if key not in table.rows:
            table.add_row(Text(f"{variant} build"), "", "", "", "", "", key=key, height=self._row_height)
        if result is None:
            self._update(key, "Observed", self._start(key, "building"))
            self._update(key, "Exact message", message)
            self._messages[key] = f"{variant}: {message}"
            return
        self._ticking.pop(key, None)
        if result.ok:
            observed, facts = "built", result.facts
            needs = ""
            if facts is not None:
                needs = facts.linkage or ""
                if facts.glibc_required:
                    needs = f"glibc ≥ {facts.glibc_required}"
                elif facts.libc and facts.libc != "none":
                    needs = f"{facts.linkage} {facts.libc}".strip()
            detail = f"{result.title} ({result.duration_s:.0f} s)"
        else:
            observed = "skipped" if result.reason.startswith("skipped:") else "build failed"
            needs, detail = "", result.reason
        self._update(key, "Image", result.image)
        self._update(key, "libc", needs)
        self._update(key, "Observed", observed)
        self._update(key, "Exact message", detail)
        self._messages[key] = f"{variant} built in {result.image}: {observed}: {detail}"

    def predict(self, variant: str, verdicts: Sequence[Verdict]) -> None:
        """The static prediction for a rebuilt variant on each target (rows made ready for its runs)."""
        for v in verdicts:
            key = self._ensure_row(v.target, variant)
            self._update(key, "Predicted", v.outcome)

    def show_project(
        self,
        builds: Sequence[BuildResult],
        runs: Sequence[RunResult],
        predictions: dict[str, list[Verdict]],
        *,
        recorded: bool = False,
    ) -> None:
        """A project's matrix: per variant, its build row, then one row per target it ran on."""
        variants = sorted({b.variant for b in builds} | {r.variant for r in runs if r.variant})
        targets = sorted({r.target for r in runs} | {v.target for vs in predictions.values() for v in vs})
        self._set_columns(targets, variants, 18 if recorded else 16)
        table = self.query_one("#matrix-table", DataTable)
        self._messages = {}
        for b in builds:
            self.show_build(b.variant, b)
            self.predict(b.variant, predictions.get(b.variant, []))
            for r in runs:
                if r.variant == b.variant:
                    self.show_result(r, recorded=recorded)
        for r in runs:
            if r.variant not in {b.variant for b in builds}:
                self.show_result(r, recorded=recorded)
        first = table.ordered_rows[0].key.value if table.ordered_rows else ""
        self._show_detail(first or "")

    def show_result(self, r: RunResult, recorded: bool = False) -> None:
        """A finished run: outcome, the image and libc really used, the exact message."""
        key = self._ensure_row(r.target, r.variant)
        self._ticking.pop(key, None)
        table = self.query_one("#matrix-table", DataTable)
        observed = r.outcome + (" (recorded)" if recorded else "")
        message = r.message or (f"exit {r.exit_code}" if r.exit_code is not None else "")
        if r.outcome == "error" and "predicted only" in (r.error or ""):
            observed = "not run: predicted only"  # no image here and no local stand-in with its libc
        elif r.error == "cancelled":
            observed, message = "cancelled", ""  # said once, in the Observed column
        if r.timed_out:
            observed += " (timeout)"
        self._update(key, "Observed", observed)
        self._update(key, "Image", r.image)
        self._update(key, "libc", r.libc)
        self._update(key, "Exact message", message)
        where = f"{r.target} ({r.variant})" if r.variant else r.target
        outcome = "cancelled" if r.error == "cancelled" else r.outcome
        self._messages[key] = f"{where} in {r.image or '?'} [{r.libc or '?'}]: {outcome}" + (
            f": {message}" if message else ""
        )
        if table.cursor_row >= 0 and table.ordered_rows and table.ordered_rows[table.cursor_row].key.value == key:
            self._show_detail(key)
