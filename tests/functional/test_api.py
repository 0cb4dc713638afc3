"""REST API and web pages through FastAPI's test client (the same app `immunomod serve` runs)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from immunomod.interfaces.api import app

client = TestClient(app)


def test_drug_by_any_name_with_etag_and_304() -> None:
    r = client.get("/v1/drugs/humira")
    assert r.status_code == 200
    body = r.json()
    assert (body["inn"], body["direction"], body["type"]["id"]) == (
        "adalimumab",
        "suppress",
        "tnf-inhibitor",
    )
    assert r.headers["cache-control"].startswith("public")
    again = client.get("/v1/drugs/humira", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_unknown_drug_is_problem_json_with_suggestions() -> None:
    r = client.get("/v1/drugs/metotrexate")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["suggestions"] == ["methotrexate"]
    assert r.json()["title"] == "Unknown drug"


@pytest.mark.parametrize(
    ("params", "expect"),
    [({"q": "adali"}, "adalimumab"), ({"class": "jak-inhibitor"}, "tofacitinib"),
     ({"condition": "rheumatoid arthritis"}, "methotrexate")],
)  # fmt: skip
def test_search_class_and_condition(params: dict[str, str], expect: str) -> None:
    r = client.get("/v1/drugs", params=params)
    assert r.status_code == 200
    assert expect in {d["id"] for d in r.json()["drugs"]}


def test_resolve_one_and_many() -> None:
    one = client.get("/v1/resolve", params={"text": "MTX 15mg weekly"}).json()
    assert one["matches"][0]["ingredient"] == "methotrexate"
    many = client.post("/v1/resolve", json={"texts": ["Humira", "metformin", ""]}).json()
    assert [r["error"] is None for r in many["results"]] == [True, True, False]


def test_resolve_batch_limit() -> None:
    r = client.post("/v1/resolve", json={"texts": ["x"] * 1001})
    assert r.status_code == 413 and "1000" in r.json()["detail"]


def test_assess_and_its_field_errors() -> None:
    ok = client.post("/v1/assess", json={
        "as_of": "2026-11-25", "patient": {"weight_kg": 70},
        "medications": [{"text": "prednisone 20 mg daily", "start": "2026-10-01"}],
        "planned_vaccines": ["MMR"],
    })  # fmt: skip
    assert ok.status_code == 200
    assert ok.json()["vaccines"][0]["status"] == "contraindicated"
    bad = client.post("/v1/assess", json={"as_of": "not a date", "medications": [{}]})
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert "as_of" in fields and any(f.startswith("medications.0") for f in fields)


def test_explain_rule_and_stats() -> None:
    assert client.get("/v1/rules/idsa-steroid").json()["threshold"]["value"] == 20
    stats = client.get("/v1/kb/stats").json()
    assert stats["facts"] == stats["facts_with_source"]


def test_openapi_document_lists_the_v1_paths() -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/drugs/{name}", "/v1/resolve", "/v1/assess", "/v1/rules/{rule_id}"} <= set(paths)


def test_drug_page_patient_and_clinician_views() -> None:
    page = client.get("/drugs/humira")
    assert page.status_code == 200 and "<h1>adalimumab</h1>" in page.text
    for heading in ["What it is", "How it works", "What it treats", "How it is given",
                    "Common side effects", "Serious risks", "Tests before and during",
                    "Vaccines", "Pregnancy", "Sources"]:  # fmt: skip
        assert heading in page.text, heading
    clinician = client.get("/drugs/humira?view=clinician").text
    assert "L04AB04" in clinician and "L04AB04" not in page.text


def test_misspelt_page_suggests() -> None:
    page = client.get("/drugs/metotrexate")
    assert page.status_code == 404 and "/drugs/methotrexate" in page.text


def test_home_search_escapes_hostile_input() -> None:
    page = client.get("/", params={"q": "<script>alert(1)</script>"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


def test_regimen_form_returns_a_cited_result_and_a_reproducible_link() -> None:
    params = {
        "meds": "prednisone 20 mg daily since 2026-10-01\nMTX 15mg weekly",
        "weight": "70", "vaccines": "MMR, Shingrix", "as_of": "2026-11-25",
    }  # fmt: skip
    page = client.get("/assess", params=params)
    assert page.status_code == 200
    assert "Immunosuppression: high" in page.text
    assert "idsa-steroid" in page.text and "idsa-2013" in page.text
    assert "contraindicated" in page.text
    assert "/assess?meds=" in page.text  # the link that reproduces this check


def test_regimen_form_bad_number_is_a_readable_error() -> None:
    page = client.get("/assess", params={"meds": "prednisone 5 mg", "weight": "heavy"})
    assert page.status_code == 200 and "must be numbers" in page.text


def test_class_browser_and_condition_page() -> None:
    classes = client.get("/classes").text
    assert "Calm the immune system" in classes and "/drugs/adalimumab" in classes
    cond = client.get("/conditions/RA")
    assert cond.status_code == 200 and "/drugs/methotrexate" in cond.text
    assert client.get("/conditions/xyzzy").status_code == 404


def test_leaflet_pdf_has_the_drug_name() -> None:
    import io

    from pypdf import PdfReader

    r = client.get("/drugs/humira/leaflet.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "adalimumab" in text and "Sources" in text


def test_regimen_leaflet_pdf_carries_the_result_and_citations() -> None:
    import io

    from pypdf import PdfReader

    query = {"meds": "prednisone 30 mg daily since 2026-09-01\nMTX 15mg weekly", "vaccines": "MMR"}
    page = client.get("/assess", params={**query, "as_of": "2026-11-25"})
    assert 'id="regimen-leaflet"' in page.text
    r = client.get("/assess/leaflet.pdf", params={**query, "as_of": "2026-11-25"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    squashed = " ".join(text.split())
    assert "Immunosuppression: high" in squashed  # IDSA 2013: ≥ 20 mg/day for ≥ 14 days
    assert "MMR" in squashed and "idsa-2013" in squashed
    assert "Check a regimen" not in squashed  # the form is left off the printout


def test_regimen_leaflet_without_medicines_is_a_problem_not_an_empty_pdf() -> None:
    r = client.get("/assess/leaflet.pdf")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert "meds" in r.json()["detail"]
