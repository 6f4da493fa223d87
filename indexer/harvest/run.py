"""Harvest a MAST collection: proposal abstracts, then each proposal's previews, resumably.

The ledger (job ``harvest:<collection>``) holds one unit per proposal (``proposal:<id>``: its
preview list is known and every preview was tried) and one per preview (``product:<file>``).
Each proposal's eligible preview list is cached as JSON in the data home, so a rerun neither
asks MAST again nor samples differently; each preview is committed with its ledger entry in
one transaction, and files are content-addressed, so a crash anywhere resumes without
duplicates.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from tenacity import Retrying, stop_after_attempt, wait_exponential
from tqdm import tqdm

from indexer.harvest.catalog import Catalog, read_catalog
from indexer.harvest.download import Fetcher
from indexer.harvest.ingest import (
    Ledger,
    StoredImage,
    image_store,
    save_observation,
    save_proposal,
    save_proposals,
    store_image,
    unfinished,
)
from indexer.harvest.mast import Preview, query_previews, sample
from indexer.harvest.pool import bounded_map
from paperclip.config import Settings, get_settings
from paperclip.db import session_scope
from paperclip.imaging import ImageError
from paperclip.schema import Proposal
from paperclip.storage import atomic_write, get_paths

FINISHED = ("done", "skipped")  # a proposal's previews were all tried, or it has none


@dataclass
class HarvestSummary:
    collection: str
    catalog: Catalog | None = None
    proposals: int = 0  # listed and tried in this run
    proposals_skipped: int = 0  # done, or failed without --retry-failed, in an earlier run
    observations: int = 0  # previews stored in this run
    previews_skipped: int = 0  # done earlier, or failed earlier without --retry-failed
    failures: Counter = field(default_factory=Counter)  # by reason
    planned: list[tuple[str, str]] = field(default_factory=list)  # dry run: (proposal, url)

    def lines(self) -> list[str]:
        out = self.catalog.lines() if self.catalog else []
        out.append(
            f"{self.collection}: proposals {self.proposals} (skipped {self.proposals_skipped}: done or failed "
            f"earlier), previews stored {self.observations} (skipped {self.previews_skipped}), "
            f"failures {sum(self.failures.values())}"
        )
        out += [f"  {reason}: {n}" for reason, n in self.failures.most_common()]
        if self.failures:
            out.append(
                "failures are in the ledger (harvest_ledger); rerun with --retry-failed to try them again"
            )
        return out


def harvest(
    collection: str = "HST",
    catalog: str | None = None,
    cycles: list[int] | None = None,
    proposals: list[str] | None = None,
    limit: int | None = None,
    per_proposal: int | None = None,
    seed: int = 0,
    retry_failed: bool = False,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
) -> HarvestSummary:
    """Harvest the selected proposals (catalog order by id, then ``limit``); see the module doc."""
    settings = get_settings()
    collection = collection.upper()
    per_proposal = per_proposal or settings.max_previews_per_proposal
    summary = HarvestSummary(collection)
    ledger = Ledger(f"harvest:{collection}")
    catalog = catalog or settings.abstracts_url
    if catalog:
        summary.catalog = read_catalog(catalog, settings.mast_timeout_s, collection)
        if not dry_run:
            with session_scope() as session:
                save_proposals(session, summary.catalog.records)
    with session_scope() as session:
        q = select(Proposal.proposal_id, Proposal.cycle, Proposal.title).where(
            Proposal.collection == collection
        )
        candidates = {pid: (cycle, bool(title)) for pid, cycle, title in session.execute(q).tuples().all()}
        if dry_run and summary.catalog:
            candidates |= {
                r["proposal_id"]: (r["cycle"], bool(r.get("title"))) for r in summary.catalog.records
            }
        for pid in proposals or []:  # named proposals the catalog lacks (JWST, say): harvested without text
            if pid not in candidates:
                candidates[pid] = (None, False)
                if not dry_run:
                    save_proposal(session, collection, pid)
        selected = select_proposals(candidates, cycles, proposals, limit)
        statuses = ledger.statuses(session)
    if not selected:
        echo(f"no {collection} proposals selected: load a catalog (--catalog) or name them (--proposals)")

    for pid, has_title in tqdm(selected, desc=f"harvest {collection}", unit="proposal"):
        unit = f"proposal:{pid}"
        if statuses.get(unit) in (*FINISHED, "failed") and not retry_failed:
            summary.proposals_skipped += 1
            continue
        try:
            previews = planned_previews(settings, collection, pid, per_proposal, seed)
        except Exception as e:  # MAST down or refusing, after retries: try again next run
            summary.failures["mast_error"] += 1
            if not dry_run:
                with session_scope() as session:
                    ledger.mark(
                        session, unit, "failed", error=f"{type(e).__name__}: {e}", reason="mast_error"
                    )
            continue
        if dry_run:
            summary.planned += [(pid, p.url(settings.mast_download_url)) for p in previews]
            for p in previews:
                echo(f"{pid}\t{p.filename}\t{p.url(settings.mast_download_url)}")
            continue
        todo = [p for p in previews if unfinished(statuses.get(f"product:{p.filename}"), retry_failed)]
        if statuses.get(unit) in FINISHED and not todo:
            summary.proposals_skipped += 1
            continue
        summary.proposals += 1
        summary.previews_skipped += len(previews) - len(todo)
        with session_scope() as session:
            proposal_pk = save_proposal(
                session,
                collection,
                pid,
                **({"title": previews[0].title, "pi": previews[0].pi} if previews and not has_title else {}),
            )

        _fetch_previews(settings, ledger, summary, proposal_pk, todo)
        with session_scope() as session:
            if previews:
                ledger.mark(session, unit, "done")
            else:
                ledger.mark(session, unit, "skipped", reason="no_previews")
    return summary


def _fetch_previews(
    settings: Settings, ledger: Ledger, summary: HarvestSummary, proposal_pk: int, todo: list[Preview]
) -> None:
    """Download and process concurrently; record each outcome here, in one transaction per preview."""
    fetcher = Fetcher(
        settings.mast_timeout_s,
        settings.download_retries,
        settings.download_backoff_s,
        settings.max_download_bytes,
    )
    store = image_store()

    def fetch(p: Preview) -> tuple[int, StoredImage | ImageError]:
        got = fetcher.fetch(p.url(settings.mast_download_url), p.size)
        try:
            return got.attempts, store_image(got.data, store, settings.max_image_pixels)
        except ImageError as e:  # not an image, or an absurd one: this preview fails, the run goes on
            return got.attempts, e

    for p, result, error in bounded_map(fetch, todo, settings.download_concurrency):
        attempts, outcome = result if error is None else (getattr(error, "attempts", 1), error)
        unit = f"product:{p.filename}"
        with session_scope() as session:
            if isinstance(outcome, StoredImage):
                row = observation_row(summary.collection, proposal_pk, p, outcome, settings)
                save_observation(session, row)
                ledger.mark(session, unit, "done", attempts=attempts)
                summary.observations += 1
            else:
                reason = getattr(outcome, "reason", type(outcome).__name__)
                ledger.mark(session, unit, "failed", error=str(outcome), reason=reason, attempts=attempts)
                summary.failures[reason] += 1


def select_proposals(
    candidates: dict[str, tuple[int | None, bool]],
    cycles: list[int] | None,
    proposals: list[str] | None,
    limit: int | None,
) -> list[tuple[str, bool]]:
    """(proposal id, has a title) in id order, so ``--limit`` picks the same proposals every run.

    ``candidates`` maps proposal id -> (cycle, has a title).
    """
    wanted = {str(p) for p in proposals} if proposals else None
    chosen = [
        (pid, has_title)
        for pid, (cycle, has_title) in candidates.items()
        if (not cycles or cycle in cycles) and (wanted is None or pid in wanted)
    ]
    return sorted(chosen, key=lambda r: _id_order(r[0]))[:limit]


def _id_order(pid: str) -> tuple[int, int, str]:
    return (0, int(pid), "") if pid.isdigit() else (1, 0, pid)


def planned_previews(settings: Settings, collection: str, pid: str, n: int, seed: int) -> list[Preview]:
    """The proposal's sampled previews; MAST is asked once, then the cached list is used."""
    cache = get_paths(settings).cache / "mast" / collection / f"{pid}.json"
    if cache.is_file():
        eligible = [Preview(**p) for p in json.loads(cache.read_text())["previews"]]
    else:
        eligible = Retrying(
            stop=stop_after_attempt(settings.download_retries + 1),
            wait=wait_exponential(multiplier=settings.download_backoff_s),
            reraise=True,
        )(query_previews, collection, pid, settings.mast_timeout_s)
        atomic_write(cache, json.dumps({"previews": [p.to_json() for p in eligible]}).encode())
    return sample(eligible, n, seed, collection, pid)


def observation_row(
    collection: str, proposal_pk: int, p: Preview, stored: StoredImage, settings: Settings
) -> dict:
    return {
        "proposal_pk": proposal_pk,
        "collection": collection,
        "obs_id": Path(p.filename).stem,
        "instrument": p.instrument,
        "filters": p.filters,
        "target": p.target,
        "ra": p.ra,
        "dec": p.dec,
        "start_time": p.start_time,
        "exposure_s": p.exposure_s,
        "preview_url": p.url(settings.mast_download_url),
        "product_filename": p.filename,
        "original_path": stored.original_path,
        "local_path": stored.local_path,
        "sha256": stored.sha256,
        "width": stored.width,
        "height": stored.height,
    }
