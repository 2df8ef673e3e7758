"""Pilot tests: each flow of the session driven end to end through the real app.

Binaries are the real fixtures; container runs come from the demo's recorded real runs
(ReplayRunner) or, in the tests marked docker, from the real engine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import re
import time
from pathlib import Path

import pytest
from textual.worker import WorkerFailed

from goci_doctor import render
from goci_doctor.lab import buildmatrix, demo, engine
from goci_doctor.lab.runner import ReplayRunner
from goci_doctor.tui.app import GociApp
from goci_doctor.tui.chainpane import ChainTree
from goci_doctor.tui.inputpanes import EnvironmentPane
from goci_doctor.tui.screens import HelpScreen, HistoryScreen

SIZE = (100, 34)


def sync(coro_fn):
    """Run an async Pilot test with asyncio.run (no async pytest plugin is installed)."""

    @functools.wraps(coro_fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(coro_fn(*args, **kwargs))

    return wrapper


def recorded_runner() -> ReplayRunner:
    """The real runs recorded for the GLIBC demo (cgo-host on debian:11 and its rebuilt variants)."""
    return ReplayRunner(list(demo.scenario("glibc-centos7").runs))


def cell(app: GociApp, row: str, column: str) -> str:
    table = app.screen.query_one("#matrix-table")
    return str(table.get_cell(row, column))


def tree_nodes(app: GociApp) -> list:
    tree = app.screen.query_one(ChainTree)
    out, stack = [], list(tree.root.children)
    while stack:
        node = stack.pop(0)
        out.append(node.data)
        stack[:0] = list(node.children)
    return out


@sync
async def test_binary_matrix_chain_export(bin_path, tmp_path):
    binary = bin_path("cgo-host")
    app = GociApp(
        path=binary,
        runner=recorded_runner(),
        gather_env=False,
        targets=["debian:bullseye", "centos:7"],
        history_dir=tmp_path / "history",
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # Step 3: the real binary's facts; the alias was mapped to the knowledge base's name.
        assert app.current_step == "facts"
        assert app.session.facts is not None and app.session.facts.glibc_required
        assert app.session.targets == ["debian:11", "centos:7"]
        # Step 4: run the matrix (keyboard), wait for the worker.
        await pilot.press("m")
        await app.work.wait()
        await pilot.pause()
        assert "crashes" in cell(app, "debian:11", "Observed")
        assert "GLIBC_2.3" in cell(app, "debian:11", "Exact message")
        assert cell(app, "debian:11", "Image") == "goci/debian:bullseye"
        # Step 5: the chain tree holds symptom -> mechanism -> cause -> fixes.
        await pilot.press("n")
        assert app.current_step == "chain"
        kinds = [n.kind for n in tree_nodes(app)]
        assert kinds[:3] == ["symptom", "mechanism", "cause"] and "fix" in kinds
        # Step 6: export Markdown and JSON into tmp_path through the buttons.
        await pilot.press("n")
        assert app.current_step == "export"
        app.screen.query_one("#export-dir").value = str(tmp_path)
        await pilot.click("#export-markdown")
        await pilot.click("#export-json")
        await pilot.pause()
        md = (tmp_path / "goci-report.md").read_text()
        assert binary.name in md and "GLIBC" in md
        report = render.load_report(tmp_path / "goci-report.json")
        assert [c.id for c in report.diagnosis.chains] == [c.id for c in app.session.diagnosis.chains]
        assert {r.target for r in report.diagnosis.runs} >= {"debian:11"}
        assert report.targets == ("debian:11", "centos:7")
        # And into the history.
        await pilot.click("#export-history")
        await pilot.pause()
        assert list((tmp_path / "history").glob("*.json"))


@sync
async def test_log_to_chain(fixture_bins):
    log = fixture_bins["fail-arm64-hostgcc"].path
    if log is None:
        pytest.skip(f"failing-build log fixture unavailable: {fixture_bins['fail-arm64-hostgcc'].reason}")
    app = GociApp(log=log.read_text(), log_source=str(log), gather_env=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.current_step == "chain"
        assert app.session.diagnosis is not None and app.session.diagnosis.chains
        nodes = tree_nodes(app)
        assert nodes[0].kind == "symptom"
        detail = str(app.screen.query_one("#chain-detail").render())
        assert nodes[0].title.split()[0] in detail
        # No artifact: the matrix says so instead of running anything.
        await pilot.press("4")
        await pilot.press("m")
        assert app.work is None


@sync
async def test_paste_log_in_step_two(fixture_bins):
    log = fixture_bins["fail-no-cc"].path
    if log is None:
        pytest.skip(f"failing-build log fixture unavailable: {fixture_bins['fail-no-cc'].reason}")
    app = GociApp(gather_env=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        app.screen.query_one("#log-text").text = log.read_text()
        await pilot.pause()
        app.screen.query_one("#explain").press()
        await pilot.pause()
        assert app.current_step == "chain"
        assert app.session.diagnosis.chains


@sync
async def test_report_replay_and_rerun(bin_path, tmp_path):
    binary = bin_path("cgo-host")
    first = GociApp(path=binary, runner=recorded_runner(), gather_env=False, targets=["debian:11"])
    async with first.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await first.work.wait()
        await pilot.pause()
        saved = first.export("json", str(tmp_path))
    assert saved is not None
    report = render.load_report(saved)
    app = GociApp(report=report, report_path=str(saved), runner=recorded_runner(), gather_env=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.current_step == "chain"
        assert app.session.runs_recorded
        assert "(recorded)" in cell(app, "debian:11", "Observed")
        assert [n.id for n in tree_nodes(app) if n] == [n.id for c in report.diagnosis.chains for n in c.walk()]
        # Re-run the report's container checks here.
        await pilot.press("m")
        await app.work.wait()
        await pilot.pause()
        assert not app.session.runs_recorded
        assert cell(app, "debian:11", "Observed") == "crashes"


@sync
async def test_report_whose_artifact_is_elsewhere(bin_path, tmp_path):
    binary = bin_path("cgo-host")
    first = GociApp(path=binary, gather_env=False, targets=["debian:11"])
    async with first.run_test(size=SIZE) as pilot:
        await pilot.pause()
        saved = first.export("json", str(tmp_path))
    doc = json.loads(saved.read_text())
    doc["diagnosis"]["artifacts"][0]["path"] = str(tmp_path / "not-on-this-machine")
    saved.write_text(json.dumps(doc))
    app = GociApp(report=render.load_report(saved), gather_env=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert app.work is None
        assert "not on this machine" in str(app.screen.query_one("#matrix-status").render())


@sync
async def test_demo_prove_fix():
    app = GociApp(demo_scenario="glibc-centos7")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "DEMO" in app.sub_title
        origin = str(app.screen.query_one(EnvironmentPane).query_one("#env-problems").render())
        assert "DEMO" in origin
        await pilot.press("m")
        await app.work.wait()
        await pilot.pause()
        assert cell(app, "centos:7", "Observed") == "not run: predicted only"
        await pilot.press("5")
        tree = app.screen.query_one(ChainTree)
        fix = next(n for n in tree.root.children[0].children[0].children[0].children if n.data.variant == "zig-2.17")
        tree.focus()
        tree.move_cursor(fix)
        await pilot.press("p")
        await app.work.wait()
        await pilot.pause()
        proven = [n for c in app.session.diagnosis.chains for n in c.walk() if n.variant == "zig-2.17"]
        assert proven and all(n.proven_in for n in proven)


@sync
async def test_every_demo_scenario_opens():
    for sc in demo.scenarios():
        app = GociApp(demo_scenario=sc.name)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.session.diagnosis is not None, sc.name
            if sc.runs:
                await pilot.press("m")
                await app.work.wait()
                await pilot.pause()
                observed = {r.target: r.outcome for r in app.session.runs if not r.variant}
                assert observed == {r.target: r.outcome for r in sc.runs if not r.variant}, sc.name


@sync
async def test_help_history_and_navigation(tmp_path):
    app = GociApp(demo_scenario="windows-on-linux", history_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("1")
        assert app.current_step == "environment"
        await pilot.press("b")
        assert app.current_step == "environment"
        for expected in ("source", "facts", "matrix", "chain", "export", "export"):
            await pilot.press("n")
            assert app.current_step == expected
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        app.action_save_history()
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("down", "enter")  # focus the list, choose the saved session
        await pilot.pause()
        assert app.session.replayed_from and app.current_step == "chain"


@sync
async def test_no_engine_keeps_static_analysis(bin_path, monkeypatch):
    # A daemon socket nobody listens on: the matrix step says so, facts and chain stay.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/goci-no-docker.sock")
    app = GociApp(path=bin_path("cgo-host"), gather_env=False, targets=["debian:11"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        with pytest.raises(WorkerFailed):
            await app.work.wait()
        await pilot.pause()
        status = str(app.screen.query_one("#matrix-status").render())
        assert "cannot reach the Docker engine" in status and "Static analysis" in status
        assert app.session.runs == []
        assert app.session.diagnosis is not None and app.session.diagnosis.chains


# ---------------------------------------------------------------------------------------------
# Real engine


def _engine():
    try:
        client = engine.connect(timeout=5)
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine reachable: {exc}")
    return client


def _require_image(client, ref: str) -> None:
    import docker.errors

    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        pytest.skip(f"local image {ref} missing (run `goci-doctor images build`)")


@pytest.mark.docker
@sync
async def test_docker_binary_matrix(bin_path):
    client = _engine()
    _require_image(client, "goci/debian:bullseye")
    from goci_doctor.config import load_config
    from goci_doctor.lab import images
    from goci_doctor.lab.docker import DockerRunner

    cfg = dataclasses.replace(load_config(), images=images.local_image_map())
    app = GociApp(
        path=bin_path("cgo-host"), runner=DockerRunner(config=cfg), gather_env=False, targets=["debian:bullseye"]
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await app.work.wait()
        await pilot.pause()
        (run,) = app.session.runs
        assert run.outcome == "crashes" and run.image == "goci/debian:bullseye"
        assert run.libc.startswith("glibc 2.31")
        assert "GLIBC_2." in cell(app, "debian:11", "Exact message")
        await pilot.press("5")
        assert any(n.kind == "symptom" for n in tree_nodes(app))


@pytest.mark.docker
@sync
async def test_cancel_mid_matrix_removes_containers(bin_path):
    client = _engine()
    for ref in ("goci/debian:bullseye", "goci/debian:bookworm", "goci/debian:trixie"):
        _require_image(client, ref)
    from goci_doctor.config import load_config
    from goci_doctor.lab import images
    from goci_doctor.lab.docker import SESSION_LABEL, DockerRunner

    cfg = dataclasses.replace(load_config(), images=images.local_image_map())
    runner = DockerRunner(config=cfg)
    app = GociApp(
        path=bin_path("sleeper"),
        runner=runner,
        gather_env=False,
        targets=["debian:bullseye", "debian:bookworm", "debian:trixie"],
    )
    mine = {"label": [f"{SESSION_LABEL}={runner.session}"]}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        deadline = time.monotonic() + 60
        while not client.api.containers(all=True, filters=mine):
            assert time.monotonic() < deadline, "no container started within 60 s"
            await asyncio.sleep(0.1)
        await pilot.press("escape")
        await app.work.wait()
        await pilot.pause()
        assert any(r.error == "cancelled" or r.outcome == "error" for r in app.session.runs)
        assert "Cancelled" in str(app.screen.query_one("#matrix-status").render())
    assert client.api.containers(all=True, filters=mine) == []


@pytest.mark.docker
@sync
async def test_quit_mid_matrix_removes_containers(bin_path):
    client = _engine()
    _require_image(client, "goci/debian:bookworm")
    from goci_doctor.config import load_config
    from goci_doctor.lab import images
    from goci_doctor.lab.docker import SESSION_LABEL, DockerRunner

    cfg = dataclasses.replace(load_config(), images=images.local_image_map())
    runner = DockerRunner(config=cfg)
    app = GociApp(path=bin_path("sleeper"), runner=runner, gather_env=False, targets=["debian:bookworm"])
    mine = {"label": [f"{SESSION_LABEL}={runner.session}"]}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        deadline = time.monotonic() + 60
        while not client.api.containers(all=True, filters=mine):
            assert time.monotonic() < deadline, "no container started within 60 s"
            await asyncio.sleep(0.1)
        await app.action_quit()
    assert client.api.containers(all=True, filters=mine) == []


CGOAPP = Path(__file__).parent / "fixtures" / "projects" / "cgoapp"
"""A Go project with cgo: built on trixie (glibc 2.41) it needs GLIBC_2.34, which bullseye lacks."""


def _local_config(tmp_path, monkeypatch):
    """The user config `goci-doctor images build --write-config` leaves: targets map to the local images.

    Written to a real file and named by GOCI_DOCTOR_CONFIG, so the app reads it as `tui --project` does.
    """
    from goci_doctor.lab import images

    path = tmp_path / "config.toml"
    path.write_text("# goci-doctor config for the project flow\n")
    images.write_config_images(path)
    monkeypatch.setenv("GOCI_DOCTOR_CONFIG", str(path))


def _project_copy(tmp_path) -> Path:
    """cgoapp copied to a directory of this test's own: its build containers mount it, so they are
    told apart from those of other sessions sharing the engine."""
    import shutil

    return Path(shutil.copytree(CGOAPP, tmp_path / "cgoapp"))


def _left_behind(client, project: Path, runner) -> list[str]:
    """This session's containers still present: runs carry its session label, builds mount ``project``."""
    import docker.errors

    from goci_doctor.lab.docker import SESSION_LABEL

    session = getattr(runner, "session", None)
    left = []
    for c in client.api.containers(all=True, filters={"label": ["goci-doctor=1"]}):
        if session and c.get("Labels", {}).get(SESSION_LABEL) == session:
            left.append(c["Id"])
            continue
        try:
            mounts = client.api.inspect_container(c["Id"]).get("Mounts", [])
        except docker.errors.NotFound:
            continue  # removed meanwhile
        if any(str(m.get("Source", "")).startswith(str(project)) for m in mounts):
            left.append(c["Id"])
    return left


async def _wait_work(app, pilot, limit: float = 900) -> None:
    await asyncio.wait_for(app.work.wait(), timeout=limit)
    await pilot.pause()


def _fixes(app) -> dict[str, object]:
    return {n.variant: n for c in app.session.diagnosis.chains for n in c.walk() if n.kind == "fix" and n.variant}


def _select(app, wanted):
    """Move the chain tree's cursor to the first node whose data satisfies ``wanted``; return it."""
    tree = app.screen.query_one(ChainTree)
    stack = list(tree.root.children)
    while stack:
        node = stack.pop(0)
        if node.data is not None and wanted(node.data):
            tree.focus()
            tree.move_cursor(node)
            return node
        stack[:0] = list(node.children)
    raise AssertionError("no such node in the chain tree")


def _select_fix(app, variant: str):
    return _select(app, lambda n: n.kind == "fix" and n.variant == variant)


@pytest.mark.docker
@sync
async def test_docker_project_builds_variants_proves_fixes_and_exports(tmp_path, monkeypatch):
    """`tui --project cgoapp`: variants built and run live (step 4), the chain with proven fixes (5), export (6)."""
    client = _engine()
    for ref in ("goci/build:trixie", "goci/debian:bullseye", "goci/debian:bookworm"):
        _require_image(client, ref)
    _local_config(tmp_path, monkeypatch)
    project = _project_copy(tmp_path)
    app = GociApp(project=project, gather_env=False, targets=["debian:bullseye", "debian:bookworm"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # Opens at step 4 with the builds under way in a worker.
        assert app.current_step == "matrix" and app.work is not None and app.work.name == "project"
        await _wait_work(app, pilot)
        s = app.session
        assert s.build_matrix is not None and s.targets == ["debian:11", "debian:12"]
        # Step 4: a row per variant's build, then its per-target runs with the image and libc really run.
        table = app.screen.query_one("#matrix-table")
        keys = [row.key.value for row in table.ordered_rows]
        for variant in ("as-configured", "cgo-off", "zig-2.17", "musl-static"):
            assert keys.index(f"{variant}@build") < keys.index(f"{variant}@debian:11"), variant
            assert cell(app, f"{variant}@build", "Observed") == "built", variant
            assert cell(app, f"{variant}@debian:11", "Image") == "goci/debian:bullseye"
            assert cell(app, f"{variant}@debian:11", "libc").startswith("glibc 2.31")
            assert cell(app, f"{variant}@debian:12", "libc").startswith("glibc 2.36")
        assert cell(app, "as-configured@build", "Image") == "goci/build:trixie"
        assert cell(app, "as-configured@debian:11", "Observed") == "crashes"
        assert "GLIBC_2.34' not found" in cell(app, "as-configured@debian:11", "Exact message")
        assert cell(app, "as-configured@debian:12", "Observed") == "runs"
        assert cell(app, "cgo-off@debian:11", "Observed") == "runs"
        assert cell(app, "cgo-off@build", "libc") == "static"
        # Step 5: the chain buildmatrix.matrix_diagnosis gives, fixes marked where their variants ran.
        await pilot.press("5")
        assert app.current_step == "chain"
        assert s.diagnosis.chains[0].id == "glibc-too-new/symptom"
        fixes = _fixes(app)
        # The chain is bullseye's crash (bookworm ran the original): each fix proven there, in the image run.
        for variant in ("cgo-off", "zig-2.17", "musl-static"):
            (where,) = fixes[variant].proven_in
            assert where.startswith("debian:11") and "goci/debian:bullseye" in where and "glibc 2.31" in where
        _select_fix(app, "cgo-off")
        await pilot.pause()
        detail = str(app.screen.query_one("#chain-detail").render())
        assert f"✔ proven: runs on {fixes['cgo-off'].proven_in[0]}" in detail
        # Step 6: the report holds the project's builds, runs and chain.
        await pilot.press("6")
        saved = app.export("json", str(tmp_path))
        report = render.load_report(saved)
        assert {b.variant for b in report.diagnosis.builds} >= {"as-configured", "cgo-off", "zig-2.17"}
        crash = next(r for r in report.diagnosis.runs if r.variant == "as-configured" and r.target == "debian:11")
        assert crash.outcome == "crashes" and crash.image == "goci/debian:bullseye"
        md = app.export("markdown", str(tmp_path)).read_text()
        assert "GLIBC_2.34" in md and "proven" in md
        await app.action_quit()
    assert _left_behind(client, project, app.runner) == []


@pytest.mark.docker
@sync
async def test_docker_prove_fix_reruns_its_variant(tmp_path, monkeypatch):
    """Step 5's "prove this fix" on a project: builds and runs only that variant, then marks the node."""
    client = _engine()
    for ref in ("goci/build:trixie", "goci/debian:bullseye"):
        _require_image(client, ref)
    _local_config(tmp_path, monkeypatch)
    project = _project_copy(tmp_path)
    app = GociApp(project=project, gather_env=False, targets=["debian:bullseye"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await _wait_work(app, pilot)
        s = app.session
        first_cgo_off = s.build_matrix.build("cgo-off").artifact
        # Forget what the first round proved, as a session opened from an artifact would know it.
        app.session.build_matrix = dataclasses.replace(
            s.build_matrix, runs=[r for r in s.build_matrix.runs if r.variant == "as-configured"]
        )
        s.runs = list(s.build_matrix.runs)
        app.controller.diagnose()
        app._refresh_all()
        await pilot.press("5")
        assert not _fixes(app)["cgo-off"].proven_in
        _select_fix(app, "cgo-off")
        await pilot.press("p")
        assert app.current_step == "matrix" and app.work.name == "prove"
        await _wait_work(app, pilot)
        # Only that variant was rebuilt (a fresh binary) and run.
        assert s.build_matrix.build("cgo-off").artifact != first_cgo_off
        assert [r.variant for r in s.runs].count("cgo-off") == 1
        assert cell(app, "cgo-off@debian:11", "Observed") == "runs"
        await pilot.press("5")
        (where,) = _fixes(app)["cgo-off"].proven_in
        assert where.startswith("debian:11") and "goci/debian:bullseye" in where and "glibc 2.31" in where
        tree_node = _select_fix(app, "cgo-off")
        assert "proven" in str(tree_node.label)
        await app.action_quit()
    assert _left_behind(client, project, app.runner) == []


@pytest.mark.docker
@sync
async def test_docker_escape_stops_project_builds(tmp_path, monkeypatch):
    """Escape while the variants build: no further build starts, nothing runs, no container is left."""
    client = _engine()
    _require_image(client, "goci/build:trixie")
    _local_config(tmp_path, monkeypatch)
    project = _project_copy(tmp_path)
    app = GociApp(project=project, gather_env=False, targets=["debian:bullseye"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        deadline = time.monotonic() + 60
        table = app.screen.query_one("#matrix-table")
        while "as-configured@build" not in table.rows:
            assert time.monotonic() < deadline, "the first build did not start within 60 s"
            await asyncio.sleep(0.05)
        await pilot.press("escape")
        # The builds take the session's cancel event: the one under way finishes, no other starts.
        await asyncio.wait_for(app.work.wait(), timeout=900)
        await pilot.pause()
        assert "Cancelled" in str(app.screen.query_one("#matrix-status").render())
        assert "zig-2.17@build" not in table.rows and app.session.runs == []
        # Rows that never got an answer say so: none is left blank or still "… running".
        observed = [str(table.get_cell(key, "Observed")) for key in table.rows]
        assert observed and all(o and not o.startswith("…") for o in observed), observed
        assert "cancelled" in observed
    assert _left_behind(client, project, app.runner) == []


@sync
async def test_copy_fix_commands(bin_path):
    app = GociApp(path=bin_path("cgo-host"), runner=recorded_runner(), gather_env=False, targets=["debian:11"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await app.work.wait()
        await pilot.pause()
        await pilot.press("5")
        # A fix with several commands (a cause's fixes hold commands and diff lines).
        fix = next(n for n in tree_nodes(app) if n.kind == "fix" and len(n.commands) > 1)
        _select(app, lambda n: n is fix)
        await pilot.pause()
        # One option per command line, each copyable on its own (enter), all of them with c.
        options = app.screen.query_one("#chain-commands")
        assert [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)] == list(fix.commands)
        options.focus()
        options.highlighted = 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.clipboard == fix.commands[1]
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == "\n".join(fix.commands)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"log": "/nonexistent/ci.log"}, "cannot read log"),
        ({"path": "/nonexistent/app"}, "/nonexistent/app: no such file"),
        ({"project": "/nonexistent/proj"}, "not a directory"),
        ({"demo_scenario": "no-such-scenario"}, "no demo scenario"),
    ],
)
def test_run_app_rejects_bad_input_before_the_ui(kwargs, message):
    from goci_doctor.model import BadInputError
    from goci_doctor.tui.app import run_app

    with pytest.raises(BadInputError, match=message):
        run_app(**kwargs)


def test_run_app_rejects_a_file_that_is_not_a_report(tmp_path):
    from goci_doctor.model import BadInputError
    from goci_doctor.tui.app import run_app

    bad = tmp_path / "report.json"
    bad.write_text("[1, 2]")
    with pytest.raises(BadInputError):
        run_app(report=str(bad))


@sync
async def test_theme_choice_is_kept_in_the_user_config(tmp_path, monkeypatch):
    """Settings live in the user config directory: a theme picked in the app is there next time."""
    from goci_doctor.config import load_config

    cfg = tmp_path / "config.toml"
    cfg.write_text('theme = "textual-dark"\n')
    monkeypatch.setenv("GOCI_DOCTOR_CONFIG", str(cfg))
    app = GociApp(gather_env=False)
    async with app.run_test(size=(100, 34)) as pilot:
        app.theme = "textual-light"
        await pilot.pause()
    assert load_config().theme == "textual-light"
    again = GociApp(gather_env=False)
    async with again.run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        assert again.theme == "textual-light"


@sync
async def test_hidden_steps_mount_after_the_first_paint_and_keys_wait_for_them():
    """In a terminal the hidden steps are mounted after the first paint: keys typed at once still land."""
    from goci_doctor.config import Config

    app = GociApp(demo_scenario="glibc-centos7", config=Config(), lazy_steps=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")  # before the other steps exist
        for _ in range(100):
            await pilot.pause(0.02)
            if app.session.demo and app.screen.query(ChainTree):
                break
        # The session opened what was asked (the demo, on its facts), then the keys work as usual.
        assert app.session.demo == "glibc-centos7"
        await pilot.press("5")
        assert app.current_step == "chain" and app.focused is app.screen.query_one(ChainTree)
        await pilot.press("2")
        assert app.current_step == "source" and app.focused.id == "demo-list"


@sync
async def test_quitting_before_the_hidden_steps_are_mounted_ends_cleanly():
    """`q` in the first moments of a terminal session (the hidden steps not mounted yet) quits with
    no MountError traceback (Textual's Lazy failed to mount into a step that was going away)."""
    from goci_doctor.config import Config

    app = GociApp(config=Config(), gather_env=False, lazy_steps=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause(0.3)
    assert app.return_code == 0


@sync
async def test_a_terminal_session_starts_with_nothing_focused_then_focuses_step_1_and_collects_again():
    """In a terminal the hidden steps mount after the first paint; once they are, the session turns
    the cyclic GC back on (``goci-doctor`` starts with it off) and step 1's table has the focus."""
    import gc

    from goci_doctor.config import Config

    app = GociApp(config=Config(), gather_env=False, lazy_steps=True)
    gc.disable()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            assert app.focused is None or app.focused.id == "env-table"
            for _ in range(50):
                await pilot.pause(0.05)
                if gc.isenabled():
                    break
            assert gc.isenabled()
            assert app.focused is not None and app.focused.id == "env-table"
            await pilot.press("n")
            assert app.current_step == "source"
    finally:
        gc.enable()


@sync
async def test_running_cells_tick_and_the_columns_keep_their_widths():
    from goci_doctor.config import Config

    sc = demo.scenario("glibc-on-alpine")
    app = GociApp(demo_scenario=sc.name, runner=ReplayRunner(list(sc.runs), delay=0.6), config=Config())
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#matrix-table")
        await pilot.press("m")
        widths = [c.width for c in table.columns.values()][:-1]
        seen: set[str] = set()
        while app.work.state.name in ("PENDING", "RUNNING"):
            await pilot.pause(0.1)
            seen.update(str(table.get_cell(k, "Observed")) for k in table.rows)
            assert [c.width for c in table.columns.values()][:-1] == widths
        await pilot.pause()
        # Each running cell said how long it had been at it; the columns never moved.
        assert any(re.fullmatch(r"… (preparing|running) \d+ s", text) for text in seen), seen
        assert [c.width for c in table.columns.values()][:-1] == widths
        assert "Done: " in str(app.screen.query_one("#matrix-status").render())


@sync
async def test_why_and_root_cause_have_distinct_readable_colours():
    from goci_doctor.config import Config
    from goci_doctor.tui.kit import contrast

    app = GociApp(gather_env=False, config=Config())
    async with app.run_test(size=SIZE) as pilot:
        for theme in ("textual-light", "textual-dark", "solarized-light", "nord"):
            app.theme = theme
            await pilot.pause()
            colours = app.kind_colours()
            background = app.current_theme.background or ("#121212" if app.current_theme.dark else "#efefef")
            assert colours["mechanism"] != colours["cause"], theme
            assert all(contrast(c, background) >= 4.5 for c in colours.values()), (theme, colours)


@sync
async def test_screenshot_without_a_downloads_folder_says_where_it_went(tmp_path, monkeypatch):
    from goci_doctor.config import Config

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    app = GociApp(gather_env=False, config=Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        saved = app.deliver_screenshot()
        await pilot.pause()
        assert saved is not None and Path(saved).parent == tmp_path and Path(saved).read_text().startswith("<svg")
        said = [str(n.message) for n in app._notifications]
        assert any("Downloads does not exist" in m and str(tmp_path) in m for m in said), said


@sync
async def test_a_replayed_project_report_keeps_its_build_rows(tmp_path):
    from goci_doctor.config import Config
    from goci_doctor.records import BuildResult
    from goci_doctor.tui.session import SessionController

    sc = demo.scenario("glibc-centos7")
    facts = sc.artifact
    runs = [
        r if r.variant else dataclasses.replace(r, variant="as-configured")
        for r in sc.runs
        if r.variant in ("", "zig-2.17")
    ]
    made = [
        BuildResult(
            variant=v,
            title=v,
            env=(),
            command=("go", "build"),
            ok=True,
            output="",
            artifact=facts.path,
            image="goci/build:trixie",
            facts=facts,
        )
        for v in ("as-configured", "zig-2.17")
    ]
    c = SessionController(config=Config(), targets=["debian:11"])
    c.open_project(str(tmp_path))
    c.start_work("project")
    c.finish("project", buildmatrix.BuildMatrix(builds=made, runs=runs, targets=["debian:11"], project=str(tmp_path)))
    saved = c.export("json", str(tmp_path))
    app = GociApp(report=render.load_report(saved), report_path=str(saved), gather_env=False, config=Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("4")
        rows = set(app.screen.query_one("#matrix-table").rows)
        assert {"as-configured@build", "zig-2.17@build", "as-configured@debian:11", "zig-2.17@debian:11"} <= rows
        assert "Recorded builds" in str(app.screen.query_one("#matrix-status").render())


@sync
async def test_a_binary_opened_after_the_demo_is_run_for_real_not_replayed(bin_path):
    from goci_doctor.config import Config

    app = GociApp(demo_scenario="glibc-centos7", config=Config())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.runner, ReplayRunner)
        env_box = app.screen.query_one(EnvironmentPane).query_one("#env-problems")
        assert "DEMO" in str(env_box.render())
        await pilot.press("2", "tab")
        assert app.focused is not None and app.focused.id == "artifact-path"
        await pilot.press(*str(bin_path("cgo-host")), "enter")
        await pilot.pause()
        assert app.session.artifact_path == str(bin_path("cgo-host"))
        assert app.sub_title == ""  # no longer "DEMO: …"
        assert app.runner is None  # m now creates a DockerRunner: no recorded run stands in for this binary
        assert app.session.targets == app.canonical_targets(Config().default_targets)
        assert "centos:7" not in app.session.targets
        # Step 1 no longer shows the recording's machine: this one is gathered again.
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.session.env_origin == "This machine"
        assert "DEMO" not in str(env_box.render())
