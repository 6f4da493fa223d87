"""Admin actions (activate an index version, rebuild the index): hidden unless a token is configured.

Activation flips ``index_versions.active``; a rebuild runs the indexer's own CLI in a subprocess,
so the service never imports another layer and a long build never blocks a worker.
"""

from __future__ import annotations

import hmac
import subprocess
import sys
import threading

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from pydantic import BaseModel

from app import queries
from app.api import API_PREFIX, DbId, runtime
from app.runtime import Runtime
from paperclip.db import session_scope

router = APIRouter(prefix=f"{API_PREFIX}/admin", tags=["admin"], include_in_schema=False)


class AdminResult(BaseModel):
    status: str
    detail: str
    index_version: int | None = None


def require_token(authorization: str | None = Header(None), rt: Runtime = Depends(runtime)) -> None:
    token = rt.settings.admin_token
    if token is None or not token.get_secret_value():
        raise HTTPException(404, "Not Found")
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise HTTPException(403, "a valid admin token is required", headers={"WWW-Authenticate": "Bearer"})


@router.post("/activate/{version_id}", response_model=AdminResult, dependencies=[Depends(require_token)])
def activate(version_id: DbId, rt: Runtime = Depends(runtime)) -> AdminResult:
    """Make a ready version the active one and load it now (other replicas pick it up by polling).
    A version that fails to load (corrupt on disk) is refused and the one served stays active."""
    previous = rt.loaded and rt.loaded.version_id
    with session_scope(rt.settings.db_url) as s:
        if not queries.activate_version(s, version_id):
            raise HTTPException(404, f"no ready index version {version_id}")
    rt.refresh(force=True)  # an explicit activation is tried now, whatever its backoff
    loaded = rt.loaded
    if loaded is None or loaded.version_id != version_id:
        if previous is not None:
            with session_scope(rt.settings.db_url) as s:
                queries.activate_version(s, previous)
        raise HTTPException(409, rt.last_error or f"version {version_id} did not load")
    return AdminResult(
        status="active", detail=f"serving index version {version_id}", index_version=version_id
    )


@router.post("/reindex", status_code=202, response_model=AdminResult, dependencies=[Depends(require_token)])
def reindex(
    model: str = Query(..., max_length=500, description="Model spec or checkpoint name"),
) -> AdminResult:
    """Start a rebuild in the background; the new version is picked up when it is activated."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperclip_cli", "index", "build", f"--model={model}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    threading.Thread(target=proc.wait, daemon=True).start()  # reaped when it ends
    return AdminResult(status="started", detail=f"index build running as process {proc.pid}")
