"""A generated corpus of adversarial requests, sent over real HTTP and checked one by one.

Every case is built from a seed, so a failing one can be regenerated. The check is the same for
all: never a 5xx (the service is up and ready throughout, so not even a 503), an API error is an
RFC 9457 problem (``application/problem+json`` with ``title`` and the same ``status``), a page
error is HTML, a 200 from the API parses as the documented response model.
"""

from __future__ import annotations

import io
import json
import random
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np

ATTACKS = [
    "' OR '1'='1",
    "'; DROP TABLE observations; --",
    '" OR ""="',
    "1; SELECT pg_sleep(10)",
    "1 UNION SELECT password FROM users",
    "../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "/etc/shadow",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "....//....//etc/passwd",
    "\x00",
    "a\x00b",
    "\r\nSet-Cookie: x=1",
    "\x1b[31mred\x1b[0m",
    "\t\x0b\x0c",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "${jndi:ldap://x/a}",
    "%s%s%s%n",
    "😀🔭🌌",
    "ℌ𝔲𝔟𝔟𝔩𝔢 Ｇａｌａｘｙ",
    "\u202eevil\u202c",
    "z\u0301\u0302\u0303\u0304\u0305",
    "\u200b\u200c\u200d\ufeff",
    "北斗七星 銀河",
    "مجرة حلزونية",
    " ",
    "",
    "%",
    "*",
    "_%_",
    "\\",
]
NUMBERS = [
    "-1",
    "0",
    "1",
    "12",
    "200",
    "201",
    "1000",
    "1001",
    "-99999999999999999999",
    "99999999999999999999",
    "9223372036854775808",
    "1e3",
    "1.5",
    "NaN",
    "inf",
    "abc",
    "",
    "0x10",
    "１２",
    " 5 ",
]
ID_PATHS = [
    "1",
    "2",
    "0",
    "-1",
    "9223372036854775807",
    "9223372036854775808",
    "100000000000000000000000",
    "abc",
    "1.0",
    "1e5",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2F..%2Fsecret",
    "%00",
    "1%3BDROP%20TABLE",
    "%F0%9F%94%AD",
    "%ED%A0%80",
]
LIST_ENDPOINTS = ("search", "similar")
UPLOAD_ENDPOINTS = ("/api/v1/describe", "/api/v1/search/image", "/upload")
FORMATS = ("JPEG", "PNG", "TIFF", "FITS")
PROTOCOL_400 = b"Invalid HTTP request received."  # uvicorn's answer before the app sees the request


@dataclass
class Case:
    n: int
    category: str
    method: str
    path: str
    params: dict[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    data: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str | bytes] = field(default_factory=dict)
    raw: tuple[bytes, bytes] | None = None  # (request head, body): sent by hand over a socket


@dataclass
class Outcome:
    case: Case
    status: int | None
    seconds: float
    violation: str | None
    protocol: bool = False  # answered by the HTTP parser, not the app


# -- valid and broken files ----------------------------------------------------------------------
def valid_file(fmt: str, rng: random.Random) -> bytes:
    from PIL import Image

    h, w = rng.randint(8, 96), rng.randint(8, 96)
    pixels = np.random.default_rng(rng.randint(0, 2**31)).random((h, w))
    buf = io.BytesIO()
    if fmt == "FITS":
        from astropy.io import fits

        fits.PrimaryHDU(pixels.astype(np.float32)).writeto(buf)
    else:
        mode = rng.choice(["L", "RGB"] + (["RGBA", "P", "I;16"] if fmt in ("PNG", "TIFF") else []))
        img = Image.fromarray((pixels * 255).astype(np.uint8)).convert(mode if mode != "I;16" else "I")
        if mode == "I;16":
            img = img.convert("I;16")
        img.save(buf, format=fmt)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")


def tiff_claiming(width: int, height: int) -> bytes:
    """A little-endian baseline TIFF header whose one strip promises width x height 8-bit pixels."""
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1)]
    tags += [(273, 4, 8 + 2 + 12 * 8 + 4), (277, 3, 1), (279, 4, width * height % 2**32)]
    ifd = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in tags
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00" + b"\x00" * 256


def jpeg_claiming(width: int, height: int, rng: random.Random) -> bytes:
    data = bytearray(valid_file("JPEG", rng))
    sof = data.find(b"\xff\xc0")
    if sof < 0:
        sof = data.find(b"\xff\xc2")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def fits_claiming(width: int, height: int) -> bytes:
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                  -32",
        "NAXIS   =                    2",
    ]
    cards += [f"NAXIS1  = {width:>20}", f"NAXIS2  = {height:>20}", "END"]
    header = "".join(c.ljust(80) for c in cards).ljust(2880)
    return header.encode() + b"\x00" * 2880


def broken(data: bytes, rng: random.Random) -> bytes:
    raw = bytearray(data)
    for _ in range(rng.randint(0, 12)):
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    cut = rng.choice([len(raw), rng.randint(0, len(raw)), rng.randint(0, 64)])
    return bytes(raw[:cut])


WRONG_TYPES = [
    ("notes.jpg", b"just some text pretending to be a JPEG\n" * 10, "image/jpeg"),
    ("page.png", b"<!doctype html><html><body>hi</body></html>", "image/png"),
    ("doc.fits", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "application/fits"),
    ("arch.tif", b"PK\x03\x04" + b"\x00" * 200, "image/tiff"),
    ("anim.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04", "image/gif"),
    ("bitmap.bmp", b"BM" + b"\x00" * 100, "image/bmp"),
    ("x.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 50, "image/webp"),
    ("bomb.svg", b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><svg>&a;</svg>', "image/svg+xml"),
    ("elf.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "image/jpeg"),
    ("nul.png", b"\x00" * 4096, "image/png"),
    ("fits-ish.fits", b"SIMPLE  = this is not a header", "application/fits"),
]


# -- the corpus ----------------------------------------------------------------------------------
def _upload(n: int, rng: random.Random, category: str, name: str, data: bytes, ctype: str) -> Case:
    path = rng.choice(UPLOAD_ENDPOINTS)
    params = {"k": rng.choice(NUMBERS)} if rng.random() < 0.2 and path != "/upload" else None
    return Case(n, category, "POST", path, params=params, files=[("file", (name, data, ctype))])


def _case(n: int, rng: random.Random, ids: list[int], max_upload: int) -> Case:
    roll = rng.random()
    if roll < 0.22:
        fmt = rng.choice(FORMATS)
        data = broken(valid_file(fmt, rng), rng)
        return _upload(n, rng, f"corrupt_{fmt.lower()}", f"x.{fmt.lower()}", data, "application/octet-stream")
    if roll < 0.28:
        w, h = rng.choice([(50_000, 50_000), (65_535, 65_535), (100_000, 1), (1, 2**31 - 1), (9000, 9000)])
        kind = rng.choice(["png", "tiff", "jpeg", "fits"])
        data = {
            "png": lambda: png_claiming(w, h),
            "tiff": lambda: tiff_claiming(w, h),
            "jpeg": lambda: jpeg_claiming(min(w, 65_535), min(h, 65_535), rng),
            "fits": lambda: fits_claiming(w, h),
        }[kind]()
        return _upload(n, rng, "pixel_bomb", f"bomb.{kind}", data, "image/" + kind)
    if roll < 0.34:
        name, data, ctype = rng.choice(WRONG_TYPES)
        if rng.random() < 0.3:  # a good image with a lying name and type: decoded by content, so fine
            name, data, ctype = (
                rng.choice(["../../etc/passwd", "a\x00.txt", "x.exe"]),
                valid_file(rng.choice(FORMATS), rng),
                rng.choice(["text/plain", "application/x-msdownload", "nonsense"]),
            )
        return _upload(n, rng, "wrong_content_type", name, data, ctype)
    if roll < 0.38:
        return _multipart_oddity(n, rng)
    if roll < 0.39:
        return _huge_body(n, rng, max_upload)
    if roll < 0.62:
        return _query(n, rng, "search")
    if roll < 0.72:
        oid = rng.choice(ID_PATHS[:2] + [str(rng.choice(ids))] + ID_PATHS)
        sub = rng.choice(["", "/similar", "/describe"])
        params = _params(rng) if sub else None
        return Case(n, "path_param", "GET", f"/api/v1/observations/{oid}{sub}", params=params)
    if roll < 0.78:
        oid = rng.choice([str(rng.choice(ids))] + ID_PATHS)
        base = rng.choice(["/api/v1/proposals/", "/api/v1/previews/", "/observations/", "/proposals/"])
        return Case(n, "path_param", "GET", base + oid)
    if roll < 0.86:
        params = {"q": rng.choice(ATTACKS + _texts(rng)), "page": rng.choice(NUMBERS)} | _filters(rng)
        return Case(n, "web_query", "GET", "/", params=params)
    if roll < 0.90:
        path = rng.choice(
            ["/api/v1/search", "/api/v1/describe", "/api/v1/health", "/api/v1/ready", "/upload", "/"]
        )
        method = rng.choice(["PUT", "DELETE", "PATCH", "TRACE"])
        return Case(n, "wrong_method", method, path, params={"q": "x"})
    if roll < 0.94:
        token = rng.choice(ATTACKS[:8] + ["", "Bearer", "Bearer wrong", "Basic YWRtaW46YWRtaW4=", "é" * 50])
        path = rng.choice(["/api/v1/admin/activate/1", "/api/v1/admin/reindex?model=tiny", "/api/v1/admin/x"])
        headers = {"Authorization": token.encode("latin-1", "replace").decode("latin-1")} if token else {}
        return Case(n, "admin_token", "POST", path, headers=_safe_headers(headers))
    if roll < 0.97:
        return Case(
            n,
            "odd_headers",
            rng.choice(["GET", "POST"]),
            rng.choice(["/api/v1/search", "/api/v1/describe", "/api/v1/observations/1"]),
            params={"q": "galaxy"},
            headers=_safe_headers(
                {
                    "Accept": rng.choice(["text/html", "*/*;q=0", "application/xml", "\x7f" * 3]),
                    "Content-Type": rng.choice(
                        [
                            "multipart/form-data",
                            "multipart/form-data; boundary=",
                            "application/json",
                            "x/y; a=b",
                        ]
                    ),
                    "X-Forwarded-For": rng.choice(ATTACKS),
                }
            ),
            content=rng.choice([b"", b"{}", b"--\r\n", bytes(rng.randrange(256) for _ in range(200))]),
        )
    return Case(n, "unknown_path", "GET", "/" + quote(rng.choice(ATTACKS), safe="/%"))


def _safe_headers(headers: dict[str, str]) -> dict[str, bytes]:
    """Header values as raw bytes an HTTP client can send (printable, trimmed); the rest is the server's business."""

    def printable(c: str) -> bool:
        return " " <= c < "\x7f" or c >= "\xa0"

    return {
        k: ("".join(filter(printable, v)).strip() or "x").encode("latin-1", "replace")
        for k, v in headers.items()
    }


def _texts(rng: random.Random) -> list[str]:
    return [
        "globular clusters",
        "gravitational lensing arcs around a galaxy cluster",
        "x" * 1000,
        "y" * 1001,
        "q" * 100_000,
        "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randint(1, 300))),
        "".join(chr(rng.randrange(0, 0x20)) for _ in range(rng.randint(1, 50))),
        " " * rng.randint(1, 50),
    ]


def _filters(rng: random.Random) -> dict[str, str]:
    names = ("instrument", "filter", "cycle", "proposal", "target")
    pool = ATTACKS + NUMBERS + ["ACS/WFC", "F814W", "12", "10003", "NGC 12", "a" * 300]
    return {k: rng.choice(pool) for k in names if rng.random() < 0.3}


def _params(rng: random.Random) -> dict[str, str]:
    params = _filters(rng)
    for key in ("k", "page", "proposals"):
        if rng.random() < 0.5:
            params[key] = rng.choice(NUMBERS + ATTACKS[:10])
    return params


def _query(n: int, rng: random.Random, endpoint: str) -> Case:
    params = {"q": rng.choice(ATTACKS + _texts(rng))} | _params(rng)
    if rng.random() < 0.1:
        params.pop("q")
    return Case(n, "query_params", "GET", "/api/v1/search", params=params)


def _multipart_oddity(n: int, rng: random.Random) -> Case:
    good = valid_file("PNG", rng)
    path = rng.choice(UPLOAD_ENDPOINTS)
    kind = rng.randrange(6)
    if kind == 0:
        return Case(n, "multipart", "POST", path, data={"nothing": "here"})
    if kind == 1:
        return Case(n, "multipart", "POST", path, files=[("picture", ("a.png", good, "image/png"))])
    if kind == 2:
        return Case(n, "multipart", "POST", path, files=[("file", ("a.png", good, "image/png"))] * 3)
    if kind == 3:
        return Case(n, "multipart", "POST", path, files=[("file", ("", b"", ""))])
    if kind == 4:
        return Case(n, "multipart", "POST", path, content=good, headers={"Content-Type": "image/png"})
    body = b'--abc\r\nContent-Disposition: form-data; name="file"\r\n\r\n' + good  # never closed
    ctype = rng.choice(["multipart/form-data; boundary=abc", "multipart/form-data; boundary=zzz"])
    return Case(n, "multipart", "POST", path, content=body, headers={"Content-Type": ctype})


def _huge_body(n: int, rng: random.Random, max_upload: int) -> Case:
    """Far over the upload limit, declared up front or streamed chunked; sent by hand."""
    path = rng.choice(UPLOAD_ENDPOINTS)
    preamble = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff"
    )
    if rng.random() < 0.5:
        declared = rng.choice([max_upload * 4, 100 * 1024 * 1024, 10**12])
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\n"
            f"Content-Length: {declared}\r\nConnection: close\r\n\r\n"
        ).encode()
        return Case(n, "huge_body", "POST", path, raw=(head, preamble + b"\0" * 65536))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    piece = b"\0" * (256 * 1024)
    chunks = [preamble] + [piece] * (max_upload // len(piece) + 4)
    body = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in chunks)
    return Case(n, "huge_body", "POST", path, raw=(head, body))


def generate(count: int, seed: int, ids: list[int], max_upload: int) -> Iterator[Case]:
    rng = random.Random(seed)
    for n in range(count):
        yield _case(n, rng, ids, max_upload)


# -- sending and checking ------------------------------------------------------------------------
def _raw(base: str, head: bytes, body: bytes, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            sock.sendall(body)
        except OSError:
            pass  # the server answered and closed before reading the rest: what we want
        data = b""
        while True:
            try:
                part = sock.recv(65536)
            except OSError:
                break
            if not part:
                break
            data += part
    if not data:
        raise ConnectionError("the server closed the connection without an answer")
    head_part, _, payload = data.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split(" ", 2)[1]), {k.lower(): v for k, v in headers.items()}, payload


def _long_url(case: Case) -> tuple[bytes, bytes] | None:
    """A GET whose query string is longer than the HTTP client allows, written by hand."""
    if case.method != "GET" or not case.params:
        return None
    query = urlencode(case.params)
    if len(query) < 60_000:
        return None
    return f"GET {case.path}?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(), b""


def check(case: Case, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """None when the answer is one the service documents; else what is wrong with it."""

    ctype = headers.get("content-type", "")
    if status >= 500:
        return f"{status} server error"
    if status == 400 and body.startswith(PROTOCOL_400):
        return None  # refused by the HTTP parser (bytes no header may hold, a URL over its limit)
    api = case.path.startswith("/api/")
    if status >= 400:
        if not api:
            if "text/html" in ctype or status in (404, 405):  # unmatched non-API paths are problems
                return None
            return f"{status} page answered {ctype!r}"
        if "application/problem+json" not in ctype:
            return f"{status} without problem+json ({ctype!r}): {body[:200]!r}"
        try:
            problem = json.loads(body)
        except ValueError:
            return f"{status} problem body is not JSON: {body[:200]!r}"
        if problem.get("status") != status or not problem.get("title"):
            return f"{status} malformed problem: {problem}"
        return None
    if status != 200:
        return None if 200 <= status < 400 else f"unexpected status {status}"
    if not api:
        return None if "text/html" in ctype else f"page answered {ctype!r}"
    if "/previews/" in case.path:
        return None if ctype.startswith("image/") else f"preview answered {ctype!r}"
    model = _response_model(case.path)
    if model is None:
        return None
    try:
        model.model_validate_json(body)
    except ValueError as e:
        return f"200 body does not match {model.__name__}: {str(e)[:200]}"
    return None


def _response_model(path: str) -> Any:
    from app import schemas

    if path.endswith("/describe"):
        return schemas.DescribeResult
    if path.startswith(("/api/v1/search", "/api/v1/observations/")) and path.endswith(
        ("search", "image", "similar")
    ):
        return schemas.SearchPage
    if path.startswith("/api/v1/observations/"):
        return schemas.ObservationDetail
    if path.startswith("/api/v1/proposals/"):
        return schemas.ProposalDetail
    return None


def send_all(base: str, cases: list[Case], workers: int = 8, timeout: float = 120) -> list[Outcome]:
    """Send every case from ``workers`` threads (one keep-alive client each); record and check."""
    import httpx

    local = threading.local()

    def one(case: Case) -> Outcome:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=timeout)
        t0 = time.perf_counter()
        try:
            raw = case.raw or _long_url(case)
            if raw:
                status, headers, body = _raw(base, *raw, timeout=timeout)
            else:
                r = local.client.request(
                    case.method,
                    case.path,
                    params=case.params,
                    files=case.files,
                    data=case.data,
                    content=case.content,
                    headers=case.headers,
                )
                status, headers, body = r.status_code, dict(r.headers), r.content
        except (httpx.HTTPError, OSError, ValueError) as e:
            local.client = httpx.Client(base_url=base, timeout=timeout)
            return Outcome(case, None, time.perf_counter() - t0, f"transport error {type(e).__name__}: {e}")
        seconds = time.perf_counter() - t0
        return Outcome(
            case, status, seconds, check(case, status, headers, body), body.startswith(PROTOCOL_400)
        )

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, cases))


def summarise(outcomes: list[Outcome]) -> dict[str, Any]:
    by_category: dict[str, Counter] = {}
    for o in outcomes:
        by_category.setdefault(o.case.category, Counter())[o.status] += 1
    violations = [o for o in outcomes if o.violation]
    protocol = sum(1 for o in outcomes if o.status == 400 and o.protocol)
    statuses = Counter(o.status for o in outcomes)
    seconds = np.array([o.seconds for o in outcomes])
    return {
        "cases": len(outcomes),
        "statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
        "server_errors": sum(1 for o in outcomes if o.status is None or o.status >= 500),
        "violations": len(violations),
        "protocol_400": protocol,
        "violation_samples": [
            f"#{o.case.n} {o.case.category} {o.case.method} {o.case.path}: {o.violation}"
            for o in violations[:15]
        ],
        "by_category": {
            c: {str(k): v for k, v in sorted(cnt.items(), key=lambda kv: str(kv[0]))}
            for c, cnt in sorted(by_category.items())
        },
        "p50_ms": float(np.percentile(seconds, 50) * 1000),
        "p99_ms": float(np.percentile(seconds, 99) * 1000),
        "max_ms": float(seconds.max() * 1000),
    }
