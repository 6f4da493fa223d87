"""Image retrieval and description retrieval: the runtime's vectors joined with the database's metadata.

The API and the web pages both call these, so both answer the same thing.
"""

from __future__ import annotations

import numpy as np
from fastapi import HTTPException
from PIL import Image

from app import queries
from app.filtered import Filters
from app.loading import Loaded
from app.runtime import Runtime
from app.schemas import (
    DescribeResult,
    Description,
    Hit,
    ObservationDetail,
    ObservationOut,
    ProposalBrief,
    ProposalDetail,
    ProposalMatch,
    SearchPage,
)
from paperclip.db import session_scope
from paperclip.schema import Observation, Proposal

PROPOSAL_POOL = 50  # observations looked at to find the nearest proposals of an image
MAX_K = 200  # results per page
MAX_RESULTS = 2000  # the deepest rank served: later pages are empty


def program_url(p: Proposal) -> str | None:
    if p.collection != "HST" or not p.proposal_id.isdigit():
        return None
    return f"https://www.stsci.edu/hst-program-info/program/?program={p.proposal_id}"


def proposal_brief(p: Proposal) -> ProposalBrief:
    return ProposalBrief(
        id=p.id,
        proposal_id=p.proposal_id,
        collection=p.collection,
        title=p.title,
        pi=p.pi,
        cycle=p.cycle,
        category=p.category,
        program_url=program_url(p),
    )


def observation_out(o: Observation, rt: Runtime) -> ObservationOut:
    mast = f"{rt.settings.mast_portal_url}{o.obs_id}" if o.collection == "HST" else None
    return ObservationOut(
        id=o.id,
        obs_id=o.obs_id,
        collection=o.collection,
        instrument=o.instrument,
        filters=o.filters,
        target=o.target,
        ra=o.ra,
        dec=o.dec,
        start_time=o.start_time,
        exposure_s=o.exposure_s,
        width=o.width,
        height=o.height,
        preview_url=f"/api/v1/previews/{o.id}",
        mast_url=mast,
    )


def _hits(rt: Runtime, found: list[tuple[int, float]], first_rank: int) -> list[Hit]:
    with session_scope(rt.settings.db_url) as s:
        rows = queries.observations(s, [i for i, _ in found])
        return [
            Hit(
                rank=first_rank + n,
                score=score,
                observation=observation_out(o, rt),
                proposal=proposal_brief(p),
            )
            for n, (i, score) in enumerate(found)
            if i in rows
            for o, p in [rows[i]]
        ]


def search_vector(
    rt: Runtime,
    loaded: Loaded,
    vec: np.ndarray,
    k: int,
    page: int,
    filters: Filters,
    query: str | None,
    exclude: int | None = None,
) -> SearchPage:
    """One page of the ranking of ``vec``; ranks past ``MAX_RESULTS`` are not served."""
    offset = (page - 1) * k
    end = min(offset + k, MAX_RESULTS)
    found: list[tuple[int, float]] = []
    if offset < end:
        extra = 1 + (exclude is not None)  # one more to know whether a next page exists
        found = rt.search(loaded, vec, end + extra, filters)
        found = [(i, sc) for i, sc in found if i != exclude]
    return SearchPage(
        query=query,
        k=k,
        page=page,
        has_next=len(found) > end and end < MAX_RESULTS,
        index_version=loaded.version_id,
        synthetic=loaded.synthetic,
        results=_hits(rt, found[offset:end], offset + 1),
    )


def search_text(rt: Runtime, q: str, k: int, page: int, filters: Filters) -> SearchPage:
    loaded = rt.current()
    return search_vector(rt, loaded, rt.embed_text(loaded, q), k, page, filters, q)


def search_image(rt: Runtime, image: Image.Image, k: int, page: int, filters: Filters) -> SearchPage:
    loaded = rt.current()
    return search_vector(rt, loaded, rt.embed_image(loaded, image), k, page, filters, None)


def _observation_vector(rt: Runtime, loaded: Loaded, observation_id: int) -> np.ndarray:
    """The stored embedding, or (for an observation added after this index was built) a fresh one."""
    vec = loaded.vector_of(observation_id)
    if vec is not None:
        return vec
    from paperclip.imaging import decode
    from paperclip.storage import ImageStore, get_paths

    with session_scope(rt.settings.db_url) as s:
        rel = queries.preview_path(s, observation_id)
    if rel is None:
        raise HTTPException(404, f"observation {observation_id} not found or has no image")
    path = ImageStore(get_paths(rt.settings).images).resolve(rel)
    return rt.embed_image(loaded, decode(path.read_bytes(), rt.settings.max_image_pixels))


def similar(rt: Runtime, observation_id: int, k: int, page: int, filters: Filters) -> SearchPage:
    loaded = rt.current()
    vec = _observation_vector(rt, loaded, observation_id)
    return search_vector(rt, loaded, vec, k, page, filters, None, exclude=observation_id)


def describe_vector(rt: Runtime, loaded: Loaded, vec: np.ndarray, k: int, proposals: int) -> DescribeResult:
    terms = rt.describe(loaded, vec, k)
    best: dict[int, float] = {}
    found = rt.search(loaded, vec, PROPOSAL_POOL)
    with session_scope(rt.settings.db_url) as s:
        rows = queries.observations(s, [i for i, _ in found])
        for i, score in found:
            if i in rows:
                pk = rows[i][1].id
                best[pk] = max(best.get(pk, -1.0), score)
        top = sorted(best.items(), key=lambda kv: -kv[1])[:proposals]
        props = {p.id: p for _, p in rows.values()}
        texts = queries.summaries(s, [pk for pk, _ in top])
        matches = [
            ProposalMatch(score=score, proposal=proposal_brief(props[pk]), summary=texts.get(pk))
            for pk, score in top
        ]
    return DescribeResult(
        index_version=loaded.version_id,
        descriptions=[
            Description(rank=n + 1, text=t["text"], kind=t.get("kind", "object"), score=score)
            for n, (t, score) in enumerate(terms)
        ],
        proposals=matches,
    )


def describe_image(rt: Runtime, image: Image.Image, k: int, proposals: int) -> DescribeResult:
    loaded = rt.current()
    return describe_vector(rt, loaded, rt.embed_image(loaded, image), k, proposals)


def describe_observation(rt: Runtime, observation_id: int, k: int, proposals: int) -> DescribeResult:
    loaded = rt.current()
    return describe_vector(rt, loaded, _observation_vector(rt, loaded, observation_id), k, proposals)


def proposal_detail(rt: Runtime, proposal_pk: int) -> ProposalDetail:
    with session_scope(rt.settings.db_url) as s:
        p = queries.proposal(s, proposal_pk)
        if p is None:
            raise HTTPException(404, f"proposal {proposal_pk} not found")
        return ProposalDetail(
            **proposal_brief(p).model_dump(),
            abstract=p.abstract,
            summary=queries.summaries(s, [p.id]).get(p.id),
            observations=[observation_out(o, rt) for o in queries.proposal_observations(s, p.id)],
        )


def observation_detail(rt: Runtime, observation_id: int) -> ObservationDetail:
    with session_scope(rt.settings.db_url) as s:
        row = queries.observation(s, observation_id)
        if row is None:
            raise HTTPException(404, f"observation {observation_id} not found")
        o, p = row
    return ObservationDetail(**observation_out(o, rt).model_dump(), proposal=proposal_detail(rt, p.id))
