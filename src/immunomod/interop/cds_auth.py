"""Checking the CDS client's JWT (CDS Hooks 2.0, "Trusting CDS Clients").

The EHR signs a short-lived JWT (RS384 or ES384) whose ``aud`` is the service URL and whose
``iss`` names the client; its public keys come from a JWKS, found through the ``jku`` header
(only URLs on the allowlist) or from a local JWKS file. Configuration, from the environment:

- ``IMMUNOMOD_CDS_AUTH``: ``required`` (default) or ``off`` (development only; ``immunomod
  serve --dev`` sets it).
- ``IMMUNOMOD_CDS_JWKS_FILE``: a JWKS file of trusted keys (all clients).
- ``IMMUNOMOD_CDS_JKU_ALLOWLIST``: comma-separated JWKS URLs that ``jku`` may point to.
- ``IMMUNOMOD_CDS_ISSUERS``: comma-separated issuers accepted (empty: any issuer whose key
  verifies).

Failures say what is wrong with the token, never what it contained.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from immunomod.errors import UserError

ALGORITHMS = ["RS384", "ES384"]
LEEWAY_S = 30  # clock skew between the EHR and us


class CdsAuthError(UserError):
    """The request's JWT is missing or fails a check; maps to HTTP 401."""


@dataclass(frozen=True)
class AuthSettings:
    required: bool = True
    jwks: dict[str, Any] | None = None
    jku_allowlist: tuple[str, ...] = ()
    issuers: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls) -> AuthSettings:
        mode = os.environ.get("IMMUNOMOD_CDS_AUTH", "required").strip().lower()
        if mode not in {"required", "off"}:
            raise UserError(f"IMMUNOMOD_CDS_AUTH='{mode}': use 'required' or 'off'")
        jwks = None
        path = os.environ.get("IMMUNOMOD_CDS_JWKS_FILE")
        if path:
            try:
                jwks = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UserError(f"IMMUNOMOD_CDS_JWKS_FILE cannot be read as JSON: {exc}") from None

        def split(name: str) -> tuple[str, ...]:
            return tuple(x.strip() for x in os.environ.get(name, "").split(",") if x.strip())

        return cls(mode == "required", jwks, split("IMMUNOMOD_CDS_JKU_ALLOWLIST"),
                   split("IMMUNOMOD_CDS_ISSUERS"))  # fmt: skip


def verify(authorization: str | None, audience: str, settings: AuthSettings) -> dict[str, Any]:
    """The verified claims of ``Authorization: Bearer <jwt>``; raise :class:`CdsAuthError`."""
    if not settings.required:
        return {}
    if not authorization or not authorization.lower().startswith("bearer "):
        raise CdsAuthError("missing 'Authorization: Bearer <JWT>' from the CDS client")
    token = authorization[7:].strip()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise CdsAuthError("the bearer token is not a JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise CdsAuthError(
            f"JWT algorithm '{header.get('alg')}' is not accepted; use RS384 or ES384"
        )
    key = _key(header, settings)
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=ALGORITHMS, audience=audience, leeway=LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )  # fmt: skip
    except jwt.ExpiredSignatureError:
        raise CdsAuthError("the JWT has expired") from None
    except jwt.InvalidAudienceError:
        raise CdsAuthError(f"the JWT audience is not this service ({audience})") from None
    except jwt.MissingRequiredClaimError as exc:
        raise CdsAuthError(f"the JWT lacks the '{exc.claim}' claim") from None
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"the JWT does not verify ({type(exc).__name__})") from None
    if settings.issuers and claims.get("iss") not in settings.issuers:
        raise CdsAuthError("the JWT issuer is not on this service's list of CDS clients")
    return claims


def _key(header: dict[str, Any], settings: AuthSettings) -> Any:
    jku = header.get("jku")
    kid = header.get("kid")
    if jku:
        if jku not in settings.jku_allowlist:
            raise CdsAuthError(
                "the JWT's 'jku' is not on the allowlist (IMMUNOMOD_CDS_JKU_ALLOWLIST)"
            )
        if not kid:
            raise CdsAuthError("a JWT with 'jku' must name its key with 'kid'")
        try:
            return jwt.PyJWKClient(jku, timeout=5).get_signing_key(kid).key
        except jwt.PyJWTError as exc:
            raise CdsAuthError(
                f"no usable key at the allowed 'jku' ({type(exc).__name__})"
            ) from None
    if settings.jwks is None:
        raise CdsAuthError(
            "no trusted keys configured: set IMMUNOMOD_CDS_JWKS_FILE or IMMUNOMOD_CDS_JKU_ALLOWLIST"
        )
    try:
        keys = jwt.PyJWKSet.from_dict(settings.jwks).keys
    except jwt.PyJWTError:
        raise CdsAuthError("the configured JWKS file holds no usable keys") from None
    if kid is None:
        if len(keys) == 1:
            return keys[0].key
        raise CdsAuthError("the JWT has no 'kid' header and several keys are trusted")
    for k in keys:
        if k.key_id == kid:
            return k.key
    raise CdsAuthError("the JWT's 'kid' matches no trusted key")


__all__ = ["AuthSettings", "CdsAuthError", "verify"]
