"""Security headers, optional API keys and request-body caps: one small pure-ASGI middleware.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: that one buffers streamed responses
and runs the app in another task, while this one only rewrites the ``http.response.start``
message and counts request-body bytes as they arrive, so the body cap is enforced before
FastAPI parses (or even reads) an oversized body.

What it does to every HTTP exchange:

- **Headers.** A strict Content-Security-Policy and the usual hardening headers on every
  response, whatever produced it (pages, JSON, problem+json, static files, PDFs, errors), and
  ``Cache-Control: no-store`` on the paths whose requests or answers carry patient data.
- **API keys (optional).** When keys are configured, every ``/v1`` request must carry one in
  ``X-API-Key`` or ``Authorization: Bearer``; otherwise 401 problem+json naming the header.
  The HTML pages and ``/cds-services`` (which checks the EHR's JWT itself) stay outside.
- **Body cap.** A declared ``Content-Length`` over the cap is refused at once; a chunked or
  longer-than-declared body is refused as soon as the running total passes the cap. Both are
  413 problem+json stating the limit and what to do.

Configuration (read once when the app is created; see :meth:`SecuritySettings.from_env`):

- ``IMMUNOMOD_API_KEYS``: comma-separated keys; ``IMMUNOMOD_API_KEYS_FILE``: a file with one
  key per line (blank lines and ``#`` comments ignored). Both may be set; the keys add up.
- ``IMMUNOMOD_MAX_BODY_BYTES`` (default 1 MiB) and ``IMMUNOMOD_MAX_CDS_BODY_BYTES`` (default
  8 MiB, for CDS Hooks calls, whose FHIR prefetch is legitimately larger than any API call).

Keys are kept only as SHA-256 digests and are never logged or echoed in an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from immunomod.deadline import DEADLINE, OutOfTime
from immunomod.errors import UserError

if TYPE_CHECKING:
    from fastapi import FastAPI

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIB = 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 1 * MIB
# A CDS Hooks prefetch is a patient's FHIR bundles: about 1 KB per MedicationRequest, so the
# 5,000-entry cap in cds_hooks.py needs ~5 MB. Every other call fits in far less than 1 MiB
# (1000 texts for /v1/resolve, 200 medications for /v1/assess).
DEFAULT_MAX_CDS_BODY_BYTES = 8 * MIB
#: Seconds a request may take before it is answered 503; the slowest legitimate calls (1,000
#: texts to /v1/resolve, a leaflet PDF) take a few seconds on 2 cores.
DEFAULT_REQUEST_TIMEOUT_S = 30.0
MIN_KEY_LENGTH = 16  # shorter keys are guessable; refuse them at start-up rather than run weak

# The site's own policy: everything from this origin only, no inline script or style, nothing
# may frame the pages, forms post only here. img-src allows data: for the browser's own form
# controls and any inline SVG icon in CSS; no page puts user input in an image URL.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# /docs only: Swagger UI comes from the jsDelivr CDN (FastAPI's default). Its start-up code is
# our own file (/static/docs.js), so the relaxation is one extra script and style origin, still
# no 'unsafe-inline' and no 'unsafe-eval'; the page renders no user input.
SWAGGER_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = CSP.replace("script-src 'self'", f"script-src 'self' {SWAGGER_CDN}").replace(
    "style-src 'self'", f"style-src 'self' {SWAGGER_CDN}"
)
DOCS_PATH = "/docs"
HEADERS: tuple[tuple[str, str], ...] = (
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
)
# Requests or answers that carry a patient's medicines: never stored by a browser or proxy.
NO_STORE_PATHS = ("/v1/assess", "/v1/resolve", "/assess")
CDS_PREFIX = "/cds-services/"  # the hook calls and feedback; discovery (/cds-services) is public
API_PREFIX = "/v1"
API_KEY_HEADER = "X-API-Key"


@dataclass(frozen=True)
class SecuritySettings:
    """What the middleware enforces. ``api_key_digests`` empty: the API is open."""

    api_key_digests: tuple[bytes, ...] = field(default=(), repr=False)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cds_max_body_bytes: int = DEFAULT_MAX_CDS_BODY_BYTES
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S

    @classmethod
    def build(
        cls,
        api_keys: Iterable[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        cds_max_body_bytes: int = DEFAULT_MAX_CDS_BODY_BYTES,
    ) -> SecuritySettings:
        keys = [k.strip() for k in api_keys if k.strip()]
        for i, key in enumerate(keys, 1):
            if len(key) < MIN_KEY_LENGTH:
                # The position, never the key itself: start-up errors end up in logs.
                raise UserError(
                    f"API key #{i} has {len(key)} characters; use at least {MIN_KEY_LENGTH} "
                    "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
                )
        for name, value in (("max_body_bytes", max_body_bytes),
                            ("cds_max_body_bytes", cds_max_body_bytes)):  # fmt: skip
            if value < 1:
                raise UserError(f"{name} must be a positive number of bytes, not {value}")
        return cls(tuple(_digest(k) for k in keys), max_body_bytes, cds_max_body_bytes)

    @classmethod
    def from_env(
        cls,
        api_keys: Iterable[str] | None = None,
        max_body_bytes: int | None = None,
        cds_max_body_bytes: int | None = None,
    ) -> SecuritySettings:
        """Settings from the environment; an argument that is not ``None`` wins over it."""
        return cls.build(
            api_keys if api_keys is not None else api_keys_from_env(),
            max_body_bytes if max_body_bytes is not None
            else _bytes_from_env("IMMUNOMOD_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            cds_max_body_bytes if cds_max_body_bytes is not None
            else _bytes_from_env("IMMUNOMOD_MAX_CDS_BODY_BYTES", DEFAULT_MAX_CDS_BODY_BYTES),
        )  # fmt: skip


def api_keys_from_env() -> list[str]:
    """``IMMUNOMOD_API_KEYS`` (comma-separated) plus ``IMMUNOMOD_API_KEYS_FILE`` (one a line)."""
    keys = [k for k in os.environ.get("IMMUNOMOD_API_KEYS", "").split(",") if k.strip()]
    path = os.environ.get("IMMUNOMOD_API_KEYS_FILE", "").strip()
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            # Fail closed: a configured but unreadable key file must not leave the API open.
            raise UserError(
                f"IMMUNOMOD_API_KEYS_FILE cannot be read ({type(exc).__name__}): {path}"
            ) from None
        file_keys = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        if not file_keys:
            raise UserError(f"IMMUNOMOD_API_KEYS_FILE holds no key (one per line): {path}")
        keys += file_keys
    return keys


def _bytes_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise UserError(f"{name}='{raw}': give a whole number of bytes (e.g. 1048576)") from None
    if value < 1:
        raise UserError(f"{name}='{raw}': give a positive number of bytes")
    return value


def _digest(key: str) -> bytes:
    # Comparing fixed-length digests keeps the comparison constant-time even when the lengths
    # of the sent and the configured key differ (compare_digest leaks length otherwise).
    return hashlib.sha256(key.encode("utf-8")).digest()


def _human(n: int) -> str:
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n:,} bytes"


class SecurityMiddleware:
    """The ASGI middleware; ``create_app`` adds it with :class:`SecuritySettings`."""

    def __init__(self, app: ASGIApp, settings: SecuritySettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _path(scope)
        exchange = _Exchange(send, _response_headers(path))
        if self.settings.api_key_digests and _under(path, API_PREFIX):
            refusal = self._check_key(scope)
            if refusal is not None:
                await exchange.problem(401, *refusal)
                return
        cds = path.startswith(CDS_PREFIX)
        limit = self.settings.cds_max_body_bytes if cds else self.settings.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            # Refused on the header alone: the body is never read.
            await exchange.problem(413, *_too_large(limit, declared, cds))
            return

        seen = 0

        async def capped_receive() -> Message:
            nonlocal seen
            if exchange.rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if not exchange.started:
                        await exchange.problem(413, *_too_large(limit, None, cds))
                    # The app sees a client that went away: it stops reading, and whatever it
                    # answers is dropped (the 413 has been sent).
                    exchange.rejected = True
                    return {"type": "http.disconnect"}
            return message

        DEADLINE.set(time.monotonic() + self.settings.request_timeout_s)
        try:
            await asyncio.wait_for(
                self.app(scope, capped_receive, exchange.send), self.settings.request_timeout_s
            )
        except (TimeoutError, OutOfTime):
            # The client gets an answer now. Work already running in a worker thread cannot
            # be interrupted in Python: loops that call check_time() stop at their next item,
            # anything else finishes in the background and its answer is dropped.
            if not exchange.started:
                await exchange.problem(
                    503, "Request took too long",
                    f"The request took more than {self.settings.request_timeout_s:g} s and was "
                    "stopped. Send fewer or shorter texts (split a batch into smaller ones) and "
                    "try again.",
                )  # fmt: skip
            exchange.rejected = True
        except Exception:
            if not exchange.started:
                # Starlette's error page is sent outside this middleware and would miss the
                # headers; answer here (with them) and re-raise so the error is still logged.
                await exchange.problem(
                    500, "Internal error", "The server failed to answer this request. It has "
                    "been logged (without the request's content); try again later.",
                )  # fmt: skip
            raise

    def _check_key(self, scope: Scope) -> tuple[str, str, dict[str, Any]] | None:
        sent: str | None = None
        for name, value in scope.get("headers", []):
            if name == b"x-api-key":
                sent = value.decode("latin-1").strip()
                break
            if name == b"authorization":
                text = value.decode("latin-1").strip()
                if text[:7].lower() == "bearer ":
                    sent = text[7:].strip()
        fix = (f"send the header '{API_KEY_HEADER}: <your key>' "
               "(or 'Authorization: Bearer <your key>') with every /v1 request")  # fmt: skip
        extra = {"header": API_KEY_HEADER}
        if not sent:
            return "API key required", f"This API needs a key: {fix}.", extra
        digest = _digest(sent)
        # Every configured key is compared (no early exit), so timing does not tell which one
        # or how many were tried.
        ok = False
        for known in self.settings.api_key_digests:
            ok |= hmac.compare_digest(digest, known)
        if ok:
            return None
        return "API key not accepted", f"The key sent is not one this server accepts: {fix}.", extra


class _Exchange:
    """One request's response side: adds the headers, can answer a problem itself, and drops
    whatever the app sends once it has."""

    def __init__(self, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        self._send = send
        self._headers = headers
        self.started = False
        self.rejected = False

    async def send(self, message: Message) -> None:
        if self.rejected:
            return
        if message["type"] == "http.response.start":
            self.started = True
            ours = {name for name, _ in self._headers}
            kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in ours]
            message = {**message, "headers": kept + self._headers}
        await self._send(message)

    async def problem(
        self, status: int, title: str, detail: str, extra: dict[str, Any] | None = None
    ) -> None:
        body = json.dumps(
            {
                "type": "about:blank",
                "title": title,
                "status": status,
                "detail": detail,
                **(extra or {}),
            }
        ).encode()
        headers = [(b"content-type", b"application/problem+json"),
                   (b"content-length", str(len(body)).encode()),
                   (b"cache-control", b"no-store")]  # fmt: skip
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="immunomod API"'))
        if status == 413:
            headers.append((b"connection", b"close"))  # the rest of the body is not read
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})
        self.rejected = True


def declare_api_key(app: FastAPI) -> None:
    """Say in the OpenAPI document that /v1 needs ``X-API-Key``, so /docs offers "Authorize"
    and "Try it out" sends the key (called only when keys are configured)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema  # built once, like FastAPI's own
        schema = build()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["ApiKey"] = {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
        for path, operations in schema.get("paths", {}).items():
            if _under(path, API_PREFIX):
                for operation in operations.values():
                    operation["security"] = [{"ApiKey": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def _path(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _response_headers(path: str) -> list[tuple[bytes, bytes]]:
    csp = DOCS_CSP if path == DOCS_PATH else CSP
    out = [(b"content-security-policy", csp.encode())]
    out += [(n.encode(), v.encode()) for n, v in HEADERS]
    if any(_under(path, p) for p in NO_STORE_PATHS) or path.startswith(CDS_PREFIX):
        out.append((b"cache-control", b"no-store"))
    return out


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # malformed: the server rejects it; counting still applies
    return None


def _too_large(limit: int, declared: int | None, cds: bool) -> tuple[str, str, dict[str, Any]]:
    size = f"{declared:,} bytes, over" if declared is not None else "over"
    limit_text = f"{limit:,} bytes" + (f" ({_human(limit)})" if limit >= 1024 else "")
    if cds:
        fix = ("Send a smaller prefetch (only the patient's active medications, statements and "
               "latest weight), or let the service query fhirServer instead")  # fmt: skip
        setting = "IMMUNOMOD_MAX_CDS_BODY_BYTES"
    else:
        fix = ("Split the batch into smaller requests (e.g. fewer texts per POST /v1/resolve) "
               "and send them one after another")  # fmt: skip
        setting = "IMMUNOMOD_MAX_BODY_BYTES"
    detail = (f"The request body is {size} the limit of {limit_text}. {fix}. The server's "
              f"operator sets this limit ({setting}).")  # fmt: skip
    return "Request body too large", detail, {"limit_bytes": limit}


__all__ = [
    "API_KEY_HEADER",
    "CSP",
    "DOCS_CSP",
    "SecurityMiddleware",
    "SecuritySettings",
    "api_keys_from_env",
    "declare_api_key",
]
