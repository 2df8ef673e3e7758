"""The session controller without any UI: opening inputs, the matrix, proofs, cancelling, merging,
replaying a report and exporting, all through ``SessionController`` (no Textual, no Pilot).

Runs come from the demo's recorded real runs (ReplayRunner); binaries are the real fixtures.
The project flow with real builds is in the docker-marked test at the end.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from goci_doctor import render
from goci_doctor.config import Config
from goci_doctor.lab import buildmatrix, demo
from goci_doctor.lab.runner import ReplayRunner
from goci_doctor.model import BadInputError
from goci_doctor.records import BuildResult, ChainNode
from goci_doctor.render import markdown
from goci_doctor.tui.session import SessionController

ROOT = Path(__file__).resolve().parent.parent


def fixes(controller: SessionController) -> dict[str, ChainNode]:
    d = controller.state.diagnosis
    assert d is not None
    return {n.variant or n.id: n for chain in d.chains for n in chain.walk() if n.kind == "fix"}


def demo_controller(name: str = "glibc-centos7", **kwargs) -> SessionController:
    runner = ReplayRunner(list(demo.scenario(name).runs))
    controller = SessionController(config=Config(), runner=runner, **kwargs)
    scenario, problem = controller.open_demo(name)
    assert problem is None and scenario.name == name
    return controller


def test_the_controller_never_imports_textual():
    code = (
        "import sys, goci_doctor.tui.session as s; c = s.SessionController(config=None); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'docker')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.strip() == "[]"


def test_demo_opens_with_its_targets_and_says_which_fixes_it_can_prove():
    c = demo_controller()
    s = c.state
    assert s.targets == ["debian:11", "centos:7"] and s.predicted_only == ["centos:7"]
    assert c.run_targets() == ["debian:11"]
    assert s.facts is not None and s.static is not None and s.diagnosis is not None and s.diagnosis.chains
    found = fixes(c)
    # Recorded variants can be proven; the others say why not, in one line.
    assert c.why_not_provable(found["zig-2.17"]) == "" and c.why_not_provable(found["musl-static"]) == ""
    assert "never run here" in c.why_not_provable(found["cgo-off"])
    assert "no build variant" in c.why_not_provable(found["glibc-too-new/fix/older-build-image"])
    assert c.matrix_blocker() == ""
    assert {"zig-2.17", "musl-static"} <= set(c.variants())


def test_matrix_then_proof_merge_into_the_session():
    c = demo_controller()
    done = c.finish("matrix", c.start_work("matrix")())
    assert done.state == "done" and done.summary == "0 ran, 1 crashed, 0 could not run"
    assert [(r.target, r.outcome) for r in c.state.runs] == [("debian:11", "crashes")]
    zig = fixes(c)["zig-2.17"]
    assert not zig.proven_in
    proof = c.start_work("prove", zig)
    assert c.proving == zig.id
    done = c.finish("prove", proof())
    assert done.state == "done"
    # The proof's runs join the session's (the artifact's own run is kept), and the chain marks the fix.
    assert sorted((r.variant, r.target) for r in c.state.runs) == [("", "debian:11"), ("zig-2.17", "debian:11")]
    assert fixes(c)["zig-2.17"].proven_in
    # Running the matrix again replaces the artifact's own runs only.
    c.finish("matrix", c.start_work("matrix")())
    assert sorted((r.variant, r.target) for r in c.state.runs) == [("", "debian:11"), ("zig-2.17", "debian:11")]
    assert fixes(c)["zig-2.17"].proven_in


def test_a_fix_that_cannot_be_proven_here_is_refused_before_any_work():
    c = demo_controller()
    with pytest.raises(BadInputError, match="never run here"):
        c.start_work("prove", fixes(c)["cgo-off"])
    plain = SessionController(config=Config(), targets=["debian:11"])
    assert "choose the Go project" in plain.why_not_provable(fixes(c)["zig-2.17"])


def test_cancel_is_said_once_and_an_empty_matrix_is_not_done():
    c = demo_controller()
    work = c.start_work("matrix")
    c.request_cancel()  # escape before the job's result is merged
    done = c.finish("matrix", work())
    assert done.state == "cancelled"
    # Nothing could run at all: "nothing", never "Done: 0 ran".
    c2 = demo_controller()
    c2.state.predicted_only = list(c2.state.targets)
    done2 = c2.finish("matrix", c2.start_work("matrix")())
    assert done2.state == "nothing" and done2.summary == ""


def test_a_job_from_a_previous_input_is_dropped():
    c = demo_controller()
    work = c.start_work("matrix")
    result = work()
    c.open_demo("glibc-on-alpine")  # another input opened while the job ran
    assert c.finish("matrix", result).state == "stale"
    assert c.state.runs == [] and c.state.demo == "glibc-on-alpine"


def test_artifact_log_and_project_inputs(bin_path, tmp_path, fixture_bins):
    c = SessionController(config=Config(), targets=["debian:bullseye", "alpine:3.20"])
    assert c.state.targets == ["debian:11", "alpine:3.20"]
    with pytest.raises(BadInputError):
        c.open_artifact("")
    with pytest.raises(BadInputError):
        c.open_artifact(str(tmp_path / "missing"))
    assert c.open_artifact(str(bin_path("cgo-host"))) is None
    assert c.state.facts is not None and c.state.diagnosis is not None
    assert c.matrix_blocker() == ""  # a real file; the runner is made on first need
    with pytest.raises(BadInputError):
        c.explain_log("   ")
    log = fixture_bins["fail-no-cc"].path
    if log is not None:
        assert c.explain_log(log.read_text(), "pasted log") is None
        assert c.state.facts is None and c.state.diagnosis is not None and c.state.diagnosis.chains
        assert c.matrix_blocker() == "no-artifact"
        loaded = c.read_log(str(log))
        c.begin_log(str(log))
        view = c.log_loaded(loaded)
        assert view.note.startswith("Excerpt of") and c.whole_log() is not None
    with pytest.raises(BadInputError, match="not a directory"):
        c.open_project(str(tmp_path / "nope"))
    c.open_project(str(tmp_path))
    assert c.state.project == str(tmp_path) and c.matrix_blocker() == ""
    assert set(buildmatrix.DEFAULT_VARIANTS) <= set(c.variants())


def test_export_is_a_normal_file_and_needs_a_folder(tmp_path):
    c = demo_controller()
    with pytest.raises(BadInputError, match="is not a directory"):
        c.export("markdown", str(tmp_path / "missing"))
    old = os.umask(0o022)
    try:
        md = c.export("markdown", str(tmp_path))
        js = c.export("json", str(tmp_path))
    finally:
        os.umask(old)
    for path in (md, js):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert "GLIBC" in md.read_text()
    assert render.load_report(js).title == c.state.title
    saved = SessionController(config=Config(), history_dir=tmp_path / "h")
    with pytest.raises(BadInputError, match="Nothing to save"):
        saved.save_history()
    c.history_dir = tmp_path / "h"
    assert c.save_history().is_file()


def test_a_project_report_replays_with_its_build_rows(bin_path, tmp_path):
    """A project's session, exported and re-opened, keeps its builds: the matrix shows them again."""
    facts = demo.scenario("glibc-centos7").artifact
    assert facts is not None
    recorded = [r for r in demo.scenario("glibc-centos7").runs if r.variant in ("", "zig-2.17")]
    runs = [r if r.variant else dataclasses.replace(r, variant="as-configured") for r in recorded]
    made = [
        BuildResult(
            variant="as-configured",
            title="As configured",
            env=(),
            command=("go", "build"),
            ok=True,
            output="",
            artifact=facts.path,
            image="goci/build:trixie",
            facts=facts,
        ),
        BuildResult(
            variant="zig-2.17",
            title="zig",
            env=(),
            command=("go", "build"),
            ok=True,
            output="",
            artifact=facts.path,
            image="goci/build:trixie",
            facts=facts,
        ),
    ]
    c = SessionController(config=Config(), targets=["debian:11"])
    c.open_project(str(tmp_path))
    c.start_work("project")  # the job's result is handed in below, as a worker would return it
    matrix = buildmatrix.BuildMatrix(builds=made, runs=runs, targets=["debian:11"], project=str(tmp_path))
    assert c.finish("project", matrix).state == "done"
    assert c.state.diagnosis is not None and c.state.diagnosis.chains
    saved = c.export("json", str(tmp_path))

    again = SessionController(config=Config())
    assert again.open_report(render.load_report(saved), str(saved)) is None
    s = again.state
    assert s.build_matrix is not None and [b.variant for b in s.builds] == ["as-configured", "zig-2.17"]
    assert {(r.variant, r.target) for r in s.runs} == {(r.variant, r.target) for r in runs}
    assert s.runs_recorded and s.diagnosis is not None and s.diagnosis.chains


@pytest.mark.docker
def test_docker_project_builds_stop_on_the_cancel_event(tmp_path, monkeypatch):
    """The cancel event stops a project's builds before the next variant: one build, no run, no error."""
    from test_tui import _engine, _local_config, _project_copy, _require_image

    client = _engine()
    _require_image(client, "goci/build:trixie")
    _local_config(tmp_path, monkeypatch)
    c = SessionController(targets=["debian:bullseye"])
    c.open_project(str(_project_copy(tmp_path)))
    events: list[object] = []
    started = threading.Event()

    def on_event(event: object) -> None:
        events.append(event)
        if getattr(event, "phase", "") == "start":
            c.request_cancel()  # escape while the first build runs
            started.set()

    c.on_event = on_event
    result = c.start_work("project")()
    assert started.is_set()
    assert [b.variant for b in result.builds] == ["as-configured"] and result.runs == []
    assert c.finish("project", result).state == "cancelled"


def test_markdown_export_fences_what_it_quotes(tmp_path):
    """Evidence holding backticks stays one code span; Dockerfile lines are fenced as dockerfile."""
    from markdown_it import MarkdownIt

    loader = "version `GLIBC_2.34' not found (required by ./app)"
    parsed = MarkdownIt().parseInline(f"evidence: {markdown.md_code(loader)} (log:3)")[0].children
    assert [t.content for t in parsed if t.type == "code_inline"] == [loader]
    block = markdown.md_code_blocks(["echo ```", "RUN true"])
    assert block == ["````sh", "echo ```", "````", "```dockerfile", "RUN true", "```"]
    c = demo_controller()
    md = c.export("markdown", str(tmp_path)).read_text()
    lines = md.splitlines()
    docker = [i for i, ln in enumerate(lines) if ln.strip() == "```dockerfile"]
    assert docker and lines[docker[0] + 1].strip().startswith("FROM ")
    assert not any(ln.strip().startswith("FROM ") and lines[i - 1].strip() == "```sh" for i, ln in enumerate(lines))


def test_leaving_a_demo_drops_its_replay_runner_and_its_targets(bin_path):
    controller = SessionController(config=Config(default_targets=("debian:bookworm", "alpine:3.20")))
    controller.open_demo("glibc-centos7")
    assert isinstance(controller.runner, ReplayRunner)
    assert "centos:7" in controller.state.targets
    assert controller.open_artifact(str(bin_path("cgo-host"))) is None
    # The next run is a real one (a DockerRunner on first need), on the configured targets.
    assert controller.runner is None
    assert controller.state.targets == ["debian:12", "alpine:3.20"]
    assert controller.state.env is None  # the recording's machine is not this one


def test_leaving_a_demo_keeps_a_given_runner_and_the_given_targets(bin_path):
    runner = ReplayRunner(list(demo.scenario("glibc-centos7").runs))
    controller = SessionController(config=Config(), runner=runner, targets=["debian:bullseye"])
    controller.open_demo("glibc-centos7")
    controller.open_artifact(str(bin_path("cgo-host")))
    assert controller.runner is runner
    assert controller.state.targets == ["debian:11"]
