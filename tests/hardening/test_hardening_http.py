"""The reduced CI version of ``python -m benchmarks.stress.run``: adversarial corpus, load, security
and a corrupt index, against a live service on SQLite and on Postgres (schemathesis:
``test_hardening_contract.py``)."""

from __future__ import annotations

import asyncio

from benchmarks.stress import corpus, faults, security
from benchmarks.stress.load import run_load

from .conftest import ADMIN_TOKEN, LLM_KEY, UPLOAD_LIMIT


def test_adversarial_corpus_gets_documented_answers_only(live):
    rss_before = live.server.rss_mb()[0]
    cases = list(corpus.generate(300, 11, list(range(1, live.observations + 1)), UPLOAD_LIMIT))
    summary = corpus.summarise(corpus.send_all(live.server.base, cases, workers=4))
    assert summary["server_errors"] == 0 and summary["violations"] == 0, summary["violation_samples"]
    assert len(summary["by_category"]) >= 12  # every family of bad input was sent
    assert summary["by_category"]["pixel_bomb"].get("413") and summary["by_category"]["huge_body"] == {
        "413": sum(summary["by_category"]["huge_body"].values())
    }
    assert summary["statuses"].get("200")  # the good requests among them were answered
    assert live.server.rss_mb()[0] - rss_before < 500  # no pixel bomb or huge body was held in memory


def test_concurrent_clients_get_no_errors(live):
    result = asyncio.run(run_load(live.server.base, clients=16, seconds=3, n_obs=live.observations)).summary()
    assert result["errors"] == 0 and result["requests"] > 16, result
    assert set(result["by_endpoint"]) >= {"search", "observation", "preview"}


def test_admin_token_previews_cors_and_logs(live):
    admin = security.admin_token(live.server, ADMIN_TOKEN)
    assert admin["ok"], admin
    previews = security.preview_confinement(live.server, live.url, live.home, 5)
    assert previews["ok"], previews
    cors = security.cors(live.server, [])
    assert cors["ok"] and cors["evil_origin_allowed"] is None
    logs = security.secrets_in_log(live.server, [ADMIN_TOKEN, LLM_KEY])
    assert logs["ok"] and logs["log_bytes"] > 0, logs


def test_corrupt_version_is_refused_and_the_served_one_stays(live):
    result = faults.corrupt_newer_version(live.server, live.url, live.home, "tiny")
    assert result["ok"], result
    assert "checksum" in result["activate_error"] and "CORRUPT" in result["verify_output"]
