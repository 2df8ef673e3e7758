"""Which tracer watches the execs, and what it is told.

eBPF through Debian's ``bpftrace`` when we are root and the kernel has the tracepoints, else
``strace`` on the command's own tree. ``choose`` says which and why (``goci-doctor env`` prints it);
``bpftrace_program`` writes the program goci-doctor runs; ``strace_command`` the fallback's command
line. Only the standard library is imported: probing never runs the user's command.

Imports: nothing of goci_doctor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

TRACEFS_DIRS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
BTF_PATH = Path("/sys/kernel/btf/vmlinux")
REQUIRED_TRACEPOINTS = (
    "syscalls/sys_enter_execve",
    "syscalls/sys_exit_execve",
    "sched/sched_process_exec",
    "sched/sched_process_exit",
)
OPTIONAL_TRACEPOINTS = (
    "syscalls/sys_enter_execveat",
    "syscalls/sys_exit_execveat",
    "sched/sched_process_fork",
    "syscalls/sys_exit_pivot_root",
    "syscalls/sys_enter_exit_group",
    "syscalls/sys_enter_chdir",
    "syscalls/sys_exit_chdir",
)
READY = "GOCI-READY"
"""Printed by the program's BEGIN block: every probe is attached, the command may start."""
STRLEN = 200
"""Longest string bpftrace 0.17 copies (its own maximum): longer paths are cut, and said so."""
# The strace fallback: the issue's command line, except -q instead of -qq (-qq would also hide
# "+++ exited with 127 +++", the only sign of a loader failure), plus pids with their comm (-Y),
# epoch timestamps (-ttt), clone/fork so each exec gets its parent, and chdir/fchdir (-y names an
# fd's directory) so a relative path can be found after its process has died.
STRACE_TRACE = "execve,execveat,clone,clone3,fork,vfork,chdir,fchdir"


@dataclass(frozen=True)
class EngineChoice:
    """The tracer that would be used, and why; ``problems`` say what rules the other one out."""

    engine: Literal["bpftrace", "strace", ""]
    reason: str
    tracefs: str = ""
    """Where tracefs is mounted ("" when it is not, yet)."""
    btf: bool = False
    execveat: bool = False
    fork: bool = False
    pivot_root: bool = False
    exit_group: bool = False
    chdir: bool = False
    problems: tuple[str, ...] = field(default_factory=tuple)


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # tracefs is root-only: a plain user gets EACCES, not "absent"
        return False


def tracefs_dir() -> Path | None:
    """The mounted tracefs that holds the event tracepoints, or None."""
    for d in TRACEFS_DIRS:
        if _is_dir(d / "events"):
            return d
    return None


def mount_tracefs() -> Path | None:
    """Mount tracefs at /sys/kernel/tracing (root only); None when that fails."""
    target = TRACEFS_DIRS[0]
    if os.geteuid() != 0 or not _is_dir(target):
        return None
    try:
        subprocess.run(["mount", "-t", "tracefs", "tracefs", str(target)], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return tracefs_dir()


def _bpftrace_problem(is_root: bool, bpftrace: str | None) -> str:
    if bpftrace is None:
        return "bpftrace is not installed (apt-get install bpftrace)"
    if not is_root:
        return "eBPF needs root (run goci-doctor trace with sudo for bpftrace)"
    return ""


def choose(*, want: str = "auto", system: bool = False, mount: bool = False) -> EngineChoice:
    """Pick the engine. ``system``: the whole machine must be watched (only eBPF can);
    ``mount``: mount tracefs when it is missing and we are root (a trace does; ``env`` only looks)."""
    is_root = os.geteuid() == 0
    bpftrace = shutil.which("bpftrace")
    strace = shutil.which("strace")
    problems: list[str] = []
    problem = _bpftrace_problem(is_root, bpftrace)
    tfs = tracefs_dir()
    if not problem and tfs is None:
        if mount:
            tfs = mount_tracefs()
            if tfs is None:
                problem = "tracefs is not mounted and mounting it failed (mount -t tracefs tracefs /sys/kernel/tracing)"
        else:
            problem = ""  # root can mount it at trace time; say so in the reason
    found = {tp: tfs is not None and _is_dir(tfs / "events" / tp) for tp in REQUIRED_TRACEPOINTS + OPTIONAL_TRACEPOINTS}
    if not problem and tfs is not None:
        missing = [tp for tp in REQUIRED_TRACEPOINTS if not found[tp]]
        if missing:
            problem = "this kernel lacks the tracepoints " + ", ".join(missing)
    btf = BTF_PATH.exists()
    if problem:
        problems.append(problem)
    if want == "strace" or (want == "auto" and problem):
        if system:
            why = problem or "strace was asked for"
            return EngineChoice("", f"watching the whole machine needs eBPF: {why}", problems=tuple(problems))
        if strace is None:
            problems.append("strace is not installed (apt-get install strace)")
            return EngineChoice("", "no tracer: " + "; ".join(problems), problems=tuple(problems))
        reason = "strace, as asked" if want == "strace" else f"strace fallback: {problem}"
        return EngineChoice("strace", reason + " (the command's own process tree only)", problems=tuple(problems))
    if problem:
        return EngineChoice("", problem, problems=tuple(problems))
    where = str(tfs) if tfs is not None else "not mounted yet (mounted at /sys/kernel/tracing when tracing)"
    notes = "" if btf else "; no BTF (/sys/kernel/btf/vmlinux): parent pids, namespaces and signals are not read"
    return EngineChoice(
        "bpftrace",
        f"bpftrace (eBPF tracepoints, root; tracefs {where}){notes}",
        tracefs=str(tfs or ""),
        btf=btf,
        execveat=found["syscalls/sys_enter_execveat"] and found["syscalls/sys_exit_execveat"],
        fork=found["sched/sched_process_fork"],
        pivot_root=found["syscalls/sys_exit_pivot_root"],
        exit_group=found["syscalls/sys_enter_exit_group"],
        chdir=found["syscalls/sys_enter_chdir"] and found["syscalls/sys_exit_chdir"],
        problems=tuple(problems),
    )


def env_line() -> str:
    """One line for ``goci-doctor env``: the engine ``trace`` would use, and why."""
    choice = choose()
    return choice.reason if choice.engine else f"none: {choice.reason}"


# --------------------------------------------------------------------------------------------
# bpftrace


def bpftrace_program(choice: EngineChoice, roots: Sequence[int] = (), *, system: bool = False) -> str:
    """The bpftrace program: one tab-separated line per record (see ``parse.BpftraceParser``).

    Tree scope follows ``roots`` and every process they fork, in the kernel (a map of tracked pids),
    so nothing outside the tree is ever printed. ``system`` prints every exec on the machine.
    """
    btf = choice.btf
    ppid = "curtask->real_parent->tgid" if btf else "0"
    mntns = "curtask->nsproxy->mnt_ns->ns.inum" if btf else "0"
    only = "" if system else "/@t[pid]/ "
    lines = ["BEGIN {"]
    lines += [f"  @t[{int(p)}] = 1;" for p in roots]
    lines += [f'  printf("{READY}\\n");', "}"]
    if not system and choice.fork:
        # F lines give each process its parent even when it never execs (a subshell that cd's).
        lines += [
            "tracepoint:sched:sched_process_fork /@t[pid]/ {",
            '  @t[args->child_pid] = 1; printf("F\\t%d\\t%d\\n", pid, args->child_pid);',
            "}",
        ]
    if not system and choice.chdir:
        # A relative exec path is resolved afterwards from the chdirs seen, from the command's own directory.
        lines += [
            'tracepoint:syscalls:sys_enter_chdir /@t[pid]/ { printf("C\\t%llu\\t%d\\t%d\\t%s\\n", '
            "nsecs, pid, tid, str(args->filename)); }",
            'tracepoint:syscalls:sys_exit_chdir /@t[pid]/ { printf("CR\\t%d\\t%d\\n", tid, args->ret); }',
        ]
    calls = ["execve"] + (["execveat"] if choice.execveat else [])
    for call in calls:
        tag = "E" if call == "execve" else "EA"
        # Two printfs in separate blocks: one would exceed the 512-byte BPF stack with two strings.
        lines += [
            f"tracepoint:syscalls:sys_enter_{call} {only}{{",
            f'  printf("{tag}\\t%llu\\t%d\\t%d\\t%d\\t%u\\t%s\\t%s\\n", nsecs, pid, tid, {ppid}, {mntns}, comm, '
            "str(args->filename));",
            "}",
            f'tracepoint:syscalls:sys_enter_{call} {only}{{ printf("A\\t%d\\t%s\\n", tid, str(args->argv[0])); }}',
            f'tracepoint:syscalls:sys_exit_{call} {only}{{ printf("R\\t%llu\\t%d\\t%d\\t%d\\n", nsecs, pid, tid, '
            "args->ret); delete(@n[tid]); }",
            # The kernel's own name of the program is only printed when str() could not copy the
            # user's (page not present): one line fewer to print and read per exec.
            f"tracepoint:syscalls:sys_enter_{call} {only.replace('/ ', ' && ') if only else '/'}"
            'str(args->filename) == ""/ { @n[tid] = 1; }',
        ]
    lines += [
        f"tracepoint:sched:sched_process_exec {only}{{ @x[pid] = 1; }}",
        'tracepoint:sched:sched_process_exec /@n[tid]/ { printf("S\\t%llu\\t%d\\t%s\\n", nsecs, pid, '
        "str(args->filename)); }",
    ]
    if btf:
        lines += [
            "tracepoint:sched:sched_process_exit /@x[pid] && pid == tid/ {",
            '  printf("Q\\t%llu\\t%d\\t%d\\n", nsecs, pid, curtask->exit_code); delete(@x[pid]);',
            "}",
        ]
    elif choice.exit_group:
        # Without BTF the exit code comes from exit_group (a signal death is not seen).
        lines += [
            "tracepoint:syscalls:sys_enter_exit_group /@x[pid]/ {",
            '  printf("Q\\t%llu\\t%d\\t%d\\n", nsecs, pid, args->error_code << 8); delete(@x[pid]);',
            "}",
        ]
    if not system:
        lines += ["tracepoint:sched:sched_process_exit /@t[tid]/ { delete(@t[tid]); }"]
    if choice.pivot_root and btf:
        # A container's root is ready at pivot_root: goci-doctor grabs it before the container's
        # program even starts, so it can still read that filesystem when the container dies at once.
        lines += [
            "tracepoint:syscalls:sys_exit_pivot_root /args->ret == 0/ {",
            f'  printf("P\\t%llu\\t%d\\t%u\\n", nsecs, pid, {mntns});',
            "}",
        ]
    # @t exists only when the program tracks a tree; clearing an undefined map is a compile error.
    lines += ["END { clear(@t); clear(@x); clear(@n); }" if roots or not system else "END { clear(@x); clear(@n); }"]
    return "\n".join(lines) + "\n"


def bpftrace_command(program_file: str) -> list[str]:
    # -B line: one event per line as it happens (a pipe would otherwise be block-buffered).
    return ["bpftrace", "-B", "line", program_file]


def bpftrace_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPFTRACE_")}
    env["BPFTRACE_STRLEN"] = str(STRLEN)
    env["BPFTRACE_MAP_KEYS_MAX"] = "65536"
    env["BPFTRACE_NO_CPP_DEMANGLE"] = "1"
    return env


def strace_command(output: str, command: Sequence[str] = (), pids: Sequence[int] = ()) -> list[str]:
    """The fallback tracer's command line: ``command`` run under strace, or the running ``pids``
    followed (``-p``), writing to ``output``; the same options either way."""
    follow = ["--", *command] if command else [arg for pid in pids for arg in ("-p", str(pid))]
    return [
        "strace",
        "-f",
        "-q",
        "-Y",
        "-y",
        "-ttt",
        "-s",
        "4096",
        "-e",
        f"trace={STRACE_TRACE}",
        "-e",
        "signal=none",
        "-o",
        output,
        *follow,
    ]
