"""A build killed mid Ray job leaves the active version alone; a rerun embeds each missing preview once."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
from sqlalchemy import select

from indexer.index.embed import WorkDir
from indexer.index.versions import build_index
from paperclip.db import session_scope
from paperclip.index_files import read_index_files
from paperclip.schema import IndexVersion
from paperclip.storage import get_paths

REPO = Path(__file__).resolve().parents[2]


def rows() -> dict[int, tuple[str, bool]]:
    with session_scope() as s:
        return {r.id: (r.status, r.active) for r in s.scalars(select(IndexVersion))}


def test_killed_ray_build_resumes_without_touching_the_active_version(env, observations):
    first_ids = observations(20)
    active = build_index("tiny")
    active_path = Path(_path(active))
    manifest_before = (active_path / "manifest.json").read_text()
    observations(180, offset=1000)

    sub_env = {
        **env,
        "PAPERCLIP_EMBED_CHUNK": "16",
        "PAPERCLIP_EMBED_BATCH_SIZE": "8",
        "PAPERCLIP_RAY_NUM_CPUS": "2",
        "OMP_NUM_THREADS": "1",
    }
    work = WorkDir.for_model(get_paths().indexes, "tiny")
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperclip_cli", "index", "build", "--model", "tiny"],
        cwd=REPO,
        env=sub_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while not work.chunks() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    # the whole job dies at once: the driver and the embedded Ray cluster it started (by pid)
    driver = psutil.Process(proc.pid)
    job = [driver, *driver.children(recursive=True)]
    for p in job:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    assert proc.wait() == -signal.SIGKILL, proc.stdout.read().decode()[-2000:]
    psutil.wait_procs(job, timeout=30)
    chunks = work.chunks()
    done = np.concatenate([np.load(c)["ids"] for c in chunks])
    assert len(np.unique(done)) == len(done), "a preview was written twice"
    assert 16 <= len(done) < 180, "the kill must land mid-build"

    state = rows()
    unfinished = [i for i, (status, _) in state.items() if status == "building"]
    assert len(unfinished) == 1 and state[active] == ("ready", True)
    assert (active_path / "manifest.json").read_text() == manifest_before
    assert read_index_files(active_path).count == 20
    assert sorted(p.name for p in get_paths().indexes.iterdir() if not p.name.startswith(".work")) == [
        active_path.name
    ]

    resumed = subprocess.run(
        [sys.executable, "-m", "paperclip_cli", "index", "build", "--model", "tiny"],
        cwd=REPO,
        env=sub_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    out = resumed.stdout
    assert f"index version {unfinished[0]} (flat, 32-d): 200 vectors" in out and "ACTIVE" in out
    reused = int(out.split("reused ")[1].split(",")[0])
    embedded = int(out.split("embedded ")[1].split(" ")[0])
    assert (reused, embedded) == (len(done), 200 - len(done)), "every preview embedded exactly once"
    assert rows()[unfinished[0]] == ("ready", True) and rows()[active] == ("ready", False)
    assert work.chunks() == []

    final = read_index_files(Path(_path(unfinished[0])))
    before = read_index_files(active_path)
    assert len(np.unique(final.ids)) == 200
    np.testing.assert_array_equal(final.ids[:20], first_ids)
    np.testing.assert_allclose(final.vectors()[:20], before.vectors(), atol=2e-3)


def _path(version_id: int) -> str:
    with session_scope() as s:
        return s.get(IndexVersion, version_id).path
