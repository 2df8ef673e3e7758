"""docs/ is checked against the code: the JSON schema is regenerated, real outputs validate against it,
every key the loaders accept is documented (and nothing else), and every example parses."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

from goci_doctor import cli, diagnosis, hostenv, knowledge
from goci_doctor.gate import policyfile as policy
from goci_doctor.lab.demo import Scenario, demo_dir
from goci_doctor.model import ExitCode
from goci_doctor.records import Report
from goci_doctor.render import report_to_json, schema

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.DOTALL)


def _section(text: str, heading: str) -> str:
    """The text under a Markdown heading, up to the next heading of the same or a higher level
    (lines inside code fences, such as YAML comments, are not headings)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if re.fullmatch(rf"#+ {re.escape(heading)}\n?", ln)), None)
    assert start is not None, f"no section {heading!r}"
    level = len(lines[start]) - len(lines[start].lstrip("#"))
    out: list[str] = []
    fenced = False
    for ln in lines[start + 1 :]:
        if ln.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", ln):
            break
        out.append(ln)
    return "".join(out)


def _table_keys(text: str) -> dict[str, list[str]]:
    """First-column `key` of each Markdown table row -> the row's cells."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        m = re.match(r"^\| `([^`]+)` \|(.*)\|$", line)
        if m:
            out[m.group(1)] = [c.strip() for c in m.group(2).split("|")]
    return out


# --------------------------------------------------------------------------------------------
# JSON schema


def test_schema_is_generated_from_the_model() -> None:
    assert _doc("schema.json") == schema.schema_text(), (
        "docs/schema.json is out of date: python -m goci_doctor.render.schema --write docs/schema.json"
    )


def test_schema_main_check_detects_drift(tmp_path: Path) -> None:
    stale = tmp_path / "schema.json"
    stale.write_text(_doc("schema.json").replace('"ChainNode"', '"Node"', 1), encoding="utf-8")
    assert schema.main(["--check", str(stale)]) == 1
    assert schema.main(["--check", str(DOCS / "schema.json")]) == 0


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    doc = json.loads(_doc("schema.json"))
    jsonschema.Draft202012Validator.check_schema(doc)
    return jsonschema.Draft202012Validator(doc)


def _run_json(capsys, argv: list[str]) -> dict:
    cli.main(argv)
    return json.loads(capsys.readouterr().out)


def _valid(validator: jsonschema.Draft202012Validator, doc: dict, kind: str) -> None:
    assert doc["kind"] == kind
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
    assert not errors, errors[:5]


def test_check_json_validates(validator, capsys, bin_path) -> None:
    doc = _run_json(capsys, ["check", str(bin_path("cgo-host")), "-t", "centos:7", "-t", "alpine:3.20", "--json"])
    assert doc["has_problem"] is True
    _valid(validator, doc, "diagnosis")


def test_explain_json_validates(validator, capsys, tmp_path) -> None:
    log = tmp_path / "crash.log"
    log.write_text("./app: /lib64/libc.so.6: version `GLIBC_2.34' not found (required by ./app)\n")
    doc = _run_json(capsys, ["explain", str(log), "--json"])
    assert doc["diagnosis"]["chains"]
    _valid(validator, doc, "diagnosis")


def test_inspect_json_validates(validator, capsys, bin_path, bad_files) -> None:
    doc = _run_json(
        capsys, ["inspect", str(bin_path("static")), str(bin_path("windows")), str(bad_files["html"]), "--json"]
    )
    assert len(doc["artifacts"]) == 3
    _valid(validator, doc, "inspect")


def test_targets_and_env_json_validate(validator, capsys) -> None:
    _valid(validator, _run_json(capsys, ["targets", "--json"]), "targets")
    _valid(validator, _run_json(capsys, ["env", "--json"]), "env")


def test_report_validates_and_a_broken_one_does_not(validator, bin_path) -> None:
    from goci_doctor import artifact

    targets = [knowledge.resolve_target("centos:7")]
    diag = diagnosis.check_artifact(artifact.inspect_path(bin_path("cgo-host")), targets)
    report = Report(
        diagnosis=diag,
        env=hostenv.gather(docker=False),
        created="2025-01-01T00:00:00Z",
        tool_version="0.1.0",
        targets=("centos:7",),
        title="cgo-host on centos:7",
    )
    doc = json.loads(report_to_json(report))
    _valid(validator, doc, "report")
    doc["diagnosis"]["verdicts"][0]["outcome"] = "explodes"
    assert not validator.is_valid(doc)


def test_demo_recordings_match_the_scenario_dataclass() -> None:
    check = jsonschema.Draft202012Validator(schema.dataclass_schema(Scenario))
    paths = sorted(demo_dir().glob("*.json"))
    assert paths
    for path in paths:
        errors = [e.message for e in check.iter_errors(json.loads(path.read_text(encoding="utf-8")))]
        assert not errors, f"{path.name}: {errors[:3]}"


# --------------------------------------------------------------------------------------------
# Policy reference


def test_policy_doc_lists_exactly_the_policy_keys() -> None:
    keys = _table_keys(_section(_doc("policy.md"), "Keys of an `[env.NAME]` table"))
    assert set(keys) == set(policy._KEYS)
    for key, types in policy._KEYS.items():
        want = {bool: "boolean", str: "string", list: "list of strings"}[types[0]]
        assert keys[key][0].startswith(want), f"{key}: documented as {keys[key][0]}, loader wants {want}"


def test_policy_doc_example_loads(tmp_path: Path) -> None:
    (example,) = _blocks(_doc("policy.md"), "toml")
    path = tmp_path / ".goci-policy.toml"
    path.write_text(example, encoding="utf-8")
    loaded = policy.load_policy(path)
    assert set(loaded.envs) == {"prod", "legacy"}
    used = {
        k
        for env in re.findall(r"^\[env\.\w+\]\n(.*?)(?=^\[|\Z)", example, re.S | re.M)
        for k in re.findall(r"^(\w+) =", env, re.M)
    }
    assert used == set(policy._KEYS), "the example should show every key"


# --------------------------------------------------------------------------------------------
# Knowledge-base format


KB_SECTIONS = {
    "targets.toml": (set(knowledge.target_catalog._TARGET_REQUIRED), set(knowledge.target_catalog._TARGET_OPTIONAL)),
    "go_releases.toml": (set(knowledge.releases._GO_REQUIRED), set(knowledge.releases._GO_OPTIONAL)),
    "cpu_levels.toml": (set(knowledge.releases._CPU_REQUIRED), set(knowledge.releases._CPU_OPTIONAL)),
    "families.toml": ({"id", "title", "symptom", "mechanism", "cause", "source"}, set(knowledge.failures._FAMILY_KEYS)),
    "`[[family.fix]]`": ({"id", "title"}, set(knowledge.failures._FIX_KEYS)),
    "cgo_modules.toml": ({f.name for f in knowledge.CgoModule.__dataclass_fields__.values()}, set()),
    "variants.toml": (set(knowledge.build_variants._VARIANT_REQUIRED), set(knowledge.build_variants._VARIANT_OPTIONAL)),
}


@pytest.mark.parametrize("heading", list(KB_SECTIONS))
def test_knowledge_doc_lists_exactly_the_loader_keys(heading: str) -> None:
    required, optional = KB_SECTIONS[heading]
    text = _section(_doc("knowledge-base.md"), heading)
    if heading == "families.toml":
        text = text.split("### `[[family.fix]]`")[0]
    rows = _table_keys(text)
    assert set(rows) == required | optional
    for key, cells in rows.items():
        assert cells[1] == ("yes" if key in required else "no"), f"{heading}: {key} required column"


def test_every_shipped_knowledge_file_is_documented() -> None:
    data = ROOT / "goci_doctor" / "data"
    for path in data.glob("*.toml"):
        assert f"## {path.name}" in _doc("knowledge-base.md"), f"{path.name} is not documented"


def test_knowledge_doc_examples_load(tmp_path: Path) -> None:
    target_example, family_example = _blocks(_doc("knowledge-base.md"), "toml")
    path = tmp_path / "targets.toml"
    path.write_text(target_example, encoding="utf-8")
    catalog = knowledge.load_catalog(path)
    assert catalog.resolve("el7").libc_version == "2.17"
    fams = knowledge.load_families(family_example, origin="knowledge-base.md")
    fam = fams["glibc-too-new"]
    assert fam.fixes[0].variant == "cgo-off"
    assert any(p.search("./app: version `GLIBC_2.34' not found") for p in fam.patterns)


# --------------------------------------------------------------------------------------------
# CI guide


def test_ci_doc_exit_codes_match_the_cli() -> None:
    rows = re.findall(r"^\| (\d+) \|", _section(_doc("ci.md"), "Exit codes"), flags=re.M)
    assert sorted(int(r) for r in rows) == sorted(int(c) for c in ExitCode)


def test_ci_doc_lists_every_action_input_and_output() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    inputs = _table_keys(_section(_doc("ci.md"), "Inputs"))
    assert set(inputs) == set(action["inputs"])
    for name, spec in action["inputs"].items():
        documented = inputs[name][0].strip("`")
        assert documented == str(spec.get("default", "")), f"input {name}: default {documented!r}"
    assert set(_table_keys(_section(_doc("ci.md"), "Outputs"))) == set(action["outputs"])


def test_ci_doc_gitlab_snippet_is_the_example() -> None:
    (snippet,) = _blocks(_section(_doc("ci.md"), "GitLab CI"), "yaml")
    assert snippet == (ROOT / "examples" / "gitlab-ci.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["ci.md", "policy.md"])
def test_doc_commands_parse(name: str) -> None:
    commands = [
        ln[2:]
        for block in _blocks(_doc(name), "console")
        for ln in block.splitlines()
        if ln.startswith("$ goci-doctor ")
    ]
    assert commands
    for line in commands:
        cli.build_parser().parse_args(shlex.split(line)[1:])
