"""Score the resolver on the labelled development set: precision, recall and F1 per category.

    .venv/bin/python scripts/eval_resolver.py [tests/data/resolver_dev.csv] [--errors]

The question scored is "which immunomodulator ingredients does this string contain". A match
counts as a prediction when it names one ingredient (status unique or needs_review); an
ambiguous match predicts nothing (it asks the caller to choose). Negatives: the share of
non-immunomodulator rows for which anything is predicted.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "resolver_dev.csv"


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    rows: int = 0
    rows_wrong: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load(path: Path) -> list[dict[str, str]]:
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def predicted(text: str) -> set[str]:
    from immunomod.names import resolve

    return {
        m.ingredient
        for m in resolve(text).matches
        if m.immunomodulator and m.ingredient and m.status in {"unique", "needs_review"}
    }


def evaluate(
    rows: list[dict[str, str]],
) -> tuple[dict[str, Score], list[tuple[str, set[str], set[str]]]]:
    scores: dict[str, Score] = defaultdict(Score)
    errors = []
    for row in rows:
        want = {x for x in row["expected"].split(";") if x}
        got = predicted(row["text"])
        for s in (scores[row["category"]], scores["overall"]):
            s.tp += len(want & got)
            s.fp += len(got - want)
            s.fn += len(want - got)
            s.rows += 1
            s.rows_wrong += want != got
        if want != got:
            errors.append((row["text"], want, got))
    return scores, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("path", nargs="?", type=Path, default=DEV)
    ap.add_argument("--errors", action="store_true", help="list every wrong row")
    args = ap.parse_args()
    scores, errors = evaluate(load(args.path))
    print(
        "| category | rows | precision | recall | F1 | rows wrong |\n|---|---:|---:|---:|---:|---:|"
    )
    for cat in sorted(scores, key=lambda c: (c == "overall", c)):
        s = scores[cat]
        figures = f"{s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f}"
        print(f"| {cat} | {s.rows} | {figures} | {s.rows_wrong} |")
    neg = scores.get("negative")
    if neg:
        print(
            f"\nnegatives called immunomodulators: {neg.rows_wrong}/{neg.rows} "
            f"({100 * neg.rows_wrong / max(neg.rows, 1):.1f}%)"
        )
    if args.errors:
        for text, want, got in errors:
            print(f"- {text!r}: expected {sorted(want)}, got {sorted(got)}", file=sys.stderr)


if __name__ == "__main__":
    main()
