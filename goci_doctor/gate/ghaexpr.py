"""GitHub Actions expressions (``${{ ... }}`` and ``if:``) evaluated as far as a config tells.

A small recursive-descent evaluator for the expression language: literals, ``matrix.*``,
``env.*``, ``inputs.*``, ``runner.os``/``runner.arch``, ``! == != < > <= >= && ||``, parentheses,
``startsWith``/``endsWith``/``contains``/``format`` and the status functions. ``&&``/``||``
return operand values as GitHub does (``matrix.os == 'windows' && '.exe' || ''``). Anything
that depends on the run (``github.*``, ``steps.*``, ``secrets.*``, ``hashFiles``) is
:data:`UNKNOWN_VALUE`, and so is every result computed from it, so a condition that cannot be
decided keeps its step rather than dropping it.

Imports nothing from goci_doctor; linear in the expression's length (one pass of the tokenizer,
recursion bounded by the nesting depth, which is capped).
"""

from __future__ import annotations

from typing import Any


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN_VALUE"


UNKNOWN_VALUE: Any = _Unknown()
_MAX_LEN = 2000
_MAX_DEPTH = 32


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "'":
            j = i + 1
            buf = []
            while j < n:
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            out.append(("str", "".join(buf)))
            i = j + 1
        elif text.startswith(("&&", "||", "==", "!=", "<=", ">="), i):
            out.append(("op", text[i : i + 2]))
            i += 2
        elif c in "!()<>,[]":
            out.append(("op", c))
            i += 1
        elif c.isdigit() or (c == "-" and i + 1 < n and text[i + 1].isdigit()):
            j = i + 1
            while j < n and (text[j].isdigit() or text[j] == "."):
                j += 1
            num = text[i:j]
            out.append(("num", float(num) if "." in num else int(num)))
            i = j
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_-.*"):
                j += 1
            out.append(("name", text[i:j]))
            i = j
        else:
            raise ValueError(f"unexpected {c!r}")
    return out


def _truthy(v: Any) -> Any:
    if v is UNKNOWN_VALUE:
        return UNKNOWN_VALUE
    return v not in (None, False, 0, "", 0.0)


def _text(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return ""
    return str(v)


def _eq(a: Any, b: Any) -> Any:
    if a is UNKNOWN_VALUE or b is UNKNOWN_VALUE:
        return UNKNOWN_VALUE
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, (int, float)) or isinstance(b, (int, float)):
        try:
            return float(a if not isinstance(a, str) else (a or 0)) == float(b if not isinstance(b, str) else (b or 0))
        except ValueError:
            return False
    return a == b


class _Parser:
    def __init__(self, toks: list[tuple[str, Any]], ctx: dict[str, Any]) -> None:
        self.toks, self.i, self.ctx, self.depth = toks, 0, ctx, 0

    def peek(self) -> tuple[str, Any] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str) -> bool:
        t = self.peek()
        if t is not None and t[0] == "op" and t[1] == value:
            self.i += 1
            return True
        return False

    def parse(self) -> Any:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ValueError("too deep")
        v = self.and_()
        while self.take("||"):
            rhs = self.and_()
            t = _truthy(v)
            v = UNKNOWN_VALUE if t is UNKNOWN_VALUE else (v if t else rhs)
        self.depth -= 1
        return v

    def and_(self) -> Any:
        v = self.cmp()
        while self.take("&&"):
            rhs = self.cmp()
            t = _truthy(v)
            v = UNKNOWN_VALUE if t is UNKNOWN_VALUE else (rhs if t else v)
        return v

    def cmp(self) -> Any:
        v = self.unary()
        t = self.peek()
        if t is not None and t[0] == "op" and t[1] in ("==", "!=", "<", ">", "<=", ">="):
            self.i += 1
            rhs = self.unary()
            if t[1] in ("==", "!="):
                r = _eq(v, rhs)
                return r if r is UNKNOWN_VALUE or t[1] == "==" else not r
            return UNKNOWN_VALUE
        return v

    def unary(self) -> Any:
        if self.take("!"):
            v = _truthy(self.unary())
            return v if v is UNKNOWN_VALUE else not v
        return self.primary()

    def primary(self) -> Any:
        t = self.peek()
        if t is None:
            raise ValueError("unexpected end")
        self.i += 1
        kind, val = t
        if kind == "op" and val == "(":
            v = self.parse()
            self.take(")")
            return v
        if kind in ("str", "num"):
            return val
        if kind != "name":
            raise ValueError(f"unexpected {val!r}")
        if val in ("true", "false"):
            return val == "true"
        if val == "null":
            return None
        if self.take("("):
            args = []
            if not self.take(")"):
                args.append(self.parse())
                while self.take(","):
                    args.append(self.parse())
                self.take(")")
            return _call(val, args)
        while self.take("["):  # matrix['os'] style indexing
            key = self.parse()
            self.take("]")
            val = f"{val}.{key}" if isinstance(key, str) else val
        return _lookup(val, self.ctx)


def _call(name: str, args: list[Any]) -> Any:
    low = name.lower()
    if low in ("success", "always"):
        return True
    if low in ("failure", "cancelled"):
        return False
    if any(a is UNKNOWN_VALUE for a in args):
        return UNKNOWN_VALUE
    if low in ("startswith", "endswith", "contains") and len(args) == 2:
        a, b = _text(args[0]).lower(), _text(args[1]).lower()
        if low == "contains" and isinstance(args[0], list):
            return any(_eq(x, args[1]) is True for x in args[0])
        return a.startswith(b) if low == "startswith" else a.endswith(b) if low == "endswith" else b in a
    if low == "format" and args:
        out = _text(args[0])
        for k, a in enumerate(args[1:]):
            out = out.replace("{" + str(k) + "}", _text(a))
        return out
    return UNKNOWN_VALUE


def _lookup(path: str, ctx: dict[str, Any]) -> Any:
    parts = path.split(".")
    root = parts[0]
    if root not in ctx:
        return UNKNOWN_VALUE
    v: Any = ctx[root]
    for p in parts[1:]:
        if isinstance(v, dict) and p in v:
            v = v[p]
        else:
            return UNKNOWN_VALUE if root != "matrix" or not isinstance(v, dict) else None
    return v


def evaluate(expr: str, ctx: dict[str, Any]) -> Any:
    """The value of ``expr`` (without ``${{ }}``) in ``ctx`` ({"matrix": ..., "env": ..., ...})."""
    expr = expr.strip()
    if expr.startswith("${{") and expr.endswith("}}"):
        expr = expr[3:-2].strip()
    if not expr or len(expr) > _MAX_LEN:
        return UNKNOWN_VALUE
    try:
        p = _Parser(_tokens(expr), ctx)
        v = p.parse()
        if p.i != len(p.toks):
            return UNKNOWN_VALUE
        return v
    except (ValueError, RecursionError):
        return UNKNOWN_VALUE


def condition(expr: Any, ctx: dict[str, Any]) -> bool | None:
    """Whether an ``if:`` holds: True/False, None when it cannot be decided (keep the step)."""
    if isinstance(expr, bool):
        return expr
    if expr is None:
        return True
    text = str(expr).strip()
    if text.startswith("${{") and text.endswith("}}") and text.count("${{") == 1:
        text = text[3:-2]
    v = evaluate(text, ctx)
    t = _truthy(v)
    return None if t is UNKNOWN_VALUE else bool(t)


def as_text(value: Any) -> str | None:
    """An evaluated value as it is substituted into a string; None when unknown."""
    return None if value is UNKNOWN_VALUE else _text(value)
