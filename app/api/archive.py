"""Observations, proposals and preview images."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response

from app import queries, retrieval
from app.api import API_PREFIX, ObservationId, ObservationRef, ProposalRef, runtime
from app.runtime import Runtime
from app.schemas import ObservationDetail, Problem, ProposalDetail
from paperclip.db import session_scope
from paperclip.imaging import sniff
from paperclip.storage import ImageStore, get_paths

router = APIRouter(prefix=API_PREFIX, tags=["archive"])


@router.get(
    "/observations/{ref}",
    response_model=ObservationDetail,
    responses={300: {"model": Problem}, 404: {"model": Problem}},
)
def observation(ref: ObservationRef, rt: Runtime = Depends(runtime)) -> ObservationDetail:
    """An observation by database id, the archive's obs_id (``ib2k01010``, any case), MAST's obs_id
    or an HST dataset name; 300 lists the candidates when a name fits several."""
    return retrieval.observation_detail(rt, retrieval.find_observation(rt, ref))


@router.get("/proposals/{ref}", response_model=ProposalDetail, responses={404: {"model": Problem}})
def proposal(ref: ProposalRef, rt: Runtime = Depends(runtime)) -> ProposalDetail:
    """A proposal by its number (``15446``; HST's first when collections share it), by
    ``COLLECTION:NUMBER`` (``JWST:2736``), or by database id when no proposal has that number."""
    return retrieval.proposal_detail(rt, retrieval.find_proposal(rt, ref))


@router.get(
    "/previews/{observation_id}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}, 404: {"model": Problem}},
)
def preview(request: Request, observation_id: ObservationId, rt: Runtime = Depends(runtime)) -> Response:
    """The 512 px preview; only files inside the image store are ever served. Its ETag is the
    content address, so ``If-None-Match`` gets a 304."""
    with session_scope(rt.settings.db_url) as s:
        rel = queries.preview_path(s, observation_id)
    try:
        path = ImageStore(get_paths(rt.settings).images).resolve(rel or "")
        with path.open("rb") as f:
            kind = sniff(f.read(16))
    except (FileNotFoundError, ValueError):
        raise HTTPException(404, f"no preview for observation {observation_id}") from None
    etag = f'"{path.stem}"'  # the store names files by their digest
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff", "ETag": etag}
    wanted = {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}
    if etag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=kind.mime, headers=headers)
