"""Peel the wrappers off a pasted log line, down to the core message the families are written for.

The same failure reaches a user through CI decorations (ANSI colours, BuildKit ``#12 0.426`` step
prefixes, timestamps, GitLab section markers, compose ``service_1  |`` prefixes, Markdown quoting),
through launchers that reword it (systemd, Python's ``OSError: [Errno 8]``, s6, tini, chroot, apk,
Go's ``fork/exec``) and through Windows, which prints its loader errors in the user's language.
``peel_line`` undoes all of that and returns one core line, in the wording families.toml matches
(``exec PATH: exec format error``, ``PATH is not a valid Win32 application`` ...). Lines that carry
no known wrapper come back cleaned but otherwise unchanged.

Every pattern here runs on untrusted text, so all of them are google-re2 (linear time).
May import: the standard library and re2 only.
"""

from __future__ import annotations

from dataclasses import dataclass

import re2

MAX_LINE = 4000


def _rx(pattern: str) -> re2._Regexp:  # type: ignore[name-defined]
    return re2.compile("(?i)" + pattern)


# Decorations: stripped wherever they occur at the start of a line (repeatedly: a compose prefix
# inside a BuildKit step inside a GitHub Actions timestamp is common). One alternation, so a line
# costs one match per layer; cheap character tests skip it for the lines that cannot carry one.
_PREFIX = _rx(
    "^(?:"
    + "|".join(
        [
            r"section_(?:start|end):\d+:[\w.-]+(?:\[[^\]]*\])?",  # GitLab collapsible sections
            r"#\d+ (?:\d+\.\d+ )?",  # BuildKit: "#12 0.426 "
            r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+(?:\[\w+\]\s+)?",  # ISO stamps
            r"[A-Z][a-z]{2} \d{1,2} \d\d:\d\d:\d\d \S+ [\w@./-]+(?:\[\d+\])?: ",  # syslog / journal
            r"\d\d:\d\d:\d\d(?:\.\d+)? ",
            r"[\w.-]+(?:[_-]\d+)?\s+\|\s",  # docker compose "svc_1  | "
            r"(?:>\s*)+",  # quoted in Markdown
            r"[│|┃]\s*",  # box drawing of prompt themes
        ]
    )
    + ")"
)
_MARKUP = re2.compile(r"\*\*|^`+|`+$")  # not inner backticks: `GLIBC_2.28' quotes with one
_PREFIX_START = set("0123456789#s>│|┃ADFJMNOS")


def _may_have_prefix(line: str) -> bool:
    return line[0] in _PREFIX_START or "|" in line[:120]


def _iso_stamp_end(line: str) -> int:
    """End of a leading ISO-8601 time stamp (GitHub Actions, docker logs -t), without a regex call."""
    if len(line) < 20 or line[4] != "-" or line[7] != "-" or line[10] not in "T " or line[13] != ":":
        return 0
    if not (line[:4].isdigit() and line[5:7].isdigit() and line[8:10].isdigit() and line[11:13].isdigit()):
        return 0
    space = line.find(" ", 19, 64)
    return space if space > 0 else 0


def strip_ansi(line: str) -> str:
    """Remove ECMA-48 escape sequences (CSI colours, OSC titles/links) in one linear scan, no regex."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        j = line.find("\x1b", i)
        if j < 0:
            out.append(line[i:])
            break
        out.append(line[i:j])
        k = j + 1
        if k < n and line[k] == "[":  # CSI: parameter bytes, intermediate bytes, one final byte
            k += 1
            while k < n and "0" <= line[k] <= "?":
                k += 1
            while k < n and " " <= line[k] <= "/":
                k += 1
            k += 1 if k < n and "@" <= line[k] <= "~" else 0
        elif k < n and line[k] == "]":  # OSC: up to BEL or ST
            bel, st = line.find("\x07", k), line.find("\x1b\\", k)
            ends = [e + 1 for e in (bel,) if e >= 0] + [e + 2 for e in (st,) if e >= 0]
            k = min(ends) if ends else n
        elif k < n and "@" <= line[k] <= "_":
            k += 1
        i = k
    return "".join(out)


def clean(line: str) -> str:
    """Drop colours, carriage-return overwrites and CI/markup prefixes; keep the message text."""
    line = line[:MAX_LINE]
    if "\x1b" in line:
        line = strip_ansi(line)
    if "\r" in line.rstrip("\r"):
        # A terminal shows what was written after the last carriage return (GitLab section headers).
        parts = [p for p in line.split("\r") if p.strip()]
        line = parts[-1] if parts else ""
    if "**" in line or "`" in line[:1] + line[-1:]:
        line = _MARKUP.sub("", line)
    line = line.strip()
    for _ in range(4):
        if not line or not _may_have_prefix(line):
            break
        stamp = _iso_stamp_end(line)
        if stamp:
            line = line[stamp:].strip()
            continue
        m = _PREFIX.match(line)
        if not m or not m.end():
            break
        line = line[m.end() :].strip()
    if line[:1] == "`" or line[-1:] == "`":
        line = line.strip("`").strip()
    return line


# Launchers that reword the kernel's error. Each maps to the core wording of execve(2) failures as
# Go and runc print them, which families.toml matches: "exec PATH: exec format error" (ENOEXEC) and
# "exec PATH: no such file or directory" (ENOENT).
_ENOEXEC = "exec format error"
_ENOENT = "no such file or directory"
_LAUNCHERS: list[tuple[re2._Regexp, str]] = [  # type: ignore[name-defined]
    # systemd: "Failed to execute /usr/local/bin/app: Exec format error", "Failed at step EXEC spawning X: ..."
    (
        _rx(
            r"Failed (?:to execute(?: command)?|at step EXEC spawning) '?(?P<path>[^\s:']+)'?[,:]? (?:[^:]*: )?"
            r"(?P<err>Exec format error|No such file or directory)"
        ),
        "systemd",
    ),
    # Python subprocess / os.exec*: "OSError: [Errno 8] Exec format error: '/path'"
    (
        _rx(r"\[Errno (?P<errno>8|2)\] (?:Exec format error|No such file or directory)(?:: '(?P<path>[^']+)')?"),
        "python",
    ),
    # tini: "[FATAL tini (6)] exec /x failed: No such file or directory"
    (_rx(r"tini \(\d+\)\] exec (?P<path>\S+) failed: (?P<err>Exec format error|No such file or directory)"), "tini"),
    # s6-supervise: "unable to exec run: Exec format error"
    (_rx(r"unable to exec (?P<path>\S+): (?P<err>Exec format error|No such file or directory)"), "s6"),
    # chroot: "failed to run command '/bin/sh': Exec format error"
    (_rx(r"failed to run command '(?P<path>[^']+)': (?P<err>Exec format error|No such file or directory)"), "chroot"),
    # apk/busybox post-install hooks: "* execve: No such file or directory"
    (_rx(r"\bexecve: (?P<err>Exec format error|No such file or directory)"), "execve"),
    # Go: "fork/exec /tmp/x: exec format error" (also inside "ERROR: ..." wrappers)
    (_rx(r"fork/exec (?P<path>\S+): (?P<err>exec format error|no such file or directory)"), "go fork/exec"),
    # GitHub Actions runner: "An error occurred trying to start process '/usr/bin/bash' ... Exec format error"
    (_rx(r"trying to start process '(?P<path>[^']+)'.*(?P<err>Exec format error)"), "actions runner"),
    # runc through containerd/Kubernetes events: 'unable to start container process: exec: "/app": exec format
    # error: unknown' (a missing file reads 'exec: "/app": stat /app: ...' and is not this).
    (_rx(r'exec: "(?P<path>[^"]+)": (?P<err>exec format error|no such file or directory)'), "runc"),
    # crun (Podman): "exec container process (missing dynamic library?) `/app`: No such file or directory"
    (
        _rx(
            r"exec container process (?:\([^)]*\) )?`(?P<path>[^`]+)`: "
            r"(?P<err>Exec format error|No such file or directory)"
        ),
        "crun",
    ),
    # fish: "The file './x' is marked as an executable but could not be run by the operating system."
    (
        _rx(r"The file '(?P<path>[^']+)' is marked as an executable but could not be run by the operating system"),
        "fish",
    ),
    (_rx(r"The file '(?P<path>[^']+)' does not exist or could not be executed"), "fish"),
    # supervisord: "supervisor: couldn't exec /app: ENOEXEC"; Node: "Error: spawn ENOEXEC"
    (_rx(r"couldn't exec (?P<path>\S+): (?P<err>ENOEXEC|ENOENT)"), "supervisord"),
    (_rx(r"\bspawn (?P<err>ENOEXEC)\b"), "node"),
    # bash < 4.3 and macOS bash 3.2 say "can't"
    (_rx(r"(?P<path>\S+): can't execute binary file(?:: (?P<err>Exec format error))?"), "bash"),
]


# Windows prints ERROR_BAD_EXE_FORMAT (193) and the "This app can't run on your PC" dialog in the
# user's language. The localized texts come from Windows' own message tables (as users paste them).
_WIN32_INVALID = [
    r"不是有效的\s*win32\s*(?:应用程序|程序)",  # zh-CN
    r"不是有效的\s*win32\s*應用程式",  # zh-TW
    r"は有効な\s*win32\s*アプリケーションではありません",  # ja
    r"ist keine zulässige win32-anwendung",  # de
    r"n'est pas une application win32 valide",  # fr
    r"no es una aplicación win32 válida",  # es
    r"não é (?:um aplicativo|uma aplicação) win32 válid[oa]",  # pt-BR, pt-PT
    r"не является приложением win32",  # ru
    r"non è un'applicazione win32 valida",  # it
    r"geçerli bir win32 uygulaması değil",  # tr
    r"올바른 win32 응용 프로그램이 아닙니다",  # ko
    r"not a valid win ?32 application",
]
_APP_CANT_RUN = [
    r"此应用无法在你的电脑上运行",  # zh-CN
    r"このアプリはお使いの PC では実行できません",  # ja
    r"diese app kann auf dem pc nicht ausgeführt werden",  # de
    r"cette application ne peut pas s'exécuter sur votre pc",  # fr
    r"esta aplicación no se puede ejecutar en (?:el|tu) (?:equipo|pc)",  # es
    r"este aplicativo não pode ser executado no seu pc",  # pt-BR
    r"невозможно запустить это приложение на вашем пк",  # ru
]
_WIN_INVALID_RX = _rx("(?:" + "|".join(_WIN32_INVALID) + ")")
_WIN_CANT_RUN_RX = _rx("(?:" + "|".join(_APP_CANT_RUN) + ")")


@dataclass(frozen=True)
class Peeled:
    """One log line: as cleaned for display, and its core message for the family patterns."""

    text: str
    core: str
    wrapper: str = ""


def peel_line(raw: str) -> Peeled:
    """The cleaned line and its core message (the same text when no wrapper was recognised)."""
    text = clean(raw)
    low = text.lower()
    if not low:
        return Peeled(text, text)
    if "exec" in low or "errno" in low or "failed" in low or "trying to start" in low:
        for rx, name in _LAUNCHERS:
            m = rx.search(text)
            if not m:
                continue
            groups = m.groupdict()
            err = groups.get("err") or ("exec format error" if groups.get("errno") == "8" else "")
            if not err and (groups.get("errno") == "2" or "does not exist" in text):
                err = _ENOENT
            if not err and name == "fish":
                err = _ENOEXEC
            err = {"ENOEXEC": _ENOEXEC, "ENOENT": _ENOENT}.get(err, err)
            if not err:
                continue
            path = groups.get("path") or "?"
            kind = _ENOEXEC if "format" in err.lower() else _ENOENT
            return Peeled(text, f"exec {path}: {kind}", wrapper=name)
    if "win" in low or not text.isascii():
        if _WIN_INVALID_RX.search(text) and "not a valid win" not in low:
            return Peeled(text, f"{text} [is not a valid Win32 application]", wrapper="windows-l10n")
        if _WIN_CANT_RUN_RX.search(text):
            return Peeled(text, f"{text} [This app can't run on your PC]", wrapper="windows-l10n")
    return Peeled(text, text)
