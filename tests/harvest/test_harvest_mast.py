"""The MAST harvest against astroquery's recorded responses and a loopback preview server."""

from __future__ import annotations

import hashlib

import pytest
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from indexer.harvest.download import Fetcher
from indexer.harvest.run import harvest
from paperclip.config import get_settings
from paperclip.db import session_scope
from paperclip.schema import LedgerEntry, Observation, Proposal
from paperclip.storage import get_paths
from paperclip_cli.main import app
from tests.harvest.conftest import OBS_PER_PROPOSAL, catalog_text, preview_names

REAL_IDS = ["7340", "12577", "13757", "15513"]  # the hst-mini proposals with abstracts, in id order


@pytest.fixture
def catalog(hst_mini, tmp_path):
    path = tmp_path / "abstracts.txt"
    path.write_text(catalog_text(hst_mini))
    return str(path)


def _kept(pid: str) -> list[str]:
    return [n for v in range(1, OBS_PER_PROPOSAL + 1) for n, keep in preview_names(pid, v).items() if keep]


def _ledger(job="harvest:HST") -> dict[str, LedgerEntry]:
    with session_scope() as s:
        return {e.unit: e for e in s.scalars(select(LedgerEntry).where(LedgerEntry.job == job))}


def _observations() -> list[Observation]:
    with session_scope() as s:
        return s.scalars(select(Observation).order_by(Observation.id)).all()


def _store_files() -> list:
    return sorted(p for p in get_paths().images.rglob("*") if p.is_file())


def test_harvest_selects_previews_and_stores_metadata(
    env, fake_mast, preview_server, catalog, no_network, hst_mini
):
    fake_mast.empty.add("99002")
    preview_server.behaviour = {n: ["big"] for n in _kept("7340")}  # the real full-size MAST preview
    summary = harvest(catalog=catalog, limit=5, per_proposal=2, seed=3)
    assert summary.proposals == 5 and summary.observations == 8 and not summary.failures
    assert not no_network  # only loopback was touched

    obs = _observations()
    by_pid: dict[str, list[Observation]] = {}
    with session_scope() as s:
        pids = dict(s.execute(select(Proposal.id, Proposal.proposal_id)).tuples().all())
    for o in obs:
        by_pid.setdefault(pids[o.proposal_pk], []).append(o)
    assert sorted(by_pid) == sorted(REAL_IDS)
    for pid, rows in by_pid.items():
        names = [o.product_filename for o in rows]
        assert len(names) == 2 and len(set(names)) == 2 and set(names) <= set(_kept(pid))  # no replacement
    o = obs[0]
    assert o.instrument == "ACS/WFC" and o.filters == "F606W;F814W" and o.target == "EV-LAC"
    assert o.ra == pytest.approx(341.7067159883) and o.exposure_s == pytest.approx(2.1)
    assert o.start_time.year == 2001 and o.preview_url.startswith(preview_server.url)
    full_size = Image.open(hst_mini / "hst_15354_01_acs_wfc_total_jdi601_drc.jpg").size
    assert (o.width, o.height) == full_size and min(full_size) > 512  # the big preview, kept as served
    assert Image.open(get_paths().images / o.local_path).size == (512, 512)
    assert hashlib.sha256((get_paths().images / o.original_path).read_bytes()).hexdigest() == o.sha256

    ledger = _ledger()
    assert ledger["proposal:99002"].status == "skipped" and ledger["proposal:99002"].reason == "no_previews"
    assert sum(u.startswith("product:") and e.status == "done" for u, e in ledger.items()) == 8

    # same command again: nothing fetched, MAST not asked again, same sample
    hits = sum(preview_server.hits.values())
    queries = sum(fake_mast.queries.values())
    again = harvest(catalog=catalog, limit=5, per_proposal=2, seed=3)
    assert again.observations == 0 and again.proposals_skipped == 5
    assert sum(preview_server.hits.values()) == hits and sum(fake_mast.queries.values()) == queries
    assert [(o.id, o.obs_id) for o in _observations()] == [(o.id, o.obs_id) for o in obs]

    # a larger per-proposal budget on a finished proposal adds only the missing previews, from the cache
    more = harvest(proposals=["7340"], per_proposal=3, retry_failed=True)
    assert more.observations == 1 and sum(fake_mast.queries.values()) == queries


def test_server_errors_end_in_the_ledger(env, fake_mast, preview_server, catalog, monkeypatch, hst_mini):
    width, height = Image.open(hst_mini / "hst_15354_01_acs_wfc_total_jdi601_drc.jpg").size
    monkeypatch.setenv("PAPERCLIP_MAX_IMAGE_PIXELS", str(width * height - 1))
    get_settings.cache_clear()
    names = _kept("7340") + _kept("12577") + _kept("15513")
    script = {
        names[0]: ["status:500"] * 5,  # always failing
        names[1]: ["status:503"],  # flaky: succeeds on the retry
        names[2]: ["timeout"] * 5,
        names[3]: ["truncated"] * 5,
        names[4]: ["status:404"],
        names[5]: ["html"] * 5,
        names[6]: ["big"] * 5,  # the real full-size MAST preview: over this run's pixel limit
    }
    preview_server.behaviour = {k: list(v) for k, v in script.items()}
    fake_mast.failing.add("13757")
    summary = harvest(catalog=catalog, proposals=["7340", "12577", "13757", "15513"], per_proposal=3)
    assert summary.failures == {
        "http_500": 1,
        "timeout": 1,
        "truncated": 1,
        "http_404": 1,
        "unsupported_type": 1,
        "too_many_pixels": 1,
        "mast_error": 1,
    }
    ledger = _ledger()
    assert (ledger[f"product:{names[0]}"].attempts, ledger[f"product:{names[0]}"].status) == (3, "failed")
    assert (ledger[f"product:{names[1]}"].attempts, ledger[f"product:{names[1]}"].status) == (2, "done")
    assert ledger[f"product:{names[4]}"].attempts == 1  # a 404 is not retried
    assert ledger[f"product:{names[5]}"].reason == "unsupported_type"
    assert (
        ledger["proposal:13757"].status == "failed" and "MAST is down" in ledger["proposal:13757"].last_error
    )
    assert ledger[f"product:{names[6]}"].attempts == 1  # a rejected image is not downloaded again
    assert len(_observations()) == 3

    # without --retry-failed nothing failed is tried again; with it, everything recovers
    preview_server.behaviour = {}
    fake_mast.failing.clear()
    monkeypatch.delenv("PAPERCLIP_MAX_IMAGE_PIXELS")
    get_settings.cache_clear()
    assert harvest(proposals=["7340", "12577", "13757", "15513"], per_proposal=3).observations == 0
    assert fake_mast.queries["13757"] == 1 + get_settings().download_retries  # one run's tries, not more
    recovered = harvest(proposals=["7340", "12577", "13757", "15513"], per_proposal=3, retry_failed=True)
    assert recovered.observations == 9 and not recovered.failures
    assert {e.status for e in _ledger().values()} == {"done"}
    assert len(_observations()) == 12


def test_kill_and_resume(env, fake_mast, preview_server, catalog, monkeypatch):
    real_fetch = Fetcher.fetch
    calls = {"n": 0}

    def dying_fetch(self, url, expected_size=None):
        calls["n"] += 1
        if calls["n"] > 4:
            raise KeyboardInterrupt("killed mid-harvest")
        return real_fetch(self, url, expected_size)

    monkeypatch.setattr(Fetcher, "fetch", dying_fetch)
    with pytest.raises(KeyboardInterrupt):
        harvest(catalog=catalog, limit=4, per_proposal=3)
    done_first = {o.product_filename for o in _observations()}
    assert 0 < len(done_first) <= 4

    monkeypatch.setattr(Fetcher, "fetch", real_fetch)
    summary = harvest(catalog=catalog, limit=4, per_proposal=3)
    expected = {n for pid in REAL_IDS for n in _kept(pid)}
    obs = _observations()
    assert sorted(o.product_filename for o in obs) == sorted(expected)  # every preview once
    assert summary.observations == len(expected) - len(done_first)
    assert all(preview_server.hits[n] == 1 for n in done_first)  # committed work is never redone
    ledger = _ledger()
    assert {u for u, e in ledger.items() if e.status == "done"} == {f"product:{n}" for n in expected} | {
        f"proposal:{p}" for p in REAL_IDS
    }
    digests = {o.sha256 for o in obs}
    assert len(_store_files()) == 2 * len(digests)  # one original and one preview per distinct image
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Proposal).where(Proposal.abstract.is_not(None))) == 6


def test_cli_dry_run_and_jwst(env, fake_mast, preview_server, catalog, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(
        app, ["harvest", "--catalog", catalog, "--cycles", "19,26", "--per-proposal", "1", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    planned = [line for line in result.stdout.splitlines() if line.startswith(("12577\t", "15513\t"))]
    assert len(planned) == 2 and all(preview_server.url in line for line in planned)
    assert sum(preview_server.hits.values()) == 0
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Proposal)) == 0  # a dry run writes nothing

    result = runner.invoke(app, ["harvest", "--catalog", catalog, "--cycles", "19", "--per-proposal", "1"])
    assert result.exit_code == 0, result.output
    assert "previews stored 1" in result.output

    # JWST goes through the same path; its previews are the level-3 combined (_i2d) images
    result = runner.invoke(app, ["harvest", "--collection", "JWST", "--proposals", "2736"])
    assert result.exit_code == 0, result.output
    obs = [o for o in _observations() if o.collection == "JWST"]
    expected = [
        n for v in range(1, OBS_PER_PROPOSAL + 1) for n, k in preview_names("2736", v, "JWST").items() if k
    ]
    assert sorted(o.product_filename for o in obs) == sorted(expected)
    assert {o.instrument for o in obs} == {"NIRCAM/IMAGE"}
    with session_scope() as s:
        jwst = s.scalars(select(Proposal).where(Proposal.collection == "JWST")).one()
        assert jwst.proposal_id == "2736" and jwst.title == "EV Lac" and jwst.abstract is None
