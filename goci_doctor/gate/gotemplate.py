"""goreleaser's Go templates, rendered per target as far as a config tells, and the targets Go has.

goreleaser renders ``builds[].env`` entries per target, so ``{{ if eq .Arch "arm64" }}CC=...
{{ end }}`` (and its documented multi-line ``>-`` form with ``{{-`` trimming) sets CC for one
architecture only. :func:`render` handles text, ``{{- -}}`` trimming, ``if``/``else if``/
``else``/``end``, ``eq ne and or not``, ``index``, ``.Os .Arch .Arm .Amd64 .Target .Env.X`` and
string literals; anything else makes the result unknown (None). :data:`GO_TARGETS` is
``go tool dist list`` (Go 1.23): goreleaser skips pairs not in it (darwin/386, windows/arm...).

Imports nothing from goci_doctor; linear in the template's length.
"""

from __future__ import annotations

from typing import Any

GO_TARGETS = frozenset(
    "aix/ppc64 android/386 android/amd64 android/arm android/arm64 darwin/amd64 darwin/arm64 dragonfly/amd64 "
    "freebsd/386 freebsd/amd64 freebsd/arm freebsd/arm64 freebsd/riscv64 illumos/amd64 ios/amd64 ios/arm64 js/wasm "
    "linux/386 linux/amd64 linux/arm linux/arm64 linux/loong64 linux/mips linux/mips64 linux/mips64le "
    "linux/mipsle linux/ppc64 linux/ppc64le linux/riscv64 linux/s390x netbsd/386 netbsd/amd64 netbsd/arm "
    "netbsd/arm64 openbsd/386 openbsd/amd64 openbsd/arm openbsd/arm64 openbsd/ppc64 openbsd/riscv64 plan9/386 "
    "plan9/amd64 plan9/arm solaris/amd64 wasip1/wasm windows/386 windows/amd64 windows/arm64".split()
)
"""``go tool dist list`` of Go 1.23 (plus freebsd/riscv64, experimental but listed since 1.20)."""


class _Unknown(Exception):
    pass


_MAX_LEN = 20000
_MAX_NEST = 16


def _split_actions(text: str) -> list[tuple[str, str]]:
    """[("text", s) | ("action", body)] with {{- and -}} whitespace trimming applied."""
    out: list[tuple[str, str]] = []
    i = 0
    while True:
        j = text.find("{{", i)
        if j < 0:
            out.append(("text", text[i:]))
            return out
        k = text.find("}}", j + 2)
        if k < 0:
            raise _Unknown
        body = text[j + 2 : k]
        chunk = text[i:j]
        if body.startswith("-") and body[1:2] in (" ", "\t", "\n", "\r"):
            chunk = chunk.rstrip()
            body = body[1:]
        trim_after = body.endswith("-") and body[-2:-1] in (" ", "\t", "\n", "\r")
        if trim_after:
            body = body[:-1]
        out.append(("text", chunk))
        out.append(("action", body.strip()))
        i = k + 2
        if trim_after:
            while i < len(text) and text[i] in " \t\r\n":
                i += 1


def _words(expr: str) -> list[Any]:
    """Arguments of a pipeline: strings, field paths, nested parenthesised lists."""
    stack: list[list[Any]] = [[]]
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
        elif c == "(":
            if len(stack) > _MAX_NEST:
                raise _Unknown
            stack.append([])
            i += 1
        elif c == ")":
            if len(stack) == 1:
                raise _Unknown
            inner = stack.pop()
            stack[-1].append(inner)
            i += 1
        elif c in '"`':
            j = expr.find(c, i + 1)
            if j < 0:
                raise _Unknown
            stack[-1].append(("str", expr[i + 1 : j]))
            i = j + 1
        else:
            j = i
            while j < n and not expr[j].isspace() and expr[j] not in "()":
                j += 1
            stack[-1].append(expr[i:j])
            i = j
    if len(stack) != 1:
        raise _Unknown
    return stack[0]


def _value(arg: Any, data: dict[str, Any]) -> Any:
    if isinstance(arg, tuple):
        return arg[1]
    if isinstance(arg, list):
        return _call(arg, data)
    if arg in ("true", "false"):
        return arg == "true"
    if arg.startswith("."):
        v: Any = data
        for part in arg[1:].split("."):
            if not isinstance(v, dict) or part not in v:
                raise _Unknown
            v = v[part]
        return v
    if arg.lstrip("-").isdigit():
        return int(arg)
    raise _Unknown


def _call(words: list[Any], data: dict[str, Any]) -> Any:
    if not words:
        raise _Unknown
    head = words[0]
    if not isinstance(head, str) or head.startswith(".") or len(words) == 1:
        if len(words) != 1:
            raise _Unknown
        return _value(head, data)
    args = [_value(a, data) for a in words[1:]]
    if head == "eq":
        return any(str(args[0]) == str(a) for a in args[1:])
    if head == "ne" and len(args) == 2:
        return str(args[0]) != str(args[1])
    if head == "not" and len(args) == 1:
        return not args[0]
    if head == "and":
        return all(args)
    if head == "or":
        return any(args)
    if head == "index" and len(args) == 2 and isinstance(args[0], dict):
        if args[1] not in args[0]:
            raise _Unknown
        return args[0][args[1]]
    raise _Unknown


def render(text: str, data: dict[str, Any]) -> str | None:
    """``text`` rendered with ``data`` ({"Os", "Arch", "Arm", "Env": {...}}); None when unknown."""
    if "{{" not in text:
        return text
    if len(text) > _MAX_LEN:
        return None
    try:
        parts = _split_actions(text)
        out: list[str] = []
        # Each frame: (emitting now, a branch already taken, parent emitting).
        frames: list[tuple[bool, bool, bool]] = []
        for kind, body in parts:
            emitting = all(f[0] for f in frames)
            if kind == "text":
                if emitting:
                    out.append(body)
                continue
            word = body.split(None, 1)[0] if body else ""
            if word == "if":
                holds = emitting and bool(_call(_words(body[2:]), data)) if emitting else False
                frames.append((holds, holds, emitting))
            elif word == "else":
                if not frames:
                    return None
                _now, taken, parent = frames[-1]
                rest = body[4:].strip()
                if rest.startswith("if "):
                    holds = parent and not taken and bool(_call(_words(rest[3:]), data))
                else:
                    holds = parent and not taken
                frames[-1] = (holds, taken or holds, parent)
            elif word == "end":
                if not frames:
                    return None
                frames.pop()
            elif body.startswith("/*"):
                continue
            elif emitting:
                out.append(str(_call(_words(body), data)))
        return "".join(out) if not frames else None
    except (_Unknown, IndexError):
        return None
