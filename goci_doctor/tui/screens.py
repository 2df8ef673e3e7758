"""Screens: the session (six steps as tabs), help, the file picker and the history.

Imports: lab.demo, render.history, tui.kit and the panes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widget import MountError, Widget
from textual.widgets import (
    Button,
    DirectoryTree,
    Footer,
    Header,
    Input,
    Label,
    OptionList,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option

from goci_doctor.tui.chainpane import ChainPane
from goci_doctor.tui.inputpanes import EnvironmentPane, ExportPane, FactsPane, SourcePane
from goci_doctor.tui.kit import STEPS, lit
from goci_doctor.tui.matrixpane import MatrixPane

if TYPE_CHECKING:
    from goci_doctor.lab.demo import Scenario
    from goci_doctor.render.history import HistoryEntry


FIRST_IN_FOOTER = ("help", "quit")
"""Actions the footer shows first, whatever the step and the focus: on a narrow terminal the keys
that do not fit are cut at the right edge, and help and quit must never be among them."""


class SessionFooter(Footer):
    """The footer with help and quit first, then the step's own keys, then the session's."""

    def compose(self) -> ComposeResult:
        keys: list[Widget] = list(super().compose())

        def rank(key: Widget) -> int:
            action = getattr(key, "action", "")
            return FIRST_IN_FOOTER.index(action) if action in FIRST_IN_FOOTER else len(FIRST_IN_FOOTER)

        # sorted is stable: the other keys keep the order Textual gives them.
        yield from sorted(keys, key=rank)


class SessionScreen(Screen[None]):
    """The guided session: six steps a person moves through and back.

    With ``lazy`` the first step is drawn at once and the hidden steps' panes are mounted into
    their (empty) tabs right after the first paint (most of the start-up is mounting and styling
    widgets); the session opens what the command line named once they all are. Nothing takes the
    focus before that (``AUTO_FOCUS``): the session focuses step 1's table when it starts.
    """

    AUTO_FOCUS = ""

    def __init__(
        self,
        demo_scenarios: Sequence[Scenario] | Callable[[], Sequence[Scenario]] = (),
        *,
        lazy: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._scenarios = demo_scenarios
        self._lazy = lazy
        self._deferred: list[tuple[TabPane, Widget]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="steps", initial="environment"):
            panes: dict[str, Any] = {
                "environment": EnvironmentPane(id="environment-pane"),
                "source": SourcePane(self._scenarios, id="source-pane"),
                "facts": FactsPane(id="facts-pane"),
                "matrix": MatrixPane(id="matrix-pane"),
                "chain": ChainPane(id="chain-pane"),
                "export": ExportPane(id="export-pane"),
            }
            for pane_id, title in STEPS:
                if self._lazy and pane_id != STEPS[0][0]:
                    tab = TabPane(title, id=pane_id)
                    self._deferred.append((tab, panes[pane_id]))
                    yield tab
                    continue
                with TabPane(title, id=pane_id):
                    yield panes[pane_id]
        yield SessionFooter()

    def on_mount(self) -> None:
        if self._deferred:
            self.call_after_refresh(self._mount_deferred)
        else:
            self.app.start_session()  # type: ignore[attr-defined]

    async def _mount_deferred(self) -> None:
        """Mount the hidden steps' panes (after the first paint), then open what the command line
        named. A session closed before (``q`` in its first half second) just ends: the steps are
        gone, and mounting into them must not fail."""
        deferred, self._deferred = self._deferred, []
        for tab, pane in deferred:
            if not (self.is_attached and tab.is_attached):
                return
            try:
                await tab.mount(pane)
            except MountError:
                return
        self.app.start_session()  # type: ignore[attr-defined]


HELP_TEXT = """\
# goci-doctor — guided troubleshooting

Walk through the steps with **n** (next) and **b** (back), or jump with **1**–**6**.
**Tab** moves between the widgets of a step; arriving on a step focuses its main widget,
so the arrow keys work at once.

In a text field (a path, the log box, the export folder) letters and digits are typed
into the field: press **escape** to leave it, then **n**, **b** and **1**–**6** work again.
**ctrl+pagedown** / **ctrl+pageup** (or **F6** / **F5**) change step from anywhere, fields included.
Click a tab with the mouse, or press **ctrl+p** for every command.

| Step | What it shows |
|---|---|
| 1 Environment | The machine's Go, C compilers, libc, CI and Docker; problems first, secrets redacted |
| 2 What failed | Pick a binary, paste or load a log, choose a Go project, or a demo scenario |
| 3 Artifact | What static inspection read from the file (never executed on this machine) |
| 4 Matrix | The artifact run in each target container: image and libc really used, the exact error |
| 5 Crash chain | Symptom → mechanism → root cause, the evidence, fixes; **p** proves a fix, **c** copies it |
| 6 Export | Markdown for a bug report or PR, JSON to replay with `--report`, the history |

| Key | Action |
|---|---|
| m | Run the container matrix |
| escape | Leave a text field; otherwise cancel running work (containers are removed) |
| h | Saved sessions |
| [ / ] | Step 5: give the crash-chain tree less / more of the pane's height |
| F1 / ? | This help |
| q / ctrl+q | Quit (outside text fields; running containers are removed first) |
"""


class HelpScreen(ModalScreen[None]):
    """Keys and steps at a glance."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,f1,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            from textual.widgets import Markdown  # markdown-it: imported when help is first opened

            yield Markdown(HELP_TEXT, id="help-text")
            yield Button("Close", id="help-close", variant="primary")

    @on(Button.Pressed, "#help-close")
    def _close(self) -> None:
        self.dismiss(None)


class FilePickerScreen(ModalScreen[Path | None]):
    """Pick a file: browse a directory tree or type a path. Returns the path, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, start: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._title = title
        self._start = start if start is not None and start.is_dir() else Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog", classes="dialog"):
            yield Label(self._title, id="picker-title")
            yield DirectoryTree(self._start, id="picker-tree")
            yield Input(str(self._start), id="picker-path")
            with Horizontal(classes="row"):
                yield Button("Open", id="picker-open", variant="primary")
                yield Button("Cancel", id="picker-cancel")

    @on(DirectoryTree.FileSelected, "#picker-tree")
    def _file(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one("#picker-path", Input).value = str(event.path)
        self.dismiss(event.path)

    @on(DirectoryTree.DirectorySelected, "#picker-tree")
    def _dir(self, event: DirectoryTree.DirectorySelected) -> None:
        self.query_one("#picker-path", Input).value = str(event.path)

    @on(Button.Pressed, "#picker-open")
    @on(Input.Submitted, "#picker-path")
    def _open(self) -> None:
        path = Path(self.query_one("#picker-path", Input).value.strip()).expanduser()
        if path.is_file():
            self.dismiss(path)
        else:
            self.notify(f"{path} is not a file", severity="warning", markup=False)

    @on(Button.Pressed, "#picker-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


_SAVED_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})\d{2}")


def entry_date(entry: HistoryEntry) -> str:
    """When the session was saved, read from its id (UTC, as the id was made): "2026-11-26 16:51 UTC".

    The report's own date can be older (a demo's recording, a replayed report); it is a note beside.
    """
    m = _SAVED_RE.match(entry.id)
    if m is None:
        return entry.created[:16].replace("T", " ") or entry.id
    y, mo, d, h, mi = m.groups()
    return f"{y}-{mo}-{d} {h}:{mi} UTC"


def recorded_note(entry: HistoryEntry) -> str:
    """ ", recorded 2026-10-03" when the report's own date is another day than the save's ("" otherwise)."""
    m = _SAVED_RE.match(entry.id)
    created = entry.created[:10]
    if m is None or not created or created == "-".join(m.groups()[:3]):
        return ""
    return f", recorded {created}"


class HistoryScreen(ModalScreen[str | None]):
    """Saved sessions, newest first. Returns the chosen session id, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, entries: Iterable[HistoryEntry], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._entries = list(entries)

    def compose(self) -> ComposeResult:
        with Vertical(id="history-dialog", classes="dialog"):
            yield Label(f"Saved sessions ({len(self._entries)})", id="history-title")
            options = [
                Option(
                    # Titles and subjects come from saved reports: literal text, never markup.
                    f"{lit(entry_date(e))}  {lit(e.title or Path(e.subject).name)}  "
                    f"[dim]{e.problems} problem{'s' if e.problems != 1 else ''}{lit(recorded_note(e))}[/dim]",
                    id=e.id,
                )
                for e in self._entries
            ]
            yield OptionList(*options, id="history-list")
            if not self._entries:
                yield Label("No saved sessions yet: export one with “Save to history” in step 6.")
            yield Button("Close", id="history-close")

    @on(OptionList.OptionSelected, "#history-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#history-close")
    def action_cancel(self) -> None:
        self.dismiss(None)
