"""The REST API over real HTTP on both databases: rankings checked against brute force."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paperclip.db import session_scope
from paperclip.description_bank import term_hubness
from paperclip.schema import IndexVersion

from .conftest import metric, query_vectors


def brute_force(service, vec: np.ndarray, keep=lambda o: True) -> list[int]:
    a = service.archive
    rows = [
        (float(a.vectors[i] @ vec), service.ids[i])
        for i, o in enumerate(a.observations)
        if service.ids[i] >= 0 and keep(o)
    ]
    return [oid for _, oid in sorted(rows, key=lambda r: -r[0])]


def test_search_ranks_like_brute_force_with_metadata_and_pages(service, tiny_model):
    c = service.client
    q = "globular cluster in the halo"
    first = c.get(service.api("/search"), params={"q": q, "mode": "vector", "k": 5}).json()
    second = c.get(service.api("/search"), params={"q": q, "mode": "vector", "k": 5, "page": 2}).json()
    expected = brute_force(service, query_vectors(service, tiny_model, [q])[0])
    got = [h["observation"]["id"] for h in first["results"] + second["results"]]
    assert got == expected[:10]
    assert [h["rank"] for h in first["results"] + second["results"]] == list(range(1, 11))
    assert first["has_next"] and first["index_version"] == service.versions[0] and first["synthetic"] is True
    hit = first["results"][0]
    scores = [h["score"] for h in first["results"]]
    assert scores == sorted(scores, reverse=True) and -1 <= scores[-1] <= scores[0] <= 1
    o, p = hit["observation"], hit["proposal"]
    assert o["instrument"] and o["target"] and p["proposal_id"] and p["pi"] and p["title"]
    if o["collection"] == "HST":
        assert o["mast_url"].startswith("https://mast.stsci.edu/") and o["mast_url"].endswith(
            o["mast_obs_id"]
        )
    img = c.get(service.url + o["preview_url"])
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(img.content)).size == (512, 512)


def test_filters_restrict_the_ranking(service, tiny_model):
    c, a = service.client, service.archive
    q = "spiral galaxy"
    vec = query_vectors(service, tiny_model, [q])[0]
    cases = [
        ({"instrument": "wfc3/uvis"}, lambda o: o["instrument"] == "WFC3/UVIS"),
        ({"filter": "f814w"}, lambda o: "F814W" in o["filters"]),
        ({"target": "NGC 101"}, lambda o: "NGC 101" in o["target"]),
        ({"cycle": 30}, lambda o: a.proposals[o["proposal"]]["cycle"] == 30),
        ({"proposal": a.proposals[0]["proposal_id"]}, lambda o: o["proposal"] == 0),
        (
            {"instrument": "ACS/WFC", "filter": "F814W"},
            lambda o: o["instrument"] == "ACS/WFC" and "F814W" in o["filters"],
        ),
    ]
    for params, keep in cases:
        body = c.get(service.api("/search"), params={"q": q, "mode": "vector", "k": 50, **params}).json()
        expected = brute_force(service, vec, keep)
        assert expected, params
        assert [h["observation"]["id"] for h in body["results"]] == expected[:50], params
    none = c.get(service.api("/search"), params={"q": q, "mode": "vector", "instrument": "NICMOS"}).json()
    assert none["results"] == [] and none["has_next"] is False


def test_image_search_finds_the_uploaded_observation_and_similar_excludes_it(service):
    c, a = service.client, service.archive
    n = 3
    original = (a.images / a.observations[n]["original_path"]).read_bytes()
    body = c.post(
        service.api("/search/image"), files={"file": ("x.png", original, "image/png")}, params={"k": 5}
    )
    assert body.status_code == 200, body.text
    top = body.json()["results"][0]
    assert top["observation"]["id"] == service.ids[n] and top["score"] > 0.97
    sim = c.get(service.api(f"/observations/{service.ids[n]}/similar"), params={"k": 6}).json()
    expected = [i for i in brute_force(service, a.vectors[n]) if i != service.ids[n]]
    assert [h["observation"]["id"] for h in sim["results"]] == expected[:6]
    missing = c.get(service.api("/observations/999999/similar"))
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_describe_ranks_vocabulary_and_nearest_proposals(service):
    c, a = service.client, service.archive
    n = 0  # the first HST record carries an LLM summary
    obs_id = service.ids[n]
    via_archive = c.get(
        service.api(f"/observations/{obs_id}/describe"), params={"k": 7, "proposals": 3}
    ).json()
    vec = a.vectors[n]
    vocab = service.runtime.current().vocab_vectors  # as stored: float16
    cosine = vocab @ vec
    score = cosine - term_hubness(a.vectors, vocab)  # less each term's closeness to its nearest images
    expected = np.argsort(-score, kind="stable")[:7]
    assert [d["text"] for d in via_archive["descriptions"]] == [a.vocab[i]["text"] for i in expected]
    for d, i in zip(via_archive["descriptions"], expected, strict=True):
        assert d["score"] == pytest.approx(score[i], abs=1e-4) and d["cosine"] == pytest.approx(
            cosine[i], abs=1e-4
        )
    assert {d["kind"] for d in via_archive["descriptions"]} <= {"object", "use_case"}
    top = via_archive["proposals"][0]
    assert top["proposal"]["id"] == service.proposal_pks[n] and top["summary"] == a.proposals[0]["summary"]
    assert len(via_archive["proposals"]) == 3
    original = (a.images / a.observations[n]["original_path"]).read_bytes()
    via_upload = c.post(service.api("/describe"), files={"file": ("o.png", original)}, params={"k": 7}).json()
    assert [d["text"] for d in via_upload["descriptions"]][:3] == [
        d["text"] for d in via_archive["descriptions"]
    ][:3]


def test_observation_and_proposal_pages(service):
    c, a = service.client, service.archive
    n = 1
    obs = c.get(service.api(f"/observations/{service.ids[n]}")).json()
    assert obs["obs_id"] == a.observations[n]["obs_id"] and obs["width"] == a.observations[n]["width"]
    assert obs["proposal"]["abstract"] == a.proposals[a.observations[n]["proposal"]]["abstract"]
    prop = c.get(service.api(f"/proposals/{obs['proposal']['id']}")).json()
    mine = [
        service.ids[i] for i, o in enumerate(a.observations) if o["proposal"] == a.observations[n]["proposal"]
    ]
    assert sorted(o["id"] for o in prop["observations"]) == sorted(mine)
    assert prop["program_url"].endswith(prop["proposal_id"])
    for path in ("/observations/424242", "/proposals/424242", "/previews/424242"):
        r = c.get(service.api(path))
        assert r.status_code == 404 and r.json()["status"] == 404, path
    bad = c.get(service.api("/search"), params={"q": "x", "k": 100000})
    assert bad.status_code == 422 and bad.json()["status"] == 422 and "k" in bad.json()["detail"]
    assert c.get(service.api("/search"), params={"q": ""}).status_code == 422


def test_health_ready_metrics_and_docs(service):
    c = service.client
    assert c.get(service.api("/health")).json() == {"status": "ok"}
    ready = c.get(service.api("/ready"))
    assert ready.status_code == 200 and ready.json()["index_version"] == service.versions[0]
    assert ready.json()["vectors"] == len(service.archive.observations)
    for _ in range(2):
        c.get(service.api("/search"), params={"q": "dwarf galaxy"})
    text = c.get(service.api("/metrics")).text
    requests = metric(
        text, "paperclip_http_requests_total", method="GET", route="/api/v1/search", status="200"
    )
    assert requests == 2
    assert metric(text, "paperclip_embed_seconds_count", kind="text") == 1  # the second query hit the cache
    assert metric(text, "paperclip_text_cache_hits_total") == 1
    assert metric(text, "paperclip_search_seconds_count", mode="batched") == 2  # one per query
    assert metric(text, "paperclip_index_vectors") == len(service.archive.observations)
    assert c.get(service.url + "/docs").status_code == 200
    paths = c.get(service.url + "/openapi.json").json()["paths"]
    for p in (
        "/api/v1/search",
        "/api/v1/search/image",
        "/api/v1/describe",
        "/api/v1/previews/{observation_id}",
    ):
        assert p in paths
    assert not any("admin" in p for p in paths)


def test_serves_an_index_built_by_the_indexer(make_service, tiny_model):
    from indexer.index.versions import build_index
    from paperclip.imaging import decode, to_preview
    from paperclip.index_files import read_index_files

    service = make_service(index=False)
    version = build_index("tiny", "auto", activate=True)
    ready = service.wait_for_version(version)
    assert ready["vectors"] == len(service.ids)
    with session_scope(service.db_url) as s:
        files = read_index_files(Path(s.get(IndexVersion, version).path))
    vectors, a = files.vectors(), service.archive
    for n in (2, len(a.observations) - 1):  # a real HST preview and a synthetic one
        data = (a.images / a.observations[n]["original_path"]).read_bytes()
        body = service.client.post(
            service.api("/search/image"), files={"file": ("x.png", data)}, params={"k": 5}
        )
        q = tiny_model.encode_images([to_preview(decode(data))])[0]
        expected = files.ids[np.argsort(-(vectors @ q), kind="stable")[:5]]
        assert [h["observation"]["id"] for h in body.json()["results"]] == expected.tolist()
    described = service.client.get(service.api(f"/observations/{service.ids[0]}/describe")).json()
    assert len(described["descriptions"]) == 10 and described["index_version"] == version


def test_concurrent_queries_each_get_their_own_answer(service, tiny_model):
    """Queries arriving together are encoded in one batch; each must still get its own ranking."""
    from concurrent.futures import ThreadPoolExecutor

    queries = [
        f"{w} in the {p}"
        for w in ("dust lanes", "tidal tails", "jets", "arcs")
        for p in ("halo", "core", "disk")
    ]

    def ask(q: str) -> list[int]:
        body = service.client.get(service.api("/search"), params={"q": q, "mode": "vector", "k": 8}).json()
        return [h["observation"]["id"] for h in body["results"]]

    with ThreadPoolExecutor(len(queries)) as pool:
        got = list(pool.map(ask, queries))
    vectors = query_vectors(service, tiny_model, queries)
    assert got == [brute_force(service, v)[:8] for v in vectors]
    text = service.client.get(service.api("/metrics")).text
    assert metric(text, "paperclip_embed_batch_size_sum", kind="text") == len(queries)  # each encoded once
    assert metric(text, "paperclip_search_seconds_count", mode="batched") == len(queries)  # per query
