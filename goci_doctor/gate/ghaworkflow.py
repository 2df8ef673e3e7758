"""GitHub Actions workflows into go builds, with conditions, expressions and indirection respected.

One :class:`~goci_doctor.gate.buildmodel.GoBuild` per job, matrix combination and ``run`` step,
with: job and step ``if:`` (a step guarded by ``matrix.os == 'ubuntu-latest'``
yields nothing for the Windows combination), ``${{ }}`` expressions evaluated by
:mod:`goci_doctor.gate.ghaexpr` (``a && b || c``, ``runner.os``, ``inputs.*``), ``$GITHUB_ENV``
carried to later steps, ``make``/scripts in steps followed (:mod:`goci_doctor.gate.buildfollow`),
and local reusable workflows (``uses: ./.github/workflows/x.yml`` with ``with:``) read with
those inputs; ``workflow_call`` inputs default to their ``default:``.

Imports goci_doctor.gate.{yamlsrc, shell, buildmodel, matrix} (YAML with lines, shell scanning, GoBuild,
matrices), ghaexpr and buildfollow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import re2

from goci_doctor.gate.buildfollow import follow
from goci_doctor.gate.buildmodel import ConfigFacts, GoBuild
from goci_doctor.gate.ghaexpr import as_text, condition, evaluate
from goci_doctor.gate.matrix import expand_matrix
from goci_doctor.gate.shell import UNKNOWN, known, scan_shell, source_command
from goci_doctor.gate.yamlsrc import YMap, YSeq, env_map, load_yaml_file, scalar

_EXPR = re2.compile(r"\$\{\{(.*?)\}\}")
_MAX_CALL_DEPTH = 2
_RUNNER_OS = {"linux": "Linux", "windows": "Windows", "darwin": "macOS"}
_RUNNER_ARCH = {"amd64": "X64", "arm64": "ARM64"}


def _expand(text: str, ctx: dict[str, Any]) -> str:
    """``text`` with each ``${{ }}`` replaced by its value (UNKNOWN when it cannot be known)."""
    if "${{" not in text:
        return text

    def sub(m: Any) -> str:
        value = as_text(evaluate(m.group(1), ctx))
        return UNKNOWN if value is None else value

    return _EXPR.sub(sub, text)


def runner_platform(runs_on: str) -> tuple[str, str]:
    """(GOOS, GOARCH) of a GitHub-hosted runner label ("ubuntu-24.04-arm" → linux/arm64)."""
    low = runs_on.lower()
    if not known(low) or not low:
        return "linux", "amd64"
    if "windows" in low:
        return "windows", "arm64" if "arm" in low else "amd64"
    if "macos" in low:
        return "darwin", "amd64" if any(v in low for v in ("macos-13", "macos-12", "large")) else "arm64"
    return "linux", "arm64" if "arm" in low else "amd64"


def _input_defaults(doc: YMap) -> dict[str, Any]:
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on:` key as True
    call = on.get("workflow_call") if isinstance(on, dict) else None
    inputs = call.get("inputs") if isinstance(call, dict) else None
    out: dict[str, Any] = {}
    for name, spec in inputs.items() if isinstance(inputs, dict) else []:
        if isinstance(spec, dict) and "default" in spec:
            out[str(name)] = spec["default"]
    return out


def read_workflow(
    path: Path,
    rel: str,
    repo: Path | None = None,
    inputs: dict[str, Any] | None = None,
    depth: int = 0,
    caller: str = "",
) -> ConfigFacts:
    """The go builds of one workflow file (see the module docstring)."""
    facts = ConfigFacts(rel)
    doc = load_yaml_file(path, facts)
    if not isinstance(doc, YMap):
        return facts
    jobs = doc.get("jobs")
    if not isinstance(jobs, YMap):
        return facts
    if repo is None:
        as_posix = path.as_posix()
        repo = Path(as_posix[: -len(rel)] or ".") if as_posix.endswith(rel) else path.parent
    known_inputs = {**_input_defaults(doc), **(inputs or {})}
    wf_env_raw = doc.get("env")
    for job_id, job in jobs.items():
        if not isinstance(job, YMap):
            continue
        strategy = job.get("strategy")
        matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
        for combo in expand_matrix(matrix):
            label = ", ".join(f"{k}={scalar(v)}" for k, v in combo.items() if not isinstance(v, (dict, list)))
            context = f"job {job_id}" + (f", {label}" if label else "") + (f", called from {caller}" if caller else "")
            env: dict[str, str] = {}
            ctx: dict[str, Any] = {"matrix": combo, "env": env, "inputs": known_inputs}
            env.update(env_map(wf_env_raw, lambda s, c=ctx: _expand(s, c)))
            env.update(env_map(job.get("env"), lambda s, c=ctx: _expand(s, c)))
            host_os, host_arch = runner_platform(_expand(scalar(job.get("runs-on", "")), ctx))
            ctx["runner"] = {"os": _RUNNER_OS.get(host_os, ""), "arch": _RUNNER_ARCH.get(host_arch)}
            if condition(job.get("if"), ctx) is False:
                continue
            uses = job.get("uses")
            if isinstance(uses, str) and uses.startswith("./") and depth < _MAX_CALL_DEPTH:
                _call_reusable(facts, repo, uses, job, ctx, depth, f"{rel} job {job_id}")
                continue
            container = job.get("container")
            image = container.get("image") if isinstance(container, dict) else container
            image = _expand(scalar(image), ctx) if image else ""
            if image:
                cline = job.value_lines.get("container", job.line)
                if isinstance(container, YMap) and "image" in container:
                    cline = container.value_lines["image"]
                facts.images.append((cline, image))
                host_os = "linux"
            steps = job.get("steps")
            if not isinstance(steps, YSeq):
                continue
            shipped = _job_ships(steps)
            carried: dict[str, str] = {}
            for step in steps:
                if not isinstance(step, YMap) or (not isinstance(step.get("run"), str) and not _runs_goreleaser(step)):
                    continue
                step_env = {**env, **carried}
                sctx = {**ctx, "env": step_env}
                step_env.update(env_map(step.get("env"), lambda s, c=sctx: _expand(s, c)))
                if condition(step.get("if"), sctx) is False:
                    continue
                if _runs_goreleaser(step):
                    facts.release_envs.append(dict(step_env))
                if not isinstance(step.get("run"), str):
                    continue
                script = _expand(step["run"], sctx)
                scan = scan_shell(script, step_env)
                carried.update(scan.github_env)
                line = step.value_lines["run"]
                for sb in scan.builds:
                    command = source_command(step["run"], sb.offset, sb.raw)
                    facts.builds.append(
                        GoBuild(
                            rel, line + sb.offset, sb.env, tuple(sb.args), command,
                            host_os=host_os, host_arch=host_arch, image=image, context=context, shipped=shipped,
                        )
                    )  # fmt: skip
                if scan.calls and host_os == "linux":
                    _follow_step(facts, repo, scan, rel, line, host_os, host_arch, image, context)
    return facts


_SHIPPING_ACTIONS = ("upload-artifact", "gh-release", "upload-release", "release-action", "goreleaser",
                     "build-push-action", "create-release", "upload-to-", "s3-")  # fmt: skip
_SHIPPING_COMMANDS = re2.compile(r"\b(gh release|upload|docker push|aws s3|gsutil|scp|rsync|publish)\b")


def _runs_goreleaser(step: YMap) -> bool:
    uses, run = step.get("uses"), step.get("run")
    return (isinstance(uses, str) and "goreleaser" in uses.lower()) or (
        isinstance(run, str) and "goreleaser " in run[:20000] and "release" in run[:20000]
    )


def _job_ships(steps: YSeq) -> bool:
    """Whether a job uploads, releases or pushes anything (else its builds are compile checks)."""
    for step in steps:
        if not isinstance(step, YMap):
            continue
        uses = step.get("uses")
        if isinstance(uses, str) and any(a in uses.lower() for a in _SHIPPING_ACTIONS):
            return True
        run = step.get("run")
        if isinstance(run, str) and _SHIPPING_COMMANDS.search(run[:20000]):
            return True
    return False


def _follow_step(
    facts: ConfigFacts, repo: Path, scan: Any, rel: str, line: int, host_os: str, host_arch: str, image: str,
    context: str,
) -> None:  # fmt: skip
    followed = follow(scan, repo)
    for fb in followed.builds:
        facts.builds.append(
            GoBuild(
                rel, line + fb.offset, fb.build.env, tuple(fb.build.args), fb.command, host_os=host_os,
                host_arch=host_arch, image=image, context=f"{context}, via {fb.via}",
            )
        )  # fmt: skip


def _call_reusable(facts: ConfigFacts, repo: Path, uses: str, job: YMap, ctx: dict[str, Any], depth: int,
                   caller: str) -> None:  # fmt: skip
    target = uses.split("@", 1)[0][2:]
    path = (repo / target).resolve()
    root = repo.resolve()
    if root not in path.parents or not path.is_file():
        return
    with_raw = job.get("with")
    inputs: dict[str, Any] = {}
    for k, v in with_raw.items() if isinstance(with_raw, dict) else []:
        value: Any = v
        if isinstance(v, str) and "${{" in v:
            text = v.strip()
            whole = text.startswith("${{") and text.endswith("}}") and text.count("${{") == 1
            value = evaluate(text, ctx) if whole else _expand(text, ctx)
            if as_text(value) is None or UNKNOWN in str(value):
                continue  # unknown inputs stay unknown (their default does not apply either)
        inputs[str(k)] = value
    # Images of the called file are reported when that file is linted itself.
    called = read_workflow(path, path.relative_to(root).as_posix(), repo, inputs, depth + 1, caller)
    facts.builds += called.builds
