"""`immunomod serve` as deployed: a real uvicorn process on a free loopback port.

* SIGTERM while a slow request is in flight: the request completes with 200, then the
  process exits 0 (a drained, requested stop is a success for supervisors).
* With --access-log, request lines are logged without their query strings, so a regimen in
  the form's query never reaches the log.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def stop(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: Any = None, timeout: float = 60) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@contextmanager
def serving(tmp_path: Path, *args: str) -> Iterator[Server]:
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "immunomod", "serve", "--port", str(port), *args],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:  # until it answers (start-up imports and opens the knowledge base)
            try:
                if _request(f"{server.base}/v1/kb/stats", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


NOTE = ("Stopped pred in May; MTX 20mg weekly, Amgevita 40mg eow; metformin 500mg bd; "
        "hydroxychloroquine 200 mg twice daily, folic acid 5mg weekly. ") * 4  # fmt: skip


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        texts = [f"{NOTE}{i}" for i in range(1000)]  # ~2-3 s of work, a 12 MB answer
        answer: dict[str, Any] = {}

        def slow() -> None:
            url = f"{server.base}/v1/resolve"
            answer["status"], answer["body"] = _request(url, {"texts": texts})

        client = threading.Thread(target=slow)
        client.start()
        time.sleep(0.5)  # the request is in the server's hands
        assert "status" not in answer, "the request finished before SIGTERM: make it slower"
        code = server.stop()
        client.join(60)
    assert answer["status"] == 200
    assert len(json.loads(answer["body"])["results"]) == 1000
    assert code == 0, server.log.read_text(errors="replace")
    log = server.log.read_text(errors="replace")
    assert "Waiting for application shutdown" in log and "Traceback" not in log


def test_access_log_keeps_paths_and_statuses_but_no_query_strings(tmp_path: Path) -> None:
    mark = f"ZZPATIENTMARKER-{uuid.uuid4().hex}"
    with serving(tmp_path, "--access-log", "--dev") as server:
        query = urlencode({"meds": f"{mark} MTX 20mg weekly", "age": "54"})
        assert _request(f"{server.base}/assess?{query}")[0] == 200
        assert _request(f"{server.base}/v1/resolve?{urlencode({'text': mark})}")[0] == 200
        assert _request(f"{server.base}/v1/resolve", {"texts": [mark]})[0] == 200
        regimen = {"as_of": "2026-11-25", "medications": [{"text": f"{mark} pred 5mg od"}]}
        assert _request(f"{server.base}/v1/assess", regimen)[0] == 200
        assert _request(f"{server.base}/v1/assess", {"as_of": mark})[0] == 422
        assert server.stop() == 0
    log = server.log.read_text(errors="replace")
    assert '"GET /assess?… HTTP/1.1" 200' in log and '"POST /v1/assess HTTP/1.1" 422' in log
    assert mark not in log
