"""Snapshot tests for every screen of the session (pytest-textual-snapshot).

Deterministic by construction: a fixed demo scenario (real recorded evidence), a ReplayRunner
without delays, fixed terminal sizes. Update with ``pytest tests/test_snapshots.py --snapshot-update``
after checking the new SVGs by eye.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from goci_doctor.config import Config
from goci_doctor.lab import demo
from goci_doctor.lab.runner import ReplayRunner
from goci_doctor.render import history
from goci_doctor.tui.app import GociApp
from goci_doctor.tui.chainpane import ChainTree
from goci_doctor.tui.screens import FilePickerScreen

SIZE = (100, 34)


def demo_app(name: str = "glibc-centos7", **kwargs) -> GociApp:
    # Default settings, injected: snapshots must not depend on (or write to) anyone's user config.
    kwargs.setdefault("config", Config())
    return GociApp(demo_scenario=name, runner=ReplayRunner(list(demo.scenario(name).runs)), **kwargs)


def go_to(step: str):
    async def run_before(pilot) -> None:
        await pilot.pause()
        await pilot.press(step)
        await pilot.pause()

    return run_before


async def _run_matrix(pilot) -> None:
    await pilot.pause()
    await pilot.press("m")
    await pilot.app.work.wait()
    await pilot.pause()


@pytest.mark.parametrize("step", ["1", "2", "3", "6"])
def test_step(snap_compare, step):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=go_to(step))


def test_matrix_after_run(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=_run_matrix)


def test_chain(snap_compare):
    async def run_before(pilot) -> None:
        await _run_matrix(pilot)
        await pilot.press("5")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=run_before)


def test_chain_fix_proven(snap_compare):
    async def run_before(pilot) -> None:
        await _run_matrix(pilot)
        await pilot.press("5")
        tree = pilot.app.screen.query_one(ChainTree)
        fix = next(n for n in tree.root.children[0].children[0].children[0].children if n.data.variant == "zig-2.17")
        tree.focus()
        tree.move_cursor(fix)
        await pilot.press("p")
        await pilot.app.work.wait()
        await pilot.pause()
        await pilot.press("5")
        tree = pilot.app.screen.query_one(ChainTree)
        tree.move_cursor(tree.root.children[0].children[0].children[0].children[0])
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=run_before)


def test_log_chain(snap_compare):
    assert snap_compare(demo_app("cgo-cross-no-cc"), terminal_size=SIZE, run_before=go_to("5"))


def test_help(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, press=["f1"])


def test_history(snap_compare, tmp_path):
    saved = history.save_session(demo.scenario_report(demo.scenario("glibc-centos7")), tmp_path)
    # The list dates an entry by its id (when it was saved): a fixed one keeps the picture the same.
    saved.rename(saved.with_name("20261126-101500-" + saved.name.split("-", 2)[2]))
    assert snap_compare(demo_app("windows-on-linux", history_dir=tmp_path), terminal_size=SIZE, press=["h"])


def test_file_picker(snap_compare, tmp_path, monkeypatch):
    # A folder of fixed names, opened by a relative path: the picture does not depend on the machine.
    for name in ("app", "app.exe", "build.log"):
        (tmp_path / name).write_text(name)
    (tmp_path / "dist").mkdir()
    monkeypatch.chdir(tmp_path)

    async def run_before(pilot) -> None:
        await pilot.press("2")
        await pilot.app.push_screen(FilePickerScreen("Pick the binary that failed", Path(".")))
        tree = pilot.app.screen.query_one("#picker-tree")
        for _ in range(200):  # the directory tree loads in a worker
            await pilot.pause(0.02)
            if len(tree.root.children) == 4:
                break
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=run_before)


def test_small_terminal_chain(snap_compare):
    # 80×24 stays readable: the tree and the explanation share the width.
    assert snap_compare(demo_app("glibc-on-alpine"), terminal_size=(80, 24), run_before=go_to("5"))


def test_light_theme_matrix(snap_compare):
    async def run_before(pilot) -> None:
        pilot.app.theme = "textual-light"
        await _run_matrix(pilot)

    assert snap_compare(demo_app("sqlite-cgo-off"), terminal_size=SIZE, run_before=run_before)


LOGS = Path(__file__).parent / "fixtures" / "logs"


async def _prove_zig(pilot) -> None:
    """Run the matrix, prove the zig fix with p, and leave the cursor on it (long label, long commands)."""
    await _run_matrix(pilot)
    await pilot.press("5")
    await pilot.pause()
    tree = pilot.app.screen.query_one(ChainTree)
    stack = list(tree.root.children)
    while stack:
        node = stack.pop(0)
        if node.data is not None and node.data.variant == "zig-2.17":
            tree.move_cursor(node)
            break
        stack[:0] = list(node.children)
    await pilot.pause()
    await pilot.press("p")
    await pilot.app.work.wait()
    for _ in range(50):
        await pilot.pause(0.02)
        if pilot.app.current_step == "chain":
            break
    # The chain is rebuilt with the proof, the cursor put back on the zig fix, and the view settled
    # after the next layout: wait for all three before the picture is taken.
    tree = pilot.app.screen.query_one(ChainTree)
    for _ in range(100):
        node = tree.cursor_node
        if node is not None and node.data is not None and node.data.variant == "zig-2.17" and node.data.proven_in:
            break
        await pilot.pause(0.02)
    # The proof's toast fades in and out on its own clock: not part of the picture.
    pilot.app.clear_notifications()
    await pilot.wait_for_scheduled_animations()
    # The tree measures its lines lazily: wait until its size (and so its scrollbar) stops changing.
    stable, last = 0, None
    for _ in range(100):
        await pilot.pause(0.05)
        now = (tree.virtual_size, tree.scroll_offset)
        stable = stable + 1 if now == last else 0
        last = now
        if stable >= 3:
            break


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_chain_long_fix_and_commands(snap_compare, size):
    # The best-fix summary, fix marks, the zig fix's four command lines wrapped in their own box.
    assert snap_compare(demo_app(), terminal_size=size, run_before=_prove_zig)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
@pytest.mark.parametrize("step", ["2", "5"])
def test_hostile_log_line(snap_compare, monkeypatch, size, step):
    # A log whose lines hold markup ([b], [/], [$error], [link=...]) and end in a backslash:
    # every character is shown as it is, and nothing is styled by it.
    monkeypatch.chdir(LOGS)
    app = GociApp(log_path="hostile-markup.log", gather_env=False, config=Config())

    async def run_before(pilot) -> None:
        for _ in range(200):
            await pilot.pause(0.02)
            if pilot.app.session.diagnosis is not None:
                break
        await pilot.press(step)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_matrix_sizes(snap_compare, size):
    # At 80 columns the exact message takes the room the fixed columns give up, in taller rows.
    assert snap_compare(demo_app(), terminal_size=size, run_before=_run_matrix)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_chain_wrapped_labels(snap_compare, size):
    # Keys only: the cursor walked down to the zig fix; every label wraps at the tree's width.
    async def run_before(pilot) -> None:
        await _run_matrix(pilot)
        await pilot.press("5")
        await pilot.pause()
        tree = pilot.app.screen.query_one(ChainTree)
        for _ in range(20):
            node = tree.cursor_node
            if node is not None and node.data is not None and node.data.variant == "zig-2.17":
                break
            await pilot.press("down")
            await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=size, run_before=run_before)
