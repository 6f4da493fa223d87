"""A small real archive (HST previews plus synthetic images), its index, and the service on loopback.

The images are processed and embedded once per session (the tiny model keeps it fast); each test
gets its own database (SQLite and Postgres) and data home, with rows inserted and an index
version written in the on-disk format the indexer writes, then uvicorn serving on a free port.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import update

from paperclip.config import Settings, get_settings
from paperclip.db import session_scope
from paperclip.imaging import decode, encode_jpeg, to_preview
from paperclip.index_files import write_index_files
from paperclip.index_meta import read_from_db
from paperclip.schema import Caption, IndexVersion, Observation, Proposal
from paperclip.sky import healpix_of
from paperclip.storage import ImageStore
from paperclip.vocabulary import load_vocabulary

INSTRUMENTS = ("ACS/WFC", "WFC3/UVIS", "WFPC2")
CLUSTERS = ((150.1, 2.2), (10.6847, 41.2687), (83.822, -5.391), (359.99, -0.5))  # COSMOS, M31, M42, RA 0
START = datetime(2015, 1, 1, 3, 4, 5, tzinfo=UTC)


def sky_position(n: int) -> tuple[float, float]:
    """Observation n in one of four clusters, spread over about 20 arcmin (the last across RA 0)."""
    from astropy.coordinates import Angle, SkyCoord

    ra, dec = CLUSTERS[n % 4]
    c = SkyCoord(ra, dec, unit="deg").directional_offset_by(
        Angle(37 * n, "deg"), Angle(0.5 + (n * 7) % 10, "arcmin")
    )
    return float(c.ra.deg), float(c.dec.deg)


FILTERS = ("F814W", "F606W;F814W", "F502N")


@dataclass
class ArchiveFiles:
    """Processed images and their embeddings, shared by every test of the session."""

    images: Path  # an image store root
    proposals: list[dict[str, Any]]
    observations: list[
        dict[str, Any]
    ]  # each with "proposal" (index into proposals) and "original" (bytes path)
    vectors: np.ndarray
    vocab: list[dict[str, Any]]
    vocab_vectors: np.ndarray


def synthetic_image(kind: int, seed: int) -> Image.Image:
    """Simple astronomical-looking scenes: a star field, a ring, a disk galaxy, a streak."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:256, 0:256].astype(np.float32)
    img = rng.normal(0.05, 0.02, (256, 256)).astype(np.float32)
    if kind == 0:
        for sx, sy in rng.uniform(10, 246, (60, 2)):
            img += rng.uniform(0.2, 1) * np.exp(-((x - sx) ** 2 + (y - sy) ** 2) / 4)
    elif kind == 1:
        r = np.hypot(x - 128, y - 128)
        img += np.exp(-((r - 60) ** 2) / 50)
    elif kind == 2:
        img += np.exp(-(((x - 128) / 70) ** 2 + ((y - 128) / 25) ** 2))
    else:
        img += np.exp(-((y - x * 0.5 - 60) ** 2) / 8)
    return Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).convert("RGB")


@pytest.fixture(scope="session")
def archive_files(tmp_path_factory, hst_mini, tiny_model) -> ArchiveFiles:
    root = tmp_path_factory.mktemp("app-archive")
    store = ImageStore(root / "images")
    abstracts = (hst_mini / "abstracts_noid.txt").read_text().splitlines()
    records = [json.loads(line) for line in (hst_mini / "manifest.jsonl").read_text().splitlines() if line]
    proposals: dict[tuple[str, str], dict[str, Any]] = {}
    observations, previews = [], []

    def add(collection: str, pid: str, data: bytes, ext: str, n: int, cycle: int | None, rec: dict) -> None:
        key = (collection, pid)
        if key not in proposals:
            proposals[key] = {
                "collection": collection,
                "proposal_id": pid,
                "cycle": cycle,
                "title": f"Proposal {pid}: " + " ".join((rec.get("abstract") or abstracts[n]).split()[:8]),
                "pi": f"PI {chr(65 + n % 26)}. Astronomer",
                "abstract": rec.get("abstract") or abstracts[n % len(abstracts)],
                "summary": rec.get("summary"),
            }
        img = decode(data)
        preview = to_preview(img)
        original, _ = store.put(data, "original", ext)
        local, _ = store.put(encode_jpeg(preview), "preview", "jpg")
        previews.append(decode((store.root / local).read_bytes()))
        ra, dec = sky_position(n)
        harvested = collection == "HST"  # named and linked as MAST products are; SYNTH is not
        obs_id = f"hst_{pid}_01_acs_wfc_total_jx{n:04d}_drc" if harvested else f"{collection.lower()}{n:04d}"
        observations.append(
            {
                "proposal": list(proposals).index(key),
                "collection": collection,
                "obs_id": obs_id,
                "product_filename": f"{obs_id}.jpg" if harvested else None,
                "instrument": INSTRUMENTS[n % 3],
                "filters": FILTERS[n % 3],
                "target": f"NGC {1000 + n}",
                "ra": ra,
                "dec": dec,
                "healpix": healpix_of(ra, dec),
                "start_time": START + timedelta(days=37 * n, seconds=n * 1234.567891),
                "exposure_s": 100.0 * (n % 7 + 1),
                "width": img.width,
                "height": img.height,
                "local_path": local,
                "original_path": original,
            }
        )

    for n, rec in enumerate(records):
        data = (hst_mini / rec["file"]).read_bytes()
        add(
            "HST",
            str(rec["proposal_id"]),
            data,
            "png",
            n,
            int(rec["cycle"]) if rec.get("cycle") else None,
            rec,
        )
    for n in range(8):
        buf = io.BytesIO()
        synthetic_image(n % 4, n).save(buf, format="PNG")
        add("SYNTH", f"SYN-{n % 4}", buf.getvalue(), "png", len(records) + n, 30, {})

    terms = load_vocabulary()
    vocab = [{"id": i + 1, "text": t.text, "kind": t.kind} for i, t in enumerate(terms)]
    return ArchiveFiles(
        images=store.root,
        proposals=list(proposals.values()),
        observations=observations,
        # rounded as the indexer stores them (float16), so exact answers are exactly comparable
        vectors=tiny_model.encode_images(previews).astype(np.float16).astype(np.float32),
        vocab=vocab,
        vocab_vectors=tiny_model.encode_text([t.text for t in terms]),
    )


def query_vectors(service: Service, model: Any, texts: list[str]) -> np.ndarray:
    """Text queries embedded as the service embeds them (``paperclip.query_embedding``, its Settings)."""
    from paperclip.query_embedding import embed_queries

    rt = service.runtime
    return embed_queries(model.encode_text, texts, rt.current().vocab_vectors, rt.query_options)


@dataclass
class Service:
    url: str
    db_url: str
    home: Path
    archive: ArchiveFiles
    ids: list[int]  # observation ids, in archive order
    proposal_pks: list[int]
    client: httpx.Client
    stop: Callable[[], None]
    versions: list[int] = field(default_factory=list)
    runtime: Any = None  # the app's Runtime (the server runs in this process)

    def api(self, path: str) -> str:
        return f"{self.url}/api/v1{path}"

    def add_version(self, ids: list[int] | None = None, vectors: np.ndarray | None = None, **kw: Any) -> Path:
        vid, path = add_version(
            self.db_url,
            self.home,
            self.ids if ids is None else ids,
            self.archive.vectors if vectors is None else vectors,
            self.archive,
            **kw,
        )
        self.versions.append(vid)
        return path

    def activate(self, version_id: int) -> None:
        activate(self.db_url, version_id)

    def wait_for_version(self, version_id: int, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = self.client.get(self.api("/ready")).json()
            if ready["index_version"] == version_id:
                return ready
            time.sleep(0.1)
        raise AssertionError(f"version {version_id} never served; last /ready: {ready}")


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus text exposition (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def insert_archive(db_url: str, archive: ArchiveFiles, synthetic: bool) -> tuple[list[int], list[int]]:
    keep = [i for i, o in enumerate(archive.observations) if synthetic or o["collection"] != "SYNTH"]
    with session_scope(db_url) as s:
        props = []
        for p in archive.proposals:
            row = Proposal(**{k: v for k, v in p.items() if k != "summary"})
            s.add(row)
            props.append(row)
        s.flush()
        for p, row in zip(archive.proposals, props, strict=True):
            if p["summary"]:
                s.add(Caption(proposal_pk=row.id, kind="summary", generator="llm", text=p["summary"]))
        obs = [
            Observation(
                proposal_pk=props[o["proposal"]].id, **{k: v for k, v in o.items() if k != "proposal"}
            )
            for o in (archive.observations[i] for i in keep)
        ]
        s.add_all(obs)
        s.flush()
        ids = [o.id for o in obs]
        pks = [props[archive.observations[i]["proposal"]].id for i in keep]
    all_ids = [-1] * len(archive.observations)
    for i, oid in zip(keep, ids, strict=True):
        all_ids[i] = oid
    return all_ids, pks


def add_version(
    db_url: str,
    home: Path,
    ids: list[int],
    vectors: np.ndarray,
    archive: ArchiveFiles,
    activate: bool = True,
    spec: str = "tiny",
    metadata: bool = True,
) -> tuple[int, Path]:
    """Write an index version folder (flat inner product, ids = observation ids) and register it;
    without ``metadata``, as versions were written before metadata arrays existed."""
    import faiss

    pairs = [(i, v) for i, v in zip(ids, vectors, strict=True) if i >= 0]
    ids_arr = np.array([i for i, _ in pairs], dtype=np.int64)
    vec = np.stack([v for _, v in pairs]).astype(np.float32)
    index = faiss.IndexIDMap(faiss.IndexFlatIP(vec.shape[1]))
    index.add_with_ids(vec, ids_arr)
    path = home / "indexes" / f"v{time.time_ns()}"
    table = None
    if metadata:
        with session_scope(db_url) as s:
            table = read_from_db(s, ids_arr)
    manifest = write_index_files(
        path,
        index,
        ids_arr,
        vec,
        archive.vocab,
        archive.vocab_vectors,
        {"model_spec": spec, "kind": "flat"},
        table,
    )
    with session_scope(db_url) as s:
        if activate:
            s.execute(update(IndexVersion).values(active=False))
        row = IndexVersion(
            model_spec=spec,
            path=str(path),
            kind="flat",
            count=len(ids_arr),
            dim=vec.shape[1],
            checksum=manifest["checksum"],
            status="ready",
            active=activate,
        )
        s.add(row)
        s.flush()
        return row.id, path


def activate(db_url: str, version_id: int) -> None:
    with session_scope(db_url) as s:
        s.execute(update(IndexVersion).values(active=False))
        s.execute(update(IndexVersion).where(IndexVersion.id == version_id).values(active=True))


def start_server(app) -> tuple[str, Callable[[], None]]:
    """uvicorn on a free loopback port in a thread; returns (base URL, stop)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)

    return f"http://127.0.0.1:{port}", stop


@pytest.fixture
def make_service(env, db_url, home, archive_files) -> Iterator[Callable[..., Service]]:
    """Start the service over the test's database; ``synthetic`` includes the SYNTH observations."""
    from app.main import create_app

    started: list[Service] = []

    def make(synthetic: bool = True, index: bool = True, **settings: Any) -> Service:
        (home / "images").symlink_to(archive_files.images, target_is_directory=True)
        (home / "indexes").mkdir()
        ids, pks = insert_archive(db_url, archive_files, synthetic)
        versions = [add_version(db_url, home, ids, archive_files.vectors, archive_files)[0]] if index else []
        get_settings.cache_clear()
        # vector ranking unless a test asks otherwise: most tests here drive the embedding path
        # (batchers, FAISS, versions); test_app_search covers text and hybrid and the default
        app = create_app(Settings(**{"index_poll_s": 0.2, "search_mode": "vector", **settings}))
        url, stop = start_server(app)
        client = httpx.Client(timeout=60)
        service = Service(
            url, db_url, home, archive_files, ids, pks, client, stop, versions, app.state.runtime
        )
        started.append(service)
        return service

    yield make
    for s in started:
        s.client.close()
        s.stop()


@pytest.fixture
def service(make_service) -> Service:
    return make_service()


# -- the browser and a SAMP hub -------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright; missing, it fails (never skips)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class SampHub:
    url: str  # the Web Profile's address, as the page's script is given it
    received: list[dict]  # table.load.votable notifications the receiving client got
    asked: list[str]  # names the hub's consent dialog was asked to approve


@pytest.fixture
def samp_hub(tmp_path) -> Iterator[SampHub]:
    """astropy's SAMP hub (standard and Web Profile) approving every web registration, and a
    receiving client standing in for TOPCAT."""
    from astropy.samp import SAMPHubServer, SAMPIntegratedClient
    from astropy.samp.hub import WebProfileDialog

    class Approve(WebProfileDialog):
        def __init__(self) -> None:
            super().__init__()
            self.polling = True
            self.asked: list[str] = []

        def show_dialog(self, samp_name, details, client, origin):
            self.asked.append(samp_name)
            self.consent()

        def poll(self) -> None:
            while self.polling:
                self.handle_queue()
                time.sleep(0.05)

    dialog = Approve()
    hub = SAMPHubServer(
        web_profile=True, web_profile_dialog=dialog, web_port=0, lockfile=str(tmp_path / "samp")
    )
    hub.start()
    threading.Thread(target=dialog.poll, daemon=True).start()
    received: list[dict] = []
    client = SAMPIntegratedClient(name="TOPCAT stand-in")
    client.connect(hub=hub)
    client.bind_receive_notification(
        "table.load.votable", lambda private_key, sender_id, mtype, params, extra: received.append(params)
    )
    yield SampHub(f"http://localhost:{hub._web_port}/", received, dialog.asked)
    client.disconnect()
    dialog.polling = False
    hub.stop()
