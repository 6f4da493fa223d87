"""The browser UI: server-rendered pages over the same retrieval functions as the API.

Every page works without JavaScript (plain GET forms and a multipart upload form); the only
script adds drag and drop to the upload page.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import retrieval
from app.api import DbId, filters, runtime
from app.filtered import Filters
from app.runtime import NotReady, Runtime
from app.uploads import read_image
from paperclip.imaging import ImageError, encode_jpeg, to_preview

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
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


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    rt: Runtime = request.app.state.runtime
    loaded = rt.loaded
    context.setdefault("synthetic", bool(loaded and loaded.synthetic))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def render_error(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return _page(request, "error.html", status, status=status, title=title, detail=detail)


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    q: str = "",
    page: int = 1,
    f: Filters = Depends(filters),
    rt: Runtime = Depends(runtime),
) -> HTMLResponse:
    q = q.strip()[:1000]
    page = max(1, min(page, retrieval.MAX_RESULTS // PAGE_SIZE))
    results = retrieval.search_text(rt, q, PAGE_SIZE, page, f) if q else None
    return _page(request, "search.html", q=q, f=f, results=results, examples=EXAMPLES)


@router.get("/observations/{observation_id}", response_class=HTMLResponse)
def observation(request: Request, observation_id: DbId, rt: Runtime = Depends(runtime)) -> HTMLResponse:
    detail = retrieval.observation_detail(rt, observation_id)
    similar = retrieval.similar(rt, observation_id, 8, 1, Filters())
    described = retrieval.describe_observation(rt, observation_id, 10, 5)
    return _page(request, "observation.html", o=detail, similar=similar, described=described)


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def proposal(request: Request, proposal_id: DbId, rt: Runtime = Depends(runtime)) -> HTMLResponse:
    return _page(request, "proposal.html", p=retrieval.proposal_detail(rt, proposal_id))


@router.get("/upload", response_class=HTMLResponse)
def upload_form(request: Request) -> HTMLResponse:
    return _page(request, "upload.html")


@router.post("/upload", response_class=HTMLResponse)
def upload(request: Request, file: UploadFile = File(...), rt: Runtime = Depends(runtime)) -> HTMLResponse:
    try:
        image = read_image(file, rt)
    except ImageError as e:
        return _page(request, "upload.html", e.status, error=str(e))
    try:
        loaded = rt.current()
        vec = rt.embed_image(loaded, image)  # once: both panels use the same vector
        similar = retrieval.search_vector(rt, loaded, vec, 12, 1, Filters(), None)
        described = retrieval.describe_vector(rt, loaded, vec, 10, 5)
    except NotReady as e:
        return _page(request, "upload.html", 503, error=str(e))
    thumb = base64.b64encode(encode_jpeg(to_preview(image, 256), quality=85)).decode()
    return _page(
        request,
        "upload.html",
        filename=file.filename,
        thumb=f"data:image/jpeg;base64,{thumb}",
        similar=similar,
        described=described,
    )
