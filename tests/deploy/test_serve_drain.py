"""``paperclip serve`` as a container runs it: SIGTERM lets the request in flight finish, then the
process exits 0 (the Dockerfile starts it as PID 1 in exec form, so the signal reaches it)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from benchmarks.stress.service import free_port, jpeg_bytes, make_archive

REPO = Path(__file__).resolve().parents[2]


def _wait(predicate, what: str, proc: subprocess.Popen, log: Path, limit: float = 300) -> None:
    """Poll until ``predicate()``; a dead server or the limit fails the test with its log."""
    deadline = time.monotonic() + limit
    while not predicate():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{what}: server exit {proc.poll()}\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/ready", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_sigterm_drains_the_request_in_flight_and_exits_zero(home, tmp_path):
    url = f"sqlite:///{tmp_path / 'drain.db'}"
    make_archive(home, url, 50, "tiny")
    port = free_port()
    env = {
        **os.environ,
        "PAPERCLIP_HOME": str(home),
        "PAPERCLIP_DATABASE_URL": url,
        "PAPERCLIP_DEVICE": "cpu",
    }
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperclip_cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    _wait(lambda: _ready(base), "never ready", proc, log)

    boundary = "drain-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="q.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + jpeg_bytes(seed=1, size=(96, 128))
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /api/v1/search/image?k=5 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.sendall(head)
    assert sock.recv(1024).startswith(b"HTTP/1.1 100")  # the app is reading this request's body
    sock.sendall(body[: len(body) // 2])

    proc.send_signal(signal.SIGTERM)
    _wait(lambda: _refused(port), "still accepting after SIGTERM", proc, log)
    assert proc.poll() is None  # closed to new clients, still serving the one in flight

    sock.sendall(body[len(body) // 2 :])
    status, payload = _read_response(sock)
    sock.close()
    assert status == 200, payload[:500]
    assert len(json.loads(payload)["results"]) == 5
    assert proc.wait(timeout=120) == 0, log.read_text()[-3000:]
