"""Admission control: bounded batcher queues (503 + Retry-After), per-client rate limits (429), a cap on
concurrent decodes; images batched like texts, one embedding per upload, FAISS on every core."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.batching import Batcher, Saturated

from .conftest import metric


def blocking_batcher(**kw) -> tuple[Batcher, threading.Event, threading.Event, list[list[int]]]:
    started, release = threading.Event(), threading.Event()
    batches: list[list[int]] = []

    def process(items: list[int]) -> list[int]:
        batches.append(items)
        started.set()
        release.wait()
        return [i * 10 for i in items]

    return Batcher("test", process, lambda n, s: None, **kw), started, release, batches


def test_batcher_refuses_when_its_queue_is_full_and_skips_abandoned_items():
    batcher, started, release, batches = blocking_batcher(max_queue=2, timeout_s=30)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(batcher, 1)
        started.wait(10)  # the worker holds item 1; items 2 and 3 fill the queue
        queued = [pool.submit(batcher, i) for i in (2, 3)]
        while batcher.depth() < 2:
            threading.Event().wait(0.01)
        with pytest.raises(Saturated, match="queue full") as refused:
            batcher(4)
        assert refused.value.retry_after_s >= 1
        release.set()
        assert first.result(10) == 10 and [f.result(10) for f in queued] == [20, 30]
    assert batches == [[1], [2, 3]]  # what queued up while the worker was busy went in one batch

    batcher, started, release, batches = blocking_batcher(timeout_s=0.2)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(batcher, 1)
        started.wait(10)
        with pytest.raises(Saturated, match="not answered"):
            batcher(2)  # waits its timeout behind item 1, then gives up
        release.set()
        with pytest.raises(Saturated):
            first.result(10)  # item 1 also outlived its timeout
    assert batcher(3) == 30
    assert batches == [[1], [3]]  # the abandoned item 2 was never processed


def hold_encoder(service, kind: str) -> tuple[threading.Event, threading.Event, list[int]]:
    """Make the service's ``kind`` encoder wait for ``release``; records each batch's size."""
    rt = service.runtime
    batcher = rt._encoder(kind, rt.current().model)
    process = batcher._process
    started, release = threading.Event(), threading.Event()
    sizes: list[int] = []

    def held(items):
        sizes.append(len(items))
        started.set()
        release.wait()
        return process(items)

    batcher._process = held
    return started, release, sizes


def test_saturated_text_queue_answers_503_with_retry_after(make_service):
    service = make_service(queue_size=1, queue_timeout_s=1.5)
    started, release, _ = hold_encoder(service, "text")
    c = service.client
    with ThreadPoolExecutor(2) as pool:
        busy = pool.submit(c.get, service.api("/search"), params={"q": "first query"})
        assert started.wait(30)
        waiting = pool.submit(c.get, service.api("/search"), params={"q": "second query"})
        while service.runtime._encoder("text", service.runtime.current().model).depth() < 1:
            threading.Event().wait(0.01)
        full = c.get(service.api("/search"), params={"q": "third query"})
        assert (
            full.status_code == 503 and full.headers["retry-after"] and full.json()["reason"] == "saturated"
        )
        assert full.headers["content-type"] == "application/problem+json"
        timed_out = waiting.result(60)  # queued behind the held batch for longer than the timeout
        assert timed_out.status_code == 503 and timed_out.json()["reason"] == "saturated"
        release.set()
        assert busy.result(60).status_code in (200, 503)
    while service.runtime._encoder("text", service.runtime.current().model).depth():
        threading.Event().wait(0.01)  # the abandoned request leaves the queue
    ok = c.get(service.api("/search"), params={"q": "after the burst"})
    assert ok.status_code == 200 and ok.json()["results"], ok.text
    text = c.get(service.api("/metrics")).text
    assert metric(text, "paperclip_saturated_total", queue="text-encoder") >= 2


def test_rate_limit_answers_429_per_client_and_spares_probes(make_service):
    service = make_service(rate_limit="3/minute")
    c = service.client
    statuses = [c.get(service.api("/search"), params={"q": f"q{i}"}).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = c.get(service.api("/observations/1"))
    assert limited.status_code == 429 and limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) > 0 and limited.json()["reason"] == "rate_limited"
    assert all(c.get(service.api(p)).status_code == 200 for p in ("/health", "/ready", "/metrics") * 3)
    assert metric(c.get(service.api("/metrics")).text, "paperclip_rate_limited_total") == 2


def test_no_rate_limit_by_default(service):
    assert {service.client.get(service.api("/health")).status_code for _ in range(5)} == {200}
    statuses = {
        service.client.get(service.api("/search"), params={"q": f"q{i}"}).status_code for i in range(30)
    }
    assert statuses == {200}


def test_decodes_are_capped(make_service):
    service = make_service(max_concurrent_decodes=1, queue_timeout_s=0.5)
    data = (service.archive.images / service.archive.observations[0]["original_path"]).read_bytes()
    rt = service.runtime
    assert rt.decodes.acquire(timeout=5)  # the one decode slot is taken
    try:
        busy = service.client.post(service.api("/search/image"), files={"file": ("a.png", data)})
        assert (
            busy.status_code == 503 and busy.json()["reason"] == "saturated" and busy.headers["retry-after"]
        )
    finally:
        rt.decodes.release()
    assert (
        service.client.post(service.api("/search/image"), files={"file": ("a.png", data)}).status_code == 200
    )


def test_image_uploads_are_batched_and_the_upload_page_embeds_once(service):
    a, c = service.archive, service.client
    data = [(a.images / o["original_path"]).read_bytes() for o in a.observations[:5]]
    started, release, sizes = hold_encoder(service, "image")
    with ThreadPoolExecutor(5) as pool:
        first = pool.submit(c.post, service.api("/search/image"), files={"file": ("0.png", data[0])})
        assert started.wait(30)
        rest = [pool.submit(c.post, service.api("/describe"), files={"file": ("x.png", d)}) for d in data[1:]]
        rt = service.runtime
        while rt._encoder("image", rt.current().model).depth() < 4:
            threading.Event().wait(0.01)
        release.set()
        assert first.result(60).status_code == 200 and all(f.result(60).status_code == 200 for f in rest)
    assert sizes == [1, 4]  # the four waiting uploads went through the model together
    before = metric(c.get(service.api("/metrics")).text, "paperclip_embed_batch_size_sum", kind="image")
    page = c.post(service.url + "/upload", files={"file": ("m.png", data[0])})
    assert (
        page.status_code == 200 and "Candidate science descriptions" in page.text and "Similar" in page.text
    )
    after = metric(c.get(service.api("/metrics")).text, "paperclip_embed_batch_size_sum", kind="image")
    assert after - before == 1  # one embedding serves both panels of the page


def test_batched_searches_use_every_core(service, monkeypatch):
    import faiss

    from app.searching import Query, run_batch

    calls: list[int] = []
    monkeypatch.setattr(faiss, "omp_set_num_threads", calls.append)
    loaded = service.runtime.current()
    queries = [Query(loaded, v, 5) for v in service.archive.vectors[:8]]
    results = run_batch(queries, exact_max=100, threads=os.cpu_count())
    assert len(results) == 8 and all(abs(scores[0][0] - 1) < 1e-3 for scores, _ in results)  # itself first
    run_batch(queries[:1], exact_max=100, threads=os.cpu_count())
    assert calls == [min(8, os.cpu_count()), 1]  # a batch on every core; a lone query on one
