"""Bad uploads get the right 4xx (never a 500), big bodies are refused unread, previews never leave the store."""

from __future__ import annotations

import io
import socket

import numpy as np
from astropy.io import fits
from PIL import Image

from benchmarks.stress.corpus import png_claiming
from paperclip.db import session_scope
from paperclip.schema import Observation


def fits_bytes(data: np.ndarray) -> bytes:
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data.astype(np.float32))]).writeto(buf)
    return buf.getvalue()


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(
        buf, "JPEG"
    )
    return buf.getvalue()


def raw_request(url: str, head: bytes, body: bytes, wait_s: float = 60) -> tuple[int, bytes]:
    """Send a request by hand (headers, then part of a body) and read what the server answers.
    A server waiting for the rest of the body would never answer: the read times out instead."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait_s) as sock:
        sock.sendall(head)
        try:
            sock.sendall(body)
        except OSError:
            pass  # the server may close as soon as it has answered
        data = b""
        while b"\r\n\r\n" not in data:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    return int(data.split(b" ", 2)[1]), data


def test_bad_uploads_get_the_right_status(service):
    c = service.client
    nan = np.random.default_rng(1).normal(100, 10, (64, 80))
    nan[10:20, 5:30] = np.nan
    tiff = io.BytesIO()
    Image.new("I;16", (40, 30), 1200).save(tiff, "TIFF")
    cases = [
        ("empty.png", b"", 400, "empty"),
        ("cut.jpg", jpeg_bytes()[:600], 422, "corrupt"),
        ("bomb.png", png_claiming(50_000, 50_000), 413, "too_many_pixels"),
        ("notes.fits", b"this is just text, renamed to look like FITS\n" * 20, 415, "unsupported_type"),
        ("allnan.fits", fits_bytes(np.full((16, 16), np.nan)), 422, "no_finite_pixels"),
        ("nan.fits", fits_bytes(nan), 200, None),
        ("ok.jpg", jpeg_bytes(), 200, None),
        ("ok.tif", tiff.getvalue(), 200, None),
    ]
    for endpoint in ("/describe", "/search/image"):
        for name, data, status, reason in cases:
            r = c.post(service.api(endpoint), files={"file": (name, data, "application/octet-stream")})
            assert r.status_code == status, (endpoint, name, r.text)
            if reason:
                assert r.headers["content-type"] == "application/problem+json"
                assert r.json()["reason"] == reason and r.json()["status"] == status
            else:
                body = r.json()
                assert body["descriptions"] if endpoint == "/describe" else body["results"]
    missing = c.post(service.api("/describe"), files={"nothing": ("x.txt", b"here")})  # multipart, no file
    assert missing.status_code == 422 and missing.json()["reason"] == "validation"
    form = c.post(service.api("/describe"), data={"nothing": "here"})  # not multipart at all
    assert form.status_code == 415 and form.json()["title"] == "Unsupported Media Type"


def test_huge_bodies_are_refused_before_they_are_read(make_service):
    service = make_service(max_upload_bytes=1_000_000)
    boundary = "XyZ"
    preamble = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    hundred_mb = 100 * 1024 * 1024
    head = (
        f"POST /api/v1/describe HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {hundred_mb}\r\n\r\n"
    ).encode()
    status, data = raw_request(service.url, head, preamble + b"\xff\xd8\xff" + b"\0" * 65536)
    assert status == 413 and b"too_large" in data  # answered with 99.9 MB still unsent

    chunked = (
        "POST /api/v1/search/image HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    piece = preamble + b"\xff\xd8\xff" + b"\0" * 300_000
    body = b"".join(
        f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in [piece, b"\0" * 400_000, b"\0" * 400_000]
    )
    status, data = raw_request(service.url, chunked, body)  # 1.1 MB of a stream that never ends
    assert status == 413 and b"too_large" in data
    ok = service.client.post(service.api("/describe"), files={"file": ("ok.jpg", jpeg_bytes())})
    assert ok.status_code == 200  # the service is fine afterwards


def test_previews_never_leave_the_image_store(service, tmp_path):
    c = service.client
    secret = service.home / "secret.txt"
    secret.write_text("root:x:0:0")
    with session_scope(service.db_url) as s:
        o = s.get(Observation, service.ids[0])
        o.local_path = "../secret.txt"
        s.get(Observation, service.ids[1]).local_path = str(secret)
    for oid in service.ids[:2]:
        r = c.get(service.api(f"/previews/{oid}"))
        assert r.status_code == 404 and b"root:" not in r.content
    for raw in ("/api/v1/previews/..%2F..%2Fsecret.txt", "/api/v1/previews/%2e%2e/%2e%2e/secret.txt"):
        r = c.get(service.url + raw)
        assert r.status_code in (404, 422) and b"root:" not in r.content
    good = c.get(service.api(f"/previews/{service.ids[2]}"))
    assert good.status_code == 200 and good.headers["x-content-type-options"] == "nosniff"
