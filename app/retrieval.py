"""Image retrieval and description retrieval: the runtime's vectors joined with the database's metadata.

The API and the web pages both call these, so both answer the same thing. A search is one
``SearchRequest``: a query vector (text, image, image + text, an observation) and/or words for
full-text search, and/or a sky position; filters over the served version's metadata arrays;
``mode`` (vector, text, hybrid), ``sort`` and ``group``. See ``app.ranking`` for the ordering
and ``app.calibration`` for the calibrated scores and the weak-match flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from fastapi import HTTPException

from app import queries
from app.calibration import POOL, NullModel
from app.filtered import Filters, cone_distances
from app.identifiers import mast_links, mast_obs_id, program_url
from app.loading import Loaded
from app.ranking import by_distance, combine, facet_counts, group_by_proposal, int_facet, sort_rows, text_rows
from app.runtime import Runtime
from app.schemas import (
    DescribeResult,
    Description,
    Facet,
    Hit,
    MastLinks,
    ObservationDetail,
    ObservationOut,
    Position,
    ProposalBrief,
    ProposalDetail,
    ProposalMatch,
    SearchPage,
)
from paperclip import fulltext, obstime, sky
from paperclip.db import session_scope
from paperclip.index_meta import INT_NULL
from paperclip.schema import Observation, Proposal

PROPOSAL_POOL = 50  # observations looked at to find the nearest proposals of an image
MAX_K = 200  # results per page
MAX_RESULTS = 2000  # the deepest rank served: later pages are empty
TEXT_LIMIT = 1000  # proposals full-text search returns at most
MORE_LIMIT = 50  # other hits of one proposal listed under its best (group=proposal)
FACETS = ("instrument", "filter", "cycle", "collection")


@dataclass(frozen=True)
class Where:
    """A search position and how it was given."""

    ra: float
    dec: float
    radius_deg: float
    resolved: str | None = None  # near=NAME: how the name was resolved

    def out(self) -> Position:
        return Position(
            ra=self.ra,
            dec=self.dec,
            ra_hms=sky.format_ra(self.ra),
            dec_dms=sky.format_dec(self.dec),
            radius_arcmin=self.radius_deg * 60,
            resolved=self.resolved,
        )


@dataclass(frozen=True)
class SearchRequest:
    words: str | None = None  # the text query, for full-text search and the page's echo
    mode: str = "vector"
    filters: Filters = field(default_factory=Filters)
    where: Where | None = None
    sort: str = "relevance"
    group: str = "none"
    k: int = 12
    page: int = 1
    exclude: int | None = None  # an observation left out ("more like this" leaves out itself)


def program_page(p: Proposal) -> str:
    return f"/proposals/{p.proposal_id if p.collection == 'HST' else f'{p.collection}:{p.proposal_id}'}"


def proposal_brief(p: Proposal) -> ProposalBrief:
    return ProposalBrief(
        id=p.id,
        proposal_id=p.proposal_id,
        collection=p.collection,
        title=p.title,
        pi=p.pi,
        cycle=p.cycle,
        category=p.category,
        program_url=program_url(p.collection, p.proposal_id),
        page_url=program_page(p),
    )


def observation_out(o: Observation, p: Proposal, rt: Runtime) -> ObservationOut:
    links = mast_links(
        o.collection,
        o.obs_id,
        o.product_filename,
        p.proposal_id,
        rt.settings.mast_portal_url,
        rt.settings.mast_download_url,
    )
    return ObservationOut(
        id=o.id,
        obs_id=o.obs_id,
        mast_obs_id=mast_obs_id(o.collection, o.obs_id, o.product_filename),
        collection=o.collection,
        instrument=o.instrument,
        filters=o.filters,
        target=o.target,
        ra=o.ra,
        dec=o.dec,
        ra_hms=sky.format_ra(o.ra) if o.ra is not None else None,
        dec_dms=sky.format_dec(o.dec) if o.dec is not None else None,
        start_time=o.start_time,
        start_mjd=round(obstime.to_mjd(o.start_time), 6) if o.start_time else None,
        exposure_s=o.exposure_s,
        width=o.width,
        height=o.height,
        preview_url=f"/api/v1/previews/{o.id}",
        page_url=f"/observations/{o.id}",
        mast_url=links and links.observation,
        mast=MastLinks(**vars(links)) if links else None,
    )


# -- search -----------------------------------------------------------------------------------------
@dataclass
class _Ranked:
    rows: list[int]
    scores: dict[int, float]  # cosine per row, where a query vector was scored
    total: int
    exact: bool
    strength: float | None
    weak: bool | None


def _rows_of(loaded: Loaded, ids: list[int]) -> np.ndarray:
    return loaded.order[np.searchsorted(loaded.sorted_ids, np.asarray(ids, np.int64))]


def _rank(
    rt: Runtime, loaded: Loaded, req: SearchRequest, vec: np.ndarray | None, null: NullModel | None
) -> _Ranked:
    meta = loaded.metadata
    f = req.filters
    allowed = rt.allowed(loaded, f) if f.any else None
    n_allowed = loaded.files.count if allowed is None else int(allowed.sum())
    if req.exclude is not None and loaded.vector_of(req.exclude) is not None:
        n_allowed -= 1
    vector_rows: list[int] = []
    scores: dict[int, float] = {}
    strength = None
    if vec is not None and req.mode != "text":
        found = rt.search(loaded, vec, min(MAX_RESULTS + 1, max(n_allowed + 1, 1)), f if f.any else None)
        found = [(i, s) for i, s in found if i != req.exclude]
        rows = _rows_of(loaded, [i for i, _ in found]) if found else np.zeros(0, np.int64)
        vector_rows = [int(r) for r in rows]
        scores = {int(r): s for r, (_, s) in zip(rows, found, strict=True)}
        if null is not None and found:
            top = rows[:POOL]
            strength = null.strength(np.array([s for _, s in found[:POOL]]), top)
    text: list[list[int]] = []
    text_complete = True
    if req.words and req.mode != "vector":
        with session_scope(rt.settings.db_url) as s:
            pks = [pk for pk, _ in fulltext.search_proposals(s, req.words, TEXT_LIMIT)]
        text_complete = len(pks) < TEXT_LIMIT
        text = text_rows(meta.columns["proposal_pk"], pks, allowed)
        if req.exclude is not None:
            ex = loaded.vector_of(req.exclude) is not None and int(_rows_of(loaded, [req.exclude])[0])
            text = [[r for r in g if r != ex] for g in text]
    if vec is None and not req.words:  # a position alone: nearest first; filters alone: newest first
        if f.cone:
            rows = by_distance(cone_distances(meta, f.cone), allowed)
        else:
            every = np.flatnonzero(allowed) if allowed is not None else np.arange(len(meta))
            rows = sort_rows(every.tolist(), "date", meta.columns.get("start"), None)
        rows = [r for r in rows if req.exclude is None or int(loaded.files.ids[r]) != req.exclude]
        return _Ranked(rows, {}, len(rows), True, None, None)
    rows = combine(req.mode if vec is not None else "text", vector_rows, text)
    text_total = sum(len(g) for g in text)
    if req.mode == "text" or vec is None:
        total, exact = text_total, text_complete
        weak = text_total == 0
    else:
        total, exact = n_allowed, True
        weak = None if null is None else null.weak(strength)
        if req.mode == "hybrid" and weak and text_total:
            weak = False  # the words matched proposal texts: not background
    return _Ranked(rows, scores, total, exact, strength, weak)


def search(
    rt: Runtime,
    req: SearchRequest,
    vec: np.ndarray | None = None,
    modality: str = "text",
    loaded: Loaded | None = None,
) -> SearchPage:
    """One page of a search; ``vec`` the query vector (None for words or a position only),
    ``modality`` which null model judges it (text, or image for uploads and observations)."""
    loaded = loaded or rt.current()
    if req.where is not None:
        req = replace(
            req, filters=replace(req.filters, cone=(req.where.ra, req.where.dec, req.where.radius_deg))
        )
    cal = loaded.calibration
    null = None if cal is None else (cal.image if modality == "image" else cal.text)
    ranked = _rank(rt, loaded, req, vec, null)
    meta = loaded.metadata
    rows = sort_rows(
        ranked.rows[:MAX_RESULTS], req.sort, meta.columns.get("start"), meta.columns.get("exposure")
    )
    facets = {
        name: [Facet(value=v, count=n) for v, n in counts]
        for name, counts in (
            ("instrument", facet_counts(rows, meta.columns["instrument"], meta.dictionaries["instrument"])),
            ("filter", facet_counts(rows, meta.columns["filter"], meta.dictionaries["filter"])),
            ("cycle", int_facet(rows, meta.columns["cycle"], INT_NULL)),
            ("collection", facet_counts(rows, meta.columns["collection"], meta.dictionaries["collection"])),
        )
    }
    offset = (req.page - 1) * req.k
    if req.group == "proposal":
        groups = group_by_proposal(rows, meta.columns["proposal_pk"])
        page_groups = groups[offset : offset + req.k]
        has_next = len(groups) > offset + req.k
        wanted = [(g.best, g.more[:MORE_LIMIT]) for g in page_groups]
    else:
        has_next = len(rows) > offset + req.k
        wanted = [(r, []) for r in rows[offset : offset + req.k]]
    distances = cone_distances(meta, req.filters.cone) if req.filters.cone else None
    background = cal.background(vec) if cal is not None and vec is not None else None
    rank_of = {r: n + 1 for n, r in enumerate(rows)}

    def score(row: int) -> float | None:
        if vec is None:
            return None
        if row not in ranked.scores:  # found by full-text search only: its cosine all the same
            ranked.scores[row] = float(np.asarray(loaded.vectors[row], np.float32) @ vec)
        return ranked.scores[row]

    all_rows = [r for best, more in wanted for r in (best, *more)]
    ids = [int(loaded.files.ids[r]) for r in all_rows]
    with session_scope(rt.settings.db_url) as s:
        found = queries.observations(s, ids)

        def hit(row: int) -> Hit | None:
            pair = found.get(int(loaded.files.ids[row]))
            if pair is None:
                return None
            sc = score(row)
            return Hit(
                rank=rank_of[row],
                score=sc,
                z_score=round(background.z(sc), 3) if background is not None and sc is not None else None,
                percentile=round(background.percentile(sc), 3)
                if background is not None and sc is not None
                else None,
                distance_arcmin=None if distances is None else round(float(distances[row]) * 60, 4),
                observation=observation_out(pair[0], pair[1], rt),
                proposal=proposal_brief(pair[1]),
            )

        results = []
        for best, more in wanted:
            h = hit(best)
            if h is not None:
                h.more = [m for m in map(hit, more) if m is not None]
                results.append(h)
    return SearchPage(
        query=req.words,
        mode=req.mode,
        sort=req.sort,
        group=req.group,
        k=req.k,
        page=req.page,
        has_next=has_next and offset + req.k < MAX_RESULTS,
        total=ranked.total,
        total_exact=ranked.exact,
        weak_match=ranked.weak,
        strength=None if ranked.strength is None else round(ranked.strength, 3),
        position=req.where.out() if req.where else None,
        facets=facets,
        index_version=loaded.version_id,
        synthetic=loaded.synthetic,
        results=results,
    )


def observation_vector(rt: Runtime, loaded: Loaded, observation_id: int) -> np.ndarray:
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


# -- description retrieval --------------------------------------------------------------------------
def describe_vector(
    rt: Runtime,
    loaded: Loaded,
    vec: np.ndarray,
    k: int,
    proposals: int,
    own: int | None = None,
    meaningless: bool = False,
) -> DescribeResult:
    """Descriptions and the nearest proposals of an image; ``own`` (a proposal id) is the described
    observation's own proposal, labelled as such rather than passed off as a discovery. The answer
    is weak when the image is ``meaningless`` (blank, constant or noise: ``app.api.search``) or its
    nearest archive images stand out no more than those of noise images do (``app.calibration``)."""
    terms = rt.describe(loaded, vec, k)
    best: dict[int, float] = {}
    found = rt.search(loaded, vec, PROPOSAL_POOL)
    cal = loaded.calibration
    with session_scope(rt.settings.db_url) as s:
        rows = queries.observations(s, [i for i, _ in found])
        for i, score in found:
            if i in rows:
                pk = rows[i][1].id
                best[pk] = max(best.get(pk, -1.0), score)
        top = sorted(best.items(), key=lambda kv: (kv[0] != own, -kv[1]))[:proposals]
        props = {p.id: p for _, p in rows.values()}
        texts = queries.summaries(s, [pk for pk, _ in top])
        matches = [
            ProposalMatch(
                score=score, proposal=proposal_brief(props[pk]), summary=texts.get(pk), own=pk == own
            )
            for pk, score in top
        ]
    weak = True if meaningless else None
    if cal is not None and found and not meaningless:
        positions = _rows_of(loaded, [i for i, _ in found])
        weak = cal.image.weak(cal.image.strength(np.array([s for _, s in found]), positions))
    return DescribeResult(
        index_version=loaded.version_id,
        weak_match=weak,
        descriptions=[
            Description(rank=n + 1, text=t["text"], kind=t.get("kind", "object"), score=score, cosine=cosine)
            for n, (t, score, cosine) in enumerate(terms)
        ],
        proposals=matches,
    )


def describe_observation(rt: Runtime, observation_id: int, k: int, proposals: int) -> DescribeResult:
    loaded = rt.current()
    with session_scope(rt.settings.db_url) as s:
        row = queries.observation(s, observation_id)
    own = row[1].id if row else None
    return describe_vector(rt, loaded, observation_vector(rt, loaded, observation_id), k, proposals, own)


# -- archive ------------------------------------------------------------------------------------------
def proposal_detail(rt: Runtime, proposal_pk: int) -> ProposalDetail:
    with session_scope(rt.settings.db_url) as s:
        p = queries.proposal(s, proposal_pk)
        if p is None:
            raise HTTPException(404, f"proposal {proposal_pk} not found")
        return ProposalDetail(
            **proposal_brief(p).model_dump(),
            abstract=p.abstract,
            summary=queries.summaries(s, [p.id]).get(p.id),
            observations=[observation_out(o, p, rt) for o in queries.proposal_observations(s, p.id)],
        )


def observation_detail(rt: Runtime, observation_id: int) -> ObservationDetail:
    with session_scope(rt.settings.db_url) as s:
        row = queries.observation(s, observation_id)
        if row is None:
            raise HTTPException(404, f"observation {observation_id} not found")
        o, p = row
        out = observation_out(o, p, rt)
    return ObservationDetail(**out.model_dump(), proposal=proposal_detail(rt, p.id))


def find_observation(rt: Runtime, ref: str) -> int:
    """An observation by internal id, obs_id (any case), MAST obs_id or HST dataset name; 404 if
    none, 300 (with the candidates) if the name fits several."""
    with session_scope(rt.settings.db_url) as s:
        ids = queries.find_observations(s, ref)
    if not ids:
        raise HTTPException(404, f"no observation {ref!r}: give its id or the archive's obs_id")
    if len(ids) > 1:
        raise HTTPException(300, f"{ref!r} names {len(ids)} observations: {', '.join(map(str, ids[:20]))}")
    return ids[0]


def find_proposal(rt: Runtime, ref: str) -> int:
    """A proposal by number (``15446``; HST first when several collections use it), by
    ``COLLECTION:NUMBER``, or else by database id."""
    with session_scope(rt.settings.db_url) as s:
        pk = queries.find_proposal(s, ref)
    if pk is None:
        raise HTTPException(404, f"no proposal {ref!r}")
    return pk
