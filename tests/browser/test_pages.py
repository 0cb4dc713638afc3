"""The web pages in a real browser (Debian's Chromium through Playwright), with axe-core checks.

Screenshots of every page tested are saved in artifacts/screenshots/.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

SECTIONS = ["What it is", "How it works", "What it treats", "How it is given",
            "Common side effects", "Serious risks", "Tests before and during treatment",
            "Vaccines", "Pregnancy and breastfeeding", "Sources"]  # fmt: skip


def test_search_humira_leads_to_adalimumab_with_all_sections(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Medicine name, brand or ATC code").fill("humira")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="adalimumab").click()
    assert page.locator("h1").inner_text() == "adalimumab"
    for heading in SECTIONS:
        assert page.get_by_role("heading", name=heading).count() == 1, heading


def test_search_and_drug_page_work_from_the_keyboard_alone(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    for _ in range(10):  # Tab through the header links to the search box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q", "search box not reachable by Tab"
    page.keyboard.type("humira")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=humira")
    for _ in range(30):  # on to the result link
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "adalimumab":
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**/drugs/adalimumab")
    assert page.locator("h1").inner_text() == "adalimumab"


def test_typing_offers_suggestions_including_brands(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Medicine name, brand or ATC code").press_sequentially("humi")
    options = page.locator("#suggestions option")
    options.first.wait_for(state="attached")
    assert "adalimumab" in [options.nth(i).get_attribute("value") for i in range(options.count())]


def test_misspelt_search_gets_suggestions(page: Any, base_url: str) -> None:
    page.goto(base_url + "/?q=metotrexate")
    assert page.get_by_role("link", name="methotrexate").count() >= 1


def test_patient_clinician_toggle(page: Any, base_url: str) -> None:
    page.goto(base_url + "/drugs/humira")
    assert "L04AB04" not in page.content()
    page.get_by_role("link", name="Clinician view").click()
    assert "L04AB04" in page.content()
    page.get_by_role("link", name="Patient view").click()
    assert "L04AB04" not in page.content()


def test_regimen_form_returns_result_with_citations(page: Any, base_url: str) -> None:
    page.goto(base_url + "/assess")
    page.get_by_label("Medicines, one per line", exact=False).fill(
        "prednisone 20 mg daily since 2026-10-01\nHumira 40mg eow"
    )
    page.get_by_label("Weight (kg)").fill("70")
    page.get_by_label("Planned vaccines (comma-separated)").fill("MMR, Shingrix")
    page.get_by_label("Date").fill("2026-11-25")
    page.get_by_role("button", name="Check").click()
    assert "Immunosuppression: high" in page.locator("h2#level").inner_text()
    assert "idsa-2013" in page.content()
    assert page.get_by_role("link", name="Link to this check").count() == 1
    # The printable result is the same check as a PDF.
    from pypdf import PdfReader

    with page.expect_download() as info:
        page.get_by_role("link", name="Printable result (PDF)").click()
    data = Path(info.value.path()).read_bytes()
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages)
    assert "Immunosuppression: high" in text and "adalimumab" in text


def test_leaflet_pdf_downloads_with_the_drug_name(page: Any, base_url: str) -> None:
    from pypdf import PdfReader

    page.goto(base_url + "/drugs/humira")
    with page.expect_download() as info:
        page.get_by_role("link", name="Printable leaflet (PDF)").click()
    data = Path(info.value.path()).read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "adalimumab" in text


@pytest.mark.parametrize(
    "path", ["/", "/?q=humira", "/drugs/humira", "/drugs/humira?view=clinician", "/classes",
             "/conditions/rheumatoid%20arthritis", "/?q=metotrexate", "/assess",
             "/assess?meds=MTX+15mg+weekly&weight=70&vaccines=MMR&as_of=2026-11-25"],
)  # fmt: skip
def test_no_serious_or_critical_accessibility_violations(
    page: Any, base_url: str, path: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page.goto(base_url + path)
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert bad == [], [(v["id"], v["help"], len(v["nodes"])) for v in bad]
