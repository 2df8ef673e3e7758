"""Linear-time regular expressions for untrusted text (logs, binaries' strings, CI configs, output).

``compile`` turns a pattern into a google-re2 automaton: matching time grows linearly with the
input, whatever the input, so a hostile 100 KB line cannot make a pattern backtrack for minutes.
RE2 has no look-around and no back-references; a pattern that needs them fails to compile here
(``re.error``), so it is caught when the module defining it loads, never on someone's input.
Imports only the standard library and ``re2``.
"""

from __future__ import annotations

import re

import re2

__all__ = ["compile"]

_INLINE = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))


class _LinearPattern(re2._Regexp):  # type: ignore[misc]
    """An RE2 pattern that also carries the ``re`` flags it was asked for (as ``re.Pattern`` does)."""

    __slots__ = ("flags",)


def _options() -> re2.Options:
    options = re2.Options()
    # RE2 logs every parse error to stderr through absl; our callers report errors themselves.
    options.log_errors = False
    return options


def compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile ``pattern`` (Python ``re`` syntax, ``re`` flags) into a linear-time RE2 pattern.

    The result answers ``search``, ``match``, ``fullmatch``, ``finditer``, ``findall``, ``sub``,
    ``subn``, ``split``, ``pattern``, ``flags``, ``groups`` and ``groupindex`` like ``re.Pattern``
    (matches give groups by number or name, spans by number), which is why it is typed as one.
    Raises ``re.error`` for syntax RE2 cannot run in linear time (look-around, back-references).
    """
    if flags & re.VERBOSE:
        raise re.error("verbose patterns are not supported in linear-time matching", pattern)
    inline = "".join(letter for flag, letter in _INLINE if flags & flag)
    # Python's \Z (very end) is RE2's \z; RE2's own \Z does not exist.
    text = pattern.replace(r"\Z", r"\z")
    if inline:
        text = f"(?{inline}){text}"
    try:
        compiled = _LinearPattern(text, _options())
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise re.error(f"not a linear-time pattern ({detail})", pattern) from None
    compiled.flags = flags & ~(re.IGNORECASE | re.MULTILINE | re.DOTALL)
    return compiled  # type: ignore[no-any-return]  # an RE2 pattern, used as the re.Pattern it mimics
