"""Renderers of a ``build`` matrix: the variant × target table as text, Markdown, JSON and SARIF.

The text and Markdown forms end with the crash chain of the project's own build, each fix marked
where a variant proved it (``lab.builds.matrix_diagnosis``).
Imports: ``model``, ``lab.builds`` (the matrix and its verdicts), ``render``, ``render.sarif`` and
``render.documents``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from goci_doctor.lab.buildmatrix import BuildMatrix, is_skipped, matrix_diagnosis, variant, where_ran
from goci_doctor.records import BuildResult, RunResult
from goci_doctor.render.documents import document, dumps
from goci_doctor.safety import linear

_GLIBC_RE = linear.compile(r"version `(GLIBC_[0-9.]+)' not found")


def short_error(run: RunResult) -> str:
    """The cell text for a run: "runs", or the telling part of the error ("GLIBC_2.34 not found")."""
    if run.outcome == "runs":
        return "runs"
    if run.outcome == "error":
        # The engine could not run it (no image, engine died): not a verdict about the binary.
        return "not run"
    text = f"{run.stderr}\n{run.stdout}\n{run.error}"
    glibc = _GLIBC_RE.findall(text)
    if glibc:
        top = max(glibc, key=lambda g: tuple(int(p) for p in g.split("_")[1].split(".") if p.isdigit()))
        return f"{top} not found"
    lowered = text.lower()
    for known in (
        "exec format error",
        "no such file or directory",
        "not found",
        "segmentation fault",
        "illegal instruction",
    ):
        if known in lowered:
            return known
    if run.timed_out:
        return "timed out"
    if run.signal:
        return f"killed by {run.signal}"
    message = run.message or (f"exit {run.exit_code}" if run.exit_code is not None else run.outcome)
    return message if len(message) <= 48 else message[:45] + "..."


def _build_cell(b: BuildResult) -> str:
    if b.ok:
        return "ok"
    return "skipped" if is_skipped(b) else "FAILED"


def _rows(matrix: BuildMatrix) -> tuple[list[str], list[list[str]]]:
    header = ["variant", "build", *matrix.targets]
    rows = []
    for b in matrix.builds:
        cells = [b.variant, _build_cell(b)]
        for t in matrix.targets:
            r = matrix.run(b.variant, t)
            if r is not None:
                cells.append(short_error(r))
            else:
                cells.append("not run" if b.variant in matrix.not_run else "-")
        rows.append(cells)
    return header, rows


def _target_lines(matrix: BuildMatrix) -> list[str]:
    lines = []
    for t in matrix.targets:
        r = next((r for r in matrix.runs if r.target == t and r.image), None)
        if r is not None:
            lines.append(f"  {t}: {r.image}" + (f" ({r.libc})" if r.libc else ""))
    return lines


def render_text(matrix: BuildMatrix) -> str:
    """The variant × target table, the targets really used, and why failed builds failed."""
    header, rows = _rows(matrix)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = [f"Diagnostic builds of {matrix.project} in {matrix.build_image}"]
    toolchain = next((b.toolchain for b in matrix.builds if b.toolchain), "")
    if toolchain:
        out.append(f"Go: {toolchain}")
    targets = _target_lines(matrix)
    if targets:
        out += ["targets (image, libc really found):", *targets]
    out.append("")
    for r in [header, *rows]:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    notes = _notes(matrix)
    if notes:
        out += ["", "notes:", *(f"  {n}" for n in notes)]
    return "\n".join(out) + "\n"


def _notes(matrix: BuildMatrix) -> list[str]:
    """Why builds failed or were skipped, why runs did not happen, and what the winners prove."""
    notes = []
    for b in matrix.builds:
        if not b.ok:
            notes.append(f"{b.variant}: {b.reason}")
        elif b.variant in matrix.not_run:
            notes.append(f"{b.variant} not run: {matrix.not_run[b.variant]}")
        elif b.variant != "as-configured" and matrix.targets and matrix.works_on(b.variant) == matrix.targets:
            notes.append(f"{b.variant} runs on every target: {variant(b.variant).proves}")
    seen = set()
    for r in matrix.runs:
        if r.outcome == "error" and r.target not in seen:
            seen.add(r.target)
            notes.append(f"{r.target} not run: {r.error or r.message}")
    return notes


def render_markdown(matrix: BuildMatrix) -> str:
    """The same table as Markdown, for an issue or a PR comment."""
    header, rows = _rows(matrix)
    out = [f"### Diagnostic builds of `{matrix.project}` in `{matrix.build_image}`", ""]
    out += [f"- `{line.strip()}`" for line in _target_lines(matrix)]
    out += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    notes = _notes(matrix)
    if notes:
        out += ["", *[f"- {n}" for n in notes]]
    return "\n".join(out) + "\n"


def build_document(matrix: BuildMatrix) -> dict[str, Any]:
    """The ``build`` JSON document: builds + runs (plus the targets and build image) and the
    diagnosis of the project's own build (None when it produced nothing to judge)."""
    diag = matrix_diagnosis(matrix)
    return document(
        "build",
        project=matrix.project,
        build_image=matrix.build_image,
        targets=matrix.targets,
        builds=matrix.builds,
        runs=matrix.runs,
        not_run=matrix.not_run,
        diagnosis=diag,
    )


def render_json(matrix: BuildMatrix) -> str:
    """The ``build`` document as JSON text (``build --json``)."""
    return dumps(build_document(matrix))


SARIF_RULES_HELP = {
    "build-variant-crashes": (
        "A rebuilt variant crashes on a target",
        "The binary was rebuilt from the project and really run in the target image.",
    ),
    "build-variant-fails": ("A diagnostic build variant fails to build", "go build failed in the build container."),
}


def render_sarif(matrix: BuildMatrix) -> str:
    """SARIF 2.1.0: a result per observed crash and per failed build, pinned to go.mod."""
    from goci_doctor import __version__
    from goci_doctor.render import sarif

    rules = [
        sarif.SarifRule(rule_id, rule_id, short, full=full, level="error")
        for rule_id, (short, full) in SARIF_RULES_HELP.items()
    ]
    uri = "go.mod" if (Path(matrix.project) / "go.mod").exists() else ""
    results: list[sarif.SarifResult] = []
    for r in matrix.runs:
        if r.outcome == "crashes":
            results.append(
                sarif.SarifResult(
                    "build-variant-crashes",
                    f"{r.variant} build crashes on {where_ran(r)}: {short_error(r)}",
                    level="error" if r.variant == "as-configured" else "warning",
                    uri=uri,
                    properties={"variant": r.variant, "target": r.target, "image": r.image},
                )
            )
    for b in matrix.builds:
        if not b.ok and not is_skipped(b):
            results.append(
                sarif.SarifResult(
                    "build-variant-fails",
                    f"{b.variant} build fails: {b.reason}",
                    level="error" if b.variant == "as-configured" else "note",
                    uri=uri,
                    properties={"variant": b.variant},
                )
            )
    return json.dumps(sarif.sarif_log("goci-doctor", __version__, rules, results), indent=2) + "\n"


def with_chain(render: Callable[[BuildMatrix], str], fmt: str) -> Callable[[BuildMatrix], str]:
    def rendered(matrix: BuildMatrix) -> str:
        from goci_doctor.render.markdown import markdown_chain_lines
        from goci_doctor.render.text import chain_lines

        text = render(matrix)
        diag = matrix_diagnosis(matrix)
        if diag is None or not diag.chains:
            return text
        if fmt == "markdown":
            chains = [ln for chain in diag.chains for ln in ["", *markdown_chain_lines(chain, builds=matrix.builds)]]
            return text + "\n### Crash chain\n" + "\n".join(chains) + "\n"
        chains = [ln for chain in diag.chains for ln in ["", *chain_lines(chain, builds=matrix.builds)]]
        return text + "\nCrash chain (fixes marked [✔ proven] really ran on the targets)\n" + "\n".join(chains) + "\n"

    return rendered


RENDERERS: dict[str, Callable[[BuildMatrix], str]] = {
    "text": with_chain(render_text, "text"),
    "markdown": with_chain(render_markdown, "markdown"),
    "json": render_json,
    "sarif": render_sarif,
}
