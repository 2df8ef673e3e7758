"""``goci-doctor run PATH --on-this-machine``: run the artifact directly on a disposable CI runner.

A GitHub Actions matrix (``ubuntu-22.04``, ``ubuntu-24.04-arm``, ``windows-latest``, ``macos-latest``,
a job ``container: centos:7``) can prove what no Linux container engine can run. The run keeps the
promises of the container lab where a plain process can: a deadline (the whole process group is
killed at it), bounded output (only a tail is kept, the rest is drained and dropped), no standard
input, a scratch working directory, and the same ``RunResult`` the lab produces, with the machine
really used ("runner ubuntu 24.04, glibc 2.39, arm64") in place of an image.

It is an explicit opt-in and refuses on a machine that does not look disposable (no ``CI``
variable) unless forced: running an untrusted artifact on a developer's own machine is what the
container lab exists to avoid.

Imports: model, config, hostenv, knowledge (lazily). Never the Docker SDK.
"""

from __future__ import annotations

import contextlib
import errno
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from goci_doctor.config import resolve_timeout
from goci_doctor.model import ArtifactFacts, BadInputError
from goci_doctor.records import RunResult

OUTPUT_LIMIT = 64 * 1024
"""Bytes of stdout and of stderr kept (the tail); everything beyond is read and dropped."""

_WINDOWS_BAD_IMAGE = 193
"""ERROR_BAD_EXE_FORMAT: "%1 is not a valid Win32 application"."""


@dataclass(frozen=True)
class ThisMachine:
    """The machine an ``--on-this-machine`` run really ran on."""

    target: str
    """The knowledge base's name when it knows this OS release ("ubuntu:24.04"), else a descriptive one."""
    description: str
    """Recorded as the run's image: "runner: Ubuntu 24.04.1 LTS (GitHub Actions, ubuntu-24.04)"."""
    libc: str
    """"glibc 2.39", "musl 1.2.5", "msvcrt", "darwin" or ""."""
    arch: str
    """Go naming of the machine's CPU (amd64, arm64, ...)."""
    where: str
    """Who produced the observation: the CI provider and runner ("GitHub Actions runner ubuntu-24.04")."""


def is_disposable(environ: Mapping[str, str]) -> bool:
    """True on a CI runner: a CI provider is detected (``CI=true`` or the provider's own variables)."""
    from goci_doctor import hostenv

    provider, _details, _vars = hostenv.detect_ci(environ)
    return bool(provider)


def describe_this_machine(environ: Mapping[str, str] | None = None) -> ThisMachine:
    """OS release, libc and architecture of the machine this process runs on."""
    from goci_doctor import hostenv, knowledge

    env = dict(os.environ if environ is None else environ)
    arch = hostenv.go_arch(platform.machine()) or platform.machine().lower()
    provider, details, _vars = hostenv.detect_ci(env)
    runner_name = details.get("image") or details.get("runner") or ""
    where = f"{provider} runner {runner_name}".strip() if provider else f"this machine ({platform.node() or 'host'})"
    system = platform.system()
    if system == "Linux":
        release = hostenv.read_os_release()
        distro, version = release.get("ID", "linux"), release.get("VERSION_ID", "")
        name = f"{distro}:{version}" if version else distro
        family, libc_version = hostenv.host_libc(env)
        libc = f"{family} {libc_version}".strip() if family else ""
        pretty = release.get("PRETTY_NAME") or name
    elif system == "Windows":
        version = platform.release()
        name = f"windows:{version}"
        libc = "msvcrt"
        pretty = f"Windows {version} ({platform.version()})"
    elif system == "Darwin":
        version = platform.mac_ver()[0]
        name = f"macos:{'.'.join(version.split('.')[:1])}" if version else "macos"
        libc = "darwin"
        pretty = f"macOS {version}".strip()
    else:
        name = system.lower() or "unknown"
        libc = ""
        pretty = f"{system} {platform.release()}".strip()
    known = knowledge.find_target(name)
    target = known.name if known is not None else name
    runner = f" ({provider}, {runner_name})" if provider and runner_name else f" ({provider})" if provider else ""
    return ThisMachine(target=target, description=f"runner: {pretty}{runner}", libc=libc, arch=arch, where=where)


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping only the last ``limit`` bytes (a flood costs no memory)."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.kept = bytearray()
        self.dropped = 0

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536):
                self.kept += chunk
                if len(self.kept) > self.limit:
                    cut = len(self.kept) - self.limit
                    self.dropped += cut
                    del self.kept[:cut]

    def text(self) -> str:
        prefix = f"[... {self.dropped} earlier bytes dropped]\n" if self.dropped else ""
        return prefix + self.kept.decode("utf-8", "replace")


def _start_error_message(path: Path, exc: OSError) -> tuple[str, int]:
    """The line a shell would print for a failed exec, and the shell's exit code (126 or 127)."""
    if getattr(exc, "winerror", None) == _WINDOWS_BAD_IMAGE:
        return f"{path}: %1 is not a valid Win32 application", 126
    if exc.errno == errno.ENOEXEC:
        return f"exec {path}: exec format error", 126
    if exc.errno == errno.ENOENT:
        # The file exists (checked before): what is missing is its loader (PT_INTERP) or interpreter.
        return f"exec {path}: no such file or directory", 127
    if exc.errno == errno.EACCES:
        return f"exec {path}: permission denied", 126
    return f"exec {path}: {exc.strerror or exc}", 126


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()


def _signal_name(returncode: int) -> str:
    if returncode >= 0:
        return ""
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run_here(
    artifact: str | os.PathLike[str],
    *,
    args: Sequence[str] = (),
    timeout: float = 20.0,
    machine: ThisMachine | None = None,
    target: str = "",
) -> RunResult:
    """Run ``artifact`` as a child process of this one, bounded like a lab cell, and judge the outcome.

    "runs" when it exits 0 or is still running at the deadline (a server started); "crashes" when
    the kernel refuses it, the loader fails (126/127), it exits non-zero or dies of a signal.
    """
    path = Path(artifact)
    try:
        st = path.stat()
    except OSError as exc:
        raise BadInputError(f"{artifact}: cannot run it here ({exc.strerror or exc})") from None
    if not path.is_file():
        raise BadInputError(f"{artifact}: not a regular file")
    # The one timeout check (config.settings): finite, above zero, at most a day; one line naming --timeout.
    timeout = resolve_timeout(timeout, 0.0)
    machine = machine or describe_this_machine()
    name = target or machine.target
    exe = path.resolve()
    if os.name == "posix" and not st.st_mode & 0o111:
        # Artifacts downloaded from CI lose their mode bits; the run is about the binary, not chmod.
        with contextlib.suppress(OSError):
            os.chmod(exe, st.st_mode | 0o500)
    started = time.monotonic()

    def result(outcome: Literal["runs", "crashes", "error"], **kw: object) -> RunResult:
        return RunResult(
            target=name,
            image=machine.description,
            libc=machine.libc,
            outcome=outcome,
            duration_s=round(time.monotonic() - started, 3),
            platform=f"{platform.system().lower()}/{machine.arch}",
            where=machine.where,
            **kw,  # type: ignore[arg-type]
        )

    with tempfile.TemporaryDirectory(prefix="goci-run-here-") as scratch:
        popen_kw: dict[str, object] = {}
        if os.name == "posix":
            popen_kw["start_new_session"] = True  # its own process group: the deadline kills the tree
        else:
            popen_kw["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        try:
            # The user asked for exactly this artifact to run, here.
            proc = subprocess.Popen(
                [str(exe), *args],
                cwd=scratch,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                **popen_kw,  # type: ignore[call-overload]
            )
        except OSError as exc:
            message, code = _start_error_message(exe, exc)
            return result("crashes", exit_code=code, stderr=message + "\n")
        assert proc.stdout is not None and proc.stderr is not None
        drains = [_Drain(proc.stdout, OUTPUT_LIMIT), _Drain(proc.stderr, OUTPUT_LIMIT)]
        for d in drains:
            d.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_tree(proc)
            proc.wait()
            for d in drains:
                d.join(timeout=5)
        out, err = drains[0].text(), drains[1].text()
        code = proc.returncode
        if timed_out:
            return result("runs", exit_code=None, stdout=out, stderr=err, timed_out=True)
        sig = _signal_name(code)
        exit_code = 128 - code if code < 0 else code
        outcome: Literal["runs", "crashes"] = "runs" if code == 0 else "crashes"
        return result(outcome, exit_code=exit_code, stdout=out, stderr=err, signal=sig)


def refuse_unless_disposable(force: bool, environ: Mapping[str, str] | None = None) -> None:
    """BadInputError (exit 2) on a machine that does not look like a disposable CI runner."""
    if force or is_disposable(os.environ if environ is None else environ):
        return
    raise BadInputError(
        "--on-this-machine runs the artifact directly on this machine; it only does so on a disposable CI "
        "runner (no CI variable is set here). Use `goci-doctor run` without it for a container, or add "
        "--force if this machine is disposable"
    )


def stderr_note(machine: ThisMachine) -> None:
    """One line on stderr saying where the run happens (CI logs show it next to the report)."""
    from goci_doctor.safety.safetext import clean_line

    print(
        clean_line(
            f"goci-doctor: running on this machine: {machine.description}, {machine.libc or 'libc unknown'}, "
            f"{machine.arch}"
        ),
        file=sys.stderr,
    )


def run_for_cli(
    path: str, run_args: Sequence[str], timeout: float, target: str, force: bool
) -> tuple[ArtifactFacts, RunResult]:
    """(artifact facts, result) for ``run PATH --on-this-machine``: refuse, inspect, then run."""
    from goci_doctor import artifact

    refuse_unless_disposable(force)
    facts = artifact.inspect_path(path)
    machine = describe_this_machine()
    stderr_note(machine)
    return facts, run_here(path, args=run_args, timeout=timeout, machine=machine, target=target)
