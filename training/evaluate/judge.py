"""The paper's LLM judge: could the observation behind this abstract show what the query asks for?

Any OpenAI-compatible chat endpoint (``PAPERCLIP_LLM_BASE_URL``, ``_LLM_MODEL``, ``_LLM_API_KEY``).
Each (query, proposal) pair is asked once per run and shared by every model; an answer that
is neither yes nor no, or a failed request, is left out of precision and counted as unjudged.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from paperclip.config import Settings, get_settings

log = logging.getLogger(__name__)

PROMPT_VERSION = "judge-v1"
SYSTEM = (
    "You are an expert astronomer judging search results from the Hubble Space Telescope archive. "
    "You are given a search query and the abstract of the observing proposal behind one image. "
    "Answer with exactly one word, yes or no: could the observation taken for this proposal "
    "contain or show what the query asks for?"
)
ANSWER = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def configured(settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    return bool(settings.llm_base_url and settings.llm_model)


def parse_answer(text: str) -> bool | None:
    match = ANSWER.search(text or "")
    return None if match is None else match.group(1).lower() == "yes"


class Judge:
    def __init__(self, settings: Settings | None = None, retries: int = 2):
        self.settings = settings or get_settings()
        if not configured(self.settings):
            raise ValueError("the LLM judge needs PAPERCLIP_LLM_BASE_URL and PAPERCLIP_LLM_MODEL")
        self.retries = retries
        self.verdicts: dict[tuple[str, str], bool | None] = {}

    async def _ask(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, query: str, abstract: str):
        body = {
            "model": self.settings.llm_model,
            "temperature": 0,
            "max_tokens": 4,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Query: {query}\n\nProposal abstract: {abstract}"},
            ],
        }
        async with gate:
            try:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(self.retries + 1),
                    wait=wait_exponential(multiplier=0.5),
                    retry=retry_if_exception_type(
                        (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError)
                    ),
                    reraise=True,
                ):
                    with attempt:
                        response = await client.post("/chat/completions", json=body)
                        response.raise_for_status()
                        return parse_answer(response.json()["choices"][0]["message"]["content"])
            except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
                log.warning("judge failed for %r: %s", query, exc)
                return None

    async def _run(self, todo: list[tuple[str, str]]) -> None:
        key = self.settings.llm_api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
        gate = asyncio.Semaphore(self.settings.llm_concurrency)
        async with httpx.AsyncClient(
            base_url=self.settings.llm_base_url.rstrip("/"),
            headers=headers,
            timeout=self.settings.llm_timeout_s,
        ) as client:
            answers = await asyncio.gather(*(self._ask(client, gate, q, a) for q, a in todo))
        self.verdicts.update(zip(todo, answers, strict=True))

    def judge(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Ask every (query, abstract) not yet judged."""
        todo = list(dict.fromkeys(p for p in pairs if p not in self.verdicts))
        if todo:
            asyncio.run(self._run(todo))

    def precision(self, ranked: dict[str, list[str]]) -> dict[str, object]:
        """Precision@10 over each query's top abstracts, judging what is missing."""
        self.judge((q, a) for q, abstracts in ranked.items() for a in abstracts[:10])
        per_query: dict[str, float | None] = {}
        yes = judged = unjudged = 0
        for query, abstracts in ranked.items():
            verdicts = [self.verdicts[(query, a)] for a in abstracts[:10]]
            known = [v for v in verdicts if v is not None]
            per_query[query] = sum(known) / len(known) if known else None
            yes, judged, unjudged = (
                yes + sum(known),
                judged + len(known),
                unjudged + len(verdicts) - len(known),
            )
        return {
            "model": self.settings.llm_model,
            "prompt_version": PROMPT_VERSION,
            "precision_at_10": yes / judged if judged else None,
            "per_query": per_query,
            "judged": judged,
            "unjudged": unjudged,
        }
