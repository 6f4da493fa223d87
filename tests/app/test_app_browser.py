"""The search UI in a real headless Chromium: position search from the form, group expansion, every
export download, the SAMP button (astropy's hub, Web Profile on, and a receiving client), /docs
and /redoc with the network blocked, the weak-match notice, the upload spinner."""

from __future__ import annotations

import csv
import io
import json
import re

import astropy.units as u
import pytest
from astropy.io.votable import parse
from PIL import Image

pytestmark = pytest.mark.browser


def test_position_search_groups_and_exports(service, chromium, tmp_path):
    from playwright.sync_api import expect

    page = chromium.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(service.url + "/")
    page.get_by_label("Position or object name").fill("10:00:24 +02:12:00")
    page.get_by_label("Radius").fill("12")
    page.get_by_label("Unit").select_option("arcmin")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#position-echo")).to_contain_text("RA 10:00:24.00, Dec +02:12:00.0")
    top = page.locator("ol.grid:not(.nested) > li.card")
    expect(top.first).to_be_visible()
    distances = [
        float(t.removesuffix("′ away"))
        for t in page.locator("ol.grid:not(.nested) > li.card > .meta .dist").all_inner_texts()
    ]
    assert distances and all(d <= 12 for d in distances) and distances == sorted(distances)

    more = page.locator("details.more").first
    expect(more).to_be_visible()
    nested = more.locator("ol.nested > li.card")
    expect(nested.first).to_be_hidden()
    n = int(re.search(r"\+(\d+)", more.locator("summary").inner_text()).group(1))
    more.locator("summary").click()
    expect(nested.first).to_be_visible()
    assert nested.count() == n

    files = {}
    for name in ("VOTable", "CSV", "JSON"):
        with page.expect_download() as info:
            page.locator(".exports").get_by_role("link", name=name).click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        files[name] = path
    assert files["VOTable"].suffix == ".vot" and files["CSV"].suffix == ".csv"
    table = parse(str(files["VOTable"]), verify="exception").get_first_table()
    assert {f.name: f.unit for f in table.fields}["s_ra"] == u.deg
    t = table.to_table(use_names_over_ids=True)
    assert len(t) and all(d <= 12 for d in t["distance"])
    rows = list(csv.DictReader(files["CSV"].read_text().splitlines()[1:]))
    assert [r["obs_id"] for r in rows] == list(t["obs_id"])
    assert len(json.loads(files["JSON"].read_text())["results"]) == len(t)


def test_samp_button_sends_the_result_set(make_service, chromium, samp_hub):
    from playwright.sync_api import expect

    service = make_service(samp_hub_url=samp_hub.url)
    page = chromium.new_page()
    page.goto(service.url + "/?q=galaxy")
    page.get_by_role("button", name="Send to TOPCAT / Aladin (SAMP)").click()
    expect(page.locator("#samp-status")).to_have_text("Sent to 1 SAMP application.", timeout=20_000)
    assert len(samp_hub.received) == 1
    url = samp_hub.received[0]["url"]
    assert url.startswith(service.url + "/api/v1/search?") and "format=votable" in url
    vot = parse(io.BytesIO(service.client.get(url).content), verify="exception").get_first_table()
    assert len(vot.array) > 0  # what TOPCAT would load


def test_docs_render_with_the_network_blocked(service, chromium):
    from playwright.sync_api import expect

    page = chromium.new_page()
    blocked: list[str] = []

    def only_the_service(route):
        if route.request.url.startswith(service.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_service)
    page.goto(service.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("PAPERCLIP", timeout=20_000)
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    page.goto(service.url + "/redoc")
    expect(page.get_by_role("heading", name=re.compile("PAPERCLIP"))).to_be_visible(timeout=20_000)
    assert all(url.endswith((".svg", ".png")) for url in blocked), blocked  # at most ReDoc's own logo


def test_weak_match_notice_and_upload_spinner(service, chromium, tmp_path):
    from playwright.sync_api import expect

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(service.url + "/?q=qqqzzzxxyy&mode=text")
    expect(page.locator("#weak-notice")).to_be_visible()
    expect(page.locator("#weak-notice")).to_contain_text("No good match")

    blank = tmp_path / "blank.png"
    Image.new("RGB", (640, 480), (37, 37, 37)).save(blank)
    page.goto(service.url + "/upload")
    page.set_input_files("#file", str(blank))
    page.evaluate(  # runs after the page's own submit handler: what the user saw as the upload left
        """document.getElementById('upload-form').addEventListener('submit', () => {
          const b = document.getElementById('upload-button'), s = document.getElementById('upload-busy');
          sessionStorage.setItem('busy', JSON.stringify({disabled: b.disabled, aria: b.getAttribute('aria-busy'),
            spinner: !s.hidden && getComputedStyle(s).display !== 'none'}));
        })"""
    )
    page.locator("#upload-button").click()
    shown = page.locator("#uploaded-image")
    expect(shown).to_be_visible()
    assert json.loads(page.evaluate("sessionStorage.getItem('busy')")) == {
        "disabled": True,
        "aria": "true",
        "spinner": True,
    }
    expect(page.locator("#upload-button")).to_be_enabled()
    assert page.evaluate("document.getElementById('uploaded-image').naturalWidth") == 640
    expect(page.locator("#weak-notice").first).to_be_visible()
