"""Description retrieval: image -> ranked science descriptions and the nearest proposals."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Query, UploadFile

from app import retrieval
from app.api import API_PREFIX, ObservationRef, runtime
from app.api.search import UPLOAD_ERRORS
from app.runtime import Runtime
from app.schemas import DescribeResult, Problem
from app.uploads import multipart, read_image

router = APIRouter(prefix=API_PREFIX, tags=["description retrieval"])
K = Query(10, ge=1, le=100, description="Descriptions to return")
PROPOSALS = Query(5, ge=0, le=50, description="Nearest proposals to return")


@router.post(
    "/describe", response_model=DescribeResult, responses=UPLOAD_ERRORS, dependencies=[Depends(multipart)]
)
def describe(
    file: UploadFile = File(..., description="JPEG, PNG, TIFF or FITS"),
    k: int = K,
    proposals: int = PROPOSALS,
    rt: Runtime = Depends(runtime),
) -> DescribeResult:
    """Descriptions of an uploaded image; ``weak_match`` true when none stands out (a blank,
    constant or noise image): the ranking is then background, not an answer."""
    from app.api.search import is_meaningless

    loaded = rt.current()
    image = read_image(file, rt)
    vec = rt.embed_image(loaded, image)
    return retrieval.describe_vector(rt, loaded, vec, k, proposals, meaningless=is_meaningless(image))


@router.get(
    "/observations/{ref}/describe",
    response_model=DescribeResult,
    responses={300: {"model": Problem}, 404: {"model": Problem}},
)
def describe_observation(
    ref: ObservationRef, k: int = K, proposals: int = PROPOSALS, rt: Runtime = Depends(runtime)
) -> DescribeResult:
    """Descriptions of an observation; its own proposal is among the nearest, marked ``own``."""
    return retrieval.describe_observation(rt, retrieval.find_observation(rt, ref), k, proposals)
