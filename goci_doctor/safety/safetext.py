"""Text safety: the one step every output passes before it reaches a terminal, a file or a CI log.

``clean_output(text, fmt)`` masks secrets (``redact``) and neutralises control characters in a
finished document: in text and Markdown, every control character except newline and tab becomes a
visible escape (``\\x1b``, ``\\u202e``) and lines GitHub Actions would run as workflow commands
(``::warning::``, ``##[error]``) are disarmed; JSON and SARIF are redacted string by string and
keep their own escaping; GitHub annotation lines keep their ``::command`` and have their data
escaped. ``clean_line`` is the same for one line on stderr: an error message stays one line even
when a file name holds a newline. ``gh_data``/``gh_property`` escape workflow-command data as
GitHub documents it. Imports only the standard library and ``goci_doctor.safety.redact``.
"""

from __future__ import annotations

import json
import re

from goci_doctor.safety.redact import MASK, is_secret_name, redact

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "TERMINAL_SEQUENCE",
    "clean_json",
    "clean_line",
    "clean_output",
    "clean_text",
    "escape_controls",
    "gh_data",
    "gh_property",
    "one_line",
    "strip_terminal_sequences",
]

# C0 controls, DEL, C1 controls (0x9b is a one-byte CSI to many terminals), and the Unicode
# format characters that reorder or break what a reader sees (bidi overrides: "Trojan Source";
# line and paragraph separators).
_CONTROLS = [
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    0x061C,
    0x200E,
    0x200F,
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _table(keep: str) -> dict[int, str]:
    return {c: _escape(c) for c in _CONTROLS if chr(c) not in keep}


_KEEP_LINES = _table("\n\t")
_ONE_LINE = _table("\t")
_NONE = _table("")
# Characters json.dumps leaves raw (it escapes only C0, quote and backslash).
_JSON_RAW = {c: f"\\u{c:04x}" for c in _CONTROLS if c >= 0x7F}


def escape_controls(text: str, keep: str = "\n\t") -> str:
    """``text`` with every control character not in ``keep`` shown as an escape (ESC -> ``\\x1b``)."""
    table = _KEEP_LINES if keep == "\n\t" else _ONE_LINE if keep == "\t" else _NONE if not keep else _table(keep)
    return text.translate(table)


# ECMA-48 sequences, 7-bit and C1 forms: CSI (colours, cursor moves), OSC (titles, OSC 8 links,
# clipboard), DCS/SOS/PM/APC strings, and two-character escapes such as ESC c (full reset).
# The one pattern left to Python's engine: it runs on every line of a 100 MB log, where RE2's
# per-call cost is 4x. Its classes are disjoint and every body is followed by optional parts only,
# so backtracking stays bounded (tests/test_linear.py feeds it adversarial 100 KB strings).
TERMINAL_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"
)


def strip_terminal_sequences(text: str) -> str:
    """``text`` without terminal escape sequences (what a CI log's colours and links leave in a paste)."""
    if "\x1b" in text or (not text.isascii() and any("\x80" <= ch <= "\x9f" for ch in text)):
        return TERMINAL_SEQUENCE.sub("", text)
    return text


def one_line(text: str) -> str:
    """``text`` on one line: newlines and every other control character become visible escapes."""
    return text.translate(_ONE_LINE)


def clean_line(text: str) -> str:
    """One line for stderr or a table cell: secrets masked, control characters escaped."""
    return one_line(redact(text))


def _disarm(line: str) -> str:
    # The Actions runner runs a line as a command when it starts with "::" after leading blanks,
    # or (older syntax) holds "##[". Escaping one character keeps the text readable.
    stripped = line.lstrip()
    if stripped.startswith("::"):
        cut = len(line) - len(stripped)
        line = f"{line[:cut]}\\x3a{line[cut + 1 :]}"
    return line.replace("##[", "#\\x23[") if "##[" in line else line


def clean_text(text: str) -> str:
    """A text or Markdown document: secrets masked, controls escaped (newlines and tabs kept),
    no line that a CI log would execute."""
    text = escape_controls(redact(text))
    if "::" not in text and "##[" not in text:
        return text
    return "\n".join(_disarm(line) for line in text.split("\n"))


def _clean_value(value: Any, seen: dict[str, str] | None = None) -> Any:
    """``value`` with every string redacted. ``seen`` remembers the strings of one document
    already redacted: a batch report repeats the same paths, versions and module names."""
    if seen is None:
        seen = {}
    if isinstance(value, str):
        done = seen.get(value)
        if done is None:
            done = seen[value] = redact(value)
        return done
    if isinstance(value, dict):
        return {
            k: (
                MASK if isinstance(k, str) and isinstance(v, str) and v and is_secret_name(k) else _clean_value(v, seen)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        out = [_clean_value(v, seen) for v in value]
        # argv-style lists: ["--password", "x"] hides "x" from a per-string pass.
        for i in range(len(out) - 1):
            flag = value[i]
            if (
                isinstance(flag, str)
                and flag.startswith("-")
                and isinstance(out[i + 1], str)
                and "=" not in flag
                and is_secret_name(flag.lstrip("-"))
            ):
                out[i + 1] = MASK
        return out
    return value


def clean_json(text: str) -> str:
    """A JSON (or SARIF) document with every string redacted and no raw C1 or bidi character;
    formatting (indentation, ASCII escaping, final newline) as it came. Not JSON: cleaned as text."""
    try:
        doc = json.loads(text)
    except ValueError:
        return clean_text(text)
    indent = 2 if text.lstrip().startswith(("{\n", "[\n")) else None
    out = json.dumps(_clean_value(doc), indent=indent, ensure_ascii=text.isascii()).translate(_JSON_RAW)
    # "##[" can only occur inside a JSON string; "\u005b" decodes to the same "[" but no CI log
    # line holds the runner's old command prefix any more.
    return out.replace("##[", "##\\u005b") + ("\n" if text.endswith("\n") else "")


def gh_data(text: str) -> str:
    """Workflow-command data (the message after ``::``), escaped as GitHub documents."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_property(text: str) -> str:
    """A workflow-command property value (``file=``, ``title=``): data escaping plus ``:`` and ``,``."""
    return gh_data(text).replace(":", "%3A").replace(",", "%2C")


_COMMANDS = ("::error ", "::warning ", "::notice ", "::error::", "::warning::", "::notice::")


def _clean_annotations(text: str) -> str:
    lines = []
    for line in redact(text).split("\n"):
        line = escape_controls(line, keep="")
        # Every line of this format is a command we wrote; anything else is disarmed.
        lines.append(line if not line or line.startswith(_COMMANDS) else _disarm(line))
    return "\n".join(lines)


def clean_output(text: str, fmt: str = "text") -> str:
    """The last step before ``text`` in format ``fmt`` is written anywhere (stdout, -o, export,
    history): see the module docstring."""
    if fmt in ("json", "sarif"):
        return clean_json(text)
    if fmt == "github":
        return _clean_annotations(text)
    return clean_text(text)
