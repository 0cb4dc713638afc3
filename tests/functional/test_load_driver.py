"""benchmarks/load.py, the load/soak driver, works end to end (a test of the tool, not of speed).

It starts a real ``immunomod serve`` (two workers, JWT-checked CDS Hooks), sends a few seconds
of the mixed load at a low rate over loopback and writes its JSON; every request must succeed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _run(coro: Any) -> Any:
    """asyncio.run in a thread of its own: the browser tests keep an event loop running in
    the main thread for the whole session, and asyncio.run refuses to nest in it."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "benchmarks" / "load.py"


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_driver", DRIVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def test_a_short_low_rate_run_has_no_errors_and_a_sane_report(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    args = ["--rate", "40", "--duration", "3", "--warmup", "0.5", "--workers", "2",
            "--rss-interval", "1", "--out", str(out)]  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(DRIVER), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(out.read_text())
    run = doc["run"]
    assert doc["ok"] and run["errors"] == 0 and not run["error_samples"]
    assert run["planned"] == run["sent"] == run["completed"] == 120
    assert sum(e["count"] for e in run["by_endpoint"].values()) == 120
    assert all(e["count"] > 0 for e in run["by_endpoint"].values())  # every kind of request
    assert 0 < run["latency_ms"]["p50"] <= run["latency_ms"]["p99"] <= run["latency_ms"]["max"]
    assert run["throughput_rps"] > 30  # open loop at 40/s: the server kept up
    # Two workers under uvicorn's supervisor: the RSS covers the whole process tree.
    assert doc["rss"]["processes"] >= 3 and doc["rss"]["start_kb"] > 10_000
    assert len(doc["rss"]["samples"]) >= 2
    assert "| run |" in done.stdout and "wrote" in done.stdout


def test_percentiles_are_nearest_rank() -> None:
    load = _load_module()
    values = [float(v) for v in range(1, 101)]
    assert load.percentile(values, 50) == 50.0
    assert load.percentile(values, 99) == 99.0
    assert load.percentile([7.0], 99) == 7.0
    assert load.percentile([], 50) == 0.0


def test_the_raw_client_reads_chunked_bodies() -> None:
    load = _load_module()

    async def decode(wire: bytes) -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(wire)
        reader.feed_eof()
        body: bytes = await load.RawClient._chunked(reader)
        return body

    assert _run(decode(b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n")) == b"hello world"
    assert _run(decode(b"0\r\nTrailer: 1\r\n\r\n")) == b""


def test_serve_binds_the_workers_shared_socket_as_tcp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found with this driver: under ``--workers`` uvicorn's shared socket had protocol 0, so
    asyncio left Nagle on for accepted connections and every answer waited ~40 ms for a
    delayed ACK. ``serve`` now re-marks the socket as TCP."""
    import uvicorn

    from immunomod.interfaces.cli import _workers_socket_as_tcp

    # Whatever the patch does to uvicorn's class is undone when the test ends.
    monkeypatch.setattr(uvicorn.Config, "bind_socket", uvicorn.Config.bind_socket)
    _workers_socket_as_tcp()
    sock = uvicorn.Config("immunomod.interfaces.api:app", host="127.0.0.1", port=0).bind_socket()
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
