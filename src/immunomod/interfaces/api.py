"""The REST API and the web pages, one FastAPI app over the same library (``immunomod serve``).

JSON lives under ``/v1``; HTML pages use the same words and the same answers. Errors are RFC 9457
problem details (``application/problem+json``) that name the field and the fix. Knowledge-base
reads carry an ``ETag`` (the knowledge base's content hash) and ``Cache-Control``.
"""

from __future__ import annotations

import dataclasses
import gc
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from immunomod import __version__, kb
from immunomod.deadline import check_time
from immunomod.errors import (
    ImmunomodError,
    UnknownConditionError,
    UnknownDrugError,
    UserError,
    describe,
)
from immunomod.interfaces.security import (
    SWAGGER_CDN,
    SecurityMiddleware,
    SecuritySettings,
    declare_api_key,
)
from immunomod.names import resolve
from immunomod.rules import assess
from immunomod.rules.explain import UnknownRuleError
from immunomod.rules.models import AssessRequest

_TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
_STATIC = Path(__file__).with_name("static")
CACHE = "public, max-age=3600"
MAX_BATCH = 1000


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem-details response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"}},
    "additionalProperties": True,  # suggestions, errors, fix
}  # fmt: skip
_PROBLEM_WHEN = {
    400: "The body is not JSON text (UTF-8).",
    401: "The CDS client's JWT is missing or not trusted.",
    404: "No such drug, condition or service; 'suggestions' lists close names.",
    413: "The request is too large; the detail gives the limit.",
    422: "The input cannot be answered as given; the detail names the field and the fix.",
    503: "The knowledge base is unavailable (missing, stale or failed its integrity check).",
}


def _hook_request_body() -> dict[str, Any]:
    """The CDS Hooks request's schema for the OpenAPI document (the handler validates the raw
    body itself, for its own messages), with pydantic's local $defs inlined: in an OpenAPI
    document a "#/$defs/..." reference would resolve against the document's root."""
    from immunomod.interop.cds_hooks import HookRequest

    schema = HookRequest.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        return [inline(v) for v in node] if isinstance(node, list) else node

    return {"required": True, "content": {"application/json": {"schema": inline(schema)}}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem-details answers an operation gives (and 503,
    which any of them can give), so clients and contract tests know their shape."""
    return {
        status: {"description": _PROBLEM_WHEN[status],
                 "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}}}
        for status in sorted({*statuses, 503})
    }  # fmt: skip


@lru_cache(maxsize=1024)
def _drug_html(ingredient_id: str, view: str, content_hash: str) -> str:
    """drug.html for one ingredient and view, rendered once per knowledge-base build.

    Rendering costs ~1 ms (up to 8 ms for the longest records), a quarter of a mixed load's
    requests are drug pages, and the page depends only on the record and the view: the
    template uses nothing from the request. ``content_hash`` keys the cache to the knowledge
    base, so a rebuilt one is never answered from old pages. All pages of both views take
    ~9 MB."""
    rec = kb.store().record(ingredient_id)
    return _TEMPLATES.get_template("drug.html").render({"rec": rec, "view": view})


def _etag() -> str:
    return '"' + str(kb.stats()["content_hash"])[:32] + '"'


def cached(request: Request, payload: Any) -> Response:
    """JSON with ETag/Cache-Control; 304 when the client already has this version."""
    tag = _etag()
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers={"ETag": tag, "Cache-Control": CACHE})
    return JSONResponse(payload, headers={"ETag": tag, "Cache-Control": CACHE})


def _pdf(html: str, base_url: str, filename: str) -> Response:
    """Render an HTML page to a PDF download (WeasyPrint honours the print stylesheet)."""
    from weasyprint import CSS, HTML  # imported late: Pango loads slowly and most calls never print

    # The leaflet's HTML links no stylesheet: the site's one is handed over from the package
    # here, so rendering never makes an HTTP request back to this server (or anywhere else).
    # base_url only resolves the page's relative links inside the PDF.
    style = CSS(filename=str(_STATIC / "style.css"))
    pdf = HTML(string=html, base_url=base_url).write_pdf(stylesheets=[style])
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _assess_context(
    meds: str = Query("", max_length=10_000),
    weight: str = "",
    age: str = "",
    vaccines: str = Query("", max_length=1000),
    as_of: str = "",
    jurisdiction: str = "US",
) -> dict[str, Any]:
    """Run the regimen checker from the form's fields; shared by the page and its leaflet."""
    from datetime import date
    from urllib.parse import urlencode

    form = {
        "meds": meds, "weight": weight, "age": age, "vaccines": vaccines,
        "as_of": as_of or date.today().isoformat(), "jurisdiction": jurisdiction,
    }  # fmt: skip
    context: dict[str, Any] = {"form": form, "a": None, "error": None}
    if meds.strip():
        data: dict[str, Any] = {
            "as_of": form["as_of"],
            "jurisdiction": jurisdiction
            if jurisdiction in {"US", "UK", "AU", "EU", "INT"}
            else "US",
            "medications": [{"text": ln.strip()} for ln in meds.splitlines() if ln.strip()],
            "planned_vaccines": [v.strip() for v in vaccines.split(",") if v.strip()],
            "patient": {},
        }
        try:
            if weight:
                data["patient"]["weight_kg"] = float(weight)
            if age:
                data["patient"]["age_years"] = float(age)
            context["a"] = assess(AssessRequest.model_validate(data))
        except ValidationError as exc:
            context["error"] = f"Cannot check this regimen: {describe(exc)}"
        except ValueError:
            context["error"] = "Weight and age must be numbers (e.g. 70 or 8.5)."
        except UserError as exc:
            context["error"] = str(exc)
        query = urlencode(form)
        context["link"] = f"/assess?{query}"
        context["leaflet_link"] = f"/assess/leaflet.pdf?{query}"
        context["json_link"] = "/v1/assess"
    return context


FEEDBACK: dict[tuple[str, str], int] = {}  # (service, outcome) -> count, in memory


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open (and so verify) the knowledge base before serving: a missing, stale or tampered
    file fails the start-up with its message, instead of a 503 on every request."""
    kb.store()
    _settle_heap()
    yield


def _settle_heap() -> None:
    """Parse every record now (~150 ms) and take the start-up heap out of the collector's walk.

    A full (generation-2) garbage collection walks every tracked object: ~190 k once the
    records are parsed, a 70-100 ms pause of the whole worker that came every few seconds under
    a mixed load and set its p99 latency. ``gc.freeze`` moves these objects, the process's
    lasting state (modules, the parsed knowledge base), where collections skip them."""
    store = kb.store()
    for summary in store.all_summaries():
        store.record(summary.id)
    gc.collect()
    gc.freeze()


def _timeout_from_env() -> float:
    from immunomod.interfaces.security import DEFAULT_REQUEST_TIMEOUT_S

    raw = os.environ.get("IMMUNOMOD_REQUEST_TIMEOUT_S", "").strip()
    if not raw:
        return DEFAULT_REQUEST_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 86_400:
        raise UserError(f"IMMUNOMOD_REQUEST_TIMEOUT_S='{raw}': give seconds, e.g. 30")
    return value


def create_app(
    cds_auth: Any = None,
    api_keys: Iterable[str] | None = None,
    max_body_bytes: int | None = None,
    cds_max_body_bytes: int | None = None,
    request_timeout_s: float | None = None,
) -> FastAPI:
    """The web app. ``cds_auth``: an :class:`~immunomod.interop.cds_auth.AuthSettings` for the
    CDS Hooks endpoints (default: from the environment, JWT checks required). ``api_keys``:
    keys every ``/v1`` request must carry (default: ``IMMUNOMOD_API_KEYS`` /
    ``IMMUNOMOD_API_KEYS_FILE``; no key means an open API). ``max_body_bytes`` and
    ``cds_max_body_bytes``: request-body caps (default: the environment, else 1 MiB and 8 MiB).
    ``request_timeout_s``: time budget per request, answered 503 when spent (default:
    ``IMMUNOMOD_REQUEST_TIMEOUT_S``, else 30 s).
    See :mod:`immunomod.interfaces.security`."""
    from immunomod.interfaces import logs
    from immunomod.interop.cds_auth import AuthSettings, CdsAuthError, verify

    logs.install()  # the server's logs get no query strings and no exception messages
    auth: AuthSettings = cds_auth if cds_auth is not None else AuthSettings.from_env()
    security = SecuritySettings.from_env(api_keys, max_body_bytes, cds_max_body_bytes)
    timeout = request_timeout_s if request_timeout_s is not None else _timeout_from_env()
    security = dataclasses.replace(security, request_timeout_s=timeout)
    app = FastAPI(
        title="immunomod",
        version=__version__,
        description="Cited knowledge base of immunomodulator medicines, name resolver and "
        "regimen checker. Not medical advice.",
        lifespan=_lifespan,
        # /docs is served below with its start-up script in a file (FastAPI's page inlines it,
        # which the CSP forbids). ReDoc is left off: it injects inline styles and needs a
        # blob: worker, more CSP relaxation than a second docs page is worth.
        docs_url=None,
        redoc_url=None,
    )
    # Headers, API keys and body caps on every request (security.py), before any parsing.
    app.add_middleware(SecurityMiddleware, settings=security)
    if security.api_key_digests:
        declare_api_key(app)  # so /docs' "Authorize" sends the key
    # Scripts and styles live in files, not inline, so the pages run under a strict CSP.
    static = StaticFiles(directory=str(_STATIC))
    app.mount("/static", static, name="static")

    @app.exception_handler(UnknownDrugError)
    async def _unknown_drug(request: Request, exc: UnknownDrugError) -> JSONResponse:
        return problem(404, "Unknown drug", str(exc), suggestions=exc.suggestions)

    @app.exception_handler(UnknownRuleError)
    async def _unknown_rule(request: Request, exc: UnknownRuleError) -> JSONResponse:
        return problem(404, "Unknown rule", str(exc))

    @app.exception_handler(UnknownConditionError)
    async def _unknown_condition(request: Request, exc: UnknownConditionError) -> JSONResponse:
        return problem(404, "Unknown condition", str(exc), suggestions=exc.suggestions)

    @app.exception_handler(CdsAuthError)
    async def _cds_auth(request: Request, exc: CdsAuthError) -> JSONResponse:
        response = problem(401, "CDS client not authenticated", str(exc))
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    def _check_client(request: Request) -> None:
        # aud is the service's own URL (CDS Hooks 2.0); the query string is not part of it.
        verify(request.headers.get("authorization"), str(request.url.replace(query="")), auth)

    @app.exception_handler(UserError)
    async def _user_error(request: Request, exc: UserError) -> JSONResponse:
        return problem(422, "Cannot answer this input", str(exc))

    @app.exception_handler(ImmunomodError)
    async def _kb_error(request: Request, exc: ImmunomodError) -> JSONResponse:
        return problem(503, "Knowledge base unavailable", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Starlette's own errors (unknown path, wrong method, unparsable body) as problem
        details too, like every other error."""
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route with this path; /v1/resolve
            # has a GET and a POST route, so the Allow header would leave one out.
            routes = [r for r in app.routes if isinstance(r, Route) and r.methods]
            allowed = {m for r in routes if r.matches(request.scope)[0] != Match.NONE
                       for m in r.methods or ()}  # fmt: skip
            headers["Allow"] = ", ".join(sorted(allowed))
        title = HTTPStatus(exc.status_code).phrase
        response = problem(exc.status_code, title, str(exc.detail))
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(x) for x in e["loc"] if x != "body"), "problem": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:5])
        return problem(422, "Invalid request", detail, errors=errors)

    # --- JSON API -----------------------------------------------------------------------

    @app.get("/v1/drugs/{name}", tags=["drugs"], responses=problems(404, 422))
    def get_drug(name: str, request: Request) -> Response:
        """One immunomodulator by any name (INN, brand, biosimilar, salt) or ATC code."""
        return cached(request, kb.get(name).public_dict())

    @app.get("/v1/drugs", tags=["drugs"], responses=problems(404, 422))
    def search_drugs(
        request: Request,
        q: str | None = Query(None, max_length=200, description="Part of a name."),
        class_: str | None = Query(None, alias="class", max_length=100),
        condition: str | None = Query(None, max_length=200),
    ) -> Response:
        """Search by name, list a class or type, or list the drugs for a condition."""
        if condition:
            cond, rows = kb.for_condition(condition)
            return cached(request, {"condition": cond.model_dump(mode="json"),
                                    "drugs": [r.as_dict() for r in rows]})  # fmt: skip
        if class_:
            return cached(request, {"drugs": [r.as_dict() for r in kb.by_class(class_)]})
        if q:
            return cached(request, {"drugs": [r.as_dict() for r in kb.search(q)]})
        return cached(request, {"drugs": [r.as_dict() for r in kb.store().all_summaries()]})

    @app.get("/v1/classes", tags=["drugs"], responses=problems())
    def list_classes(request: Request) -> Response:
        """The taxonomy: classes with their types."""
        return cached(request, {cid: c.model_dump(mode="json") for cid, c in kb.classes().items()})

    @app.get("/v1/resolve", tags=["resolve"], responses=problems(422))
    async def resolve_one(
        text: str = Query(..., min_length=1, max_length=10_000),
    ) -> dict[str, Any]:
        """Resolve the drug names in one text."""
        # Runs on the event loop, not the threadpool: a typical text resolves in well under a
        # millisecond, less than the thread hand-off costs. Long texts go to the threadpool.
        if len(text) > 500:
            from starlette.concurrency import run_in_threadpool

            return (await run_in_threadpool(resolve, text)).as_json()
        return resolve(text).as_json()

    @app.post("/v1/resolve", tags=["resolve"], responses=problems(400, 413, 422))
    def resolve_many(
        # Each text has GET /v1/resolve's cap: one huge text would otherwise cost what the
        # whole batch limit is there to prevent.
        texts: Annotated[list[Annotated[str, Field(max_length=10_000)]], Body(embed=True)],
    ) -> Any:
        """Resolve many texts at once (at most 1000, each at most 10 000 characters); one
        answer per text, in order."""
        if len(texts) > MAX_BATCH:
            return problem(413, "Too many texts", f"{len(texts)} texts; the limit is {MAX_BATCH}: "
                           "send them in smaller batches")  # fmt: skip
        results = []
        for t in texts:
            check_time()  # past the budget: the answer is a 503, so stop working on it
            results.append(resolve(t).as_json())
        return {"results": results}

    @app.post("/v1/assess", tags=["assess"], responses=problems(400, 413, 422))
    def assess_regimen(request_body: Annotated[AssessRequest, Body()]) -> Any:
        """Check a regimen (the same JSON as `immunomod assess FILE`)."""
        # Typed, so the OpenAPI document gives the regimen's schema; a field error is the
        # RequestValidationError problem above ("medications.0.dose: …").
        return assess(request_body).as_json()

    @app.get("/v1/rules/{rule_id}", tags=["rules"], responses=problems(404))
    def explain_rule(rule_id: str) -> dict[str, Any]:
        """A rule (or knowledge-base fact) by id, with thresholds and sources."""
        from immunomod.rules.explain import explain

        return explain(rule_id)

    @app.get("/v1/sources", tags=["kb"], responses=problems())
    def list_sources(request: Request) -> Response:
        return cached(request, {sid: s.model_dump(mode="json") for sid, s in kb.sources().items()})

    @app.get("/v1/kb/stats", tags=["kb"], responses=problems())
    def kb_stats(request: Request) -> Response:
        return cached(request, kb.stats())

    # --- web pages ------------------------------------------------------------------------

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        """Swagger UI, from the CDN that /docs' CSP allows (and only /docs')."""
        return _TEMPLATES.TemplateResponse(request, "docs.html", {
            "title": app.title, "openapi_url": app.openapi_url,
            "cdn": f"{SWAGGER_CDN}/npm/swagger-ui-dist@5",
        })  # fmt: skip

    @app.get("/suggest", include_in_schema=False)
    def suggest(request: Request, q: str = Query("", max_length=200)) -> Response:
        """Names for the search box's suggestions (static/search.js). Outside /v1 so that they
        keep working when the API needs a key: the same names the public /?q= page lists."""
        hits = kb.search(q)[:8] if len(q.strip()) >= 3 else []
        return cached(request, {"drugs": [{"id": h.id, "inn": h.inn, "matched": h.matched}
                                          for h in hits]})  # fmt: skip

    @app.get("/cds-services", tags=["cds-hooks"])
    def cds_discovery() -> dict[str, Any]:
        """CDS Hooks 2.0 discovery: the services, their hooks and prefetch templates."""
        from immunomod.interop.cds_hooks import discovery

        return discovery()

    @app.post("/cds-services/{service_id}", tags=["cds-hooks"],
              responses=problems(400, 401, 404, 413, 422),
              openapi_extra={"requestBody": _hook_request_body()})  # fmt: skip
    def cds_call(service_id: str, request: Request, body: Annotated[dict[str, Any], Body()]) -> Any:
        """Answer a hook call with cards (summary, indicator, source, detail, suggestions)."""
        from immunomod.interop.cds_hooks import SERVICES, call

        _check_client(request)
        if service_id not in {s["id"] for s in SERVICES}:  # as for feedback: no such resource
            detail = f"no CDS service '{service_id}'; GET /cds-services lists the ids"
            return problem(404, "Unknown CDS service", detail)
        return call(service_id, body, str(request.base_url))

    @app.post("/cds-services/{service_id}/feedback", tags=["cds-hooks"],
              responses=problems(400, 401, 404, 413, 422))  # fmt: skip
    def cds_feedback(
        service_id: str, request: Request, body: Annotated[dict[str, Any], Body()]
    ) -> Response:
        """Card feedback (accepted/overridden). Counted by outcome only: no patient data kept."""
        from immunomod.interop.cds_hooks import SERVICES

        _check_client(request)
        if service_id not in {s["id"] for s in SERVICES}:
            return problem(404, "Unknown CDS service", f"no service '{service_id}'")
        outcomes = [f.get("outcome") for f in body.get("feedback") or [] if isinstance(f, dict)]
        for outcome in outcomes:
            key = (service_id, str(outcome))
            FEEDBACK[key] = FEEDBACK.get(key, 0) + 1
        return Response(status_code=200)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, q: str | None = None) -> HTMLResponse:
        hits = kb.search(q) if q else []
        return _TEMPLATES.TemplateResponse(request, "home.html", {"q": q or "", "hits": hits})

    @app.get("/drugs/{name}", response_class=HTMLResponse, include_in_schema=False)
    def drug_page(request: Request, name: str, view: str = "patient") -> HTMLResponse:
        try:
            rec = kb.get(name)
        except UnknownDrugError as exc:
            return _TEMPLATES.TemplateResponse(
                request, "not_found.html", {"q": name, "suggestions": exc.suggestions},
                status_code=404,
            )  # fmt: skip
        view = "clinician" if view == "clinician" else "patient"
        return HTMLResponse(_drug_html(rec.id, view, str(kb.stats()["content_hash"])))

    @app.get("/drugs/{name}/leaflet.pdf", include_in_schema=False)
    def drug_leaflet(request: Request, name: str) -> Response:
        """A printable patient leaflet (PDF, WeasyPrint) of the drug page."""
        rec = kb.get(name)
        html = _TEMPLATES.get_template("drug.html").render(
            {"request": request, "rec": rec, "view": "patient", "leaflet": True}
        )
        return _pdf(html, str(request.base_url), f"{rec.id}-leaflet.pdf")

    @app.get("/classes", response_class=HTMLResponse, include_in_schema=False)
    def classes_page(request: Request) -> HTMLResponse:
        members: dict[tuple[str, str], list[Any]] = {}
        for d in kb.store().all_summaries():
            members.setdefault((d.class_id, d.type_id), []).append(d)
        return _TEMPLATES.TemplateResponse(
            request, "classes.html", {"classes": kb.classes(), "members": members}
        )

    @app.get("/conditions/{text}", response_class=HTMLResponse, include_in_schema=False)
    def condition_page(request: Request, text: str) -> HTMLResponse:
        try:
            cond, drugs = kb.for_condition(text)
        except UnknownConditionError:
            return _TEMPLATES.TemplateResponse(
                request, "not_found.html", {"q": text, "suggestions": []}, status_code=404
            )  # fmt: skip
        return _TEMPLATES.TemplateResponse(
            request, "condition.html", {"cond": cond, "drugs": drugs}
        )

    @app.get("/assess", response_class=HTMLResponse, include_in_schema=False)
    def assess_page(
        request: Request, context: Annotated[dict[str, Any], Depends(_assess_context)]
    ) -> HTMLResponse:
        """The regimen checker as a form; the page's own URL reproduces the query."""
        return _TEMPLATES.TemplateResponse(request, "assess.html", context)

    @app.get("/assess/leaflet.pdf", include_in_schema=False)
    def assess_leaflet(
        request: Request, context: Annotated[dict[str, Any], Depends(_assess_context)]
    ) -> Response:
        """The regimen result as a printable PDF (same query string as the page)."""
        if context["a"] is None:
            detail = context["error"] or "Give at least one medicine in 'meds'."
            return problem(
                422, "Nothing to print", detail, fix="Check the regimen on /assess first."
            )
        html = _TEMPLATES.get_template("assess.html").render(
            {"request": request, **context, "leaflet": True}
        )
        return _pdf(html, str(request.base_url), "regimen-check.pdf")

    return app


app = create_app()
