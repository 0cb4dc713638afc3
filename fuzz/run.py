"""Run every atheris target once, bounded, and say how many cases each ran (``make fuzz``).

    python fuzz/run.py [--runs N] [--seconds S] [TARGET ...]

Each target stops at N runs or S seconds, whichever comes first. A crash (an exception the
target does not expect) fails the run: its input is saved under build/fuzz/artifacts/ and the
tail of the log is printed. Logs: build/fuzz/<target>.log.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "build" / "fuzz"
TARGETS = ["resolver", "sig"]


def run(target: str, runs: int, seconds: int) -> tuple[int, int, float]:
    """(exit code, cases run, seconds) of one bounded run."""
    (OUT / "artifacts").mkdir(parents=True, exist_ok=True)
    log = OUT / f"{target}.log"
    cmd = [
        sys.executable, str(HERE / f"fuzz_{target}.py"), f"-runs={runs}",
        f"-max_total_time={seconds}", f"-dict={HERE / 'dosing.dict'}",
        f"-artifact_prefix={OUT / 'artifacts'}/{target}-", "-print_final_stats=1",
    ]  # fmt: skip
    with log.open("w") as f:
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False).returncode
    text = log.read_text(errors="replace")
    executed = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
    done = re.findall(r"Done (\d+) runs in (\d+) second", text)
    cases = int(executed[-1]) if executed else int(done[-1][0]) if done else 0
    took = float(done[-1][1]) if done else float("nan")
    if code != 0:
        print("\n".join(text.splitlines()[-40:]), file=sys.stderr)
    return code, cases, took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200_000)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("targets", nargs="*", metavar="TARGET", help=f"any of {TARGETS} (all)")
    args = ap.parse_args()
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        ap.error(f"unknown target(s) {sorted(unknown)}; choose from {TARGETS}")
    failed = []
    for target in args.targets or TARGETS:
        code, cases, took = run(target, args.runs, args.seconds)
        verdict = "no crash" if code == 0 else f"CRASH (exit {code}; input in {OUT}/artifacts)"
        print(f"fuzz_{target}: {cases:,} cases run in {took:.0f} s, {verdict}", flush=True)
        if code != 0:
            failed.append(target)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
