"""Security: planted secrets never leave the machine's memory, the user's binary never runs on the
host, containers are sandboxed, and hostile names are data.

Secrets are planted the way CI has them (a GitHub token, AWS keys, credentials in GOPROXY, a token
inside GOFLAGS, a DB password) and every output is searched for their values: the CLI's text,
JSON, Markdown and SARIF, a TUI export, history entries and a build report. The ``marker``
fixture writes a file when executed; every flow that reads a binary is run on it and the file
must never appear. Container sandboxing is checked through the Docker API while the artifact runs.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from goci_doctor import hostenv, render
from goci_doctor.lab import buildmatrix, containerfs
from goci_doctor.lab import engine as lab_engine
from goci_doctor.model import FORMATS, EngineUnavailableError
from goci_doctor.safety import redact

SECRETS = {
    "GITHUB_TOKEN": "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "DB_PASSWORD": "S3cr3tDbPassw0rdZ",
    "NPM_TOKEN": "npm_abcdefghijklmnopqrstuvwxyz0123456789",
    "MY_API_KEY": "k3y-8f7e6d5c4b3a2910",
    "GOPROXY": "https://builduser:hunter2secretpw@proxy.corp.example/goproxy",
    "GOFLAGS": "-ldflags=-X=main.token=tok_live_9f8e7d6c5b4a",
    "CGO_CFLAGS": "-DAPI_KEY=sk_live_51HxYzAbCdEfGh",
    "DOCKER_HOST": "unix:///var/run/docker.sock",
}
SECRET_VALUES = (
    "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "S3cr3tDbPassw0rdZ",
    "npm_abcdefghijklmnopqrstuvwxyz0123456789",
    "k3y-8f7e6d5c4b3a2910",
    "hunter2secretpw",
    "tok_live_9f8e7d6c5b4a",
    "sk_live_51HxYzAbCdEfGh",
)

SECRET_LOG = f"""\
+ export GITHUB_TOKEN={SECRETS["GITHUB_TOKEN"]}
+ GOPROXY={SECRETS["GOPROXY"]} go build -o app .
go: downloading example.com/x v1.0.0
+ DB_PASSWORD={SECRETS["DB_PASSWORD"]} ./app
./app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by ./app)
AWS_SECRET_ACCESS_KEY={SECRETS["AWS_SECRET_ACCESS_KEY"]}
"""
"""Secrets on lines of their own, around a real crash line."""

SECRET_ON_EVIDENCE_LINES = f"""\
./app: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by ./app) \
token={SECRETS["GOFLAGS"].rsplit("=", 1)[1]} proxy={SECRETS["GOPROXY"]}
exec /usr/local/bin/app --password={SECRETS["DB_PASSWORD"]}: exec format error
"""
"""Secrets on the very lines a diagnosis keeps as evidence."""

MARKER = Path("/tmp/goci-doctor-executed-marker")


def leaks(text: str) -> list[str]:
    return [v for v in SECRET_VALUES if v in text]


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "goci_doctor", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        input=stdin,
        timeout=120,
        check=False,
    )


def sync(coro_fn):
    @functools.wraps(coro_fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(coro_fn(*args, **kwargs))

    return wrapper


@pytest.fixture
def marker(bin_path, tmp_path, monkeypatch):
    """The marker binary, and the file it would create if anything executed it."""
    witness = tmp_path / "executed"
    monkeypatch.setenv("GOCI_MARKER", str(witness))
    MARKER.unlink(missing_ok=True)
    yield bin_path("marker"), witness
    assert not MARKER.exists(), "the user's binary was executed on the host"
    assert not witness.exists(), "the user's binary was executed on the host"


# --------------------------------------------------------------------------------------------
# Planted secrets


def test_the_marker_canary_works(bin_path, tmp_path):
    # The negative tests below are only meaningful if running the marker really leaves the file.
    witness = tmp_path / "ran"
    subprocess.run([str(bin_path("marker"))], env={"GOCI_MARKER": str(witness)}, check=True, capture_output=True)
    assert witness.read_text() == "executed\n"


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_env_never_prints_planted_secrets(fmt, tmp_path):
    out = tmp_path / f"env.{fmt}"
    proc = cli("env", "--format", fmt, env=SECRETS)
    proc_file = cli("env", "--format", fmt, "-o", str(out), env=SECRETS)
    assert proc.returncode == 0 and proc_file.returncode == 0, proc.stderr + proc_file.stderr
    for text in (proc.stdout, proc.stderr, out.read_text(), proc_file.stderr):
        assert leaks(text) == []
    # Redacted, not dropped: the variables that matter for builds are still shown, masked.
    assert "builduser:***@proxy.corp.example" in proc.stdout
    assert "main.token=***" in proc.stdout


def test_env_json_structure_has_no_secret_anywhere():
    proc = cli("env", "--json", env=SECRETS)
    doc = json.loads(proc.stdout)

    def strings(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield str(k)
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
        else:
            yield str(node)

    assert [s for s in strings(doc) if leaks(s)] == []
    assert doc["env"]["env"]["GOPROXY"] == "https://builduser:***@proxy.corp.example/goproxy"


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif"])
def test_check_and_inspect_never_print_planted_secrets(fmt, marker, tmp_path):
    binary, _ = marker
    proc = cli("check", str(binary), "-t", "debian:bullseye", "-t", "alpine:3.20", "--format", fmt, env=SECRETS)
    assert proc.returncode in (0, 1), proc.stderr
    assert leaks(proc.stdout + proc.stderr) == []
    if fmt in ("text", "json"):
        proc = cli("inspect", str(binary), "--format", fmt, env=SECRETS)
        assert proc.returncode == 0, proc.stderr
        assert leaks(proc.stdout + proc.stderr) == []


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif"])
def test_explain_never_echoes_secrets_from_other_log_lines(fmt, tmp_path):
    log = tmp_path / "ci.log"
    log.write_text(SECRET_LOG)
    proc = cli("explain", str(log), "--format", fmt, env=SECRETS)
    assert proc.returncode == 1, proc.stderr
    assert "GLIBC_2.34" in proc.stdout
    assert leaks(proc.stdout + proc.stderr) == []


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif"])
def test_explain_redacts_secrets_on_evidence_lines(fmt, tmp_path):
    log = tmp_path / "ci.log"
    log.write_text(SECRET_ON_EVIDENCE_LINES)
    proc = cli("explain", str(log), "--format", fmt)
    assert proc.returncode == 1, proc.stderr
    assert "GLIBC_2.34" in proc.stdout
    assert leaks(proc.stdout + proc.stderr) == []


@sync
async def test_tui_export_and_history_hold_no_secret(marker, tmp_path, monkeypatch):
    from goci_doctor.lab import demo
    from goci_doctor.lab.runner import ReplayRunner
    from goci_doctor.render import history
    from goci_doctor.tui.app import GociApp

    binary, _ = marker
    environ = {**os.environ, **SECRETS}
    env = hostenv.gather(docker=False, environ=environ)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)  # also visible to anything the app gathers or spawns itself
    app = GociApp(
        path=binary,
        runner=ReplayRunner(list(demo.scenario("glibc-centos7").runs)),
        env=env,
        gather_env=False,
        targets=["debian:bullseye"],
        history_dir=tmp_path / "history",
    )
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        await pilot.press("m")
        if app.work is not None:
            await app.work.wait()
        await pilot.pause()
        assert app.export("markdown", str(tmp_path)) is not None
        assert app.export("json", str(tmp_path)) is not None
        app.action_save_history()
        await pilot.pause()
        env_pane = "\n".join(str(w.render()) for w in app.screen.query("Static"))
    written = [tmp_path / "goci-report.md", tmp_path / "goci-report.json", *(tmp_path / "history").glob("*.json")]
    assert len(written) == 3
    for path in written:
        assert leaks(path.read_text()) == [], path
    assert "builduser:***@" in (tmp_path / "goci-report.json").read_text()  # the env travelled, masked
    assert leaks(env_pane) == []
    entries = history.list_sessions(tmp_path / "history")
    assert len(entries) == 1
    shown = cli(
        "history", entries[0].id, "--format", "markdown", env={"XDG_DATA_HOME": str(tmp_path / "xdg")}
    )  # another data dir: "no such session" path
    assert leaks(shown.stdout + shown.stderr) == []
    assert leaks(render.render(history.load_session(entries[0].id, tmp_path / "history"), "json")) == []


@sync
async def test_tui_pasted_log_export_holds_no_secret(tmp_path):
    from goci_doctor.tui.app import GociApp

    app = GociApp(log=SECRET_ON_EVIDENCE_LINES, log_source="pasted", gather_env=False, history_dir=tmp_path / "history")
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        assert app.session.diagnosis is not None and app.session.diagnosis.chains
        app.export("json", str(tmp_path))
        app.action_save_history()
        await pilot.pause()
    for path in [tmp_path / "goci-report.json", *(tmp_path / "history").glob("*.json")]:
        assert leaks(path.read_text()) == [], path


# --------------------------------------------------------------------------------------------
# The binary is never executed on the host


def test_cli_flows_never_execute_the_binary(marker, tmp_path):
    binary, witness = marker
    env = {"GOCI_MARKER": str(witness)}
    dist = tmp_path / "dist"
    (dist / "linux_amd64").mkdir(parents=True)
    shutil.copy2(binary, dist / "linux_amd64" / "app")
    runs = [
        cli("inspect", str(binary), env=env),
        cli("inspect", "--json", str(dist), env=env),
        cli("check", str(binary), "-t", "centos:7", "-t", "alpine:3.20", "-t", "scratch", env=env),
        cli("check", str(dist), "--format", "sarif", env=env),
        cli("explain", "-", env=env, stdin=f"{binary}: exec format error\n"),
    ]
    for proc in runs:
        assert "Traceback" not in proc.stderr, proc.stderr
    assert json.loads(runs[1].stdout)["artifacts"][0]["go"]["path"] == "example.com/marker"


@sync
async def test_tui_flows_never_execute_the_binary(marker, tmp_path):
    from goci_doctor.lab import demo
    from goci_doctor.lab.runner import ReplayRunner
    from goci_doctor.tui.app import GociApp

    binary, _ = marker
    app = GociApp(
        path=binary,
        runner=ReplayRunner(list(demo.scenario("glibc-centos7").runs)),
        gather_env=False,
        targets=["debian:bullseye", "alpine:3.20"],
        history_dir=tmp_path,
    )
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        assert app.session.facts is not None and app.session.facts.go is not None
        await pilot.press("m")
        if app.work is not None:
            await app.work.wait()
        for step in ("5", "6", "1", "3"):
            await pilot.press(step)
            await pilot.pause()


# --------------------------------------------------------------------------------------------
# Containers: sandboxed, checked through the engine while the artifact runs


@pytest.fixture(scope="module")
def engine():

    try:
        return lab_engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="module")
def lab_config(engine):
    from goci_doctor.config import Config, RunSettings
    from goci_doctor.lab.images import local_image_map

    missing = [ref for ref in ("goci/debian:bookworm", "goci/musl", "goci/scratch") if not engine.images.list(name=ref)]
    if missing:
        pytest.skip(f"local images missing ({', '.join(missing)}): run `goci-doctor images build`")
    return Config(images=local_image_map(), run=RunSettings(allow_pull=False))


@pytest.mark.docker
def test_container_is_sandboxed_while_the_artifact_runs(engine, lab_config, bin_path, tmp_path):
    from goci_doctor.lab import docker as lab
    from goci_doctor.lab.runner import RunEvent

    artifact = tmp_path / "sleeper"
    shutil.copy2(bin_path("sleeper"), artifact)
    before = artifact.read_bytes()
    runner = lab.DockerRunner(config=lab_config, client=engine)
    seen: dict[str, dict] = {}
    errors: list[str] = []

    def on_event(e: RunEvent) -> None:
        if e.phase != "running":
            return
        try:
            (c,) = [
                c
                for c in engine.api.containers(filters={"label": [f"{lab.SESSION_LABEL}={runner.session}"]}, all=True)
                if c["Image"] == runner.image_for(e.target)
            ]
            info = engine.api.inspect_container(c["Id"])
            fs = containerfs.ContainerFS(engine, c["Id"])
            seen[e.target] = {"info": info, "stat": fs.stat("/goci/sleeper")}
        except Exception as exc:  # reported below: the callback itself must not raise into the lab
            errors.append(repr(exc))

    results = runner.run_matrix(artifact, ["debian:bookworm", "scratch"], args=["1"], timeout=30, on_event=on_event)
    assert errors == []
    assert [r.outcome for r in results] == ["runs", "runs"]
    for target in ("debian:bookworm", "scratch"):
        info, stat = seen[target]["info"], seen[target]["stat"]
        host = info["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert info["Config"].get("NetworkDisabled") is True
        assert host["Memory"] > 0 and host["PidsLimit"] > 0 and host["NanoCpus"] > 0
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in (host.get("SecurityOpt") or [])
        assert not host.get("Privileged")
        assert not host.get("Binds"), "the host's file is copied in, never bind-mounted"
        user = info["Config"]["User"]
        assert user and user.split(":")[0] not in ("0", "root")
        assert stat is not None and stat["mode"] & 0o222 == 0, oct(stat["mode"])  # read-only copy
    assert artifact.read_bytes() == before


# --------------------------------------------------------------------------------------------
# Hostile names are data


HOSTILE = ["x; touch {canary}", "$(touch {canary})", "`touch {canary}`", "a b 'c\" d", "--help", "-o{canary}"]


@pytest.mark.parametrize("pattern", HOSTILE)
def test_hostile_artifact_names_are_not_evaluated(pattern, bin_path, tmp_path):
    canary = tmp_path / "pwned"
    name = pattern.format(canary=canary).replace("/", "_")  # a file name cannot hold "/"
    hostile_dir = tmp_path / "dir $(touch pwned) ;"
    hostile_dir.mkdir()
    artifact = hostile_dir / name
    shutil.copy2(bin_path("static"), artifact)
    for args in (
        ["inspect", "--json", "--", str(artifact)],
        ["check", "--json", "-t", "alpine:3.20", "--", str(artifact)],
    ):
        proc = cli(*args, cwd=hostile_dir)
        assert proc.returncode in (0, 1), proc.stderr
        doc = json.loads(proc.stdout)
        paths = [a["path"] for a in doc.get("artifacts", [])] or [a["path"] for a in doc["diagnosis"]["artifacts"]]
        assert paths == [str(artifact)]
    assert not canary.exists() and not (hostile_dir / "pwned").exists() and not Path("pwned").exists()


@pytest.mark.docker
def test_hostile_artifact_name_in_a_container_run(engine, lab_config, bin_path, tmp_path):
    from goci_doctor.lab import docker as lab

    canary = tmp_path / "pwned"
    artifact = tmp_path / f"app; touch {canary.name} $(touch {canary.name})"
    shutil.copy2(bin_path("static"), artifact)
    runner = lab.DockerRunner(config=lab_config, client=engine)
    (result,) = runner.run_matrix(artifact, ["debian:bookworm"], args=["; touch /tmp/x", "$(id)"], timeout=30)
    assert result.outcome == "runs", result
    assert not canary.exists()


def _hostile_report(tmp_path: Path, canary: Path) -> Path:
    from goci_doctor.lab import demo

    doc = json.loads(render.report_to_json(demo.scenario_report(demo.scenario("glibc-centos7"))))
    evil = f"$(touch {canary}); `touch {canary}` | rm -rf ~ <script>x</script>"
    doc["title"] = evil
    doc["diagnosis"]["subject"] = evil
    for art in doc["diagnosis"].get("artifacts", []):
        art["path"] = evil
    for chain in doc["diagnosis"].get("chains", []):
        chain["commands"] = [f"touch {canary}"]
    path = tmp_path / "hostile-report.json"
    path.write_text(json.dumps(doc))
    return path


def test_hostile_report_paths_are_rendered_as_data(tmp_path):
    canary = tmp_path / "pwned"
    report_path = _hostile_report(tmp_path, canary)
    report = render.load_report(report_path)
    for fmt in FORMATS:
        text = render.render(report, fmt)
        assert "$(touch" in text or fmt == "sarif"
    history_dir = tmp_path / "history"
    from goci_doctor.render import history

    saved = history.save_session(report, history_dir)
    assert saved.parent == history_dir and "/" not in saved.name and "$" not in saved.name
    assert not canary.exists()


@sync
async def test_hostile_report_opened_in_the_tui(tmp_path):
    from goci_doctor.tui.app import GociApp

    canary = tmp_path / "pwned"
    report = render.load_report(_hostile_report(tmp_path, canary))
    app = GociApp(report=report, report_path="hostile-report.json", gather_env=False, history_dir=tmp_path)
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        for step in ("1", "3", "4", "5", "6"):
            await pilot.press(step)
            await pilot.pause()
        assert app.export("markdown", str(tmp_path)) is not None
    assert not canary.exists()


def _build_hello(engine, project: Path) -> list:
    from goci_doctor.lab import builds

    shutil.copytree(Path(__file__).parent / "fixtures" / "go" / "hello", project)
    try:
        return builds.build_variants(project, ["cgo-off"], client=engine, timeout=300)
    except Exception as exc:
        if "goci/build" in str(exc):
            pytest.skip(f"build image missing ({exc}): run `goci-doctor images build`")
        raise


@pytest.mark.docker
def test_hostile_project_dir_in_a_diagnostic_build(engine, tmp_path, monkeypatch):
    # A project whose directory name is shell syntax: it is bind-mount data, never shell text.
    canary = tmp_path / "pwned"
    monkeypatch.chdir(tmp_path)
    project = tmp_path / f"my proj; touch {canary.name} $(touch {canary.name}) `touch {canary.name}` 'q\""
    (result,) = _build_hello(engine, project)
    assert result.ok, result.output[-2000:]
    assert result.facts is not None and result.facts.go is not None
    assert not canary.exists()


@pytest.mark.docker
def test_secret_in_goflags_stays_out_of_the_build_report(engine, tmp_path, monkeypatch):
    from goci_doctor.render import builds as build_report

    monkeypatch.setenv("GOFLAGS", SECRETS["GOFLAGS"])
    results = _build_hello(engine, tmp_path / "proj")
    assert results[0].ok, results[0].output[-2000:]
    matrix = buildmatrix.BuildMatrix(builds=results, runs=[], project=str(tmp_path / "proj"))
    rendered = (
        build_report.render_json(matrix) + build_report.render_markdown(matrix) + build_report.render_text(matrix)
    )
    assert leaks(rendered) == []


def test_redact_masks_every_planted_secret_in_free_text():
    text = " ".join(f"{k}={v}" for k, v in SECRETS.items())
    assert leaks(redact.redact(text)) == []
    env = redact.redact_env(SECRETS)
    assert leaks(json.dumps(env)) == []
    assert env["DOCKER_HOST"] == SECRETS["DOCKER_HOST"]  # not a secret: kept
