"""JSON Schema of the documents goci-doctor writes, generated from the records of ``model`` and ``records``.

The committed ``docs/schema.json`` is this module's output; a test regenerates it and fails on any
difference, so the schema cannot drift from the code. Regenerate it after changing a dataclass::

    python -m goci_doctor.render.schema --write docs/schema.json

Field descriptions come from the attribute docstrings in the source (the string right after a
field), so the schema documents what the code documents. Every ``kind`` of
``render.documents.KINDS`` has its entry (a test checks), plus the run recordings of ``lab.runner``.
Imports: ``model``, ``render.documents`` and, inside ``document_schema``, the dataclasses of the
layers whose documents it describes (``lab``, ``gate``, ``trace``, ``render``).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import itertools
import json
import sys
import textwrap
import types
import typing
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any, Literal

from goci_doctor.model import SCHEMA_VERSION, ArtifactFacts, is_record_type, record_fields, type_hints
from goci_doctor.records import BuildResult, Diagnosis, EnvFacts, Report, RunResult, Target
from goci_doctor.render.documents import KINDS, RECORDING_KIND

SCHEMA_ID = "urn:goci-doctor:json-schema:1"

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    Any: {},
}


@functools.cache
def _field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings of a dataclass: the string literal that follows each field."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for prev, node in itertools.pairwise(body):
        if (
            isinstance(prev, ast.AnnAssign)
            and isinstance(prev.target, ast.Name)
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            docs[prev.target.id] = " ".join(node.value.value.split())
    return docs


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of one type hint; nested dataclasses go to ``defs`` and are referenced."""
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return {"type": "string"}
    if is_record_type(tp):
        _add_definition(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a, defs) for a in args]}
    if origin in (tuple, list):
        if origin is list or (len(args) == 2 and args[1] is Ellipsis):
            return {"type": "array", "items": _type_schema(args[0], defs)}
        # A fixed-length tuple, e.g. (key, value) pairs in settings and deps.
        return {
            "type": "array",
            "prefixItems": [_type_schema(a, defs) for a in args],
            "items": False,
            "minItems": len(args),
        }
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1], defs)}
    raise TypeError(f"no JSON Schema mapping for type {tp!r}")


def _add_definition(cls: type, defs: dict[str, Any]) -> None:
    """Add ``cls`` (and every dataclass it holds) to ``defs`` under its class name."""
    name = cls.__name__
    if name in defs:
        return
    defs[name] = {}  # placeholder: recursive types (ChainNode.children) refer to themselves
    hints = type_hints(cls)
    docs = _field_docs(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field, is_required in record_fields(cls):
        prop = _type_schema(hints[field], defs)
        if field in docs:
            prop = {"description": docs[field], **prop}
        properties[field] = prop
        if is_required:
            required.append(field)
    schema: dict[str, Any] = {"type": "object"}
    doc = inspect.getdoc(cls)
    if doc:
        schema["description"] = doc.split("\n\n")[0].replace("\n", " ")
    schema |= {"properties": properties, "required": required, "additionalProperties": False}
    defs[name] = schema


def _document(kind: str, description: str, body: dict[str, Any], required: Sequence[str]) -> dict[str, Any]:
    if kind not in KINDS and kind != RECORDING_KIND:
        raise ValueError(f"document kind {kind!r} is not in render.documents.KINDS")
    props = {
        "schema_version": {"const": SCHEMA_VERSION},
        "kind": {"const": kind},
        **body,
    }
    return {
        "type": "object",
        "description": description,
        "properties": props,
        "required": ["schema_version", "kind", *required],
        "additionalProperties": False,
    }


def _findings(items: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The ``findings`` array of lint and policy documents: LintFinding plus its rule's name."""
    finding = defs["LintFinding"]
    finding["properties"]["rule_name"] = {"type": "string", "description": "The rule's short name."}
    finding["required"] = [*finding["required"], "rule_name"]
    return items


def document_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of every ``--json`` document, selected by its ``kind``.

    Kinds: diagnosis (check/explain), report (an exported session), inspect, env, targets, history,
    run, build, lint, policy (check --policy), images (images list), merge, trace, and the run
    recordings (goci-doctor-run-recording) the lab replays.
    """
    from goci_doctor.gate.rules import LintFinding
    from goci_doctor.lab.images import ImageInfo
    from goci_doctor.render.fanin import Conflict
    from goci_doctor.render.history import HistoryEntry
    from goci_doctor.trace.events import Trace

    defs: dict[str, Any] = {}
    ref = functools.partial(_type_schema, defs=defs)
    report = type_hints(Report)
    findings = _findings(ref(tuple[LintFinding, ...]), defs)
    summary = {
        "type": "object",
        "description": "Findings by level.",
        "properties": {level: {"type": "integer"} for level in ("errors", "warnings", "notes")},
        "required": ["errors", "warnings", "notes"],
        "additionalProperties": False,
    }
    strings = {"type": "array", "items": {"type": "string"}}
    kinds = [
        _document(
            "diagnosis",
            "`check --json`, `explain --json`: one diagnosis.",
            {"tool_version": {"type": "string"}, "has_problem": {"type": "boolean"}, "diagnosis": ref(Diagnosis)},
            ["tool_version", "has_problem", "diagnosis"],
        ),
        _document(
            "report",
            "An exported session (`--report FILE` replays it); the fields of Report.",
            {f.name: ref(report[f.name]) for f in dataclasses.fields(Report)},
            ["diagnosis"],
        ),
        _document(
            "inspect",
            "`inspect --json`: static facts about each artifact.",
            {"artifacts": ref(tuple[ArtifactFacts, ...])},
            ["artifacts"],
        ),
        _document(
            "env",
            "`env --json`: the build environment and what is wrong with it.",
            {"env": ref(EnvFacts), "problems": ref(tuple[str, ...])},
            ["env", "problems"],
        ),
        _document(
            "targets",
            "`targets --json`: the deploy and build targets of the knowledge base.",
            {"targets": ref(tuple[Target, ...])},
            ["targets"],
        ),
        _document(
            "history", "`history --json`: saved sessions.", {"sessions": ref(tuple[HistoryEntry, ...])}, ["sessions"]
        ),
        _document(
            "run",
            "`run --json` (also `--on-this-machine`): the real runs of one artifact and their diagnosis.",
            {
                "artifact": ref(ArtifactFacts),
                "artifact_sha256": {"type": "string"},
                "runs": ref(tuple[RunResult, ...]),
                "diagnosis": ref(Diagnosis),
            },
            ["artifact", "runs", "diagnosis"],
        ),
        _document(
            "build",
            "`build --json`: the diagnostic builds of a project, their runs on the targets, and the "
            "diagnosis of the project's own build (null when it produced nothing to judge).",
            {
                "project": {"type": "string"},
                "build_image": {"type": "string"},
                "targets": strings,
                "builds": ref(tuple[BuildResult, ...]),
                "runs": ref(tuple[RunResult, ...]),
                "not_run": {
                    "type": "object",
                    "description": "Built variants that could not run in these containers, and why.",
                    "additionalProperties": {"type": "string"},
                },
                "diagnosis": ref(Diagnosis | None),
            },
            ["project", "build_image", "targets", "builds", "runs", "not_run", "diagnosis"],
        ),
        _document(
            "lint",
            "`lint --json`: findings in a repository's CI configs.",
            {
                "repo": {"type": "string"},
                "files": strings,
                "policy_env": {"type": "string"},
                "findings": findings,
                "summary": summary,
            },
            ["repo", "files", "policy_env", "findings", "summary"],
        ),
        _document(
            "policy",
            "`check --policy ENV --json`: violations of a policy environment (configs, live environment, artifacts).",
            {
                "files": strings,
                "policy": {"type": "string", "description": "The policy file."},
                "policy_env": {"type": "string"},
                "findings": findings,
                "summary": summary,
            },
            ["files", "policy", "policy_env", "findings", "summary"],
        ),
        _document(
            "images",
            "`images list --json`: the local target images and the libc each really holds.",
            {"images": ref(tuple[ImageInfo, ...])},
            ["images"],
        ),
        _document(
            "merge",
            "`merge --json`: the reports of a CI matrix joined into one diagnosis.",
            {
                "sources": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"file": {"type": "string"}, "kind": {"type": "string"}},
                        "required": ["file", "kind"],
                        "additionalProperties": False,
                    },
                },
                "conflicts": ref(tuple[Conflict, ...]),
                "has_problem": {"type": "boolean"},
                "diagnosis": ref(Diagnosis),
            },
            ["sources", "conflicts", "has_problem", "diagnosis"],
        ),
        _document(
            "trace",
            "`trace --json`: every exec a traced command made, and a diagnosis per failed one.",
            {"tool_version": {"type": "string"}, "has_problem": {"type": "boolean"}, "trace": ref(Trace)},
            ["tool_version", "has_problem", "trace"],
        ),
        _document(
            RECORDING_KIND,
            "A recording of real runs (lab.runner.record_runs), replayed by the demo and the tests.",
            {
                "runs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "variant": {"type": "string"},
                            "target": {"type": "string"},
                            "sha256": {"type": "string", "description": "The artifact's; empty: any artifact."},
                            "result": ref(RunResult),
                        },
                        "required": ["variant", "target", "sha256", "result"],
                        "additionalProperties": False,
                    },
                }
            },
            ["runs"],
        ),
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "goci-doctor JSON documents",
        "description": f"Documents written by goci-doctor --json (schema_version {SCHEMA_VERSION}). "
        "Generated from goci_doctor/model.py by `python -m goci_doctor.render.schema`; do not edit by hand.",
        "type": "object",
        "required": ["schema_version", "kind"],
        "oneOf": kinds,
        "$defs": dict(sorted(defs.items())),
    }


def dataclass_schema(cls: type) -> dict[str, Any]:
    """A standalone JSON Schema for one dataclass (e.g. the demo recordings' ``Scenario``)."""
    defs: dict[str, Any] = {}
    ref = _type_schema(cls, defs)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **ref, "$defs": defs}


def schema_text() -> str:
    """``document_schema()`` as the exact text committed in docs/schema.json."""
    return json.dumps(document_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the schema, or write it to a file (``--write``), or fail if a file differs (``--check``)."""
    parser = argparse.ArgumentParser(prog="python -m goci_doctor.render.schema", description=main.__doc__)
    parser.add_argument("--write", metavar="FILE", help="write the schema to FILE")
    parser.add_argument("--check", metavar="FILE", help="exit 1 if FILE is not the current schema")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.check:
        with open(args.check, encoding="utf-8") as fh:
            if fh.read() != text:
                print(
                    f"{args.check} is out of date: run python -m goci_doctor.render.schema --write {args.check}",
                    file=sys.stderr,
                )
                return 1
        return 0
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(text)
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
