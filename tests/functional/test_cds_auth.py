"""CDS Hooks calls must carry a valid JWT from a trusted client (on unless configured off)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from immunomod.interfaces.api import create_app
from immunomod.interop.cds_auth import AuthSettings

URL = "http://testserver/cds-services/immunomod-patient-view"
EC_KEY = ec.generate_private_key(ec.SECP384R1())
OTHER_KEY = ec.generate_private_key(ec.SECP384R1())


def jwks(private: Any, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    return {"keys": [{**jwk, "kid": kid, "alg": "ES384", "use": "sig"}]}


SETTINGS = AuthSettings(required=True, jwks=jwks(EC_KEY, "ehr-1"), issuers=("https://ehr.example",))
client = TestClient(create_app(cds_auth=SETTINGS))
BODY = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "prefetch": {"patient": {"resourceType": "Patient", "id": "p1"},
                     "medications": None, "statements": None, "weight": None}}  # fmt: skip


def token(key: Any = EC_KEY, alg: str = "ES384", kid: str = "ehr-1", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": "https://ehr.example", "aud": URL, "exp": now + 300, "iat": now,
               "jti": str(uuid.uuid4()), **claims}  # fmt: skip
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def post(auth: str | None) -> Any:
    headers = {"Authorization": auth} if auth else {}
    return client.post("/cds-services/immunomod-patient-view", json=BODY, headers=headers)


def test_a_valid_es384_token_is_accepted() -> None:
    r = post(f"Bearer {token()}")
    assert r.status_code == 200, r.text
    assert r.json()["cards"]  # an empty regimen still gets the "none found" summary


@pytest.mark.parametrize(
    ("auth", "words"),
    [
        (None, "missing"),
        ("Bearer not-a-jwt", "not a JWT"),
        (f"Bearer {token(exp=int(time.time()) - 3600)}", "expired"),
        (f"Bearer {token(aud='https://elsewhere.example/cds-services/x')}", "audience"),
        (f"Bearer {token(key=OTHER_KEY)}", "does not verify"),
        (f"Bearer {token(kid='unknown')}", "kid"),
        (f"Bearer {token(iss='https://rogue.example')}", "issuer"),
        (f"Bearer {jwt.encode({'iss': 'x', 'aud': URL}, 's' * 48, algorithm='HS256')}",
         "algorithm"),
    ],
)  # fmt: skip
def test_bad_tokens_are_refused_with_401(auth: str | None, words: str) -> None:
    r = post(auth)
    assert r.status_code == 401 and words in r.json()["detail"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_rs384_is_accepted_too() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    settings = AuthSettings(required=True, jwks={"keys": [{**jwk, "kid": "rsa-1"}]})
    rsa_client = TestClient(create_app(cds_auth=settings))
    auth = {"Authorization": f"Bearer {token(rsa_key, 'RS384', 'rsa-1')}"}
    r = rsa_client.post("/cds-services/immunomod-patient-view", json=BODY, headers=auth)
    assert r.status_code == 200, r.text


def test_a_jku_outside_the_allowlist_is_refused() -> None:
    now = int(time.time())
    t = jwt.encode({"iss": "https://ehr.example", "aud": URL, "exp": now + 60, "iat": now,
                    "jti": "j"}, EC_KEY, algorithm="ES384",
                   headers={"kid": "ehr-1", "jku": "https://attacker.example/jwks"})  # fmt: skip
    r = post(f"Bearer {t}")
    assert r.status_code == 401 and "allowlist" in r.json()["detail"]


def test_discovery_needs_no_token() -> None:
    assert client.get("/cds-services").status_code == 200
