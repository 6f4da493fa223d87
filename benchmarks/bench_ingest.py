"""Ingest throughput: ``import_manifest`` on the real hst-mini images, and preview downloads from a
loopback server that answers with MAST-like latency, each with 1 worker (baseline) and N workers.

    python benchmarks/bench_ingest.py [--workers 8] [--latency-ms 150] [--repeat 3]

Prints images/s for each setting and the speed-up against the one-worker baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HST_MINI = Path(
    os.environ.get("PAPERCLIP_HST_MINI", Path(__file__).resolve().parents[2] / "shared/data/hst-mini")
)


def _manifest(folder: Path, repeat: int) -> Path:
    """The hst-mini images, each listed ``repeat`` times under a distinct copy so all are processed."""
    rows = [json.loads(line) for line in (HST_MINI / "manifest.jsonl").read_text().splitlines()]
    out = []
    for k in range(repeat):
        for r in rows:
            data = (HST_MINI / r["file"]).read_bytes()
            target = folder / f"{k}_{Path(r['file']).name}"
            target.write_bytes(data + bytes([k]))  # a trailing byte: same pixels, new content address
            out.append({"image": target.name, "group": r["proposal_id"], "text": r.get("abstract") or "x"})
    path = folder / "manifest.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in out))
    return path


def bench_import(workers: int, repeat: int) -> tuple[int, float]:
    from paperclip.config import get_settings
    from paperclip.db import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PAPERCLIP_HOME"] = str(Path(tmp) / "home")
        os.environ["PAPERCLIP_DOWNLOAD_CONCURRENCY"] = str(workers)
        os.environ.pop("PAPERCLIP_DATABASE_URL", None)
        get_settings.cache_clear()
        upgrade()
        data = Path(tmp) / "data"
        data.mkdir()
        manifest = _manifest(data, repeat)
        from indexer.harvest.importer import import_manifest

        t0 = time.perf_counter()
        summary = import_manifest(manifest, "BENCH")
        return summary.imported, time.perf_counter() - t0


def bench_download(workers: int, n: int, latency_s: float) -> tuple[int, float]:
    from indexer.harvest.download import Fetcher
    from indexer.harvest.pool import bounded_map

    body = (HST_MINI / "hst_15354_01_acs_wfc_total_jdi601_drc.jpg").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(latency_s)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    fetcher = Fetcher(timeout_s=30, retries=0, backoff_s=0, max_bytes=1 << 30)
    url = f"http://127.0.0.1:{httpd.server_port}/file"
    t0 = time.perf_counter()
    ok = sum(
        err is None for _, _, err in bounded_map(lambda i: fetcher.fetch(f"{url}?i={i}"), range(n), workers)
    )
    elapsed = time.perf_counter() - t0
    httpd.shutdown()
    return ok, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    print(f"{'step':<28}{'workers':>8}{'images':>8}{'seconds':>9}{'img/s':>8}{'speed-up':>10}")
    for name, run in (
        ("import (decode+preview+DB)", lambda w: bench_import(w, args.repeat)),
        (
            f"download ({args.latency_ms:.0f} ms latency)",
            lambda w: bench_download(w, 40, args.latency_ms / 1000),
        ),
    ):
        base = None
        for workers in (1, args.workers):
            count, seconds = run(workers)
            rate = count / seconds
            base = base or rate
            print(f"{name:<28}{workers:>8}{count:>8}{seconds:>9.2f}{rate:>8.1f}{rate / base:>9.2f}x")


if __name__ == "__main__":
    main()
