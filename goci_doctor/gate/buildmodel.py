"""The build model: :class:`GoBuild`, Dockerfile :class:`Stage`, and the facts each reader returns.

A reader (dockerfile, ghaworkflow, gitlab, makefile, goreleaser) turns one config file into a
:class:`ConfigFacts` (or :class:`DockerfileFacts`, :class:`GoreleaserFacts`): its go builds with
their environment, the images named, what could not be read. No judgement is passed here: the
GOCI rules that decide what crashes live in :mod:`goci_doctor.gate.lint`.

Imports only goci_doctor.gate.shell (``known``, the shell scan a build comes from).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from goci_doctor.gate.shell import ShellScan, known, source_command


@dataclass
class GoBuild:
    """One ``go build`` (or goreleaser target) with everything known about how it runs."""

    file: str
    line: int
    env: dict[str, str]
    args: tuple[str, ...] = ()
    """Arguments after ``go`` (build/install and flags), or goreleaser flags."""
    command: str = ""
    column: int = 1
    host_os: str = "linux"
    host_arch: str = ""
    """Architecture of the machine running the build; "" when unknown."""
    image: str = ""
    """Image the build runs in ("" when it runs on the CI runner itself)."""
    context: str = ""
    """Where it is, for messages: "stage build", "job release (goos=windows, goarch=amd64)"."""
    cc_available: bool | None = None
    """Whether a C compiler is there (None: assume yes, as on CI runners and golang:*-bookworm)."""
    ldflags: str = ""
    output: str = ""
    trimpath: bool = False
    platform: str = ""
    """The build stage's --platform as written ("$BUILDPLATFORM"), "" when none."""
    shipped: bool | None = None
    """False when nothing in its CI job uploads or releases what it builds (a compile check)."""
    native_default: bool = True
    """False for goreleaser/ko builds whose GOOS/GOARCH always come from the target list."""

    def __post_init__(self) -> None:
        args = list(self.args)
        i = 0
        while i < len(args):
            a = args[i]
            name, eq, val = a.partition("=")
            if name in ("-o", "-ldflags", "--ldflags") and not eq and i + 1 < len(args):
                val = args[i + 1]
                i += 1
            if name == "-o":
                self.output = val
            elif name in ("-ldflags", "--ldflags"):
                self.ldflags = (self.ldflags + " " + val).strip()
            elif name in ("-trimpath", "--trimpath"):
                self.trimpath = True
            i += 1
        goflags = self.env.get("GOFLAGS", "")
        if "-trimpath" in goflags.split():
            self.trimpath = True
        for part in goflags.split():
            if part.startswith("-ldflags="):
                self.ldflags = (self.ldflags + " " + part[len("-ldflags=") :]).strip()

    @property
    def goos(self) -> str:
        return self.env.get("GOOS") or self.host_os

    @property
    def goarch(self) -> str:
        return self.env.get("GOARCH") or self.host_arch

    @property
    def cgo_setting(self) -> str:
        """ "1", "0", "" (unset) or the unresolved text."""
        return self.env.get("CGO_ENABLED", "")

    @property
    def is_cross(self) -> bool | None:
        """True when GOOS/GOARCH differ from the build machine; None when unknown."""
        goos, goarch = self.goos, self.goarch
        if not known(goos) or not known(goarch) or not goarch:
            return None
        if not self.host_arch or not self.host_os:
            return None
        return goos != self.host_os or goarch != self.host_arch

    @property
    def cgo_on(self) -> bool | None:
        """Whether cgo is really on, following the go command's defaults; None when unknown."""
        setting = self.cgo_setting
        if setting in ("0", "1"):
            return setting == "1"
        if setting:
            return None
        if "GOOS" in self.env or "GOARCH" in self.env:
            cross = self.is_cross
            if (
                cross is None
                and self.host_arch == ""
                and known(self.env.get("GOOS", ""))
                and self.env.get("GOOS", self.host_os) != self.host_os
            ):
                cross = True
            if cross:
                return False  # cross builds default to CGO_ENABLED=0
        if self.cc_available is False:
            return False  # the go command turns cgo off when it finds no C compiler
        return True

    @property
    def static_link(self) -> bool:
        flags = self.ldflags.replace("'", " ").replace('"', " ")
        return "-static" in flags.split() or "-extldflags=-static" in flags or "--static" in flags.split()

    @property
    def cc(self) -> str:
        return self.env.get("CC", "")

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def shell_builds(
    rel: str, source: str, line: int, scan: ShellScan, *, host_os: str, host_arch: str, context: str, image: str = ""
) -> list[GoBuild]:
    """A GoBuild for each go build of ``scan``, the scan of ``source`` (a script that starts at ``line``)."""
    return [
        GoBuild(
            rel,
            line + sb.offset,
            sb.env,
            tuple(sb.args),
            source_command(source, sb.offset, sb.raw),
            host_os=host_os,
            host_arch=host_arch,
            image=image,
            context=context,
        )
        for sb in scan.builds
    ]


@dataclass
class Stage:
    """One FROM stage of a Dockerfile, with what it builds, copies in and runs."""

    index: int
    name: str
    image: str
    """The FROM reference after ARG expansion."""
    root_image: str
    """The real base image (through FROM <earlier stage> chains)."""
    line: int
    platform: str
    env: dict[str, str]
    workdir: str = "/"
    cc_available: bool | None = None
    parent: Stage | None = None
    builds: list[tuple[GoBuild, str]] = field(default_factory=list)
    """(build, absolute output path or "" when unknown)."""
    copies: list[tuple[int, str, list[str], str]] = field(default_factory=list)
    """(line, --from value, sources, destination)."""
    runs: list[tuple[int, str]] = field(default_factory=list)
    opaque: list[tuple[int, str]] = field(default_factory=list)
    """(line, description) of builds that happen where goci-doctor cannot follow them."""
    raw_platform: str = ""
    """The --platform value as written ("$BUILDPLATFORM")."""


def platform_arch(platform: str) -> str:
    """The architecture of a --platform value ("linux/arm64" → "arm64"); "" when unknown."""
    if not platform or not known(platform):
        return ""
    parts = platform.split("/")
    return parts[1] if len(parts) > 1 else ""


def copy_matches(output: str, sources: list[str]) -> bool:
    """Whether a COPY of ``sources`` takes a build output.

    ``output`` is an absolute path, ending in / when only its directory is known.
    """
    if not output:
        return False
    import fnmatch

    for src in sources:
        s = posixpath.normpath("/" + src.lstrip("/")) if known(src) else ""
        if not s:
            continue
        if output.endswith("/"):  # unknown file name inside a known directory
            if s.startswith(output) or s == output.rstrip("/") or posixpath.dirname(s) + "/" == output:
                return True
            continue
        if output == s or output.startswith(s.rstrip("/") + "/") or fnmatch.fnmatch(output, s):
            return True
    return False


def stage_builds(stage: Stage) -> list[tuple[GoBuild, str]]:
    """(build, output path) of a stage and of the stages it is built FROM."""
    out: list[tuple[GoBuild, str]] = []
    s: Stage | None = stage
    while s is not None:
        out.extend(s.builds)
        s = s.parent
    return out


@dataclass
class ConfigFacts:
    """What one CI config file says about its Go builds, as written (no judgement)."""

    file: str
    """Repository-relative path."""
    builds: list[GoBuild] = field(default_factory=list)
    images: list[tuple[int, str]] = field(default_factory=list)
    """(line, reference) of every image a job or a Dockerfile stage starts from."""
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, message, fix) for what could not be read or parsed."""
    release_envs: list[dict[str, str]] = field(default_factory=list)
    """Environment of each CI step that runs goreleaser (its builds inherit it)."""


@dataclass
class DockerfileFacts(ConfigFacts):
    """A Dockerfile's stages in order (their builds, COPY --from and RUN lines)."""

    stages: list[Stage] = field(default_factory=list)


@dataclass
class GoreleaserBuild:
    """One ``builds:`` entry of a goreleaser config, expanded to one GoBuild per target."""

    id: str
    line: int
    """Line of its CGO_ENABLED setting, or of the entry when it sets none."""
    targets: list[tuple[str, str]]
    builds: list[GoBuild]


@dataclass
class GoreleaserFacts(ConfigFacts):
    """The builds of a goreleaser config and the images it ships them in."""

    entries: list[GoreleaserBuild] = field(default_factory=list)
    dockers: list[tuple[int, str]] = field(default_factory=list)
    """(line, Dockerfile path) of each ``dockers:`` entry."""
    ko_images: list[tuple[int, str]] = field(default_factory=list)
    """(line, base_image) of each ``kos:`` entry."""
