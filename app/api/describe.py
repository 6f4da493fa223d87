"""Description retrieval: image -> ranked science descriptions and the nearest proposals."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Query, UploadFile

from app import retrieval
from app.api import API_PREFIX, DbId, runtime
from app.api.search import UPLOAD_ERRORS
from app.runtime import Runtime
from app.schemas import DescribeResult, Problem
from app.uploads import read_image

router = APIRouter(prefix=API_PREFIX, tags=["description retrieval"])
K = Query(10, ge=1, le=100, description="Descriptions to return")
PROPOSALS = Query(5, ge=0, le=50, description="Nearest proposals to return")


@router.post("/describe", response_model=DescribeResult, responses=UPLOAD_ERRORS)
def describe(
    file: UploadFile = File(..., description="JPEG, PNG, TIFF or FITS"),
    k: int = K,
    proposals: int = PROPOSALS,
    rt: Runtime = Depends(runtime),
) -> DescribeResult:
    return retrieval.describe_image(rt, read_image(file, rt), k, proposals)


@router.get(
    "/observations/{observation_id}/describe",
    response_model=DescribeResult,
    responses={404: {"model": Problem}},
)
def describe_observation(
    observation_id: DbId, k: int = K, proposals: int = PROPOSALS, rt: Runtime = Depends(runtime)
) -> DescribeResult:
    return retrieval.describe_observation(rt, observation_id, k, proposals)
