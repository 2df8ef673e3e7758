"""Export SVG screenshots of each step of the real app into screenshots/ (linked from the README).

Usage: ``python scripts/screenshots.py [--out screenshots]``

Drives the real app with Pilot on the bundled GLIBC demo (real recorded evidence replayed, so no
Docker or Go is needed and the pictures are the same on every machine).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from goci_doctor.config import Config  # noqa: E402
from goci_doctor.lab import demo  # noqa: E402
from goci_doctor.lab.runner import ReplayRunner  # noqa: E402
from goci_doctor.tui.app import GociApp  # noqa: E402
from goci_doctor.tui.widgets import ChainTree  # noqa: E402

SIZE = (110, 34)
SCENARIO = "glibc-centos7"


def _app(name: str = SCENARIO) -> GociApp:
    # Default settings, injected: the pictures do not depend on this machine's user config.
    return GociApp(demo_scenario=name, runner=ReplayRunner(list(demo.scenario(name).runs)), config=Config())


async def _shoot(out: Path) -> list[Path]:
    written: list[Path] = []

    def save(app: GociApp, name: str, title: str) -> None:
        path = out / f"{name}.svg"
        path.write_text(app.export_screenshot(title=f"goci-doctor — {title}"), encoding="utf-8")
        written.append(path)

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(_shoot(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
