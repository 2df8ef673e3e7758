"""The loader matrix: what `check` predicts against what `run` really sees, per binary kind × local image.

Run it (``python scripts/loader_matrix.py``) to print the matrix as a Markdown table for
docs/benchmarks.md; ``tests/test_loader_matrix.py`` asserts that every cell agrees. Binary kinds come
from tests/fixtures/build.py (real Go, C and C++ builds) plus scripts, empty and truncated files and
the host's own /bin/ls. Each kind runs once per image through the real container lab; the
prediction is made with the same image map, so a present local image lends its real filesystem.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from goci_doctor.lab import engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

TARGETS = (
    "debian:bullseye",
    "debian:bookworm",
    "debian:trixie",
    "alpine:3.20",
    "scratch",
    "distroless/static",
    "golang:trixie",
)
BUILT_KINDS = (
    ("static", "static Go (CGO_ENABLED=0)"),
    ("cgo-host", "cgo, host glibc 2.36"),
    ("cgo-zig217", "cgo, zig cc glibc 2.17"),
    ("arm64", "Go linux/arm64"),
    ("i386", "Go linux/386"),
    ("windows", "Windows console .exe"),
    ("windows-gui", "Windows GUI .exe"),
    ("darwin", "Mach-O (darwin/arm64)"),
    ("cgo-musl", "cgo, musl dynamic"),
    ("cgo-musl-static", "cgo, musl static"),
    ("c-hello", "C program (gcc)"),
    ("cxx-hello", "C++ program (g++)"),
    ("pie-nocgo", "PIE without cgo"),
    ("cgo-static-glibc", "cgo, static glibc"),
    ("c-sqlite", "C program needing libsqlite3"),
)
BAD_KINDS = (
    ("script", "#!/bin/sh script"),
    ("script-bash", "#!/bin/bash script"),
    ("empty", "empty file"),
    ("truncated", "truncated ELF"),
)
# Binaries nobody here built: this host's own programs (Debian 12 packages), C and Go with cgo.
HOST_KINDS = (
    ("host-ls", "/bin/ls of the host (C, libselinux)", "/bin/ls"),
    ("host-find", "/usr/bin/find of the host (C, libselinux, libm)", "/usr/bin/find"),
    ("host-runc", "runc of the host (Go + cgo, libseccomp)", "/usr/sbin/runc"),
    ("host-containerd", "containerd of the host (Go + cgo)", "/usr/bin/containerd"),
)
ARGS = {"host-find": ("--version",), "host-runc": ("--version",), "host-containerd": ("--version",)}
"""Arguments that make a program that started exit 0 (a daemon without its directories exits 1)."""


@dataclass
class Cell:
    kind: str
    target: str
    image: str
    predicted: str
    """"runs", "crashes" or "unknown"."""
    predicted_message: str
    real: str
    real_message: str
    family: str

    @property
    def agrees(self) -> bool:
        if self.predicted != self.real:
            return False
        return self.real != "crashes" or _core(self.predicted_message) == _core(self.real_message)


def _core(message: str) -> str:
    """A message with the artifact's path reduced to its name (check says ./app, run says /goci/app)."""
    return re.sub(r"(?:\./|/goci/)([\w.+-]+)", r"\1", message.strip())


def kinds(workdir: Path) -> dict[str, tuple[Path, str]]:
    """Kind name -> (file, description); kinds whose toolchain is missing are left out."""
    import build as fixture_build

    built = fixture_build.build_all()
    bad = fixture_build.make_bad_files(workdir / "bad")
    out: dict[str, tuple[Path, str]] = {}
    for name, desc in BUILT_KINDS:
        path = built[name].path
        if path is not None:
            out[name] = (path, desc)
    for name, desc in BAD_KINDS:
        if name in bad:
            out[name] = (bad[name], desc)
    for name, desc, host_path in HOST_KINDS:
        if Path(host_path).is_file():
            copy = workdir / name
            copy.write_bytes(Path(host_path).read_bytes())
            out[name] = (copy, desc)
    return out


def measure(
    kinds_: dict[str, tuple[Path, str]],
    targets: tuple[str, ...] = TARGETS,
    client: object = None,
    knowledge_only: bool = False,
) -> list[Cell]:
    """Every kind × target: the prediction of `check` and the outcome of a real `run`.

    ``knowledge_only`` predicts without reading the images (the knowledge base's lists alone), as
    `check` does where the target's image is not present.
    """
    from goci_doctor import diagnosis
    from goci_doctor.artifact import inspect_path
    from goci_doctor.cli.common import resolve_targets
    from goci_doctor.config import Config, RunSettings
    from goci_doctor.lab import docker as lab
    from goci_doctor.lab.imagefiles import open_images
    from goci_doctor.lab.images import local_image_map

    config = Config(images=local_image_map(), run=RunSettings(allow_pull=False))
    client = client or engine.connect()
    cells = []
    for name, (path, _desc) in kinds_.items():
        facts = inspect_path(path)
        runner = lab.DockerRunner(config=config, client=client, max_workers=6)
        matrix = runner.run_matrix(path, targets, args=ARGS.get(name, ()), timeout=30, facts=facts)
        results = {r.target: r for r in matrix}
        resolved = resolve_targets(list(targets))
        with open_images(() if knowledge_only else resolved, config) as images:
            predicted = diagnosis.check_artifact(facts, resolved, images=images).verdicts
        for target, verdict in zip(targets, predicted, strict=True):
            real = results[target]
            cells.append(
                Cell(
                    name,
                    target,
                    real.image,
                    verdict.outcome,
                    verdict.message,
                    real.outcome,
                    real.message or real.error,
                    verdict.family,
                )
            )
    return cells


def markdown(cells: list[Cell], kinds_: dict[str, tuple[Path, str]], targets: tuple[str, ...] = TARGETS) -> str:
    """The matrix as a Markdown table: ✔ runs, ✘ crashes; a disagreement shows both."""
    head = "| binary | " + " | ".join(targets) + " |"
    lines = [head, "|" + "---|" * (len(targets) + 1)]
    by = {(c.kind, c.target): c for c in cells}
    for name, (_p, desc) in kinds_.items():
        row = [desc]
        for t in targets:
            c = by[(name, t)]
            mark = "runs" if c.real == "runs" else "crashes" if c.real == "crashes" else c.real
            row.append(mark if c.agrees else f"**{mark} (check: {c.predicted})**")
        lines.append("| " + " | ".join(row) + " |")
    agree = sum(c.agrees for c in cells)
    lines.append("")
    lines.append(f"`check` = `run` in {agree} of {len(cells)} cells.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description="check vs run on every binary kind × local image")
    ap.add_argument("--knowledge-only", action="store_true", help="predict without reading the images")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ks = kinds(Path(tmp))
        cells = measure(ks, knowledge_only=args.knowledge_only)
        for c in cells:
            if not c.agrees:
                print(
                    f"DISAGREE {c.kind} on {c.target}: check {c.predicted} [{c.family}] {c.predicted_message!r}"
                    f" | run {c.real} {c.real_message!r}",
                    file=sys.stderr,
                )
        sys.stdout.write(markdown(cells, ks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
