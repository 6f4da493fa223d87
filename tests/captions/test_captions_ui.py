"""The proposal page shows, on hover of a summary term, the words of the abstract behind it
(the service on loopback, the REST field, and a real headless Chromium)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest

from paperclip.config import Settings, get_settings
from paperclip.db import session_scope
from paperclip.schema import Proposal
from tests.app.conftest import start_server
from training.captions.run import run_captions

CHROMIUM = "/usr/bin/chromium"
ABSTRACT = (
    "Transient water vapor plumes have been reported above the south polar region of Europa. We will image "
    "Europa in far-ultraviolet light while it transits Jupiter, to search for plumes in absorption and to "
    "measure changes in their frequency; the signal-to-noise ratio (SNR) of each image is 10."
)


@pytest.fixture
def proposal_page(env, db_url):
    with session_scope(db_url) as s:
        p = Proposal(collection="HST", proposal_id="77777", title="Plumes of Europa", abstract=ABSTRACT)
        s.add(p)
        s.flush()
        pk = p.id
    assert run_captions("extract", progress=False).generated == 1
    from app.main import create_app

    get_settings.cache_clear()
    url, stop = start_server(create_app(Settings()))
    yield f"{url}/proposals/{pk}", f"{url}/api/v1/proposals/{pk}"
    stop()


def test_summary_terms_carry_their_evidence(proposal_page):
    page_url, api_url = proposal_page
    detail = httpx.get(api_url, timeout=60).json()
    assert detail["summary"] == "planetary moons; volcanism and plume activity"
    assert detail["summary_evidence"] == {
        "planetary moons": "Europa",
        "volcanism and plume activity": "water vapor plumes",
    }
    page = httpx.get(page_url, timeout=60).text
    spans = re.findall(r'<span class="term"[^>]*title="([^"]*)">([^<]*)</span>', page)
    assert [(term, html.unescape(title)) for title, term in spans] == [
        ("planetary moons", 'From the proposal: "Europa"'),
        ("volcanism and plume activity", 'From the proposal: "water vapor plumes"'),
    ]
    text = re.sub(r"<[^>]+>", "", re.search(r'<p class="summary">.*?</p>', page, re.S).group(0))
    assert " ".join(text.split()) == f"Summary: {detail['summary']}"  # the text reads as before


@pytest.mark.browser
def test_hovering_a_term_shows_its_evidence(proposal_page):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")
    from playwright.sync_api import sync_playwright

    page_url, _ = proposal_page
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(page_url)
        term = page.locator("p.summary span.term", has_text="volcanism and plume activity")
        term.hover()
        assert term.get_attribute("title") == 'From the proposal: "water vapor plumes"'
        term.focus()  # keyboard users reach it too
        assert page.evaluate("document.activeElement.textContent") == "volcanism and plume activity"
        browser.close()
