"""The CLI: exit codes, one clear line on bad input (never a traceback), and import hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from goci_doctor.cli import main

PY = sys.executable


def run_cli(
    *args: str, stdin: str | bytes | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [PY, "-m", "goci_doctor", *args],
        input=data,
        capture_output=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
        check=False,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    )


def python_stdout(code: str) -> str:
    """Run ``code`` in a fresh interpreter (what a process starting goci-doctor loads is what it
    imports); it must exit 0. Returns its standard output, stripped."""
    proc = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def assert_one_clear_line(proc: subprocess.CompletedProcess[str], code: int = 2) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("goci-doctor: "), proc.stderr


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("goci-doctor ")


@pytest.mark.parametrize("kind", ["missing", "directory-empty"])
def test_inspect_bad_paths(tmp_path, kind) -> None:
    path = tmp_path / "nope" if kind == "missing" else tmp_path
    proc = run_cli("inspect", str(path))
    assert_one_clear_line(proc)


@pytest.mark.parametrize("name", ["empty", "random", "truncated", "truncated-pe", "html", "lfs"])
def test_inspect_broken_files_exit_1_with_reason(bad_files, name) -> None:
    proc = run_cli("inspect", "--json", str(bad_files[name]))
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema_version"] == 1
    assert doc["artifacts"][0]["problems"]


def test_inspect_permission_denied(tmp_path, bin_path, capsys) -> None:
    """Exit 2 and one line for a file the user may not read (as root: an unprivileged effective uid)."""
    locked = tmp_path / "app"
    locked.write_bytes(bin_path("static").read_bytes())
    # Import everything the command needs first: as uid 65534, root's Python installation is unreadable.
    assert main(["inspect", str(locked)]) == 0
    capsys.readouterr()
    locked.chmod(0)
    as_root = os.geteuid() == 0
    try:
        if as_root:
            os.seteuid(65534)
        code = main(["inspect", str(locked)])
    finally:
        if as_root:
            os.seteuid(0)
        locked.chmod(0o644)
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"goci-doctor: {locked}: permission denied\n"


def test_inspect_real_binary_json(bin_path) -> None:
    proc = run_cli("inspect", "--json", str(bin_path("cgo-host")))
    assert proc.returncode == 0
    facts = json.loads(proc.stdout)["artifacts"][0]
    assert facts["glibc_required"] == "2.34"
    assert facts["go"]["go_version"].startswith("go1.")


def test_inspect_folder_like_goreleaser_dist(tmp_path, bin_path) -> None:
    dist = tmp_path / "dist"
    (dist / "app_linux_amd64_v1").mkdir(parents=True)
    (dist / "app_windows_amd64_v1").mkdir(parents=True)
    (dist / "app_linux_amd64_v1" / "app").write_bytes(bin_path("static").read_bytes())
    (dist / "app_windows_amd64_v1" / "app.exe").write_bytes(bin_path("windows").read_bytes())
    (dist / "checksums.txt").write_text("abc  app\n")
    proc = run_cli("inspect", "--json", str(dist))
    assert proc.returncode == 0, proc.stderr
    kinds = sorted(a["kind"] for a in json.loads(proc.stdout)["artifacts"])
    assert kinds == ["elf", "pe"]


def test_check_exit_codes(bin_path) -> None:
    crash = run_cli("check", str(bin_path("cgo-host")), "--target", "centos:7")
    assert crash.returncode == 1
    assert "version `GLIBC_2.34' not found" in crash.stdout
    ok = run_cli("check", str(bin_path("static")), "-t", "centos:7", "-t", "scratch")
    assert ok.returncode == 0, ok.stdout
    assert "No crash predicted" in ok.stdout


def test_check_unknown_target_suggests(bin_path) -> None:
    proc = run_cli("check", str(bin_path("static")), "--target", "centos:77")
    assert_one_clear_line(proc)
    assert "did you mean" in proc.stderr


def test_check_needs_a_path() -> None:
    assert_one_clear_line(run_cli("check"))


def test_check_sarif(bin_path) -> None:
    proc = run_cli("check", str(bin_path("arm64")), "-t", "debian:bookworm", "--format", "sarif")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["version"] == "2.1.0"
    assert doc["runs"][0]["results"][0]["ruleId"] == "wrong-arch"


def test_explain_stdin_and_file(tmp_path) -> None:
    msg = "exec /app: exec format error\n"
    proc = run_cli("explain", stdin=msg)
    assert proc.returncode == 1 and "exec format error" in proc.stdout
    log = tmp_path / "ci.log"
    log.write_text("all good\nPASS\n")
    clean = run_cli("explain", str(log))
    assert clean.returncode == 0 and "No known failure" in clean.stdout


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02\xff" * 1000, "üñí ok\n".encode("latin-1")])
def test_explain_odd_input_never_tracebacks(tmp_path, content) -> None:
    log = tmp_path / "odd.log"
    log.write_bytes(content)
    proc = run_cli("explain", "--json", str(log))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["diagnosis"]["chains"] == []


def test_explain_missing_file_and_directory(tmp_path) -> None:
    assert_one_clear_line(run_cli("explain", str(tmp_path / "missing.log")))
    assert_one_clear_line(run_cli("explain", str(tmp_path)))


def test_output_file_is_written_atomically(tmp_path, bin_path) -> None:
    out = tmp_path / "report.md"
    proc = run_cli("check", str(bin_path("cgo-host")), "-t", "alpine:3.20", "-f", "markdown", "-o", str(out))
    assert proc.returncode == 1
    assert out.read_text().startswith("# goci-doctor")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_output_to_unwritable_place(tmp_path, bin_path) -> None:
    proc = run_cli("check", str(bin_path("static")), "-t", "scratch", "-o", str(tmp_path / "no" / "dir" / "r.txt"))
    assert_one_clear_line(proc)


def test_targets_lists_knowledge_base() -> None:
    proc = run_cli("targets", "--json")
    names = {t["name"] for t in json.loads(proc.stdout)["targets"]}
    assert {"centos:7", "scratch", "distroless/static"} <= names


def test_unknown_command_is_usage_error() -> None:
    proc = run_cli("frobnicate")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_tui_without_terminal_is_a_clear_error() -> None:
    assert_one_clear_line(run_cli("tui"))


def test_main_in_process_returns_codes(bin_path, capsys) -> None:
    assert main(["check", str(bin_path("windows")), "-t", "debian:bookworm"]) == 1
    assert "exec format error" in capsys.readouterr().out


HEAVY = ("textual", "rich", "docker", "requests", "urllib3")


@pytest.mark.parametrize(
    "argv", [["inspect", "{bin}"], ["check", "{bin}", "-t", "centos:7"], ["explain", "{log}"], ["targets"]]
)
def test_core_commands_never_import_ui_or_docker(argv, bin_path, tmp_path) -> None:
    """`inspect` must start fast: no Textual, Rich or Docker SDK in the process (subprocess check)."""
    log = tmp_path / "x.log"
    log.write_text("exec /app: exec format error\n")
    args = [a.format(bin=bin_path("cgo-host"), log=log) for a in argv]
    code = (
        "import sys, io, contextlib\n"
        "from goci_doctor.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({args!r})\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]\n"
        "print(','.join(sorted(set(m.split('.')[0] for m in bad))))\n"
    )
    out = python_stdout(code)
    assert out == "", f"heavy modules imported: {out}"


def test_building_the_parser_imports_only_the_subcommand_modules() -> None:
    """`--version` and `--help` build the whole parser: each subcommand module must stay light."""
    code = (
        "import sys\n"
        "from goci_doctor import cli\n"
        "cli.build_parser()\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('goci_doctor')"
        " and not m.startswith('goci_doctor.cli'))))\n"
    )
    out = python_stdout(code)
    loaded = out.split()
    # No secret patterns (safetext, redact), knowledge, artifact reader, lab or renderer yet.
    heavy = (
        "goci_doctor.safety.redact",
        "goci_doctor.safety.safetext",
        "goci_doctor.knowledge",
        "goci_doctor.artifact",
    )
    assert [m for m in loaded if m.startswith((*heavy, "goci_doctor.lab", "goci_doctor.render"))] == [], loaded
    assert "goci_doctor.model" in loaded


def test_core_modules_import_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import goci_doctor.model, goci_doctor.artifact, goci_doctor.artifact.gobuildinfo, goci_doctor.knowledge,"
        " goci_doctor.diagnosis, goci_doctor.diagnosis.explain, goci_doctor.render, goci_doctor.hostenv,"
        " goci_doctor.diagnosis.explain.logread, goci_doctor.lab.runner, goci_doctor.safety.redact,"
        " goci_doctor.artifact.imagefs, goci_doctor.render.documents, goci_doctor.render.runs,"
        " goci_doctor.render.builds, goci_doctor.render.lint, goci_doctor.render.images, goci_doctor.cli\n"
        # Every subcommand module is imported to build the parser: none may pull in the UI or Docker.
        "goci_doctor.cli.build_parser()\n"
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    out = python_stdout(code)
    assert out == ""


def test_history_json_lists_saved_sessions(tmp_path, bin_path) -> None:
    from goci_doctor import artifact, diagnosis, knowledge
    from goci_doctor.records import Report
    from goci_doctor.render import history

    diag = diagnosis.check_artifact(
        artifact.inspect_path(bin_path("arm64")), [knowledge.resolve_target("debian:bookworm")], arch="amd64"
    )
    saved = history.save_session(Report(diagnosis=diag, title="arm64 on bookworm"), tmp_path / "sessions")
    proc = run_cli("history", "--json", env={"GOCI_DOCTOR_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    sessions = json.loads(proc.stdout)["sessions"]
    assert [s["title"] for s in sessions] == ["arm64 on bookworm"]
    assert Path(sessions[0]["path"]) == saved


def test_check_cpu_level(bin_path) -> None:
    old_cpu = run_cli("check", str(bin_path("amd64v3")), "-t", "debian:bookworm", "--cpu", "x86-64-v2")
    assert old_cpu.returncode == 1
    assert "This program can only be run on AMD64 processors with v3 microarchitecture support." in old_cpu.stdout
    new_cpu = run_cli("check", str(bin_path("amd64v3")), "-t", "debian:bookworm", "--cpu", "v3")
    assert new_cpu.returncode == 0, new_cpu.stdout
    assert_one_clear_line(run_cli("check", str(bin_path("amd64v3")), "-t", "debian:bookworm", "--cpu", "486"))


def test_check_arch_of_the_deploy_machines(bin_path) -> None:
    proc = run_cli("check", str(bin_path("arm64")), "-t", "debian:bookworm", "--arch", "arm64")
    assert proc.returncode == 0, proc.stdout


def test_warnings_explain_but_do_not_fail(bin_path) -> None:
    """A GUI-subsystem exe on Windows runs: the chain explains the missing console, exit stays 0."""
    proc = run_cli("check", str(bin_path("windows-gui")), "-t", "windows-servercore:ltsc2022", "--json")
    assert proc.returncode == 0, proc.stdout
    doc = json.loads(proc.stdout)
    assert doc["has_problem"] is False
    chains = doc["diagnosis"]["chains"]
    assert [c["id"] for c in chains] == ["gui-subsystem/symptom"] and chains[0]["severity"] == "warning"
    crash = run_cli("check", str(bin_path("windows-gui")), "-t", "debian:bookworm")
    assert crash.returncode == 1


def test_inspect_does_not_import_dataclasses_typing_or_shutil(bin_path) -> None:
    """The artifact facts are ``model.Record``s so that `inspect` skips importing ``dataclasses``
    (and ``inspect``, ``ast``, ``dis``), about a third of its start-up; annotations' names come
    from ``typing`` for type checkers only, and help text is sized without ``shutil`` (bz2, lzma)."""
    code = (
        "import sys, io, contextlib\n"
        "from goci_doctor.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['inspect', '--json', {str(bin_path('cgo-host'))!r}])\n"
        "print(','.join(m for m in ('dataclasses', 'inspect', 'ast', 'typing', 'shutil') if m in sys.modules))\n"
    )
    out = python_stdout(code)
    assert out == "", f"imported: {out}"


def test_the_collector_is_off_while_starting_and_on_when_the_command_runs(tmp_path) -> None:
    """`goci-doctor` starts with the cyclic GC off (start-up only allocates what lives on) and turns it
    on, with the start-up objects frozen, before the command runs (a long `lint` must not grow)."""
    code = (
        "import gc, sys\n"
        "import goci_doctor.cli.targets as command\n"
        "seen = []\n"
        "def execute(args):\n"
        "    seen.append((gc.isenabled(), gc.get_freeze_count() > 0))\n"
        "    return 0\n"
        "command.execute = execute\n"
        "import goci_doctor.__main__ as entry_module\n"
        "import goci_doctor.cli\n"
        "real_main = goci_doctor.cli.main\n"
        "def main(argv=None):\n"
        "    seen.append(('starting', gc.isenabled()))\n"
        "    return real_main(argv)\n"
        "goci_doctor.cli.main = main\n"
        "sys.argv = ['goci-doctor', 'targets']\n"
        "try:\n"
        "    entry_module.entry()\n"
        "except SystemExit:\n"
        "    print(seen)\n"
    )
    out = python_stdout(code)
    assert out == "[('starting', False), (True, True)]", out
