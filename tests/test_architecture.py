"""The shape of the package: no private name crosses a module boundary, one architecture table.

The import-linter contracts in pyproject.toml (run by scripts/test) keep Textual and the Docker SDK
out of the core; these tests check what a contract cannot express.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "goci_doctor"


def _modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }


def _package_of(module: str) -> str:
    """What owns a module's private names: the module itself at the top level, else its subpackage
    (goci_doctor.trace's modules share theirs)."""
    parent = module.rsplit(".", 1)[0]
    return module if parent == "goci_doctor" else parent


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_crosses_a_module_boundary():
    modules = _modules()
    offences = []
    for name, path in sorted(modules.items()):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported_modules: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("goci_doctor"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if target in modules:  # `from goci_doctor import lab`
                        imported_modules[alias.asname or alias.name] = target
                    elif _private(alias.name) and _package_of(node.module) != _package_of(name):
                        offences.append(f"{name}: from {node.module} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and alias.asname:
                        imported_modules[alias.asname] = alias.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
                target = imported_modules.get(node.value.id)
                if target and target != name and _package_of(target) != _package_of(name):
                    offences.append(f"{name}: {node.value.id}.{node.attr}")
    assert offences == [], "private names used across modules (make them public or move them):\n" + "\n".join(offences)


def test_one_architecture_table():
    # Spellings like "aarch64" -> "arm64" live in platforms.py only; everything else asks it.
    literal = ('"aarch64": "arm64"', "'aarch64': 'arm64'", '"x86_64": "amd64"')
    holders = sorted(
        name for name, path in _modules().items() if any(w in path.read_text(encoding="utf-8") for w in literal)
    )
    assert holders == [], holders


def _import_cycles(package: str = "goci_doctor") -> list[list[str]]:
    """Strongly connected groups of the package's modules (lazy imports inside functions count too)."""
    import grimp

    graph = grimp.build_graph(package)
    modules = sorted(m for m in graph.modules if m.startswith(package))
    edges = {m: sorted(d for d in graph.find_modules_directly_imported_by(m) if d.startswith(package)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan, iterative enough for a package of this size
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for m in modules:
        if m not in index:
            visit(m)
    return cycles


def test_no_import_cycles():
    assert _import_cycles() == []


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    # The check above can fail: a two-module package importing itself in a circle is found.
    pkg = tmp_path / "goci_doctor_cycle_probe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from goci_doctor_cycle_probe import b\n")
    (pkg / "b.py").write_text("def f():\n    from goci_doctor_cycle_probe import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _import_cycles("goci_doctor_cycle_probe") == [["goci_doctor_cycle_probe.a", "goci_doctor_cycle_probe.b"]]


def test_every_module_says_what_lives_there_and_what_it_imports():
    import re

    missing = [
        name
        for name, path in sorted(_modules().items())
        if not re.search(r"\b(Imports?|May import|imports)\b", ast.get_docstring(ast.parse(path.read_text())) or "")
    ]
    assert missing == [], missing
