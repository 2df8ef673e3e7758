"""The one JSON path: every ``--json`` / ``--format json`` document is made by ``document()``.

A document is an object with ``schema_version`` (``model.SCHEMA_VERSION``) and ``kind`` first, then
the kind's own fields; ``docs/schema.json`` (``render.schema``) describes every kind, and
``tests/test_json_documents.py`` validates each command's real output against it. ``dumps`` turns
one into the text written to stdout or ``-o`` (indented, UTF-8); the writer cleans it like every
output (``safetext.clean_output``).

Imports: ``model`` only, so any renderer can use it.
"""

from __future__ import annotations

import json

from goci_doctor.model import SCHEMA_VERSION, to_jsonable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Any

KINDS = (
    "diagnosis",
    "report",
    "inspect",
    "env",
    "targets",
    "history",
    "run",
    "build",
    "lint",
    "policy",
    "images",
    "merge",
    "trace",
)
"""Every ``kind`` goci-doctor writes (the run recordings of ``lab.runner`` are described too:
``RECORDING_KIND``)."""

RECORDING_KIND = "goci-doctor-run-recording"
"""The ``kind`` of a run recording (``lab.runner.record_runs``), replayed by the demo and the tests."""


def document(kind: str, /, **payload: Any) -> dict[str, Any]:
    """``{"schema_version": ..., "kind": kind, **payload}``, dataclasses in ``payload`` made JSON-ready.

    Raises ValueError for a kind ``KINDS`` does not list (a new kind needs its schema first).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    return {"schema_version": SCHEMA_VERSION, "kind": kind, **{k: to_jsonable(v) for k, v in payload.items()}}


def dumps(doc: dict[str, Any]) -> str:
    """A document as the text every JSON output writes (indented, UTF-8, a final newline)."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
