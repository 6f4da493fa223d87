"""A throwaway archive of any size and the real service over it, in its own process on loopback.

The archive is rows inserted in bulk (every observation points at one of a few real preview
files in the image store) plus an index version of random unit vectors written in the indexer's
on-disk format: the hardening runs measure serving, not embedding.
"""

from __future__ import annotations

import io
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
HST_MINI = Path(os.environ.get("PAPERCLIP_HST_MINI", REPO.parent / "shared" / "data" / "hst-mini"))
INSTRUMENTS = ("ACS/WFC", "WFC3/UVIS", "WFC3/IR", "WFPC2", "STIS")
FILTERS = ("F814W", "F606W", "F435W", "F160W", "F502N", "F656N")
EPOCH = datetime(1995, 1, 1, tzinfo=UTC)


def unit_vectors(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, d), np.float32)
    for i in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - i), d), dtype=np.float32)
        out[i : i + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def preview_files(home: Path, count: int = 8) -> list[str]:
    """A few previews in the store: real HST ones when the shared sample is there, else synthetic."""
    from PIL import Image

    from paperclip.imaging import decode, encode_jpeg, to_preview
    from paperclip.storage import ImageStore

    store = ImageStore(home / "images")
    sources = sorted((HST_MINI / "images").glob("*.png"))[:count]
    images = [decode(p.read_bytes()) for p in sources]
    rng = np.random.default_rng(0)
    while len(images) < count:
        images.append(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    return [store.put(encode_jpeg(to_preview(img)), "preview", "jpg")[0] for img in images]


def faiss_index(vectors: np.ndarray, ids: np.ndarray, kind: str):
    """An id-mapped inner-product index: ``flat`` (exact) or ``hnsw``."""
    import faiss

    d = vectors.shape[1]
    if kind == "hnsw":
        inner = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efSearch = 64
    else:
        inner = faiss.IndexFlatIP(d)
    index = faiss.IndexIDMap(inner)
    index.add_with_ids(vectors, ids)
    return index


def make_archive(home: Path, url: str, n: int, spec: str, seed: int = 0, kind: str = "flat") -> dict:
    """Migrate ``url``, insert ``n`` observations and activate an index over them; returns counts.

    Random metadata and unit vectors: serving cost does not depend on what the vectors mean."""
    from sqlalchemy import insert

    from paperclip.db import get_engine, session_scope, upgrade
    from paperclip.index_files import write_index_files
    from paperclip.model import spec_config
    from paperclip.schema import Caption, IndexVersion, Observation, Proposal
    from paperclip.vocabulary import load_vocabulary

    home.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    previews = preview_files(home)
    rng = random.Random(seed)
    n_prop = max(1, n // 10)
    with session_scope(url) as s:
        s.execute(
            insert(Proposal),
            [
                {
                    "id": i + 1,
                    "collection": "HST",
                    "proposal_id": str(10000 + i),
                    "cycle": rng.randint(1, 32),
                    "title": f"Stress proposal {i}",
                    "pi": f"PI {i}",
                    "abstract": "Deep imaging of nearby galaxies and their globular cluster systems. " * 4,
                }
                for i in range(n_prop)
            ],
        )
        s.execute(
            insert(Caption),
            [
                {"proposal_pk": i + 1, "kind": "summary", "generator": "extract", "text": "galaxies; imaging"}
                for i in range(min(n_prop, 1000))
            ],
        )
        for start in range(0, n, 20_000):
            s.execute(
                insert(Observation),
                [
                    {
                        "id": i + 1,
                        "proposal_pk": i % n_prop + 1,
                        "collection": "HST",
                        "obs_id": f"j{i:08d}",
                        "instrument": rng.choice(INSTRUMENTS),
                        "filters": rng.choice(FILTERS),
                        "target": f"NGC {i % 7000}",
                        "start_time": EPOCH + timedelta(seconds=rng.uniform(0, 8e8)),  # with microseconds
                        "local_path": previews[i % len(previews)],
                    }
                    for i in range(start, min(n, start + 20_000))
                ],
            )
    if url.startswith("postgresql"):  # ids were given explicitly: move the sequences past them
        from sqlalchemy import text

        with session_scope(url) as s:
            for table in ("proposals", "observations"):
                s.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
                )
    d = spec_config(spec)["embed_dim"]
    ids = np.arange(1, n + 1, dtype=np.int64)
    vectors = unit_vectors(n, d, seed)
    vocab = [{"id": i + 1, "text": t.text, "kind": t.kind} for i, t in enumerate(load_vocabulary())]
    path = home / "indexes" / "v1"
    manifest = write_index_files(
        path,
        faiss_index(vectors, ids, kind),
        ids,
        vectors,
        vocab,
        unit_vectors(len(vocab), d, seed + 1),
        {"model_spec": spec, "kind": kind},
    )
    with session_scope(url) as s:
        s.add(
            IndexVersion(
                model_spec=spec,
                path=str(path),
                kind=kind,
                count=n,
                dim=d,
                checksum=manifest["checksum"],
                status="ready",
                active=True,
            )
        )
    get_engine(url).dispose()
    return {"observations": n, "proposals": n_prop, "dim": d, "index": str(path)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    base: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def api(self, path: str) -> str:
        return f"{self.base}/api/v1{path}"

    def rss_mb(self) -> tuple[float, float]:
        """(current, peak) resident memory of the server process in MiB, from /proc."""
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            fields[name] = value
        kb = lambda k: float(fields[k].split()[0]) / 1024  # noqa: E731
        return kb("VmRSS"), kb("VmHWM")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(home: Path, url: str, ready_timeout: float = 300, **settings: str) -> Server:
    """``uvicorn app.main:create_app`` on a free loopback port, its output to ``home/server.log``."""
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "PAPERCLIP_HOME": str(home),
        "PAPERCLIP_DATABASE_URL": url,
        "PAPERCLIP_DEVICE": "cpu",
        "PAPERCLIP_INDEX_POLL_S": "0.5",
        **{f"PAPERCLIP_{k.upper()}": v for k, v in settings.items()},
    }
    log = home / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1"]
        + ["--port", str(port), "--log-level", "info", "--timeout-keep-alive", "30"],
        env=env,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    server = Server(proc, f"http://127.0.0.1:{port}", log, env)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(server.api("/ready"), timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server never became ready: {log.read_text()[-2000:]}")


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (48, 64)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()
