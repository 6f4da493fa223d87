"""The LLM path against a real chat-completions server on loopback: validation, retries,
fallback from json_schema, caching and failure recording."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from paperclip.config import get_settings
from paperclip.db import session_scope
from paperclip.schema import Caption, Proposal
from training.captions.llm import (
    MAX_WORDS,
    PAPER_EXAMPLE,
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    ChatSummarizer,
    LLMFailure,
    parse_answer,
)
from training.captions.run import run_captions

GOOD = json.dumps({"objects_and_phenomena": ["white dwarfs"], "science_use_cases": ["stellar ages"]})
TOO_MANY = json.dumps(
    {"objects_and_phenomena": [f"thing {c}" for c in "abcdefg"], "science_use_cases": ["x y"]}
)
EMPTY = json.dumps({"objects_and_phenomena": [], "science_use_cases": ["stellar ages"]})
EXTRA_KEY = json.dumps({"objects_and_phenomena": ["a b"], "science_use_cases": ["c d"], "notes": "hi"})
TELESCOPE = json.dumps(
    {"objects_and_phenomena": ["HST images of quasars"], "science_use_cases": ["cosmology"]}
)
GREEK = ("alpha", "beta", "gamma", "delta", "epsilon")
TOO_LONG = json.dumps(  # five and five distinct items of ten words: 100 words in all
    {
        "objects_and_phenomena": [
            f"young massive star clusters in nearby interacting spiral galaxies {g}" for g in GREEK
        ],
        "science_use_cases": [f"measure ages and masses of clusters formed during the {g}" for g in GREEK],
    }
)
SCRIPTS = {
    "valid": [("content", GOOD)],
    "schema_then_ok": [("content", TOO_MANY), ("content", GOOD)],
    "malformed_then_ok": [("content", "{not json"), ("content", GOOD)],
    "rules_then_ok": [("content", TELESCOPE), ("content", GOOD)],
    "too_long_then_ok": [("content", TOO_LONG), ("content", GOOD)],
    "fenced": [("content", f"```json\n{GOOD}\n```")],
    "rate_limited": [(429, '{"error": "slow down"}'), (429, '{"error": "slow down"}'), ("content", GOOD)],
    "server_error": [(500, '{"error": "boom"}')],
    "always_malformed": [("content", "Sure! Here is the JSON: {")],
    "always_schema": [("content", EMPTY), ("content", EXTRA_KEY), ("content", TOO_MANY)],
    "unauthorized": [(401, '{"error": "bad key"}')],
}


def _client(server, **kw) -> ChatSummarizer:
    return ChatSummarizer(server.url, "test-model", api_key="sk-test", backoff_s=0.01, max_retries=2, **kw)


def test_summarizer_handles_each_reply(chat_server):
    chat_server.scripts = SCRIPTS
    client = _client(chat_server)
    for case in (
        "valid",
        "schema_then_ok",
        "malformed_then_ok",
        "rules_then_ok",
        "too_long_then_ok",
        "fenced",
        "rate_limited",
    ):
        result = client.summarize(f"CASE:{case} An abstract.", title="A title")
        assert result.summary.text == "white dwarfs; stellar ages", case
    assert chat_server.calls["rate_limited"] == 3
    assert result.tokens == 100  # only the answered request reports usage
    assert client.summarize("CASE:schema_then_ok x").tokens == 100  # replays: the script's last entry

    resend = [r for r in chat_server.requests if "CASE:malformed_then_ok" in r["messages"][1]["content"]][1]
    assert resend["messages"][2] == {"role": "assistant", "content": "{not json"}
    assert "invalid" in resend["messages"][3]["content"]
    too_long = [r for r in chat_server.requests if "CASE:too_long_then_ok" in r["messages"][1]["content"]][1]
    assert f"at most {MAX_WORDS} in all" in too_long["messages"][3]["content"]

    first = chat_server.requests[0]
    assert first["model"] == "test-model" and first["temperature"] == 0
    assert first["messages"][0]["content"] == SYSTEM_PROMPT
    assert first["messages"][1]["content"].startswith("Title: A title")
    schema = first["response_format"]["json_schema"]["schema"]
    assert first["response_format"]["type"] == "json_schema"
    assert schema["properties"]["objects_and_phenomena"]["maxItems"] == 5
    assert chat_server.headers[0]["Authorization"] == "Bearer sk-test"

    with pytest.raises(LLMFailure, match="gave up after 3 tries: HTTP 500"):
        client.summarize("CASE:server_error x")
    assert chat_server.calls["server_error"] == 3
    with pytest.raises(LLMFailure, match="invalid answer after 3 tries") as err:
        client.summarize("CASE:always_schema x")
    assert err.value.tokens == 300
    with pytest.raises(LLMFailure, match="invalid answer"):
        client.summarize("CASE:always_malformed x")
    with pytest.raises(LLMFailure, match="HTTP 401"):
        client.summarize("CASE:unauthorized x")
    assert chat_server.calls["unauthorized"] == 1  # a client error is not retried


def test_prompt_carries_the_papers_example_and_its_80_word_cap(hst_mini):
    assert MAX_WORDS == 80 and f"At most {MAX_WORDS} words in all" in SYSTEM_PROMPT
    example = json.loads(SYSTEM_PROMPT.split("Example answer: ", 1)[1])
    assert example == PAPER_EXAMPLE and parse_answer(json.dumps(example)).objects_and_phenomena[2] == (
        "supernova remnants"
    )
    # The paper's own summaries of four proposals keep to about the cap (split on its commas).
    for line in (hst_mini / "manifest.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("summary"):
            assert len(record["summary"].split()) <= MAX_WORDS + 5, record["proposal_id"]


def test_server_without_json_schema_gets_json_mode(chat_server):
    chat_server.refuse_json_schema = True
    client = _client(chat_server)
    assert client.summarize("CASE:valid x").summary.objects_and_phenomena == [
        "spiral galaxies",
        "star clusters",
    ]
    assert client.mode == "json_object"
    assert [r["response_format"]["type"] for r in chat_server.requests] == ["json_schema", "json_object"]
    client.summarize("CASE:valid y")
    assert chat_server.requests[-1]["response_format"] == {"type": "json_object"}


def test_unreachable_server_is_a_recorded_failure():
    client = ChatSummarizer("http://127.0.0.1:9/v1", "m", backoff_s=0.01, max_retries=1, timeout_s=2)
    with pytest.raises(LLMFailure, match="gave up after 2 tries: Connect"):
        client.summarize("anything")


def _summary_rows(db_url) -> dict[str, tuple[str, str | None, str | None]]:
    with session_scope(db_url) as s:
        rows = s.execute(
            select(Proposal.proposal_id, Caption.status, Caption.text, Caption.error)
            .join(Caption)
            .where(Caption.kind == "summary")
        ).all()
    assert len(rows) == len({r[0] for r in rows}), "duplicate summary rows"
    return {pid: (status, text, error) for pid, status, text, error in rows}


def test_run_captions_llm_caches_and_retries_failures(env, db_url, chat_server, monkeypatch):
    cases = [
        "valid",
        "schema_then_ok",
        "malformed_then_ok",
        "rate_limited",
        "server_error",
        "always_malformed",
    ]
    with session_scope(db_url) as s:
        s.add_all(
            Proposal(
                collection="T", proposal_id=c, abstract=f"CASE:{c} Deep imaging of nearby spiral galaxies."
            )
            for c in cases
        )
    chat_server.scripts = SCRIPTS
    chat_server.delay_s = 0.05
    for name, value in {
        "LLM_BASE_URL": chat_server.url,
        "LLM_MODEL": "test-model",
        "LLM_API_KEY": "sk-run",
        "LLM_CONCURRENCY": "2",
        "LLM_MAX_RETRIES": "2",
        "LLM_RETRY_BACKOFF_S": "0.01",
    }.items():
        monkeypatch.setenv(f"PAPERCLIP_{name}", value)
    get_settings.cache_clear()

    first = run_captions("llm", progress=False)
    assert (first.proposals, first.generated, first.failed, first.cached) == (6, 4, 2, 0)
    assert first.model_name == "test-model" and first.prompt_version == PROMPT_VERSION
    assert first.tokens == 100 * (
        1 + 2 + 2 + 1 + 3
    )  # answered requests: valid, 2 re-asks, 1 after 429s, 3 junk
    assert "coverage 4/6" in first.report()
    assert chat_server.max_in_flight == 2  # concurrent, and bounded by llm_concurrency
    assert {h["Authorization"] for h in chat_server.headers} == {"Bearer sk-run"}
    rows = _summary_rows(db_url)
    assert rows["valid"] == ("ok", "white dwarfs; stellar ages", None)
    assert rows["server_error"][0] == "failed" and "HTTP 500" in rows["server_error"][2]
    assert rows["always_malformed"][0] == "failed" and rows["always_malformed"][1] is None

    seen = len(chat_server.requests)
    kept = run_captions("llm", retry_failed=False, progress=False)
    assert (kept.cached, kept.failed, kept.generated) == (4, 2, 0)
    assert len(chat_server.requests) == seen  # nothing asked again

    chat_server.scripts = {}  # the endpoint recovers: every case now answers well
    retried = run_captions("llm", progress=False)
    assert (retried.cached, retried.generated, retried.failed) == (4, 2, 0)
    assert len(chat_server.requests) == seen + 2  # only the two failures were asked again
    rows = _summary_rows(db_url)
    assert {status for status, _, _ in rows.values()} == {"ok"} and len(rows) == 6
    with session_scope(db_url) as s:
        structured = s.scalar(
            select(Caption.structured).where(Caption.error.is_(None), Caption.kind == "summary")
        )
        assert set(structured) == {"objects_and_phenomena", "science_use_cases"}
        assert s.scalar(select(func.count()).select_from(Caption).where(Caption.kind == "raw")) == 6


def test_llm_generator_needs_an_endpoint(env):
    with pytest.raises(ValueError, match="PAPERCLIP_LLM_BASE_URL"):
        run_captions("llm", progress=False)
    with pytest.raises(ValueError, match="generator must be one of"):
        run_captions("gpt", progress=False)


def test_compare_prints_extractor_terms_beside_llm_terms(env, db_url, chat_server, monkeypatch, hst_mini):
    lines = (hst_mini / "abstracts_noid.txt").read_text().splitlines()
    with session_scope(db_url) as s:
        for i in (38, 100):
            abstract = re.match(r"Category: .*?\.\s+(.*)", lines[i]).group(1)
            s.add(Proposal(collection="HST", proposal_id=f"p{i}", title=f"Proposal {i}", abstract=abstract))
        s.add(
            Proposal(
                collection="HST",
                proposal_id="only-llm",
                abstract="CASE:valid We request orbits for this program.",
            )
        )
    cmd = [sys.executable, "-m", "paperclip_cli", "caption"]
    none = subprocess.run([*cmd, "--compare"], env=env, capture_output=True, text=True, timeout=120)
    assert none.returncode == 0 and "no proposal has both" in none.stdout
    assert run_captions("extract", progress=False).generated == 2
    for name, value in {"LLM_BASE_URL": chat_server.url, "LLM_MODEL": "test-model"}.items():
        monkeypatch.setenv(f"PAPERCLIP_{name}", value)
    get_settings.cache_clear()
    assert run_captions("llm", progress=False).generated == 3
    out = subprocess.run([*cmd, "--compare"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HST p38: Proposal 38" in out.stdout and "HST p100: Proposal 100" in out.stdout
    assert "only-llm" not in out.stdout  # it has no extractor summary
    assert "llm:       spiral galaxies, star clusters" in out.stdout
    assert "extractor: galactic nuclei, starburst galaxies, star clusters" in out.stdout
    summary = out.stdout.strip().splitlines()[-1]
    assert summary.startswith("2 proposals with both:") and "LLM terms" in summary
