"""Web and API latency, in-process (run by `make bench`).

Requests go through the whole ASGI stack (routing, validation, threadpool hand-off for sync
endpoints, rendering, serialising) on one event loop via httpx2's ASGITransport, so no
network or test-harness thread time is counted. Goals from the issue: drug page p99 < 30 ms,
/v1/resolve p99 < 5 ms. Writes benchmarks/results/web.json.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2

from immunomod.interfaces.api import create_app
from immunomod.interop.cds_auth import AuthSettings

# JWT checks are off here: they are measured as part of a deployment, not of the card logic.
app = create_app(cds_auth=AuthSettings(required=False))

RESULTS = Path(__file__).parent / "results" / "web.json"
# A spread of names: brands, INNs, a biosimilar, a misspelling, an abbreviation.
DRUG_PAGES = ["humira", "methotrexate", "keytruda", "prednisolone", "tofacitinib", "Amgevita",
              "tacrolimus", "pembrolizumab", "mycophenolate", "ocrelizumab"]  # fmt: skip
RESOLVE_TEXTS = ["Humira 40mg eow", "MTX 20mg weekly", "pred 5mg od", "tofacitnib 5 mg bd",
                 "Keytruda 200 mg every 3 weeks", "metformin 500mg bd"]  # fmt: skip
REGIMEN: dict[str, Any] = {
    "as_of": "2026-11-25",
    "patient": {"age_years": 54, "weight_kg": 70},
    "medications": [
        {"text": "prednisolone 40 mg daily", "start": "2026-11-01"},
        {"text": "MTX 20mg weekly", "start": "2025-01-10"},
        {"text": "Humira 40mg eow", "start": "2025-06-01"},
        {"text": "hydroxychloroquine 200mg bd"},
        {"text": "omeprazole 20 mg od"},
    ],
    "planned_vaccines": ["MMR", "Shingrix", "flu"],
}


# 50 active medications, as an EHR would prefetch them: immunomodulators and everyday drugs.
_NAMES = ["prednisone", "methotrexate", "adalimumab", "hydroxychloroquine", "tacrolimus",
          "mycophenolate mofetil", "folic acid", "omeprazole", "metformin", "atorvastatin",
          "lisinopril", "amlodipine", "levothyroxine", "sertraline", "vitamin D3", "aspirin",
          "alendronate", "calcium carbonate", "trimethoprim", "gabapentin", "apixaban",
          "furosemide", "bisoprolol", "ramipril", "simvastatin", "losartan", "pantoprazole",
          "tramadol", "paracetamol", "ibuprofen", "naproxen", "codeine", "cetirizine",
          "montelukast", "salbutamol", "fluticasone", "tiotropium", "insulin glargine",
          "sitagliptin", "empagliflozin", "warfarin", "clopidogrel", "digoxin", "spironolactone",
          "doxazosin", "tamsulosin", "finasteride", "mirtazapine", "zopiclone",
          "sulfasalazine"]  # fmt: skip


def _prefetch_50() -> dict[str, Any]:
    entries = []
    for i in range(50):
        name = _NAMES[i]
        entries.append({"resource": {
            "resourceType": "MedicationRequest", "id": f"mr-{i}", "status": "active",
            "intent": "order", "subject": {"reference": "Patient/p"},
            "authoredOn": "2026-06-01", "medicationCodeableConcept": {"text": name},
            "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1,
                                                         "periodUnit": "d"}},
                                   "doseAndRate": [{"doseQuantity": {"value": 10,
                                                                     "unit": "mg"}}]}],
        }})  # fmt: skip
    return {
        "hook": "patient-view", "hookInstance": "bench", "context": {"userId": "Practitioner/1",
        "patientId": "p"}, "prefetch": {"patient": {"resourceType": "Patient", "id": "p",
        "birthDate": "1970-01-01"}, "medications": {"resourceType": "Bundle",
        "type": "searchset", "entry": entries}, "statements": None, "weight": None},
    }  # fmt: skip


PATIENT_VIEW_50 = _prefetch_50()


async def measure(call: Callable[[int], Awaitable[Any]], n: int) -> dict[str, float]:
    for i in range(20):  # warm caches and the template compiler
        await call(i)
    times = []
    for i in range(n):
        t = time.perf_counter_ns()
        await call(i)
        times.append((time.perf_counter_ns() - t) / 1e6)
    times.sort()
    return {
        "calls": n,
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(0.99 * (n - 1))], 3),
    }


async def run() -> dict[str, dict[str, float]]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def get(url: str, **params: str) -> None:
            r = await client.get(url, params=params)
            assert r.status_code == 200, (r.status_code, r.text[:200])

        async def page(i: int) -> None:
            await get(f"/drugs/{DRUG_PAGES[i % len(DRUG_PAGES)]}")

        async def resolve(i: int) -> None:
            await get("/v1/resolve", text=RESOLVE_TEXTS[i % len(RESOLVE_TEXTS)])

        async def check(i: int) -> None:
            r = await client.post("/v1/assess", json=REGIMEN)
            assert r.status_code == 200, r.text[:200]

        async def hook(i: int) -> None:
            r = await client.post("/cds-services/immunomod-patient-view", json=PATIENT_VIEW_50)
            assert r.status_code == 200 and r.json()["cards"], r.text[:200]

        return {
            "cds_patient_view_50_meds": await measure(hook, 300),
            "drug_page": await measure(page, 1000),
            "v1_resolve": await measure(resolve, 2000),
            "v1_assess": await measure(check, 1000),
        }


def main() -> None:
    out = asyncio.run(run())
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print("| request (in-process) | p50 | p99 | goal |\n|---|---|---|---|")
    goals = {"drug_page": "p99 < 30 ms", "v1_resolve": "p99 < 5 ms", "v1_assess": "",
             "cds_patient_view_50_meds": "p99 < 50 ms"}  # fmt: skip
    for name, m in out.items():
        print(f"| {name} | {m['p50_ms']} ms | {m['p99_ms']} ms | {goals[name]} |")


if __name__ == "__main__":
    main()
