"""Export SVG screenshots of each step of the real app into screenshots/ (linked from the README).

Usage: ``python scripts/screenshots.py [--out screenshots] [--no-demo] [--live | --no-live]``

The demo part (01–07) drives the real app with Pilot on the bundled GLIBC demo (real recorded
evidence replayed, so no Docker or Go is needed and the pictures are the same on every machine).

The live part (08–09) drives the real app with keys on a real Go project, the ``cgoapp`` fixture
(cgo on, so it links the glibc of the image it is built in): step 2's project field, the
diagnostic builds in ``goci/build:trixie`` and the runs in the local target images through a real
``DockerRunner`` (nothing replayed), then ``p`` on the zig fix (``cgo-off`` when zig is missing)
rebuilds that variant and runs it again. It is on by default when a Docker engine answers and the
local images are there (``goci-doctor images build``), and skipped with one line otherwise;
``--live`` makes that a failure. The builds take a few seconds with a warm Go cache, minutes
without one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from goci_doctor.config import Config  # noqa: E402
from goci_doctor.lab import demo  # noqa: E402
from goci_doctor.lab.runner import ReplayRunner  # noqa: E402
from goci_doctor.tui.app import GociApp  # noqa: E402
from goci_doctor.tui.chainpane import ChainTree  # noqa: E402

SIZE = (110, 34)
SCENARIO = "glibc-centos7"

LIVE_SIZE = (120, 36)
"""Wider than the demo's: a project's matrix has a row per variant and target, and its messages are long."""
LIVE_PROJECT = ROOT / "tests" / "fixtures" / "projects" / "cgoapp"
LIVE_TARGETS = ("debian:bullseye", "debian:bookworm", "alpine:3.20", "distroless/static")
LIVE_FIXES = ("zig-2.17", "cgo-off")
"""The fix proven with ``p``: the first of these whose variant was built."""


def _app(name: str = SCENARIO) -> GociApp:
    # Default settings, injected: the pictures do not depend on this machine's user config.
    return GociApp(demo_scenario=name, runner=ReplayRunner(list(demo.scenario(name).runs)), config=Config())


def _saver(out: Path, written: list[Path]) -> Any:
    def save(app: GociApp, name: str, title: str) -> None:
        path = out / f"{name}.svg"
        path.write_text(app.export_screenshot(title=f"goci-doctor — {title}"), encoding="utf-8")
        written.append(path)

    return save


async def _shoot(out: Path) -> list[Path]:
    written: list[Path] = []
    save = _saver(out, written)

    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key, name, title in (
            ("1", "01-environment", "1 Environment"),
            ("2", "02-what-failed", "2 What failed"),
            ("3", "03-artifact", "3 Artifact facts"),
        ):
            await pilot.press(key)
            await pilot.pause()
            save(app, name, title)
        await pilot.press("m")
        assert app.work is not None
        await app.work.wait()
        await pilot.pause()
        save(app, "04-matrix", "4 Container matrix")
        await pilot.press("5")
        tree = app.screen.query_one(ChainTree)
        fix = next(n for n in tree.root.children[0].children[0].children[0].children if n.data.variant == "zig-2.17")
        tree.focus()
        tree.move_cursor(fix)
        await pilot.press("p")
        await app.work.wait()
        await pilot.pause()
        await pilot.press("5")
        tree.move_cursor(tree.root.children[0].children[0].children[0].children[0])
        await pilot.pause()
        save(app, "05-crash-chain", "5 Crash chain, fix proven")
        await pilot.press("6")
        await pilot.pause()
        save(app, "06-export", "6 Export")
    log_app = _app("cgo-cross-no-cc")
    async with log_app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        save(log_app, "07-demo-log-chain", "demo: cgo cross compile without a cross compiler")
    return written


# --------------------------------------------------------------------------------------------
# The live session


def _live_config() -> Config:
    """Default settings with the local images standing in for the targets (no registry is asked)."""
    from goci_doctor.lab.images import local_image_map

    return Config(images=local_image_map())


def live_blocker(config: Config) -> str:
    """ "" when the live session can run here, else why not (one line)."""
    from goci_doctor.lab import engine
    from goci_doctor.model import EngineUnavailableError

    try:
        client = engine.connect(timeout=10)
    except EngineUnavailableError as exc:
        return exc.message
    try:
        needed = [config.build_image, *(config.images.get(t, t) for t in LIVE_TARGETS)]
        missing = []
        for image in needed:
            try:
                client.images.get(image)
            except Exception:
                missing.append(image)
    finally:
        client.close()
    if missing:
        return f"local images missing: {', '.join(missing)} (build them with `goci-doctor images build`)"
    return ""


async def _work_done(app: GociApp, pilot: Any) -> None:
    """Wait for the session's long job, then for the screen to settle (tab underline included)."""
    assert app.work is not None
    await app.work.wait()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def _shoot_live(out: Path, config: Config) -> list[Path]:
    from goci_doctor.lab.docker import DockerRunner

    written: list[Path] = []
    save = _saver(out, written)
    app = GociApp(runner=DockerRunner(config=config), config=config, targets=LIVE_TARGETS)
    async with app.run_test(size=LIVE_SIZE) as pilot:
        await pilot.pause()
        # Step 2: tab to the project field, type the directory, enter: the diagnostic builds start.
        await pilot.press("2")
        for _ in range(20):
            if app.focused is not None and app.focused.id == "project-dir":
                break
            await pilot.press("tab")
        else:
            raise SystemExit("live: tab never reached the project field of step 2")
        await pilot.press(*str(LIVE_PROJECT), "enter")
        await pilot.pause()
        await _work_done(app, pilot)
        # Step 4 (shown when the builds end): the cursor down to the as-configured build on bullseye.
        rows = [r for r in app.session.runs if not r.variant or r.variant == "as-configured"]
        crashed = next((r for r in rows if r.target == "debian:11"), None)
        if crashed is None or crashed.outcome != "crashes":
            raise SystemExit(f"live: the project's own build did not crash on debian:11 ({crashed})")
        await pilot.press("down")
        await pilot.pause()
        save(app, "08-live-matrix", "live: project cgoapp, built and run on this machine")
        # Step 5: the cursor down to the fix, p proves it (a rebuild and its runs), the chain comes back.
        built = {b.variant for b in app.session.builds if b.ok}
        variant = next((v for v in LIVE_FIXES if v in built), "")
        if not variant:
            raise SystemExit(f"live: none of {', '.join(LIVE_FIXES)} was built")
        await pilot.press("5")
        await pilot.pause()
        tree = app.screen.query_one(ChainTree)
        for _ in range(30):
            node = tree.cursor_node
            if node is not None and node.data is not None and node.data.variant == variant:
                break
            await pilot.press("down")
        else:
            raise SystemExit(f"live: no {variant} fix in the first chain")
        await pilot.press("p")
        await pilot.pause()
        await _work_done(app, pilot)
        save(app, "09-live-proven-fix", f"live: {variant} fix proven with p")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--demo", action=argparse.BooleanOptionalAction, default=True, help="the demo pictures (01-07)")
    parser.add_argument(
        "--live",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the live pictures (08-09); default: when a Docker engine answers and the local images are there",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if args.demo:
        written += asyncio.run(_shoot(args.out))
    if args.live is not False:
        config = _live_config()
        why_not = live_blocker(config)
        if why_not and args.live:
            print(f"live session not possible: {why_not}", file=sys.stderr)
            return 1
        if why_not:
            print(f"live session skipped: {why_not}", file=sys.stderr)
        else:
            written += asyncio.run(_shoot_live(args.out, config))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
