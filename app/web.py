"""The browser UI: server-rendered pages over the same retrieval functions as the API.

Every page works without JavaScript (plain GET forms, a multipart upload form, ``<details>`` for
"+N more from this proposal"); scripts add drag and drop and a busy state to the upload page and
the SAMP button that sends a result set to TOPCAT or Aladin.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from astropy import units as u
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app import retrieval
from app.api import ObservationRef, ProposalRef, filters, runtime
from app.api.search import image_query, is_meaningless, vector_token
from app.compose import DEFAULT_WEIGHT
from app.filtered import Filters
from app.identifiers import parse_jump
from app.resolve import NameNotResolved
from app.retrieval import SearchRequest, Where
from app.runtime import NotReady, Runtime
from app.uploads import multipart, read_image
from paperclip import obstime, sky
from paperclip.imaging import ImageError, encode_jpeg

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["utc"] = lambda t: obstime.format_utc(t) if t else ""
templates.env.filters["mjd"] = lambda t: f"{obstime.to_mjd(t):.5f}" if t else ""
router = APIRouter(include_in_schema=False)

EXAMPLES = (
    "globular clusters",
    "gravitational lensing",
    "protoplanetary disks",
    "interacting galaxies",
    "supernova remnants",
    "Jupiter aurora",
)
PAGE_SIZE = 24
MAX_QUERY = 1000
UNITS = {"arcsec": u.arcsec, "arcmin": u.arcmin, "deg": u.deg}
SHOWN_PIXELS = 2048  # the uploaded image is shown at its own size up to this long side


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    rt: Runtime = request.app.state.runtime
    loaded = rt.loaded
    context.setdefault("synthetic", bool(loaded and loaded.synthetic))
    context.setdefault("samp_hub", rt.settings.samp_hub_url)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def render_error(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return _page(request, "error.html", status, status=status, title=title, detail=detail)


def _where(rt: Runtime, pos: str, radius: str, unit: str) -> Where | None:
    """The form's one position box: coordinates (any form ``sky.parse_coordinate`` takes) or a name."""
    if not pos.strip():
        return None
    try:
        r = sky.parse_radius(f"{radius} {unit}" if radius.strip() else "3 arcmin")
    except sky.CoordinateError as e:
        raise HTTPException(422, str(e)) from None
    coord = sky.parse_coordinate(pos)
    if coord is not None:
        return Where(float(coord.ra.deg), float(coord.dec.deg), r.to(u.deg).value)
    try:
        found = rt.resolver.resolve(pos)
    except NameNotResolved as e:
        raise HTTPException(422, str(e)) from None
    return Where(found.ra, found.dec, r.to(u.deg).value, f"{pos.strip()} → {found.detail}")


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    q: str = "",
    page: int = Query(1, ge=1, le=retrieval.MAX_RESULTS),
    pos: str = Query("", max_length=100),
    radius: str = Query("", max_length=20),
    unit: str = Query("arcmin", pattern="^(arcsec|arcmin|deg)$"),
    mode: str = Query("", pattern="^(vector|text|hybrid)?$"),
    sort: str = Query("relevance", pattern="^(relevance|date|exposure)$"),
    group: str = Query("proposal", pattern="^(none|proposal)$"),
    f: Filters = Depends(filters),
    rt: Runtime = Depends(runtime),
) -> Response:
    mode = mode or rt.settings.search_mode
    typed = q.strip()
    truncated = len(typed) > MAX_QUERY
    q = typed[:MAX_QUERY]
    jump = parse_jump(q) if q and not pos.strip() else None
    if jump and jump.kind == "proposal":
        return RedirectResponse(f"/proposals/{jump.value}", status_code=303)
    if jump and jump.kind == "observation":
        try:
            return RedirectResponse(f"/observations/{retrieval.find_observation(rt, q)}", status_code=303)
        except HTTPException:
            pass  # not an observation after all: search for the words
    where = _where(rt, pos, radius, unit)
    if jump and jump.kind == "position":
        c = jump.value
        where, q = Where(float(c.ra.deg), float(c.dec.deg), sky.DEFAULT_RADIUS.to(u.deg).value), ""
    results = None
    if q or where:
        req = SearchRequest(
            q or None, mode, f, where, sort, group, PAGE_SIZE, min(page, retrieval.MAX_RESULTS // PAGE_SIZE)
        )
        loaded = rt.current()
        vec = rt.embed_text(loaded, q) if q else None  # in text mode too: calibrated scores
        results = retrieval.search(rt, req, vec, "text", loaded)
    form = {"pos": pos, "radius": radius, "unit": unit, "mode": mode, "sort": sort, "group": group}
    api = _api_params(request, q, where)
    return _page(
        request,
        "search.html",
        q=q,
        f=f,
        form=form,
        results=results,
        examples=EXAMPLES,
        truncated=truncated and len(typed),
        max_query=MAX_QUERY,
        exports=_exports("/api/v1/search", api) if results else None,
    )


def _api_params(request: Request, q: str, where: Where | None) -> dict[str, str]:
    """The API query of what this page shows (the whole result set, ungrouped, for exports)."""
    keep = {
        "instrument",
        "filter",
        "cycle",
        "proposal",
        "target",
        "collection",
        "start",
        "end",
        "min_exposure",
        "mode",
        "sort",
    }
    params = {k: v for k, v in request.query_params.items() if k in keep and v}
    if q:
        params["q"] = q
    if where is not None:
        params |= {
            "ra": f"{where.ra:.7f}",
            "dec": f"{where.dec:.7f}",
            "radius": f"{where.radius_deg * 3600:.3f} arcsec",
        }
    return params


def _exports(path: str, params: dict[str, str]) -> dict[str, str]:
    base = {**params, "k": str(retrieval.MAX_K), "page": "1", "group": "none"}
    return {fmt: f"{path}?{urlencode({**base, 'format': fmt})}" for fmt in ("votable", "csv", "json")}


@router.get("/observations/{ref}", response_class=HTMLResponse)
def observation(
    request: Request,
    ref: ObservationRef,
    like: str = Query("", max_length=500),
    weight: float = Query(DEFAULT_WEIGHT, ge=0, le=1),
    rt: Runtime = Depends(runtime),
) -> Response:
    observation_id = retrieval.find_observation(rt, ref)
    if ref != str(observation_id):
        return RedirectResponse(f"/observations/{observation_id}", status_code=303)
    detail = retrieval.observation_detail(rt, observation_id)
    loaded = rt.current()
    vec = image_query(rt, loaded, retrieval.observation_vector(rt, loaded, observation_id), like, weight)
    req = SearchRequest(None, "vector", Filters(), None, "relevance", "none", 8, 1, exclude=observation_id)
    similar = retrieval.search(rt, req, vec, "image", loaded)
    described = retrieval.describe_observation(rt, observation_id, 10, 5)
    params = {"text": like, "weight": str(weight)} if like else {}
    exports = _exports(f"/api/v1/observations/{observation_id}/similar", params)
    return _page(
        request,
        "observation.html",
        o=detail,
        similar=similar,
        described=described,
        like=like,
        weight=weight,
        exports=exports,
    )


@router.get("/proposals/{ref}", response_class=HTMLResponse)
def proposal(request: Request, ref: ProposalRef, rt: Runtime = Depends(runtime)) -> HTMLResponse:
    return _page(request, "proposal.html", p=retrieval.proposal_detail(rt, retrieval.find_proposal(rt, ref)))


@router.get("/upload", response_class=HTMLResponse)
def upload_form(request: Request) -> HTMLResponse:
    return _page(request, "upload.html", weight=DEFAULT_WEIGHT)


@router.post("/upload", response_class=HTMLResponse, dependencies=[Depends(multipart)])
def upload(
    request: Request,
    file: UploadFile = File(...),
    text: str = Form("", max_length=500),
    weight: float = Form(DEFAULT_WEIGHT, ge=0, le=1),
    rt: Runtime = Depends(runtime),
) -> HTMLResponse:
    try:
        image = read_image(file, rt)
    except ImageError as e:
        return _page(request, "upload.html", e.status, error=str(e), weight=weight)
    meaningless = is_meaningless(image)
    try:
        loaded = rt.current()
        vec = rt.embed_image(loaded, image)  # once: both panels use the same vector
        query = image_query(rt, loaded, vec, text, weight)
        req = SearchRequest(None, "vector", Filters(), None, "relevance", "none", 12, 1)
        similar = retrieval.search(rt, req, query, "image", loaded)
        described = retrieval.describe_vector(rt, loaded, vec, 10, 5, meaningless=meaningless)
    except NotReady as e:
        return _page(request, "upload.html", 503, error=str(e), weight=weight)
    if meaningless:
        similar.weak_match = True
    shown = image.copy()
    shown.thumbnail((SHOWN_PIXELS, SHOWN_PIXELS))
    buf = io.BytesIO(encode_jpeg(shown, quality=90))
    params = {"v": vector_token(query), "version": str(loaded.version_id)}
    return _page(
        request,
        "upload.html",
        filename=file.filename,
        shown=f"data:image/jpeg;base64,{base64.b64encode(buf.getvalue()).decode()}",
        shown_size=shown.size,
        original_size=image.size,
        similar=similar,
        described=described,
        text=text,
        weight=weight,
        exports=_exports("/api/v1/search/vector", params),
    )
