"""Shared by the atheris targets: the seed corpus and the run loop.

Run through ``make fuzz`` (bounded runs, corpus seeded from tests/data/resolver_dev.csv), or by
hand: ``.venv/bin/python fuzz/fuzz_resolver.py -runs=10000 build/fuzz/corpus/resolver``.
Any exception the target does not expect is a crash: atheris prints it, saves the input under
``build/fuzz/artifacts/`` and exits non-zero.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV_SET = ROOT / "tests" / "data" / "resolver_dev.csv"


def seed_corpus(directory: Path) -> int:
    """Write each text of the resolver dev set (and a few sigs) as one corpus file."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [ln for ln in DEV_SET.read_text(encoding="utf-8").splitlines() if ln[:1] != "#"]
    texts = [row["text"] for row in csv.DictReader(lines)]
    texts += ["MTX 15mg weekly", "pred 40mg od reducing by 5mg weekly to 10mg", "q2w", "x5/7"]
    for text in texts:
        data = text.encode("utf-8")
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return len(texts)


def main(target: Callable[[bytes], None], name: str) -> None:
    """Seed ``build/fuzz/corpus/<name>`` when no corpus folder is given, then fuzz."""
    import atheris

    args = sys.argv[:]
    if not any(not a.startswith("-") for a in args[1:]):
        corpus = ROOT / "build" / "fuzz" / "corpus" / name
        seed_corpus(corpus)
        args.append(str(corpus))
    atheris.Setup(args, target)
    atheris.Fuzz()
