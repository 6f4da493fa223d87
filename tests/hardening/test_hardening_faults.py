"""Faults, reduced for CI: a private PostgreSQL stopped and started under load; the importer and the
indexer SIGKILLed mid-run and rerun (both databases); CORS when configured."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.stress import faults, security  # noqa: E402
from benchmarks.stress.service import make_archive, start_server  # noqa: E402


def test_postgres_outage_under_load_is_503_then_recovers_in_the_same_process(tmp_path):
    result = faults.database_outage(1500, "tiny", clients=12, seconds=7, down_at=2, up_at=4, work=tmp_path)
    assert result["server_errors_not_503"] == 0 and result["transport_errors"] == 0, result["statuses"]
    assert result["503_while_down"] > 0 and result["503_outside_outage"] == 0, result["timeline"]
    assert result["recovered_after_s"] is not None, result["timeline"]  # how fast: benchmarks/stress
    assert result["same_process"] and result["ready_after"] == 200
    assert result["nothing_lost"], (result["rows_before"], result["rows_after"])


def test_killed_import_and_index_build_resume_without_duplicates(db_url, tmp_path):
    result = faults.killed_jobs(db_url, 24, tmp_path)
    assert result["import_killed"] and 0 < result["import_rows_at_kill"] < 24, result
    assert result["ok"], result


def test_cors_is_off_by_default_and_follows_the_setting(tmp_path):
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'paperclip.db'}"
    make_archive(home, url, 50, "tiny")
    server = start_server(home, url, cors_origins='["https://allowed.example"]')
    try:
        result = security.cors(server, ["https://allowed.example"])
    finally:
        server.stop()
    assert result["ok"] and result["allowed_origin_echoed"] == "https://allowed.example", result
