"""The panes of the session, one per step, and the crash-chain tree.

Widgets only display what the core computed (facts, verdicts, runs, chains) and forward the
user's choices to the app; they hold no diagnosis logic.

Imports: diagnosis.fixstatus, knowledge, lab.demo, model, records, render.text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    OptionList,
    Static,
    TextArea,
    Tree,
)
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from goci_doctor.diagnosis.fixstatus import fix_status, summary_line
from goci_doctor.model import ArtifactFacts
from goci_doctor.records import BuildResult, ChainNode, Diagnosis, EnvFacts, RunResult, Verdict

if TYPE_CHECKING:
    from goci_doctor.lab.demo import Scenario

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


# --------------------------------------------------------------------------------------------
# 1 Environment


def env_rows(env: EnvFacts, redact: Any) -> list[tuple[str, str]]:
    """Flatten EnvFacts into (fact, value) rows; every value goes through ``redact`` again."""
    rows: list[tuple[str, str]] = [
        ("OS / arch", f"{env.os}/{env.arch}"),
        ("Kernel", env.kernel),
        ("Distribution", env.os_release.get("PRETTY_NAME", "") or env.os_release.get("NAME", "")),
        ("libc", f"{env.libc} {env.libc_version}".strip()),
        ("Go", env.go.get("GOVERSION", "") or ("not installed" if not env.go else "")),
    ]
    rows.extend((f"go env {k}", v) for k, v in sorted(env.go.items()) if k != "GOVERSION")
    rows.extend(
        (f"C compiler {t.name}", " ".join(x for x in (t.version, t.target, t.path) if x)) for t in env.compilers
    )
    rows.append(("binfmt handlers", ", ".join(env.binfmt) or "none"))
    rows.append(("CI", env.ci_provider or "not in CI"))
    rows.extend((f"CI {k}", v) for k, v in sorted(env.ci_details.items()))
    rows.extend((f"Docker {k}", v) for k, v in sorted(env.docker.items()))
    rows.extend((f"${k}", v) for k, v in sorted(env.env.items()))
    rows.extend(("note", n) for n in getattr(env, "notes", ()) or ())
    return [(k, redact(str(v))) for k, v in rows if str(v) != ""]


class EnvironmentPane(Vertical):
    """Step 1: the gathered environment, problems first."""

    def compose(self) -> ComposeResult:
        yield Static("Gathering the environment…", id="env-problems", classes="problems")
        yield DataTable(id="env-table", cursor_type="row", zebra_stripes=True)

    def show(self, env: EnvFacts | None, problems: Sequence[str], redact: Any, origin: str = "") -> None:
        """Display ``env``; ``origin`` says whose environment it is (demo, report, this machine)."""
        box = self.query_one("#env-problems", Static)
        head = f"[b]{lit(origin)}[/b]\n" if origin else ""
        if env is None:
            box.update(head + "No environment recorded.")
            box.set_class(False, "has-problems")
        elif problems:
            box.update(head + "\n".join(f"[$error]✖[/] {lit(redact(p))}" for p in problems))
            box.set_class(True, "has-problems")
        else:
            box.update(head + "[$success]✔[/] No environment problems found.")
            box.set_class(False, "has-problems")
        _kv_table(self.query_one("#env-table", DataTable), env_rows(env, redact) if env else [])


# --------------------------------------------------------------------------------------------
# 2 What failed


class SourcePane(VerticalScroll):
    """Step 2: a binary, a log, a Go project or a demo scenario."""

    def __init__(
        self, demo_scenarios: Sequence[Scenario] | Callable[[], Sequence[Scenario]] = (), **kwargs: Any
    ) -> None:
        """``demo_scenarios``: the demo's scenarios, or a function returning them (called at compose,
        so a pane mounted after the first paint reads them after it too)."""
        super().__init__(**kwargs)
        self._scenarios = demo_scenarios

    def compose(self) -> ComposeResult:
        yield Label("[b]A binary[/b] that crashed or will be deployed", id="artifact-label")
        with Horizontal(classes="row"):
            yield Input(placeholder="path to the binary", id="artifact-path")
            yield Button("Browse…", id="browse-artifact")
            yield Button("Inspect", id="inspect", variant="primary")
        yield Label("[b]A log[/b]: paste the crash or CI output, or load a file")
        yield Static("", id="log-note")
        yield TextArea(id="log-text", soft_wrap=True, show_line_numbers=False)
        with Horizontal(classes="row"):
            yield Button("Load log…", id="browse-log")
            yield Button("Explain", id="explain", variant="primary")
            yield Button("Whole log", id="whole-log")
        yield Label("[b]A Go project[/b]: rebuild it as diagnostic variants (needs Docker)")
        with Horizontal(classes="row"):
            yield Input(placeholder="project directory", id="project-dir")
            yield Button("Build variants", id="build-project")
        yield Label("[b]A demo scenario[/b] (recorded evidence, no Docker or Go needed)", id="demo-label")
        yield OptionList(
            *[Option(f"{lit(s.title)}  [dim]{lit(s.name)}[/dim]", id=s.name) for s in self.scenarios()],
            id="demo-list",
        )

    def scenarios(self) -> list[Scenario]:
        found = self._scenarios() if callable(self._scenarios) else self._scenarios
        self._scenarios = list(found)
        return self._scenarios

    @on(Button.Pressed, "#inspect")
    @on(Input.Submitted, "#artifact-path")
    def _inspect(self) -> None:
        _app(self).open_artifact(self.query_one("#artifact-path", Input).value.strip())

    @on(Button.Pressed, "#explain")
    def _explain(self) -> None:
        _app(self).explain_log(self.query_one("#log-text", TextArea).text, source="pasted log")

    @on(Button.Pressed, "#build-project")
    @on(Input.Submitted, "#project-dir")
    def _project(self) -> None:
        _app(self).open_project(self.query_one("#project-dir", Input).value.strip())

    @on(Button.Pressed, "#browse-artifact")
    def _browse_artifact(self) -> None:
        _app(self).pick_file("artifact")

    @on(Button.Pressed, "#browse-log")
    def _browse_log(self) -> None:
        _app(self).pick_file("log")

    @on(OptionList.OptionSelected, "#demo-list")
    def _demo(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            _app(self).open_demo(event.option.id)

    def on_mount(self) -> None:
        self.query_one("#whole-log").display = False
        self.query_one("#log-note").display = False

    @on(Button.Pressed, "#whole-log")
    def _whole_log(self) -> None:
        _app(self).show_whole_log()

    def demo_first(self, first: bool) -> None:
        """In a demo the scenario list comes first, so a small terminal (80x24) shows it without scrolling."""
        label, options = self.query_one("#demo-label"), self.query_one("#demo-list")
        if first and self.children[0] is not label:
            self.move_child(label, before=0)
            self.move_child(options, after=label)
        elif not first and self.children[0] is label:
            self.move_child(label, after=len(self.children) - 1)
            self.move_child(options, after=label)

    def show_log(self, text: str, note: str, row: int = 0) -> None:
        """Show a loaded log's excerpt (or the whole of it), with a note saying which it is.

        ``row``: the line to bring into view (the first matched line).
        """
        area = self.query_one("#log-text", TextArea)
        area.text = text
        area.move_cursor((row, 0), center=True)
        box = self.query_one("#log-note", Static)
        box.update(Content(note))
        box.display = True
        self.query_one("#whole-log").display = note.startswith("Excerpt")

    def set_values(self, *, artifact: str = "", log: str = "", project: str = "") -> None:
        """Reflect the session's current input (so going back shows what was chosen)."""
        if artifact:
            self.query_one("#artifact-path", Input).value = artifact
        if log:
            self.query_one("#log-text", TextArea).text = log
        if project:
            self.query_one("#project-dir", Input).value = project


# --------------------------------------------------------------------------------------------
# 3 Artifact facts


def fact_rows(f: ArtifactFacts) -> list[tuple[str, str]]:
    """Flatten ArtifactFacts into (fact, value) rows, skipping what does not apply."""
    rows = [
        ("File", f.path),
        ("Size", f"{f.size} bytes"),
        ("Format", f.description),
        ("OS / arch", f"{f.os}/{f.arch}" if f.os or f.arch else ""),
        ("Linkage", f.linkage),
        ("Interpreter", f.interpreter),
        ("libc", f.libc),
        (
            "GLIBC floor",
            f.glibc_required + (f" ({', '.join(f.glibc_floor_symbols[:3])})" if f.glibc_floor_symbols else ""),
        ),
        ("GLIBCXX floor", f.glibcxx_required),
        ("Needed libraries", ", ".join(f.needed)),
        ("RPATH / RUNPATH", ", ".join(f.rpath + f.runpath)),
        ("PE subsystem", f.pe_subsystem),
        ("PE imports", ", ".join(f.pe_imports[:8])),
        ("Shebang", f.shebang),
    ]
    if f.go is not None:
        rows.append(("Go version", f.go.go_version))
        rows.append(("Main module", f.go.main_module or f.go.path))
        rows.extend((f"build {k}", v) for k, v in f.go.settings)
        rows.extend(("dependency", f"{p} {v}") for p, v in f.go.deps)
    rows.extend(("PROBLEM", p) for p in f.problems)
    return [(k, v) for k, v in rows if v]


class FactsPane(Vertical):
    """Step 3: what static inspection learned, and the static prediction per target."""

    def compose(self) -> ComposeResult:
        yield Static("No artifact yet: pick one in step 2.", id="facts-summary")
        yield DataTable(id="facts-table", cursor_type="row", zebra_stripes=True)

    def show(self, facts: ArtifactFacts | None, verdicts: Sequence[Verdict], note: str = "") -> None:
        """Display the facts; ``note`` explains an absence (a session started from a log)."""
        summary = self.query_one("#facts-summary", Static)
        if facts is None:
            summary.update(lit(note or "No artifact yet: pick one in step 2."))
            _kv_table(self.query_one("#facts-table", DataTable), [])
            return
        crashes = [v for v in verdicts if v.outcome == "crashes"]
        head = f"[b]{lit(Path(facts.path).name)}[/b] — {lit(facts.description)}"
        if facts.problems:
            head += "\n[$error]✖ " + lit("; ".join(facts.problems)) + "[/]"
        if crashes:
            head += "\n[$error]Predicted to crash on: " + lit(", ".join(v.target for v in crashes)) + "[/]"
        elif verdicts:
            head += "\n[$success]Predicted to run on every chosen target.[/]"
        summary.update(head)
        _kv_table(self.query_one("#facts-table", DataTable), fact_rows(facts))


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

MATRIX_WIDTHS = {"Image": (22, 10), "libc": (15, 10), "Predicted": (9, 9)}
"""(width, narrowest) of the columns whose values have a known size; Target and Observed are sized
from what the table will hold. On a narrow terminal Target (down to its plain targets), then libc,
then Image give way so the exact message keeps MESSAGE_MIN columns; the detail box below the table
shows the highlighted row's values whole."""
MESSAGE_MIN = 16


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
    }
    # Each column also takes one cell of padding on either side.
    spare = available - sum(widths.values()) - 2 * len(MATRIX_COLUMNS) - MESSAGE_MIN
    for col in ("Target", "libc", "Image"):
        if spare >= 0:
            break
        give = min(widths[col] - narrowest[col], -spare)
        widths[col] -= give
        spare += give
    return widths


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
        self.query_one("#matrix-table", DataTable).update_cell(
            key, column, self._cell(column, value), update_width=column == MATRIX_COLUMNS[-1]
        )

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
            table.add_row(*(self._cell(c, x) for c, x in zip(MATRIX_COLUMNS, values, strict=True)), key=self.row_key(t))
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
            table.add_row(Text(label), "", "", "", "", "", key=key)
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
            table.add_row(Text(f"{variant} build"), "", "", "", "", "", key=key)
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


# --------------------------------------------------------------------------------------------
# 5 Crash chain


class ChainTree(Tree[ChainNode]):
    """The crash chains as a tree: symptom → mechanism → root cause → fixes."""

    def scroll_to_line(self, line: int, animate: bool = True) -> None:
        """Bring ``line`` into view now (never animated, never deferred).

        Textual's own scroll computes a relative move now and applies it after the next refresh; one
        computed before the best-fix box above settled the tree's height then lands on another
        layout, and the view depended on timing (the snapshots saw it as a random scroll of a row or two).
        """
        region = self._get_label_region(line)
        if region is not None:
            self.scroll_to_region(region, animate=False, force=True, origin_visible=False, x_axis=False, immediate=True)

    def settle(self) -> None:
        """The view for the current size: from the top, scrolled only as far as the cursor needs."""
        self.scroll_to(y=0, animate=False, immediate=True)
        if self.cursor_node is not None:
            self.scroll_to_node(self.cursor_node, animate=False)

    def on_resize(self) -> None:
        # The height changes as the best-fix box above fills in: the view is a function of the
        # final size and the cursor, whatever was scrolled while the layout was settling.
        self.settle()

    def show(self, diagnosis: Diagnosis | None, colours: dict[str, str], builds: Sequence[BuildResult] = ()) -> None:
        """Rebuild the tree from ``diagnosis`` (``colours``: node kind -> colour for the theme)."""
        self.clear()
        if diagnosis is None:
            self.root.set_label("No diagnosis yet")
            return
        label = Path(diagnosis.subject).name or diagnosis.kind
        count = len(diagnosis.chains)
        self.root.set_label(
            Text(
                f"{label}: {count} failure{'s' if count != 1 else ''} explained"
                if count
                else f"{label}: no known failure found"
            )
        )
        for chain in diagnosis.chains:
            self._add(self.root, chain, colours, builds)
        self.root.expand_all()

    def _add(
        self,
        parent: TreeNode[ChainNode],
        node: ChainNode,
        colours: dict[str, str],
        builds: Sequence[BuildResult],
    ) -> None:
        text = Text()
        text.append(KIND_LABEL.get(node.kind, node.kind), style=f"bold {colours.get(node.kind, '')}".strip())
        if node.kind == "fix":
            # The state comes first: a long title cut at the edge never hides whether the fix works.
            status = fix_status(node, builds)
            colour = {"proven": "fix", "not-tried": "note"}.get(status.state, "symptom")
            mark = f" {status.mark}" if status.state != "not-tried" else " (not tried)"
            text.append(mark, style=f"bold {colours.get(colour, '')}".strip())
        # Rich Text, never markup: titles quote logs and binaries ("[", "\\" are literal).
        text.append(": " + node.title)
        if node.children:
            branch = parent.add(text, data=node, expand=True)
            for child in node.children:
                self._add(branch, child, colours, builds)
        else:
            parent.add_leaf(text, data=node)


def node_detail(node: ChainNode, builds: Sequence[BuildResult] = (), prove_hint: str = "") -> str:
    """Content markup describing one chain node: explanation, evidence, the fix's state.

    ``prove_hint`` is shown under a fix that was not proven: how to prove it, or why it cannot be here.
    """
    out = [f"[b]{lit(node.title)}[/b]  [dim]({lit(node.kind)} · {lit(node.id)})[/dim]"]
    if node.detail:
        out.append(lit(node.detail))
    if node.evidence:
        out.append("\n[b]Evidence[/b]")
        out.extend(f"• {lit(e.fact)}: [b]{lit(e.value)}[/b]\n  [dim]{lit(e.source)}[/dim]" for e in node.evidence)
    if node.kind != "fix":
        return "\n".join(out)
    status = fix_status(node, builds)
    out.append(f"\n[b]Rebuilt as {lit(node.variant)}[/b]" if node.variant and status.state != "not-tried" else "")
    # Same wording as the text report: each place the rebuilt variant really ran, or still crashed.
    out.extend(f"[$success]✔ proven: runs on {lit(where)}[/]" for where in node.proven_in)
    if status.state == "build-failed":
        out.append(f"[$error]✖ build failed[/]: {lit(status.reason)}")
    out.extend(f"[$error]✖ still crashes on {lit(where)}[/]" for where in node.failed_in)
    if status.state == "not-tried":
        out.append("\n[dim]Not tried in a container yet.[/dim]")
    if prove_hint and status.state != "proven":
        out.append(prove_hint)
    return "\n".join(out)


class ChainPane(Vertical):
    """Step 5: the best fix on top; the tree on the left, the selected node and its commands on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy fix"),
        Binding("p", "prove", "Prove fix"),
        Binding("left_square_bracket", "resize(-10)", "Smaller tree", show=False),
        Binding("right_square_bracket", "resize(10)", "Taller tree", show=False),
    ]

    tree_height = 45
    """Percent of the pane's height the tree may take ("[" and "]" change it)."""

    def compose(self) -> ComposeResult:
        yield Static("", id="best-fix")
        # The tree spans the whole width, so fix titles are read in full rather than cut at a split.
        yield ChainTree("No diagnosis yet", id="chain-tree")
        with Horizontal(id="chain-split"):
            with VerticalScroll(id="chain-detail-scroll"):
                yield Static("Select a node to see why.", id="chain-detail")
            with Vertical(id="chain-side"):
                yield Label("Commands (enter copies a line, c all)", id="chain-commands-label")
                yield OptionList(id="chain-commands")
                with Horizontal(classes="row"):
                    # Compact: one row each, so small terminals keep their rows for the commands.
                    yield Button("Copy all", id="copy-fix", compact=True)
                    yield Button("Prove this fix", id="prove-fix", variant="primary", compact=True)

    def show(self, diagnosis: Diagnosis | None, builds: Sequence[BuildResult] = (), keep: str = "") -> None:
        """Rebuild the tree; ``keep`` is the id of the node to leave the cursor on (else the first chain)."""
        tree = self.query_one(ChainTree)
        tree.show(diagnosis, _app(self).kind_colours(), builds)
        self._builds = list(builds)
        best = summary_line(diagnosis, builds)
        if diagnosis is not None and diagnosis.hypotheses:
            # When the text alone is ambiguous: the leading hypothesis and the one command that decides.
            from goci_doctor.render.text import hypothesis_lines

            lead = "\n".join(line.strip() for line in hypothesis_lines(diagnosis) if line.strip())
            best = f"{lead}\n{best}" if best and lead else lead or best
        box = self.query_one("#best-fix", Static)
        box.update(Content(best))
        box.display = bool(best)
        target = None
        if keep:
            target = next((n for n in _tree_walk(tree.root) if n.data is not None and n.data.id == keep), None)
        if target is None and tree.root.children:
            target = tree.root.children[0]
        self._select(target.data if target is not None else None)
        if target is not None:
            # A rebuilt tree numbers its lines lazily; reading last_line numbers them, so the
            # cursor lands on ``target`` now rather than on no line at all.
            _ = tree.last_line
            tree.move_cursor(target)

            # The best-fix box above may have just appeared and shrunk the tree: scroll again once
            # the new layout is known, from the top, so the view is the same whatever the timing.
            def settle(node: TreeNode[ChainNode] = target) -> None:
                tree.move_cursor(node)
                tree.settle()

            self.call_after_refresh(settle)

    def set_progress(self, text: str) -> None:
        """While a log is read and explained: what is happening (the tree's root says it)."""
        if text:
            self.query_one(ChainTree).root.set_label(Text(text))

    def action_resize(self, delta: int) -> None:
        self.tree_height = max(20, min(80, self.tree_height + delta))
        self.query_one(ChainTree).styles.max_height = f"{self.tree_height}%"

    def selected(self) -> ChainNode | None:
        node = self.query_one(ChainTree).cursor_node
        return node.data if node is not None else None

    def _select(self, node: ChainNode | None) -> None:
        detail = self.query_one("#chain-detail", Static)
        commands = self.query_one("#chain-commands", OptionList)
        commands.clear_options()
        prove = self.query_one("#prove-fix", Button)
        if node is None:
            detail.update("Select a node to see why.")
            prove.display = False
            commands.display = False
            self.query_one("#chain-commands-label").display = False
            return
        why_not = _app(self).why_not_provable(node)
        hint = ""
        if node.kind == "fix" and node.variant:
            hint = (
                f"\nPress [b]p[/b] to prove this fix (variant [b]{lit(node.variant)}[/b])."
                if not why_not
                else f"\n[dim]{lit(why_not)}[/dim]"
            )
        detail.update(Content.from_markup(node_detail(node, getattr(self, "_builds", ()), hint)))
        prove.display = not why_not and not node.proven_in
        fixes = [node] if node.kind == "fix" else [c for c in node.children if c.kind == "fix"]
        lines = [c for f in fixes[:1] for c in f.commands]
        # Plain Content: a command is shown exactly as it is copied, whatever brackets it holds.
        commands.add_options([Option(Content(line)) for line in lines])
        commands.display = bool(lines)
        self.query_one("#chain-commands-label").display = bool(lines)

    def command_lines(self) -> list[str]:
        """The commands shown for the selected node, one per line."""
        node = self.selected()
        if node is None:
            return []
        fixes = [node] if node.kind == "fix" else [c for c in node.children if c.kind == "fix"]
        return [c for f in fixes[:1] for c in f.commands]

    @on(Tree.NodeHighlighted, "#chain-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[ChainNode]) -> None:
        # The root carries no node: keep showing the last explanation rather than blanking it.
        if event.node.data is not None:
            self._select(event.node.data)

    @on(OptionList.OptionSelected, "#chain-commands")
    def _copy_line(self, event: OptionList.OptionSelected) -> None:
        lines = self.command_lines()
        if 0 <= event.option_index < len(lines):
            self.app.copy_to_clipboard(lines[event.option_index])
            self.notify("Command copied to the clipboard.")

    @on(Button.Pressed, "#copy-fix")
    def action_copy(self) -> None:
        text = "\n".join(self.command_lines())
        if text:
            self.app.copy_to_clipboard(text)
            self.notify("Fix commands copied to the clipboard.")
        else:
            self.notify("This node has no commands to copy.", severity="warning")

    @on(Button.Pressed, "#prove-fix")
    def action_prove(self) -> None:
        node = self.selected()
        if node is None or node.kind != "fix" or not node.variant:
            self.notify("Select a fix that names a build variant to prove it.", severity="warning")
            return
        why_not = _app(self).why_not_provable(node)
        if why_not:
            self.notify(why_not, severity="warning", markup=False)
            return
        _app(self).prove_fix(node)


def _tree_walk(node: TreeNode[ChainNode]) -> list[TreeNode[ChainNode]]:
    out = [node]
    for child in node.children:
        out.extend(_tree_walk(child))
    return out


# --------------------------------------------------------------------------------------------
# 6 Export


class ExportPane(Vertical):
    """Step 6: Markdown for an issue or PR comment, JSON to replay elsewhere, the history."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Input(placeholder="folder to write the report to", id="export-dir")
            yield Button("Markdown", id="export-markdown", variant="primary")
            yield Button("JSON", id="export-json")
            yield Button("Save to history", id="export-history")
        yield Static("", id="export-status")
        yield TextArea("", id="export-preview", read_only=True, language="markdown", soft_wrap=True)

    @on(Button.Pressed, "#export-markdown")
    def _md(self) -> None:
        _app(self).export("markdown", self.query_one("#export-dir", Input).value.strip())

    @on(Button.Pressed, "#export-json")
    def _json(self) -> None:
        _app(self).export("json", self.query_one("#export-dir", Input).value.strip())

    @on(Button.Pressed, "#export-history")
    def _history(self) -> None:
        _app(self).action_save_history()

    def show(self, markdown: str, status: str = "") -> None:
        self.query_one("#export-preview", TextArea).text = markdown
        if status:
            self.query_one("#export-status", Static).update(status)
