"""The trace view: the failed execs of a ``goci-doctor trace --json`` document, and the crash
chain of the one highlighted.

Reached from the command palette ("Open a trace", from any step, "What failed" included) through
``trace_commands``, the app's one hook. It reads a saved trace document; it never starts a tracer
(tracing needs the command line, and often root). Imports: Textual, the TUI's own widgets and
screens, ``goci_doctor.trace.events`` and the core model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, OptionList
from textual.widgets.option_list import Option

from goci_doctor.model import BadInputError, from_jsonable
from goci_doctor.trace.events import ExecDiagnosis, Trace
from goci_doctor.tui.chainpane import ChainTree


def load_trace(path: str | Path) -> Trace:
    """A trace document written by ``goci-doctor trace --json``; one clear error otherwise."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError(f"{path}: not a readable JSON document ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != "trace" or not isinstance(doc.get("trace"), dict):
        raise BadInputError(f"{path}: not a goci-doctor trace document (kind 'trace')")
    try:
        trace: Trace = from_jsonable(Trace, doc["trace"])
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"{path}: malformed trace document ({exc})") from None
    return trace


def _label(i: int, d: ExecDiagnosis) -> str:
    from textual.markup import escape

    from goci_doctor.render.trace import clean

    ev = d.event
    what = f"exit {ev.exit_code}" if ev.status == "loader-failed" else ev.result
    where = f" in {ev.container}" if ev.container else ""
    return escape(f"{i}. pid {ev.pid}  {clean(ev.path)}  {what}  → {d.family or 'unknown'}{where}")


class TraceScreen(Screen[None]):
    """Failed execs on top; the crash chain of the highlighted one below."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, trace: Trace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trace = trace

    def compose(self) -> ComposeResult:
        from goci_doctor.render.trace import clean

        t = self.trace
        yield Header()
        with Vertical(id="trace-view"):
            command = " ".join(clean(a) for a in t.command) or (
                f"pid {t.attached_pid}" if t.attached_pid else "the whole machine"
            )
            yield Label(
                f"Trace of {command} with {t.engine}: {len(t.events)} execs, {len(t.failures)} failed",
                id="trace-title",
                markup=False,
            )
            options = [Option(_label(i, d), id=str(i - 1)) for i, d in enumerate(t.failures, 1)]
            yield OptionList(*options, id="trace-failures")
            if not t.failures:
                yield Label("No exec failed in this trace.", id="trace-empty")
            yield ChainTree("chain", id="trace-chain")
        yield Footer()

    def on_mount(self) -> None:
        if self.trace.failures:
            self.show_failure(0)

    def show_failure(self, index: int) -> None:
        from goci_doctor.records import Diagnosis

        d = self.trace.failures[index]
        diagnosis = Diagnosis(subject=d.event.path, kind="artifact", chains=(d.chain,) if d.chain else ())
        colours: dict[str, str] = getattr(self.app, "kind_colours", lambda: {})()
        self.query_one("#trace-chain", ChainTree).show(diagnosis, colours)

    @on(OptionList.OptionHighlighted, "#trace-failures")
    @on(OptionList.OptionSelected, "#trace-failures")
    def _pick(self, event: OptionList.OptionHighlighted | OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.show_failure(int(event.option.id))


def open_trace_file(app: Any) -> None:
    """Ask for a trace document, then show it."""
    from goci_doctor.tui.screens import FilePickerScreen

    def chosen(path: Path | None) -> None:
        if path is None:
            return
        try:
            app.push_screen(TraceScreen(load_trace(path)))
        except BadInputError as exc:
            app.notify(exc.message, severity="error")

    app.push_screen(FilePickerScreen("Open a trace (goci-doctor trace --json -o FILE -- COMMAND)"), chosen)


def trace_commands(app: Any) -> Iterator[SystemCommand]:
    """The app's hook: palette commands of the trace view."""
    yield SystemCommand(
        "Open a trace",
        "The failed execs of a `goci-doctor trace --json` file, each with its chain",
        lambda: open_trace_file(app),
    )
