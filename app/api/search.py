"""Image retrieval: text -> observations, image -> observations, observation -> similar ones."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Query, UploadFile

from app import retrieval
from app.api import API_PREFIX, DbId, filters, paging, runtime
from app.filtered import Filters
from app.runtime import Runtime
from app.schemas import Problem, SearchPage
from app.uploads import read_image

router = APIRouter(prefix=API_PREFIX, tags=["image retrieval"])
UPLOAD_ERRORS = {s: {"model": Problem} for s in (400, 413, 415, 422, 429, 503)}


@router.get(
    "/search", response_model=SearchPage, responses={422: {"model": Problem}, 503: {"model": Problem}}
)
def search(
    q: str = Query(..., min_length=1, max_length=1000, description="Plain-language query"),
    f: Filters = Depends(filters),
    kp: tuple[int, int] = Depends(paging),
    rt: Runtime = Depends(runtime),
) -> SearchPage:
    return retrieval.search_text(rt, q.strip(), *kp, f)


@router.post("/search/image", response_model=SearchPage, responses=UPLOAD_ERRORS)
def search_image(
    file: UploadFile = File(..., description="JPEG, PNG, TIFF or FITS"),
    f: Filters = Depends(filters),
    kp: tuple[int, int] = Depends(paging),
    rt: Runtime = Depends(runtime),
) -> SearchPage:
    return retrieval.search_image(rt, read_image(file, rt), *kp, f)


@router.get(
    "/observations/{observation_id}/similar", response_model=SearchPage, responses={404: {"model": Problem}}
)
def similar(
    observation_id: DbId,
    f: Filters = Depends(filters),
    kp: tuple[int, int] = Depends(paging),
    rt: Runtime = Depends(runtime),
) -> SearchPage:
    return retrieval.similar(rt, observation_id, *kp, f)
