"""The browser-side SAMP client (app/static/samp.js) against astropy's hub with the Web Profile on,
and a SAMP application that receives the table, as TOPCAT would."""

from __future__ import annotations

import threading
import time
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture
def samp_hub(tmp_path):
    """A SAMP hub (standard and Web Profile) that accepts every web registration, and a receiver."""
    from astropy.samp import SAMPHubServer, SAMPIntegratedClient
    from astropy.samp.hub import WebProfileDialog

    class Approve(WebProfileDialog):
        def __init__(self):
            super().__init__()
            self.polling = True
            self.asked: list[str] = []

        def show_dialog(self, samp_name, details, client, origin):
            self.asked.append(samp_name)
            self.consent()

        def poll(self):
            while self.polling:
                self.handle_queue()
                time.sleep(0.05)

    dialog = Approve()
    hub = SAMPHubServer(
        web_profile=True, web_profile_dialog=dialog, web_port=0, lockfile=str(tmp_path / "samp")
    )
    hub.start()
    threading.Thread(target=dialog.poll, daemon=True).start()
    received: list[dict] = []
    client = SAMPIntegratedClient(name="receiver")
    client.connect(hub=hub)
    client.bind_receive_notification(
        "table.load.votable", lambda private_key, sender_id, mtype, params, extra: received.append(params)
    )
    yield f"http://localhost:{hub._web_port}/", received, dialog
    client.disconnect()
    dialog.polling = False
    hub.stop()


def browser(p):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.mark.browser
def test_samp_button_sends_the_votable_url(samp_hub, serve_http, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    hub_url, received, dialog = samp_hub
    (tmp_path / "samp.js").write_bytes((STATIC / "samp.js").read_bytes())
    (tmp_path / "t.vot").write_text("<VOTABLE/>")
    (tmp_path / "index.html").write_text(
        f'<button hidden data-samp-votable="t.vot?q=x&amp;format=votable" data-samp-hub="{hub_url}">SAMP</button>'
        '<span id="s" role="status"></span><script src="samp.js"></script>'
    )

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(tmp_path), **kw)

        def log_message(self, *args):
            pass

    base = serve_http(Handler)
    with sync_playwright() as p:
        b = browser(p)
        page = b.new_page()
        page.goto(base + "/index.html")
        page.get_by_role("button", name="SAMP").click()
        expect(page.locator("#s")).to_have_text("Sent to 1 SAMP application.", timeout=20_000)
        b.close()
    assert dialog.asked == ["PAPERCLIP"]
    assert len(received) == 1 and received[0]["url"] == base + "/t.vot?q=x&format=votable"


@pytest.mark.browser
def test_samp_button_without_a_hub_says_so(serve_http, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    (tmp_path / "samp.js").write_bytes((STATIC / "samp.js").read_bytes())
    (tmp_path / "index.html").write_text(
        '<button hidden data-samp-votable="t.vot" data-samp-hub="http://localhost:9/">SAMP</button>'
        '<span id="s" role="status"></span><script src="samp.js"></script>'
    )

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(tmp_path), **kw)

    base = serve_http(Handler)
    with sync_playwright() as p:
        b = browser(p)
        page = b.new_page()
        page.goto(base + "/index.html")
        page.get_by_role("button", name="SAMP").click()
        expect(page.locator("#s")).to_contain_text("no SAMP hub answered", timeout=20_000)
        b.close()
