"""``lint`` on real repositories: what it reads, what it finds, and recall on injected mistakes.

    python benchmarks/lint_sweep.py SPEC.json [--markdown]

SPEC is a JSON list of repositories: ``{"name", "path", "inject": {"what", "file", "edits":
[[old, new], ...], "expect": "GOCI001"}}`` (``inject`` optional). Each repository is linted as
it is (files read, go builds extracted, findings), then a copy with the edits applied is linted
and the injection counts as caught when a finding of the expected rule appears that the
unmodified repository did not have. The repositories are fetched public snapshots, never
committed; benchmarks/lint_sweep.json is the spec used for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # PYTHONPATH first: the sweep can measure another tree

from goci_doctor.gate.lint import lint_repo  # noqa: E402
from goci_doctor.gate.rules import LintFinding  # noqa: E402


def _key(f: LintFinding) -> tuple[str, str, str]:
    return (f.rule_id, f.file, f.message)


def _inject(src: Path, spec: dict) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="goci-sweep-"))
    dst = tmp / src.name
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(".git", "node_modules"))
    target = dst / spec["file"]
    text = target.read_text(encoding="utf-8")
    for old, new in spec["edits"]:
        if old not in text:
            raise SystemExit(f"{spec['file']}: edit target not found: {old!r}")
        text = text.replace(old, new, 1)
    target.write_text(text, encoding="utf-8")
    return dst


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("--root", default="", help="directory the spec's relative paths start from")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--findings", action="store_true", help="print every finding of the unmodified repos")
    args = ap.parse_args()
    spec = json.loads(Path(args.spec).read_text())
    rows, inj_rows = [], []
    for entry in spec:
        path = Path(args.root or ".") / entry["path"]
        t0 = time.process_time()
        base = lint_repo(path)
        secs = time.process_time() - t0
        counts = {lvl: sum(f.level == lvl for f in base.findings) for lvl in ("error", "warning", "note")}
        rows.append(
            (
                entry["name"],
                len(base.files),
                len(getattr(base, "builds", ())),
                counts,
                secs,
                sorted({f.rule_id for f in base.findings}),
            )
        )
        if args.findings:
            for f in base.findings:
                print(f"  {entry['name']}: {f.location} {f.level} {f.rule_id}: {f.message[:160]}")
        inj = entry.get("inject")
        if inj:
            copy = _inject(path, inj)
            try:
                after = lint_repo(copy)
            finally:
                shutil.rmtree(copy.parent, ignore_errors=True)
            before = {_key(f) for f in base.findings}
            new = [f for f in after.findings if _key(f) not in before]
            caught = [f for f in new if f.rule_id == inj["expect"]]
            inj_rows.append(
                (
                    entry["name"],
                    inj["what"],
                    inj["expect"],
                    bool(caught),
                    (caught[0] if caught else (new[0] if new else None)),
                )
            )
    if args.markdown:
        print("| repo | files read | go builds | errors | warnings | notes | rules | time |")
        print("|---|---:|---:|---:|---:|---:|---|---:|")
        for name, files, builds, c, secs, rules in rows:
            print(
                f"| {name} | {files} | {builds} | {c['error']} | {c['warning']} | {c['note']} | "
                f"{', '.join(rules) or '–'} | {secs:.2f} s |"
            )
        print()
        print("| repo | injected mistake | expected | caught | finding |")
        print("|---|---|---|---|---|")
        for name, what, expect, ok, f in inj_rows:
            where = f"{f.location} {f.level} {f.rule_id}" if f else "–"
            print(f"| {name} | {what} | {expect} | {'yes' if ok else 'no'} | {where} |")
    else:
        for name, files, builds, c, secs, rules in rows:
            print(f"{name:12} files={files:3} builds={builds:3} {c} {secs:.2f}s {rules}")
        for name, what, expect, ok, f in inj_rows:
            print(
                f"INJ {name:12} {expect} {'CAUGHT' if ok else 'missed'}: {what} -> "
                f"{(f.location + ' ' + f.rule_id + ' ' + f.message[:120]) if f else '-'}"
            )
    caught = sum(r[3] for r in inj_rows)
    print(f"\nrecall: {caught}/{len(inj_rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
