"""Pilot tests, keys only: what a small or a wide terminal shows of the session.

Read from the composed screen (what a person sees), at fixed sizes: the crash chain's labels are
wrapped whole at the tree's width, the footer keeps f1 and q at 80 columns on every step, a proof's
verdict is in view in the detail pane, the matrix's exact message is readable at 80 columns.
The runs are the demo's recorded real runs (ReplayRunner without delays): no container engine.
"""

from __future__ import annotations

import asyncio
import functools
import re

import pytest

from goci_doctor.config import Config
from goci_doctor.lab import demo
from goci_doctor.lab.runner import ReplayRunner
from goci_doctor.tui.app import GociApp
from goci_doctor.tui.chainpane import ChainTree

GUIDES = re.compile(r"[\s│├└─▼▶▁▂▃▄▅▆▇█▊▎▔]")
"""Whitespace, tree guides and scrollbar cells: what wrapping may put between two characters."""


def sync(coro_fn):
    @functools.wraps(coro_fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(coro_fn(*args, **kwargs))

    return wrapper


def demo_app(name: str = "glibc-centos7") -> GociApp:
    return GociApp(demo_scenario=name, runner=ReplayRunner(list(demo.scenario(name).runs)), config=Config())


def screen_lines(app: GociApp, widget=None) -> list[str]:
    """The text on screen, as composed: the whole screen, or the rows and columns of ``widget``'s content."""
    strips = app.screen._compositor.render_strips()
    if widget is None:
        return [s.text for s in strips]
    region = widget.content_region
    return [s.crop(region.x, region.right).text for s in strips[region.y : region.bottom]]


def squeezed(text: str) -> str:
    return GUIDES.sub("", text)


def tree_order(tree: ChainTree) -> list:
    out, stack = [], [tree.root]
    while stack:
        node = stack.pop(0)
        out.append(node)
        stack[:0] = list(node.children)
    return out


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def run_matrix(pilot) -> None:
    await pilot.press("m")
    await pilot.app.work.wait()
    await settle(pilot)


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (120, 36)], ids=["60x20", "80x24", "120x36"])
@pytest.mark.parametrize("scenario", ["glibc-centos7", "cgo-cross-no-cc"])
@sync
async def test_every_tree_label_is_on_screen_whole(size, scenario):
    # Walked with the down key alone: each node in turn is brought into view, and its whole label
    # (kind, fix state, title) is on screen inside the tree, wrapped, never cut at the edge.
    app = demo_app(scenario)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        tree = app.screen.query_one(ChainTree)
        assert app.focused is tree
        if size[1] < 24:
            # 20 rows leave the tree fewer lines than the longest label takes: "]" gives it more.
            for _ in range(3):
                await pilot.press("right_square_bracket")
        await pilot.press("home")
        await settle(pilot)
        order = tree_order(tree)
        seen = []
        for expected in order:
            node = tree.cursor_node
            assert node is expected, (node, expected)
            seen.append(node)
            shown = squeezed("".join(screen_lines(app, tree)))
            assert squeezed(node.label.plain) in shown, (size, node.label.plain, screen_lines(app, tree))
            # Nothing runs past the tree's right edge: every line of the label fits its width.
            for line in tree.label_lines(node):
                assert line.cell_len <= tree.scrollable_content_region.width
            await pilot.press("down")
            await settle(pilot)
        assert seen == order
        # A label wider than the tree really is wrapped (the demo's titles are long).
        if size[0] <= 80:
            assert any(len(tree.label_lines(n)) > 1 for n in order)


@sync
async def test_labels_wrap_again_when_the_terminal_is_resized():
    app = demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        tree = app.screen.query_one(ChainTree)
        wide = tree.last_line
        await pilot.resize_terminal(70, 24)
        await settle(pilot)
        assert tree.last_line > wide
        for node in tree_order(tree):
            assert all(line.cell_len <= tree.scrollable_content_region.width for line in tree.label_lines(node))
            assert squeezed("".join(line.plain for line in tree.label_lines(node))) == squeezed(node.label.plain)


@pytest.mark.parametrize("width", [60, 80])
@sync
async def test_footer_keeps_help_and_quit_on_every_step(width):
    app = demo_app()
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot)
        await run_matrix(pilot)
        for step in "123456":
            await pilot.press(step)
            await settle(pilot)
            footer = screen_lines(app)[-1]
            assert "f1 Help" in footer and "q Quit" in footer, (step, footer)
        # Step 5's own keys are still shown after them.
        await pilot.press("5")
        await settle(pilot)
        assert "c Copy fix" in screen_lines(app)[-1]


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
@sync
async def test_proof_verdict_is_in_view_in_the_detail_pane(size):
    app = demo_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await run_matrix(pilot)
        await pilot.press("5")
        await settle(pilot)
        tree = app.screen.query_one(ChainTree)
        for _ in range(20):
            node = tree.cursor_node
            if node is not None and node.data is not None and node.data.variant == "zig-2.17":
                break
            await pilot.press("down")
            await settle(pilot)
        assert tree.cursor_node.data.variant == "zig-2.17"
        await pilot.press("p")
        await app.work.wait()
        for _ in range(100):
            await settle(pilot)
            if app.current_step == "chain" and tree.cursor_node.data.proven_in:
                break
        assert tree.cursor_node.data.variant == "zig-2.17" and tree.cursor_node.data.proven_in
        app.clear_notifications()
        await settle(pilot)
        detail = app.screen.query_one("#chain-detail-scroll")
        shown = squeezed("".join(screen_lines(app, detail)))
        where = tree.cursor_node.data.proven_in[0]
        assert squeezed(f"✔ proven: runs on {where}") in shown, screen_lines(app, detail)
        # And the fix's node is in view in the tree, with its new state.
        assert squeezed("fix ✔ proven: Keep cgo, target an old glibc with zig cc") in squeezed(
            "".join(screen_lines(app, tree))
        )


@sync
async def test_matrix_message_is_readable_at_80_columns():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await run_matrix(pilot)
        table = app.screen.query_one("#matrix-table")
        lines = screen_lines(app, table)
        start = lines[0].index("Exact message")
        # The message column has the room the fixed columns gave up, and wraps in it.
        assert len(lines[0]) - start >= 24
        height = table.rows[next(iter(table.rows))].height
        assert height > 1
        first_row = "".join(line[start:] for line in lines[1 : 1 + height])
        message = str(table.get_cell("debian:11", "Exact message"))
        assert "GLIBC_2.34' not found" in message
        assert squeezed(message[: message.index("not found") + len("not found")]) in squeezed(first_row)
        # Every column heading is whole.
        for heading in ("Target", "Image", "libc", "Predicted", "Observed", "Exact message"):
            assert heading in lines[0]
