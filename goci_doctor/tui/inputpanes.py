"""Steps 1-3 and 6: the environment, what failed (a binary, a log, a project, a demo), the
artifact's facts, and export.

Imports: textual (its TextArea only once steps 2 and 6 are built), model, records, lab.demo,
knowledge, tui.kit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option

from goci_doctor.model import ArtifactFacts
from goci_doctor.tui.kit import _app, _kv_table, lit

if TYPE_CHECKING:
    from textual.widgets import TextArea

    from goci_doctor.lab.demo import Scenario
    from goci_doctor.records import EnvFacts, Verdict


def _text_area() -> type[TextArea]:
    """Textual's TextArea, loaded when steps 2 and 6 are built (after the first paint: it costs ~10 ms)."""
    from textual.widgets import TextArea

    return TextArea


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
        yield _text_area()(id="log-text", soft_wrap=True, show_line_numbers=False)
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
        _app(self).explain_log(self.query_one("#log-text", _text_area()).text, source="pasted log")

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
        area = self.query_one("#log-text", _text_area())
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
            self.query_one("#log-text", _text_area()).text = log
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
        yield _text_area()("", id="export-preview", read_only=True, language="markdown", soft_wrap=True)

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
        self.query_one("#export-preview", _text_area()).text = markdown
        if status:
            self.query_one("#export-status", Static).update(status)
