"""Evaluation fixtures: real HST previews as validation pairs, a second tiny checkpoint, and an
OpenAI-compatible judge served over loopback HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from paperclip.config import get_settings


@dataclass(frozen=True)
class Record:
    image: Path
    proposal: int
    caption: str
    abstract: str
    label: str | None


@pytest.fixture(scope="session")
def mini_records(hst_mini) -> list[Record]:
    """The 40 real previews; captions are the paper's summaries where the manifest has one, else a
    real abstract from the shared file; labels are the paper query each image was retrieved for."""
    abstracts = [line.strip() for line in (hst_mini / "abstracts_noid.txt").read_text().splitlines() if line]
    records = []
    for line in (hst_mini / "manifest.jsonl").read_text().splitlines():
        r = json.loads(line)
        abstract = (
            r.get("abstract") or r.get("abstract_truncated") or abstracts[r["proposal_id"] % len(abstracts)]
        )
        summary = r.get("summary") or (
            f"{r['summary_objects']}; {r['summary_science']}" if r.get("summary_objects") else None
        )
        query = r.get("retrieved_for_query")
        records.append(
            Record(
                image=hst_mini / r["file"],
                proposal=int(r["proposal_id"]),
                caption=summary or abstract[:300],
                abstract=abstract,
                label=re.sub(r"\s+", "_", query.lower()) if query else None,
            )
        )
    return records


@pytest.fixture(scope="session")
def tuned_checkpoint(tmp_path_factory) -> Path:
    """A tiny model with perturbed weights, saved as a checkpoint folder whose base is ``tiny``."""
    import torch

    from paperclip.model import load_model, save_checkpoint

    clip = load_model("tiny", device="cpu")
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in clip.model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    return save_checkpoint(clip, tmp_path_factory.mktemp("ckpt") / "tiny-tuned", extra={"base_model": "tiny"})


def judge_rule(query: str, abstract: str) -> str:
    """The fake judge's answer: yes when a query word (3+ letters) is in the abstract; 'comets' is
    answered with neither yes nor no."""
    if query == "comets":
        return "I cannot tell."
    words = [w for w in re.findall(r"[a-z0-9]+", query.lower()) if len(w) >= 3]
    return "Yes." if any(w in abstract.lower() for w in words) else "No"


@dataclass
class LLMServer:
    url: str
    requests: list[dict] = field(default_factory=list)
    fail_first: set[str] = field(default_factory=set)  # queries whose first request gets a 500

    def says_yes(self, query: str, abstract: str) -> bool | None:
        answer = judge_rule(query, abstract)
        return None if "cannot" in answer else answer.startswith("Yes")


@pytest.fixture
def llm_server(monkeypatch, serve_http) -> Iterator[LLMServer]:
    """A real OpenAI-compatible chat endpoint on a free loopback port, configured in the settings."""
    state = LLMServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            user = body["messages"][-1]["content"]
            query, abstract = re.match(r"Query: (.*?)\n\nProposal abstract: (.*)", user, re.S).groups()
            state.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
            if query in state.fail_first:
                state.fail_first.discard(query)
                self.send_response(500)
                self.end_headers()
                return
            reply = {"choices": [{"message": {"role": "assistant", "content": judge_rule(query, abstract)}}]}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    state.url = serve_http(Handler) + "/v1"
    monkeypatch.setenv("PAPERCLIP_LLM_BASE_URL", state.url)
    monkeypatch.setenv("PAPERCLIP_LLM_MODEL", "judge-test")
    monkeypatch.setenv("PAPERCLIP_LLM_API_KEY", "sk-test")
    get_settings.cache_clear()
    yield state
    get_settings.cache_clear()
