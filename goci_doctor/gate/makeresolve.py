"""Resolving ``make <target>`` against a Makefile: the recipe lines it runs and their environment.

What GNU make does that decides a go build's environment, as far as it can be known without
running anything: variable flavours (=, :=, ::=, ?=, +=, !=), ``export``/``unexport``,
``export`` of everything, command-line overrides (which beat the Makefile and are exported to
recipes), variables inherited from the environment, target-specific variables (``app: export
CGO_ENABLED=1``, inherited by prerequisites), ``ifeq``/``ifneq``/``ifdef``/``ifndef`` with
``else``, prerequisites (run first, depth-first), ``$(MAKE) other`` in recipes and the automatic
variables ``$@ $< $^``. ``$(shell ...)`` and most functions become :data:`UNKNOWN`; a condition
that compares an unknown value takes its ``else`` branch (the "not set" case) — a heuristic,
documented in docs/ci.md.

This is the one Makefile parser: :mod:`goci_doctor.gate.makefile` (a Makefile linted on its own)
and :mod:`goci_doctor.gate.buildfollow` (``make <goal>`` reached from a script) both read with it.

Imports only goci_doctor.gate.shell's UNKNOWN placeholder and goci_doctor.safety's expansion budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from goci_doctor.gate.shell import UNKNOWN
from goci_doctor.safety import safeio

_MAX_DEPTH = 12
_MAX_LINES = 20000
_MAX_OPS = 500_000
_MAX_TEXT = safeio.MAX_EXPANSION


@dataclass
class MakeRule:
    """One explicit rule: its prerequisites and recipe lines (1-based line, raw text)."""

    target: str
    line: int
    prereqs: list[str] = field(default_factory=list)
    recipe: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class TargetVar:
    name: str
    op: str
    value: str
    export: bool


@dataclass
class MakeDB:
    """The variables, exports and rules of a Makefile read once with given overrides and environment."""

    env: dict[str, str]
    overrides: dict[str, str]
    variables: dict[str, str] = field(default_factory=dict)
    simple: set[str] = field(default_factory=set)
    """Variables already expanded (:= and ::=)."""
    exported: set[str] = field(default_factory=set)
    unexported: set[str] = field(default_factory=set)
    export_all: bool = False
    rules: dict[str, MakeRule] = field(default_factory=dict)
    target_vars: dict[str, list[TargetVar]] = field(default_factory=dict)
    default_target: str = ""
    ops: int = 0
    """Variable expansions done so far; past _MAX_OPS everything is UNKNOWN (hostile Makefiles)."""
    exhausted: bool = False
    """The expansion budget ran out (a value too large, or too many expansions): say so, do not guess."""
    charged: bool = False
    """While reading with ``parse_make(charged=True)``: expansions are spent from safeio's per-file
    budget and a value over safeio.MAX_EXPANSION raises UnsafeInput (the file is refused)."""

    # ----------------------------------------------------------------------------------------
    def value(self, name: str, local: dict[str, str] | None = None) -> str | None:
        if name in self.overrides:
            return self.overrides[name]
        if local and name in local:
            return local[name]
        if name in self.variables:
            return self.variables[name]
        if name in self.env:
            return self.env[name]
        if name in ("MAKE", "GNUMAKE"):
            return "make"
        if name == "SHELL":
            return "/bin/sh"
        return None

    def expand(self, text: str, local: dict[str, str] | None = None, depth: int = 0) -> str:
        """Expand variable references; functions other than a few pure ones give UNKNOWN."""
        if depth > _MAX_DEPTH or "$" not in text:
            return text
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c != "$" or i + 1 >= n:
                out.append(c)
                i += 1
                continue
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt not in "({":
                out.append(self._var(nxt, local, depth))
                i += 2
                continue
            close = ")" if nxt == "(" else "}"
            level, j = 1, i + 2
            while j < n and level:
                if text[j] == nxt:
                    level += 1
                elif text[j] == close:
                    level -= 1
                j += 1
            inner = text[i + 2 : j - 1]
            out.append(self._call(inner, local, depth))
            i = j
            grown = sum(len(o) for o in out[-2:])
            if grown > _MAX_TEXT:
                if self.charged:
                    safeio.spend(grown)  # raises: refuse the file, as for a Dockerfile's ENV chain
                self.exhausted = True
                return UNKNOWN  # a value that doubles on each reference: stop, it cannot be a command
        result = "".join(out)
        if self.charged:
            safeio.spend(len(result))
        return result

    def _var(self, name: str, local: dict[str, str] | None, depth: int) -> str:
        self.ops += 1
        if self.ops > _MAX_OPS:
            self.exhausted = True
            return UNKNOWN
        if local and name in ("@", "<", "^", "*"):
            return local.get(name, "")
        v = self.value(name, local)
        if v is None:
            return UNKNOWN
        if name in self.simple and name not in self.overrides and not (local and name in local):
            return v
        return self.expand(v, local, depth + 1)

    def _call(self, inner: str, local: dict[str, str] | None, depth: int) -> str:
        func, sp, args = inner.partition(" ")
        if not sp and "," not in inner and ":" not in inner:
            return self._var(self.expand(inner, local, depth + 1), local, depth)
        if func == "strip":
            return " ".join(self.expand(args, local, depth + 1).split())
        if func in ("firstword", "lastword"):
            words = self.expand(args, local, depth + 1).split()
            return (words[0] if func == "firstword" else words[-1]) if words else ""
        if func in ("addsuffix", "addprefix", "subst"):
            parts = args.split(",")
            if func == "subst" and len(parts) == 3:
                frm, to, text = (self.expand(p, local, depth + 1) for p in parts)
                return text.replace(frm, to) if frm else text
            if len(parts) == 2:
                fix, text = self.expand(parts[0], local, depth + 1), self.expand(parts[1], local, depth + 1)
                return " ".join((w + fix if func == "addsuffix" else fix + w) for w in text.split())
        return UNKNOWN

    # ----------------------------------------------------------------------------------------
    def assign(self, name: str, op: str, value: str, exporting: bool) -> None:
        if name in self.overrides:
            return
        if op == "?=":
            if name in self.variables or name in self.env:
                if exporting:
                    self.exported.add(name)
                return
            self.variables[name] = value
            self.simple.discard(name)
        elif op == "+=":
            self.variables[name] = (self.variables.get(name, self.env.get(name, "")) + " " + value).strip()
        elif op in (":=", "::="):
            self.variables[name] = self.expand(value)
            self.simple.add(name)
        elif op == "!=":
            self.variables[name] = UNKNOWN
            self.simple.add(name)
        else:
            self.variables[name] = value
            self.simple.discard(name)
        if exporting:
            self.exported.add(name)

    def recipe_env(self, local: dict[str, str], local_exports: set[str]) -> dict[str, str]:
        """The environment a recipe line runs with."""
        env = dict(self.env)
        names = set(self.variables) if self.export_all else set(self.exported)
        names |= local_exports | set(self.overrides)
        names |= {n for n in self.env if n in self.variables}  # make re-exports what it inherited
        for name in names - self.unexported:
            v = self._var(name, local, 0)
            env[name] = v
        return env


def _split_assign(text: str) -> tuple[str, str, str] | None:
    """(name, operator, value) when ``text`` is a variable assignment."""
    eq = text.find("=")
    if eq <= 0:
        return None
    op_start = eq
    while op_start > 0 and text[op_start - 1] in ":?+!":
        op_start -= 1
    name = text[:op_start].strip()
    if not name or (any(ch in name for ch in " \t:#") and not name.startswith(("export ", "override "))):
        return None
    return name, text[op_start : eq + 1], text[eq + 1 :].strip()


def _condition(db: MakeDB, directive: str, rest: str) -> bool:
    """Whether an ifeq/ifneq/ifdef/ifndef holds; an unknown comparison counts as not holding."""
    if directive in ("ifdef", "ifndef"):
        name = db.expand(rest.strip())
        v = db.value(name)
        defined = v is not None and v != ""
        return defined if directive == "ifdef" else not defined
    rest = rest.strip()
    a = b = ""
    if rest.startswith("(") and rest.endswith(")"):
        body = rest[1:-1]
        level, split = 0, -1
        for k, ch in enumerate(body):
            if ch == "(":
                level += 1
            elif ch == ")":
                level -= 1
            elif ch == "," and level == 0:
                split = k
                break
        if split < 0:
            return False
        a, b = body[:split], body[split + 1 :]
    else:
        quoted = [p for p in rest.replace("'", '"').split('"')[1::2]]
        if len(quoted) < 2:
            return False
        a, b = quoted[0], quoted[1]
    va, vb = db.expand(a).strip(), db.expand(b).strip()
    if UNKNOWN in va or UNKNOWN in vb:
        return False
    return (va == vb) if directive == "ifeq" else (va != vb)


def parse_make(
    text: str, env: dict[str, str] | None = None, overrides: dict[str, str] | None = None, *, charged: bool = False
) -> MakeDB:
    """Read a Makefile with ``env`` as make's environment and ``overrides`` from its command line.

    With ``charged``, what reading expands (``:=`` values, conditions, rule lines) is spent from
    safeio's expansion budget and may raise UnsafeInput; resolving recipes later is bounded by
    the database's own limits (:attr:`MakeDB.exhausted`) either way.
    """
    db = MakeDB(dict(env or {}), dict(overrides or {}), charged=charged)
    lines = text.split("\n")[:_MAX_LINES]
    # Each entry: (this branch active, some branch already taken, parent active).
    conds: list[tuple[bool, bool, bool]] = []
    rule: MakeRule | None = None
    i = 0
    while i < len(lines):
        start = i
        raw = lines[i]
        while raw.endswith("\\") and i + 1 < len(lines):
            i += 1
            raw = raw[:-1].rstrip() + " " + lines[i].lstrip()
        i += 1
        active = all(c[0] for c in conds)
        if raw.startswith("\t"):
            if active and rule is not None:
                rule.recipe.append((start + 1, raw[1:]))
            continue
        stripped = raw.split("#", 1)[0].strip()
        if not stripped:
            continue
        word, _, rest = stripped.partition(" ")
        if word in ("ifeq", "ifneq", "ifdef", "ifndef"):
            holds = active and _condition(db, word, rest)
            conds.append((holds, holds, active))
            continue
        if word == "else" and conds:
            _this, taken, parent = conds[-1]
            rest = rest.strip()
            w2, _, r2 = rest.partition(" ")
            holds = (
                parent
                and not taken
                and (_condition(db, w2, r2) if w2 in ("ifeq", "ifneq", "ifdef", "ifndef") else True)
            )
            conds[-1] = (holds, taken or holds, parent)
            continue
        if word == "endif" and conds:
            conds.pop()
            continue
        if not active:
            continue
        if word in ("include", "-include", "sinclude", "define", "endef", "vpath"):
            continue
        exporting = False
        body = stripped
        while body.split(" ", 1)[0] in ("export", "override", "private", "unexport"):
            w = body.split(" ", 1)[0]
            if w == "unexport":
                db.unexported.update(body.split()[1:])
                body = ""
                break
            exporting = exporting or w == "export"
            body = body[len(w) :].strip()
        if not body:
            if exporting:
                db.export_all = True
            continue
        assign = _split_assign(body)
        colon = body.find(":")
        if assign and (
            colon < 0
            or (body.find("=") < colon + 2 and body[colon : colon + 2] in (":=", "::"))
            or body.find("=") < colon
        ):
            name, op, value = assign
            db.assign(name, op, value, exporting)
            rule = None
            continue
        if exporting:
            for name in body.split():
                db.exported.add(name)
            continue
        if colon <= 0:
            continue
        targets = db.expand(body[:colon]).split()
        after = body[colon + 1 :].lstrip(":")
        tv = _split_assign(after.strip())
        if tv is not None:
            name, op, value = tv
            tv_export = False
            for w in ("export", "override", "private"):
                if name.startswith(w + " "):
                    tv_export = tv_export or w == "export"
                    name = name[len(w) :].strip()
            for t in targets:
                db.target_vars.setdefault(t, []).append(TargetVar(name, op, value, tv_export))
            continue
        recipe_inline = ""
        if ";" in after:
            after, recipe_inline = after.split(";", 1)
        prereqs = [p for p in db.expand(after.replace("|", " ")).split() if p]
        rule = None
        for t in targets:
            existing = db.rules.get(t)
            if existing is None:
                existing = db.rules[t] = MakeRule(t, start + 1)
            existing.prereqs += prereqs
            rule = existing
            if not db.default_target and not t.startswith(".") and "%" not in t:
                db.default_target = t
        if rule is not None and recipe_inline.strip():
            rule.recipe.append((start + 1, recipe_inline.strip()))
    db.charged = False
    return db


@dataclass
class RecipeLine:
    """One recipe line make would run: where it is, the target, its expanded text and environment."""

    line: int
    target: str
    text: str
    """After make's expansion, with @/-/+ prefixes removed."""
    raw: str
    env: dict[str, str]


def resolve(db: MakeDB, goals: list[str], prereqs: bool = True) -> tuple[list[RecipeLine], list[str]]:
    """Recipe lines ``make goals`` runs in order, and the goals/prerequisites with no rule (files).

    With ``prereqs=False`` only the goals' own recipes (each rule on its own, as a linter reads them).
    """
    out: list[RecipeLine] = []
    missing: list[str] = []
    done: set[str] = set()

    def visit(target: str, inherited: list[TargetVar], depth: int) -> None:
        if target in done or depth > _MAX_DEPTH or len(out) > 2000:
            return
        done.add(target)
        rule = db.rules.get(target)
        if rule is None:
            missing.append(target)
            return
        tvars = inherited + db.target_vars.get(target, [])
        local: dict[str, str] = {"@": target, "<": rule.prereqs[0] if rule.prereqs else "", "^": " ".join(rule.prereqs)}
        exports: set[str] = set()
        for tv in tvars:
            if tv.name in db.overrides:
                continue
            if tv.op == "+=":
                base = local.get(tv.name, db.value(tv.name) or "")
                local[tv.name] = (base + " " + tv.value).strip()
            elif tv.op == "?=" and (tv.name in local or db.value(tv.name) is not None):
                pass
            elif tv.op in (":=", "::="):
                local[tv.name] = db.expand(tv.value, local)
            else:
                local[tv.name] = tv.value
            if tv.export:
                exports.add(tv.name)
        for p in rule.prereqs if prereqs else []:
            visit(p, tvars, depth + 1)
        env = db.recipe_env(local, exports)
        for line, raw in rule.recipe:
            text = db.expand(raw, local).lstrip("@-+ \t")
            out.append(RecipeLine(line, target, text, raw.lstrip("@-+ \t"), env))

    for goal in goals or ([db.default_target] if db.default_target else []):
        visit(goal, [], 0)
    return out, missing
