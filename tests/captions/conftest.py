"""A real OpenAI-compatible chat-completions server on loopback, scripted per test."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest

VALID = {
    "objects_and_phenomena": ["spiral galaxies", "star clusters"],
    "science_use_cases": ["star formation"],
}


@dataclass
class ChatServer:
    """Answers ``POST /v1/chat/completions``. The abstract's first word (``CASE:<name>``) picks a
    script: a list of replies played in order per case (the last one repeats). A reply is
    ``("content", str)`` for a 200 completion, or ``(status, body)`` for an error."""

    scripts: dict[str, list[tuple]] = field(default_factory=dict)
    refuse_json_schema: bool = False
    delay_s: float = 0.0
    requests: list[dict] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    headers: list[dict] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    url: str = ""

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def reply(self, body: dict, headers: dict) -> tuple[int, dict, str]:
        with self.lock:
            self.requests.append(body)
            self.headers.append(headers)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay_s)
            fmt = (body.get("response_format") or {}).get("type")
            if self.refuse_json_schema and fmt == "json_schema":
                return (
                    400,
                    {},
                    json.dumps({"error": {"message": "response_format json_schema not supported"}}),
                )
            user = body["messages"][1]["content"]
            case = user.split("CASE:", 1)[1].split()[0].rstrip(".") if "CASE:" in user else "valid"
            with self.lock:
                n = self.calls[case]
                self.calls[case] += 1
            script = self.scripts.get(case, [("content", json.dumps(VALID))])
            kind, payload = script[min(n, len(script) - 1)]
            if kind != "content":
                return kind, {"Retry-After": "0"} if kind == 429 else {}, payload
            completion = {
                "id": f"cmpl-{len(self.requests)}",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": payload},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 90, "completion_tokens": 10, "total_tokens": 100},
            }
            return 200, {}, json.dumps(completion)
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def chat_server(serve_http) -> Iterator[ChatServer]:
    server = ChatServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, headers, text = server.reply(body, dict(self.headers))
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server.url = serve_http(Handler) + "/v1"
    yield server
