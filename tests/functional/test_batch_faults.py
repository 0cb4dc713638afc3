"""A batch job killed mid-write leaves nothing under the output's name; a re-run completes.

The output is written as ``.NAME.PID.partial`` and renamed when complete, so a reader never
sees a half-written file under the final name; the re-run removes the dead run's partial file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from gen_exposures import generate


@pytest.mark.parametrize("job", ["classify", "episodes"])
def test_killed_job_leaves_no_output_and_rerun_completes(tmp_path: Path, job: str) -> None:
    src = tmp_path / "de.parquet"
    generate(400_000, src)
    out = tmp_path / "out.parquet"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from immunomod.interfaces.cli import main; main()",
         "batch", job, str(src), "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    partial = None
    while time.monotonic() < deadline and proc.poll() is None:
        partial = next(iter(tmp_path.glob(".out.parquet.*.partial")), None)
        if partial is not None:
            break
        time.sleep(0.005)
    assert partial is not None, "the job ended before it started writing; make the table bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # nothing presented as complete
    rerun = subprocess.run(
        [sys.executable, "-c", "from immunomod.interfaces.cli import main; main()",
         "batch", job, str(src), "-o", str(out), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.exists() and '"' in rerun.stdout
    assert not list(tmp_path.glob(".out.parquet.*.partial"))  # the dead run's file is gone
    if job == "classify":
        n = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()
        assert n == (400_000,)
