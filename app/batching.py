"""Work from concurrent requests run together, behind a bounded queue with a deadline.

One thread per batcher does the work, so requests never oversubscribe the CPU; while it is busy new
items queue up and go in the next batch (no waiting when the service is idle). Text and image
encoding and flat search all cost far less per item in a batch (one pass over weights or vectors).

Admission control: a full queue or an item not answered within ``timeout_s`` raises ``Saturated``,
which the service answers 503 with Retry-After, instead of piling up requests without bound.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

log = logging.getLogger("paperclip.app")


class Saturated(RuntimeError):
    """The service is over capacity; the client should retry after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: int = 1):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Batcher:
    def __init__(
        self,
        name: str,
        process: Callable[[list[Any]], list[Any]],
        on_batch: Callable[[int, float], None],
        max_batch: int = 64,
        max_queue: int = 256,
        timeout_s: float = 10.0,
    ):
        self.name = name
        self._process = process
        self._on_batch = on_batch
        self._max_batch = max_batch
        self._timeout_s = timeout_s
        self._queue: queue.Queue[tuple[Any, Future]] = queue.Queue(maxsize=max_queue)
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def __call__(self, item: Any) -> Any:
        future: Future = Future()
        try:
            self._queue.put_nowait((item, future))
        except queue.Full:
            raise Saturated(f"{self.name}: queue full", 1) from None
        try:
            return future.result(timeout=self._timeout_s)
        except FutureTimeout:
            future.cancel()  # still queued: the worker skips it
            raise Saturated(
                f"{self.name}: not answered within {self._timeout_s:g} s", max(1, round(self._timeout_s))
            ) from None

    def depth(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch = [(item, f) for item, f in batch if f.set_running_or_notify_cancel()]
            if not batch:
                continue
            t0 = time.perf_counter()
            try:
                results = self._process([item for item, _ in batch])
            except Exception as e:
                for _, future in batch:
                    future.set_exception(e)
                continue
            self._on_batch(len(batch), time.perf_counter() - t0)
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)
