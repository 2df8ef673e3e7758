"""Splitting a Dockerfile into instructions the way BuildKit does, heredocs included.

dockerfile-parse treats ``RUN <<EOT`` bodies as instructions of their own; this reader keeps
each heredoc with the instruction that opens it. It yields the same dicts dockerfile-parse's
``structure`` does (``instruction``, ``value``, ``startline``/``endline`` 0-based, ``content``)
plus ``heredocs`` (name → body). For a ``RUN`` whose command is only the heredoc (or ``sh``/
``bash`` reading it) ``value`` is the heredoc body, so it can be read as the shell script it is.

Imports only the standard library and google-re2 (patterns here run on untrusted text).
"""

from __future__ import annotations

from typing import Any

import re2

_DIRECTIVE = re2.compile(r"^#\s*escape\s*=\s*(\S)\s*$")
_INSTR = re2.compile(r"^\s*([A-Za-z]+)(?:\s+(.*))?$")
# <<EOT, <<-EOT, <<"EOT", <<'EOT' (not <<< here-strings)
_HEREDOC = re2.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)([\"']?)")
_SHELLS = ("sh", "bash", "/bin/sh", "/bin/bash", "ash", "/bin/ash", "dash")
_MAX_HEREDOCS = 8


def _escape_char(lines: list[str]) -> str:
    for line in lines:
        if not line.startswith("#"):
            break
        m = _DIRECTIVE.match(line)
        if m:
            return m.group(1)
    return "\\"


def _heredoc_names(first: str) -> list[tuple[str, bool]]:
    """(name, strip leading tabs) of each heredoc opened on an instruction's first line."""
    out = []
    for m in _HEREDOC.finditer(first):
        if first[max(m.start() - 1, 0) : m.start()] == "<":  # <<< is a here-string
            continue
        out.append((m.group(3), m.group(1) == "-"))
        if len(out) >= _MAX_HEREDOCS:
            break
    return out


def _run_script(value: str, heredocs: dict[str, str]) -> str:
    """The shell script a RUN with heredocs executes."""
    rest = value.strip()
    while rest.startswith("--"):
        rest = rest.split(None, 1)[1] if " " in rest else ""
    m = _HEREDOC.search(rest)
    if not m or not heredocs:
        return value
    before = rest[: m.start()].strip()
    name = m.group(3)
    body = heredocs.get(name, "")
    if before == "" or before in _SHELLS or (before.split()[0] in _SHELLS and "-c" not in before.split()):
        # The first line may start with a shebang (#!/usr/bin/env bash): a comment to sh.
        return body
    # `RUN python3 <<EOF`: the heredoc is data for another program; keep the command line only.
    return rest[: m.start()] + rest[m.end() :]


def structure(text: str) -> list[dict[str, Any]]:
    """The instructions of a Dockerfile, in order (see the module docstring)."""
    lines = text.replace("\r\n", "\n").split("\n")
    esc = _escape_char(lines)
    out: list[dict[str, Any]] = []
    i = 0
    n = len(lines)
    while i < n:
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts: list[str] = []
        line = raw
        # Join continuation lines; comment lines inside a continuation are dropped (BuildKit does too).
        while True:
            body = line.rstrip()
            if body.endswith(esc) and i + 1 < n:
                parts.append(body[: -len(esc)])
                i += 1
                while i < n and lines[i].strip().startswith("#"):
                    i += 1
                if i >= n:
                    break
                line = lines[i]
                continue
            parts.append(line)
            break
        logical = " ".join(p.strip() for p in parts if p.strip())
        m = _INSTR.match(logical)
        if not m:
            i += 1
            continue
        instruction = m.group(1).upper()
        value = (m.group(2) or "").strip()
        heredocs: dict[str, str] = {}
        if instruction in ("RUN", "COPY", "ADD"):
            for name, strip_tabs in _heredoc_names(value):
                body_lines: list[str] = []
                i += 1
                while i < n and lines[i].strip() != name:
                    body_lines.append(lines[i].lstrip("\t") if strip_tabs else lines[i])
                    i += 1
                heredocs[name] = "\n".join(body_lines)
        end = min(i, n - 1)
        if instruction == "RUN" and heredocs:
            value = _run_script(value, heredocs)
        out.append(
            {
                "instruction": instruction,
                "value": value,
                "startline": start,
                "endline": end,
                "content": "\n".join(lines[start : end + 1]) + "\n",
                "heredocs": heredocs,
                "heredoc_start": start + 1 if heredocs else -1,
            }
        )
        i += 1
    return out
