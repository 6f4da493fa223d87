"""The LLM judge against a real OpenAI-compatible endpoint on loopback."""

from __future__ import annotations

import pytest

from paperclip.config import Settings, get_settings
from training.evaluate.judge import Judge, configured, parse_answer


def test_answers_are_parsed_strictly():
    assert parse_answer("Yes.") is True
    assert parse_answer("no, it could not") is False
    assert parse_answer("NO") is False
    assert parse_answer("yesterday") is None
    assert parse_answer("") is None


def test_precision_at_10_caches_retries_and_counts_unjudged(llm_server, no_network):
    abstracts = {
        "Jupiter": ["Jupiter aurora imaging", "a quasar survey", "Jupiter storms", "Jupiter storms"],
        "dwarf galaxy": ["dwarf galaxy star formation", "solar system comets"],
        "comets": ["comet 67P", "comet C/2020"],
    }
    llm_server.fail_first.add("Jupiter")
    judge = Judge(get_settings())
    out = judge.precision(abstracts)
    assert out["per_query"] == {"Jupiter": pytest.approx(3 / 4), "dwarf galaxy": 0.5, "comets": None}
    assert out["precision_at_10"] == pytest.approx((3 + 1) / (4 + 2))
    assert (out["judged"], out["unjudged"]) == (6, 2)
    assert out["model"] == "judge-test"
    unique = {(q, a) for q, texts in abstracts.items() for a in texts}
    assert len(llm_server.requests) == len(unique) + 1  # one retry after the 500
    assert {r["path"] for r in llm_server.requests} == {"/v1/chat/completions"}
    assert {r["auth"] for r in llm_server.requests} == {"Bearer sk-test"}
    assert {r["model"] for r in llm_server.requests} == {"judge-test"}
    judge.precision(abstracts)  # every verdict cached: no new requests
    assert len(llm_server.requests) == len(unique) + 1
    assert no_network == []


def test_unreachable_endpoint_leaves_everything_unjudged(unused_port):
    settings = Settings(llm_base_url=f"http://127.0.0.1:{unused_port}/v1", llm_model="m", llm_timeout_s=2)
    out = Judge(settings, retries=0).precision({"Jupiter": ["Jupiter storms"]})
    assert out["precision_at_10"] is None
    assert (out["judged"], out["unjudged"]) == (0, 1)


def test_judge_needs_an_endpoint():
    assert not configured(Settings(llm_base_url=None, llm_model=None))
    with pytest.raises(ValueError, match="LLM_BASE_URL"):
        Judge(Settings(llm_base_url=None, llm_model=None))


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
