"""Hostile and odd input through the real CLI: one line on stderr, the documented exit code, bounded
memory and time, never a traceback (issue 14).

Each case runs ``python -m goci_doctor`` in a child process under an address-space limit, with
SIGINT reset to its default; its peak RSS comes from ``wait4`` (the kernel's own accounting) and
its wall clock from a watchdog that kills it. The bounds are generous: they catch runaway
behaviour (gigabytes, minutes), not speed.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from goci_doctor import cli
from goci_doctor.lab import engine
from goci_doctor.model import BadInputError, ExitCode
from goci_doctor.safety import safeio

RSS_LIMIT_MB = 400
"""Peak resident memory allowed to any hostile case (the process itself takes ~60 MB)."""
AS_LIMIT = 6 << 30
"""Address-space cap for the child: a runaway allocation fails there instead of on the machine."""
SECONDS = 60
ROOT = os.geteuid() == 0
SETPRIV = shutil.which("setpriv")


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    rss_mb: float
    seconds: float


def _child_setup(close_stdout: bool) -> Callable[[], None]:
    def setup() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
        if close_stdout:
            os.close(1)

    return setup


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdout_file: str | None = None,
    close_stdout: bool = False,
    cwd: Path | None = None,
    no_dac: bool = False,
    seconds: float = SECONDS,
    _argv0: tuple[str, ...] = ("-m", "goci_doctor"),
) -> Outcome:
    """Run the CLI in a child and measure it. ``no_dac``: drop root's power to read anything, so
    that a chmod 000 file is really unreadable."""
    cmd = [sys.executable, *_argv0, *args]
    if no_dac:
        cmd = [str(SETPRIV), "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
    full_env = {**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[2]), **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sink = open(stdout_file, "w") if stdout_file else out
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=err,
            env=full_env,
            cwd=cwd,
            preexec_fn=_child_setup(close_stdout),
        )
        watchdog = threading.Timer(seconds, proc.kill)
        watchdog.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
            if stdout_file:
                sink.close()
        elapsed = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        outcome = Outcome(
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_maxrss / 1024,
            elapsed,
        )
    assert elapsed < seconds, f"{args}: still running after {seconds} s"
    assert outcome.rss_mb < RSS_LIMIT_MB, f"{args}: peak RSS {outcome.rss_mb:.0f} MB"
    assert "Traceback" not in outcome.stderr, outcome.stderr
    return outcome


def run_python(code: str, *args: str) -> Outcome:
    """``run_cli`` for a few lines of Python that end in ``cli.main`` (to hook a deterministic
    event, such as a file shrinking, into the real command line)."""
    return run_cli(*args, _argv0=("-c", code))


def one_line(o: Outcome, code: int, *needles: str) -> str:
    """The outcome exited ``code`` with exactly one ``goci-doctor: ...`` line on stderr holding ``needles``."""
    lines = o.stderr.strip().splitlines()
    assert o.code == code, (o.code, o.stderr)
    assert len(lines) == 1 and lines[0].startswith("goci-doctor: "), o.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "\x1b" not in lines[0]
    return lines[0]


# --------------------------------------------------------------------------------------------
# lint on an untrusted repository: every bad file is a GOCI000 finding with its reason


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "on: push\n" + "\n".join(lines) + "\n"


def _env_doubling() -> str:
    chain = [f"ENV X{i}=${{X{i - 1}}}${{X{i - 1}}}" for i in range(1, 40)]
    return "\n".join(["FROM golang:1.22", "ENV X0=aaaaaaaaaaaaaaaa", *chain, "RUN go build ."]) + "\n"


def _make_doubling() -> str:
    lines = [
        "A0 := x",
        *[f"A{i} := $(A{i - 1})$(A{i - 1})" for i in range(1, 40)],
        "export A39",
        "all:",
        "\tgo build .",
    ]
    return "\n".join(lines) + "\n"


def _make_exponential_empty() -> str:
    lines = ["B0 =", *[f"B{i} = " + f"$(B{i - 1})" * 50 for i in range(1, 12)], "export B11", "all:", "\tgo build ."]
    return "\n".join(lines) + "\n"


LINT_CASES: dict[str, tuple[str, str, str]] = {
    # case: (file in the repo, content, words the GOCI000 reason holds)
    "billion-laughs-workflow": (".github/workflows/ci.yml", _billion_laughs(), "expand to more than"),
    "recursive-alias-workflow": (".github/workflows/ci.yml", "on: push\na: &a [*a]\n", "contains itself"),
    "recursive-alias-goreleaser": (".goreleaser.yaml", "builds: &a [*a]\n", "contains itself"),
    "nested-3000-flow": (".github/workflows/ci.yml", "x: " + "[" * 3000 + "]" * 3000 + "\n", "nested more than"),
    "nested-2000-block": (".goreleaser.yaml", "".join(" " * i + "k:\n" for i in range(2000)), "nested more than"),
    "dockerfile-env-doubling": ("Dockerfile", _env_doubling(), "expands to more than"),
    "makefile-doubling": ("Makefile", _make_doubling(), "expands to more than"),
    "makefile-exponential": ("Makefile", _make_exponential_empty(), "budget"),
    "huge-workflow": (".github/workflows/ci.yml", "# x\n" * (2 * safeio.MAX_CONFIG_BYTES // 4), "larger than"),
}


def _lint_json(o: Outcome) -> dict[str, str]:
    assert o.code == ExitCode.PROBLEM, (o.code, o.stderr)
    assert o.stderr.strip() == "", o.stderr
    doc = json.loads(o.stdout)
    return {f["file"]: f["message"] for f in doc["findings"] if f["rule_id"] == "GOCI000"}


@pytest.mark.parametrize("case", sorted(LINT_CASES))
def test_lint_hostile_file_is_goci000_and_the_run_goes_on(case, tmp_path):
    rel, content, reason = LINT_CASES[case]
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_text(content)
    # A healthy config beside it is still linted.
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "Dockerfile").write_text(
        "FROM golang:1.22 AS build\nRUN CGO_ENABLED=1 go build -o /app .\n"
        "FROM alpine:3.20\nCOPY --from=build /app /app\n"
    )
    o = run_cli("lint", str(tmp_path), "--json")
    bad = _lint_json(o)
    assert rel in bad and reason in bad[rel], bad
    doc = json.loads(o.stdout)
    assert "ok/Dockerfile" in doc["files"]
    assert any(f["file"] == "ok/Dockerfile" and f["rule_id"] == "GOCI001" for f in doc["findings"]), doc["findings"]


def test_lint_refuses_what_it_must_not_read(tmp_path):
    for sub in ("zero", "fifo", "dangling", "escape", "inside"):
        (tmp_path / sub).mkdir()
    (tmp_path / "zero" / "Dockerfile").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo" / "Dockerfile")
    (tmp_path / "dangling" / "Dockerfile").symlink_to("nowhere")
    (tmp_path / "escape" / "Dockerfile").symlink_to("/etc/passwd")
    (tmp_path / "go.mod").symlink_to("/dev/zero")
    (tmp_path / "real.Dockerfile").write_text("FROM alpine:3.20\n")
    (tmp_path / "inside" / "Dockerfile").symlink_to("../real.Dockerfile")  # inside the repository: read
    bad = _lint_json(run_cli("lint", str(tmp_path), "--json"))
    assert "outside the repository" in bad["zero/Dockerfile"]
    assert "outside the repository" in bad["escape/Dockerfile"]
    assert "outside the repository" in bad["go.mod"]
    assert "FIFO" in bad["fifo/Dockerfile"]
    assert "dangling symlink" in bad["dangling/Dockerfile"]
    assert "inside/Dockerfile" not in bad


def test_lint_fifo_inside_the_repository_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "Dockerfile")
    o = run_cli("lint", str(tmp_path), "--json", seconds=30)
    assert "FIFO" in _lint_json(o)["Dockerfile"]


@pytest.mark.skipif(ROOT and not SETPRIV, reason="root reads chmod 000 files, and setpriv is not installed")
def test_lint_unreadable_dockerfile(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    (tmp_path / "Dockerfile").chmod(0)
    bad = _lint_json(run_cli("lint", str(tmp_path), "--json", no_dac=ROOT))
    assert "permission denied" in bad["Dockerfile"]


# --------------------------------------------------------------------------------------------
# Configs, policies, reports and history


def _deep_toml(path: Path, prefix: str = "") -> Path:
    path.write_text(prefix + "x = " + "[" * 5000 + "]" * 5000 + "\n")
    return path


def test_deeply_nested_config_and_policy(tmp_path):
    cfg = _deep_toml(tmp_path / "config.toml")
    one_line(run_cli("--config", str(cfg), "targets"), 2, "nested more than")
    one_line(run_cli("check", "/bin/true", env={"GOCI_DOCTOR_CONFIG": str(cfg)}), 2, "nested more than")
    pol = _deep_toml(tmp_path / "policy.toml", "[env.prod]\n")
    one_line(run_cli("check", "--policy", "prod", "--policy-file", str(pol)), 2, "nested more than")
    zero = tmp_path / "zero.toml"
    zero.symlink_to("/dev/zero")
    one_line(run_cli("--config", str(zero), "targets"), 2, "character device")


def test_config_flag_is_honoured_and_a_missing_one_is_an_error(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('default_targets = ["centos:7"]\n')
    o = run_cli("--config", str(cfg), "check", "/bin/true", "--json")
    verdicts = json.loads(o.stdout)["diagnosis"]["verdicts"]
    assert [v["target"] for v in verdicts] == ["centos:7"], verdicts
    one_line(run_cli("--config", str(tmp_path / "missing.toml"), "targets"), 2, "missing.toml: no such file")
    one_line(run_cli("tui", "--config", str(tmp_path / "missing.toml")), 2, "missing.toml: no such file")


def _deep_json(depth: int = 100_000) -> str:
    return '{"schema_version": 1, "kind": "report", "x": ' + "[" * depth + "]" * depth + "}"


def test_deeply_nested_history_entry_and_report(tmp_path):
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "20250101-000000-deep.json").write_text(_deep_json())
    env = {"GOCI_DOCTOR_DATA_DIR": str(tmp_path)}
    one_line(run_cli("history", "20250101-000000-deep", env=env), 2, "nested more than")
    listing = run_cli("history", env=env)
    assert listing.code == 0 and listing.stderr == ""
    # tui --report loads through the same reader (the TUI itself needs a terminal).
    from goci_doctor.render import load_report

    with pytest.raises(BadInputError, match="nested more than"):
        load_report(sessions / "20250101-000000-deep.json")


def test_a_damaged_history_entry_never_breaks_the_listing(tmp_path):
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "20250101-000000-damaged.json").write_text(
        json.dumps({"schema_version": 1, "kind": "report", "title": ["not", "text"], "diagnosis": {"chains": 5}})
    )
    (sessions / "20250102-000000-list.json").write_text("[1, 2, 3]")
    (sessions / "20250103-000000-garbage.json").write_bytes(b"\xff\xfe\x00garbage")
    o = run_cli("history", "--json", env={"GOCI_DOCTOR_DATA_DIR": str(tmp_path)})
    assert o.code == 0 and o.stderr == "", o.stderr
    ids = [s["id"] for s in json.loads(o.stdout)["sessions"]]
    assert "20250101-000000-damaged" in ids
    one_line(run_cli("history", "20250101-000000-damaged", env={"GOCI_DOCTOR_DATA_DIR": str(tmp_path)}), 2, "damaged")


# --------------------------------------------------------------------------------------------
# The command line itself


def test_usage_errors_are_one_line():
    one_line(run_cli("inspect"), 2, "required")
    one_line(run_cli("no-such-command"), 2, "invalid choice")
    one_line(run_cli("check", "/bin/true", "--format", "nope"), 2, "--format")
    one_line(run_cli("check", "/bin/true", "-t", ""), 2, "empty target")
    one_line(run_cli("check", "/bin/true", "-t", " , "), 2, "empty target")
    line = one_line(run_cli("check", "/bin/true", "--arch", "\x1b[31mgarbage"), 2, "unknown architecture")
    assert "\\x1b" in line
    one_line(run_cli("run", "/bin/true", "--args", "'unbalanced"), 2, "No closing quotation")


def test_closed_and_full_stdout():
    one_line(run_cli("targets", close_stdout=True), 2, "standard output is closed")
    one_line(run_cli("targets", stdout_file="/dev/full"), 2, "no space left on device")
    one_line(run_cli("inspect", "/bin/true", stdout_file="/dev/full"), 2, "no space left on device")


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_narrow_output_encodings_fall_back_to_ascii(encoding):
    o = run_cli("check", "/bin/true", "-t", "centos:7", env={"PYTHONIOENCODING": encoding})
    assert o.code == ExitCode.PROBLEM and o.stderr == "", o.stderr
    assert "(glibc >= 2." in o.stdout
    assert "≥" not in o.stdout and "✗" not in o.stdout


def test_an_internal_error_is_one_line_and_exit_70(monkeypatch, capsys):
    def broken(_args: object) -> int:
        raise RuntimeError("deliberately broken handler\nsecond line")

    monkeypatch.setattr(cli.command_module("targets"), "execute", broken)
    assert cli.main(["targets"]) == ExitCode.INTERNAL_ERROR == 70
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "this is a bug in goci-doctor, not a finding" in err[0], err
    assert "deliberately broken handler second line" in err[0]


# --------------------------------------------------------------------------------------------
# Artifacts: sizes checked against the file, sparse files, truncation, pseudo-files


def test_sparse_2_gb_zero_file_is_not_copied(tmp_path):
    zeros = tmp_path / "zeros"
    with zeros.open("wb") as fh:
        fh.truncate(2 << 30)
    o = run_cli("inspect", str(zeros))
    assert o.code == ExitCode.PROBLEM and "all 2147483648 bytes are zero" in o.stdout, o.stdout


def _sparse_elf_with_huge_versym(src: Path, dst: Path, total: int) -> None:
    data = bytearray(src.read_bytes())
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    patched = False
    for i in range(shnum):
        off = shoff + i * shentsize
        if struct.unpack_from("<I", data, off + 4)[0] == 0x6FFFFFFF:  # SHT_GNU_versym
            struct.pack_into("<Q", data, off + 0x20, 1 << 30)
            patched = True
    assert patched, "the fixture has no .gnu.version"
    dst.write_bytes(bytes(data))
    with dst.open("r+b") as fh:
        fh.truncate(total)


@pytest.mark.parametrize("total", [1 << 30, (2 << 30) + 4096])
def test_sparse_elf_whose_gnu_version_says_1_gib(tmp_path, bin_path, total):
    elf = tmp_path / "app"
    _sparse_elf_with_huge_versym(Path(bin_path("cgo-host")), elf, total)
    o = run_cli("inspect", str(elf))
    assert o.code == ExitCode.PROBLEM, o.stderr
    assert "corrupt: dynamic section unreadable" in o.stdout and ".gnu.version" in o.stdout, o.stdout


def test_a_file_truncated_while_inspected_never_kills_with_sigbus(tmp_path, bin_path):
    source = Path(bin_path("cgo-host")).read_bytes()
    big = source + b"\x01" * (96 << 20)  # long enough that truncation lands mid-read sometimes
    outcomes = set()
    for attempt in range(8):
        target = tmp_path / f"app{attempt}"
        target.write_bytes(big)
        proc = subprocess.Popen(
            [sys.executable, "-m", "goci_doctor", "inspect", str(target)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[2])},
        )
        time.sleep(0.25 + 0.05 * attempt)
        with target.open("r+b") as fh:
            fh.truncate(64)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, 1, 2), (proc.returncode, err)  # -7 / 135 would be SIGBUS
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
        outcomes.add(proc.returncode)
    assert outcomes


def _large_sparse_artifact(src: Path, dst: Path) -> Path:
    """A real dynamic Go binary, then a 600 MiB hole, then 1 MiB of real data: large, mostly sparse,
    and read on demand (never whole)."""
    dst.write_bytes(src.read_bytes())
    with dst.open("r+b") as fh:
        fh.seek(600 << 20)
        fh.write(b"\x5a" * (1 << 20))
    return dst


def _count_reads(monkeypatch: pytest.MonkeyPatch, target: Path, truncate_at: int | None) -> list[int]:
    """Count the reader's ``pread`` calls; before call number ``truncate_at`` the file really shrinks."""
    real_pread = os.pread
    offsets: list[int] = []

    def pread(fd: int, n: int, offset: int) -> bytes:
        if len(offsets) == truncate_at:
            os.truncate(target, 4096)
        offsets.append(offset)
        return real_pread(fd, n, offset)

    monkeypatch.setattr(safeio.os, "pread", pread)
    return offsets


def test_a_file_that_shrinks_at_any_read_is_one_line(tmp_path, bin_path, monkeypatch, capsys):
    """Truncated before each of the reader's reads in turn (deterministic, no race): never SIGBUS,
    never "corrupt" facts from a parser that swallowed the short read, always the same line."""
    target = tmp_path / "app"
    _large_sparse_artifact(Path(bin_path("cgo-host")), target)
    clean = _count_reads(monkeypatch, target, None)
    assert cli.main(["inspect", "--json", str(target)]) == ExitCode.OK, capsys.readouterr().err
    capsys.readouterr()
    assert len(clean) >= 3, clean  # headers, section table, dynamic and version tables: read lazily
    for k in range(len(clean)):
        _large_sparse_artifact(Path(bin_path("cgo-host")), target)
        _count_reads(monkeypatch, target, k)
        assert cli.main(["inspect", "--json", str(target)]) == ExitCode.BAD_INPUT, k
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"goci-doctor: {target}: the file shrank while it was read (still being written?)"], (k, err)


def test_a_shrink_that_a_parser_swallowed_is_still_reported(tmp_path, bin_path):
    """A parser that catches broadly (pefile does, inside) may swallow the short read: the
    inspection must still end with the one line, not with "corrupt" facts."""
    from goci_doctor import artifact

    target = _large_sparse_artifact(Path(bin_path("cgo-host")), tmp_path / "app")
    with pytest.raises(BadInputError, match="the file shrank while it was read"):
        with artifact._ArtifactFile(target) as buf:
            os.truncate(target, 4096)
            try:
                buf[len(buf) - 16 :]
            except Exception:  # what a parser under `except Exception` does
                pass


_TRUNCATING_CHILD = """
import os, sys
from goci_doctor.safety import safeio
target, at = sys.argv[1], int(sys.argv[2])
real_pread, calls = os.pread, []
def pread(fd, n, offset):
    if len(calls) == at:
        os.truncate(target, 4096)
    calls.append(offset)
    return real_pread(fd, n, offset)
safeio.os.pread = pread
from goci_doctor.cli import main
sys.exit(main(["inspect", target]))
"""


@pytest.mark.parametrize("at", [1, 3])
def test_the_cli_reports_a_file_that_shrinks_under_it(tmp_path, bin_path, at):
    """The real CLI in a child process: the file is cut short just before the reader's read
    number ``at`` (the section table, then the dynamic section): exit 2 and one line, not
    SIGBUS (-7 / 135)."""
    target = _large_sparse_artifact(Path(bin_path("cgo-host")), tmp_path / "app")
    o = run_python(_TRUNCATING_CHILD, str(target), str(at))
    one_line(o, ExitCode.BAD_INPUT, "the file shrank while it was read")


def test_a_folder_with_a_fifo_a_device_and_a_dangling_link_is_inspected(tmp_path, bin_path):
    dist = tmp_path / "dist"
    (dist / "sub").mkdir(parents=True)
    shutil.copy(bin_path("static"), dist / "app")
    os.mkfifo(dist / "sub" / "pipe")
    (dist / "zero").symlink_to("/dev/zero")
    (dist / "dangling").symlink_to("nowhere")
    o = run_cli("inspect", str(dist), "--json", seconds=30)
    assert o.code == ExitCode.PROBLEM and o.stderr == "", (o.code, o.stderr)
    facts = {Path(a["path"]).name: a for a in json.loads(o.stdout)["artifacts"]}
    # The FIFO and the device are not files a build wrote: skipped. A dangling link is a problem.
    assert sorted(facts) == ["app", "dangling"], facts
    assert facts["app"]["kind"] == "elf" and not facts["app"]["problems"]
    assert facts["dangling"]["problems"][0].startswith("unreadable: no such file"), facts["dangling"]
    one_line(run_cli("inspect", str(dist / "sub" / "pipe"), seconds=30), 2, "not a regular file")
    one_line(run_cli("inspect", str(dist / "zero"), seconds=30), 2, "not a regular file")


def test_elf_tables_whose_counts_say_billions_are_bounded(tmp_path, bin_path):
    """.gnu.version_r claims 2^32 - 1 entries and the dynamic section 1 TiB: read within bounds."""
    data = bytearray(Path(bin_path("cgo-host")).read_bytes())
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for i in range(shnum):
        off = shoff + i * shentsize
        sh_type = struct.unpack_from("<I", data, off + 4)[0]
        if sh_type == 0x6FFFFFFE:  # SHT_GNU_verneed: sh_info is the entry count
            struct.pack_into("<I", data, off + 0x2C, 0xFFFFFFFF)
        elif sh_type == 6:  # SHT_DYNAMIC: sh_size
            struct.pack_into("<Q", data, off + 0x20, 1 << 40)
    elf = tmp_path / "app"
    elf.write_bytes(bytes(data))
    o = run_cli("inspect", str(elf), "--json")
    assert o.code == ExitCode.PROBLEM and o.stderr == "", (o.code, o.stderr)
    (facts,) = json.loads(o.stdout)["artifacts"]
    assert facts["kind"] == "elf" and facts["go"], facts  # the rest of the file is still read
    assert facts["problems"] == [
        "corrupt: dynamic section unreadable (ValueError: implausibly many symbol version entries)"
    ], facts["problems"]


@pytest.mark.parametrize("path", ["/proc/self/status", "/proc/cpuinfo"])
def test_proc_files_are_read_not_called_empty(path):
    if not Path(path).exists():
        pytest.skip(f"{path} does not exist here")
    o = run_cli("inspect", path)
    assert o.code == ExitCode.PROBLEM
    assert "empty file" not in o.stdout and "text file" in o.stdout, o.stdout


@pytest.mark.skipif(ROOT and not SETPRIV, reason="root reads chmod 000 files, and setpriv is not installed")
def test_unreadable_file_and_folder_in_a_folder_are_problems_for_them(tmp_path, bin_path):
    folder = tmp_path / "dist"
    (folder / "closed").mkdir(parents=True)
    shutil.copy(bin_path("static"), folder / "good")
    shutil.copy(bin_path("static"), folder / "secret")
    shutil.copy(bin_path("static"), folder / "closed" / "inner")
    (folder / "secret").chmod(0)
    (folder / "closed").chmod(0)
    try:
        o = run_cli("inspect", str(folder), "--json", no_dac=ROOT)
    finally:
        (folder / "closed").chmod(0o755)
    assert o.code == ExitCode.PROBLEM and o.stderr == "", o.stderr
    facts = {Path(a["path"]).name: a for a in json.loads(o.stdout)["artifacts"]}
    assert facts["good"]["kind"] == "elf" and not facts["good"]["problems"]
    assert facts["secret"]["problems"] == ["unreadable: permission denied"]
    assert "cannot list this folder (permission denied)" in facts["closed"]["problems"][0]
    closed = tmp_path / "closed-root"
    closed.mkdir()
    closed.chmod(0)
    one_line(run_cli("inspect", str(closed), no_dac=ROOT), 2, "cannot list this folder")


def test_check_sarif_has_one_location_per_artifact(tmp_path, bin_path):
    paths = []
    for name in ("a", "b", "c"):
        shutil.copy(bin_path("cgo-host"), tmp_path / name)
        paths.append(str(tmp_path / name))
    o = run_cli("check", *paths, "-t", "centos:7", "-f", "sarif")
    results = json.loads(o.stdout)["runs"][0]["results"]
    uris = sorted(loc["physicalLocation"]["artifactLocation"]["uri"] for r in results for loc in r["locations"])
    assert [u.rsplit("/", 1)[1] for u in uris] == ["a", "b", "c"], uris


# --------------------------------------------------------------------------------------------
# explain's log reader


def test_explain_refuses_endless_named_input(tmp_path):
    one_line(run_cli("explain", "/dev/zero", seconds=30), 2, "character device", "standard input")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    one_line(run_cli("explain", str(fifo), seconds=30), 2, "FIFO")


def test_merge_refuses_a_fifo_and_a_device_without_waiting(tmp_path):
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    one_line(run_cli("merge", str(fifo), seconds=30), 2, "not a regular file")
    one_line(run_cli("merge", "/dev/zero", seconds=30), 2, "not a regular file")


def test_explain_finds_an_error_at_the_end_of_a_long_line(tmp_path):
    log = tmp_path / "long.log"
    message = "./app: /lib64/libc.so.6: version `GLIBC_2.34' not found (required by ./app)"
    log.write_text("x" * 200_000 + " " + message + "\nnext line\n")
    o = run_cli("explain", str(log), "--json")
    assert o.code == ExitCode.PROBLEM, o.stderr
    assert "glibc" in o.stdout.lower()


def test_explain_reads_ff_fe_that_is_not_utf16(tmp_path):
    log = tmp_path / "fffe.log"
    log.write_bytes(b"\xff\xfe" + b"exec /usr/local/bin/app: exec format error\n")
    o = run_cli("explain", str(log))
    assert o.code == ExitCode.PROBLEM, (o.stdout, o.stderr)


# --------------------------------------------------------------------------------------------
# run: the artifact is streamed to the engine, not held in memory


@pytest.mark.docker
def test_run_streams_a_large_artifact(tmp_path, bin_path):
    from goci_doctor.lab.images import local_image_map
    from goci_doctor.model import EngineUnavailableError

    try:
        client = engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")
    if not client.images.list(name="goci/debian:bookworm"):
        pytest.skip("local image goci/debian:bookworm missing: run `goci-doctor images build`")
    cfg = tmp_path / "config.toml"
    lines = ["[run]", "allow_pull = false", "", "[images]"]
    cfg.write_text("\n".join([*lines, *(f'"{k}" = "{v}"' for k, v in local_image_map().items())]) + "\n")
    app = tmp_path / "app"
    shutil.copy(bin_path("static"), app)
    with app.open("r+b") as fh:
        fh.truncate(700 << 20)  # a 700 MB artifact (sparse on disk; the tar carries every byte)
    before = set(Path(tempfile.gettempdir()).glob("goci-artifact-*.tar"))  # other runs on this machine
    o = run_cli("--config", str(cfg), "run", str(app), "-t", "debian:bookworm", "--json", seconds=300)
    assert o.code == ExitCode.OK, (o.code, o.stderr)
    (run,) = json.loads(o.stdout)["runs"]
    assert run["exit_code"] == 0 and not run["timed_out"], run
    assert set(Path(tempfile.gettempdir()).glob("goci-artifact-*.tar")) <= before  # its tar is removed


# --------------------------------------------------------------------------------------------
# build outputs do not accumulate under the cache


def test_build_outputs_are_pruned(tmp_path, monkeypatch):
    from goci_doctor.lab import buildplan

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    project = buildplan.builds_dir() / "app-0123456789ab"
    now = time.time()
    ages = {"fresh-1": 10, "fresh-2": 20, "fresh-3": 30, "fresh-4": 40, "old": 2 * 86400}
    for name, age in ages.items():
        (project / name / "cgo-off").mkdir(parents=True)
        (project / name / "cgo-off" / "app").write_bytes(b"\0" * 1024)
        os.utime(project / name, (now - age, now - age))
    other = buildplan.builds_dir() / "other-0123456789ab" / "ancient"
    other.mkdir(parents=True)
    os.utime(other, (now - 3 * 86400, now - 3 * 86400))
    buildplan.prune_builds()
    assert sorted(p.name for p in project.iterdir()) == ["fresh-1", "fresh-2", "fresh-3"]
    assert not other.exists()
    assert str(buildplan.builds_dir()).startswith(str(tmp_path))


def test_check_of_a_folder_with_an_unreadable_file_predicts_nothing_for_it(tmp_path, bin_path):
    folder = tmp_path / "dist"
    folder.mkdir()
    shutil.copy(bin_path("static"), folder / "good")
    shutil.copy(bin_path("static"), folder / "secret")
    (folder / "secret").chmod(0)
    o = run_cli("check", str(folder), "-t", "debian:12", "--json", no_dac=ROOT)
    assert o.code == ExitCode.PROBLEM and o.stderr == "", o.stderr
    verdicts = {Path(v["artifact"]).name: v for v in json.loads(o.stdout)["diagnosis"]["verdicts"]}
    assert verdicts["good"]["outcome"] == "runs"
    secret = verdicts["secret"]
    assert secret["outcome"] == "unknown" and "could not be read (permission denied)" in secret["reason"], secret
    assert "exec format error" not in secret["message"]


@pytest.mark.parametrize(
    "argv",
    [
        ("inspect", "{m}"),
        ("check", "{m}"),
        ("explain", "{m}"),
        ("run", "{m}", "-t", "debian:bookworm"),
        ("merge", "{m}"),
        ("--config", "{m}", "targets"),
        ("tui", "--report", "{m}"),
    ],
)
def test_a_missing_path_is_named_one_way(tmp_path, argv):
    missing = str(tmp_path / "nothing-here")
    out = run_cli(*(a.format(m=missing) for a in argv))
    one_line(out, 2, f"{missing}: no such file")
