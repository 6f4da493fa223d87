"""Image retrieval: text, a position, an image (with words added or taken away), or an observation ->
observations; any result set also as CSV, VOTable or JSON (``format``)."""

from __future__ import annotations

import base64
import re
from dataclasses import replace

import numpy as np
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response

from app import exports, retrieval
from app.api import API_PREFIX, Format, ObservationRef, query_text, result_set, runtime
from app.compose import DEFAULT_WEIGHT, compose, parse_terms
from app.retrieval import SearchRequest
from app.runtime import Runtime
from app.schemas import Problem, SearchPage
from app.uploads import multipart, read_image

router = APIRouter(prefix=API_PREFIX, tags=["image retrieval"])
UPLOAD_ERRORS = {s: {"model": Problem} for s in (400, 413, 415, 422, 429, 503)}
EXPORTS = {
    200: {
        "content": {
            "text/csv": {},
            "application/x-votable+xml": {},
        },
        "description": "With format=csv or format=votable: the result set as a file",
    }
}
FORMAT = Query(
    "json", alias="format", description="json (this page; given explicitly, as a file to save), csv, votable"
)
TEXT = Query(None, max_length=500, description='Words to add to the image; -"term" takes a term away')
WEIGHT = Query(
    DEFAULT_WEIGHT, ge=0, le=1, description="How much the words move the query (0: the image alone)"
)


def respond(request: Request, page: SearchPage, fmt: str, name: str) -> SearchPage | Response:
    """The page itself, or its hits as a file to download."""
    if fmt == "json" and "format" not in request.query_params:
        return page
    info = {
        "query": page.query,
        "mode": page.mode,
        "index_version": page.index_version,
        "total": page.total,
        "weak_match": page.weak_match,
        "position": page.position
        and f"{page.position.ra} {page.position.dec} r={page.position.radius_arcmin}'",
        "synthetic": page.synthetic,
    }
    if fmt == "json":  # this API's own page (its schema), as a file
        body, media_type, ext = page.model_dump_json().encode(), "application/json", "json"
    else:
        body, media_type, ext = exports.render(fmt, exports.rows_from_page(page, str(request.base_url)), info)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:40] or "results"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="paperclip-{slug}.{ext}"'},
    )


@router.get(
    "/search",
    response_model=SearchPage,
    responses={**EXPORTS, 422: {"model": Problem}, 503: {"model": Problem}},
)
def search(
    request: Request,
    q: str | None = Query(
        None, max_length=1000, description="Plain-language query (optional with a position)"
    ),
    req: SearchRequest = Depends(result_set),
    fmt: Format = FORMAT,
    rt: Runtime = Depends(runtime),
):
    """Observations matching words and/or a sky position. With a position alone they come nearest
    first, with filters alone newest first; with words, by ``mode``. ``weak_match`` says when
    nothing stands out from background."""
    words = query_text(q) if q is not None else None
    req = replace(req, words=words)
    loaded = rt.current()
    vec = rt.embed_text(loaded, words) if words else None  # in text mode too: calibrated scores
    page = retrieval.search(rt, req, vec, "text", loaded)
    return respond(request, page, fmt, words or "position")


@router.post(
    "/search/image",
    response_model=SearchPage,
    responses={**EXPORTS, **UPLOAD_ERRORS},
    dependencies=[Depends(multipart)],
)
def search_image(
    request: Request,
    file: UploadFile = File(..., description="JPEG, PNG, TIFF or FITS"),
    text: str | None = Form(None, max_length=500, description='Words to add; -"term" takes a term away'),
    weight: float = Form(DEFAULT_WEIGHT, ge=0, le=1, description="How much the words move the query"),
    req: SearchRequest = Depends(result_set),
    fmt: Format = FORMAT,
    rt: Runtime = Depends(runtime),
):
    """Observations like an uploaded image, optionally moved towards words ("but edge-on") and away
    from others (-"dust lanes")."""
    loaded = rt.current()
    image = read_image(file, rt)
    vec = image_query(rt, loaded, rt.embed_image(loaded, image), text, weight)
    req = replace(req, mode="vector")
    page = retrieval.search(rt, req, vec, "image", loaded)
    if is_blank(image):
        page.weak_match = True
    return respond(request, page, fmt, file.filename or "image")


@router.get("/search/vector", response_model=SearchPage, responses={**EXPORTS, 409: {"model": Problem}})
def search_vector(
    request: Request,
    v: str = Query(..., max_length=8192, description="A query vector from this service: base64url float16"),
    version: int = Query(..., ge=1, le=2**31 - 1, description="The index version the vector was made for"),
    req: SearchRequest = Depends(result_set),
    fmt: Format = FORMAT,
    rt: Runtime = Depends(runtime),
):
    """A result set again from its query vector (what the UI's export and SAMP links of an upload
    use: nothing is kept on the server)."""
    loaded = rt.current()
    if version != loaded.version_id:
        raise HTTPException(
            409, f"the served index is version {loaded.version_id}, not {version}: search again"
        )
    try:
        vec = np.frombuffer(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), dtype="<f2").astype(np.float32)
    except ValueError:
        raise HTTPException(422, "v is not base64url float16") from None
    if vec.size != loaded.vectors.shape[1] or not np.isfinite(vec).all() or not np.linalg.norm(vec):
        raise HTTPException(422, f"v must hold {loaded.vectors.shape[1]} finite float16 values")
    req = replace(req, mode="vector")
    page = retrieval.search(rt, req, vec / np.linalg.norm(vec), "image", loaded)
    return respond(request, page, fmt, "image")


@router.get(
    "/observations/{ref}/similar",
    response_model=SearchPage,
    responses={**EXPORTS, 300: {"model": Problem}, 404: {"model": Problem}},
)
def similar(
    request: Request,
    ref: ObservationRef,
    text: str | None = TEXT,
    weight: float = WEIGHT,
    req: SearchRequest = Depends(result_set),
    fmt: Format = FORMAT,
    rt: Runtime = Depends(runtime),
):
    """More like this observation (never itself), optionally with words added or taken away."""
    observation_id = retrieval.find_observation(rt, ref)
    loaded = rt.current()
    vec = image_query(rt, loaded, retrieval.observation_vector(rt, loaded, observation_id), text, weight)
    req = replace(req, mode="vector", exclude=observation_id)
    return respond(request, retrieval.search(rt, req, vec, "image", loaded), fmt, f"similar-{ref}")


def image_query(rt: Runtime, loaded, vec: np.ndarray, text: str | None, weight: float) -> np.ndarray:
    added, minus = parse_terms(text or "")
    if not added and not minus:
        return vec
    return compose(vec, added, minus, weight, lambda t: rt.embed_text(loaded, t))


def vector_token(vec: np.ndarray) -> str:
    """A query vector as the ``v`` of /search/vector."""
    return base64.urlsafe_b64encode(np.asarray(vec, "<f2").tobytes()).decode().rstrip("=")


def is_blank(image) -> bool:
    from app.calibration import is_blank as blank

    return blank(np.asarray(image.convert("L")))
