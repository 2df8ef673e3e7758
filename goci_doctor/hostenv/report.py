"""What the environment means: the problems ``env`` and the TUI warn about, and the text report.

Imports: hostenv.tools, knowledge, records, safety.redact.
"""

from __future__ import annotations

from goci_doctor.hostenv.tools import GO_ENV_KEYS, triple_goos_goarch
from goci_doctor.knowledge import version_tuple
from goci_doctor.records import EnvFacts, HostTool
from goci_doctor.safety.redact import MASK

# --------------------------------------------------------------------------------------------
# Problems and the text report


def cc_tool(facts: EnvFacts) -> HostTool | None:
    """The compiler cgo would use (go env CC, default gcc), if it is installed."""
    cc = facts.go.get("CC") or facts.env.get("CC") or "gcc"
    first = cc.split()[0]
    for tool in facts.compilers:
        if tool.name in (f"CC={cc}", first) or (tool.path and tool.path == first):
            return tool if tool.path else None
    if first == "zig" or "ziglang" in cc:
        return next((t for t in facts.compilers if t.name.startswith("zig")), None)
    return None


def _older_glibc_targets(host: tuple[int, ...]) -> str:
    """Deploy targets from the knowledge base whose glibc is older than the host's, summarised
    as "a (2.35), b (2.34), c (2.31) and 5 older down to d (2.17)"; "" when unknown."""
    try:
        from goci_doctor import knowledge  # lazily: the knowledge base loads data files

        known = knowledge.targets()
    except Exception:
        # The knowledge base is optional context for this warning, never a reason to fail `env`.
        return ""
    by_version: dict[tuple[int, ...], list[str]] = {}
    for t in known.values():
        if t.libc == "glibc" and t.libc_version and not t.build_image:
            v = version_tuple(t.libc_version)
            if v and v < host:
                by_version.setdefault(v, []).append(f"{t.name} ({t.libc_version})")
    if not by_version:
        return ""
    # Newest first: those are the targets people expect to be safe (bullseye, 22.04).
    versions = sorted(by_version, reverse=True)
    shown = [sorted(by_version[v])[0] for v in versions[:3]]
    rest = sum(len(by_version[v]) for v in versions) - len(shown)
    text = ", ".join(shown)
    if rest > 0:
        text += f" and {rest} older, down to {sorted(by_version[versions[-1]])[0]}"
    return text


def problems(facts: EnvFacts) -> list[str]:
    """Environment conditions that make Go builds fail or produce binaries that crash elsewhere."""
    out: list[str] = []
    go = facts.go
    if not facts.go_path:
        out.append("go is not installed (not on PATH): nothing here can build Go")
    elif not go:
        reason = next((n for n in facts.notes if n.startswith("go env")), "go env gave no answer")
        out.append(f"go is installed but unusable: {reason}")

    cgo_on = go.get("CGO_ENABLED") == "1"
    cc = go.get("CC") or "gcc"
    tool = cc_tool(facts)
    if go and cgo_on and tool is None:
        how = "set in the environment" if facts.env.get("CGO_ENABLED") == "1" else "Go's default here"
        out.append(
            f'CGO_ENABLED=1 ({how}) but the C compiler "{cc}" is not installed: packages using cgo '
            f'(net, os/user, sqlite3, ...) fail with cgo: C compiler "{cc.split()[0]}" not found; '
            "set CGO_ENABLED=0 or install a compiler"
        )
    elif go and cgo_on and tool is not None and tool.target:
        t_os, t_arch = triple_goos_goarch(tool.target)
        goos, goarch = go.get("GOOS", ""), go.get("GOARCH", "")
        if (t_arch and goarch and t_arch != goarch) or (t_os and goos and t_os != goos):
            out.append(
                f"CGO_ENABLED=1 cross-compiles for {goos}/{goarch} with CC={cc}, which produces "
                f"{tool.target} code: the cgo build fails; set CC to a {goos}/{goarch} compiler "
                f"(e.g. zig cc -target), or CGO_ENABLED=0"
            )

    for key in ("GOFLAGS", "GOPROXY", "GOPRIVATE", "GONOSUMDB"):
        value = go.get(key) or facts.env.get(key, "")
        if MASK in value:
            out.append(
                f"{key} embeds credentials (shown redacted): they end up in logs and build "
                "info; use GOAUTH or a .netrc instead"
            )

    docker = facts.docker
    if docker and docker.get("reachable") == "no":
        out.append(
            f"Docker engine not reachable: {docker.get('error') or 'unknown reason'}; "
            "goci-doctor run/build cannot start containers"
        )

    emulators = [
        h.split(" ", 1)[0]
        for h in facts.binfmt
        if "(enabled" in h and any(e in h.lower() for e in ("qemu", "box64", "rosetta", "fex"))
    ]
    if emulators:
        out.append(
            f"binfmt_misc runs foreign-arch binaries through emulation ({', '.join(emulators)}): "
            "a wrong-GOARCH build runs here and in containers on this host, then fails with "
            "'exec format error' on a host without these handlers"
        )
    platform_pin = facts.env.get("DOCKER_DEFAULT_PLATFORM", "")
    if platform_pin and facts.arch and not platform_pin.endswith(f"/{facts.arch}"):
        out.append(
            f"DOCKER_DEFAULT_PLATFORM={platform_pin} makes every docker build/run use that platform, "
            f"not this {facts.arch} host's"
        )

    if facts.libc == "glibc" and facts.libc_version:
        host = version_tuple(facts.libc_version)
        older = _older_glibc_targets(host)
        line = (
            f"host glibc {facts.libc_version}: binaries built here with cgo can need glibc up to "
            f"{facts.libc_version} and then fail with version `GLIBC_2.xx' not found on "
            f"{older or 'systems with an older glibc'}"
        )
        if go and not cgo_on:
            line += " (cgo is off here, so pure-Go builds are not affected)"
        out.append(line)
    return out


def _row(label: str, value: str, width: int = 14) -> str:
    return f"  {label:<{width}} {value}" if value else f"  {label}"


def format_env_text(facts: EnvFacts) -> str:
    """A readable multi-section report for ``goci-doctor env``; problem lines start with "!"."""
    lines: list[str] = ["goci-doctor env", ""]
    found = problems(facts)
    lines.append("Problems")
    lines.extend(f"  ! {p}" for p in found)
    if not found:
        lines.append("  none found")

    lines += ["", "Host"]
    pretty = facts.os_release.get("PRETTY_NAME") or facts.os
    lines.append(_row("OS", f"{pretty} ({facts.os}/{facts.arch})"))
    lines.append(_row("kernel", facts.kernel))
    lines.append(_row("libc", f"{facts.libc} {facts.libc_version}".strip() or "unknown"))

    lines += ["", "Go"]
    if facts.go_path:
        lines.append(_row("go", f"{facts.go_path} ({facts.go.get('GOVERSION', 'version unknown')})"))
        for key in GO_ENV_KEYS:
            if key != "GOVERSION" and key in facts.go:
                lines.append(_row(key, facts.go[key] or '""'))
    else:
        lines.append("  ! not installed")

    lines += ["", "C compilers"]
    if not facts.compilers:
        lines.append("  none found")
    for t in facts.compilers:
        target = f" → {t.target}" if t.target else ""
        lines.append(_row(t.name, f"{t.path or '-'}{target}  {t.version}".rstrip(), 24))

    lines += ["", "binfmt_misc"]
    lines.extend(f"  {h}" for h in facts.binfmt)
    if not facts.binfmt:
        lines.append("  no handlers registered")

    lines += ["", "CI"]
    if facts.ci_provider:
        lines.append(_row("provider", facts.ci_provider))
        lines.extend(_row(k, v) for k, v in facts.ci_details.items())
    else:
        lines.append("  not running in CI")

    lines += ["", "Docker"]
    d = facts.docker
    if d.get("reachable") == "yes":
        engine = f"{d.get('engine', 'Docker Engine')} {d.get('version', '')}"
        lines.append(
            _row("engine", f"{engine} (API {d.get('api_version', '?')}) {d.get('os', '')}/{d.get('arch', '')}")
        )
        lines.append(_row("endpoint", f"{d.get('host', '')} ({d.get('source', '')})"))
    elif d.get("reachable") == "no":
        lines.append(f"  ! not reachable: {d.get('error', '')}")
        lines.append(_row("endpoint", f"{d.get('host', '') or '-'} ({d.get('source', '')})"))
    else:
        lines.append("  not checked")
    if d.get("cpus"):
        lines.append(_row("cpus", d["cpus"]))
    if d.get("cli"):
        lines.append(_row("cli", d["cli"]))
    for e in facts.engines:
        if e.get("reachable") == "yes":
            what = (
                f"{e.get('engine', 'Docker Engine')} {e.get('version', '')}, {e.get('os', '')}/{e.get('arch', '')}"
                f"{', ' + e['cpus'] + ' CPUs' if e.get('cpus') else ''}"
            )
        else:
            what = f"{'! not reachable' if e.get('reachable') == 'no' else 'not checked'}: {e.get('error', '')}"
        lines.append(_row(f"engine {e.get('name', '')}", f"{e.get('host', '')} {what} ({e.get('source', '')})"))

    lines += ["", "Environment"]
    if facts.env:
        lines.extend(f"  {k}={v}" for k, v in facts.env.items())
    else:
        lines.append("  no build-relevant variables set")

    if facts.trace_engine:
        lines += ["", "Trace (goci-doctor trace)", f"  {facts.trace_engine}"]

    if facts.notes:
        lines += ["", "Notes"]
        lines.extend(f"  {n}" for n in facts.notes)
    return "\n".join(lines) + "\n"
