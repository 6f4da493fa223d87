"""Offline MAST for the harvest tests.

MAST's portal is answered the way astroquery's own tests do it (patching
``PortalAPI._request``) with the real recorded responses shipped in
``astroquery/mast/tests/data``: ``advSearch.json`` for ``Mast.Caom.Filtered`` and
``products.json`` for ``Mast.Caom.Products``. Those recordings carry one proposal and no
PREVIEW rows, so each answer is the recording re-keyed to the proposal asked for, plus
PREVIEW rows in the recording's own schema named like real HAP previews (the kept
``..._total_..._drc.jpg``, and a colour composite and a single-filter preview that must be
dropped). Preview bytes come from a real HTTP server on loopback serving real HST images.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from astroquery import mast
from astroquery.utils.mocks import MockResponse

from paperclip.config import get_settings

RECORDED = Path(mast.__file__).parent / "tests" / "data"
OBS_PER_PROPOSAL = 3


def preview_names(pid: str, visit: int, collection: str = "HST") -> dict[str, bool]:
    """File name -> whether the harvest should keep it."""
    if collection == "JWST":
        program = f"jw{int(pid):05d}"
        return {
            f"{program}-o{visit:03d}_t001_nircam_clear-f090w_i2d.jpg": True,
            f"{program}{visit:03d}001_02101_00001_nrca1_cal.jpg": False,
            f"{program}-o{visit:03d}_t001_nircam_clear-f090w_i2d_thumb.jpg": False,
        }
    base = f"hst_{pid}_{visit:02d}_acs_wfc"
    return {
        f"{base}_total_j{pid}{visit:02d}_drc.jpg": True,
        f"{base}_total_j{pid}{visit:02d}_color.jpg": False,
        f"{base}_total_j{pid}{visit:02d}_drc_thumb.jpg": False,
        f"{base}_f814w_j{pid}{visit:02d}01_drc.jpg": False,
    }


@dataclass
class FakeMast:
    empty: set[str] = field(default_factory=set)  # proposals with no public observations
    failing: set[str] = field(default_factory=set)  # proposals whose queries raise
    queries: Counter = field(default_factory=Counter)  # proposal -> Mast.Caom.Filtered calls

    def __post_init__(self) -> None:
        self.adv = json.loads((RECORDED / "advSearch.json").read_text())
        self.products = json.loads((RECORDED / "products.json").read_text())
        self.obs_proposal: dict[str, tuple[str, str]] = {}

    def request(self, method="POST", url=None, data=None, timeout=10, **kwargs):
        if "columnsconfig" in url:
            return [MockResponse((RECORDED / "columnsconfig.json").read_bytes())]
        req = json.loads(urllib.parse.parse_qs(data)["request"][0])
        if req["service"] == "Mast.Caom.Filtered":
            filters = {f["paramName"]: f["values"] for f in req["params"]["filters"]}
            pid, collection = str(filters["proposal_id"][0]), filters["obs_collection"][0]
            self.queries[pid] += 1
            if pid in self.failing:
                raise ConnectionError("MAST is down")
            return [MockResponse(json.dumps(self.observations(pid, collection)).encode())]
        if req["service"] == "Mast.Caom.Products":
            obsids = str(req["params"]["obsid"]).split(",")
            return [MockResponse(json.dumps(self.product_list(obsids)).encode())]
        raise AssertionError(f"unexpected MAST service {req['service']}")

    def observations(self, pid: str, collection: str) -> dict:
        out = copy.deepcopy(self.adv)
        if pid in self.empty:
            out["data"] = []
            return out
        template = out["data"][0]
        out["data"] = []
        for visit in range(1, OBS_PER_PROPOSAL + 1):
            row = dict(template)
            obsid = int(f"{int(pid)}{visit:02d}")
            row |= {
                "obsid": obsid,
                "obs_id": f"hst_{pid}_{visit:02d}_acs_wfc_total_j{pid}{visit:02d}",
                "proposal_id": pid,
                "obs_collection": collection,
                "instrument_name": "ACS/WFC" if collection == "HST" else "NIRCAM/IMAGE",
                "filters": "F606W;F814W" if collection == "HST" else "F090W",
            }
            self.obs_proposal[str(obsid)] = (pid, collection)
            out["data"].append(row)
        return out

    def product_list(self, obsids: list[str]) -> dict:
        out = copy.deepcopy(self.products)
        noise = out["data"][:3]  # recorded science and auxiliary products, all to be ignored
        template = out["data"][0]
        out["data"] = []
        for obsid in obsids:
            (pid, collection), visit = self.obs_proposal[obsid], int(obsid[-2:])
            out["data"] += [{**r, "obsID": int(obsid)} for r in noise]
            for name in preview_names(pid, visit, collection):
                out["data"].append(
                    {
                        **template,
                        "obsID": int(obsid),
                        "productType": "PREVIEW",
                        "productFilename": name,
                        "obs_collection": collection,
                        "dataURI": f"mast:{collection}/product/{name}",
                        "size": None,
                        "description": "Preview-Full",
                    }
                )
        return out


@pytest.fixture
def fake_mast(monkeypatch) -> FakeMast:
    fake = FakeMast()
    monkeypatch.setattr(
        mast.discovery_portal.PortalAPI, "_request", lambda portal, *a, **kw: fake.request(*a, **kw)
    )
    monkeypatch.setattr(mast.auth.MastAuth, "session_info", lambda self, silent=False: {})
    return fake


@dataclass
class PreviewServer:
    """Serves ``/file?uri=mast:<COLLECTION>/product/<name>``; ``behaviour[name]`` scripts failures."""

    images: list[bytes]
    url: str = ""
    behaviour: dict[str, list[str]] = field(default_factory=dict)  # name -> per-request actions
    hits: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def body(self, name: str) -> bytes:
        """Real image bytes, a different image per file name (stable across requests)."""
        digits = int(re.sub(r"\D", "", name) or 0)
        return self.images[digits % len(self.images)]

    def action(self, name: str) -> str:
        with self.lock:
            self.hits[name] += 1
            script = self.behaviour.get(name, [])
            return script.pop(0) if script else "ok"


@pytest.fixture
def preview_server(hst_mini, monkeypatch, serve_http):
    images = [p.read_bytes() for p in sorted((hst_mini / "images").glob("*.png"))]
    server_state = PreviewServer(images=images)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            name = query["uri"][0].rsplit("/", 1)[-1]
            action = server_state.action(name)
            body = server_state.body(name)
            if action.startswith("status:"):
                self.send_response(int(action.split(":")[1]))
                self.end_headers()
                return
            if action == "timeout":
                time.sleep(float(get_settings().mast_timeout_s) * 2)
            if action == "html":
                body = b"<html><body>Service unavailable</body></html>"
            if action == "big":
                body = (hst_mini / "hst_15354_01_acs_wfc_total_jdi601_drc.jpg").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body[: len(body) // 2] if action == "truncated" else body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server_state.url = serve_http(Handler) + "/file"
    monkeypatch.setenv("PAPERCLIP_MAST_DOWNLOAD_URL", server_state.url)
    monkeypatch.setenv("PAPERCLIP_MAST_TIMEOUT_S", "0.5")
    monkeypatch.setenv("PAPERCLIP_DOWNLOAD_RETRIES", "2")
    monkeypatch.setenv("PAPERCLIP_DOWNLOAD_BACKOFF_S", "0.01")
    monkeypatch.setenv("PAPERCLIP_DOWNLOAD_CONCURRENCY", "3")
    get_settings.cache_clear()
    yield server_state
    get_settings.cache_clear()


def catalog_text(hst_mini: Path) -> str:
    """The real catalog format: the 4 hst-mini proposals with abstracts, then broken records."""
    records = []
    for line in (hst_mini / "manifest.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec.get("abstract"):
            words = rec["abstract"].split()
            wrapped = "\n".join(" ".join(words[i : i + 12]) for i in range(0, len(words), 12))
            records.append(
                f"Prop. Type: GO\nCategory:   STELLAR POPULATIONS\nID:         {rec['proposal_id']}\n"
                f"Cycle:      {rec['cycle']}\nTitle:      Proposal {rec['proposal_id']}\n"
                f"            a title that wraps\nPI:         Jos\u00e9 Sm\u00edth\n\nAbstract:\n{wrapped}\n"
            )
    noid = (hst_mini / "abstracts_noid.txt").read_text().splitlines()
    records.append(f"Prop. Type: GO\nCategory: GALAXIES\nCycle: 20\nTitle: no id\n\nAbstract:\n{noid[0]}\n")
    records.append("Prop. Type: GO\nCategory: GALAXIES\nID: 99001\nCycle: 20\nTitle: no abstract\n")
    records.append("ID: 99002\nCycle: twenty\nAbstract:\n" + noid[1] + "\n")  # bad cycle, kept
    records.append(
        "Prop. Type: SNAP\nID: 99003\nCycle: 21\nAbstract:\n" + noid[2][:200]
    )  # file ends mid-record
    sep = "-" * 80 + "\n"
    return sep + sep.join(records)
