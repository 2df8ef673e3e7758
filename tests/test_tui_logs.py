"""The session on logs and hostile text: a big real log read through the CLI's decoder in a worker,
a bounded excerpt around the matched lines, and markup-looking text shown literally everywhere.

The failure lines are real go/loader output recorded by tests/fixtures/build.py; the filler
around them is generated to make the log big.
"""

from __future__ import annotations

import asyncio
import functools

import pytest
from textual.content import Content

from goci_doctor.lab import demo
from goci_doctor.render import history
from goci_doctor.tui import logview
from goci_doctor.tui.app import GociApp
from goci_doctor.tui.screens import HistoryScreen

SIZE = (100, 34)


def sync(coro_fn):
    @functools.wraps(coro_fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(coro_fn(*args, **kwargs))

    return wrapper


@pytest.fixture
def big_log(fixture_bins, tmp_path):
    """~20 MB: 150k lines of filler, the real failing build in the middle, then more filler."""
    real = fixture_bins["fail-no-cc"].path
    if real is None:
        pytest.skip(f"failing-build log fixture unavailable: {fixture_bins['fail-no-cc'].reason}")
    filler = "".join(f"#12 {i:06d} [build 3/7] RUN go mod download example.com/m{i % 97}\n" for i in range(150_000))
    path = tmp_path / "ci.log"
    path.write_bytes(filler.encode() + real.read_bytes() + filler.encode())
    return path, real.read_text().splitlines()


def test_excerpt_is_bounded_and_around_the_matched_lines(big_log):
    path, real_lines = big_log
    loaded = logview.read_and_explain(str(path))
    assert loaded.diagnosis.chains and loaded.matched
    assert len(loaded.lines) >= 300_000
    shown = loaded.excerpt.splitlines()
    assert len(shown) <= logview.MAX_EXCERPT_LINES + len(loaded.matched) + 2
    assert any(line in shown for line in real_lines if line.strip())
    assert shown[0].startswith("… ") and shown[-1].startswith("… ") and "not shown" in shown[-1]


@sync
async def test_tui_log_opens_at_once_and_explains_in_a_worker(big_log):
    path, _real = big_log
    app = GociApp(log_path=str(path), gather_env=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # The UI is up before the log is read; keys work meanwhile.
        assert app.current_step == "chain"
        await pilot.press("1")
        assert app.current_step == "environment"
        for _ in range(3000):
            await pilot.pause(0.05)
            if app.session.diagnosis is not None:
                break
        assert app.session.diagnosis is not None and app.session.diagnosis.chains
        assert app.current_step == "chain"
        box = app.screen.query_one("#log-text").text
        assert len(box.splitlines()) <= logview.MAX_EXCERPT_LINES + 10
        assert "Whole log" in str(app.screen.query_one("#log-note").render())
        app.show_whole_log()
        await pilot.pause()
        assert len(app.screen.query_one("#log-text").text.splitlines()) == len(app.session.log_lines)


@sync
async def test_markup_in_history_titles_and_export_folders(tmp_path):
    # A saved session whose title and subject hold markup, and an export folder named like a tag.
    report = demo.scenario_report(demo.scenario("glibc-centos7"))
    import dataclasses

    hostile = dataclasses.replace(report, title="deploy [/] to [b]prod\\")
    history.save_session(hostile, tmp_path / "hist")
    folder = tmp_path / "out [" / "] [b]x\\"  # the path reads ".../out [/] [b]x\\"
    folder.mkdir(parents=True)
    app = GociApp(demo_scenario="glibc-centos7", history_dir=tmp_path / "hist")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        listing = app.screen.query_one("#history-list")
        shown = Content.from_markup(listing.get_option_at_index(0).prompt).plain.replace("\u200b", "")
        assert "deploy [/] to [b]prod\\  1 problem" in shown
        await pilot.press("escape")
        await pilot.press("6")
        written = app.export("markdown", str(folder))
        await pilot.pause()
        assert written == folder / "goci-report.md" and written.is_file()
        status = str(app.screen.query_one("#export-status").render()).replace("\u200b", "")
        assert str(written) in status


def test_every_demo_node_detail_shows_its_text_literally():
    # Titles, details and evidence quote real logs and binaries ("stp x29,x30,[sp,", paths, `...`):
    # each one must come out of the detail pane's markup exactly as it went in.
    from goci_doctor.tui.chainpane import node_detail

    checked = 0
    for sc in demo.scenarios():
        for chain in demo.scenario_report(sc).diagnosis.chains:
            for node in chain.walk():
                shown = Content.from_markup(node_detail(node)).plain.replace("\u200b", "")
                for text in (node.title, node.detail, *(e.value for e in node.evidence)):
                    assert text in shown, (sc.name, node.id, text)
                    checked += 1
    assert checked > 50


@sync
async def test_an_ambiguous_paste_shows_the_leading_hypothesis_and_the_deciding_command(tmp_path):
    # A bare shell line: a foreign CPU, a Windows or macOS binary, an empty file... the text alone
    # cannot tell, so the chain screen says which cause leads and what one command decides.
    log = tmp_path / "paste.log"
    log.write_text("$ ./server\nbash: ./server: cannot execute binary file: Exec format error\n")
    from goci_doctor.config import Config

    app = GociApp(log_path=str(log), gather_env=False, config=Config())
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(300):
            await pilot.pause(0.02)
            if app.session.diagnosis is not None:
                break
        await pilot.press("5")
        await pilot.pause()
        box = str(app.screen.query_one("#best-fix").render())
        assert "Leading hypothesis" in box and "to decide: " in box, box
        assert "goci-doctor inspect ./server" in box or "uname -m" in box, box
