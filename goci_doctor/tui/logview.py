"""A log opened in the session: read through the one bounded log decoder, explained off the UI thread.

``read_and_explain`` runs in a worker: it streams the file through ``logread.iter_log_lines``
(the same decoder as ``explain``, so any encoding, binary garbage and huge lines behave alike),
explains it in one pass, and keeps the lines so the whole log stays available on demand. The
step-2 box only ever shows ``excerpt``: the matched lines with a little context, bounded.

Imports ``goci_doctor.diagnosis.explain`` (its ``logread``) and ``model`` only (no Textual).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from goci_doctor.model import BadInputError

if TYPE_CHECKING:
    from goci_doctor.records import Diagnosis

CONTEXT = 3
"""Lines shown before and after each matched line."""
MAX_EXCERPT_LINES = 200
"""At most this many log lines in the excerpt, however many lines matched."""
PROGRESS_EVERY = 50_000
"""Report progress every this many lines read."""


@dataclass(frozen=True)
class LoadedLog:
    """A log file read and explained: its diagnosis, its lines and the excerpt shown."""

    diagnosis: Diagnosis
    lines: tuple[str, ...]
    excerpt: str
    matched: tuple[int, ...]
    """1-based numbers of the lines the explanation quotes."""


def matched_lines(diagnosis: Diagnosis) -> list[int]:
    """Line numbers the diagnosis quotes as evidence, in order, once each."""
    found: set[int] = set()
    for chain in diagnosis.chains:
        for node in chain.walk():
            for ev in node.evidence:
                if ev.line:
                    found.add(ev.line)
    return sorted(found)


def excerpt(lines: Sequence[str], matched: Iterable[int], context: int = CONTEXT) -> str:
    """The matched lines with ``context`` lines around them, gaps marked, at most MAX_EXCERPT_LINES lines.

    With nothing matched, the log's last lines (where a failure usually is).
    """
    total = len(lines)
    wanted: set[int] = set()
    for n in matched:
        wanted.update(range(max(1, n - context), min(total, n + context) + 1))
        if len(wanted) >= MAX_EXCERPT_LINES:
            break
    if not wanted:
        wanted = set(range(max(1, total - MAX_EXCERPT_LINES // 4 + 1), total + 1))
    out: list[str] = []
    previous = 0
    for n in sorted(wanted)[:MAX_EXCERPT_LINES]:
        if n > previous + 1:
            out.append(f"… {n - previous - 1} line{'s' if n - previous - 1 != 1 else ''} not shown …")
        out.append(lines[n - 1])
        previous = n
    if previous < total:
        out.append(f"… {total - previous} line{'s' if total - previous != 1 else ''} not shown …")
    return "\n".join(out)


_CONTROL = {c: "\N{REPLACEMENT CHARACTER}" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]}


def displayable(text: str) -> str:
    """Text safe to put on screen: secrets redacted, control characters shown as �."""
    from goci_doctor.safety.redact import redact

    return redact(text).translate(_CONTROL)


def read_and_explain(path: str, on_progress: Callable[[int], None] | None = None) -> LoadedLog:
    """Read ``path`` through the bounded decoder, explain it, and excerpt it (run in a worker)."""
    from goci_doctor.diagnosis import explain
    from goci_doctor.diagnosis.explain import logread

    lines: list[str] = []

    def keep(it: Iterable[str]) -> Iterator[str]:
        for line in it:
            lines.append(line)
            if on_progress is not None and len(lines) % PROGRESS_EVERY == 0:
                on_progress(len(lines))
            yield line

    try:
        with Path(path).expanduser().open("rb") as stream:
            diagnosis = explain.explain_lines(keep(logread.iter_log_lines(stream)), source=path)
    except OSError as exc:
        raise BadInputError(f"cannot read log {path}: {exc.strerror}") from None
    matched = matched_lines(diagnosis)
    return LoadedLog(diagnosis, tuple(lines), displayable(excerpt(lines, matched)), tuple(matched))
