"""Keys only: the demo walked the way a person drives it, asserting the active step after every key.

Every scenario, every step with n/b and the digits from inside each focusable widget (text fields
first left with escape, or crossed with ctrl+pagedown), p on every fix the UI offers to prove,
export and quit. The runs replayed are the demo's recorded real runs.
"""

from __future__ import annotations

import asyncio
import functools

from textual.widgets import Input, TextArea

from goci_doctor.lab import demo
from goci_doctor.tui.app import GociApp
from goci_doctor.tui.chainpane import ChainPane, ChainTree
from goci_doctor.tui.kit import STEPS

ORDER = [pane for pane, _ in STEPS]


def sync(coro_fn):
    @functools.wraps(coro_fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(coro_fn(*args, **kwargs))

    return wrapper


async def press(pilot, key: str, step: str) -> None:
    """Press one key and assert the step shown afterwards."""
    await pilot.press(key)
    await pilot.pause()
    assert pilot.app.current_step == step, f"after {key!r}: {pilot.app.current_step}, expected {step}"


def is_text_field(widget) -> bool:
    return isinstance(widget, Input) or (isinstance(widget, TextArea) and not widget.read_only)


def focusables(app: GociApp, step: str) -> list:
    pane = app.screen.query_one(f"#{step}")
    return [w for w in pane.query("*") if w.focusable and w.display and w.visible]


async def tab_to(pilot, widget, limit: int = 40) -> None:
    """Move the focus to ``widget`` with tab or shift+tab only (whichever is fewer presses)."""
    for _ in range(limit):
        focused = pilot.app.focused
        if focused is widget:
            return
        chain = pilot.app.screen.focus_chain
        key = "tab"
        if focused in chain and widget in chain:
            ahead = (chain.index(widget) - chain.index(focused)) % len(chain)
            key = "tab" if ahead <= len(chain) - ahead else "shift+tab"
        await pilot.press(key)
        await pilot.pause()
    raise AssertionError(f"tab never reached {widget!r}")


async def walk_steps(pilot, first: str) -> None:
    """n to the end, b to the start, then every digit: from the step's main widget."""
    app = pilot.app
    await press(pilot, str(ORDER.index(first) + 1), first)
    for step in ORDER[ORDER.index(first) + 1 :]:
        await press(pilot, "n", step)
    await press(pilot, "n", ORDER[-1])  # stays on the last step
    for step in reversed(ORDER[:-1]):
        await press(pilot, "b", step)
    await press(pilot, "b", ORDER[0])
    for i, step in enumerate(ORDER, start=1):
        await press(pilot, str(i), step)
        # Arriving on a step focuses its main widget, never a text field: keys keep working.
        assert app.focused is not None and not is_text_field(app.focused), (step, app.focused)


async def keys_from_every_widget(pilot) -> None:
    """From inside each focusable widget of each step: n, b and a digit move the steps."""
    app = pilot.app
    for index, step in enumerate(ORDER):
        await press(pilot, str(index + 1), step)
        nxt, prev = ORDER[min(index + 1, len(ORDER) - 1)], ORDER[max(index - 1, 0)]
        for widget in focusables(app, step):

            async def inside(index=index, step=step, widget=widget) -> None:
                await press(pilot, str(index + 1), step)
                await tab_to(pilot, widget)
                assert app.current_step == step
                if is_text_field(widget):
                    # The rule: letters type into a field; escape leaves it, on the same step.
                    await press(pilot, "escape", step)
                    assert app.focused is not widget

            if is_text_field(widget):
                await press(pilot, str(index + 1), step)
                await tab_to(pilot, widget)
                await press(pilot, "n", step)  # typed into the field
                # ctrl+pagedown / ctrl+pageup change step from inside the field itself.
                await press(pilot, "ctrl+pagedown", nxt)
                await press(pilot, str(index + 1), step)
                await tab_to(pilot, widget)
                await press(pilot, "ctrl+pageup", prev)
            await inside()
            await press(pilot, "n", nxt)
            await inside()
            await press(pilot, "b", prev)
            await inside()
            other = (index + 3) % len(ORDER)
            await press(pilot, str(other + 1), ORDER[other])


def offered_fixes(app: GociApp) -> list:
    tree = app.screen.query_one(ChainTree)
    out, stack = [], list(tree.root.children)
    while stack:
        node = stack.pop(0)
        if node.data is not None and node.data.kind == "fix" and not app.why_not_provable(node.data):
            out.append(node.data.id)
        stack[:0] = list(node.children)
    return out


async def cursor_to(pilot, node_id: str, limit: int = 60) -> None:
    """Move the tree's cursor to the node with ``node_id`` with the arrow keys."""
    tree = pilot.app.screen.query_one(ChainTree)
    await press(pilot, "home", "chain")
    for _ in range(limit):
        if tree.cursor_node is not None and tree.cursor_node.data is not None and tree.cursor_node.data.id == node_id:
            return
        await press(pilot, "down", "chain")
    raise AssertionError(f"the cursor never reached {node_id}")


async def prove_every_offered_fix(pilot) -> None:
    app = pilot.app
    await press(pilot, "5", "chain")
    pane = app.screen.query_one(ChainPane)
    for node_id in offered_fixes(app):
        await cursor_to(pilot, node_id)
        assert pane.query_one("#prove-fix").display
        await pilot.press("p")
        await pilot.pause()
        if app.work is not None:
            await app.work.wait()
        for _ in range(50):
            await pilot.pause(0.02)
            if app.current_step == "chain":
                break
        # Back on the chain, on the same fix, now marked by what really happened.
        assert app.current_step == "chain"
        node = pane.selected()
        assert node is not None and node.id == node_id
        assert node.proven_in or node.failed_in, node_id
    # A fix not offered: no button, and p says why without moving anywhere.
    tree = app.screen.query_one(ChainTree)
    refused = [
        n.data
        for n in _walk(tree.root)
        if n.data is not None and n.data.kind == "fix" and n.data.variant and app.why_not_provable(n.data)
    ]
    for node in refused[:1]:
        await cursor_to(pilot, node.id)
        assert not pane.query_one("#prove-fix").display
        await press(pilot, "p", "chain")


def _walk(node):
    out = [node]
    for child in node.children:
        out.extend(_walk(child))
    return out


async def export_and_quit(pilot, folder) -> None:
    app = pilot.app
    await press(pilot, "6", "export")
    field = app.screen.query_one("#export-dir", Input)
    await tab_to(pilot, field)
    for ch in str(folder):
        await pilot.press(ch if ch != "/" else "slash")
    await pilot.pause()
    assert field.value == str(folder)
    await press(pilot, "tab", "export")
    assert app.focused is app.screen.query_one("#export-markdown")
    await press(pilot, "enter", "export")
    assert (folder / "goci-report.md").is_file()
    await pilot.press("q")
    await pilot.pause()
    assert app.return_value == 0


@sync
async def test_keys_walk_every_widget_of_the_glibc_demo(tmp_path):
    app = GociApp(demo_scenario="glibc-centos7", history_dir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.current_step == "facts"
        await walk_steps(pilot, "facts")
        await keys_from_every_widget(pilot)
        await press(pilot, "4", "matrix")
        await pilot.press("m")
        await app.work.wait()
        await pilot.pause()
        assert app.current_step == "matrix"
        await prove_every_offered_fix(pilot)
        await export_and_quit(pilot, tmp_path)


@sync
async def test_keys_walk_every_demo_scenario(tmp_path):
    for sc in demo.scenarios():
        out = tmp_path / sc.name
        out.mkdir()
        app = GociApp(demo_scenario="glibc-centos7", history_dir=tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            # Choosing the scenario in step 2 with the keyboard moves to the step that shows it.
            await press(pilot, "2", "source")
            assert app.focused is app.screen.query_one("#demo-list")
            names = [s.name for s in demo.scenarios()]
            await pilot.press("home", *["down"] * names.index(sc.name), "enter")
            await pilot.pause()
            assert app.session.demo == sc.name
            first = "facts" if sc.artifact is not None else "chain"
            assert app.current_step == first
            await walk_steps(pilot, first)
            if sc.runs:
                await press(pilot, "4", "matrix")
                await pilot.press("m")
                await app.work.wait()
                await pilot.pause()
                assert app.current_step == "matrix"
            await prove_every_offered_fix(pilot)
            await export_and_quit(pilot, out)
