"""The knowledge base: shipped data validates, names and image references resolve, facts check out.

Facts are cross-checked against real things where the machine has them: the host's own glibc,
the glibc inside the locally built Debian images, and the Go runtime's own source and binaries.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from goci_doctor import knowledge
from goci_doctor.knowledge import (
    find_target,
    glibc_of,
    go_release,
    load_catalog,
    load_cpu_levels,
    load_go_releases,
    load_targets,
    resolve_target,
    version_tuple,
)
from goci_doctor.model import BadInputError, GociError

# --------------------------------------------------------------------------------------------
# The shipped data


def test_shipped_files_validate_and_are_not_empty():
    assert len(knowledge.targets()) >= 40
    assert len(knowledge.go_releases()) >= 8
    assert len(knowledge.cpu_levels()) >= 8


def test_every_target_is_complete_and_sourced():
    for name, t in knowledge.targets().items():
        assert t.name == name
        assert t.title and t.source.strip(), name
        assert t.libc in ("glibc", "musl", "none"), name
        if t.libc in ("glibc", "musl"):
            assert len(version_tuple(t.libc_version)) >= 2, f"{name}: libc_version {t.libc_version!r}"
        else:
            assert t.libc_version == "", name
        if t.kernel:
            assert len(version_tuple(t.kernel)) >= 2, f"{name}: kernel {t.kernel!r}"
        assert set(t.archs) <= set(knowledge.GO_ARCHS), name


def test_every_alias_and_image_resolves_back_to_its_own_target():
    for name, t in knowledge.targets().items():
        assert resolve_target(name) is t
        for alias in t.aliases:
            spelled = alias[:-2] if alias.endswith(":*") else alias
            assert resolve_target(spelled) is t, f"alias {alias!r} of {name}"
        if t.image:
            assert find_target(t.image) is t, f"image {t.image!r} of {name}"


def test_no_image_reference_is_shared_by_two_targets():
    seen: dict[str, str] = {}
    for t in knowledge.targets().values():
        if t.image:
            assert t.image not in seen, f"{t.image} used by {seen.get(t.image)} and {t.name}"
            seen[t.image] = t.name


def test_image_contents_match_their_kind():
    ts = knowledge.targets()
    for name in ("scratch", "distroless/static", "distroless/base", "distroless/cc"):
        assert ts[name].shell == "", name
    assert ts["scratch"].libraries == ()
    assert "/etc/ssl/certs/ca-certificates.crt" in ts["distroless/static"].libraries
    assert "/etc/passwd" in ts["distroless/static"].libraries
    assert "libstdc++.so.6" in ts["distroless/cc"].libraries
    assert "libstdc++.so.6" not in ts["distroless/base"].libraries
    assert "libssl.so.3" not in ts["distroless/base-nossl"].libraries
    for name in ("debian:12", "ubuntu:22.04", "centos:7", "alpine:3.20"):
        assert ts[name].libraries == ("*",), name
    assert all(t.build_image == t.name.startswith("golang") for t in ts.values())
    assert {t.name for t in ts.values() if t.os == "windows"} == {
        "windows/servercore:ltsc2022",
        "windows/nanoserver:ltsc2022",
        # Windows machines, kernel = NT version (compared with go_releases.toml min_windows_version)
        "windows:7",
        "windows:7-x86",
        "windows-server:2008r2",
        "windows:8.1",
        "windows-server:2012r2",
        "windows:10",
        "windows:10-x86",
        "windows:11",
        "windows-server:2016",
        "windows-server:2019",
        "windows-server:2022",
    }


def test_images_built_on_a_distribution_carry_its_glibc():
    """Derived images (golang, distroless, busybox) must agree with the distribution they copy libc from."""
    same = {
        "golang:trixie": "debian:13",
        "golang:bookworm": "debian:12",
        "golang:bullseye": "debian:11",
        "distroless/base": "debian:12",
        "distroless/cc": "debian:12",
        "distroless/base-nossl": "debian:12",
        "distroless/base-debian11": "debian:11",
        "distroless/base-debian13": "debian:13",
        "busybox:glibc": "debian:13",
        "ubi:8": "rockylinux:8",
        "ubi:9": "rockylinux:9",
    }
    for derived, base in same.items():
        assert glibc_of(derived) == glibc_of(base), f"{derived} vs {base}"


@pytest.mark.parametrize(
    ("name", "libc", "version"),
    [
        ("ubuntu:16.04", "glibc", "2.23"),
        ("ubuntu:18.04", "glibc", "2.27"),
        ("ubuntu:20.04", "glibc", "2.31"),
        ("ubuntu:22.04", "glibc", "2.35"),
        ("ubuntu:24.04", "glibc", "2.39"),
        ("debian:9", "glibc", "2.24"),
        ("debian:10", "glibc", "2.28"),
        ("debian:11", "glibc", "2.31"),
        ("debian:12", "glibc", "2.36"),
        ("debian:13", "glibc", "2.41"),
        ("centos:6", "glibc", "2.12"),
        ("centos:7", "glibc", "2.17"),
        ("rockylinux:8", "glibc", "2.28"),
        ("rockylinux:9", "glibc", "2.34"),
        ("amazonlinux:2", "glibc", "2.26"),
        ("amazonlinux:2023", "glibc", "2.34"),
        ("alpine:3.16", "musl", "1.2.3"),
        ("alpine:3.17", "musl", "1.2.3"),
        ("alpine:3.18", "musl", "1.2.4"),
        ("alpine:3.19", "musl", "1.2.4"),
        ("alpine:3.20", "musl", "1.2.5"),
        ("alpine:3.21", "musl", "1.2.5"),
        ("distroless/static", "none", ""),
        ("scratch", "none", ""),
    ],
)
def test_libc_table(name, libc, version):
    t = resolve_target(name)
    assert (t.libc, t.libc_version) == (libc, version)


# --------------------------------------------------------------------------------------------
# Names and image references


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("centos7", "centos:7"),
        ("centos:7", "centos:7"),
        ("el7", "centos:7"),
        ("CentOS:7", "centos:7"),
        ("ubuntu-22.04", "ubuntu:22.04"),
        ("jammy", "ubuntu:22.04"),
        ("ubuntu:jammy", "ubuntu:22.04"),
        ("UBUNTU:22.04", "ubuntu:22.04"),
        ("debian:11", "debian:11"),
        ("bullseye", "debian:11"),
        ("debian:bullseye", "debian:11"),
        ("alpine", "alpine"),
        ("alpine:3", "alpine"),
        ("alpine:latest", "alpine"),
        ("docker.io/library/alpine:3.20", "alpine:3.20"),
        ("index.docker.io/library/ubuntu:22.04", "ubuntu:22.04"),
        ("docker.io/ubuntu:20.04", "ubuntu:20.04"),
        ("ubuntu:latest", "ubuntu:24.04"),
        ("gcr.io/distroless/static-debian12", "distroless/static"),
        ("mcr.microsoft.com/windows/servercore:ltsc2022", "windows/servercore:ltsc2022"),
        ("  debian:12  ", "debian:12"),
    ],
)
def test_resolve_target_names_and_aliases(name, expected):
    assert resolve_target(name).name == expected


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("alpine:3.19.1", "alpine:3.19"),
        ("alpine:3.20.3@sha256:" + "a" * 64, "alpine:3.20"),
        ("golang:1.22-bookworm", "golang:bookworm"),
        ("golang:1.22.3-bookworm", "golang:bookworm"),
        ("golang:1.22", "golang:bookworm"),
        ("golang:1.21", "golang:bookworm"),
        ("golang:1.19", "golang:bullseye"),
        ("golang:1.25", "golang:trixie"),
        ("golang:1.27.3", "golang:trixie"),
        ("golang:1.30", "golang:trixie"),
        ("golang", "golang:trixie"),
        ("golang:latest", "golang:trixie"),
        ("golang:1.21-alpine3.19", "golang:alpine"),
        ("golang:alpine", "golang:alpine"),
        ("golang:1.23-bullseye", "golang:bullseye"),
        ("ubuntu:22.04@sha256:" + "0" * 64, "ubuntu:22.04"),
        ("ubuntu:jammy-20240111", "ubuntu:22.04"),
        ("ubuntu:22.04.3", "ubuntu:22.04"),
        ("debian:bookworm-slim", "debian:12"),
        ("debian:bookworm-20240110-slim", "debian:12"),
        ("debian:12.5", "debian:12"),
        ("debian:12-slim", "debian:12"),
        ("gcr.io/distroless/base-debian11", "distroless/base-debian11"),
        ("gcr.io/distroless/base-debian12:nonroot", "distroless/base"),
        ("gcr.io/distroless/static-debian12:nonroot-amd64", "distroless/static"),
        ("gcr.io/distroless/cc-debian13", "distroless/cc-debian13"),
        # The unversioned distroless images are the deprecated Debian 11 ones.
        ("gcr.io/distroless/base", "distroless/base-debian11"),
        ("centos:centos7", "centos:7"),
        ("centos:7.9.2009", "centos:7"),
        ("rockylinux:9", "rockylinux:9"),
        ("rockylinux:9.3", "rockylinux:9"),
        ("almalinux:8", "rockylinux:8"),
        ("almalinux:8.9", "rockylinux:8"),
        ("amazonlinux:2", "amazonlinux:2"),
        ("amazonlinux:2.0.20240131.0", "amazonlinux:2"),
        ("public.ecr.aws/lambda/provided:al2023", "amazonlinux:2023"),
        ("redhat/ubi8", "ubi:8"),
        ("redhat/ubi8:8.10", "ubi:8"),
        ("registry.access.redhat.com/ubi9/ubi-minimal", "ubi:9"),
        ("registry.access.redhat.com/ubi9/ubi-minimal:9.4-1227", "ubi:9"),
        ("busybox:glibc", "busybox:glibc"),
        ("busybox:musl", "busybox:musl"),
        ("busybox:uclibc", "busybox:uclibc"),
        ("busybox", "busybox:glibc"),
        ("busybox:1.37-musl", "busybox:musl"),
        ("scratch", "scratch"),
    ],
)
def test_find_target_maps_image_references(ref, expected):
    t = find_target(ref)
    assert t is not None, ref
    assert t.name == expected


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "node:20",
        "ubuntu:25.04",
        "ubuntu:22.10",
        # Alpine releases the table does not list are unknown, not "the latest alpine".
        "alpine:3.15",
        "golang:1.15",
        # distroless :debug images have a busybox shell: not the shell-less target.
        "gcr.io/distroless/static-debian12:debug",
        "myregistry.example.com/team/app:1.2.3",
    ],
)
def test_find_target_does_not_guess(ref):
    assert find_target(ref) is None


def test_unknown_target_message_suggests_close_names():
    with pytest.raises(BadInputError) as exc:
        resolve_target("ubunt:22.04")
    msg = str(exc.value)
    assert msg.startswith("unknown target 'ubunt:22.04'; did you mean ubuntu:22.04")
    assert msg.endswith("(goci-doctor targets lists them)")
    assert "\n" not in msg


def test_unknown_target_without_close_names_still_points_at_the_list():
    with pytest.raises(BadInputError, match=r"^unknown target 'qqqqqqqq'; \(goci-doctor targets lists them\)$"):
        resolve_target("qqqqqqqq")


def test_glibc_of_and_version_tuple():
    assert glibc_of("centos:7") == (2, 17)
    assert glibc_of(resolve_target("bookworm")) == (2, 36)
    assert glibc_of("alpine:3.20") is None
    assert glibc_of("scratch") is None
    assert version_tuple("2.31") == (2, 31)
    assert version_tuple("go1.21.5") == (1, 21, 5)
    assert version_tuple("GLIBC_2.34") == (2, 34)
    assert version_tuple("1.2.4_git20230717-r5") == (1, 2, 4)
    assert version_tuple("devel") == ()
    assert version_tuple("2.9") < version_tuple("2.17")


# --------------------------------------------------------------------------------------------
# Real-world cross-checks


def _os_release() -> dict[str, str]:
    out: dict[str, str] = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.exists(path):
            for line in Path(path).read_text().splitlines():
                key, sep, value = line.partition("=")
                if sep:
                    out[key.strip()] = value.strip().strip('"')
            break
    return out


def test_host_glibc_matches_the_knowledge_base():
    """The host's real glibc must equal what the knowledge base says its distribution ships."""
    try:
        host = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        host = ""
    if not host.startswith("glibc "):
        pytest.skip(f"host C library is not glibc ({host or 'unknown'}): nothing to compare")
    rel = _os_release()
    name = f"{rel.get('ID', '')}:{rel.get('VERSION_ID', '')}"
    target = find_target(name)
    if target is None:
        pytest.skip(f"host distribution {name} is not in the knowledge base")
    # Point releases (CentOS 7.9 ships 2.17 as 7.0 did) keep the same glibc series.
    assert version_tuple(host.split()[1])[:2] == version_tuple(target.libc_version)[:2], (
        f"host {name} has {host}, targets.toml says {target.libc_version}"
    )


def _docker_client():
    docker = pytest.importorskip("docker", reason="the Docker SDK is not installed")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as e:
        pytest.skip(f"no Docker engine reachable: {e}")
    return client


@pytest.mark.docker
@pytest.mark.parametrize(
    ("image", "target"),
    [
        ("goci/debian:bullseye", "debian:bullseye"),
        ("goci/debian:bookworm", "debian:bookworm"),
        ("goci/debian:trixie", "debian:trixie"),
    ],
)
def test_glibc_inside_local_debian_images_matches(image, target):
    """Read glibc's version with the image's own getconf (never a user binary)."""
    client = _docker_client()
    import docker.errors

    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        pytest.skip(f"{image} is not built (run: goci-doctor images build)")
    out = client.containers.run(image, ["getconf", "GNU_LIBC_VERSION"], remove=True, network_disabled=True)
    real = out.decode().strip()
    assert real.startswith("glibc ")
    assert real.split()[1] == resolve_target(target).libc_version


# --------------------------------------------------------------------------------------------
# Go releases


def test_go_release_windows_and_macos_minimums():
    r = go_release("go1.21.5")
    assert r is not None and r.version == "1.21"
    assert "Windows 10" in r.min_windows
    assert version_tuple(r.min_windows_version) == (10, 0)
    assert "10.15" in r.min_macos
    assert "Windows 7" in go_release("go1.20.14").min_windows
    assert go_release("1.23").min_macos_version == "11"
    assert "go.dev/doc/go1.21" in r.source


def test_go_release_linux_kernel_floor_moves_at_go_1_24():
    assert go_release("go1.23.12").min_linux_kernel == "2.6.32"
    assert go_release("go1.24.0").min_linux_kernel == "3.2"
    # CentOS 6 ships 2.6.32: Go 1.23 binaries start there, Go 1.24 ones cannot.
    centos6 = version_tuple(resolve_target("centos:6").kernel)
    assert centos6 >= version_tuple(go_release("go1.23").min_linux_kernel)
    assert centos6 < version_tuple(go_release("go1.24").min_linux_kernel)
    # Every other Linux target's kernel is new enough for the newest Go.
    newest = version_tuple(knowledge.go_releases()[-1].min_linux_kernel)
    for t in knowledge.targets().values():
        if t.os == "linux" and t.kernel and t.name != "centos:6":
            assert version_tuple(t.kernel) >= newest, t.name


def test_go_release_newer_than_table_inherits_newest_and_older_is_unknown():
    newest = knowledge.go_releases()[-1]
    assert go_release("go1.27.3") is not None
    assert go_release("go1.99.1") == newest
    assert go_release("go1.99.1").min_windows == newest.min_windows
    assert go_release("go1.10") is None
    assert go_release("devel +abc123") is None
    assert go_release("") is None


def test_go_releases_are_ordered_and_monotonic():
    releases = knowledge.go_releases()
    versions = [version_tuple(r.version) for r in releases]
    assert versions == sorted(versions)
    for older, newer in itertools.pairwise(releases):
        assert version_tuple(newer.min_linux_kernel) >= version_tuple(older.min_linux_kernel)
        assert version_tuple(newer.min_macos_version) >= version_tuple(older.min_macos_version)
        assert version_tuple(newer.min_windows_version) >= version_tuple(older.min_windows_version)
        assert newer.source


def test_host_go_is_covered_by_the_table():
    go = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "go"
    if not go.exists():
        pytest.skip("no Go toolchain in .venv/bin/go")
    version = subprocess.run([str(go), "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout
    assert go_release(version.strip()) is not None


# --------------------------------------------------------------------------------------------
# CPU levels


def test_cpu_levels_content():
    v3 = knowledge.cpu_level("GOAMD64", "v3")
    assert v3 is not None
    assert v3.message == "This program can only be run on AMD64 processors with v3 microarchitecture support."
    assert {"AVX2", "BMI2", "FMA"} <= set(v3.requires)
    assert knowledge.cpu_level("goamd64", "V1").message == ""
    arm6 = knowledge.cpu_level("GOARM", "6")
    assert any("Raspberry Pi Zero" in e for e in arm6.examples)
    assert arm6.message == "Illegal instruction"
    win = knowledge.cpu_level("GOARCH", "amd64")
    assert "is not compatible with the version of Windows you're running" in win.message
    assert knowledge.cpu_level("GOAMD64", "v9") is None
    assert all(lvl.source for lvl in knowledge.cpu_levels())


def _goroot() -> Path | None:
    go = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "go"
    if not go.exists():
        return None
    out = subprocess.run([str(go), "env", "GOROOT"], capture_output=True, text=True, check=True).stdout
    return Path(out.strip())


def test_goamd64_messages_are_verbatim_from_the_go_runtime_source():
    goroot = _goroot()
    if goroot is None or not (goroot / "src/runtime/asm_amd64.s").exists():
        pytest.skip("no Go toolchain with sources in .venv/bin/go")
    asm = (goroot / "src/runtime/asm_amd64.s").read_text()
    for value in ("v2", "v3", "v4"):
        msg = knowledge.cpu_level("GOAMD64", value).message
        assert f'"{msg}\\n"' in asm, value


@pytest.mark.slow
def test_goamd64_v3_binary_carries_the_message(bin_path):
    """A real GOAMD64=v3 build embeds exactly the text the knowledge base quotes."""
    data = bin_path("amd64v3").read_bytes()
    assert knowledge.cpu_level("GOAMD64", "v3").message.encode() in data


# --------------------------------------------------------------------------------------------
# Adding data, and broken data


NEW_TARGET = """
[[target]]
name = "opensuse/leap:15.6"
title = "openSUSE Leap 15.6"
aliases = ["leap15.6", "opensuse/leap:15.6", "registry.opensuse.org/opensuse/leap:15.6"]
os = "linux"
archs = ["amd64", "arm64", "ppc64le", "s390x"]
libc = "glibc"
libc_version = "2.38"
image = "opensuse/leap:15.6"
kernel = "6.4"
libraries = ["*"]
source = "openSUSE Leap 15.6 release notes (glibc 2.38)"
"""


def _write(tmp_path: Path, text: str, name: str = "targets.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_adding_a_target_is_a_data_change(tmp_path):
    shipped = (Path(knowledge.__file__).parents[1] / "data" / "targets.toml").read_text()
    path = _write(tmp_path, shipped + NEW_TARGET)
    cat = load_catalog(path)
    assert cat.resolve("LEAP15.6").libc_version == "2.38"
    assert cat.find("registry.opensuse.org/opensuse/leap:15.6@sha256:" + "b" * 64).name == "opensuse/leap:15.6"
    assert cat.find("opensuse/leap:15.6.1").name == "opensuse/leap:15.6"
    # The shipped targets still resolve in the extended catalog, and the cached one is untouched.
    assert cat.resolve("centos7").name == "centos:7"
    assert find_target("leap15.6") is None
    assert set(load_targets(path)) == set(knowledge.targets()) | {"opensuse/leap:15.6"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('colour = "blue"\n', r"target 'x:1': unknown key\(s\) \['colour'\]"),
        ('libc_version = "2.31"\nlibc = "uclibc"\n', r"target 'x:1': libc must be one of"),
        (
            'libc_version = "2.31"\nlibc = "glibc"\naliases = ["centos7"]\n',
            r"'centos7' is already used by target 'centos:7'",
        ),
        ('libc_version = "2.31"\nlibc = "glibc"\narchs = ["x86_64"]\n', r"archs must be Go GOARCH names"),
        ('libc = "glibc"\n', r"target 'x:1': libc glibc needs a libc_version"),
        ('libc_version = "2.31"\nlibc = "glibc"\nshell = 1\n', r"'shell' must be str"),
    ],
)
def test_broken_target_entries_name_the_file_and_entry(tmp_path, extra, message):
    base = (Path(knowledge.__file__).parents[1] / "data" / "targets.toml").read_text()
    entry = '\n[[target]]\nname = "x:1"\ntitle = "X"\nos = "linux"\nsource = "test"\n'
    if "archs" not in extra:
        entry += 'archs = ["amd64"]\n'
    path = _write(tmp_path, base + entry + extra)
    with pytest.raises(GociError, match=message) as exc:
        load_targets(path)
    assert str(path) in str(exc.value)


def test_missing_or_empty_source_is_rejected(tmp_path):
    entry = '[[target]]\nname = "x:1"\ntitle = "X"\nos = "linux"\narchs = ["amd64"]\nlibc = "none"\n'
    with pytest.raises(GociError, match=r"target 'x:1': missing required key 'source'"):
        load_targets(_write(tmp_path, entry))
    with pytest.raises(GociError, match=r"target 'x:1': 'source' is empty"):
        load_targets(_write(tmp_path, entry + 'source = "  "\n'))


def test_duplicate_target_name_is_rejected(tmp_path):
    entry = '[[target]]\nname = "x:1"\ntitle = "X"\nos = "linux"\narchs = ["amd64"]\nlibc = "none"\nsource = "s"\n'
    with pytest.raises(GociError, match=r"target 'x:1': duplicate target name"):
        load_targets(_write(tmp_path, entry + "\n" + entry))


def test_unreadable_files_are_clear_errors(tmp_path):
    with pytest.raises(GociError, match=r"invalid TOML"):
        load_targets(_write(tmp_path, "[[target]\nname = "))
    with pytest.raises(GociError, match=r"knowledge file not found"):
        load_targets(tmp_path / "missing.toml")
    with pytest.raises(GociError, match=r"no \[\[target\]\] entries"):
        load_targets(_write(tmp_path, "# nothing\n"))
    with pytest.raises(GociError, match=r"unknown top-level key"):
        load_targets(_write(tmp_path, "[targets]\n"))


def test_broken_go_release_and_cpu_files(tmp_path):
    rel = (
        '[[release]]\nversion = "1.21"\nmin_linux_kernel = "2.6.32"\nmin_windows = "Windows 10"\n'
        'min_macos = "macOS 10.15"\nmin_freebsd = "12"\nsource = "go.dev/doc/go1.21"\n'
    )
    assert load_go_releases(_write(tmp_path, rel, "go.toml"))[0].version == "1.21"
    with pytest.raises(GociError, match=r"release '1.21': duplicate release"):
        load_go_releases(_write(tmp_path, rel + rel, "go.toml"))
    with pytest.raises(GociError, match=r"release '1.21': missing required key 'source'"):
        load_go_releases(_write(tmp_path, rel.replace('source = "go.dev/doc/go1.21"\n', ""), "go.toml"))
    with pytest.raises(GociError, match=r"version must be a Go minor release"):
        load_go_releases(_write(tmp_path, rel.replace('"1.21"', '"1.21.5"'), "go.toml"))
    lvl = '[[level]]\nvariable = "GOAMD64"\nvalue = "v3"\narch = "amd64"\ntitle = "v3"\nsource = "s"\n'
    assert load_cpu_levels(_write(tmp_path, lvl, "cpu.toml"))[0].value == "v3"
    with pytest.raises(GociError, match=r"level 'GOAMD64=v3': arch must be a Go GOARCH name"):
        load_cpu_levels(_write(tmp_path, lvl.replace('"amd64"', '"x86_64"'), "cpu.toml"))
    with pytest.raises(GociError, match=r"duplicate level"):
        load_cpu_levels(_write(tmp_path, lvl + lvl, "cpu.toml"))


def test_mac_and_freebsd_machines_carry_their_release():
    """macOS and FreeBSD targets: kernel = the OS release, compared with go_releases.toml minimums."""
    ts = knowledge.targets()
    assert {t.name for t in ts.values() if t.os == "darwin"} == {
        "macos:10.15",
        "macos:11",
        "macos:12",
        "macos:13",
        "macos:14",
        "macos:15",
    }
    assert {t.name for t in ts.values() if t.os == "freebsd"} == {
        "freebsd:11",
        "freebsd:12",
        "freebsd:13",
        "freebsd:14",
    }
    newest = knowledge.go_releases()[-1]
    for t in ts.values():
        if t.os not in ("darwin", "freebsd"):
            continue
        assert t.libc == "none" and not t.image and t.kernel, t.name
        assert version_tuple(t.kernel)[0] == version_tuple(t.name.split(":")[1])[0], t.name
    # The data spans each OS's minimum: some releases are too old for the newest Go, some are not.
    macs = [version_tuple(t.kernel) for t in ts.values() if t.os == "darwin"]
    assert min(macs) < version_tuple(newest.min_macos_version) <= max(macs)
    bsds = [version_tuple(t.kernel) for t in ts.values() if t.os == "freebsd"]
    assert min(bsds) < version_tuple(newest.min_freebsd) <= max(bsds)
    for alias, name in (
        ("catalina", "macos:10.15"),
        ("big-sur", "macos:11"),
        ("sequoia", "macos:15"),
        ("freebsd", "freebsd:14"),
        ("freebsd:13.5", "freebsd:13"),
    ):
        assert resolve_target(alias).name == name
