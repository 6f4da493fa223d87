"""`paperclip serve --workers 2`: both workers map the one index file and answer identically."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.app.conftest import add_version, insert_archive


def mapped(pid: int, path: Path) -> bool:
    """Whether ``pid`` has ``path`` memory-mapped (a shared page-cache copy, not a private read)."""
    return any(m.path == str(path) for m in psutil.Process(pid).memory_maps(grouped=True))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_two_workers_share_one_memory_mapped_index_and_answer_alike(
    env, db_url, home, archive_files, tmp_path
):
    (home / "images").symlink_to(archive_files.images, target_is_directory=True)
    (home / "indexes").mkdir()
    ids, _ = insert_archive(db_url, archive_files, True)
    _, version = add_version(db_url, home, ids, archive_files.vectors, archive_files)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperclip_cli", "serve", "--port", str(port), "--workers", "2"],
        env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PAPERCLIP_DEVICE": "cpu"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 180
        files = [version / "index.faiss", version / "vectors.npy"]
        while True:  # both workers up, each with the index and the vectors mapped
            workers = [
                p.pid
                for p in psutil.Process(proc.pid).children(recursive=True)
                if all(mapped(p.pid, f) for f in files)
            ]
            if len(workers) == 2:
                break
            assert proc.poll() is None and time.monotonic() < deadline, "workers did not load the index"
            time.sleep(0.3)
        while True:  # and listening
            try:
                if httpx.get(f"{base}/ready", timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service never became ready"
            time.sleep(0.3)
        answers = set()
        for _ in range(16):  # a new connection each: the kernel hands them to either worker
            r = httpx.get(f"{base}/search", params={"q": "spiral galaxy", "k": 10}, timeout=60)
            assert r.status_code == 200, r.text
            answers.add(tuple((h["observation"]["id"], round(h["score"], 5)) for h in r.json()["results"]))
        assert len(answers) == 1 and next(iter(answers))
    finally:
        proc.terminate()
        proc.wait(30)
