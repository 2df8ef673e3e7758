"""Step 6 and the palette's screenshot: the session written as Markdown or JSON, kept in the
history, or the screen saved as an SVG.

Imports: Textual, model, records, tui.appbase, tui.inputpanes, tui.kit, and lazily render.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from goci_doctor.model import GociError
from goci_doctor.tui.appbase import AppBase
from goci_doctor.tui.inputpanes import ExportPane
from goci_doctor.tui.kit import lit

if TYPE_CHECKING:
    from goci_doctor.records import Report


class ExportActions(AppBase):
    """Export, the history and the screenshot."""

    def build_report(self) -> Report:
        """The session as a report: what Markdown/JSON export and the history hold."""
        return self.controller.build_report()

    def export(self, fmt: str, directory: str = "") -> Path | None:
        """Write the session as ``goci-report.md`` or ``goci-report.json`` into ``directory``."""
        if self.session.diagnosis is None:
            self.notify("Nothing to export yet.", severity="warning")
            return None
        try:
            target = self.controller.export("json" if fmt == "json" else "markdown", directory)
        except GociError as exc:
            self._fail(exc)
            return None
        self.exported[fmt] = target
        self._pane(ExportPane).show(self.controller.markdown(), f"Wrote {lit(str(target))}")
        self.notify(f"Wrote {target}", markup=False)
        return target

    def action_save_history(self) -> None:
        """Keep the session in the history (user data directory)."""
        if self.session.diagnosis is None:
            self.notify("Nothing to save yet.", severity="warning")
            return
        try:
            path = self.controller.save_history()
        except GociError as exc:
            self._fail(exc)
            return
        self.exported["history"] = path
        self.notify(f"Saved to the history as {path.stem}", markup=False)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Save an SVG of the screen (the palette's "Screenshot"); the toast says where, or why not.

        Into ``path`` when given, else the Downloads folder, else (when there is none) the current
        folder, saying so.
        """
        import os
        from datetime import datetime

        from goci_doctor import render

        name = filename or f"goci-doctor-{datetime.now():%Y%m%d-%H%M%S}.svg"
        downloads = Path(os.environ.get("XDG_DOWNLOAD_DIR") or "~/Downloads").expanduser()
        folder, why = Path(path).expanduser() if path else downloads, ""
        if not path and not downloads.is_dir():
            folder, why = Path.cwd(), f"{downloads} does not exist, so "
        target = folder / name
        try:
            render.write_atomic(target, self.export_screenshot())
        except (OSError, GociError) as exc:
            reason = exc.message if isinstance(exc, GociError) else exc.strerror or str(exc)
            self.notify(f"Screenshot not saved: cannot write {target}: {reason}", severity="error", markup=False)
            return None
        message = f"{why}the screenshot is saved as {target}"
        self.notify(message[0].upper() + message[1:], title="Screenshot", markup=False)
        return str(target)
