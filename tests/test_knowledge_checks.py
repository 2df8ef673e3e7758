"""The knowledge base checks itself: fixes name variants that exist, templates can be filled,
malformed variant entries are refused with the file and the entry named."""

from __future__ import annotations

import importlib
import inspect
import string
from pathlib import Path

import pytest

from goci_doctor import diagnosis, knowledge
from goci_doctor.lab import buildmatrix
from goci_doctor.model import GociError

DATA = Path(diagnosis.__file__).parents[1] / "data"

# Template names that a specific code path supplies (not a pattern group, not a default): the key,
# and the module whose source must produce it. A new placeholder has to be added here, with its source.
CODE_FACTS = {
    "line": "goci_doctor.diagnosis.classify",  # the matched log line, for every log finding
    "variable": "goci_doctor.diagnosis.checks",
    "message": "goci_doctor.diagnosis.checks",
    "cpu_check_command": "goci_doctor.diagnosis.checks",
    "baseline_command": "goci_doctor.diagnosis.checks",  # level_facts: GOAMD64/GOARM
    "have_macos": "goci_doctor.diagnosis.otheros",
    "older_go": "goci_doctor.diagnosis.common",
    "older_go_version": "goci_doctor.diagnosis.common",
    "older_go_toolchain": "goci_doctor.diagnosis.common",  # older_go_facts: macOS minimums
    "rpath": "goci_doctor.diagnosis.chains",  # the RPATH entry that points into the build machine
}
DERIVED = {"target_arg", "binary_name", "binary_stem", "arch_triple", "cross_cc", "zig_target", "cross_hint"}


def _texts(fam: knowledge.Family) -> list[str]:
    return [
        fam.title,
        fam.symptom,
        fam.mechanism,
        fam.cause,
        *(t for fx in fam.fixes for t in (fx.title, fx.detail, *fx.commands, *fx.diff)),
    ]


def _groups(fam: knowledge.Family) -> set[str]:
    import re

    return {g for p in (*fam.patterns, *fam.context) for g in re.findall(r"\(\?P<(\w+)>", p.pattern)}


@pytest.mark.parametrize("family", sorted(knowledge.families()))
def test_every_template_placeholder_can_be_filled(family, monkeypatch):
    fam = knowledge.families()[family]
    known = set(diagnosis.common._DEFAULTS) | DERIVED | _groups(fam) | set(CODE_FACTS)
    missing = {f for t in _texts(fam) for _, f, _, _ in string.Formatter().parse(t) if f and f not in known}
    assert missing == set(), f"{family}: nothing fills {sorted(missing)}"
    # Rendered with sample facts, no placeholder falls through to the visible "<name>" fallback.
    unfilled: list[str] = []
    monkeypatch.setattr(diagnosis.common._Defaults, "__missing__", lambda self, key: unfilled.append(key) or "")
    sample = {k: f"sample-{k}" for k in known}
    for text in _texts(fam):
        diagnosis.fill(text, sample)
    assert unfilled == [], f"{family}: unfilled {unfilled}"


def test_code_facts_are_really_produced_where_the_table_says():
    for key, module in CODE_FACTS.items():
        source = inspect.getsource(importlib.import_module(module))
        assert f'"{key}"' in source or f"{key}=" in source, f"{module} does not produce {key!r}"


def test_every_fix_variant_exists_and_builds_a_variant():
    named = {fx.variant for fam in knowledge.families().values() for fx in fam.fixes if fx.variant}
    assert {"goamd64-v1", "goarm-6", "cgo-off", "zig-2.17"} <= named
    for name in named:
        assert buildmatrix.variant(name).name.startswith(name.split(":")[0])


def test_a_fix_naming_an_unknown_variant_is_refused_at_load():
    text = (DATA / "families.toml").read_text(encoding="utf-8").replace('variant = "goarm-6"', 'variant = "goarm-5"')
    with pytest.raises(GociError, match=r"names build variant 'goarm-5', which data/variants\.toml does not define"):
        knowledge.load_families(text)


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ('name = "x"\ntitle = "t"\nproves = "p"\nshell = "bash"\n', "unknown key(s) ['shell']"),
        ('name = "x"\ntitle = "t"\nproves = "p"\ncc = "tcc"\n', "'cc' must be one of"),
        ('name = "x"\ntitle = "t"\nproves = "p"\nenv = { CGO_ENABLED = 0 }\n', "'env' must map"),
        ('name = "cross"\ntitle = "t"\nproves = "p"\n', "duplicate or reserved name"),
        ('title = "t"\nproves = "p"\n', "missing required key 'name'"),
    ],
)
def test_malformed_variant_entries_name_the_file_and_entry(tmp_path, entry, needle):
    path = tmp_path / "variants.toml"
    path.write_text("[[variant]]\n" + entry)
    with pytest.raises(GociError) as info:
        knowledge.load_variants(path)
    assert needle in info.value.message and str(path) in info.value.message


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"path": "x", "library": "y", "alternatives": [], "note": "n"}, "missing required key 'source'"),
        ({"path": "x", "library": "y", "alternatives": "z", "note": "n", "source": "s"}, "'alternatives' must be"),
        ({"path": "", "library": "y", "alternatives": [], "note": "n", "source": "s"}, "'path' must be"),
        (
            {"path": "x", "library": "y", "alternatives": [], "note": "n", "source": "s", "url": "u"},
            r"unknown key\(s\) \['url'\]",
        ),
    ],
)
def test_a_malformed_cgo_module_entry_fails_at_load(entry, complaint):
    with pytest.raises(GociError, match=complaint):
        knowledge.load_cgo_modules({"module": [entry]}, "cgo_modules.toml")


def test_the_shipped_cgo_modules_load_and_one_list_serves_lint_and_check():
    mods = knowledge.cgo_modules()
    assert any(m.path == "github.com/mattn/go-sqlite3" for m in mods)
    assert all(m.source for m in mods)
