"""Dockerfiles into facts: each stage with its ARG/ENV, WORKDIR, COPY --from and go builds.

:func:`read_dockerfile` reads a (multi-stage) Dockerfile through
:mod:`goci_doctor.gate.dockerfile_text` (heredocs, continuations); ``RUN`` lines are scanned by
:mod:`goci_doctor.gate.shell`, and ``RUN make``/scripts are followed by
:mod:`goci_doctor.gate.buildfollow`. :func:`final_image` gives the image a Dockerfile ships.

Imports goci_doctor.gate.{shell, buildmodel, buildfollow, dockerfile_text} and goci_doctor.safety.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from pathlib import Path

from goci_doctor.gate.buildfollow import follow
from goci_doctor.gate.buildmodel import DockerfileFacts, GoBuild, Stage, platform_arch
from goci_doctor.gate.dockerfile_text import structure as dockerfile_structure
from goci_doctor.gate.shell import ShellBuild, expand_vars, known, scan_shell, source_command, split_words
from goci_doctor.safety import safeio


def read_dockerfile(path: Path, rel: str) -> DockerfileFacts:
    """The stages of a (multi-stage) Dockerfile with ARG/ENV expanded and their go builds.

    A build's ``cc_available`` is True when an earlier RUN installed a C compiler and None
    otherwise; what the base image ships is for the caller to know.
    """
    facts = DockerfileFacts(rel)
    try:
        data = safeio.read_bytes(path)
    except safeio.UnsafeInput as exc:
        facts.problems.append((1, f"cannot read {rel}: {exc.reason}", "make the file a readable regular file"))
        return facts
    try:
        structure = dockerfile_structure(data.decode("utf-8", errors="replace"))
    except Exception as exc:  # a malformed file is a finding, never a traceback
        facts.problems.append((1, f"cannot parse Dockerfile: {exc}", "fix the Dockerfile syntax"))
        return facts
    global_args: dict[str, str] = {}
    stages = facts.stages
    as_posix = path.as_posix()
    repo = Path(as_posix[: -len(rel)] or ".") if as_posix.endswith(rel) else path.parent
    st: Stage | None = None
    for ins in structure:
        instr = str(ins["instruction"]).upper()
        line = int(ins["startline"]) + 1
        value = str(ins["value"])
        if instr == "FROM":
            try:
                parts = shlex.split(value)
            except ValueError:
                parts = value.split()
            platform = raw_platform = ""
            words: list[str] = []
            for p in parts:
                if p.startswith("--platform="):
                    raw_platform = p.split("=", 1)[1]
                    platform = expand_vars(raw_platform, global_args)
                elif not p.startswith("--"):
                    words.append(p)
            if not words:
                facts.problems.append((line, "FROM without an image", "FROM <image>"))
                continue
            image = expand_vars(words[0], global_args)
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
            parent = next((s for s in stages if s.name and s.name.lower() == image.lower()), None)
            st = Stage(
                len(stages),
                name,
                image,
                parent.root_image if parent else image,
                line,
                platform,
                dict(parent.env) if parent else {},
                parent.workdir if parent else "/",
                parent.cc_available if parent else None,
                parent,
            )
            st.raw_platform = raw_platform or (parent.raw_platform if parent else "")
            stages.append(st)
            if parent is None:
                facts.images.append((line, image))
            continue
        if instr == "ARG":
            for tok in split_words(value):
                k, eq, v = tok.partition("=")
                if st is None:
                    if eq:
                        global_args[k] = expand_vars(v, global_args)
                    # ARG NAME without a default: set only by --build-arg, so it stays $NAME.
                elif eq:
                    st.env[k] = expand_vars(v, st.env)
                elif global_args.get(k):
                    st.env[k] = global_args[k]
            continue
        if st is None:
            continue
        if instr == "ENV":
            words = split_words(value)
            if words and "=" not in words[0]:
                st.env[words[0]] = expand_vars(" ".join(words[1:]), st.env)  # legacy "ENV KEY value"
            else:
                for tok in words:
                    k, _, v = tok.partition("=")
                    st.env[k] = expand_vars(v, st.env)
        elif instr == "WORKDIR":
            st.workdir = posixpath.normpath(posixpath.join(st.workdir, expand_vars(value.strip(), st.env)))
        elif instr in ("COPY", "ADD"):
            words = split_words(value)
            src_from = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), "")
            plain = [w for w in words if not w.startswith("--")]
            if src_from and len(plain) >= 2:
                st.copies.append((line, expand_vars(src_from, st.env), plain[:-1], plain[-1]))
        elif instr == "RUN":
            facts.builds.extend(_read_run(rel, st, line, value, str(ins["content"]), repo))
    return facts


def _read_run(rel: str, st: Stage, line: int, value: str, content: str, repo: Path | None = None) -> list[GoBuild]:
    script = value.strip()
    while script.startswith("--"):
        script = script.split(None, 1)[1] if " " in script else ""
    if script.startswith("["):
        try:
            script = shlex.join(str(a) for a in json.loads(script))
        except (ValueError, TypeError):
            pass
    scan = scan_shell(script, dict(st.env))
    if scan.installs_cc:
        st.cc_available = True
    st.env.update(scan.go_env_w)  # go env -w writes the go env file: later RUNs see it
    for _offset, prog in scan.runs:
        st.runs.append((line, prog))
    found: list[tuple[ShellBuild, int, str, str]] = []
    for sb in scan.builds:
        bline = _find_line(content, line, "go " + sb.args[0]) if sb.args else line
        found.append((sb, bline, source_command(content, bline - line, sb.raw), ""))
    if repo is not None and scan.calls:
        followed = follow(scan, repo, "", st.workdir)
        for fb in followed.builds:
            found.append((fb.build, line, fb.command, fb.via))
        st.opaque += [(line, what) for _offset, what in followed.opaque]
    builds = []
    for sb, bline, command, via in found:
        context = f"stage {st.name or st.index}" + (f", via {via}" if via else "")
        b = GoBuild(
            rel,
            bline,
            sb.env,
            tuple(sb.args),
            command,
            host_os="linux",
            host_arch=platform_arch(st.platform) if st.platform else "amd64",
            image=st.root_image,
            context=context,
            cc_available=st.cc_available,
            platform=st.raw_platform,
        )
        output = ""
        if b.output and known(b.output):
            output = posixpath.normpath(posixpath.join(st.workdir, b.output))
        elif not b.output and sb.args and sb.args[0] == "install":
            output = posixpath.join(sb.env.get("GOBIN") or "/go/bin", _install_name(sb.args))
        elif not b.output:
            output = posixpath.join(st.workdir, "")
        st.builds.append((b, output))
        builds.append(b)
    return builds


def _install_name(args: list[str]) -> str:
    """The binary name ``go install pkg[@version]`` writes ("" when it cannot be told)."""
    pkgs = [a for a in args[1:] if not a.startswith("-")]
    if len(pkgs) != 1 or "$" in pkgs[0] or "..." in pkgs[0]:
        return ""
    path = pkgs[0].split("@", 1)[0].rstrip("/")
    parts = [p for p in path.split("/") if p not in (".", "")]
    if parts and re.fullmatch(r"v[0-9]+", parts[-1]) and len(parts) > 1:
        parts.pop()  # module major version suffix: example.com/tool/v2 installs "tool"
    return parts[-1] if parts and pkgs[0].split("@", 1)[0] not in (".", "./") else ""


def _find_line(content: str, start: int, needle: str) -> int:
    for i, text in enumerate(content.split("\n")):
        if needle in text:
            return start + i
    return start


def final_image(path: Path) -> tuple[str, int]:
    """(image, line) of the last FROM of a Dockerfile, as written; ("", 0) when it has none or cannot be parsed."""
    try:
        structure = dockerfile_structure(safeio.read_bytes(path).decode("utf-8", errors="replace"))
    except Exception:  # malformed files are reported when the Dockerfile itself is linted
        return "", 0
    image, line = "", 0
    for ins in structure:
        if str(ins["instruction"]).upper() == "FROM":
            words = [w for w in split_words(str(ins["value"])) if not w.startswith("--")]
            if words:
                image, line = words[0], int(ins["startline"]) + 1
    return image, line
