"""Bounded reading of untrusted input: files from a repository under review, configs, reports, logs.

Everything here refuses rather than exhausts: only regular files are opened (never a device, FIFO
or socket; the open is non-blocking so a FIFO cannot hang us, and the type is checked with fstat
on the descriptor actually opened), optionally only inside a root folder (a symlink out of a
pull request's checkout is refused), and never more than a size cap per file. YAML is composed
with its nesting depth bounded and aliases checked (a cycle, or an expansion beyond a node budget,
is refused before anything is built from it); variable expansion in CI configs draws on a budget.

Every refusal is an ``UnsafeInput`` (a ``BadInputError``: one line, exit code 2), whose ``reason``
omits the path so callers that name the file themselves (lint's GOCI000) can use it.

May import only the standard library, ``goci_doctor.model`` and (lazily) PyYAML. ``tomllib`` and
``json`` are imported where they are used: the artifact readers import this module at start-up.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
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
MAX_YAML_DEPTH = 100
"""Nesting levels of one YAML document (real workflows use under 20)."""
MAX_YAML_NODES = 200_000
"""Nodes of a YAML document once aliases are expanded (billion laughs needs 10^9)."""
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
# YAML


class YamlLimitError(Exception):
    """A YAML document beyond our bounds, with the 1-based line where it was noticed."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def compose_yaml(text: str) -> Any:
    """The node graph of one YAML document (``yaml.compose`` with SafeLoader), or None.

    Refuses (``YamlLimitError``) nesting deeper than ``MAX_YAML_DEPTH``, an alias that contains
    itself, and documents that would expand to more than ``MAX_YAML_NODES`` nodes. Invalid YAML
    raises ``yaml.YAMLError`` as ``yaml.compose`` does.
    """
    import yaml

    class _BoundedLoader(yaml.SafeLoader):
        depth = 0

        def fetch_flow_collection_start(self, token_class: Any) -> None:
            # The scanner rechecks every open flow level per token: 3,000 "[" would take seconds
            # (and 4 MB of them forever) before the composer ever saw the depth.
            if self.flow_level >= MAX_YAML_DEPTH:
                mark = self.get_mark()
                raise YamlLimitError(f"YAML nested more than {MAX_YAML_DEPTH} levels deep", mark.line + 1)
            super().fetch_flow_collection_start(token_class)

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_YAML_DEPTH:
                    mark = self.peek_event().start_mark
                    raise YamlLimitError(f"YAML nested more than {MAX_YAML_DEPTH} levels deep", mark.line + 1)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is not None:
        _check_expansion(node)
    return node


def _check_expansion(root: Any) -> None:
    """Walk the node graph once (iteratively), computing each node's expanded size and depth."""
    import yaml

    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]

    def children(node: Any) -> list[Any]:
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        return []

    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = children(node)
            on_path.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_YAML_NODES:
                raise YamlLimitError(
                    f"YAML aliases expand to more than {MAX_YAML_NODES:,} nodes (an alias bomb?)",
                    node.start_mark.line + 1,
                )
            if depth[key] > MAX_YAML_DEPTH:
                raise YamlLimitError(
                    f"YAML aliases nest more than {MAX_YAML_DEPTH} levels deep", node.start_mark.line + 1
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlLimitError("a YAML alias that contains itself (recursive anchor)", node.start_mark.line + 1)
        on_path.add(key)
        stack.append((node, True))
        for kid in children(node):
            kid_key = id(kid)
            if kid_key in on_path:
                raise YamlLimitError("a YAML alias that contains itself (recursive anchor)", kid.start_mark.line + 1)
            if kid_key not in size:
                stack.append((kid, False))


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


# --------------------------------------------------------------------------------------------
# Artifacts: read on demand, so a truncation can never turn into SIGBUS

SMALL_FILE = 1024 * 1024
"""Files up to this size are read whole (one read; also right for /sys files whose size lies)."""
EMPTY_STAT_READ = 1024 * 1024
"""How much is read from a file whose size says 0 (/proc and /sys files have content anyway)."""
_BLOCK = 16 * 1024  # most reads are headers and tables of a few hundred bytes to a few KB
_CACHED_BLOCKS = 256  # 4 MiB of small reads cached; large reads go straight to the file


def data_extents(fd: int, size: int) -> list[tuple[int, int]]:
    """(start, end) of the regions of a file that hold data; holes of a sparse file are skipped.

    Filesystems without SEEK_DATA report the whole file as data."""
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no data after pos
                break
            return [(0, size)]  # EINVAL: SEEK_DATA unsupported here
        try:
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        except OSError:
            end = size
        if end <= start:
            break
        out.append((start, end))
        pos = end
    return out


class FileView:
    """A regular file's bytes, read with ``pread`` where and when a parser looks (never mapped).

    Behaves like a read-only ``bytes`` for what the artifact readers and pefile use (``len``,
    indexing, slicing, ``find``).
    Reading a 40 MB Go binary touches a few hundred KB of it. A file that shrinks while it is read
    cannot kill the process with SIGBUS, as a mapping would: the short read raises ``UnsafeInput``
    (one line) and sets ``shrank``, which the caller checks again after parsers that swallow
    exceptions. Small reads go through a bounded cache of 16 KiB blocks. The view owns ``fd``.
    """

    def __init__(self, fd: int, size: int, path: object) -> None:
        self._fd = fd
        self._size = size
        self._path = path
        self._blocks: dict[int, bytes] = {}
        self.shrank = False

    # bytes-like
    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            start, stop, step = key.indices(self._size)
            if step != 1:
                raise ValueError("FileView slices take no step")
            return self._read(start, max(0, stop - start))
        index = key + self._size if key < 0 else key
        if not 0 <= index < self._size:
            raise IndexError("FileView index out of range")
        return self._read(index, 1)[0]

    def __bytes__(self) -> bytes:
        return self._read(0, self._size)

    def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        """``bytes.find``, reading 1 MiB at a time (a search over a large file holds no copy of it)."""
        start, end, _ = slice(start, end).indices(self._size)
        step = max(1 << 20, 2 * len(sub))
        pos = start
        while pos < end:
            chunk = self._read(pos, min(end, pos + step + len(sub) - 1) - pos)
            found = chunk.find(sub)
            if found >= 0:
                return pos + found
            pos += step
        return -1 if sub or start > end else start

    def extents(self) -> list[tuple[int, int]]:
        """The regions holding data (holes of a sparse file skipped)."""
        return data_extents(self._fd, self._size)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._blocks.clear()

    def _read(self, offset: int, n: int) -> bytes:
        n = max(0, min(n, self._size - offset))
        if n == 0:
            return b""
        first, last = offset // _BLOCK, (offset + n - 1) // _BLOCK
        if last - first > 1:  # large: straight from the file, not through the cache
            return self._pread(offset, n)
        parts = [self._block(b) for b in range(first, last + 1)]
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        skip = offset - first * _BLOCK
        return data[skip : skip + n]

    def _block(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is None:
            if len(self._blocks) >= _CACHED_BLOCKS:
                self._blocks.pop(next(iter(self._blocks)))
            start = index * _BLOCK
            block = self._blocks[index] = self._pread(start, min(_BLOCK, self._size - start))
        return block

    def _pread(self, offset: int, n: int) -> bytes:
        chunks: list[bytes] = []
        got = 0
        try:
            while got < n:
                chunk = os.pread(self._fd, n - got, offset + got)
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        except OSError as exc:
            raise UnsafeInput(self._path, os_reason(exc)) from None
        if got < n:
            self.shrank = True
            raise UnsafeInput(self._path, "the file shrank while it was read (still being written?)")
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
