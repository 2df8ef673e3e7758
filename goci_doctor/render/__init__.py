"""Renderers: a ``Diagnosis`` (or a saved ``Report``) as text, JSON, Markdown or SARIF.

All of them walk the same recursive ``ChainNode`` structure. JSON documents are made by
``render.documents.document`` (``schema_version`` and ``kind``, see docs/schema.json) and can be
loaded back with ``load_report``. The other commands' reports have their own module here:
``runs``, ``builds``, ``images``, ``lint``, ``trace``, ``demo``, ``fanin`` (merge), ``history``.
A diagnosis itself is written by ``text``, ``markdown`` and ``chainsarif``; this entry dispatches
on the format, loads saved reports and writes files, and re-exports those modules' public names.
Imports: ``model``, ``safety``; never ``cli`` or ``tui``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from goci_doctor import __version__
from goci_doctor.model import FORMATS, SCHEMA_VERSION, BadInputError, from_jsonable, to_jsonable
from goci_doctor.render.documents import document, dumps
from goci_doctor.safety.outfile import write_report

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)

if TYPE_CHECKING:
    from typing import Any

    from goci_doctor.records import Diagnosis, Report


def render(subject: Diagnosis | Report, fmt: str) -> str:
    """Render a diagnosis or report in one of FORMATS, secrets masked and control characters
    neutralised (``safetext.clean_output``): the TUI export and the CLI both come through here."""
    from goci_doctor.safety.safetext import clean_output

    return clean_output(_render(subject, fmt), fmt)


def _render(subject: Diagnosis | Report, fmt: str) -> str:
    from goci_doctor.records import Report
    from goci_doctor.render.chainsarif import render_sarif
    from goci_doctor.render.markdown import render_markdown
    from goci_doctor.render.text import render_text

    report = subject if isinstance(subject, Report) else None
    diagnosis = subject.diagnosis if isinstance(subject, Report) else subject
    if fmt == "text":
        return render_text(diagnosis)
    if fmt == "json":
        return dumps(report_document(report) if report else diagnosis_document(diagnosis))
    if fmt == "markdown":
        return render_markdown(diagnosis, report)
    if fmt == "sarif":
        return json.dumps(render_sarif(diagnosis), indent=2, ensure_ascii=False) + "\n"
    raise BadInputError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")


# --------------------------------------------------------------------------------------------
# JSON


def diagnosis_document(diagnosis: Diagnosis) -> dict[str, Any]:
    """The ``diagnosis`` JSON document (``check --json``, ``explain --json``)."""
    return document("diagnosis", tool_version=__version__, has_problem=diagnosis.has_problem, diagnosis=diagnosis)


def report_document(report: Report) -> dict[str, Any]:
    """The ``report`` JSON document: an exported or saved session (``--report FILE`` replays it)."""
    return document("report", **to_jsonable(report))


def report_to_json(report: Report) -> str:
    """The report as a JSON document, cleaned like every output (history and the TUI export write it)."""
    from goci_doctor.safety.safetext import clean_json

    return clean_json(dumps(report_document(report)))


def read_report_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A JSON document goci-doctor wrote (a report, a run, a diagnosis, ...), read and checked: a
    regular file under the report cap, UTF-8 JSON of bounded nesting, an object whose
    ``schema_version`` this goci-doctor understands. One clear ``BadInputError`` otherwise
    (``load_report`` and ``merge`` both read through here)."""
    from goci_doctor.safety import safeio

    p = Path(path)
    try:
        raw = safeio.read_bytes(p, limit=safeio.MAX_REPORT_BYTES)
    except safeio.UnsafeInput as exc:
        raise BadInputError(f"{p}: {exc.reason} (report file)") from None
    try:
        doc = safeio.loads_json(raw, p)
    except UnicodeDecodeError:
        raise BadInputError(f"{p}: not a goci-doctor report (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{p}: not a goci-doctor report (invalid JSON at line {exc.lineno})") from None
    except safeio.UnsafeInput as exc:
        raise BadInputError(f"{p}: not a goci-doctor report ({exc.reason})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("schema_version"), int):
        raise BadInputError(f"{p}: not a goci-doctor report (no schema_version)")
    if doc["schema_version"] > SCHEMA_VERSION:
        raise BadInputError(
            f"{p}: report schema {doc['schema_version']} is newer than this goci-doctor "
            f"understands ({SCHEMA_VERSION}); upgrade goci-doctor"
        )
    return doc


def load_report(path: str | os.PathLike[str]) -> Report:
    """Load a JSON report (or a diagnosis document) written by goci-doctor; one clear error otherwise."""
    from goci_doctor.records import Diagnosis, Report

    p = Path(path)
    doc = read_report_document(p)
    try:
        if doc.get("kind") == "diagnosis":
            diag = from_jsonable(Diagnosis, doc["diagnosis"])
            return Report(diagnosis=diag, tool_version=doc.get("tool_version", ""))
        body = {k: v for k, v in doc.items() if k not in ("schema_version", "kind")}
        report: Report = from_jsonable(Report, body)
        return report
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadInputError(f"{p}: damaged goci-doctor report ({exc})") from None


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write a report file completely or not at all; devices, FIFOs and symlinks are never replaced
    (see ``outfile.write_report``)."""
    return write_report(path, text)


def write_output(text: str, output: str | None) -> None:
    """Print ``text``, or write it to ``output`` (-o; ``-`` is stdout): a failed write keeps the old file."""
    if not output:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        write_report(output, text)
    except OSError as exc:
        raise BadInputError(f"cannot write {output}: {exc.strerror or exc}") from None
