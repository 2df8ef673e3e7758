"""The one log decoder: a crash or CI log read line by line in bounded memory, whatever its bytes.

UTF-8, or UTF-16 with a BOM; invalid bytes replaced; ANSI colour codes, OSC links and other
terminal sequences removed; a huge line kept as its head and tail. ``explain`` and the TUI's
``--log`` both read through ``iter_log_lines``, so the same log is explained the same way.
Imports: ``model``, ``safety`` (safeio, safetext) and, lazily, ``diagnosis.explain``.
"""

from __future__ import annotations

import codecs
import os
import sys
from collections.abc import Iterator
from typing import BinaryIO

from goci_doctor.model import BadInputError, no_such_file
from goci_doctor.records import Diagnosis
from goci_doctor.safety.safetext import TERMINAL_SEQUENCE

MAX_LOG_LINE = 4 * 1024
"""No line from ``iter_log_lines`` is longer (head, elision mark and tail)."""
# Colours, OSC 8 links, title changes, ESC c and C1 forms: all of ECMA-48, in linear time.
ANSI = TERMINAL_SEQUENCE


def open_log(name: str) -> tuple[BinaryIO, str]:
    """The log to read (``-``: standard input) and its label; BadInputError when it cannot be read."""
    if name == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise BadInputError("no log on standard input (pass a LOGFILE)")
        return sys.stdin.buffer, "<stdin>"
    from goci_doctor.safety import safeio

    # A named log must be a regular file: /dev/zero or a FIFO would never end (or never start).
    # Endless input the user chose still works on stdin, read in bounded memory.
    try:
        fd = safeio.open_regular(name)
    except safeio.UnsafeInput as exc:
        if exc.missing:
            raise no_such_file(name) from None
        hint = (
            ""
            if "directory" in exc.reason or exc.reason == "permission denied"
            else " (to read it anyway, pipe it on standard input: goci-doctor explain - < FILE)"
        )
        raise BadInputError(f"{name}: {exc.reason}{hint}") from None
    return os.fdopen(fd, "rb"), name


LOG_LINE_HEAD = 1000
LOG_LINE_TAIL = 2800
"""A longer line keeps its first and last characters (errors end long progress lines) joined by
`` [...] ``: together under explain's per-line window, so both ends are always searched."""
LOG_LINE_ELISION = " [...] "
_READ_CHUNK = 64 * 1024


class _LineBuilder:
    """One line, held in bounded memory whatever its length."""

    def __init__(self) -> None:
        self.buf = ""
        self.tail = ""
        self.cut = False

    def add(self, text: str) -> None:
        if not text:
            return
        if self.cut:
            self.tail = (self.tail + text)[-LOG_LINE_TAIL:]
            return
        self.buf += text
        if len(self.buf) > LOG_LINE_HEAD + LOG_LINE_TAIL + len(LOG_LINE_ELISION):
            self.tail = self.buf[LOG_LINE_HEAD:][-LOG_LINE_TAIL:]
            self.buf = self.buf[:LOG_LINE_HEAD]
            self.cut = True

    def take(self) -> str:
        line = self.buf + LOG_LINE_ELISION + self.tail if self.cut else self.buf
        self.buf, self.tail, self.cut = "", "", False
        return ANSI.sub("", line.rstrip("\r"))

    def __bool__(self) -> bool:
        return bool(self.buf or self.tail)


def _sniff_encoding(head: bytes) -> tuple[str, int]:
    """(codec, bytes of BOM to skip). FF FE / FE FF only mean UTF-16 when the text after them
    looks like it (ASCII in UTF-16 has a zero in every other byte); otherwise they are garbage
    at the start of a UTF-8 log."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    for bom, codec, zero_at in ((codecs.BOM_UTF16_LE, "utf-16-le", 1), (codecs.BOM_UTF16_BE, "utf-16-be", 0)):
        if head.startswith(bom):
            sample = head[2:]
            pairs = len(sample) // 2
            zeros = sum(1 for i in range(pairs) if sample[2 * i + zero_at] == 0)
            if pairs == 0 or zeros >= 0.25 * pairs:
                return codec, 2
            return "utf-8", 2  # a stray mark: the text after it is read as UTF-8
    return "utf-8", 0


def iter_log_lines(stream: BinaryIO) -> Iterator[str]:
    """Decode a log line by line in bounded memory: any encoding, binary garbage, huge lines.

    The one log decoder (``explain`` and the TUI's ``--log``): UTF-8, or UTF-16 with a BOM,
    invalid bytes replaced, ANSI colour codes removed, and a line longer than
    ``LOG_LINE_HEAD + LOG_LINE_TAIL`` kept as its head and tail (one line still counts as one).
    """
    head = stream.read(512)
    codec, skip = _sniff_encoding(head)
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    line = _LineBuilder()

    def feed(text: str) -> Iterator[str]:
        parts = text.split("\n")
        for part in parts[:-1]:
            line.add(part)
            yield line.take()
        line.add(parts[-1])

    data = head[skip:]
    while data:
        yield from feed(decoder.decode(data))
        data = stream.read(_READ_CHUNK)
    yield from feed(decoder.decode(b"", final=True))
    if line:
        yield line.take()


def explain_file(name: str) -> Diagnosis:
    """Explain the log in file ``name`` (``-``: standard input)."""
    from goci_doctor.diagnosis import explain

    stream, label = open_log(name)
    try:
        return explain.explain_lines(iter_log_lines(stream), source=label)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
