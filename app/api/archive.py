"""Observations, proposals and preview images."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse

from app import queries, retrieval
from app.api import API_PREFIX, DbId, runtime
from app.runtime import Runtime
from app.schemas import ObservationDetail, Problem, ProposalDetail
from paperclip.db import session_scope
from paperclip.imaging import sniff
from paperclip.storage import ImageStore, get_paths

router = APIRouter(prefix=API_PREFIX, tags=["archive"])


@router.get(
    "/observations/{observation_id}", response_model=ObservationDetail, responses={404: {"model": Problem}}
)
def observation(observation_id: DbId, rt: Runtime = Depends(runtime)) -> ObservationDetail:
    return retrieval.observation_detail(rt, observation_id)


@router.get("/proposals/{proposal_id}", response_model=ProposalDetail, responses={404: {"model": Problem}})
def proposal(proposal_id: DbId, rt: Runtime = Depends(runtime)) -> ProposalDetail:
    """A proposal by its database id (``proposal.id`` in results): abstract, summary, observations."""
    return retrieval.proposal_detail(rt, proposal_id)


@router.get(
    "/previews/{observation_id}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}, 404: {"model": Problem}},
)
def preview(observation_id: DbId, rt: Runtime = Depends(runtime)) -> FileResponse:
    """The 512 px preview; only files inside the image store are ever served."""
    with session_scope(rt.settings.db_url) as s:
        rel = queries.preview_path(s, observation_id)
    try:
        path = ImageStore(get_paths(rt.settings).images).resolve(rel or "")
        with path.open("rb") as f:
            kind = sniff(f.read(16))
    except (FileNotFoundError, ValueError):
        raise HTTPException(404, f"no preview for observation {observation_id}") from None
    return FileResponse(
        path,
        media_type=kind.mime,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
