"""Score `explain` on the public-reports corpus (tests/corpus/public_reports.toml).

Each report is a message users pasted into a public thread and the root-cause family the thread
concluded. A deterministic third of the reports (by a hash of URL and message) is held out: the
script prints which tuning reports were missed (to improve the rules) but only the accuracy of the
held-out part, never its misses, so nobody tunes on it.

    python scripts/score_explain.py                 # accuracy of both parts
    python scripts/score_explain.py --misses        # also the misses of the tuning part
    python scripts/score_explain.py --json          # machine-readable figures

Accuracy counts the leading hypothesis; "top 3" counts the concluded family anywhere among the
first three ranked hypotheses.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "public_reports.toml"


@dataclass(frozen=True)
class Report:
    url: str
    family: str
    message: str
    note: str

    @property
    def held_out(self) -> bool:
        """One report in three, chosen by a hash nobody picks: never tune on these."""
        digest = hashlib.sha256(f"{self.url}\n{self.message.strip()}".encode()).digest()
        return digest[0] % 3 == 0


def load_reports(path: Path = CORPUS) -> list[Report]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Report(r["url"], r["family"], r["message"], r.get("note", "")) for r in data["report"]]


def ranked_families(message: str) -> list[str]:
    """The families `explain` proposes for a message, leading hypothesis first."""
    from goci_doctor.diagnosis import explain

    diagnosis = explain.explain_text(message, source="report")
    ranked = [h.family for h in getattr(diagnosis, "hypotheses", ())]
    ranked += [c.id.split("/")[0] for c in diagnosis.chains]
    return list(dict.fromkeys(ranked))


@dataclass(frozen=True)
class Score:
    total: int
    correct: int
    top3: int
    misses: tuple[tuple[Report, tuple[str, ...]], ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def top3_accuracy(self) -> float:
        return self.top3 / self.total if self.total else 0.0


def score(reports: list[Report]) -> Score:
    correct = top3 = 0
    misses: list[tuple[Report, tuple[str, ...]]] = []
    for r in reports:
        ranked = ranked_families(r.message)
        if ranked[:1] == [r.family]:
            correct += 1
        else:
            misses.append((r, tuple(ranked[:3])))
        top3 += r.family in ranked[:3]
    return Score(len(reports), correct, top3, tuple(misses))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the tuning part's misses")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    reports = load_reports()
    tuning = [r for r in reports if not r.held_out]
    held = [r for r in reports if r.held_out]
    st, sh = score(tuning), score(held)
    if args.json:
        doc = {
            part: {
                "reports": s.total,
                "correct": s.correct,
                "accuracy": round(s.accuracy, 4),
                "top3": s.top3,
                "top3_accuracy": round(s.top3_accuracy, 4),
            }
            for part, s in (("tuning", st), ("held_out", sh))
        }
        print(json.dumps(doc, indent=2))
    else:
        for part, s in (("tuning", st), ("held-out", sh)):
            print(f"{part:<9} {s.correct:>3}/{s.total:<3} = {s.accuracy:6.1%}   top 3: {s.top3_accuracy:6.1%}")
    if args.misses:
        for r, ranked in st.misses:
            first = r.message.strip().splitlines()[0][:100]
            print(f"\nMISS want {r.family}, got {list(ranked)}\n  {r.url}\n  {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
