"""GitLab CI into facts: one go build per job (``extends`` applied), ``parallel:matrix`` entry and script line.

Imports goci_doctor.gate.{yamlsrc, shell, buildmodel, matrix, buildfollow}.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from goci_doctor.gate.buildfollow import follow
from goci_doctor.gate.buildmodel import ConfigFacts, GoBuild, shell_builds
from goci_doctor.gate.matrix import expand_matrix
from goci_doctor.gate.shell import expand_vars, scan_shell
from goci_doctor.gate.yamlsrc import YMap, YSeq, env_map, load_yaml_file, scalar

_GITLAB_RESERVED = {
    "image",
    "services",
    "stages",
    "types",
    "before_script",
    "after_script",
    "variables",
    "cache",
    "include",
    "default",
    "workflow",
}


def _gitlab_image(value: Any) -> str:
    if isinstance(value, dict):
        return scalar(value.get("name", ""))
    return scalar(value)


def _gitlab_extends(doc: YMap, job: YMap, depth: int = 0) -> YMap:
    parents = job.get("extends")
    if not parents or depth > 5:
        return job
    merged = YMap(job)
    merged.line = job.line
    merged.key_lines, merged.value_lines, merged.value_cols = (
        dict(job.key_lines),
        dict(job.value_lines),
        dict(job.value_cols),
    )
    for name in parents if isinstance(parents, list) else [parents]:
        parent = doc.get(name)
        if isinstance(parent, YMap):
            parent = _gitlab_extends(doc, parent, depth + 1)
            for k, v in parent.items():
                if k not in merged:
                    merged[k] = v
                    merged.key_lines[k] = parent.key_lines.get(k, parent.line)
                    merged.value_lines[k] = parent.value_lines.get(k, parent.line)
                    merged.value_cols[k] = parent.value_cols.get(k, 1)
    return merged


def read_gitlab(path: Path, rel: str) -> ConfigFacts:
    """The go builds of a .gitlab-ci.yml: one per job (extends applied), parallel:matrix entry and script."""
    facts = ConfigFacts(rel)
    doc = load_yaml_file(path, facts)
    if not isinstance(doc, YMap):
        return facts
    default_raw = doc.get("default")
    default: YMap = default_raw if isinstance(default_raw, YMap) else YMap()
    top_vars = env_map(doc.get("variables"))
    for key, job in doc.items():
        if key in _GITLAB_RESERVED or str(key).startswith(".") or not isinstance(job, YMap):
            continue
        job = _gitlab_extends(doc, job)
        img_key = "image"
        holder: YMap = job if "image" in job else default if "image" in default else doc
        image = _gitlab_image(holder.get(img_key, ""))
        combos: list[dict[str, Any]] = [{}]
        parallel = job.get("parallel")
        if isinstance(parallel, dict) and isinstance(parallel.get("matrix"), list):
            combos = []
            for entry in parallel["matrix"]:
                combos.extend(expand_matrix(entry) if isinstance(entry, dict) else [])
            combos = combos or [{}]
        for combo in combos:
            env = {**top_vars, **env_map(job.get("variables"))}
            env.update({k: scalar(v) for k, v in combo.items()})
            env = {k: expand_vars(v, env) for k, v in env.items()}
            img = expand_vars(image, env)
            if img and img_key in holder:
                facts.images.append((holder.value_lines[img_key], img))
            label = ", ".join(f"{k}={scalar(v)}" for k, v in combo.items())
            context = f"job {key}" + (f", {label}" if label else "")
            for skey in ("before_script", "script"):
                items = job.get(skey)
                if isinstance(items, str):
                    items = YSeq([items])
                    items.item_lines = [job.value_lines[skey]]
                if not isinstance(items, YSeq):
                    continue
                carried = dict(env)
                for item, line in zip(items, items.item_lines, strict=False):
                    if not isinstance(item, str):
                        continue
                    scan = scan_shell(item, carried)
                    carried = scan.exported
                    facts.builds += shell_builds(
                        rel, item, line, scan, host_os="linux", host_arch="amd64", image=img, context=context
                    )
                    if scan.calls:
                        repo = (
                            Path(path.as_posix()[: -len(rel)] or ".") if path.as_posix().endswith(rel) else path.parent
                        )
                        for fb in follow(scan, repo).builds:
                            facts.builds.append(
                                GoBuild(
                                    rel,
                                    line,
                                    fb.build.env,
                                    tuple(fb.build.args),
                                    fb.command,
                                    host_os="linux",
                                    host_arch="amd64",
                                    image=img,
                                    context=f"{context}, via {fb.via}",
                                )
                            )
    return facts
