"""`explain`: real messages users pasted into public issues, and real compiler output built here."""

from __future__ import annotations

import io
import time

import pytest

from goci_doctor import knowledge
from goci_doctor.diagnosis import classify, explain
from goci_doctor.diagnosis.explain.logread import iter_log_lines
from goci_doctor.records import ChainNode

EXEC_FORMAT = {"wrong-arch", "pe-on-linux", "macho-on-linux"}
LOADER = {"loader-missing", "glibc-on-musl", "dynamic-on-no-libc", "musl-on-glibc"}

# (message as pasted in the public report, expected family or family group, facts that must be extracted)
PUBLIC = [
    ("/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.32' not found", {"glibc-too-new"}, {"wanted": "2.32"}),
    (
        "./sftpgo: /lib/aarch64-linux-gnu/libc.so.6: version `GLIBC_2.28' not found (required by ./sftpgo)",
        {"glibc-too-new"},
        {"wanted": "2.28", "binary": "./sftpgo", "arch": "arm64"},
    ),
    ("version ` GLIBC_2.29 'not found (required by app)", {"glibc-too-new"}, {"wanted": "2.29"}),
    (
        "xgo build undefined reference to `pthread_create@GLIBC_2.34",
        {"glibc-link-mismatch"},
        {"symbol": "pthread_create", "wanted": "2.34"},
    ),
    (
        "Cannot change target version of binary to 2.17 (aarch64) due to missing knowledge about how to handle: "
        "__isoc23_strtol@GLIBC_2.38",
        {"glibc-c23-symbols"},
        {"symbol": "__isoc23_strtol"},
    ),
    ('standard_init_linux.go:211: exec user process caused "exec format error"', EXEC_FORMAT, {}),
    ("exec /adguard-exporter: exec format error", EXEC_FORMAT, {"binary": "/adguard-exporter"}),
    ("bash: /usr/local/go/bin/go: cannot execute binary file: Exec format error", EXEC_FORMAT, {}),
    ("sh: ./server: not found", LOADER, {"binary": "./server"}),
    ("bash: ./tegola: cannot execute: required file not found", LOADER, {}),
    ("sh: k6: not found", LOADER, {"binary": "k6"}),
    ("standard_init_linux.go:219: exec user process caused: no such file or directory", LOADER, {}),
    (
        "Error relocating ./drv_cfg: backtrace_symbols: symbol not found",
        {"glibc-on-musl"},
        {"symbol": "backtrace_symbols"},
    ),
    ("# runtime/cgo\ngcc: error: unrecognized command-line option '-m64'", {"cgo-cross-no-cc"}, {}),
    (
        '# runtime/cgo\ncgo: C compiler "gcc" not found: exec: "gcc": executable file not found in $PATH',
        {"cgo-no-compiler"},
        {"cc": "gcc"},
    ),
    ("go: -race requires cgo; enable cgo by setting CGO_ENABLED=1", {"race-needs-cgo"}, {}),
    (
        "Binary was compiled with 'CGO_ENABLED=0', go-sqlite3 requires cgo to work. This is a stub",
        {"cgo-required-disabled"},
        {},
    ),
    (
        "warning: Using 'getaddrinfo' in statically linked applications requires at runtime the shared libraries "
        "from the glibc version used for linking",
        {"static-getaddrinfo"},
        {"symbol": "getaddrinfo"},
    ),
    (
        "build constraints exclude all Go files in /go/pkg/mod/github.com/pganalyze/pg_query_go/v4@v4.2.3/parser",
        {"cgo-required-disabled"},
        {},
    ),
    (
        "ld.exe: i386 architecture of input file `C:\\Temp\\go-link-1\\000000.o' is incompatible with i386:x86-64 "
        "output",
        {"cgo-cross-no-cc"},
        {},
    ),
    ("/usr/bin/ld: cannot find libgcc_s.so.1", {"missing-shared-lib"}, {"library": "libgcc_s.so.1"}),
    # Seen on this project's own machines
    (
        "/app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /app)",
        {"glibc-too-new"},
        {"wanted": "2.34", "binary": "/app"},
    ),
    ("exec /app/app: no such file or directory", LOADER, {"binary": "/app/app"}),
    ("exec /app/app: exec format error", EXEC_FORMAT, {"binary": "/app/app"}),
    ("fatal error: windows.h: No such file or directory", {"cgo-cross-no-cc"}, {}),
]


def _chain_family(chain: ChainNode) -> str:
    return chain.id.split("/")[0]


@pytest.mark.parametrize(("message", "families", "facts"), PUBLIC, ids=[str(i) for i in range(len(PUBLIC))])
def test_public_messages_are_recognised(message: str, families: set[str], facts: dict[str, str]) -> None:
    result = explain.explain_text(message, source="issue")
    assert result.chains, f"not recognised: {message}"
    assert _chain_family(result.chains[0]) in families
    finding = result.findings[0]
    for key, value in facts.items():
        assert finding.fact(key) == value, (key, dict(finding.facts))
    # Every chain has the full symptom <- mechanism <- cause shape and at least one fix with a command.
    kinds = [n.kind for n in result.chains[0].walk()]
    assert kinds[:3] == ["symptom", "mechanism", "cause"]
    fixes = [n for n in result.chains[0].walk() if n.kind == "fix"]
    assert fixes and all(f.title for f in fixes)
    assert any(f.commands for f in fixes)


def test_glibc_chain_names_versions() -> None:
    result = explain.explain_text(
        "./sftpgo: /lib/aarch64-linux-gnu/libc.so.6: version `GLIBC_2.28' not found (required by ./sftpgo)"
    )
    chain = result.chains[0]
    cause = next(n for n in chain.walk() if n.kind == "cause")
    assert "GLIBC_2.28" in cause.title
    fixes = {n.id: n for n in chain.walk() if n.kind == "fix"}
    assert "CGO_ENABLED=0 go build -o sftpgo ." in fixes["glibc-too-new/fix/cgo-off"].commands
    # arm64 was read from the library path, so zig targets aarch64
    assert any("aarch64-linux-gnu.2.17" in c for c in fixes["glibc-too-new/fix/zig"].commands)


@pytest.mark.parametrize(
    ("context", "family"),
    [
        ("FROM golang:1.22 AS build\nFROM alpine:3.20\n", "glibc-on-musl"),
        ("FROM golang:1.22 AS build\nFROM gcr.io/distroless/static-debian12\n", "dynamic-on-no-libc"),
        ("", "loader-missing"),
    ],
)
def test_shared_symptom_is_disambiguated_by_context(context: str, family: str) -> None:
    log = context + 'Step 9/9 : CMD ["/app"]\nexec /app: no such file or directory\n'
    result = explain.explain_text(log)
    assert [_chain_family(c) for c in result.chains] == [family]


def test_exec_format_with_windows_context_is_pe() -> None:
    log = "GOOS=windows go build -o app .\ndocker run img\nexec /app: exec format error\n"
    assert _chain_family(explain.explain_text(log).chains[0]) == "pe-on-linux"


@pytest.mark.parametrize(
    ("fixture", "family", "goarch", "goos"),
    [
        ("fail-arm64-hostgcc", "cgo-cross-no-cc", "arm64", "linux"),
        ("fail-windows-hostgcc", "cgo-cross-no-cc", "amd64", "windows"),
        ("fail-no-cc", "cgo-no-compiler", "", ""),
    ],
)
def test_real_failed_builds_are_explained(bin_path, fixture: str, family: str, goarch: str, goos: str) -> None:
    """The compiler output of cgo builds that really failed on this machine."""
    text = bin_path(fixture).read_text()
    result = explain.explain_text(text, source=fixture)
    assert [_chain_family(c) for c in result.chains] == [family]
    if goarch:
        cause = next(n for n in result.chains[0].walk() if n.kind == "cause")
        assert f"GOARCH={goarch}" in cause.title and f"GOOS={goos}" in cause.title


def test_clean_log_has_no_chain() -> None:
    log = "go: downloading example.com/x v1.0.0\nok  \texample.com/x\t0.01s\nPASS\n"
    result = explain.explain_text(log)
    assert result.chains == ()
    assert not result.has_problem


def test_huge_log_in_bounded_time_and_lines() -> None:
    """A 20 MB CI log with binary garbage, one 5 MB line and the real error near the end."""
    noise = b"2024-05-01T10:00:00.123Z  compiling package example.com/pkg/" + b"x" * 60 + b"\n"
    parts = [
        noise * 150_000,
        b"\x00\xff\xfe" * 1000 + b"\n",
        b"y" * 5_000_000 + b"\n",
        b"\x1b[31m/app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /app)\x1b[0m\n",
    ]
    data = b"".join(parts)
    assert len(data) > 20_000_000
    start = time.process_time()
    lines = iter_log_lines(io.BytesIO(data))
    result = explain.explain_lines(lines, source="ci.log")
    elapsed = time.process_time() - start
    assert [_chain_family(c) for c in result.chains] == ["glibc-too-new"]
    assert result.findings[0].fact("wanted") == "2.34"
    # Not a timing assertion on the product: a guard that the scan stayed linear (minutes would mean a bug).
    assert elapsed < 120


def test_utf16_log_is_decoded() -> None:
    text = "exec /app: exec format error\r\n"
    data = text.encode("utf-16")
    lines = list(iter_log_lines(io.BytesIO(data)))
    assert lines == ["exec /app: exec format error"]


def test_families_data_is_valid_and_documented() -> None:
    fams = knowledge.families()
    assert len(fams) >= 20
    for fam in fams.values():
        assert fam.source and fam.mechanism and fam.cause
        assert fam.fixes, fam.id
    # Every group has exactly one generic member to fall back to.
    groups: dict[str, list[bool]] = {}
    for fam in fams.values():
        if fam.group:
            groups.setdefault(fam.group, []).append(fam.generic)
    assert all(flags.count(True) == 1 for flags in groups.values()), groups


def test_broken_family_data_names_the_entry() -> None:
    from goci_doctor.model import GociError

    with pytest.raises(GociError, match="family #1 \\(x\\)"):
        knowledge.load_families('[[family]]\nid = "x"\ntitle = "t"\n', "test.toml")


def test_literal_hints_never_hide_a_match() -> None:
    """The substring screen in front of the regular expressions may skip a line only if no pattern matches it."""
    messages = [m for m, _, _ in PUBLIC] + [
        "version https://git-lfs.github.com/spec/v1",
        "C:\\Users\\dev> app.exe",
        "PS C:\\work> ./app",
        "MINGW64 ~/src $ ./app",
        "zsh: exec format error: ./app on macOS",
        "FROM golang:1.22-alpine AS build",
    ]
    for fam in knowledge.families().values():
        for pat in [*fam.patterns, *fam.context]:
            hints = classify.literal_hints(pat)
            for msg in messages:
                for line in msg.splitlines():
                    if pat.search(line) and hints is not None:
                        assert any(h in line.lower() for h in hints), (fam.id, pat.pattern, line, hints)


@pytest.mark.parametrize(
    ("pattern", "hints"),
    [
        (r"exec (?P<binary>\S+): exec format error", (": exec format error",)),
        (r"darwin|mac ?os|/Users/", ("darwin", "mac", "/users/")),
        (r"(?P<x>version https://git-lfs)", ("version https://git-lfs",)),
        (r"\w+\d", None),
    ],
)
def test_literal_hints_read_from_the_parsed_pattern(pattern, hints) -> None:
    import re

    assert classify.literal_hints(re.compile(pattern, re.IGNORECASE)) == hints


def test_log_evidence_carries_its_file_and_line_and_chains_their_family(tmp_path):
    log = tmp_path / "ci.log"
    log.write_text("step 1\nstep 2\n/app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found\n")
    diag = explain.explain_text(log.read_text(), source=str(log))
    chain = diag.chains[0]
    assert chain.family == "glibc-too-new"
    assert all(node.family == "glibc-too-new" for node in chain.walk())
    (ev,) = [e for e in chain.evidence if e.fact == "log line"]
    assert (ev.file, ev.line) == (str(log), 3)
