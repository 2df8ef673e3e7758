"""A failed exec → the file the process really named, inspected, and the usual crash chain.

The file is read in the process's own filesystem (``rootfs``); the environment it failed in (its
libc, whether its loader and libraries are there) is read from the same filesystem and handed to the
ordinary ``diagnosis.check_artifact`` as a target, with the exec's real outcome as an observed run.
So ENOEXEC becomes format/arch/OS, ENOENT on a present file a missing PT_INTERP loader, and a
126/127 exit with the loader's line on stderr a glibc floor or a missing library — the same chains
``check`` and ``run`` build. When the file is gone, the error alone is explained and that is said.
Imports: the core (artifact, diagnosis, explain, imagefs, model) and ``events``/``rootfs``.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

from goci_doctor import artifact
from goci_doctor.artifact import imagefs
from goci_doctor.diagnosis import check_artifact, predict
from goci_doctor.model import ArtifactFacts, Evidence
from goci_doctor.platforms import host_goarch
from goci_doctor.records import ChainNode, Diagnosis, RunResult, Target
from goci_doctor.trace.events import ExecDiagnosis, ExecEvent, Status
from goci_doctor.trace.rootfs import RootFS, read_fd

# What the kernel's errno reads as in a shell or Go's os/exec (the text users paste).
_ERRNO_TEXT = {
    "ENOEXEC": "exec format error",
    "ENOENT": "no such file or directory",
    "EACCES": "permission denied",
    "ETXTBSY": "text file busy",
    "E2BIG": "argument list too long",
    "ELIBBAD": "accessing a corrupted shared library",
}
_LOADER_WORDS = (
    "not found",
    "error while loading shared libraries",
    "No such file",
    "cannot open shared object",
    "Error loading shared library",
    "Error relocating",
    "symbol not found",
)


@dataclass(frozen=True)
class Located:
    """Where the exec's file was found, and the bytes read there (None when gone)."""

    data: bytes | None
    how: str
    fs: RootFS | None


def exec_message(ev: ExecEvent, stderr_lines: Sequence[str]) -> str:
    """The error as a user sees it: the loader's own line from stderr, or the errno as text."""
    if ev.status == "loader-failed":
        line = _loader_line(ev, stderr_lines)
        if line:
            return line
        return f"{ev.path}: exited {ev.exit_code} {ev.exited_after_s or 0:.3f}s after exec (no loader message seen)"
    return f"exec {ev.path}: {_ERRNO_TEXT.get(ev.result, ev.result)}"


def _environment_target(label: str, libc: str, facts: ArtifactFacts, missing: Sequence[str]) -> Target:
    kind, _, version = libc.partition(" ")
    lib = cast(Literal["glibc", "musl", "none"], kind if kind in ("glibc", "musl", "none") else "none")
    if version.startswith("("):
        version = ""
    present = tuple(n for n in facts.needed if n not in missing)
    return Target(
        name=label,
        title=label,
        archs=(host_goarch(),),
        libc=lib,
        libc_version=version,
        libraries=present,
        source=f"probed from image root of {label} (the process's own filesystem)",
    )


def _loader_line(ev: ExecEvent, stderr_lines: Sequence[str]) -> str:
    """The dynamic loader's complaint about this exec's file on stderr ("" when none was seen)."""
    name = posixpath.basename(ev.path) or ev.path
    hits = [ln.strip() for ln in stderr_lines if name and name in ln and any(w in ln for w in _LOADER_WORDS)]
    # The loader prints one line per missing version, lowest first: the last is the floor.
    glibc = [h for h in hits if "GLIBC_" in h]
    return (glibc or hits)[-1] if (glibc or hits) else ""


def diagnose(
    ev: ExecEvent,
    where: Located,
    label: str,
    stderr_lines: Sequence[str],
    binfmt: Sequence[str] = (),
    libc_cache: dict[str, str] | None = None,
) -> tuple[ExecDiagnosis | None, Status]:
    """The diagnosis of one exec and its final status.

    An exec of a path with nothing there (ENOENT, and the file is not in the process's filesystem)
    is a failure of its own (``_nothing_there``): the PATH search's misses were dropped before
    (``collect._path_misses``), so what is left named a file that does not exist, a wrong path or
    one never built or copied there. A quick exit 1/126/127 is a
    loader failure only when the loader said so on stderr, or when the file is a dynamically linked ELF
    whose loader, libraries or glibc versions are really missing in that filesystem; otherwise it
    is the program's own exit: (None, "ok").
    """
    loader_line = _loader_line(ev, stderr_lines) if ev.status == "loader-failed" else ""
    message = exec_message(ev, stderr_lines)
    if where.data is None:
        if ev.status == "not-found" and where.how != "gone":
            return _nothing_there(ev, where, label, message), "failed"
        if ev.status == "loader-failed" and not loader_line:
            return None, "ok"
        return _from_message_only(ev, message, label), ev.status if ev.status != "not-found" else "failed"
    facts = artifact.inspect_bytes(where.data, ev.path)
    if ev.status == "loader-failed" and (facts.kind != "elf" or not facts.interpreter):
        return None, "ok"
    status: Status = "failed" if ev.status == "not-found" else ev.status
    libc = ""
    if where.fs is not None:
        key = where.fs.label
        if libc_cache is not None and key in libc_cache:
            libc = libc_cache[key]
        else:
            libc = imagefs.probe_libc(where.fs, host_goarch())
            if libc_cache is not None:
                libc_cache[key] = libc
    missing = imagefs.find_missing(where.fs, facts) if where.fs is not None else ()
    target = _environment_target(label, libc or "none", facts, missing)
    if ev.status == "loader-failed" and not loader_line:
        predicted, _ = predict(facts, target, arch=host_goarch(), binfmt=binfmt, run_path=ev.path)
        if predicted.outcome != "crashes":
            return None, "ok"
        message = predicted.message
    notes: list[str] = []
    if missing:
        notes.append(f"missing in {label}: {', '.join(missing)}")
    predicted, _ = predict(facts, target, arch=host_goarch(), binfmt=binfmt, run_path=ev.path)
    if predicted.outcome == "crashes":
        # The environment read from the process's own filesystem explains it: that chain, plus the
        # traced exec itself as the observation.
        diag: Diagnosis = check_artifact(facts, [target], arch=host_goarch(), binfmt=binfmt)
    else:
        obs = RunResult(
            target=label,
            image=label,
            libc=libc or "unknown",
            outcome="crashes",
            exit_code=ev.exit_code,
            stderr=message,
            signal=ev.signal,
        )
        diag = check_artifact(facts, [target], runs=[obs], arch=host_goarch(), binfmt=binfmt)
    verdict = diag.verdicts[0] if diag.verdicts else None
    family = verdict.family if verdict is not None else ""
    chain = _pick(diag.chains, family)
    if chain is not None:
        seen = Evidence("traced exec", message, f"{ev.syscall} by pid {ev.pid} ({ev.comm}) in {label}")
        chain = dataclasses.replace(
            chain, title=message if ev.status == "loader-failed" else chain.title, evidence=(*chain.evidence, seen)
        )
    return ExecDiagnosis(
        event=ev,
        resolved=where.how,
        description=facts.description,
        environment=libc,
        family=family or (chain.family if chain else ""),
        message=message,
        chain=chain,
        notes=tuple(notes) + diag.notes,
    ), status


def _pick(chains: Sequence[ChainNode], family: str) -> ChainNode | None:
    for c in chains:
        if family and c.id.startswith(family + "/"):
            return c
    return chains[0] if chains else None


def _nothing_there(ev: ExecEvent, where: Located, label: str, message: str) -> ExecDiagnosis:
    """The exec named a path where the process's filesystem holds no file.

    No chain: the error text alone ("no such file or directory") is the one a missing loader gives
    too, and the explainer would say so; here the file itself was looked for and is not there.
    """
    return ExecDiagnosis(
        event=ev,
        resolved=where.how,
        description=f"no file at this path in {label}: the exec named a file that does not exist",
        environment="",
        family="",
        message=message,
        notes=(
            "not a missing loader: that gives the same error for a file that is there; check the "
            "path (and the working directory, for a relative one) and that the build or COPY step put it there",
        ),
    )


def _from_message_only(ev: ExecEvent, message: str, label: str) -> ExecDiagnosis:
    """The file is gone (or unreadable): explain the error alone, and say what is known."""
    from goci_doctor.diagnosis.explain import explain_text

    diag = explain_text(message, source="trace")
    chain = diag.chains[0] if diag.chains else None
    known = [f"{ev.syscall} returned {ev.result}" if ev.ret else "exec succeeded"]
    if ev.exit_code is not None:
        known.append(f"exit {ev.exit_code} after {ev.exited_after_s or 0:.3f}s")
    if ev.signal:
        known.append(f"killed by {ev.signal}")
    known.append(f"in {label}")
    return ExecDiagnosis(
        event=ev,
        resolved="gone",
        description="file gone before it could be read: " + ", ".join(known),
        environment="",
        family=chain.family if chain else "",
        message=message,
        chain=chain,
        notes=("the file and its filesystem were gone: explained from the error alone",),
    )


def locate(fs: RootFS | None, how: str, path: str, held_fd: int | None = None) -> Located:
    """Read the exec's file: from an fd held since the event, else through the process's root."""
    if held_fd is not None:
        data = read_fd(held_fd)
        if data is not None:
            return Located(data, how + " (file held open at event time)", fs)
    if fs is None:
        return Located(None, "gone", None)
    fd = fs.open(path)
    if fd is None:
        return Located(None, how + ": file not there", fs)
    import os

    try:
        return Located(read_fd(fd), how, fs)
    finally:
        os.close(fd)
