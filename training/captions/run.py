"""Fill the captions table: the raw variant and one summary generator, for every proposal.

Resumable like an img2dataset job: each result is written as it arrives, under the cache key
(proposal, kind, generator, model, prompt version, abstract hash). A rerun skips what is ok or
skipped, retries what failed (unless told not to) and never duplicates a row; an edited abstract
or a new prompt version is a new key, so it is captioned afresh. Placeholder and near-empty
abstracts get no caption of either kind: their rows say ``skipped`` with the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache
from time import perf_counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from paperclip.config import get_settings
from paperclip.db import session_scope, upsert
from paperclip.schema import Caption, Proposal, utcnow
from paperclip.vocabulary import ignored_phrases, load_vocabulary
from training.captions.extract import NothingFound, explain, unsummarisable
from training.captions.raw import raw_caption

GENERATORS = ("extract", "llm")
EXTRACTOR_VERSION = "extract-v2"
KEY = ("proposal_pk", "kind", "generator", "model_name", "prompt_version", "abstract_sha256")
RESULT = ("status", "text", "structured", "error", "reason", "evidence", "tokens", "created_at")
BATCH = 200


@dataclass
class CaptionSummary:
    """What a run did; ``report()`` is what the CLI prints."""

    generator: str
    model_name: str
    prompt_version: str
    proposals: int = 0  # with an abstract
    no_abstract: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # placeholder / near-empty abstracts, by reason
    raw: int = 0
    generated: int = 0
    cached: int = 0
    failed: int = 0
    tokens: int = 0
    seconds: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> int:
        return self.generated + self.cached

    @property
    def summarisable(self) -> int:
        return self.proposals - self.skipped.total()

    @property
    def coverage(self) -> float:
        return self.ok / self.summarisable if self.summarisable else 0.0

    def report(self) -> str:
        skipped = ", ".join(f"{n} {reason}" for reason, n in self.skipped.most_common()) or "none"
        lines = [
            f"captions ({self.generator}, model {self.model_name!r}, prompt {self.prompt_version!r}):",
            f"  proposals with an abstract: {self.proposals} (without: {self.no_abstract})",
            f"  skipped (placeholder or near-empty abstract, no caption): {skipped}",
            f"  raw captions: {self.raw}",
            f"  summaries: {self.generated} new, {self.cached} cached, {self.failed} failed;"
            f" coverage {self.ok}/{self.summarisable} ({self.coverage:.1%})",
            f"  tokens: {self.tokens}; {self.seconds:.1f} s",
        ]
        lines += [f"  failed x{n}: {error}" for error, n in self.errors.most_common(5)]
        return "\n".join(lines)


@dataclass(frozen=True)
class Job:
    proposal_pk: int
    abstract: str
    title: str | None
    category: str | None
    sha: str
    refused: str | None  # placeholder | near_empty
    why: str | None  # the refusal, in words


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache
def extractor_model_name() -> str:
    """Names the vocabulary by content, so editing it re-extracts instead of serving stale cache."""
    terms = json.dumps([repr(t) for t in load_vocabulary()] + list(ignored_phrases()))
    return f"vocabulary-{text_sha256(terms)[:12]}"


def run_captions(
    generator: str = "extract", *, retry_failed: bool = True, limit: int | None = None, progress: bool = True
) -> CaptionSummary:
    """Raw captions for every proposal with an abstract, and summaries by ``extract`` or ``llm``."""
    settings = get_settings()
    if generator == "auto":  # the LLM where one is configured, else the offline extractor
        generator = "llm" if settings.llm_base_url and settings.llm_model else "extract"
    if generator not in GENERATORS:
        raise ValueError(f"generator must be one of {GENERATORS} or 'auto', got {generator!r}")
    if generator == "llm":
        if not (settings.llm_base_url and settings.llm_model):
            raise ValueError("--generator llm needs PAPERCLIP_LLM_BASE_URL and PAPERCLIP_LLM_MODEL")
        from training.captions.llm import PROMPT_VERSION

        model_name, prompt_version = settings.llm_model, PROMPT_VERSION
    else:
        model_name, prompt_version = extractor_model_name(), EXTRACTOR_VERSION
    summary = CaptionSummary(generator, model_name, prompt_version)
    started = perf_counter()
    key = {
        "kind": "summary",
        "generator": generator,
        "model_name": model_name,
        "prompt_version": prompt_version,
    }

    with session_scope() as session:
        jobs = _jobs(session, summary, limit)
        summary.raw = _write_raw(session, jobs)
        done = _existing(session, key)
    todo = []
    for job in jobs:
        status = done.get((job.proposal_pk, job.sha))
        if job.refused:
            summary.skipped[job.refused] += 1
            if status != "skipped":
                todo.append(job)
        elif status == "ok" or (status == "failed" and not retry_failed):
            summary.cached += status == "ok"
            summary.failed += status == "failed"
        else:
            todo.append(job)

    refused = [job for job in todo if job.refused]
    todo = [job for job in todo if not job.refused]
    _write([{**key, **_job_key(job), **_skipped(job), "created_at": utcnow()} for job in refused])
    results = _extract_all(todo) if generator == "extract" else _llm_all(todo)
    bar = tqdm(total=len(todo), desc=f"captions ({generator})", unit="proposal", disable=not progress)
    batch: list[dict[str, Any]] = []
    for job, result in results:
        row = {**key, **_job_key(job), **result, "created_at": utcnow()}
        batch.append(row)
        summary.tokens += result["tokens"] or 0
        if result["status"] == "ok":
            summary.generated += 1
        else:
            summary.failed += 1
            summary.errors[result["error"]] += 1
        if len(batch) >= (BATCH if generator == "extract" else 1):  # LLM answers cost money: keep each
            _write(batch)
            batch = []
        bar.update()
    _write(batch)
    bar.close()
    summary.seconds = perf_counter() - started
    return summary


def _jobs(session: Session, summary: CaptionSummary, limit: int | None) -> list[Job]:
    query = select(Proposal.id, Proposal.abstract, Proposal.title, Proposal.category)
    jobs = []
    for pk, abstract, title, category in session.execute(query.order_by(Proposal.id).limit(limit)):
        if abstract and abstract.strip():
            refused = unsummarisable(abstract)
            reason, why = (refused.reason, str(refused)) if refused else (None, None)
            jobs.append(Job(pk, abstract, title, category, text_sha256(abstract), reason, why))
        else:
            summary.no_abstract += 1
    summary.proposals = len(jobs)
    return jobs


def _write_raw(session: Session, jobs: list[Job]) -> int:
    """Raw captions are cheap: (re)written every run, so a changed category shows up."""
    raw = {"kind": "raw", "generator": "raw", "model_name": "", "prompt_version": ""}
    rows = [
        {
            **raw,
            **_job_key(job),
            **(_skipped(job) if job.refused else _ok_text(raw_caption(job.category, job.abstract))),
            "created_at": utcnow(),
        }
        for job in jobs
    ]
    for i in range(0, len(rows), BATCH):
        upsert(session, Caption, rows[i : i + BATCH], key=KEY, update=["status", "text", "error", "reason"])
    return sum(not job.refused for job in jobs)


def _existing(session: Session, key: dict[str, str]) -> dict[tuple[int, str], str]:
    query = select(Caption.proposal_pk, Caption.abstract_sha256, Caption.status).filter_by(**key)
    return {(pk, sha): status for pk, sha, status in session.execute(query)}


def _write(rows: list[dict[str, Any]]) -> None:
    if rows:
        with session_scope() as session:
            upsert(session, Caption, rows, key=KEY, update=RESULT)


def _job_key(job: Job) -> dict[str, Any]:
    return {"proposal_pk": job.proposal_pk, "abstract_sha256": job.sha}


def _ok_text(text: str) -> dict[str, Any]:
    return {
        "status": "ok",
        "text": text,
        "structured": None,
        "error": None,
        "reason": None,
        "evidence": None,
        "tokens": None,
    }


def _ok(summary, tokens: int | None = None, evidence: list[dict] | None = None) -> dict[str, Any]:
    return {
        **_ok_text(summary.text),
        "structured": summary.model_dump(),
        "evidence": evidence,
        "tokens": tokens,
    }


def _failed(error: str, reason: str, tokens: int | None = None) -> dict[str, Any]:
    return {
        "status": "failed",
        "text": None,
        "structured": None,
        "error": error,
        "reason": reason,
        "evidence": None,
        "tokens": tokens,
    }


def _skipped(job: Job) -> dict[str, Any]:
    return {**_failed(job.why or "", job.refused or ""), "status": "skipped"}


def _extract_all(jobs: list[Job]) -> Iterator[tuple[Job, dict[str, Any]]]:
    for job in jobs:
        try:
            found = explain(job.abstract, job.title, job.category)
        except NothingFound as err:
            yield job, _failed(str(err), err.reason)
        else:
            yield job, _ok(found.summary, evidence=found.as_json())


def _llm_all(jobs: list[Job]) -> Iterator[tuple[Job, dict[str, Any]]]:
    """Bounded concurrency (``llm_concurrency`` requests in flight); results in completion order."""
    from training.captions.llm import ChatSummarizer, LLMFailure

    settings = get_settings()
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    client = ChatSummarizer(
        settings.llm_base_url,
        settings.llm_model,
        api_key=key,
        timeout_s=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        backoff_s=settings.llm_retry_backoff_s,
    )

    def one(job: Job) -> dict[str, Any]:
        try:
            result = client.summarize(job.abstract, job.title)
        except LLMFailure as err:
            return _failed(str(err), "llm", err.tokens)
        return _ok(result.summary, result.tokens)

    pool = ThreadPoolExecutor(max_workers=max(1, settings.llm_concurrency))
    try:
        futures = {pool.submit(one, job): job for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        client.close()
