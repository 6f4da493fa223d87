"""Security properties checked against a live service: admin token, preview confinement, CORS, logs."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from benchmarks.stress.service import Server

EVIL_ORIGIN = "https://evil.example"


def admin_token(server: Server, token: str) -> dict[str, Any]:
    """Wrong, partial, prefixed and missing tokens are 403; the right one activates the served version."""
    import httpx

    from app.api import admin

    version = httpx.get(server.api("/ready"), timeout=30).json()["index_version"]
    url = server.api(f"/admin/activate/{version}")
    guesses = [
        "",
        "Bearer",
        f"Bearer {token[:-1]}",
        f"Bearer {token}x",
        f"Basic {token}",
        token.upper(),
        "Bearer ' OR 1=1",
    ]
    statuses = {
        g or "(none)": httpx.post(url, headers={"Authorization": g} if g else {}, timeout=30).status_code
        for g in guesses
    }
    good = httpx.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=60).status_code
    constant_time = "hmac.compare_digest" in inspect.getsource(admin.require_token)
    return {
        "wrong_tokens": statuses,
        "right_token": good,
        "constant_time_compare": constant_time,
        "ok": set(statuses.values()) == {403} and good == 200 and constant_time,
    }


def preview_confinement(server: Server, db_url: str, home: Path, observation_id: int) -> dict[str, Any]:
    """An observation whose preview path is a traversal, an absolute path or a symlink out of the store
    gets a 404 and never the file's bytes; the row is restored afterwards."""
    import httpx

    from paperclip.db import session_scope
    from paperclip.schema import Observation

    secret = home / "outside-secret.txt"
    secret.write_text("root:x:0:0:TOPSECRET")
    link = home / "images" / "preview" / "escape.jpg"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    with session_scope(db_url) as s:
        original = s.get(Observation, observation_id).local_path
    results = {}
    try:
        for label, rel in (
            ("traversal", "../outside-secret.txt"),
            ("absolute", str(secret)),
            ("symlink", "preview/escape.jpg"),
        ):
            with session_scope(db_url) as s:
                s.get(Observation, observation_id).local_path = rel
            r = httpx.get(server.api(f"/previews/{observation_id}"), timeout=30)
            results[label] = r.status_code if b"TOPSECRET" not in r.content else "LEAKED"
        for raw in (
            "/api/v1/previews/..%2F..%2Foutside-secret.txt",
            "/api/v1/previews/%2e%2e/%2e%2e/outside-secret.txt",
        ):
            r = httpx.get(server.base + raw, timeout=30)
            results[raw] = r.status_code if b"TOPSECRET" not in r.content else "LEAKED"
    finally:
        with session_scope(db_url) as s:
            s.get(Observation, observation_id).local_path = original
        link.unlink(missing_ok=True)
    good = httpx.get(server.api(f"/previews/{observation_id}"), timeout=30)
    return {
        "attempts": results,
        "restored_preview": good.status_code,
        "ok": all(v in (404, 422) for v in results.values()) and good.status_code == 200,
    }


def cors(server: Server, allowed: list[str]) -> dict[str, Any]:
    """Preflight and simple requests: an allowed origin (if any is configured) is echoed, others never."""
    import httpx

    def allow_origin(origin: str) -> str | None:
        pre = httpx.options(
            server.api("/search"),
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
            timeout=30,
        )
        get = httpx.get(server.api("/health"), headers={"Origin": origin}, timeout=30)
        return pre.headers.get("access-control-allow-origin") or get.headers.get(
            "access-control-allow-origin"
        )

    out: dict[str, Any] = {"configured": allowed, "evil_origin_allowed": allow_origin(EVIL_ORIGIN)}
    if allowed:
        out["allowed_origin_echoed"] = allow_origin(allowed[0])
    out["ok"] = out["evil_origin_allowed"] is None and (
        not allowed or out["allowed_origin_echoed"] == allowed[0]
    )
    return out


def secrets_in_log(server: Server, secrets: list[str]) -> dict[str, Any]:
    text = server.log.read_text(errors="replace")
    found = [s[:3] + "..." for s in secrets if s and s in text]
    return {"log_bytes": len(text), "secrets_checked": len(secrets), "secrets_found": found, "ok": not found}
