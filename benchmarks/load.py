"""Open-loop load and soak test of a real ``immunomod serve`` over loopback (``make load/soak``).

The driver starts the server itself (``immunomod serve --host 127.0.0.1 --port <free port>``),
waits until every worker is up, then sends a weighted mix of real requests at a fixed rate:

====================  ======  =====================================================
endpoint              share   requests
====================  ======  =====================================================
GET /v1/resolve        40 %   brands, INNs, typos, sigs and free-text notes
POST /v1/assess        20 %   seven regimens (adult, child, pregnancy, transplant…)
GET /drugs/{name}      25 %   every ingredient's INN and first brand (some clinician view)
POST patient-view      15 %   CDS Hooks with prefetch of 0, 2, 10 or 50 medications
====================  ======  =====================================================

Open loop: request *i* is due at ``start + i / rate`` whether or not earlier ones have
answered, and its latency is measured from that due time, so a slow server cannot hide its
queueing by slowing the client down (no coordinated omission). CDS Hooks calls carry a fresh
ES384 JWT signed by a key the server trusts (``--cds-auth off`` to skip the check).

Memory: the RSS of the server's whole process tree (supervisor and workers, from
/proc/<pid>/status) is read at the start, at the end and every ``--rss-interval`` seconds. Growth
is measured from the sample at one minute (caches are warm by then) to the last one.

Only 127.0.0.1 is ever contacted. Every run is bounded by ``--duration`` and
``--max-requests``; in-flight requests then get ``--timeout`` seconds to finish, and the
server's process group is stopped whatever happens.

Usage (``.venv/bin/python benchmarks/load.py …``)::

    load.py --rate 500 --duration 60                # fixed rate; writes results/load.json
    load.py --rate 500 --duration 60 --find-max     # then step the rate up to find the limit
    load.py --duration 0 --find-max --step-start 200 --max-rate 2000
    load.py --soak --rate 300 --duration 600        # RSS every 10 s; writes results/soak.json
    load.py --workers 2 --pin off                   # server workers, CPU pinning (see --help)

Exit status: 0 if every request got a 2xx answer (and, for ``--soak``, the server's RSS grew
less than ``--max-rss-growth`` %), 1 otherwise, 2 if the server did not start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
HOST = "127.0.0.1"  # loopback only, by design: this tool never targets another address
CDS_PATH = "/cds-services/immunomod-patient-view"
ISSUER = "https://ehr.load-test.example"
MIX = {"resolve": 40, "assess": 20, "drug_page": 25, "cds_patient_view": 15}
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --- the workload ---------------------------------------------------------------------------

# What a clinic's free-text medication fields look like: brands, abbreviations, sigs, typos,
# notes with several drugs, and everyday non-immunomodulators (which must resolve to nothing).
RESOLVE_TEXTS = [
    "Humira 40mg eow", "MTX 20mg weekly", "pred 5mg od", "tofacitnib 5 mg bd",
    "Keytruda 200 mg every 3 weeks", "metformin 500mg bd",
    "Stopped pred in May; MTX 20mg weekly, Amgevita 40mg eow; metformin 500mg bd",
    "azathioprine 50mg bd", "Mycophenolate mofetil 1g BD", "tacrolimus 2mg bd (levels 5-8)",
    "hydroxychloroquine 200mg daily", "Enbrel 50 mg SC weekly", "ritux 1g x2 2 weeks apart",
    "Ocrevus 600mg 6-monthly", "Prograf 1mg bd", "Cellcept 500mg bd", "dexamethasone 4mg tds",
    "methylpred 500mg IV x3", "infliximab 5mg/kg q8w", "Remsima SC 120mg every 2 weeks",
    "secukinumab 300mg monthly", "Dupixent 300mg every 2 weeks", "Jakavi 15mg bd",
    "ciclosporin 100mg bd", "leflunomide 20mg od", "sulfasalazine EN 1g bd", "Olumiant 4mg od",
    "upadacitinib 15mg od", "budesonide 9mg od", "Xeljanz XR 11mg", "nivolumab 240mg q2w",
    "Opdivo", "ipilimumab 3mg/kg", "interferon beta 1a 44mcg tiw", "Avonex weekly",
    "fingolimod 0.5mg od", "filgrastim 5mcg/kg", "Neulasta 6mg", "omeprazole 20mg od",
    "paracetamol 1g qds prn", "atorvastatin 40mg nocte", "Lisinopril 10 mg daily",
    "folic acid 5mg weekly", "no regular medications", "pt allergic to penicillin",
    "adalimumb 40mg", "metotrexate 15mg", "prednisolon 10mg", "hydroxichloroquine",
    "Stelara 90mg every 12 weeks", "vedolizumab 300mg IV q8w", "tocilizumab 162mg SC weekly",
    "Actemra", "anakinra 100mg daily", "Benlysta 200mg weekly", "cyclophosphamide 500mg IV",
    "Imuran 100mg", "6-MP 50mg", "mercaptopurine 75mg daily",
    "On Humira since 2019, previously Enbrel (stopped: injection site reactions)",
    "Prednisolone 40mg od since 2026-10-20, reducing by 5mg weekly",
]  # fmt: skip

_REGIMEN_BASE: dict[str, Any] = {"as_of": "2026-11-25", "jurisdiction": "US"}
REGIMENS: list[dict[str, Any]] = [
    {**_REGIMEN_BASE, "patient": {"age_years": 54, "weight_kg": 70},
     "medications": [{"text": "prednisolone 40 mg daily", "start": "2026-11-01"},
                     {"text": "MTX 20mg weekly", "start": "2025-01-10"},
                     {"text": "Humira 40mg eow", "start": "2025-06-01"},
                     {"text": "hydroxychloroquine 200mg bd"}, {"text": "omeprazole 20 mg od"}],
     "planned_vaccines": ["MMR", "Shingrix", "flu"]},
    {**_REGIMEN_BASE, "patient": {"age_years": 8, "weight_kg": 25},
     "medications": [{"text": "methotrexate 10mg weekly", "start": "2026-03-01"},
                     {"text": "etanercept 0.8mg/kg weekly", "start": "2026-06-01"}],
     "planned_vaccines": ["MMR", "varicella"]},
    {**_REGIMEN_BASE, "patient": {"age_years": 61, "weight_kg": 82},
     "medications": [{"text": "tacrolimus 3mg bd", "start": "2024-02-01"},
                     {"text": "mycophenolate mofetil 1g bd", "start": "2024-02-01"},
                     {"text": "prednisolone 5mg od", "start": "2024-02-01"},
                     {"text": "Septrin 480mg daily"}],
     "planned_vaccines": ["flu", "COVID-19", "Prevnar 20"]},
    {**_REGIMEN_BASE, "patient": {"age_years": 67, "weight_kg": 64},
     "medications": [{"text": "pembrolizumab 200mg every 3 weeks", "start": "2026-08-01"},
                     {"text": "dexamethasone 8mg od", "start": "2026-11-10"}],
     "planned_vaccines": ["flu"]},
    {**_REGIMEN_BASE, "patient": {"age_years": 31, "weight_kg": 60, "pregnant": True},
     "medications": [{"text": "azathioprine 100mg od", "start": "2023-05-01"},
                     {"text": "hydroxychloroquine 200mg bd", "start": "2022-01-01"}],
     "planned_vaccines": ["Tdap", "flu"]},
    {**_REGIMEN_BASE, "patient": {"age_years": 72, "weight_kg": 90},
     "medications": [{"text": "metformin 500mg bd"}, {"text": "atorvastatin 40mg nocte"}],
     "planned_vaccines": ["Shingrix"]},
]  # fmt: skip

# Everyday medicines that sit beside immunomodulators in a real medication list.
_EVERYDAY = ["folic acid", "omeprazole", "metformin", "atorvastatin", "lisinopril", "amlodipine",
             "levothyroxine", "sertraline", "vitamin D3", "aspirin", "alendronate",
             "calcium carbonate", "trimethoprim", "gabapentin", "apixaban", "furosemide",
             "bisoprolol", "ramipril", "simvastatin", "losartan", "pantoprazole", "tramadol",
             "paracetamol", "ibuprofen", "naproxen", "codeine", "cetirizine", "montelukast",
             "salbutamol", "fluticasone", "tiotropium", "insulin glargine", "sitagliptin",
             "empagliflozin", "warfarin", "clopidogrel", "digoxin", "spironolactone"]  # fmt: skip
_IMMUNO = ["prednisone", "methotrexate", "adalimumab", "hydroxychloroquine", "tacrolimus",
           "mycophenolate mofetil", "sulfasalazine", "tofacitinib", "rituximab", "azathioprine",
           "leflunomide", "ustekinumab"]  # fmt: skip


@dataclass(frozen=True)
class Call:
    """One prepared request. Bodies are serialised once, up front: the client's JSON encoding
    would otherwise compete with the server for the same two cores."""

    endpoint: str
    method: str
    url: str
    body: bytes | None = None


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _med_request(i: int, text: str) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": f"mr-{i}", "status": "active",
            "intent": "order", "subject": {"reference": "Patient/p"}, "authoredOn": "2026-06-01",
            "medicationCodeableConcept": {"text": text},
            "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1,
                                                         "periodUnit": "d"}},
                                   "doseAndRate": [{"doseQuantity": {"value": 10,
                                                                     "unit": "mg"}}]}]}  # fmt: skip


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def _hook(prefetch: dict[str, Any]) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": prefetch["patient"]["id"]},
        "prefetch": prefetch,
    }


def cds_bodies() -> list[tuple[dict[str, Any], int]]:
    """Patient-view calls with (body, weight): the repository's example patient, a patient on
    nothing, and synthetic lists of 10 and 50 active medications (immunomodulators and
    everyday drugs), as an EHR would prefetch them."""
    example = json.loads((ROOT / "examples" / "regimen.fhir.json").read_text())
    resources = [e["resource"] for e in example["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")

    def of(kind: str) -> dict[str, Any]:
        return _bundle([r for r in resources if r["resourceType"] == kind])

    example_prefetch = {
        "patient": patient,
        "medications": of("MedicationRequest"),
        "statements": of("MedicationStatement"),
        "weight": of("Observation"),
    }
    bare = {"resourceType": "Patient", "id": "p", "birthDate": "1970-01-01"}

    def synthetic(n: int) -> dict[str, Any]:
        names = (_IMMUNO[: max(2, n // 5)] + _EVERYDAY)[:n]
        meds = [_med_request(i, name) for i, name in enumerate(names)]
        return {"patient": bare, "medications": _bundle(meds), "statements": None, "weight": None}

    nothing = {"patient": bare, "medications": None, "statements": None, "weight": None}
    return [
        (_hook(example_prefetch), 4),
        (_hook(nothing), 1),
        (_hook(synthetic(10)), 3),
        (_hook(synthetic(50)), 2),
    ]


def drug_names() -> list[str]:
    """Every ingredient's INN and its first brand (when that brand names only it)."""
    from immunomod import kb
    from immunomod.errors import UnknownDrugError

    names = []
    for summary in kb.store().all_summaries():
        names.append(summary.inn)
        brands = kb.store().record(summary.id).ingredient.brands
        if brands:
            try:
                if kb.get(brands[0].name).id == summary.id:
                    names.append(brands[0].name)
            except UnknownDrugError:  # a brand shared by several ingredients: a 404 page
                pass
    return names


def _typo(word: str, rng: random.Random) -> str:
    """Swap two neighbouring letters, as a hurried typist does."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


@dataclass
class Workload:
    calls: dict[str, list[Call]]
    cds_weights: list[int]

    def describe(self) -> dict[str, Any]:
        return {
            "mix_percent": MIX,
            "distinct_requests": {k: len(v) for k, v in self.calls.items()},
            "cds_prefetch_medications": "2 (examples/regimen.fhir.json), 0, 10, 50",
            "cds_weights": self.cds_weights,
        }


def build_workload(seed: int) -> Workload:
    rng = random.Random(seed)
    names = drug_names()
    inns = sorted({n for n in names if n.islower()})
    texts = list(RESOLVE_TEXTS)
    texts += [f"{n} as directed" for n in rng.sample(inns, min(60, len(inns)))]
    texts += [f"{_typo(n, rng)} started last month" for n in rng.sample(inns, min(20, len(inns)))]
    regimens = [json.loads((ROOT / "examples" / "regimen.json").read_text()), *REGIMENS]
    pages = [f"/drugs/{quote(n, safe='')}" for n in names]
    pages += [
        f"/drugs/{quote(n, safe='')}?view=clinician" for n in rng.sample(names, len(names) // 4)
    ]
    bodies = cds_bodies()
    calls = {
        "resolve": [Call("resolve", "GET", "/v1/resolve?" + urlencode({"text": t})) for t in texts],
        "assess": [Call("assess", "POST", "/v1/assess", _json(r)) for r in regimens],
        "drug_page": [Call("drug_page", "GET", p) for p in pages],
        "cds_patient_view": [
            Call("cds_patient_view", "POST", CDS_PATH, _json(b)) for b, _ in bodies
        ],
    }
    return Workload(calls, [w for _, w in bodies])


def looks_right(call: Call, content: bytes) -> bool:
    """A cheap sanity check of a 2xx body (parsing every answer would load the client)."""
    marker = {
        "resolve": b'"matches"',
        "assess": b'"immunosuppression"',
        "drug_page": b"</html>",
        "cds_patient_view": b'"cards"',
    }[call.endpoint]
    return marker in content


class Signer:
    """The EHR side of CDS Hooks auth: an ES384 key whose JWKS the server is told to trust."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": "load-1", "alg": "ES384", "use": "sig"}]}

    def token(self, audience: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": "load-1"})


# --- HTTP clients -----------------------------------------------------------------------------


class HttpError(Exception):
    """The connection failed, timed out, or answered something that is not HTTP/1.1."""


class Client(Protocol):
    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0
    uses: int = 0


class RawClient:
    """A lean HTTP/1.1 keep-alive client on asyncio streams (the default).

    Why not httpx2: measured closed-loop against this server, httpx2 spends 0.50 ms of client
    CPU per request and this client 0.05 ms. At 500 requests/s that difference is a quarter of
    a core, taken from the server on a 2-core machine, and it would be counted as the
    server's latency. uvicorn answers with Content-Length (or chunked) bodies, which is all
    this client reads; ``--client httpx`` runs the same load through httpx2 as a cross-check.

    Each connection is closed after ``max_uses`` requests, as proxies and HTTP client pools do
    (nginx's ``keepalive_requests``). With several workers this matters: a connection belongs
    to the worker that accepted it, and connections opened in a burst (say while one worker
    was paused) all land on the other one. Measured with connections kept for ever, 2 workers
    split the load 22/78 % for the whole run; a worker busy with a request is not waiting in
    ``accept``, so new connections go to the idle one and recycling evens the split out.
    """

    KEEPALIVE_S = 3.0  # below uvicorn's 5 s: never reuse a connection the server may be closing

    def __init__(
        self, host: str, port: int, connections: int, timeout: float, max_uses: int
    ) -> None:
        self.host, self.port, self.timeout, self.max_uses = host, port, timeout, max_uses
        self._slots = asyncio.Semaphore(connections)
        self._idle: deque[_Conn] = deque()
        self._host = f"Host: {host}:{port}\r\n"
        self.opened = 0

    def _take(self) -> _Conn | None:
        # Least recently used first, so requests spread over every open connection and so over
        # every worker. Most recently used first would keep a few hot connections, all possibly
        # on one worker.
        while self._idle:
            conn = self._idle.popleft()
            if time.monotonic() - conn.idle_since < self.KEEPALIVE_S and not conn.reader.at_eof():
                return conn
            conn.writer.close()
        return None

    async def _open(self) -> _Conn:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return _Conn(reader, writer)

    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        async with self._slots:
            reusable = False
            conn: _Conn | None = None
            try:
                async with asyncio.timeout(self.timeout):
                    conn = self._take() or await self._open()
                    conn.uses += 1
                    status, content, reusable = await self._exchange(
                        conn.reader, conn.writer, method, path, body, headers
                    )
            except (OSError, EOFError, ValueError, asyncio.LimitOverrunError) as exc:
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc
            finally:
                if conn is not None:
                    if reusable and conn.uses < self.max_uses:
                        conn.idle_since = time.monotonic()
                        self._idle.append(conn)
                    else:
                        conn.writer.close()
            return status, content

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> tuple[int, bytes, bool]:
        head = [f"{method} {path} HTTP/1.1\r\n", self._host]
        head += [f"{k}: {v}\r\n" for k, v in headers.items()]
        if body is not None:
            head.append(f"Content-Length: {len(body)}\r\n")
        writer.write("".join(head).encode("latin-1") + b"\r\n" + (body or b""))
        await writer.drain()
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n"))[:-4].decode().split("\r\n")
        version, code = status_line.split(" ", 2)[:2]
        fields = {}
        for line in lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            content = await self._chunked(reader)
        elif "content-length" in fields:
            content = await reader.readexactly(int(fields["content-length"]))
        elif code in {"204", "304"}:
            content = b""
        else:
            raise ValueError(f"answer {code} has no length: cannot tell where it ends")
        reusable = version == "HTTP/1.1" and fields.get("connection", "").lower() != "close"
        return int(code), content, reusable

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the blank line
            pass
        return b"".join(parts)

    async def aclose(self) -> None:
        for conn in self._idle:
            conn.writer.close()
        self._idle.clear()


class HttpxClient:
    """The same requests through httpx2 (``--client httpx``): slower, but independent."""

    def __init__(self, base_url: str, connections: int, timeout: float) -> None:
        limits = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx2.AsyncClient(
            base_url=base_url, limits=limits, timeout=httpx2.Timeout(timeout), trust_env=False
        )

    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        try:
            r = await self._client.request(method, path, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        return r.status_code, r.content

    async def aclose(self) -> None:
        await self._client.aclose()


# --- the server and its processes -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (uvicorn's supervisor, workers, resource tracker)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name in (…) may hold spaces
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat), whoever used them."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


class Server:
    """``immunomod serve`` in its own process group, so that stopping it stops its workers."""

    def __init__(self, workers: int, cpus: set[int] | None, env: dict[str, str], log: Path):
        self.workers, self.cpus, self.log = workers, cpus, log
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        script = Path(sys.executable).with_name("immunomod")
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "immunomod"]
        cmd += ["serve", "--host", HOST, "--port", str(self.port), "--workers", str(workers)]
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=ROOT,
        )
        if cpus:
            # Set before uvicorn has imported enough to fork: its workers inherit the mask.
            os.sched_setaffinity(self.proc.pid, cpus)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until every worker has logged its start-up and the API answers."""
        deadline = time.monotonic() + timeout
        with httpx2.Client(base_url=self.base_url, timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"the server exited ({self.proc.returncode}):\n{self.tail()}"
                    )
                started = self.log.read_text(errors="replace").count("Application startup complete")
                if started >= self.workers:
                    with contextlib.suppress(httpx2.HTTPError):
                        if client.get("/v1/kb/stats").status_code == 200:
                            return
                time.sleep(0.1)
        raise RuntimeError(f"the server was not ready after {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid)

    def rss_kb(self) -> int:
        return sum(rss_kb(p) for p in self.pids())

    def cpu_seconds(self) -> dict[int, float]:
        """CPU seconds by process. Per process, because an idle worker beside a saturated one
        (the kernel hands each keep-alive connection to one worker) looks fine in a total."""
        return {p: cpu_seconds(p) for p in self.pids()}

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own session: nothing else
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log_file.close()


# --- measuring --------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    # The smallest value with at least q % of the values at or below it; q * n first, so that
    # whole percentages of whole counts stay exact (0.07 * 100 is 7.000000000000001).
    rank = math.ceil(q * len(sorted_values) / 100)
    return sorted_values[max(0, min(len(sorted_values), rank) - 1)]


def summary(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {
        "p50": round(percentile(s, 50), 2),
        "p95": round(percentile(s, 95), 2),
        "p99": round(percentile(s, 99), 2),
        "max": round(s[-1], 2) if s else 0.0,
        "mean": round(sum(s) / len(s), 2) if s else 0.0,
    }


@dataclass
class Phase:
    """What one fixed-rate stretch measured."""

    rate: float
    planned: int
    sent: int = 0
    completed: int = 0
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in MIX})
    errors: dict[str, int] = field(default_factory=dict)  # "status 500" / exception name -> n
    http_errors: int = 0  # non-2xx answers or wrong bodies: server defects, never expected
    error_samples: list[str] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)  # client health: due -> sent
    started: float = 0.0
    finished: float = 0.0
    server_cpu_s: dict[int, float] = field(default_factory=dict)
    client_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0

    @property
    def n_errors(self) -> int:
        return sum(self.errors.values())

    def error(self, kind: str, sample: str, http: bool) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.http_errors += http
        if len(self.error_samples) < 10:
            self.error_samples.append(sample[:300])

    def report(self) -> dict[str, Any]:
        wall = max(self.finished - self.started, 1e-9)
        ok = self.completed - self.n_errors
        every = [x for v in self.latency_ms.values() for x in v]
        server_s = sum(self.server_cpu_s.values())
        # The machine's busy time from /proc/stat, less the server's and this client's: other
        # people's jobs on a shared machine. /proc/stat is sampled at clock ticks and can read
        # a few % low under bursty loads, so "other" is approximate and clamped at 0.
        other_s = max(0.0, self.machine_cpu_s - server_s - self.client_cpu_s)
        return {
            "target_rate_rps": self.rate,
            "wall_s": round(wall, 2),
            "planned": self.planned,
            "sent": self.sent,
            "completed": self.completed,
            "errors": self.n_errors,
            "http_errors": self.http_errors,
            "error_kinds": self.errors,
            "error_samples": self.error_samples,
            "throughput_rps": round(ok / wall, 1),
            "latency_ms": summary(every),
            "by_endpoint": {k: {"count": len(v), **summary(v)} for k, v in self.latency_ms.items()},
            "client_send_lag_ms": summary(self.send_lag_ms),
            # CPU in % of one core (200 % is the whole 2-core machine).
            "server_cpu_percent": round(100 * server_s / wall, 1),
            "server_cpu_percent_by_process": [
                round(100 * v / wall, 1) for v in self.server_cpu_s.values()
            ],
            "client_cpu_percent": round(100 * self.client_cpu_s / wall, 1),
            "machine_cpu_percent": round(100 * self.machine_cpu_s / wall, 1),
            "other_cpu_percent": round(100 * other_s / wall, 1),
        }


class Driver:
    def __init__(
        self, args: argparse.Namespace, server: Server, workload: Workload, signer: Signer | None
    ) -> None:
        self.args, self.server, self.workload, self.signer = args, server, workload, signer
        self.rng = random.Random(args.seed)
        self.audience = server.base_url + CDS_PATH
        self.sent_total = 0
        self.rss_samples: list[tuple[float, int]] = []

    def pick(self) -> Call:
        endpoint = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        calls = self.workload.calls[endpoint]
        if endpoint == "cds_patient_view":
            return self.rng.choices(calls, weights=self.workload.cds_weights)[0]
        return self.rng.choice(calls)

    async def send(self, client: Client, call: Call, due: float, phase: Phase) -> None:
        loop = asyncio.get_running_loop()
        phase.send_lag_ms.append((loop.time() - due) * 1000)
        headers = {"Content-Type": "application/json"} if call.body is not None else {}
        if self.signer is not None and call.endpoint == "cds_patient_view":
            # Signed per call, inside the measured time, as an EHR does: a fresh jti each time.
            headers["Authorization"] = f"Bearer {self.signer.token(self.audience)}"
        what = f"{call.method} {call.url}"
        try:
            status, content = await client.request(call.method, call.url, call.body, headers)
        except HttpError as exc:
            phase.error(type(exc.__cause__ or exc).__name__, f"{what}: {exc}", http=False)
        else:
            text = content[:300].decode(errors="replace")
            if not 200 <= status < 300:
                phase.error(f"status {status}", f"{what} -> {status} {text}", http=True)
            elif not looks_right(call, content):
                phase.error("unexpected body", f"{what} -> {text}", http=True)
        phase.completed += 1
        # Latency counts failures too: a fast error must not make the percentiles look better.
        phase.latency_ms[call.endpoint].append((loop.time() - due) * 1000)

    async def phase(self, client: Client, rate: float, seconds: float) -> Phase:
        budget = self.args.max_requests - self.sent_total
        phase = Phase(rate, max(0, min(int(rate * seconds), budget)))
        loop = asyncio.get_running_loop()
        cpu0, client0 = self.server.cpu_seconds(), time.process_time()
        machine0 = machine_busy_seconds()
        phase.started = start = loop.time() + 0.01
        tasks: set[asyncio.Task[None]] = set()
        for i in range(phase.planned):
            due = start + i / rate
            delay = due - loop.time()
            # Sleeping 0 when behind still yields, so responses are read while catching up.
            await asyncio.sleep(max(0.0, delay))
            task = asyncio.create_task(self.send(client, self.pick(), due, phase))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            phase.sent += 1
        self.sent_total += phase.sent
        if tasks:  # bounded drain; whatever is still open then is counted as timed out
            _, pending = await asyncio.wait(tasks, timeout=self.args.timeout + 1)
            for task in pending:
                task.cancel()
                phase.error("unfinished", "no answer before the drain deadline", http=False)
        phase.finished = loop.time()
        phase.server_cpu_s = {p: t - cpu0.get(p, 0.0) for p, t in self.server.cpu_seconds().items()}
        phase.client_cpu_s = time.process_time() - client0
        phase.machine_cpu_s = machine_busy_seconds() - machine0
        return phase

    async def sample_rss(self, every: float) -> None:
        t0 = time.monotonic()
        while True:
            self.rss_samples.append((round(time.monotonic() - t0, 1), self.server.rss_kb()))
            await asyncio.sleep(every)

    async def run(self) -> dict[str, Any]:
        a = self.args
        out: dict[str, Any] = {"run": None, "find_max": None}
        rss_start = self.server.rss_kb()
        client: Client
        if a.client == "raw":
            client = RawClient(HOST, self.server.port, a.connections, a.timeout, a.conn_requests)
        else:
            client = HttpxClient(self.server.base_url, a.connections, a.timeout)
        try:
            # Warm-up (not reported): opens the connections, fills the record and template
            # caches of every worker, as a server that has been up for a while has them.
            warm = await self.phase(client, a.step_start if a.duration <= 0 else a.rate, a.warmup)
            out["warmup"] = {
                "sent": warm.sent,
                "errors": warm.n_errors,
                "error_kinds": warm.errors,
                "error_samples": warm.error_samples,
            }
            sampler = asyncio.create_task(self.sample_rss(a.rss_interval))
            try:
                if a.duration > 0:
                    out["run"] = (await self.phase(client, a.rate, a.duration)).report()
                if a.find_max:
                    out["find_max"] = await self.find_max(client)
            finally:
                sampler.cancel()
        finally:
            await client.aclose()
        rss_end = self.server.rss_kb()
        out["rss"] = self.rss_report(rss_start, rss_end)
        return out

    async def find_max(self, client: Client) -> dict[str, Any]:
        """Raise the rate by ``--step-factor`` every ``--step-duration`` s while p99 stays under
        ``--p99-goal-ms`` with no errors and the server keeps up (≥ 95 % of the rate answered)."""
        a = self.args
        steps: list[dict[str, Any]] = []
        best: float | None = None
        rate = a.step_start
        while rate <= a.max_rate and self.sent_total < a.max_requests:
            step = (await self.phase(client, rate, a.step_duration)).report()
            reasons = []
            if step["errors"]:
                reasons.append(f"{step['errors']} errors")
            if step["latency_ms"]["p99"] >= a.p99_goal_ms:
                reasons.append(f"p99 {step['latency_ms']['p99']} ms")
            if step["throughput_rps"] < 0.95 * rate:
                reasons.append(f"throughput {step['throughput_rps']}/s")
            step["passed"], step["stopped_because"] = not reasons, ", ".join(reasons) or None
            steps.append(step)
            print(
                f"  find-max {rate:7.0f}/s: p99 {step['latency_ms']['p99']:7.1f} ms, "
                f"{step['throughput_rps']:7.1f}/s, {step['errors']} errors"
                + (f"  (stop: {step['stopped_because']})" if reasons else ""),
                file=sys.stderr,
            )
            if reasons:
                break
            best = rate
            rate = round(rate * a.step_factor)
            await asyncio.sleep(1.0)  # let the queues empty so steps do not bleed into each other
        return {
            "p99_goal_ms": a.p99_goal_ms,
            "step_s": a.step_duration,
            "max_rate_passing_rps": best,
            "steps": steps,
        }

    def rss_report(self, start_kb: int, end_kb: int) -> dict[str, Any]:
        samples = self.rss_samples
        report: dict[str, Any] = {
            "start_kb": start_kb,
            "end_kb": end_kb,
            "processes": len(self.server.pids()),
            "interval_s": self.args.rss_interval,
            "samples": [list(s) for s in samples],
        }
        if samples:
            # Growth from the value at one minute (caches are warm by then; the first seconds
            # would count their filling as growth) to the last sample.
            early = [s for s in samples if s[0] <= 60.0]
            base = early[-1][1] if samples[-1][0] >= 120 else samples[0][1]
            report["baseline_kb"], report["last_kb"] = base, samples[-1][1]
            report["max_kb"] = max(s[1] for s in samples)
            report["growth_percent"] = round(100 * (samples[-1][1] - base) / max(base, 1), 2)
        return report


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Open-loop load/soak test of immunomod serve on 127.0.0.1.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--rate", type=float, default=500.0, help="requests per second")
    p.add_argument("--duration", type=float, default=60.0, help="seconds at --rate (0: none)")
    p.add_argument("--max-requests", type=int, default=2_000_000, help="hard cap on requests")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of unreported warm-up")
    p.add_argument("--find-max", action="store_true", help="then step the rate up to the limit")
    p.add_argument("--step-start", type=float, default=300.0, help="find-max: first rate")
    p.add_argument("--step-factor", type=float, default=1.25, help="find-max: rate multiplier")
    p.add_argument("--step-duration", type=float, default=10.0, help="find-max: seconds a step")
    p.add_argument("--max-rate", type=float, default=3000.0, help="find-max: highest rate tried")
    p.add_argument("--p99-goal-ms", type=float, default=50.0, help="latency goal")
    p.add_argument("--soak", action="store_true", help="soak: judge the server's RSS growth")
    p.add_argument("--max-rss-growth", type=float, default=10.0, help="soak: allowed growth, %%")
    p.add_argument("--rss-interval", type=float, default=10.0, help="seconds between RSS reads")
    p.add_argument("--workers", type=int, default=1, help="server worker processes")
    p.add_argument(
        "--pin",
        choices=["auto", "on", "off"],
        default="auto",
        help="pin the server to CPU 0 and this client to CPU 1 (auto: only with one "
        "worker, which cannot use a second core anyway)",
    )
    p.add_argument(
        "--cds-auth",
        choices=["jwt", "off"],
        default="jwt",
        help="CDS Hooks calls carry a signed JWT that the server checks, or none",
    )
    p.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="raw: lean asyncio HTTP/1.1 client; httpx: httpx2 (costs more CPU)",
    )
    p.add_argument(
        "--conn-requests",
        type=int,
        default=100,
        help="raw client: requests on a connection before it is closed and reopened",
    )
    p.add_argument("--connections", type=int, default=64, help="client connection pool size")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds before a request fails")
    p.add_argument("--seed", type=int, default=20261125, help="seed of the request mix")
    p.add_argument("--out", type=Path, help="JSON results (default results/load|soak.json)")
    a = p.parse_args(argv)
    if a.rate <= 0 or a.duration < 0 or a.warmup < 0 or (a.duration == 0 and not a.find_max):
        p.error("give a positive --rate and --duration (or --duration 0 with --find-max)")
    a.out = a.out or RESULTS / ("soak.json" if a.soak else "load.json")
    return a


def pinning(mode: str, workers: int) -> tuple[set[int] | None, set[int] | None]:
    """(server CPUs, client CPUs). The client needs a core's share as much as the server does;
    pinned apart, neither one's bursts steal the other's time slices."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or mode == "off" or (mode == "auto" and workers > 1):
        return None, None
    return {cpus[0]}, {cpus[1]}


def print_table(result: dict[str, Any]) -> None:
    def rows(name: str, ph: dict[str, Any]) -> None:
        lat = ph["latency_ms"]
        print(
            f"| {name} | {ph['completed']} | {ph['errors']} | {ph['throughput_rps']}/s | "
            f"{lat['p50']} | {lat['p95']} | {lat['p99']} |"
        )
        for ep, m in ph["by_endpoint"].items():
            print(f"|   {ep} | {m['count']} |  |  | {m['p50']} | {m['p95']} | {m['p99']} |")

    print("| run | done | errors | throughput | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    if result["run"]:
        run = result["run"]
        rows(f"{run['target_rate_rps']:.0f}/s for {run['wall_s']:.0f} s", run)
        print(
            f"CPU (100 % = one core): server {run['server_cpu_percent']} % "
            f"(by process {run['server_cpu_percent_by_process']}), client "
            f"{run['client_cpu_percent']} %, others ~{run['other_cpu_percent']} %; "
            f"client send lag p99 {run['client_send_lag_ms']['p99']} ms"
        )
        goal = result["goal"]
        verdict = "met" if goal["met"] else "NOT met"
        print(f"goal {goal['rate_rps']:.0f}/s, p99 < {goal['p99_ms']:.0f} ms, no errors: {verdict}")
    fm = result["find_max"]
    if fm:
        print(
            f"find-max: highest rate with p99 < {fm['p99_goal_ms']:.0f} ms and no errors: "
            f"{fm['max_rate_passing_rps']}/s"
        )
    rss = result["rss"]
    line = f"server RSS {rss['start_kb'] / 1024:.1f} -> {rss['end_kb'] / 1024:.1f} MiB"
    if "growth_percent" in rss:
        line += f"; growth {rss['growth_percent']} % from {rss['baseline_kb'] / 1024:.1f} MiB"
    print(line + f" ({rss['processes']} processes)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server_cpus, client_cpus = pinning(args.pin, args.workers)
    workload = build_workload(args.seed)
    driver_env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="immunomod-load-") as tmp:
        signer = Signer() if args.cds_auth == "jwt" else None
        if signer is not None:
            jwks = Path(tmp) / "jwks.json"
            jwks.write_text(json.dumps(signer.jwks))
            driver_env |= {
                "IMMUNOMOD_CDS_AUTH": "required",
                "IMMUNOMOD_CDS_ISSUERS": ISSUER,
                "IMMUNOMOD_CDS_JWKS_FILE": str(jwks),
            }
        else:
            driver_env["IMMUNOMOD_CDS_AUTH"] = "off"
        server = Server(args.workers, server_cpus, driver_env, Path(tmp) / "server.log")
        try:
            try:
                server.wait_ready()
            except RuntimeError as exc:
                print(f"load: {exc}", file=sys.stderr)
                return 2
            if client_cpus:
                os.sched_setaffinity(0, client_cpus)
            driver = Driver(args, server, workload, signer)
            started = datetime.now(UTC).isoformat(timespec="seconds")
            result = asyncio.run(driver.run())
        finally:
            server.stop()
    run = result["run"]
    if run:
        result["goal"] = {
            "rate_rps": args.rate,
            "p99_ms": args.p99_goal_ms,
            "met": not run["errors"]
            and run["latency_ms"]["p99"] < args.p99_goal_ms
            and run["throughput_rps"] >= 0.95 * args.rate,
        }
    failed = bool(result["warmup"]["errors"]) or bool(run and run["errors"])
    # In find-max, timeouts at the step that overloads the server are how the search ends;
    # a non-2xx answer at any rate is a defect.
    failed |= any(s["http_errors"] for s in (result["find_max"] or {}).get("steps", []))
    rss = result["rss"]
    if args.soak and rss.get("growth_percent", 0.0) >= args.max_rss_growth:
        failed = True
    doc = {
        "tool": "benchmarks/load.py",
        "started": started,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "server_cpus": sorted(server_cpus) if server_cpus else "any",
            "client_cpus": sorted(client_cpus) if client_cpus else "any",
        },
        "workload": workload.describe(),
        **result,
        "ok": not failed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print_table(result)
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    if failed:
        print("load: FAILED (errors, or RSS growth over the limit); see the JSON", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
