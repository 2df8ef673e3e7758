"""Every JSON document goci-doctor writes validates against docs/schema.json, and all come from one place.

Each command runs for real through ``cli.main`` (real fixture binaries, the lint repositories in
tests/repos, the real local Docker engine where a command needs one) with ``--json``; its output
must validate against the committed schema and name its ``kind``. The schema must describe every
kind ``render.documents`` can write, and no module but ``render.documents`` may spell out a
document's envelope.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from goci_doctor import cli
from goci_doctor.model import SCHEMA_VERSION, EngineUnavailableError
from goci_doctor.render.documents import KINDS, RECORDING_KIND, document

ROOT = Path(__file__).resolve().parent.parent
REPOS = ROOT / "tests" / "repos"
PROJECTS = ROOT / "tests" / "fixtures" / "projects"
PACKAGE = ROOT / "goci_doctor"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "docs" / "schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _valid(validator: jsonschema.Draft202012Validator, doc: Any, kind: str) -> dict[str, Any]:
    assert isinstance(doc, dict)
    assert doc["kind"] == kind and doc["schema_version"] == SCHEMA_VERSION
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
    assert not errors, errors[:5]
    return doc


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], codes: tuple[int, ...] = (0, 1)) -> dict[str, Any]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code in codes, err
    doc: dict[str, Any] = json.loads(out)
    return doc


@pytest.fixture
def engine() -> Any:
    from goci_doctor.lab import engine as lab_engine

    try:
        return lab_engine.connect()
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine: {exc}")


# --------------------------------------------------------------------------------------------
# The schema and the one JSON path


def test_the_schema_describes_every_kind(validator) -> None:
    described = {k["properties"]["kind"]["const"] for k in validator.schema["oneOf"]}
    assert described == {*KINDS, RECORDING_KIND}


def test_document_refuses_a_kind_without_a_schema() -> None:
    with pytest.raises(ValueError, match="unknown document kind"):
        document("surprise", x=1)


def _envelopes(path: Path) -> list[int]:
    """Lines of dict literals with a "schema_version" key (a document made by hand)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        and any(isinstance(k, ast.Constant) and k.value == "schema_version" for k in node.keys)
    ]


def test_only_render_documents_makes_a_document() -> None:
    # The run recording is written by the lab (below render) and described in the schema too; the
    # schema itself names the envelope's fields.
    allowed = {PACKAGE / "render" / name for name in ("documents.py", "schema.py")} | {PACKAGE / "lab" / "runner.py"}
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in allowed
        for line in _envelopes(path)
    ]
    assert offenders == [], "build JSON documents with render.documents.document(kind, ...):\n" + "\n".join(offenders)


# --------------------------------------------------------------------------------------------
# Commands without a container engine


def test_env(validator, capsys) -> None:
    _valid(validator, _json(capsys, ["env", "--json"]), "env")


def test_inspect(validator, capsys, bin_path, bad_files) -> None:
    argv = ["inspect", str(bin_path("static")), str(bin_path("windows")), str(bad_files["html"]), "--json"]
    doc = _valid(validator, _json(capsys, argv), "inspect")
    assert len(doc["artifacts"]) == 3


def test_check_and_check_sarif_is_not_a_document(validator, capsys, bin_path) -> None:
    doc = _json(capsys, ["check", str(bin_path("cgo-host")), "-t", "centos:7", "-t", "alpine:3.20", "--json"])
    assert _valid(validator, doc, "diagnosis")["has_problem"] is True


def test_check_policy(validator, capsys, bin_path) -> None:
    argv = ["check", "--policy", "prod", "--repo", str(REPOS / "good"), str(bin_path("cgo-host")), "--json"]
    doc = _valid(validator, _json(capsys, argv), "policy")
    assert doc["policy_env"] == "prod" and doc["policy"].endswith(".goci-policy.toml")
    assert doc["summary"]["errors"] == sum(f["level"] == "error" for f in doc["findings"]) > 0


def test_explain(validator, capsys, tmp_path) -> None:
    log = tmp_path / "crash.log"
    log.write_text("./app: /lib64/libc.so.6: version `GLIBC_2.34' not found (required by ./app)\n")
    doc = _valid(validator, _json(capsys, ["explain", str(log), "--json"]), "diagnosis")
    assert doc["diagnosis"]["chains"]


def test_targets(validator, capsys) -> None:
    doc = _valid(validator, _json(capsys, ["targets", "--json"]), "targets")
    assert any(t["name"] == "centos:7" for t in doc["targets"])


@pytest.mark.parametrize("repo", sorted(p.name for p in REPOS.iterdir() if p.is_dir()))
def test_lint(validator, capsys, repo: str) -> None:
    doc = _valid(validator, _json(capsys, ["lint", str(REPOS / repo), "--json"]), "lint")
    assert doc["repo"] == str(REPOS / repo)


def test_history_list_and_entry(validator, capsys, tmp_path, monkeypatch, bin_path) -> None:
    monkeypatch.setenv("GOCI_DOCTOR_DATA_DIR", str(tmp_path))
    assert _valid(validator, _json(capsys, ["history", "--json"]), "history")["sessions"] == []
    # A session saved the way the TUI saves one, then listed and shown.
    from goci_doctor import artifact, diagnosis, knowledge
    from goci_doctor.records import Report
    from goci_doctor.render import history

    diag = diagnosis.check_artifact(
        artifact.inspect_path(bin_path("arm64")), [knowledge.resolve_target("debian:bookworm")], arch="amd64"
    )
    saved = history.save_session(Report(diagnosis=diag, title="arm64 on bookworm"))
    listed = _valid(validator, _json(capsys, ["history", "--json"]), "history")
    assert [s["title"] for s in listed["sessions"]] == ["arm64 on bookworm"]
    shown = _valid(validator, _json(capsys, ["history", saved.stem, "--json"]), "report")
    assert shown["title"] == "arm64 on bookworm"


def test_run_on_this_machine_merge_and_recording(validator, capsys, tmp_path, bin_path) -> None:
    """`run --on-this-machine --json` (what the GitHub Action writes), merged, and recorded."""
    report = tmp_path / "run.json"
    code = cli.main(["run", str(bin_path("static")), "--on-this-machine", "--force", "--json", "-o", str(report)])
    assert code == 0, capsys.readouterr().err
    doc = _valid(validator, json.loads(report.read_text(encoding="utf-8")), "run")
    assert [r["outcome"] for r in doc["runs"]] == ["runs"]
    assert len(doc["artifact_sha256"]) == 64

    merged = _valid(validator, _json(capsys, ["merge", str(report), "--json"]), "merge")
    assert merged["sources"] == [{"file": str(report), "kind": "run"}]

    from goci_doctor.lab.runner import record_runs, result_from_jsonable

    recording = record_runs([result_from_jsonable(r) for r in doc["runs"]], doc["artifact_sha256"])
    _valid(validator, json.loads(json.dumps(recording)), RECORDING_KIND)


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_trace(validator, capsys, tmp_path) -> None:
    missing = tmp_path / "no-such-program"
    argv = ["trace", "--engine", "strace", "--json", "--", "sh", "-c", f"{missing}; true"]
    doc = _valid(validator, _json(capsys, argv), "trace")
    assert doc["trace"]["engine"] == "strace"


# --------------------------------------------------------------------------------------------
# Commands on the real local Docker engine


@pytest.mark.docker
def test_images_list(validator, capsys, engine) -> None:
    doc = _valid(validator, _json(capsys, ["images", "list", "--json"], codes=(0,)), "images")
    assert doc["images"] and all("ref" in i for i in doc["images"])


@pytest.mark.docker
def test_run_in_containers_and_build(validator, capsys, tmp_path, engine, bin_path) -> None:
    from docker.errors import ImageNotFound

    for image in ("goci/debian:bookworm", "goci/build:trixie"):
        try:
            engine.images.get(image)
        except ImageNotFound:
            pytest.skip(f"local image {image} not built (goci-doctor images build)")
    run = _json(capsys, ["run", str(bin_path("static")), "-t", "goci/debian:bookworm", "--json"], codes=(0,))
    assert [r["outcome"] for r in _valid(validator, run, "run")["runs"]] == ["runs"]

    out = tmp_path / "build.json"
    argv = [
        "build",
        str(PROJECTS / "cgoapp"),
        "-t",
        "goci/debian:bookworm",
        "--variant",
        "cgo-off",
        "--build-image",
        "goci/build:trixie",
        "--json",
        "-o",
        str(out),
    ]
    assert cli.main(argv) in (0, 1), capsys.readouterr().err
    build = _valid(validator, json.loads(out.read_text(encoding="utf-8")), "build")
    assert [b["variant"] for b in build["builds"]] == ["cgo-off"]
    merged = _valid(validator, _json(capsys, ["merge", str(out), "--json"]), "merge")
    assert merged["sources"][0]["kind"] == "build"
