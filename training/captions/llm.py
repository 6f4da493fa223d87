"""Structured summaries from any OpenAI-compatible chat endpoint (vLLM, llama.cpp, Ollama, hosted).

Raw HTTP with httpx: one POST to ``<base_url>/chat/completions`` per try. Structured output is
asked for with ``response_format`` json_schema; a server that refuses it (400/422) is asked
in JSON mode, then with the prompt alone, and every answer is validated here either way.
Rate limits, server errors and timeouts are retried with backoff; answers that fail
validation or break the prompt's rules are sent back once more with the reason. Both are
bounded; what still fails is raised as ``LLMFailure`` for the caller to record.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass

import httpx
from pydantic import ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from training.captions.schema import ProposalSummary, json_schema

PROMPT_VERSION = "summary-v2"
MODES = ("json_schema", "json_object", "prompt")
MAX_WORDS = 80  # the paper's cap on the whole summary

# The example output of the PAPERCLIP paper's summarisation prompt, in this schema's list form.
PAPER_EXAMPLE = {
    "objects_and_phenomena": ["spiral galaxies", "galaxy clusters", "supernova remnants"],
    "science_use_cases": [
        "model galactic structure and evolution",
        "characterize dark matter distribution in clusters",
        "analyze expansion rates of supernova remnants",
    ],
}

SYSTEM_PROMPT = f"""\
You are an expert astrophysicist. You turn the abstract of a Hubble Space Telescope observing \
proposal into two short lists that caption the images the proposal will take, for an image \
search engine.

objects_and_phenomena: what the eventual images will show: classes of astronomical \
objects and phenomena.
science_use_cases: what the observations are for: the science questions and measurements, \
each self-contained but succinct; name the objects in them where that helps.

Rules:
- Describe the observation the proposal asks for, not earlier work or the proposal itself.
- Name classes of objects, not single named objects: "spiral galaxies", not "M51".
- Spell out every acronym: "active galactic nuclei", not "AGN".
- Leave out telescope, instrument, camera, filter, archive and survey names, cycle numbers, \
numbers and units.
- Leave out items too generic to help (e.g. "galaxy", "faint object", "kinematics"); if in \
doubt, list fewer but more relevant items.
- English only. At most five items per list, most relevant first; each item a short phrase \
without semicolons. At most {MAX_WORDS} words in all.
- Answer with a JSON object with exactly the keys "objects_and_phenomena" and \
"science_use_cases", each a list of strings, and nothing else.

Example answer: {json.dumps(PAPER_EXAMPLE)}"""

# Names the rules keep out of captions; an answer using them is sent back.
_FORBIDDEN = re.compile(
    r"\b(HST|Hubble Space Telescope|JWST|Webb|Chandra|Spitzer|ACS|WFC3|WFPC2|WFPC|NICMOS|STIS|COS|"
    r"FOC|FOS|GHRS|UVIS|MAST|SDSS|ALMA|VLT|cycle \d+)\b",
    re.IGNORECASE,
)


class LLMFailure(RuntimeError):
    """No valid summary after the bounded retries; ``tokens`` were still spent."""

    def __init__(self, message: str, tokens: int = 0):
        super().__init__(message)
        self.tokens = tokens


@dataclass(frozen=True)
class LLMResult:
    summary: ProposalSummary
    tokens: int


def rule_violations(summary: ProposalSummary) -> list[str]:
    """The prompt's checkable rules an answer broke (forbidden names, numbers, the word cap)."""
    problems = []
    items = summary.objects_and_phenomena + summary.science_use_cases
    for item in items:
        if found := _FORBIDDEN.search(item):
            problems.append(f"{item!r} names {found.group(0)!r}")
        elif re.search(r"\d", item):
            problems.append(f"{item!r} contains a number")
    if (words := sum(len(item.split()) for item in items)) > MAX_WORDS:
        problems.append(f"{words} words; at most {MAX_WORDS} in all")
    return problems


def parse_answer(content: str) -> ProposalSummary:
    """The validated summary in a model's answer (tolerates a Markdown code fence)."""
    text = content.strip()
    if fenced := re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL):
        text = fenced.group(1)
    summary = ProposalSummary.model_validate(json.loads(text))
    if problems := rule_violations(summary):
        raise ValueError("breaks the rules: " + "; ".join(problems))
    return summary


def user_message(abstract: str, title: str | None = None) -> str:
    head = f"Title: {title}\n\n" if title else ""
    return f"{head}Abstract:\n{abstract}"


class ChatSummarizer:
    """One endpoint and model; thread-safe, so a pool of workers can share it."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        max_invalid: int = 2,
    ):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)
        self.model = model
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_invalid = max_invalid
        self.mode = MODES[0]
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def summarize(self, abstract: str, title: str | None = None) -> LLMResult:
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user_message(abstract, title)},
        ]
        tokens = 0
        for _ in range(1 + self.max_invalid):
            content, used = self._complete(messages, tokens)
            tokens += used
            try:
                return LLMResult(parse_answer(content), tokens)
            except (ValueError, ValidationError) as err:  # JSONDecodeError is a ValueError
                reason = _short(err)
                messages = [
                    *messages,
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": f"That answer is invalid ({reason}). Answer again, JSON only.",
                    },
                ]
        raise LLMFailure(f"invalid answer after {1 + self.max_invalid} tries: {reason}", tokens)

    def _response_format(self, mode: str) -> dict | None:
        if mode == "json_schema":
            schema = {"name": "proposal_summary", "strict": True, "schema": json_schema()}
            return {"type": "json_schema", "json_schema": schema}
        return {"type": "json_object"} if mode == "json_object" else None

    def _complete(self, messages: list[dict], spent: int) -> tuple[str, int]:
        """One chat completion: retried on 429, 5xx and transport errors; downgraded on 400/422."""

        def wait(state: RetryCallState) -> float:
            delay = state.outcome.exception().retry_after
            return delay if delay is not None else self.backoff_s * 2 ** (state.attempt_number - 1)

        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.max_retries + 1),
                wait=wait,
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    return self._request(messages, spent)
        except _Retryable as err:
            raise LLMFailure(f"gave up after {self.max_retries + 1} tries: {err}", spent) from None
        raise AssertionError("unreachable")

    def _request(self, messages: list[dict], spent: int) -> tuple[str, int]:
        while True:  # a mode the server refuses steps down at once, without counting as a failure
            mode = self.mode
            body = {"model": self.model, "messages": messages, "temperature": 0}
            if fmt := self._response_format(mode):
                body["response_format"] = fmt
            try:
                response = self.http.post("/chat/completions", json=body)
            except httpx.TransportError as err:
                raise _Retryable(f"{type(err).__name__}: {err}") from err
            status = response.status_code
            if status == 200:
                return self._content(response, spent)
            if status in (400, 422) and mode != MODES[-1]:
                with self._lock:  # the server refuses this mode: step down, for every worker
                    if self.mode == mode:
                        self.mode = MODES[MODES.index(mode) + 1]
                continue
            last = f"HTTP {status}: {response.text[:200]}"
            if status not in (408, 409, 429) and status < 500:
                raise LLMFailure(last, spent)
            raise _Retryable(last, _retry_after(response))

    @staticmethod
    def _content(response: httpx.Response, spent: int) -> tuple[str, int]:
        try:
            data = response.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise LLMFailure(f"not a chat completion: {_short(err)}: {response.text[:200]}", spent) from err
        tokens = int((data.get("usage") or {}).get("total_tokens") or 0)
        return content or "", tokens


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers["retry-after"]), 60.0)
    except (KeyError, ValueError):
        return None


def _short(err: Exception) -> str:
    if isinstance(err, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in err.errors()[:3])
    return str(err).splitlines()[0][:200]
