"""Bounded reading of untrusted input: files from a repository under review, configs, reports, logs.

Everything here refuses rather than exhausts: only regular files are opened (never a device, FIFO
or socket; the open is non-blocking so a FIFO cannot hang us, and the type is checked with fstat
on the descriptor actually opened), optionally only inside a root folder (a symlink out of a
pull request's checkout is refused), and never more than a size cap per file. YAML is composed
with its nesting depth bounded and aliases checked (a cycle, or an expansion beyond a node budget,
is refused before anything is built from it: ``safety.yamlsafe``); variable expansion in CI configs
draws on a budget. Artifacts are read on demand through ``safety.fileview.FileView``.

Every refusal is an ``UnsafeInput`` (a ``BadInputError``: one line, exit code 2), whose ``reason``
omits the path so callers that name the file themselves (lint's GOCI000) can use it.

May import only the standard library, ``goci_doctor.model`` and (lazily) PyYAML. ``tomllib`` and
``json`` are imported where they are used: the artifact readers import this module at start-up.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from goci_doctor.model import BadInputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Any

MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""Cap for one CI config, settings file, policy or JSON report (real ones are a few KB)."""
MAX_REPORT_BYTES = 64 * 1024 * 1024
"""Cap for a saved JSON report or history entry (``tui --report``, ``history ID``)."""
MAX_NESTING = 200
"""Nesting levels of a TOML or JSON document (tomllib and json recurse; 5,000 levels crash them)."""
MAX_EXPANSION = 256 * 1024
"""Characters one variable expansion may produce (``ENV X1=${X0}${X0}`` chains double each line)."""
EXPANSION_BUDGET = 4 * 1024 * 1024
"""Characters all expansions of one file may produce together, so an exponential chain ends early."""


class UnsafeInput(BadInputError):
    """Input refused or unreadable; ``reason`` is the message without the path."""

    def __init__(self, path: object, reason: str, *, missing: bool = False) -> None:
        super().__init__(f"{path}: {reason}" if str(path) else reason)
        self.path = str(path)
        self.reason = reason
        self.missing = missing
        """True when nothing is at the path (callers may fall back to defaults)."""


def describe_size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.0f} {unit}"
    return f"{n} bytes"


# --------------------------------------------------------------------------------------------
# Regular files, inside a root, with a size cap

_ROOT: contextvars.ContextVar[Path | None] = contextvars.ContextVar("goci_safeio_root", default=None)


@contextlib.contextmanager
def confined(root: str | os.PathLike[str]) -> Iterator[Path]:
    """While active, ``open_regular`` and the readers refuse files that resolve outside ``root``."""
    real = Path(os.path.realpath(root))
    token = _ROOT.set(real)
    try:
        yield real
    finally:
        _ROOT.reset(token)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISCHR(mode):
        return "is a character device"
    if stat.S_ISBLK(mode):
        return "is a block device"
    return "is not a regular file"


def os_reason(exc: OSError) -> str:
    """A short, lower-case reason for an OS error, without the path Python puts in ``str(exc)``."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    return (exc.strerror or type(exc).__name__).lower()


def open_regular(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> int:
    """A read-only descriptor on ``path``, which must be a regular file (inside ``root`` or the
    ``confined`` root when one is given). The caller closes it. Raises ``UnsafeInput``."""
    limit_root = Path(os.path.realpath(root)) if root is not None else _ROOT.get()
    target = os.fspath(path)
    if limit_root is not None:
        real = os.path.realpath(target)
        if os.path.commonpath([real, str(limit_root)]) != str(limit_root):
            raise UnsafeInput(path, "a symlink to outside the repository; not read")
        if not os.path.lexists(real):
            dangling = os.path.islink(target)
            raise UnsafeInput(path, "a dangling symlink" if dangling else "no such file", missing=not dangling)
        target = real
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags)
    except FileNotFoundError:
        dangling = os.path.islink(target)
        raise UnsafeInput(path, "a dangling symlink" if dangling else "no such file", missing=not dangling) from None
    except OSError as exc:
        raise UnsafeInput(path, os_reason(exc)) from None
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise UnsafeInput(path, os_reason(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = _kind(st.st_mode)
        raise UnsafeInput(path, kind if kind.endswith("not a regular file") else f"{kind}, not a regular file")
    return fd


def read_bytes(
    path: str | os.PathLike[str], *, limit: int = MAX_CONFIG_BYTES, root: str | os.PathLike[str] | None = None
) -> bytes:
    """The contents of a regular file of at most ``limit`` bytes. Raises ``UnsafeInput``."""
    fd = open_regular(path, root)
    try:
        chunks: list[bytes] = []
        total = 0
        while True:
            # Read by size, not by st_size: /proc files say 0 and a file may grow while read.
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise UnsafeInput(path, f"larger than {describe_size(limit)}; not read")
        return b"".join(chunks)
    except OSError as exc:
        raise UnsafeInput(path, os_reason(exc)) from None
    finally:
        os.close(fd)


def read_text(
    path: str | os.PathLike[str],
    *,
    limit: int = MAX_CONFIG_BYTES,
    errors: str = "strict",
    root: str | os.PathLike[str] | None = None,
) -> str:
    """A UTF-8 text file (BOM dropped) of at most ``limit`` bytes. Raises ``UnsafeInput``."""
    data = read_bytes(path, limit=limit, root=root)
    try:
        return data.decode("utf-8-sig", errors=errors)
    except UnicodeDecodeError as exc:
        raise UnsafeInput(path, f"not UTF-8 text (byte {exc.start})") from None


# --------------------------------------------------------------------------------------------
# TOML and JSON with bounded nesting


def _deeper_than(doc: Any, limit: int) -> bool:
    """True when a parsed document nests more than ``limit`` containers deep (iterative walk)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            items: Any = node.values()
        elif isinstance(node, list):
            items = node
        else:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in items if isinstance(child, (dict, list)))
    return False


def loads_toml(text: str, path: object = "") -> dict[str, Any]:
    """``tomllib.loads`` that refuses absurd nesting instead of overflowing the stack.

    Raises ``tomllib.TOMLDecodeError`` for invalid TOML (the caller words it), ``UnsafeInput``
    for nesting."""
    import tomllib  # here, not at the top: `inspect` reads artifacts through this module, never TOML

    try:
        doc = tomllib.loads(text)
    except RecursionError:
        doc = None
    if doc is None or _deeper_than(doc, MAX_NESTING):
        raise UnsafeInput(path, f"TOML nested more than {MAX_NESTING} levels deep; not read")
    return doc


def loads_json(text: str | bytes, path: object = "") -> Any:
    """``json.loads`` that refuses absurd nesting; ``ValueError`` for invalid JSON."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="strict")
    import json

    try:
        doc = json.loads(text)
    except RecursionError:
        raise UnsafeInput(path, f"JSON nested more than {MAX_NESTING} levels deep; not read") from None
    if _deeper_than(doc, MAX_NESTING):
        raise UnsafeInput(path, f"JSON nested more than {MAX_NESTING} levels deep; not read")
    return doc


# --------------------------------------------------------------------------------------------
# Variable expansion budget

_BUDGET: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("goci_safeio_budget", default=None)


@contextlib.contextmanager
def expansion_budget(chars: int = EXPANSION_BUDGET) -> Iterator[None]:
    """While active, ``spend`` draws on ``chars`` characters of expansion (one file's worth)."""
    token = _BUDGET.set([chars])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def spend(produced: int) -> None:
    """Account for one variable expansion that produced ``produced`` characters.

    Raises ``UnsafeInput`` when one expansion exceeds ``MAX_EXPANSION`` or the active budget is spent.
    """
    if produced > MAX_EXPANSION:
        raise UnsafeInput(
            "",
            f"a variable expands to more than {describe_size(MAX_EXPANSION)} "
            "(a self-doubling ENV/ARG chain?); not expanded",
        )
    budget = _BUDGET.get()
    if budget is not None:
        budget[0] -= produced + 64  # a call costs too: expansions that produce nothing still take time
        if budget[0] < 0:
            raise UnsafeInput("", "variable expansion exceeds its budget (an exponential chain?); not expanded")
