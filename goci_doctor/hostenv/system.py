"""The host system: OS release, libc, binfmt_misc handlers (qemu).

Imports: hostenv.tools, platforms.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import platform
import re
from collections.abc import Mapping
from pathlib import Path

from goci_doctor import platforms
from goci_doctor.hostenv.tools import BINFMT_DIR, TOOL_TIMEOUT, _run

# --------------------------------------------------------------------------------------------
# Host: OS, libc, binfmt_misc


def read_os_release(path: str | Path = "/etc/os-release") -> dict[str, str]:
    """Parse an os-release file (KEY=value, optionally quoted) into a dict; {} when absent."""
    out: dict[str, str] = {}
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key.strip()] = value
    return out


def host_libc(environ: Mapping[str, str] | None = None, timeout: float = TOOL_TIMEOUT) -> tuple[str, str]:
    """(family, version) of the host C library: ("glibc", "2.36"), ("musl", "1.2.4") or ("", "")."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        fn = libc.gnu_get_libc_version
        fn.restype = ctypes.c_char_p
        raw = fn()
        if raw:
            return "glibc", raw.decode("ascii", "replace")
    except (OSError, AttributeError):
        pass
    env = dict(os.environ if environ is None else environ)
    loaders = sorted(glob.glob("/lib/ld-musl-*.so.1"))
    if loaders:
        # Run without arguments, the musl loader prints its usage with "Version x.y.z" on stderr.
        _code, out, err = _run([loaders[0]], env, timeout)
        m = re.search(r"Version\s+([0-9][0-9.]*)", out + err)
        return "musl", m.group(1) if m else ""
    code, out, err = _run(["ldd", "--version"], env, timeout)
    if code is not None and "musl" in (out + err).lower():
        m = re.search(r"Version\s+([0-9][0-9.]*)", out + err)
        return "musl", m.group(1) if m else ""
    family, version = platform.libc_ver()
    if family == "glibc":
        return "glibc", version
    return family, version


def read_binfmt(root: str | Path = BINFMT_DIR) -> tuple[str, ...]:
    """Registered binfmt_misc handlers, e.g. "qemu-aarch64 (enabled, /usr/bin/qemu-aarch64-static, flags F)".

    Returns () when binfmt_misc is not mounted. A globally disabled binfmt_misc is reported
    as such on each handler.
    """
    base = Path(root)
    try:
        entries = sorted(p for p in base.iterdir() if p.name not in ("register", "status"))
    except OSError:
        return ()
    global_off = False
    with contextlib.suppress(OSError):
        global_off = (base / "status").read_text().strip() == "disabled"
    handlers: list[str] = []
    for entry in entries:
        try:
            lines = entry.read_text(errors="replace").splitlines()
        except OSError:
            continue
        state = "disabled"
        interpreter = ""
        flags = ""
        for line in lines:
            line = line.strip()
            if line in ("enabled", "disabled"):
                state = line
            elif line.startswith("interpreter "):
                interpreter = line.split(" ", 1)[1].strip()
            elif line.startswith("flags:"):
                flags = line.split(":", 1)[1].strip()
        if global_off:
            state = "disabled (binfmt_misc off)"
        details = [state]
        if interpreter:
            details.append(interpreter)
        if flags:
            details.append(f"flags {flags}")
        handlers.append(f"{entry.name} ({', '.join(details)})")
    return tuple(handlers)


def binfmt_handler(arch: str, root: str | Path = "/proc/sys/fs/binfmt_misc") -> bool:
    """True when the kernel will run ``arch`` (Go naming) binaries through an enabled qemu handler.

    An entry can stay registered but disabled (``update-binfmts --disable`` with an older
    binfmt-support, ``echo 0 > qemu-aarch64``), and binfmt_misc itself can be switched off:
    neither emulates anything, so both count as no handler.
    """
    row = platforms.arch(arch)
    qemu = row.qemu if row is not None else arch
    base = Path(root)
    try:
        if base.joinpath("status").read_text().strip() != "enabled":
            return False
        return base.joinpath(f"qemu-{qemu}").read_text().splitlines()[0].strip() == "enabled"
    except (OSError, IndexError):
        return False
