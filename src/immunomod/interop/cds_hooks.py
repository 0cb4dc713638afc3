"""CDS Hooks 2.0 services: the regimen checker's answer as cards inside the EHR.

Two services share one flow (FHIR → :func:`request_from_fhir` → :func:`assess` → cards):

- ``immunomod-patient-view`` (hook ``patient-view``): a summary of the current regimen:
  immunosuppression level, screening or monitoring that is overdue, live vaccines to avoid.
- ``immunomod-order`` (hooks ``order-select`` and ``order-sign``): when an immunomodulator is
  being ordered, what to check before it starts, combination cautions with current drugs, and
  live vaccines to avoid on the new regimen.

Data come from ``prefetch`` when the EHR sends it; otherwise from ``fhirServer`` with the
``fhirAuthorization`` bearer token. Cards never carry more patient data than the EHR sent, and
nothing here logs request content.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import date
from typing import Any
from uuid import uuid4

from pydantic import BaseModel, Field, ValidationError

from immunomod import kb
from immunomod.errors import UserError, describe
from immunomod.interop.fhir import request_from_fhir
from immunomod.rules import assess
from immunomod.rules.models import Assessment

PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "statements": "MedicationStatement?patient={{context.patientId}}&status=active",
    "weight": "Observation?patient={{context.patientId}}&code=http://loinc.org|29463-7"
    "&_sort=-date&_count=1",
}
SERVICES: list[dict[str, Any]] = [
    {
        "hook": "patient-view",
        "id": "immunomod-patient-view",
        "title": "Immunosuppression summary",
        "description": "Immunosuppression level of the current regimen (IDSA 2013), live-vaccine "
        "status, and screening or monitoring that is due.",
        "prefetch": PREFETCH,
    },
    {
        "hook": "order-select",
        "id": "immunomod-order",
        "title": "Immunomodulator order check",
        "description": "For an immunomodulator being ordered: screening before it starts, "
        "combination cautions with current drugs, and live vaccines to avoid.",
        "prefetch": PREFETCH,
    },
    {
        "hook": "order-sign",
        "id": "immunomod-order-sign",
        "title": "Immunomodulator order check (at signing)",
        "description": "The order check again when the order is signed.",
        "prefetch": PREFETCH,
    },
]
SOURCE_LABEL = "immunomod (cited knowledge base)"
SUMMARY_MAX = 140  # CDS Hooks: summary "SHOULD be less than 140 characters"
FETCH_TIMEOUT_S = 5.0
# One patient's active medications, statements and latest weight are tens of resources; more
# than this is a runaway query or a whole-population bundle, and reading it would only burn
# CPU. Answered with a "Cannot assess" card, never silently truncated.
MAX_FHIR_RESOURCES = 5_000


class CdsRequestError(UserError):
    """The hook request cannot be used; the message names the field and the fix."""


class TooMuchFhirData(CdsRequestError):
    """More FHIR resources than :data:`MAX_FHIR_RESOURCES` in prefetch, reads and draft orders."""


class FhirAuthorization(BaseModel):
    """CDS Hooks 2.0: the token the service may use against ``fhirServer``."""

    access_token: str
    token_type: str = Field(pattern="^Bearer$")
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


class HookRequest(BaseModel):
    """The CDS Hooks 2.0 request body (required fields checked; hook context kept as given)."""

    hook: str
    hookInstance: str
    context: dict[str, Any]
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    prefetch: dict[str, Any] | None = None


def discovery() -> dict[str, Any]:
    return {"services": SERVICES}


def call(service_id: str, body: dict[str, Any], base_url: str = "") -> dict[str, Any]:
    """Answer one hook call with ``{"cards": [...]}``."""
    services: dict[str, dict[str, Any]] = {str(s["id"]): s for s in SERVICES}
    if service_id not in services:
        raise CdsRequestError(
            f"no CDS service '{service_id}'; GET /cds-services lists the ids: {', '.join(services)}"
        )
    try:
        HookRequest.model_validate(body)
    except ValidationError as exc:
        raise CdsRequestError(
            f"the hook request is not CDS Hooks 2.0: {describe(exc, limit=1)}"
        ) from None
    hook = body.get("hook")
    if hook != services[service_id]["hook"]:
        raise CdsRequestError(
            f"service '{service_id}' answers hook '{services[service_id]['hook']}', not '{hook}'"
        )
    context = body.get("context")
    if not isinstance(context, dict) or not context.get("patientId"):
        raise CdsRequestError("'context.patientId' is required")
    try:
        resources = _resources(body)
    except TooMuchFhirData as exc:
        return {"cards": [_cannot_assess(exc, base_url)]}
    today = date.today()
    try:
        if hook == "patient-view":
            parsed = request_from_fhir(resources, as_of=today)
            return {"cards": _summary_cards(assess(parsed.request), base_url)}
        drafts = _draft_orders(context)
        if not drafts:
            return {"cards": []}
        _check_count(len(resources) + len(drafts))
        current = request_from_fhir(resources, as_of=today)
        combined = request_from_fhir([*resources, *drafts], as_of=today)
    except UserError as exc:
        return {"cards": [_cannot_assess(exc, base_url)]}
    ordered = {m.drug or m.text for m in combined.request.medications} - {
        m.drug or m.text for m in current.request.medications
    }
    return {"cards": _order_cards(assess(combined.request), ordered, base_url)}


def _cannot_assess(exc: UserError, base_url: str) -> dict[str, Any]:
    # The EHR's data cannot be used: say so on a card instead of failing the hook, and never
    # let silence look like "no problems".
    why = ("there is too much FHIR data" if isinstance(exc, TooMuchFhirData)
           else "the medication data could not be read")  # fmt: skip
    return _card(
        f"Cannot assess immunosuppression: {why}",
        "warning", f"immunomod could not assess this patient: {_md(str(exc))}. No answer is "
        "given, so do not read the absence of warnings as safe.", [], base_url,
    )  # fmt: skip


def _md(text: str) -> str:
    """EHR-supplied text (a medication's free text, a resource type) made inert inside a card's
    Markdown ``detail``: no raw HTML (``<img onerror=…>``), no links or images (``[x](…)``),
    no new block (a line break starting a heading or list): Markdown shows it as typed."""
    text = " ".join(text.split())
    return "".join("\\" + ch if ch in "\\<>[]`" else ch for ch in text)


def _check_count(n: int) -> None:
    if n > MAX_FHIR_RESOURCES:
        raise TooMuchFhirData(
            f"the request brings {n:,} FHIR resources and at most {MAX_FHIR_RESOURCES:,} are "
            "read; prefetch only the patient's active MedicationRequest and "
            "MedicationStatement resources and the latest body weight"
        )


def _draft_orders(context: dict[str, Any]) -> list[dict[str, Any]]:
    drafts = context.get("draftOrders") or {}
    entries = drafts.get("entry") if isinstance(drafts, dict) else None
    # Draft orders are what is about to start: read them as active (a copy; the input is kept).
    return [
        {**e["resource"], "status": "active"}
        for e in entries or []
        if isinstance(e, dict)
        and (e.get("resource") or {}).get("resourceType") in {"MedicationRequest"}
    ]


def _resources(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Prefetched resources, or the same queries against ``fhirServer`` when prefetch is absent."""
    prefetch = body.get("prefetch") or {}
    out: list[dict[str, Any]] = []
    missing = [key for key in PREFETCH if key not in prefetch]
    for key in PREFETCH:
        if key in prefetch and prefetch[key] is not None:
            out += _unbundle(prefetch[key])
            _check_count(len(out))
    if missing and body.get("fhirServer"):
        patient = body["context"]["patientId"]
        for key in missing:
            query = PREFETCH[key].replace("{{context.patientId}}", urllib.parse.quote(patient))
            out += _unbundle(_fetch(str(body["fhirServer"]), query, body.get("fhirAuthorization")))
            _check_count(len(out))
    return out


def _unbundle(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        return []
    if data.get("resourceType") == "Bundle":
        return [e["resource"] for e in data.get("entry") or [] if isinstance(e, dict)
                and isinstance(e.get("resource"), dict)]  # fmt: skip
    return [data] if "resourceType" in data else []


def _fetch(server: str, query: str, auth: Any) -> Any:
    if not server.startswith(("https://", "http://")):
        raise CdsRequestError("'fhirServer' must be an http(s) URL")
    req = urllib.request.Request(server.rstrip("/") + "/" + query)
    req.add_header("Accept", "application/fhir+json")
    if isinstance(auth, dict) and auth.get("access_token"):
        req.add_header("Authorization", f"Bearer {auth['access_token']}")
    try:
        with urllib.request.urlopen(req, timeout=FETCH_TIMEOUT_S) as resp:
            return json.loads(resp.read(20_000_000))
    except (OSError, ValueError) as exc:
        # The reason only, never the URL's query (it holds the patient id).
        raise CdsRequestError(
            f"could not read the FHIR server ({type(exc).__name__}); send prefetch instead"
        ) from None


# --- cards -------------------------------------------------------------------------------------


def _card(summary: str, indicator: str, detail: str, sources: list[str], base_url: str,
          suggestions: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    if len(summary) > SUMMARY_MAX:
        summary = summary[: SUMMARY_MAX - 1].rstrip() + "…"
    card: dict[str, Any] = {
        "uuid": str(uuid4()),
        "summary": summary,
        "indicator": indicator,
        "detail": detail,
        "source": _source(sources, base_url),
    }
    if suggestions:
        card["suggestions"] = suggestions
    refs = _refs(sources)
    if refs:
        card["links"] = [{"label": title, "url": url, "type": "absolute"} for title, url in refs]
    return card


def _source(sources: list[str], base_url: str) -> dict[str, Any]:
    refs = _refs(sources)
    if refs:
        return {"label": refs[0][0][:80], "url": refs[0][1]}
    return {"label": SOURCE_LABEL, "url": base_url or "https://github.com/immunomod"}


def _refs(sources: list[str]) -> list[tuple[str, str]]:
    registry = kb.sources()
    out = []
    for ref in sources:
        sid = ref.partition(" ")[0]
        src = registry.get(sid)
        if src is not None and (src.title, src.url) not in out:
            out.append((src.title, src.url))
    return out[:3]


def _summary_cards(a: Assessment, base_url: str) -> list[dict[str, Any]]:
    level = a.immunosuppression.level
    drugs = sorted({c.drug for c in a.immunosuppression.contributing if c.level == level})
    reasons = a.immunosuppression.reasons
    detail = "\n".join(f"- **{r.drug or 'regimen'}**: {r.text} (rule `{r.rule}`)" for r in reasons)
    if a.missing:
        detail += "\n\n**Missing information:** " + "; ".join(_md(m) for m in a.missing)
    indicator = {"high": "warning", "unknown": "warning"}.get(level, "info")
    head = {"high": "High-level immunosuppression", "low": "Low-level immunosuppression",
            "none": "No immunosuppression found in the current medicines",
            "unknown": "Immunosuppression level: insufficient data"}.get(level, level)  # fmt: skip
    summary = head + (f" ({', '.join(drugs)})" if drugs else "")
    cards = [_card(summary, indicator, detail or head, [s for r in reasons for s in r.sources],
                   base_url)]  # fmt: skip
    if level in {"high", "low", "unknown"}:
        cards.append(_live_vaccine_card(level, base_url))
    due = [m for m in [*a.screening, *a.monitoring] if m.overdue]
    if due:
        detail = "\n".join(f"- **{m.test}** ({m.drug}): {m.when} (rule `{m.rule}`)" for m in due)
        cards.append(
            _card(
                f"{len(due)} check(s) overdue: " + ", ".join(m.test for m in due),
                "warning",
                detail,
                [s for m in due for s in m.sources],
                base_url,
            )
        )
    return cards


def _live_vaccine_card(level: str, base_url: str) -> dict[str, Any]:
    return _card(
        "Avoid live vaccines unless a specialist confirms it is safe" if level != "low"
        else "Live vaccines: check timing against the current medicines",
        "warning" if level != "low" else "info",
        "Live vaccines (e.g. MMR, varicella, yellow fever, live zoster) are contraindicated "
        "during high-level immunosuppression (IDSA 2013); when the level is unknown, "
        "immunomod does not call them safe.",
        ["idsa-2013"], base_url,
    )  # fmt: skip


def _order_cards(a: Assessment, ordered: set[str | None], base_url: str) -> list[dict[str, Any]]:
    ids = {m.ingredient for m in a.medications
           if m.input in ordered and m.ingredient and m.immunomodulator}  # fmt: skip
    if not ids:
        return []
    cards = []
    # One screening item may serve several drugs ("adalimumab, infliximab"): split to match.
    screening = [s for s in a.screening if ids & set(s.drug.split(", "))]
    if screening:
        detail = "\n".join(f"- **{s.test}**: {s.when} (rule `{s.rule}`)" for s in screening)
        suggestions = [{"label": f"Order {s.test}", "uuid": str(uuid4()), "actions": [{
            "type": "create", "description": f"Order {s.test}",
            "resource": {"resourceType": "ServiceRequest", "status": "draft", "intent": "order",
                         "code": {"text": s.test}},
        }]} for s in screening]  # fmt: skip
        cards.append(_card(
            f"Before starting {', '.join(sorted(ids))}: " + ", ".join(s.test for s in screening),
            "warning", detail, [x for s in screening for x in s.sources], base_url, suggestions,
        ))  # fmt: skip
    for c in a.cautions:
        if ids & set(c.drugs):
            indicator = "critical" if c.severity in {"contraindicated", "major"} else "warning"
            cards.append(
                _card(
                    f"{c.severity.capitalize()}: {' + '.join(c.drugs)}",
                    indicator,
                    f"{c.text} (rule `{c.rule}`)",
                    c.sources,
                    base_url,
                )
            )
    if a.immunosuppression.level in {"high", "unknown"}:
        cards.append(_live_vaccine_card(a.immunosuppression.level, base_url))
    return cards


__all__ = ["SERVICES", "CdsRequestError", "call", "discovery"]
