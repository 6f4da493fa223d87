"""The browser UI: plain HTML (search works without JavaScript) and a real headless Chromium session."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "app"
CHROMIUM = "/usr/bin/chromium"


def test_pages_work_without_javascript(make_service):
    service = make_service(synthetic=False)
    c = service.client
    home = c.get(service.url + "/")
    assert home.status_code == 200 and 'name="q"' in home.text and "Synthetic data" not in home.text
    assert re.search(r'<label for="q">', home.text) and "globular clusters" in home.text
    page = c.get(service.url + "/", params={"q": "star forming region", "instrument": "ACS/WFC"})
    cards = re.findall(r'href="/observations/(\d+)">\s*<img', page.text)
    api = c.get(
        service.api("/search"),
        params={"q": "star forming region", "instrument": "ACS/WFC", "k": 24, "group": "proposal"},
    ).json()
    shown = [i for h in api["results"] for i in (h, *h["more"])]
    assert [int(i) for i in cards] == [h["observation"]["id"] for h in shown]  # the best, then "+N more"
    assert all(
        re.search(r'<img [^>]*alt="Preview of [^"]+"', m) for m in re.findall(r"<img [^>]*>", page.text)
    )
    obs = c.get(service.url + f"/observations/{cards[0]}")
    assert (
        obs.status_code == 200
        and "Candidate science descriptions" in obs.text
        and "More like this" in obs.text
    )
    assert "https://mast.stsci.edu/" in obs.text
    data = (service.archive.images / service.archive.observations[0]["original_path"]).read_bytes()
    up = c.post(service.url + "/upload", files={"file": ("m.png", data)})
    assert up.status_code == 200 and "Candidate science descriptions" in up.text
    bad = c.post(service.url + "/upload", files={"file": ("m.png", b"not an image")})
    assert bad.status_code == 415 and 'role="alert"' in bad.text
    assert c.get(service.url + "/observations/99999").status_code == 404
    xss = c.get(
        service.url + "/", params={"q": '<script>alert("x")</script>', "target": '"><img src=x onerror=1>'}
    )
    assert xss.status_code == 200 and "<script>alert" not in xss.text and "&lt;script&gt;" in xss.text
    assert "<img src=x" not in xss.text


def test_serve_command_runs_the_service(env, db_url):
    """``paperclip serve`` in its own process: alive at once, not ready without an index."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperclip_cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.3)
        assert health.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/api/v1/ready", timeout=5)
        assert ready.status_code == 503 and ready.json()["database"] is True
    finally:
        proc.terminate()
        proc.wait(30)


def test_synthetic_data_gets_a_banner(make_service):
    service = make_service(synthetic=True)
    page = service.client.get(service.url + "/", params={"q": "ring"})
    assert 'id="synthetic-banner"' in page.text and "not real Hubble data" in page.text


@pytest.mark.browser
def test_browser_search_open_and_upload(service):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")
    from playwright.sync_api import expect, sync_playwright

    out = ARTIFACTS / ("sqlite" if service.db_url.startswith("sqlite") else "postgres")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    upload = service.archive.images / service.archive.observations[5]["original_path"]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(service.url + "/")
        expect(page.locator("#synthetic-banner")).to_be_visible()
        page.get_by_label("Describe what you are looking for").fill("barred spiral galaxy with dust lanes")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"q=barred"))
        cards = page.locator("ol.grid:not(.nested) > li.card")  # one per proposal, the rest folded
        expect(cards.first).to_be_visible()
        grouped = service.client.get(
            service.api("/search"),
            params={"q": "barred spiral galaxy with dust lanes", "group": "proposal", "k": 24},
        ).json()
        assert cards.count() == len(grouped["results"]) > 1
        assert page.locator("a[rel=next]").count() == int(grouped["has_next"])
        page.wait_for_function(  # the images in view (lazy ones further down load on scrolling)
            "[...document.images].filter(i => i.offsetParent && i.getBoundingClientRect().top < innerHeight)"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        page.screenshot(path=str(out / "1-search.png"), full_page=False)
        first_title = cards.first.locator("> .meta a.title").inner_text()
        cards.first.locator("> .meta a.title").click()
        expect(page.locator("h2#desc-h")).to_be_visible()
        assert page.locator("ol.descriptions li").count() == 10
        assert first_title.split(":")[0] in page.content()
        page.screenshot(path=str(out / "2-observation.png"), full_page=True)
        page.get_by_role("link", name="Describe an image").click()
        page.set_input_files("#file", str(upload))
        page.get_by_role("button", name=re.compile("Find similar")).click()
        expect(page.locator("h2#desc-h")).to_be_visible()
        assert page.locator("ol.descriptions li").count() == 10
        assert page.locator("ol.grid:not(.nested) > li.card").count() == 12
        top = page.locator("ol.grid li.card a").first.get_attribute("href")
        assert top == f"/observations/{service.ids[5]}"  # the uploaded image finds itself first
        page.screenshot(path=str(out / "3-upload.png"), full_page=True)
        browser.close()
    assert all(
        (out / f).stat().st_size > 10_000 for f in ("1-search.png", "2-observation.png", "3-upload.png")
    )
