"""A small, generic SARIF 2.1.0 log builder (for GitHub code scanning and other SARIF consumers).

It knows nothing about goci-doctor's rules: callers hand it rule descriptions and results as
plain dataclasses, and get back a ``dict`` ready for ``json.dump``. ``lint`` uses it for config
findings; the diagnosis renderer uses it for crash chains. The output validates against the
official OASIS schema (sarif-schema-2.1.0.json); the tests check that.

Imports: nothing of goci_doctor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"

SarifLevel = Literal["error", "warning", "note", "none"]


@dataclass(frozen=True)
class SarifRule:
    """One reportingDescriptor: what a rule checks, shown by code scanning next to each result."""

    id: str
    """Stable id, e.g. "GOCI001"."""
    name: str
    """Short camel or kebab name, e.g. "cgo-libc-mismatch"."""
    short: str
    """One-line description."""
    full: str = ""
    """A paragraph: why it matters."""
    help: str = ""
    """How to fix it (plain text; also used as the markdown help)."""
    help_uri: str = ""
    level: SarifLevel = "warning"
    """Default level (defaultConfiguration.level)."""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SarifResult:
    """One result. ``uri`` is repository-relative (resolved against %SRCROOT%) or absolute."""

    rule_id: str
    message: str
    level: SarifLevel = "warning"
    uri: str = ""
    """"" for results with no file (e.g. the live build environment)."""
    line: int = 0
    """1-based; 0 when unknown (no region is written)."""
    column: int = 0
    end_line: int = 0
    fingerprint: str = ""
    """Extra text that identifies the result across runs when the line moves (default: the message)."""
    properties: dict[str, Any] = field(default_factory=dict)


# Characters a URI may hold as they are (RFC 3986 unreserved, sub-delims, "/", "@"); everything
# else in a file name (space, "%", "#", "?", ":", newlines, controls, non-ASCII) is percent-encoded,
# so code scanning resolves the right file and no consumer sees a raw control character.
_URI_SAFE = "/-._~!$&'()*+,;=@"


def _artifact_location(uri: str) -> dict[str, Any]:
    if uri.startswith("/"):
        # Absolute paths (artifacts outside the repository) are file URIs with no base.
        return {"uri": "file://" + quote(uri, safe=_URI_SAFE)}
    scheme, sep, rest = uri.partition("://")
    if sep and scheme.isascii() and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return {"uri": f"{scheme}://{quote(rest, safe=_URI_SAFE + ':%?#[]')}"}
    return {"uri": quote(uri.replace("\\", "/").removeprefix("./"), safe=_URI_SAFE), "uriBaseId": SRCROOT}


def _rule_descriptor(rule: SarifRule) -> dict[str, Any]:
    desc: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.full or rule.short},
        "defaultConfiguration": {"level": rule.level},
    }
    if rule.help:
        desc["help"] = {"text": rule.help, "markdown": rule.help}
    if rule.help_uri:
        desc["helpUri"] = rule.help_uri
    if rule.tags:
        desc["properties"] = {"tags": list(rule.tags)}
    return desc


def fingerprint(*parts: str) -> str:
    """A stable hex digest of ``parts`` (for partialFingerprints)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "replace"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def _result(res: SarifResult, rule_index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": res.rule_id,
        "level": res.level,
        "message": {"text": res.message or res.rule_id},
    }
    if res.rule_id in rule_index:
        out["ruleIndex"] = rule_index[res.rule_id]
    if res.uri:
        physical: dict[str, Any] = {"artifactLocation": _artifact_location(res.uri)}
        if res.line > 0:
            region: dict[str, Any] = {"startLine": res.line}
            if res.column > 0:
                region["startColumn"] = res.column
            if res.end_line >= res.line:
                region["endLine"] = res.end_line
            physical["region"] = region
        out["locations"] = [{"physicalLocation": physical}]
    # Line numbers are left out on purpose: a finding keeps its identity when lines above it move.
    out["partialFingerprints"] = {"goci/v1": fingerprint(res.rule_id, res.uri, res.fingerprint or res.message)}
    if res.properties:
        out["properties"] = dict(res.properties)
    return out


def sarif_log(
    tool_name: str,
    version: str,
    rules: Sequence[SarifRule],
    results: Iterable[SarifResult],
    *,
    information_uri: str = "",
    invocation_ok: bool | None = None,
) -> dict[str, Any]:
    """Build a complete SARIF 2.1.0 log with one run of ``tool_name``.

    ``rules`` become tool.driver.rules (results refer to them by ruleId and ruleIndex);
    ``results`` are written in the order given. ``invocation_ok``, when given, adds an
    invocation with executionSuccessful (False when the tool could not do its job).
    """
    rule_index = {r.id: i for i, r in enumerate(rules)}
    driver: dict[str, Any] = {
        "name": tool_name,
        "version": version,
        "semanticVersion": version,
        "rules": [_rule_descriptor(r) for r in rules],
    }
    if information_uri:
        driver["informationUri"] = information_uri
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {SRCROOT: {"description": {"text": "The repository root."}}},
        "results": [_result(r, rule_index) for r in results],
        "columnKind": "unicodeCodePoints",
    }
    if invocation_ok is not None:
        run["invocations"] = [{"executionSuccessful": invocation_ok}]
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
