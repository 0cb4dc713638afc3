"""Contract test: every operation of the OpenAPI document, exercised by Schemathesis with
generated valid and invalid input, answers without a 5xx and as the document says (status
codes, content types, response schemas, Allow headers; invalid input refused)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, event, settings
from schemathesis.config import SchemathesisConfig

from immunomod.interfaces.api import create_app
from immunomod.interop.cds_auth import AuthSettings

# CDS Hooks JWT checks off: the contract is about the operations' shapes; test_cds_auth.py
# tests the checks themselves.
APP = create_app(cds_auth=AuthSettings(required=False))
CONFIG = SchemathesisConfig.from_dict({
    "checks": {
        # Input that fits the schema may still be refused with 422 (documented on each such
        # operation): JSON Schema cannot state the cross-field rules (a medication needs
        # 'text' or 'drug'; 'end' is not before 'start'; a hook call names its service's hook
        # and a context.patientId). 404 is a name the knowledge base does not hold.
        "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "422"]},
    },
})  # fmt: skip
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


@schema.parametrize()
# ~25 examples per operation (positive and negative phases): the whole test stays under ~15 s.
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case: schemathesis.Case) -> None:
    response = case.call_and_validate()
    event(f"status {response.status_code}")
    if response.status_code >= 400:  # every refusal is a problem that says what to fix
        assert response.headers["content-type"][0].startswith("application/problem+json")
        assert response.json()["detail"]
