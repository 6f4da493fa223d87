"""Bounded thread pool for I/O-heavy steps (downloads, decoding), one result at a time.

Workers only fetch and process; the caller's thread consumes results and writes the
database, so there is a single writer and no lock contention on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def bounded_map(
    fn: Callable[[T], R], items: Iterable[T], workers: int
) -> Iterator[tuple[T, R | None, Exception | None]]:
    """Yield ``(item, result, error)`` as work completes, with at most ``2 * workers`` in flight.

    Exceptions become ``error``; anything that is not an ``Exception`` (an interrupt) propagates
    and cancels what has not started.
    """
    workers = max(1, workers)
    it = iter(items)
    pending: dict[Future, T] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            while True:
                while len(pending) < 2 * workers:
                    item = next(it, _END)
                    if item is _END:
                        break
                    pending[pool.submit(fn, item)] = item
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    item = pending.pop(fut)
                    exc = fut.exception()
                    if exc is not None and not isinstance(exc, Exception):
                        raise exc
                    yield item, (None if exc else fut.result()), exc
        finally:
            for fut in pending:
                fut.cancel()


_END = object()
