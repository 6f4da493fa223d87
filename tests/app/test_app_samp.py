"""The browser-side SAMP client (app/static/samp.js) against astropy's hub with the Web Profile on,
and a SAMP application that receives the table, as TOPCAT would."""

from __future__ import annotations

from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"
pytestmark = pytest.mark.browser


def _page_with_button(serve_http: Callable, folder: Path, votable: str, hub_url: str) -> str:
    """A static page holding only the SAMP button and samp.js, served over loopback."""
    (folder / "samp.js").write_bytes((STATIC / "samp.js").read_bytes())
    (folder / "t.vot").write_text("<VOTABLE/>")
    (folder / "index.html").write_text(
        f'<button hidden data-samp-votable="{votable}" data-samp-hub="{hub_url}">SAMP</button>'
        '<span id="s" role="status"></span><script src="samp.js"></script>'
    )

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(folder), **kw)

        def log_message(self, *args):
            pass

    return serve_http(Handler)


def test_samp_button_sends_the_votable_url(samp_hub, chromium, serve_http, tmp_path):
    from playwright.sync_api import expect

    base = _page_with_button(serve_http, tmp_path, "t.vot?q=x&amp;format=votable", samp_hub.url)
    page = chromium.new_page()
    page.goto(base + "/index.html")
    page.get_by_role("button", name="SAMP").click()
    expect(page.locator("#s")).to_have_text("Sent to 1 SAMP application.", timeout=20_000)
    assert samp_hub.asked == ["PAPERCLIP"]
    assert [r["url"] for r in samp_hub.received] == [base + "/t.vot?q=x&format=votable"]


def test_samp_button_without_a_hub_says_so(chromium, serve_http, tmp_path):
    from playwright.sync_api import expect

    base = _page_with_button(serve_http, tmp_path, "t.vot", "http://localhost:9/")
    page = chromium.new_page()
    page.goto(base + "/index.html")
    page.get_by_role("button", name="SAMP").click()
    expect(page.locator("#s")).to_contain_text("no SAMP hub answered", timeout=20_000)
