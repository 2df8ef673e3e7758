"""Predictions that match the real loader: `check` against `run` on every local image.

The Docker test runs every binary kind of scripts/loader_matrix.py (real Go, C and C++ builds, the
host's /bin/ls, scripts, empty and truncated files) in every local image and asserts that the
prediction `check` makes with the same image map agrees with what really happened, cell by cell,
message included. The other tests pin the knowledge-base path (no image present): scripts by their
#! line, libraries from the per-distribution lists, ld.so's line order, wording for non-Go programs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from goci_doctor import diagnosis, knowledge
from goci_doctor.diagnosis import targetfiles
from goci_doctor.model import EngineUnavailableError, GociError
from goci_doctor.records import RunResult

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import loader_matrix

from goci_doctor.lab import engine as lab_engine


def _check(facts, *targets: str):
    return diagnosis.check_artifact(facts, [knowledge.resolve_target(t) for t in targets])


def _chain_text(diag) -> str:
    """Every title, detail and command of the chains (the sources they cite left out)."""
    out = []

    def walk(node) -> None:
        out.extend([node.title, "" if node.detail.startswith("Source:") else node.detail, *node.commands])
        for child in node.children:
            walk(child)

    for chain in diag.chains:
        walk(chain)
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# The knowledge-base path (no local image)


def test_scripts_are_predicted_from_their_interpreter(bad_files):
    from goci_doctor.artifact import inspect_path

    sh, bash = inspect_path(bad_files["script"]), inspect_path(bad_files["script-bash"])
    verdicts = {v.target: v for v in _check(bash, "debian:bookworm", "alpine:3.20", "scratch").verdicts}
    assert verdicts["debian:12"].outcome == "runs"
    for name in ("alpine:3.20", "scratch"):
        v = verdicts[name]
        assert (v.outcome, v.family) == ("crashes", "script-interpreter-missing"), v
        assert v.message == "exec ./run.bash: no such file or directory"
    diag = _check(sh, "distroless/static", "alpine:3.20")
    outcomes = {v.target: v.outcome for v in diag.verdicts}
    assert outcomes == {"distroless/static": "crashes", "alpine:3.20": "runs"}
    assert "/bin/sh" in _chain_text(diag)


def test_env_shebang_looks_the_program_up_on_path(tmp_path):
    from goci_doctor.artifact import inspect_path

    script = tmp_path / "tool"
    script.write_text("#!/usr/bin/env bash\necho hi\n")
    verdicts = {v.target: v for v in _check(inspect_path(script), "debian:bookworm", "alpine:3.20").verdicts}
    assert verdicts["debian:12"].outcome == "runs"
    assert verdicts["alpine:3.20"].outcome == "crashes"
    assert verdicts["alpine:3.20"].message == "/usr/bin/env: 'bash': No such file or directory"
    # Debian 12 merged /usr: /usr/bin/bash is /bin/bash.
    script.write_text("#!/usr/bin/bash\necho hi\n")
    (v,) = _check(inspect_path(script), "debian:bookworm").verdicts
    assert v.outcome == "runs"
    # An interpreter nobody listed is not claimed missing.
    script.write_text("#!/usr/bin/python3\nprint('hi')\n")
    (v,) = _check(inspect_path(script), "debian:bookworm").verdicts
    assert v.outcome == "unknown"


def test_non_go_program_is_judged_from_the_distribution_lists(tmp_path):
    """/bin/ls needs libselinux.so.1: Debian 12 and 13 base images have it (listed), so it runs there;
    a distribution nobody listed gets "unknown", never "missing library"."""
    from goci_doctor.artifact import inspect_path

    ls = Path("/bin/ls")
    if not ls.is_file():
        pytest.skip("no /bin/ls on this host")
    facts = inspect_path(ls)
    if "libselinux.so.1" not in facts.needed:
        pytest.skip("this host's ls does not link libselinux")
    host_glibc = knowledge.version_tuple(facts.glibc_required)
    verdicts = {v.target: v for v in _check(facts, "debian:trixie", "ubuntu:24.04").verdicts}
    assert host_glibc <= (2, 41)
    assert verdicts["debian:13"].outcome == "runs", verdicts["debian:13"]
    assert verdicts["ubuntu:24.04"].family != "missing-shared-lib"


def test_a_missing_library_wins_over_symbol_versions(bin_path):
    """ld.so maps every DT_NEEDED library before it checks versions (observed: libsqlite3 on Debian 11)."""
    from goci_doctor.artifact import inspect_path

    facts = inspect_path(bin_path("c-sqlite"))
    (v,) = _check(facts, "debian:bullseye").verdicts
    assert v.family == "missing-shared-lib"
    assert v.message == (
        "./c-sqlite: error while loading shared libraries: libsqlite3.so.0: cannot open shared "
        "object file: No such file or directory"
    )


def test_version_lines_follow_gnu_version_r_and_the_quote_names_the_floor(facts_of):
    facts = facts_of("cgo-host")
    order = [
        v
        for vn in facts.version_needs
        if vn.library == "libc.so.6"
        for v in vn.versions
        if knowledge.version_tuple(v.removeprefix("GLIBC_")) > (2, 31)
    ]
    diag = _check(facts, "debian:bullseye")
    assert [c for c in diag.chains if c.id.startswith("glibc-too-new/")]
    (v,) = diag.verdicts
    assert f"GLIBC_{facts.glibc_required}'" in v.message
    lines = diagnosis.loaderpredict.glibc_version_lines(facts, "2.31", "./cgo-host", "/lib/x86_64-linux-gnu/libc.so.6")
    assert [ln.split("`")[1].split("'")[0] for ln in lines] == order
    # The run side quotes the same line, whatever order ld.so printed them in.
    for printed in (lines, list(reversed(lines))):
        r = RunResult("debian:11", "img", "glibc 2.31", "crashes", exit_code=1, stderr="\n".join(printed) + "\n")
        assert r.message == v.message


def test_no_go_advice_for_a_c_program(facts_of):
    for name, target in (("c-hello", "debian:bullseye"), ("cxx-hello", "alpine:3.20"), ("c-hello", "scratch")):
        facts = facts_of(name)
        assert facts.go is None
        text = _chain_text(_check(facts, target))
        assert text, name
        for go_word in ("cgo", "go build", "CGO_ENABLED", "golang"):
            assert go_word not in text, (name, target, go_word, text)


def test_386_runs_on_an_amd64_machine(facts_of):
    (v,) = diagnosis.check_artifact(
        facts_of("i386"), [knowledge.resolve_target("debian:bookworm")], arch="amd64"
    ).verdicts
    assert v.outcome == "runs"
    (v,) = diagnosis.check_artifact(
        facts_of("i386"), [knowledge.resolve_target("debian:bookworm")], arch="arm64"
    ).verdicts
    assert v.family == "wrong-arch"


def test_base_files_lists_load_and_bad_ones_are_refused():
    lists = targetfiles.base_files()
    assert {"debian:11", "debian:12", "debian:13", "alpine:3.20", "scratch", "distroless/static"} <= set(lists)
    assert all(entry.source for entry in lists.values())
    for name in lists:
        assert knowledge.find_target(name) is not None, name
    with pytest.raises(GociError, match="unknown keys"):
        targetfiles.load_base_files('[[base]]\ntargets = ["x"]\nsource = "s"\nshells = []\n')
    with pytest.raises(GociError, match="absolute"):
        targetfiles.load_base_files('[[base]]\ntargets = ["x"]\nsource = "s"\ninterpreters = ["sh"]\n')


# --------------------------------------------------------------------------------------------
# The matrix on the real engine


@pytest.fixture(scope="module")
def engine():
    try:
        return lab_engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")


@pytest.mark.docker
def test_check_agrees_with_run_on_every_cell(engine, tmp_path_factory):
    from goci_doctor.lab.images import build_images

    build_images(on_progress=lambda _line: None, client=engine)
    kinds = loader_matrix.kinds(tmp_path_factory.mktemp("matrix"))
    missing = [name for name, _ in (*loader_matrix.BUILT_KINDS, *loader_matrix.BAD_KINDS) if name not in kinds]
    if missing:
        pytest.skip(f"toolchains missing for {missing} (see tests/fixtures/build.py)")
    assert len(kinds) >= 17
    cells = loader_matrix.measure(kinds, client=engine)
    assert len(cells) == len(kinds) * len(loader_matrix.TARGETS)
    assert all(c.real in ("runs", "crashes") for c in cells), [c for c in cells if c.real not in ("runs", "crashes")]
    wrong = [
        f"{c.kind} on {c.target}: check {c.predicted} {c.predicted_message!r}, run {c.real} {c.real_message!r}"
        for c in cells
        if not c.agrees
    ]
    assert wrong == []
    # Every image lent its files: the verdicts cite them, not the knowledge base.
    assert {c.image for c in cells} >= {"goci/debian:bullseye", "goci/musl", "goci/scratch"}
