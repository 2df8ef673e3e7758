"""Process plumbing for a trace: the command held at a gate before its exec, its stderr passed
through and kept, the tree below a pid, and where a (possibly dead) process's directory was.

Standard library only.

Imports: nothing of goci_doctor.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

STDERR_KEEP = 256 * 1024
"""Bytes of the command's stderr kept to find loader messages (all of it is passed through)."""


class StderrTee:
    """Copies a pipe to our stderr as it comes, keeping the tail for loader messages."""

    def __init__(self, fd: int, sink: IO[bytes] | None) -> None:
        self.fd = fd
        self.sink = sink
        self.tail: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            if self.sink is not None:
                with contextlib.suppress(OSError, ValueError):
                    self.sink.write(chunk)
                    self.sink.flush()
            self.tail.append(chunk)
            self.size += len(chunk)
            while self.size > STDERR_KEEP and len(self.tail) > 1:
                self.size -= len(self.tail.popleft())
        os.close(self.fd)

    def lines(self) -> list[str]:
        self.thread.join(timeout=5)
        return b"".join(self.tail).decode("utf-8", "replace").splitlines()


def cwd_of(pid: int, ppid: int) -> str:
    """The working directory of ``pid`` as it sees it; its parent's when it is already gone (a
    forked child that failed to exec dies at once, and it inherited the parent's directory)."""
    for who in (pid, ppid):
        if not who:
            continue
        try:
            cwd = os.readlink(f"/proc/{who}/cwd")
            root = os.readlink(f"/proc/{who}/root")
        except OSError:
            continue
        if root != "/" and cwd.startswith(root):
            cwd = cwd[len(root) :] or "/"
        return cwd
    return ""


def spawn_gated(command: Sequence[str], stdout_fd: int | None, stderr_w: int) -> tuple[int, int]:
    """Fork the command, held before exec until a byte arrives on the returned gate fd."""
    program = shutil.which(command[0]) if "/" not in command[0] else command[0]
    gate_r, gate_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: nothing but fd plumbing before the exec the user asked for
        try:
            os.close(gate_w)
            if stdout_fd is not None:
                os.dup2(stdout_fd, 1)
            os.dup2(stderr_w, 2)
            if not os.read(gate_r, 1):
                os._exit(125)
            os.close(gate_r)
            os.execv(program or command[0], list(command))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.write(2, f"goci-doctor: cannot run {command[0]}: {exc.strerror}\n".encode())
            os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
        os._exit(125)
    os.close(gate_r)
    return pid, gate_w


def descendants(root: int) -> list[int]:
    """``root`` and every process below it now (from /proc)."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            children[int(fields[1])].append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_child(pid: int) -> int:
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
    return os.waitstatus_to_exitcode(status)
