"""Saved sessions: the history under the user data directory (``goci-doctor history``).

Each session is one JSON report (the same document ``--report FILE`` replays) in
``<user data dir>/sessions/<id>.json``. Writes are atomic (temporary file in the same directory,
then rename), so a crash or a full disk never leaves a half-written entry that breaks the listing.
No Textual, Rich or Docker import here: the CLI's ``history`` command uses this module directly.

Imports: config, model, render, safety.safeio.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from goci_doctor.model import BadInputError
from goci_doctor.records import Report
from goci_doctor.safety import safeio

__all__ = ["HistoryEntry", "list_sessions", "load_session", "save_session", "sessions_dir"]

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


@dataclass(frozen=True)
class HistoryEntry:
    """One saved session, as listed (the report itself is only read by ``load_session``)."""

    id: str
    path: Path
    title: str
    created: str
    subject: str
    kind: str
    problems: int
    """Number of crash chains in the session (0: nothing wrong found)."""


def sessions_dir(directory: Path | None = None) -> Path:
    """Where sessions live: ``directory`` if given, else ``<user data dir>/sessions``."""
    if directory is not None:
        return Path(directory)
    from goci_doctor.config import data_dir

    return Path(data_dir()) / "sessions"


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug[:40] or "session"


def save_session(report: Report, directory: Path | None = None) -> Path:
    """Write ``report`` as a new history entry and return its path (atomic: no partial files)."""
    from goci_doctor.render import report_to_json

    folder = sessions_dir(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    subject = Path(report.diagnosis.subject).name if report.diagnosis.subject else ""
    base = f"{stamp}-{_slug(report.title or subject or report.diagnosis.kind)}"
    text = report_to_json(report)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        n = 1
        while True:
            target = folder / (f"{base}.json" if n == 1 else f"{base}-{n}.json")
            try:
                # os.link fails if the name exists, so two sessions saved in the same second
                # never overwrite each other; the rename-free link is still atomic.
                os.link(tmp, target)
                break
            except FileExistsError:
                n += 1
    finally:
        os.unlink(tmp)
    return target


def list_sessions(directory: Path | None = None) -> list[HistoryEntry]:
    """Saved sessions, newest first. Unreadable files are skipped, never fatal."""
    folder = sessions_dir(directory)
    if not folder.is_dir():
        return []
    entries: list[HistoryEntry] = []
    for path in folder.glob("*.json"):
        if path.name.startswith("."):
            continue
        try:
            doc = safeio.loads_json(safeio.read_bytes(path, limit=safeio.MAX_REPORT_BYTES), path)
        except (safeio.UnsafeInput, ValueError):
            continue  # unreadable or not JSON: not a session we can list
        # A damaged entry ("chains": 5, a list where a table belongs) is listed with what is usable.
        doc = doc if isinstance(doc, dict) else {}
        diag = doc.get("diagnosis")
        diag = diag if isinstance(diag, dict) else {}
        chains = diag.get("chains")
        entries.append(
            HistoryEntry(
                id=path.stem,
                path=path,
                title=_text(doc.get("title")),
                created=_text(doc.get("created")),
                subject=_text(diag.get("subject")),
                kind=_text(diag.get("kind")),
                problems=len(chains) if isinstance(chains, list) else 0,
            )
        )
    entries.sort(key=lambda e: e.id, reverse=True)
    return entries


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def load_session(session_id: str, directory: Path | None = None) -> Report:
    """The report of one saved session (``session_id`` as listed, or a unique prefix of it)."""
    from goci_doctor.render import load_report

    if not _ID_RE.match(session_id):
        raise BadInputError(f"not a session id: {session_id!r} (see `goci-doctor history`)")
    folder = sessions_dir(directory)
    exact = folder / f"{session_id}.json"
    if exact.is_file():
        return load_report(exact)
    matches = [e for e in list_sessions(directory) if e.id.startswith(session_id)]
    if len(matches) == 1:
        return load_report(matches[0].path)
    if not matches:
        raise BadInputError(f"no saved session {session_id!r} in {folder} (see `goci-doctor history`)")
    raise BadInputError(f"{session_id!r} matches {len(matches)} sessions; give more of the id")
