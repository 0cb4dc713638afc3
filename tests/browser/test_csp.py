"""The Content-Security-Policy in a real browser: the pages run without a single violation, the
policy does block what it should, and hostile input never runs as script.

tests/functional/test_security.py checks the headers and the raw HTML; this checks what
Chromium actually does with them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest

pytestmark = pytest.mark.browser

# Installed before any page script (through DevTools, which the page's CSP does not govern), so
# every violation on every page is seen.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def violations(page: Any) -> Callable[[], list[str]]:
    """Everything the browser refused so far on the current page, from the DOM event and the
    console (the console keeps messages across navigations too)."""
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security" in m.text else None)
    page.add_init_script(WATCH)

    def collect() -> list[str]:
        found = list(page.evaluate("window.__csp || []")) + console[:]
        console.clear()
        return found

    return collect


def test_home_drug_assess_and_classes_pages_run_without_csp_violations(
    page: Any, base_url: str, violations: Callable[[], list[str]]
) -> None:
    seen: dict[str, list[str]] = {}

    page.goto(base_url + "/")
    # Typing runs search.js, which fetches suggestions (script-src and connect-src).
    page.get_by_label("Medicine name, brand or ATC code").press_sequentially("humi")
    page.locator("#suggestions option").first.wait_for(state="attached")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/?q=humi")
    seen["home"] = violations()

    page.goto(base_url + "/drugs/humira")
    assert page.locator("h1").inner_text() == "adalimumab"
    # The stylesheet applied: the file's colours, not the browser's defaults.
    assert page.locator("strong.direction-suppress").evaluate(
        "e => getComputedStyle(e).color") == "rgb(11, 83, 148)"  # fmt: skip
    page.get_by_role("link", name="Clinician view").click()
    seen["drug"] = violations()

    page.goto(base_url + "/assess")
    page.get_by_label("Medicines, one per line", exact=False).fill("MTX 15mg weekly")
    page.get_by_label("Weight (kg)").fill("70")
    page.get_by_label("Date").fill("2026-11-25")
    page.get_by_role("button", name="Check").click()
    assert "Immunosuppression" in page.locator("h2#level").inner_text()
    seen["assess"] = violations()

    for path in ["/classes", "/conditions/rheumatoid%20arthritis", "/drugs/metotrexate"]:
        page.goto(base_url + path)
        seen[path] = violations()

    assert seen == {key: [] for key in seen}


def test_the_policy_is_enforced_and_violations_are_seen(
    page: Any, base_url: str, violations: Callable[[], list[str]]
) -> None:
    # The control for the test above: an injected inline script is refused and reported.
    page.goto(base_url + "/")
    ran = page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.__ran = true";
        document.body.append(s);
        return window.__ran === true;
    }""")
    assert ran is False
    page.wait_for_function("window.__csp.length > 0")
    assert any("script-src" in v for v in violations())


def test_docs_page_runs_its_startup_file_under_its_own_csp(
    page: Any, base_url: str, violations: Callable[[], list[str]]
) -> None:
    # This machine is offline: a stand-in for the CDN's Swagger UI, served from the CDN's URL,
    # shows that /docs' CSP lets that origin and /static/docs.js run, with nothing inline.
    stub = """
      window.SwaggerUIBundle = function (config) {
        document.querySelector(config.dom_id).textContent = "swagger:" + config.url;
      };
      window.SwaggerUIBundle.presets = { apis: {} };
    """

    def cdn(route: Any) -> None:
        is_js = route.request.url.endswith(".js")
        route.fulfill(status=200, body=stub if is_js else "body { margin: 0 }",
                      content_type="text/javascript" if is_js else "text/css")  # fmt: skip

    page.route("https://cdn.jsdelivr.net/**", cdn)
    page.goto(base_url + "/docs")
    page.wait_for_function("document.getElementById('swagger-ui').textContent.length > 0")
    assert page.locator("#swagger-ui").inner_text() == "swagger:/openapi.json"
    assert violations() == []


SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = [SCRIPT, IMG, "javascript:alert(1)", "{{7*7}}", "'-alert(1)-'"]


def test_hostile_input_never_opens_a_dialog(page: Any, base_url: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(base_url + "/")
    page.evaluate("() => alert('control')")  # the listener does see a dialog when one fires
    assert dialogs == ["control"]
    dialogs.clear()

    for hostile in HOSTILE:
        segment = quote(hostile.replace("/", ""), safe="")
        note = f"prednisone 20 mg daily since 2026-10-01\nMTX 15mg weekly, note: {hostile}"
        query = urlencode({"meds": note, "vaccines": hostile, "weight": hostile})
        for path in ["/?" + urlencode({"q": hostile}), "/drugs/" + segment,
                     "/conditions/" + segment, "/assess?" + query]:  # fmt: skip
            page.goto(base_url + path)
            page.wait_for_load_state("load")
        # Typed into the search box: suggestions are built with DOM calls, never as HTML.
        page.goto(base_url + "/")
        page.get_by_label("Medicine name, brand or ATC code").press_sequentially(hostile)
        page.get_by_role("button", name="Search").click()
        page.wait_for_load_state("load")
        assert hostile in page.locator("h2").inner_text()  # shown as text, as typed
    page.goto(base_url + "/drugs/" + quote(SCRIPT.replace("/", ""), safe=""))
    assert "<script>alert(1)<script>" in page.locator("h1").inner_text()
    assert dialogs == []
