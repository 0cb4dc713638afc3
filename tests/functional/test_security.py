"""Security of the web app: headers and CSP on every response, output escaping of hostile
input on every page and endpoint, optional API keys on /v1, and the request limits.

The browser half (CSP violations and dialogs in a real Chromium) is tests/browser/test_csp.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from markupsafe import escape

from immunomod.errors import UserError
from immunomod.interfaces import security
from immunomod.interfaces.api import create_app
from immunomod.interop.cds_auth import AuthSettings
from immunomod.interop.cds_hooks import MAX_FHIR_RESOURCES

NO_JWT = AuthSettings(required=False)  # CDS JWT checks are test_cds_auth.py's subject
client = TestClient(create_app(cds_auth=NO_JWT, api_keys=[]))
FHIR = Path(__file__).resolve().parents[1] / "fixtures" / "fhir" / "synthea_like_ra.json"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HARDENING = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
REGIMEN = {"as_of": "2026-11-25", "patient": {"weight_kg": 70},
           "medications": [{"text": "prednisone 20 mg daily", "start": "2026-10-01"}],
           "planned_vaccines": ["MMR"]}  # fmt: skip
ASSESS_QUERY = "meds=MTX+15mg+weekly&weight=70&vaccines=MMR&as_of=2026-11-25"


def hook_body(resources: list[dict[str, Any]], hook: str = "patient-view") -> dict[str, Any]:
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": r} for r in resources]}  # fmt: skip
    return {"hook": hook, "hookInstance": "0f2e8f0a-4b0b-4f57-9d7a-1d0b2a1c0009",
            "context": {"userId": "Practitioner/1", "patientId": "p"},
            "prefetch": {"patient": None, "medications": bundle, "statements": None,
                         "weight": None}}  # fmt: skip


def fhir_resources() -> list[dict[str, Any]]:
    return [e["resource"] for e in json.loads(FHIR.read_text())["entry"]]


# --- 1. headers on every response ------------------------------------------------------------


EVERY_KIND = [
    ("GET", "/", {}, "text/html"),
    ("GET", "/drugs/humira", {}, "text/html"),
    ("GET", "/drugs/metotrexate", {}, "text/html"),  # the not-found page, 404
    ("GET", "/classes", {}, "text/html"),
    ("GET", "/assess?" + ASSESS_QUERY, {}, "text/html"),
    ("GET", "/v1/drugs/humira", {}, "application/json"),
    ("GET", "/v1/drugs/metotrexate", {}, "application/problem+json"),
    ("POST", "/v1/assess", {"json": {"as_of": "never"}}, "application/problem+json"),
    ("GET", "/static/style.css", {}, "text/css"),
    ("GET", "/static/search.js", {}, "text/javascript"),
    ("GET", "/drugs/humira/leaflet.pdf", {}, "application/pdf"),
    ("GET", "/no/such/path", {}, "application/problem+json"),  # Starlette's errors too
    ("GET", "/openapi.json", {}, "application/json"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "kind"), EVERY_KIND)
def test_every_kind_of_response_carries_the_csp_and_hardening_headers(
    method: str, path: str, kwargs: dict[str, Any], kind: str
) -> None:
    r = client.request(method, path, **kwargs)
    assert r.headers["content-type"].startswith(kind), r.headers["content-type"]
    assert r.headers["content-security-policy"] == CSP
    for name, value in HARDENING.items():
        assert r.headers[name] == value, name
    permissions = r.headers["permissions-policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in permissions
    assert "unsafe-inline" not in r.headers["content-security-policy"]


def test_an_unhandled_error_is_problem_json_with_the_headers_too() -> None:
    app = create_app(cds_auth=NO_JWT, api_keys=[])

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("bug")

    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["content-security-policy"] == CSP and r.headers["x-frame-options"] == "DENY"
    assert "bug" not in r.text  # the exception text stays in the server log


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [("POST", "/v1/assess", {"json": REGIMEN}),
     ("GET", "/v1/resolve?text=MTX+15mg+weekly", {}),
     ("POST", "/v1/resolve", {"json": {"texts": ["Humira 40mg eow"]}}),
     ("GET", "/assess?" + ASSESS_QUERY, {}),
     ("GET", "/assess/leaflet.pdf?" + ASSESS_QUERY, {}),
     ("POST", "/cds-services/immunomod-patient-view", {"json": hook_body(fhir_resources())})],
)  # fmt: skip
def test_responses_with_patient_data_are_never_stored(
    method: str, path: str, kwargs: dict[str, Any]
) -> None:
    r = client.request(method, path, **kwargs)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"


def test_knowledge_base_reads_keep_their_public_caching() -> None:
    # No patient data: the ETag/Cache-Control of api.cached() must survive the middleware.
    r = client.get("/v1/drugs/humira")
    assert r.headers["cache-control"].startswith("public") and r.headers["etag"]
    assert client.get("/cds-services").headers.get("cache-control") != "no-store"


class _Audit(HTMLParser):
    """What a page would run or load: scripts, handlers, inline styles, URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script = False
        self.handlers: list[str] = []
        self.styles: list[str] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        found = dict(attrs)
        if tag == "script":
            self.scripts.append(found)
            self._in_script = True
        if tag == "style":
            self.styles.append("<style>")
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag}.{name}")
            if name == "style":
                self.styles.append(f"{tag}[style]")
            if name in {"href", "src", "action", "formaction"} and value is not None:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True


def audit(text: str) -> _Audit:
    parser = _Audit()
    parser.feed(text)
    parser.close()
    return parser


def assert_inert(text: str) -> None:
    """Nothing in this HTML runs but the site's own script files."""
    a = audit(text)
    assert not a.inline_script, "inline <script>"
    assert all((s.get("src") or "").startswith("/static/") for s in a.scripts), a.scripts
    assert a.handlers == [], a.handlers
    assert a.styles == [], a.styles
    assert not {"img", "iframe", "object", "embed", "svg", "base"} & a.tags, a.tags
    bad = [u for u in a.urls if u.strip().lower().startswith(("javascript:", "data:", "vbscript:"))]
    assert bad == [], bad


@pytest.mark.parametrize(
    "path",
    ["/", "/?q=humira", "/drugs/humira", "/drugs/humira?view=clinician", "/drugs/metotrexate",
     "/classes", "/conditions/rheumatoid%20arthritis", "/conditions/xyzzy", "/assess",
     "/assess?" + ASSESS_QUERY],
)  # fmt: skip
def test_pages_have_no_inline_script_style_or_handler_so_the_csp_holds(path: str) -> None:
    r = client.get(path)
    assert r.headers["content-type"].startswith("text/html")
    assert_inert(r.text)
    assert '<link rel="stylesheet" href="/static/style.css">' in r.text


def test_docs_get_a_csp_relaxed_only_for_the_swagger_cdn() -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self' https://cdn.jsdelivr.net"
    assert directives["style-src"] == "'self' https://cdn.jsdelivr.net"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'" and directives["default-src"] == "'none'"
    # The start-up code is a file (no inline script), and it reads the OpenAPI URL from the page.
    a = audit(r.text)
    assert not a.inline_script and a.handlers == [] and a.styles == []
    assert [s["src"] for s in a.scripts] == [
        "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js",
        "/static/docs.js",
    ]
    assert 'data-openapi-url="/openapi.json"' in r.text
    assert "SwaggerUIBundle" in client.get("/static/docs.js").text
    # Nowhere else is the CDN allowed, and ReDoc (which would need inline styles) is off.
    assert "jsdelivr" not in client.get("/").headers["content-security-policy"]
    assert client.get("/redoc").status_code == 404


def run_asgi(app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """One ASGI call on its own event loop, in a thread: the browser tests' Playwright keeps a
    loop running in this one for the whole session, where asyncio.run() is refused."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(app(scope, receive, send))).result()


def test_the_middleware_streams_responses_instead_of_buffering_them() -> None:
    # A pure-ASGI middleware must pass each body chunk on as it comes (BaseHTTPMiddleware
    # would not be used here precisely because it buffers).
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        assert len(sent) == 2, "the first chunk was held back"
        await send({"type": "http.response.body", "body": b"two", "more_body": False})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    middleware = security.SecurityMiddleware(app, security.SecuritySettings.build())
    run_asgi(middleware, {"type": "http", "path": "/x", "headers": []}, receive, send)
    assert [m.get("body") for m in sent[1:]] == [b"one", b"two"]
    assert (b"content-security-policy", CSP.encode()) in sent[0]["headers"]


def test_a_streamed_response_through_the_app_keeps_its_chunks_and_headers() -> None:
    app = create_app(cds_auth=NO_JWT, api_keys=[])

    @app.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse(iter([b"a\n", b"b\n"]), media_type="text/plain")

    with TestClient(app).stream("GET", "/stream") as r:
        assert r.headers["content-security-policy"] == CSP
        assert b"".join(r.iter_bytes()) == b"a\nb\n"


# --- 2. output escaping ----------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}"
JS_URL = "javascript:alert(1)"
RTL = "\u202eexe.fdp"  # U+202E RIGHT-TO-LEFT OVERRIDE: "pdf.exe" shown as "exe.pdf"
LONG = "<b>" + "A" * 9_000 + "</b>"
HOSTILE = [SCRIPT, IMG, TEMPLATE, JS_URL, RTL, LONG]
HOSTILE_IDS = ["script", "img-onerror", "template", "javascript-url", "rtl-override", "long"]


def assert_escaped(text: str, hostile: str) -> None:
    """The hostile text, if it shows at all, shows as text: never as markup that could run."""
    assert_inert(text)
    if "<" in hostile or '"' in hostile:
        assert hostile not in text
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>AAA" not in text
    if TEMPLATE in hostile:
        assert "{{7*7}}" in text  # shown as typed, never evaluated as a template


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_drug_not_found_page_escapes_the_name(hostile: str) -> None:
    # "/" cannot be part of a path segment; the name is what a user could type in the URL bar.
    r = client.get("/drugs/" + quote(hostile.replace("/", ""), safe=""))
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert_escaped(r.text, hostile.replace("/", ""))
    assert str(escape(hostile.replace("/", "")))[:200] in r.text


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_search_page_escapes_the_query(hostile: str) -> None:
    r = client.get("/", params={"q": hostile})
    assert r.status_code == 200
    assert_escaped(r.text, hostile)
    # Echoed twice: in the search box's value and in the results heading.
    assert r.text.count(str(escape(hostile))[:200]) >= 2


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_condition_page_escapes_the_text(hostile: str) -> None:
    r = client.get("/conditions/" + quote(hostile.replace("/", ""), safe=""))
    assert r.status_code == 404
    assert_escaped(r.text, hostile.replace("/", ""))


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_regimen_form_escapes_medicines_notes_vaccines_and_numbers(hostile: str) -> None:
    meds = f"prednisone 20 mg daily since 2026-10-01\nMTX 15mg weekly, note: {hostile}"
    params = {"meds": meds[:10_000], "vaccines": hostile[:200], "as_of": "2026-11-25"}
    r = client.get("/assess", params=params)
    assert r.status_code == 200
    assert_escaped(r.text, hostile)
    assert "Immunosuppression: high" in r.text  # the rest of the regimen is still checked
    bad_number = client.get("/assess", params={"meds": "MTX 15mg weekly", "weight": hostile})
    assert_escaped(bad_number.text, hostile)
    assert "must be numbers" in bad_number.text


def test_right_to_left_override_cannot_reorder_the_page_around_it() -> None:
    # Echoed user text sits in <bdi>, so an override inside it stays inside it.
    for r in (client.get("/", params={"q": RTL}), client.get("/drugs/" + quote(RTL))):
        assert f"<bdi>{RTL}</bdi>" in r.text


def test_regimen_leaflet_prints_hostile_notes_as_text() -> None:
    from pypdf import PdfReader

    meds = f"MTX 15mg weekly {SCRIPT} {IMG} {TEMPLATE}"
    r = client.get("/assess/leaflet.pdf", params={"meds": meds, "as_of": "2026-11-25"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(r.content)).pages
    )
    # Escaped into the HTML, so WeasyPrint prints the characters instead of building elements.
    assert SCRIPT in text and "<img src=x onerror=alert(1)>" in text and TEMPLATE in text


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_json_endpoints_return_hostile_text_as_json_data_only(hostile: str) -> None:
    answers = [
        client.get("/v1/resolve", params={"text": hostile}),
        client.post("/v1/resolve", json={"texts": [hostile]}),
        client.post(
            "/v1/assess",
            json={
                **REGIMEN,
                "medications": [{"text": hostile}],
                "planned_vaccines": [hostile[:200]],
            },
        ),
        client.get("/v1/drugs/" + quote(hostile.replace("/", ""), safe="")),
        client.get("/v1/drugs", params={"q": hostile[:200]}),
    ]
    for r in answers:
        # JSON, never sniffed as HTML: the text is data a client must escape when it shows it.
        assert r.headers["content-type"].split(";")[0] in {
            "application/json", "application/problem+json"}, r.text[:200]  # fmt: skip
        assert r.headers["x-content-type-options"] == "nosniff"
        json.loads(r.text)
    assessed = answers[2].json()
    assert assessed["medications"][0]["input"] == hostile  # kept exactly, not mangled


def _rendered_cards(hostile: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Cards for a regimen with a hostile medication text, and each detail rendered to HTML."""
    resources = fhir_resources()
    resources.append({
        "resourceType": "MedicationStatement", "id": "hostile", "status": "active",
        "subject": {"reference": "Patient/p"}, "medicationCodeableConcept": {"text": hostile},
    })  # fmt: skip
    r = client.post("/cds-services/immunomod-patient-view", json=hook_body(resources))
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    return cards, [naive_markdown(c.get("detail") or "") for c in cards]


def naive_markdown(text: str) -> str:
    """Markdown to HTML the way a careless EHR might: raw HTML kept, every link scheme allowed
    (markdown-it would drop javascript: links by itself; the card must not rely on that)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True})
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md.render(text)


@pytest.mark.parametrize(
    "hostile", [SCRIPT, IMG, "[click me](javascript:alert(1))", "x\n# Big heading\n<b>bold</b>",
                "<javascript:alert(1)>", "\\<img src=x onerror=alert(1)>", LONG],
    ids=["script", "img-onerror", "markdown-link", "new-block", "autolink", "backslash", "long"],
)  # fmt: skip
def test_cds_card_details_keep_ehr_text_inert_when_rendered_as_markdown(hostile: str) -> None:
    cards, rendered = _rendered_cards(hostile)
    # Reported (as not recognised, or, when too long to be a name, as a Cannot-assess card).
    assert any("not recognised" in (c.get("detail") or "") or c["summary"].startswith("Cannot")
               for c in cards)  # fmt: skip
    for page in rendered:
        assert_inert(page)
        assert "<h1>" not in page and "<b>" not in page and "<a " not in page
    for card in cards:
        assert "<" not in card["summary"]


def test_cds_cannot_assess_card_keeps_a_hostile_resource_type_inert() -> None:
    resources = [*fhir_resources(), {"resourceType": IMG, "id": "x"}]
    r = client.post("/cds-services/immunomod-patient-view", json=hook_body(resources))
    card = r.json()["cards"][0]
    assert card["summary"].startswith("Cannot assess")
    assert_inert(naive_markdown(card["detail"]))


# --- 3. optional API keys --------------------------------------------------------------------

KEY = "test-key-0123456789abcdef"
OTHER_KEY = "other-key-fedcba9876543210"


@pytest.fixture(scope="module")
def keyed() -> TestClient:
    return TestClient(create_app(cds_auth=NO_JWT, api_keys=[KEY, OTHER_KEY]))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/v1/drugs/humira", None), ("GET", "/v1/drugs?q=adali", None),
     ("GET", "/v1/resolve?text=MTX", None), ("POST", "/v1/resolve", {"texts": ["MTX"]}),
     ("POST", "/v1/assess", REGIMEN), ("GET", "/v1/rules/idsa-steroid", None),
     ("GET", "/v1/kb/stats", None), ("GET", "/v1/no-such-endpoint", None)],
)  # fmt: skip
def test_with_keys_every_v1_request_without_one_is_a_401_naming_the_header(
    keyed: TestClient, method: str, path: str, body: Any
) -> None:
    r = keyed.request(method, path, json=body)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["title"] == "API key required" and problem["header"] == "X-API-Key"
    assert "X-API-Key: <your key>" in problem["detail"] and "Bearer" in problem["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-security-policy"] == CSP  # refusals carry the headers too


def test_with_keys_either_header_and_any_configured_key_is_accepted(keyed: TestClient) -> None:
    accepted = [{"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"},
                {"X-API-Key": OTHER_KEY}, {"authorization": f"bearer {OTHER_KEY}"}]  # fmt: skip
    for headers in accepted:
        r = keyed.get("/v1/drugs/humira", headers=headers)
        assert r.status_code == 200 and r.json()["inn"] == "adalimumab", headers
    r = keyed.post("/v1/assess", json=REGIMEN, headers={"X-API-Key": KEY})
    assert r.status_code == 200 and r.json()["vaccines"][0]["status"] == "contraindicated"


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": "wrong-key-0123456789abcdef"}, {"X-API-Key": KEY[:-1]},
     {"X-API-Key": KEY + "x"}, {"Authorization": "Bearer wrong-key-0123456789abcdef"},
     {"Authorization": f"Basic {KEY}"}],
)  # fmt: skip
def test_a_wrong_key_is_refused_without_echoing_it(
    keyed: TestClient, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        r = keyed.get("/v1/drugs/humira", headers=headers)
    assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]
    sent = next(iter(headers.values())).split()[-1]
    assert sent not in r.text and KEY not in r.text and sent not in caplog.text


def test_pages_docs_and_cds_stay_outside_the_api_keys(keyed: TestClient) -> None:
    pages = ["/", "/drugs/humira", "/classes", "/assess?" + ASSESS_QUERY, "/docs",
             "/openapi.json", "/static/style.css", "/suggest?q=humi", "/cds-services"]  # fmt: skip
    for path in pages:
        assert keyed.get(path).status_code == 200, path
    # CDS Hooks has its own JWT check (off here): no API key asked for.
    r = keyed.post("/cds-services/immunomod-patient-view", json=hook_body(fhir_resources()))
    assert r.status_code == 200 and r.json()["cards"]


def test_with_keys_the_openapi_document_declares_the_header_for_v1_only(
    keyed: TestClient,
) -> None:
    doc = keyed.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key"}  # fmt: skip
    assert doc["paths"]["/v1/assess"]["post"]["security"] == [{"ApiKey": []}]
    assert all("security" not in op for op in doc["paths"]["/cds-services"].values())
    assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})


def test_search_suggestions_work_without_the_api(keyed: TestClient) -> None:
    # The search box's script must not need the key it could never hold.
    assert "/suggest?q=" in Path(security.__file__).with_name("static").joinpath(
        "search.js").read_text()  # fmt: skip
    drugs = keyed.get("/suggest", params={"q": "humi"}).json()["drugs"]
    assert {"id": "adalimumab", "inn": "adalimumab", "matched": "Humira"} in drugs
    assert keyed.get("/suggest", params={"q": "hu"}).json() == {"drugs": []}


def test_without_keys_the_api_is_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMMUNOMOD_API_KEYS", raising=False)
    monkeypatch.delenv("IMMUNOMOD_API_KEYS_FILE", raising=False)
    assert TestClient(create_app(cds_auth=NO_JWT)).get("/v1/drugs/humira").status_code == 200


def test_keys_come_from_the_environment_and_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("IMMUNOMOD_API_KEYS", f" {KEY} ,")
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(f"# rotated 2026-01\n\n{OTHER_KEY}\n", encoding="utf-8")
    monkeypatch.setenv("IMMUNOMOD_API_KEYS_FILE", str(keys_file))
    env_client = TestClient(create_app(cds_auth=NO_JWT))
    assert env_client.get("/v1/kb/stats").status_code == 401
    for key in (KEY, OTHER_KEY):
        assert env_client.get("/v1/kb/stats", headers={"X-API-Key": key}).status_code == 200
    assert (
        env_client.get("/v1/kb/stats", headers={"X-API-Key": "# rotated 2026-01"}).status_code
        == 401
    )
    # An explicit argument wins over the environment (how tests and embedders configure it).
    assert (
        TestClient(create_app(cds_auth=NO_JWT, api_keys=[])).get("/v1/kb/stats").status_code == 200
    )


def test_a_configured_but_unusable_key_file_fails_start_up_instead_of_opening_the_api(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("IMMUNOMOD_API_KEYS", raising=False)
    monkeypatch.setenv("IMMUNOMOD_API_KEYS_FILE", str(tmp_path / "missing.txt"))
    with pytest.raises(UserError, match="IMMUNOMOD_API_KEYS_FILE cannot be read"):
        create_app(cds_auth=NO_JWT)
    (tmp_path / "empty.txt").write_text("# no keys yet\n", encoding="utf-8")
    monkeypatch.setenv("IMMUNOMOD_API_KEYS_FILE", str(tmp_path / "empty.txt"))
    with pytest.raises(UserError, match="holds no key"):
        create_app(cds_auth=NO_JWT)


def test_a_short_key_is_refused_at_start_up_without_printing_it() -> None:
    with pytest.raises(UserError) as info:
        create_app(cds_auth=NO_JWT, api_keys=[KEY, "hunter2"])
    assert "#2" in str(info.value) and "16" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_keys_are_held_as_digests_and_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = security.SecuritySettings.build([KEY, OTHER_KEY])
    assert KEY not in repr(settings) and KEY.encode() not in settings.api_key_digests
    calls: list[tuple[bytes, bytes]] = []
    real = security.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    c = TestClient(create_app(cds_auth=NO_JWT, api_keys=[KEY, OTHER_KEY]))
    assert c.get("/v1/kb/stats", headers={"X-API-Key": KEY}).status_code == 200
    # Every configured key compared (no early exit on the first match), digests of equal length.
    assert len(calls) == 2 and all(len(a) == len(b) == 32 for a, b in calls)


# --- 4. limits -------------------------------------------------------------------------------


def body_of(size: int) -> bytes:
    """A valid /v1/resolve body of exactly ``size`` bytes."""
    shell = b'{"texts": [""]}'
    return b'{"texts": ["' + b"a" * (size - len(shell)) + b'"]}'


@pytest.fixture(scope="module")
def small_cap() -> TestClient:
    return TestClient(create_app(cds_auth=NO_JWT, api_keys=[], max_body_bytes=2_000))


def test_body_at_the_cap_is_read_and_one_byte_over_is_413(small_cap: TestClient) -> None:
    headers = {"content-type": "application/json"}
    ok = small_cap.post("/v1/resolve", content=body_of(2_000), headers=headers)
    assert ok.status_code == 200 and len(ok.json()["results"]) == 1
    r = small_cap.post("/v1/resolve", content=body_of(2_001), headers=headers)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["limit_bytes"] == 2_000 and "2,001 bytes" in problem["detail"]
    assert "2,000 bytes" in problem["detail"] and "Split the batch" in problem["detail"]
    assert r.headers["content-security-policy"] == CSP


def test_a_chunked_body_over_the_cap_is_413_and_never_reaches_the_endpoint(
    small_cap: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from immunomod.interfaces import api

    resolved: list[str] = []
    real = api.resolve
    monkeypatch.setattr(api, "resolve", lambda text: resolved.append(text) or real(text))
    body = body_of(10_000)
    chunks = (body[i : i + 1_000] for i in range(0, len(body), 1_000))
    r = small_cap.post("/v1/resolve", content=chunks,
                       headers={"content-type": "application/json"})  # fmt: skip
    assert "content-length" not in r.request.headers  # no declared size to refuse up front
    assert r.status_code == 413 and "over the limit of 2,000 bytes" in r.json()["detail"]
    assert resolved == []
    under = small_cap.post("/v1/resolve", content=iter([body_of(1_500)]),
                           headers={"content-type": "application/json"})  # fmt: skip
    assert under.status_code == 200


def test_the_body_stops_being_read_once_it_passes_the_cap() -> None:
    # At the ASGI level: 1,000-byte chunks against a 2,000-byte cap. The third chunk passes the
    # cap, so a 413 goes out, the app is told the client left, and no fourth chunk is read.
    pulled: list[int] = []
    sent: list[dict[str, Any]] = []
    app_saw: list[str] = []

    async def receive() -> dict[str, Any]:
        pulled.append(1)
        return {"type": "http.request", "body": b"x" * 1_000, "more_body": True}

    async def send(message: Any) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:  # an app that reads until the body ends or the client goes
            message = await receive()
            app_saw.append(message["type"])
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"too late"})

    settings = security.SecuritySettings.build(max_body_bytes=2_000)
    scope = {"type": "http", "method": "POST", "path": "/v1/resolve", "headers": []}
    run_asgi(security.SecurityMiddleware(app, settings), scope, receive, send)
    assert len(pulled) == 3
    assert app_saw == ["http.request", "http.request", "http.disconnect"]
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]
    assert b"too late" not in b"".join(m.get("body", b"") for m in sent)


def test_the_body_cap_defaults_to_1_mib_and_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IMMUNOMOD_MAX_BODY_BYTES", raising=False)
    assert security.SecuritySettings.from_env().max_body_bytes == 1024 * 1024
    monkeypatch.setenv("IMMUNOMOD_MAX_BODY_BYTES", "3000")
    env_client = TestClient(create_app(cds_auth=NO_JWT, api_keys=[]))
    headers = {"content-type": "application/json"}
    assert (
        env_client.post("/v1/resolve", content=body_of(3_000), headers=headers).status_code == 200
    )
    assert (
        env_client.post("/v1/resolve", content=body_of(3_001), headers=headers).status_code == 413
    )
    monkeypatch.setenv("IMMUNOMOD_MAX_BODY_BYTES", "lots")
    with pytest.raises(UserError, match="whole number of bytes"):
        create_app(cds_auth=NO_JWT, api_keys=[])


def test_cds_hooks_have_their_own_larger_body_cap() -> None:
    capped = TestClient(
        create_app(cds_auth=NO_JWT, api_keys=[], max_body_bytes=2_000, cds_max_body_bytes=60_000)
    )
    body = hook_body(fhir_resources())  # ~8 KB: over the API's cap, under the CDS one
    assert 2_000 < len(json.dumps(body)) < 60_000
    assert capped.post("/cds-services/immunomod-patient-view", json=body).status_code == 200
    big = hook_body(fhir_resources() * 10)
    r = capped.post("/cds-services/immunomod-patient-view", json=big)
    assert r.status_code == 413 and "prefetch" in r.json()["detail"]
    assert "IMMUNOMOD_MAX_CDS_BODY_BYTES" in r.json()["detail"]
    assert security.SecuritySettings.build().cds_max_body_bytes == 8 * 1024 * 1024


def test_resolve_batch_of_1000_texts_works_and_1001_is_413() -> None:
    assert len(client.post("/v1/resolve", json={"texts": ["MTX"] * 1000}).json()["results"]) == 1000
    r = client.post("/v1/resolve", json={"texts": ["MTX"] * 1001})
    assert r.status_code == 413 and "1000" in r.json()["detail"]


def test_resolve_texts_of_10_000_characters_work_and_10_001_is_422_naming_it() -> None:
    assert client.get("/v1/resolve", params={"text": "MTX " + "a" * 9_996}).status_code == 200
    r = client.get("/v1/resolve", params={"text": "a" * 10_001})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"].endswith("text") and "10000" in r.json()["detail"]
    batch = client.post("/v1/resolve", json={"texts": ["MTX", "a" * 10_000]})
    assert batch.status_code == 200 and len(batch.json()["results"]) == 2
    r = client.post("/v1/resolve", json={"texts": ["MTX", "a" * 10_001]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "texts.1"


@pytest.mark.parametrize(
    ("field", "cap", "item"),
    [("medications", 200, {"text": "metformin 500 mg twice daily"}),
     ("planned_vaccines", 50, "influenza"),
     ("in_utero_exposure", 20, {"drug": "infliximab"})],
)  # fmt: skip
def test_regimen_list_caps_answer_422_naming_the_field(field: str, cap: int, item: Any) -> None:
    base = {**REGIMEN, "birth_date": "2026-06-01"}
    at_cap = client.post("/v1/assess", json={**base, field: [item] * cap})
    assert at_cap.status_code == 200, at_cap.text[:300]
    over = client.post("/v1/assess", json={**base, field: [item] * (cap + 1)})
    assert over.status_code == 422
    assert over.headers["content-type"] == "application/problem+json"
    assert over.json()["errors"][0]["field"] == field and str(cap) in over.json()["detail"]


def test_a_vaccine_name_over_200_characters_is_422_naming_it() -> None:
    r = client.post("/v1/assess", json={**REGIMEN, "planned_vaccines": ["MMR", "x" * 201]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "planned_vaccines.1"


def test_fhir_data_at_the_cap_is_assessed_and_over_it_is_a_cannot_assess_card() -> None:
    def observations(n: int) -> list[dict[str, Any]]:
        return [{"resourceType": "Observation", "id": f"o{i}", "status": "final",
                 "code": {"text": "note"}} for i in range(n)]  # fmt: skip

    base = fhir_resources()
    fill = MAX_FHIR_RESOURCES - len(base)
    assert MAX_FHIR_RESOURCES == 5_000
    at_cap = client.post("/cds-services/immunomod-patient-view",
                         json=hook_body([*base, *observations(fill)]))  # fmt: skip
    assert at_cap.json()["cards"][0]["summary"].startswith("Low-level immunosuppression")
    over = client.post("/cds-services/immunomod-patient-view",
                       json=hook_body([*base, *observations(fill + 1)]))  # fmt: skip
    assert over.status_code == 200
    cards = over.json()["cards"]
    assert len(cards) == 1 and cards[0]["summary"].startswith("Cannot assess")
    assert cards[0]["indicator"] == "warning"
    assert "5,001 FHIR resources" in cards[0]["detail"] and "5,000" in cards[0]["detail"]
    assert "absence of warnings" in cards[0]["detail"]  # silence never reads as safe


def test_draft_orders_count_towards_the_fhir_cap() -> None:
    base = fhir_resources()
    draft = {"resourceType": "MedicationRequest", "id": "new", "status": "draft",
             "intent": "order", "subject": {"reference": "Patient/p"},
             "medicationCodeableConcept": {"text": "adalimumab 40 mg every 2 weeks"}}  # fmt: skip
    filler = [{"resourceType": "Observation", "id": f"o{i}", "status": "final"}
              for i in range(MAX_FHIR_RESOURCES - len(base))]  # fmt: skip
    body = hook_body([*base, *filler], hook="order-select")
    body["context"]["draftOrders"] = {"resourceType": "Bundle", "entry": [{"resource": draft}]}
    cards = client.post("/cds-services/immunomod-order", json=body).json()["cards"]
    assert len(cards) == 1 and "too much FHIR data" in cards[0]["summary"]


def test_pages_and_pdf_leaflets_stay_styled_from_the_stylesheet_file() -> None:
    from pypdf import PdfReader

    css = client.get("/static/style.css")
    assert css.status_code == 200 and ".notice" in css.text and "@media print" in css.text
    r = client.get("/drugs/humira/leaflet.pdf")
    reader = PdfReader(io.BytesIO(r.content))
    ops = b"".join(page.get_contents().get_data() for page in reader.pages)
    # style.css's colours in the PDF: body text #1a1a1a and the warning box #fff4e5.
    assert b"0.101961 0.101961 0.101961 rg" in ops and b"1 0.956863 0.898039 rg" in ops
