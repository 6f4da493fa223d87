"""HTTP downloads with timeouts, bounded size, length checks and retries with exponential backoff."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class DownloadError(RuntimeError):
    def __init__(self, message: str, reason: str, attempts: int = 1, retry: bool = True):
        super().__init__(message)
        self.reason = reason
        self.attempts = attempts
        self.retry = retry


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    attempts: int


@dataclass(frozen=True)
class Fetcher:
    """One configured downloader; ``fetch`` is safe to call from many threads."""

    timeout_s: float
    retries: int
    backoff_s: float
    max_bytes: int

    def fetch(self, url: str, expected_size: int | None = None) -> Downloaded:
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential(multiplier=self.backoff_s),
            retry=retry_if_exception(lambda e: isinstance(e, DownloadError) and e.retry),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    data = self._get(url, expected_size)
        except DownloadError as e:
            e.attempts = retrying.statistics["attempt_number"]
            raise
        return Downloaded(data, retrying.statistics["attempt_number"])

    def _get(self, url: str, expected_size: int | None) -> bytes:
        try:
            with requests.get(url, timeout=self.timeout_s, stream=True) as r:
                if r.status_code != 200:
                    raise DownloadError(
                        f"HTTP {r.status_code} from {url}",
                        reason=f"http_{r.status_code}",
                        retry=r.status_code in RETRY_STATUS,
                    )
                declared = int(r.headers.get("Content-Length") or 0)
                if declared > self.max_bytes:
                    raise DownloadError(f"{declared} bytes is over the limit", "too_large", retry=False)
                chunks, total = [], 0
                for chunk in r.iter_content(1 << 16):
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise DownloadError(f"over {self.max_bytes} bytes", "too_large", retry=False)
                    chunks.append(chunk)
        except requests.Timeout as e:
            raise DownloadError(f"timed out: {e}", "timeout") from e
        except requests.exceptions.ChunkedEncodingError as e:
            raise DownloadError(f"connection broken mid-body: {e}", "truncated") from e
        except requests.ConnectionError as e:
            raise DownloadError(f"connection failed: {e}", "connection") from e
        data = b"".join(chunks)
        for want in (declared, expected_size):
            if want and len(data) != want:
                raise DownloadError(f"got {len(data)} of {want} bytes", "truncated")
        return data
