"""goreleaser configs into facts: each ``builds:`` entry expanded to its targets, its dockers and kos images.

Env entries are Go templates rendered per target by :mod:`goci_doctor.gate.gotemplate`.

Imports goci_doctor.gate.{yamlsrc, shell, buildmodel, gotemplate}.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from goci_doctor.gate.buildmodel import GoBuild, GoreleaserBuild, GoreleaserFacts
from goci_doctor.gate.gotemplate import GO_TARGETS, render
from goci_doctor.gate.shell import UNKNOWN, split_words
from goci_doctor.gate.yamlsrc import YMap, YSeq, load_yaml_file, scalar

_GORELEASER_DEFAULT_GOOS = ("linux", "darwin", "windows")
_GORELEASER_DEFAULT_GOARCH = ("386", "amd64", "arm64")


def _env_items(seq: Any) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    if isinstance(seq, YSeq):
        for item, line in zip(seq, seq.item_lines, strict=False):
            k, eq, v = scalar(item).partition("=")
            if eq:
                out.append((k.strip(), v.strip(), line))
    return out


def _env_raw(seq: Any) -> list[tuple[str, int]]:
    """(entry as written, line) of a goreleaser env list (entries may be templates)."""
    if isinstance(seq, YSeq):
        return [(scalar(item), line) for item, line in zip(seq, seq.item_lines, strict=False)]
    return []


def _target_env(raw: list[tuple[str, int]], goos: str, goarch: str) -> dict[str, str]:
    """A goreleaser env list rendered for one target; unknown templates leave their names UNKNOWN."""
    out: dict[str, str] = {}
    data = {"Os": goos, "Arch": goarch, "Target": f"{goos}_{goarch}"}
    for text, _line in raw:
        rendered = render(text, {**data, "Env": dict(out)})
        if rendered is None:
            for name in ("CC", "CXX", "CGO_ENABLED"):
                if name in text:
                    out[name] = UNKNOWN
            continue
        k, eq, v = rendered.strip().partition("=")
        if eq and k.strip():
            out[k.strip()] = v.strip()
    return out


def _goreleaser_targets(bdef: YMap) -> list[tuple[str, str]]:
    raw_targets = bdef.get("targets")
    if isinstance(raw_targets, list):
        out = []
        for t in raw_targets:
            parts = scalar(t).split("_")
            if len(parts) >= 2:
                out.append((parts[0], parts[1]))
        return out
    goos = [scalar(x) for x in bdef.get("goos") or _GORELEASER_DEFAULT_GOOS]
    goarch = [scalar(x) for x in bdef.get("goarch") or _GORELEASER_DEFAULT_GOARCH]
    ignore_raw = bdef.get("ignore")
    ignore: list[Any] = ignore_raw if isinstance(ignore_raw, list) else [{"goos": "darwin", "goarch": "386"}]
    pairs = []
    for o in goos:
        for a in goarch:
            if (
                any(
                    isinstance(ig, dict) and scalar(ig.get("goos", o)) == o and scalar(ig.get("goarch", a)) == a
                    for ig in ignore
                )
                or f"{o}/{a}" not in GO_TARGETS
            ):
                continue  # goreleaser builds only what `go tool dist list` has
            pairs.append((o, a))
    return pairs


def read_goreleaser(path: Path, rel: str) -> GoreleaserFacts:
    """A goreleaser config: each build entry expanded to its targets, its dockers and kos images."""
    facts = GoreleaserFacts(rel)
    doc = load_yaml_file(path, facts)
    if not isinstance(doc, YMap):
        return facts
    global_env = _env_items(doc.get("env"))
    builds = doc.get("builds")
    if not isinstance(builds, YSeq):
        builds = YSeq([YMap()])
        builds.item_lines = [1]
    for bdef, bline in zip(builds, builds.item_lines, strict=False):
        if not isinstance(bdef, YMap) or bdef.get("skip") is True:
            continue
        env_items = global_env + _env_items(bdef.get("env"))
        env_raw = _env_raw(doc.get("env")) + _env_raw(bdef.get("env"))
        cgo_line = next((line for k, _, line in reversed(env_items) if k == "CGO_ENABLED"), bline)
        if cgo_line == bline:
            cgo_line = next((line for text, line in reversed(env_raw) if "CGO_ENABLED" in text), bline)
        flags = (
            [scalar(f) for f in bdef.get("flags") or []]
            if isinstance(bdef.get("flags"), list)
            else split_words(scalar(bdef.get("flags", "")))
        )
        ldflags_raw = bdef.get("ldflags")
        ldflags = " ".join(scalar(x) for x in ldflags_raw) if isinstance(ldflags_raw, list) else scalar(ldflags_raw)
        targets = _goreleaser_targets(bdef)
        overrides_raw = bdef.get("overrides")
        overrides: list[Any] = overrides_raw if isinstance(overrides_raw, list) else []
        bid = scalar(bdef.get("id", "")) or scalar(bdef.get("binary", "")) or "default"
        entry = GoreleaserBuild(bid, cgo_line, targets, [])
        for goos, goarch in targets:
            tenv = _target_env(env_raw, goos, goarch)
            for ov in overrides:
                if (
                    isinstance(ov, dict)
                    and scalar(ov.get("goos", goos)) == goos
                    and scalar(ov.get("goarch", goarch)) == goarch
                ):
                    tenv.update(_target_env(_env_raw(ov.get("env")), goos, goarch))
            tenv.update({"GOOS": goos, "GOARCH": goarch})
            args = ("build", *flags, *(["-ldflags", ldflags] if ldflags else []))
            entry.builds.append(
                GoBuild(
                    rel,
                    cgo_line if "CGO_ENABLED" in tenv else bline,
                    tenv,
                    args,
                    "",
                    host_os="linux",
                    host_arch="amd64",
                    context=f"build {bid}, {goos}/{goarch}",
                    column=1,
                )
            )
        facts.entries.append(entry)
        facts.builds.extend(entry.builds)
    dockers = doc.get("dockers")
    dockers_v2 = doc.get("dockers_v2")
    for dentry in [
        *(dockers if isinstance(dockers, YSeq) else []),
        *(dockers_v2 if isinstance(dockers_v2, YSeq) else []),
    ]:
        if isinstance(dentry, YMap):
            facts.dockers.append(
                (dentry.value_lines.get("dockerfile", dentry.line), scalar(dentry.get("dockerfile", "Dockerfile")))
            )
    kos = doc.get("kos")
    for kentry in kos if isinstance(kos, YSeq) else []:
        if isinstance(kentry, YMap) and "base_image" in kentry:
            facts.ko_images.append((kentry.value_lines["base_image"], scalar(kentry["base_image"])))
    return facts
