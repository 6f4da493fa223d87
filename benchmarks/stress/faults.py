"""Faults injected into a running system: the database going away, jobs killed, an index corrupted.

The database outage uses a private, throwaway PostgreSQL cluster (initdb into a temp folder,
its own port and socket folder), never a shared server. As root it runs as the ``postgres``
user, as CI does; as anyone else, as that user.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.stress.load import run_load
from benchmarks.stress.service import HST_MINI, REPO, Server, free_port, make_archive, start_server


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    return Path(initdb).parent


class PrivatePostgres:
    """A PostgreSQL cluster of our own that can be stopped and started at will."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="pc-private-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.password = "pw-" + os.urandom(8).hex()  # trust auth ignores it; it must never reach a log
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        subprocess.run(
            [*prefix, str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=self.root,
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


def _counts(url: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from paperclip.db import session_scope
    from paperclip.schema import IndexVersion, Observation, Proposal

    with session_scope(url) as s:
        return {
            "observations": s.scalar(select(func.count()).select_from(Observation)),
            "proposals": s.scalar(select(func.count()).select_from(Proposal)),
            "id_sum": int(s.scalar(select(func.sum(Observation.id))) or 0),
            "active_version": s.scalar(select(IndexVersion.id).where(IndexVersion.active.is_(True))),
        }


def database_outage(
    n: int, spec: str, clients: int, seconds: float, down_at: float, up_at: float, work: Path
) -> dict[str, Any]:
    """Load the service while its PostgreSQL stops at ``down_at`` and starts at ``up_at`` seconds."""
    from paperclip.db import get_engine

    with PrivatePostgres() as pg:
        home = work / "outage"
        make_archive(home, pg.url, n, spec)
        before = _counts(pg.url)
        get_engine(pg.url).dispose()
        server = start_server(home, pg.url)
        events: dict[str, float] = {}
        try:
            t0 = time.perf_counter()

            def fault() -> None:
                time.sleep(down_at)
                pg.stop()
                events["down"] = time.perf_counter() - t0
                time.sleep(max(0.0, up_at - down_at))
                pg.start()
                events["up"] = time.perf_counter() - t0

            thread = threading.Thread(target=fault)
            thread.start()
            result = asyncio.run(run_load(server.base, clients, seconds, n, seed=7))
            thread.join()
            pid_same = server.proc.poll() is None
            import httpx

            ready = httpx.get(server.api("/ready"), timeout=30)
            after = _counts(pg.url)
            get_engine(pg.url).dispose()
        finally:
            server.stop()
    timeline = [dict(c) for c in result.timeline]
    down, up = int(events.get("down", 0)), int(events.get("up", 0))
    recovered_at = next(
        (i for i, c in enumerate(result.timeline) if i > up and c.get(200, 0) and not c.get(503, 0)), None
    )
    statuses = Counter({str(k): v for k, v in result.statuses.items()})
    return {
        "observations": n,
        "clients": clients,
        "seconds": round(result.seconds, 1),
        "down_s": round(events.get("down", -1), 1),
        "up_s": round(events.get("up", -1), 1),
        "requests": result.requests,
        "statuses": dict(statuses),
        "transport_errors": result.transport_errors,
        "server_errors_not_503": sum(v for k, v in result.statuses.items() if k >= 500 and k != 503),
        "503_while_down": sum(c.get(503, 0) for c in result.timeline[down : up + 1]),
        "503_outside_outage": sum(
            c.get(503, 0) for i, c in enumerate(result.timeline) if i < down or i > up + 2
        ),
        "recovered_after_s": None if recovered_at is None else recovered_at - up,
        "same_process": pid_same,
        "ready_after": ready.status_code,
        "rows_before": before,
        "rows_after": after,
        "nothing_lost": before == after,
        "timeline": timeline,
    }


def _cli(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "paperclip_cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _manifest(folder: Path, count: int) -> Path:
    """``count`` distinct images (the real HST previews first, then synthetic PNGs) and a JSONL manifest."""
    import json

    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    real = sorted((HST_MINI / "images").glob("*.png"))[:count]
    rows = []
    for i in range(count):
        if i < len(real):
            name = real[i].name
            shutil.copy(real[i], folder / name)
        else:
            name = f"synth{i:05d}.png"
            rng = np.random.default_rng(i)
            Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(folder / name)
        rows.append(
            {"image": name, "group": f"G{i % 17}", "text": f"Category: STAR FORMATION. Group {i % 17}."}
        )
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def _kill_when(proc: subprocess.Popen, ready: Any, timeout: float = 300) -> bool:
    """SIGKILL ``proc`` as soon as ``ready()`` says it is mid-run; False when it finished first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.01)
    proc.wait()
    return False


def killed_jobs(url: str, images: int, work: Path) -> dict[str, Any]:
    """Kill ``paperclip import`` and ``paperclip index build`` mid-run, rerun both, then verify."""
    from sqlalchemy import func, select

    from paperclip.db import get_engine, session_scope, upgrade
    from paperclip.schema import LedgerEntry, Observation

    home = work / "jobs-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PAPERCLIP_HOME": str(home),
        "PAPERCLIP_DATABASE_URL": url,
        "PAPERCLIP_DEVICE": "cpu",
        "PAPERCLIP_RAY_NUM_CPUS": "2",
        "PAPERCLIP_EMBED_CHUNK": "16",
        "PAPERCLIP_EMBED_BATCH_SIZE": "8",
        "PAPERCLIP_DOWNLOAD_CONCURRENCY": "2",
        "OMP_NUM_THREADS": "1",
    }
    upgrade(url)
    manifest = _manifest(work / "import", images)

    def observations() -> int:
        with session_scope(url) as s:
            return s.scalar(select(func.count()).select_from(Observation))

    out: dict[str, Any] = {"images": images}
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperclip_cli", "import", str(manifest), "--collection", "STRESS"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out["import_killed"] = _kill_when(proc, lambda: observations() >= images // 4)
    out["import_rows_at_kill"] = observations()
    rerun = _cli(env, "import", str(manifest), "--collection", "STRESS")
    out["import_rerun_rc"] = rerun.returncode
    out["import_rerun_output"] = (
        rerun.stdout.strip().splitlines()[-1:] if rerun.stdout else rerun.stderr[-300:]
    )
    with session_scope(url) as s:
        out["observations"] = observations()
        out["distinct_sha256"] = s.scalar(select(func.count(func.distinct(Observation.sha256))))
        ledger = s.execute(
            select(LedgerEntry.status, func.count())
            .where(LedgerEntry.job == "import:STRESS")
            .group_by(LedgerEntry.status)
        ).all()
        out["ledger"] = {status: n for status, n in ledger}
    store = home / "images"
    files = [p for p in store.rglob("*") if p.is_file()]
    out["store_files"] = sum(1 for p in files if not p.name.startswith("."))
    out["orphan_temp_files"] = sum(1 for p in files if p.name.startswith(".") and p.name.endswith(".tmp"))

    chunks = home / "indexes"
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperclip_cli", "index", "build", "--model", "tiny"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out["index_killed"] = _kill_when(proc, lambda: any(chunks.glob(".work-*/chunk-*.npz")))
    rebuilt = _cli(env, "index", "build", "--model", "tiny")
    out["index_rerun_rc"] = rebuilt.returncode
    out["index_rerun_output"] = rebuilt.stdout.strip().splitlines()[:2]
    verified = _cli(env, "index", "verify")
    out["verify_rc"] = verified.returncode
    out["verify_output"] = verified.stdout.strip().splitlines()[:1]
    get_engine(url).dispose()
    out["no_duplicates"] = out["observations"] == out["distinct_sha256"] == images
    out["ok"] = (
        out["no_duplicates"]
        and out["ledger"] == {"done": images}
        and out["store_files"] == 2 * images
        and out["import_rerun_rc"] == 0
        and out["index_rerun_rc"] == 0
        and out["verify_rc"] == 0
    )
    return out


def corrupt_index(url: str, spec: str, n: int, work: Path) -> dict[str, Any]:
    """Corrupt a newer version on disk: activation refuses it, the running service keeps the old one."""
    from paperclip.db import get_engine

    home = work / "corrupt-home"
    make_archive(home, url, n, spec)
    server = start_server(home, url)
    try:
        return corrupt_newer_version(server, url, home, spec)
    finally:
        server.stop()
        get_engine(url).dispose()


def corrupt_newer_version(server: Server, url: str, home: Path, spec: str) -> dict[str, Any]:
    """Against a running service on version 1: write version 2, damage it, try to activate it
    (CLI), force it active in the DB; then put version 1 back."""
    import faiss
    import httpx
    from sqlalchemy import update

    from paperclip.db import session_scope
    from paperclip.index_files import read_index_files, write_index_files
    from paperclip.schema import IndexVersion

    env = {**os.environ, "PAPERCLIP_HOME": str(home), "PAPERCLIP_DATABASE_URL": url}
    out: dict[str, Any] = {}
    v1 = read_index_files(home / "indexes" / "v1")
    path = home / "indexes" / f"v-corrupt-{time.time_ns()}"
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((v1.count, v1.index.d)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = faiss.IndexIDMap(faiss.IndexFlatIP(v1.index.d))
    index.add_with_ids(vectors, v1.ids)
    manifest = write_index_files(path, index, v1.ids, vectors, v1.vocab, v1.vocab_vectors, v1.manifest)
    with session_scope(url) as s:
        row = IndexVersion(
            model_spec=spec,
            path=str(path),
            kind="flat",
            count=v1.count,
            dim=v1.index.d,
            checksum=manifest["checksum"],
            status="ready",
            active=False,
        )
        s.add(row)
        s.flush()
        v2 = row.id
    with (path / "index.faiss").open("r+b") as f:
        f.seek(f.seek(0, 2) // 2)
        f.write(b"\x13\x37\x13\x37")
    try:
        activate = _cli(env, "index", "activate", str(v2))
        out["activate_rc"] = activate.returncode
        out["activate_error"] = activate.stderr.strip()[-300:]
        with session_scope(url) as s:
            out["active_after_refusal"] = (
                s.query(IndexVersion.id).filter(IndexVersion.active.is_(True)).scalar()
            )
        verify = _cli(env, "index", "verify", "--version", str(v2), "--sample", "0")
        out["verify_rc"] = verify.returncode
        out["verify_output"] = verify.stdout.strip()[:300]
        with session_scope(url) as s:  # as if activated elsewhere, or damaged after activation
            s.execute(update(IndexVersion).values(active=IndexVersion.id == v2))
        deadline = time.monotonic() + 30
        while "failed to load" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        ready = httpx.get(server.api("/ready"), timeout=30).json()
        search = httpx.get(server.api("/search"), params={"q": "spiral galaxy"}, timeout=60)
        out["served_version"] = ready["index_version"]
        out["search_status"] = search.status_code
        out["failures_metric"] = next(
            (
                line
                for line in httpx.get(server.api("/metrics"), timeout=30).text.splitlines()
                if line.startswith("paperclip_index_load_failures_total")
            ),
            None,
        )
        out["log_line"] = next(
            (line for line in server.log.read_text().splitlines() if "failed to load" in line), ""
        )[:300]
    finally:
        with session_scope(url) as s:
            s.execute(update(IndexVersion).values(active=IndexVersion.id == 1))
    out["v1"], out["v2"] = 1, v2
    out["ok"] = (
        out["activate_rc"] == 1
        and "corrupt" in out["activate_error"]
        and out["active_after_refusal"] == 1
        and out["verify_rc"] == 1
        and out["served_version"] == 1
        and out["search_status"] == 200
        and "checksum" in out["log_line"]
    )
    return out
