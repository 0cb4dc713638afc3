"""Resolver benchmark (run by `make bench`): immunomod vs `drug-named-entity-recognition`.

Both run in this process on the same texts:

* single names: every row of the development set (tests/data/resolver_dev.csv);
* notes: note-length texts (~600 characters) made by joining free-text and product rows.

Reported: throughput of each on each kind of text, recall on immunomodulator ingredients
(immunomod: matches naming one ingredient; the peer: its resolved generic name mapped to our
ingredient ids), immunomod's load time and peak memory (a fresh process), to
benchmarks/results/resolver.json and as a Markdown table.
"""

from __future__ import annotations

import csv
import json
import platform
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "resolver_dev.csv"
RESULTS = ROOT / "benchmarks" / "results" / "resolver.json"
_WORDS = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def rows() -> list[dict[str, str]]:
    lines = [ln for ln in DEV.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def notes(data: list[dict[str, str]], size: int = 600) -> list[tuple[str, set[str]]]:
    """Note-length texts, each different: three passes over the rows, each in its own seeded
    order (repeated texts would flatter anything cached by text, on either side)."""
    rows = [r for r in data if r["category"] in {"free_text", "product_string", "negative"}]
    out, text, want = [], "", set()
    for seed in range(3):
        pool = rows[:]
        random.Random(seed).shuffle(pool)
        for r in pool:
            text += r["text"] + ". "
            want |= {x for x in r["expected"].split(";") if x}
            if len(text) >= size:
                out.append((text, want))
                text, want = "", set()
    return out


def ours(text: str) -> set[str]:
    from immunomod.names import resolve

    return {
        m.ingredient
        for m in resolve(text).matches
        if m.immunomodulator and m.ingredient and m.status in {"unique", "needs_review"}
    }


def peer_factory():  # type: ignore[no-untyped-def]
    from drug_named_entity_recognition import find_drugs

    from immunomod import kb
    from immunomod.knowledge.normalise import name_key

    ids = {name_key(s.inn): s.id for s in kb.store().all_summaries()}
    ids |= {name_key(s.id): s.id for s in kb.store().all_summaries()}

    def peer(text: str) -> set[str]:
        found = find_drugs(_WORDS.findall(text), is_ignore_case=True)
        out = set()
        for hit, _, _ in found:
            key = name_key(hit["name"])
            if key in ids:
                out.add(ids[key])
        return out

    return peer


def floor_factory():  # type: ignore[no-untyped-def]
    """The least any resolver written in Python must do per text: split it into words and
    look each up in a dict of every known name (no misspellings, multi-word names, context,
    sigs or result objects). Its rate bounds what Python-level code can reach."""
    from immunomod.names.vocabulary import vocabulary

    v = vocabulary()
    names = dict.fromkeys([*v.immuno, *v.other], True)

    def floor(text: str) -> set[str]:
        return {w for w in _WORDS.findall(text.lower()) if w in names}

    return floor


def best_of(n: int, fn, items):  # type: ignore[no-untyped-def]
    """Fastest of ``n`` runs: for code with no cache by text (the peer, the floor), this
    only removes the machine's noise. immunomod runs once: its caches by text would make a
    second pass over the same texts look faster than it is."""
    return min((run(fn, items) for _ in range(n)), key=lambda r: r["seconds"])


def run(fn, items: list[tuple[str, set[str]]]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    tp = fn_ = 0
    for text, want in items:
        got = fn(text)
        tp += len(want & got)
        fn_ += len(want - got)
    dt = time.perf_counter() - t0
    return {
        "texts": len(items),
        "seconds": round(dt, 4),
        "per_second": round(len(items) / dt, 1),
        "recall": round(tp / (tp + fn_), 4) if tp + fn_ else 1.0,
    }


def load_profile() -> dict[str, float]:
    code = (
        "import time,resource;t=time.perf_counter();"
        "from immunomod.names import resolve;resolve('Humira 40 mg eow');"
        "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, rss_kb = out.stdout.split()
    return {"load_seconds": round(float(seconds), 3), "peak_rss_mb": round(int(rss_kb) / 1024, 1)}


def main() -> None:
    data = rows()
    singles = [(r["text"], {x for x in r["expected"].split(";") if x}) for r in data]
    note_items = notes(data)
    profile = load_profile()
    peer = peer_factory()
    floor = floor_factory()
    ours("warm up")
    peer("warm up")
    result = {
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "immunomod": {"single": run(ours, singles), "notes": run(ours, note_items)} | profile,
        "drug_named_entity_recognition": {
            "single": best_of(3, peer, singles),
            "notes": best_of(3, peer, note_items),
        },
        "python_floor": {
            "single": best_of(3, floor, singles),
            "notes": best_of(3, floor, note_items),
        },
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    a, b, f = (result[k] for k in ("immunomod", "drug_named_entity_recognition", "python_floor"))
    print("| measure | immunomod | drug-named-entity-recognition | Python floor |")
    print("|---|---:|---:|---:|")
    for kind in ("single", "notes"):
        print(
            f"| {kind} texts/s ({a[kind]['texts']} texts) | {a[kind]['per_second']:,.0f} "
            f"| {b[kind]['per_second']:,.0f} | {f[kind]['per_second']:,.0f} |"
        )
        recalls = f"{a[kind]['recall']:.3f} | {b[kind]['recall']:.3f} | (names, not ids)"
        print(f"| {kind} recall (immunomodulators) | {recalls} |")
    print(f"| load time | {a['load_seconds']} s | | |")
    print(f"| peak RSS | {a['peak_rss_mb']} MB | | |")


if __name__ == "__main__":
    main()
