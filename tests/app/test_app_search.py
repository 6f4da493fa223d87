"""Search as an astronomer works, over loopback HTTP on SQLite and Postgres: sky positions, filters
and facets, grouping, identifiers, exports, ranking modes, image + text, honest scores, details."""

from __future__ import annotations

import base64
import io
from http.server import BaseHTTPRequestHandler

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse

from paperclip import obstime


def observations(service) -> list[dict]:
    a = service.archive
    return [o | {"id": i} for o, i in zip(a.observations, service.ids, strict=True) if i > 0]


def test_position_forms_agree_and_match_astropy(service):
    c, api = service.client, service.api
    truth_centre = SkyCoord(150.1, 2.2, unit="deg")
    every = observations(service)
    coords = SkyCoord([o["ra"] for o in every], [o["dec"] for o in every], unit="deg")
    inside = {
        o["id"] for o, d in zip(every, truth_centre.separation(coords), strict=True) if d <= 6 * u.arcmin
    }
    assert inside
    forms = [
        {"ra": "150.1", "dec": "2.2", "radius": "6 arcmin"},
        {"ra": "10:00:24", "dec": "+02:12:00", "radius": "0.1 deg"},
        {"ra": "10h00m24s", "dec": "2d12m00s", "radius": "360 arcsec"},
        {
            "l": f"{truth_centre.galactic.l.deg:.8f}",
            "b": f"{truth_centre.galactic.b.deg:.8f}",
            "radius": "6'",
        },
    ]
    answers = []
    for params in forms:
        r = c.get(api("/search"), params={**params, "k": 200})
        assert r.status_code == 200, r.text
        body = r.json()
        ids = [h["observation"]["id"] for h in body["results"]]
        d = [h["distance_arcmin"] for h in body["results"]]
        assert set(ids) == inside and d == sorted(d) and max(d) <= 6.0001
        assert body["total"] == len(inside) and body["total_exact"] and body["weak_match"] is None
        assert body["position"]["ra_hms"].startswith("10:00:2") and body["position"][
            "radius_arcmin"
        ] == pytest.approx(6)
        answers.append(ids)
    assert all(set(a) == set(answers[0]) for a in answers)
    with_text = c.get(api("/search"), params={**forms[0], "q": "stars", "k": 200}).json()
    assert {
        h["observation"]["id"] for h in with_text["results"]
    } == inside  # the cone pre-filters the ranking
    assert all(h["score"] is not None for h in with_text["results"])


def test_position_errors_are_clear(service):
    c, api = service.client, service.api
    for params, words in [
        ({"ra": "150", "dec": "95"}, "between -90 and +90"),
        ({"ra": "150", "dec": "2", "radius": "5 parsecs"}, "radius"),
        ({"ra": "150"}, "one way"),
        ({"q": "x", "radius": "5 arcmin"}, "needs a position"),
        ({"near": "no such object anywhere"}, "near"),
    ]:
        r = c.get(api("/search"), params=params)
        assert r.status_code == 422 and words in r.json()["detail"], (params, r.text)


def test_near_resolves_archive_targets_offline(service, no_network):
    o = observations(service)[5]
    body = service.client.get(
        service.api("/search"), params={"near": o["target"], "radius": "1 arcsec"}
    ).json()
    assert [h["observation"]["id"] for h in body["results"]] == [o["id"]]
    assert "in this archive" in body["position"]["resolved"] and no_network == []


def test_near_asks_sesame_when_the_archive_does_not_know(make_service, serve_http, no_network):
    class Sesame(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"# M31\n%J 10.68470833 +41.26875000 = 00:42:44.33 +41:16:07.5\n")

        def log_message(self, *args):
            pass

    service = make_service(sesame_url=serve_http(Sesame) + "/")
    body = service.client.get(
        service.api("/search"), params={"near": "Andromeda Galaxy", "radius": "15 arcmin"}
    )
    body = body.json()
    assert "Sesame" in body["position"]["resolved"] and body["total"] > 0
    assert all(h["distance_arcmin"] <= 15 for h in body["results"]) and no_network == []


def test_filters_facets_sorts_and_totals(service):
    c, api = service.client, service.api
    every = observations(service)
    mid = obstime.to_mjd(sorted(o["start_time"] for o in every)[len(every) // 2])
    base = {"q": "galaxy", "k": 200, "mode": "vector"}
    r = c.get(api("/search"), params={**base, "start": f"{mid:.6f}", "min_exposure": 300}).json()
    want = {o["id"] for o in every if obstime.to_mjd(o["start_time"]) >= mid and o["exposure_s"] >= 300}
    assert (
        {h["observation"]["id"] for h in r["results"]} == want
        and r["total"] == len(want)
        and r["total_exact"]
    )
    iso = sorted(o["start_time"] for o in every)[len(every) // 2].date().isoformat()
    by_date = c.get(api("/search"), params={**base, "end": iso, "sort": "date"}).json()
    mjds = [h["observation"]["start_mjd"] for h in by_date["results"]]
    assert mjds == sorted(mjds, reverse=True) and max(mjds) < obstime.to_mjd(obstime.parse_time(iso)) + 1
    by_exposure = c.get(api("/search"), params={**base, "sort": "exposure"}).json()
    e = [h["observation"]["exposure_s"] for h in by_exposure["results"]]
    assert e == sorted(e, reverse=True)
    hst = c.get(api("/search"), params={**base, "collection": "hst"}).json()
    assert {h["observation"]["collection"] for h in hst["results"]} == {"HST"}
    facets = c.get(api("/search"), params=base).json()["facets"]
    results = c.get(api("/search"), params=base).json()["results"]
    for f in facets["instrument"]:
        assert f["count"] == sum(h["observation"]["instrument"] == f["value"] for h in results)
    assert {f["value"] for f in facets["collection"]} == {"HST", "SYNTH"}
    assert sum(f["count"] for f in facets["cycle"]) <= len(results)
    bad = c.get(api("/search"), params={"q": "x", "start": "yesterday-ish"})
    assert bad.status_code == 422 and "ISO 8601" in bad.json()["detail"]


def test_group_by_proposal(service):
    body = service.client.get(
        service.api("/search"), params={"q": "galaxy", "group": "proposal", "k": 50, "mode": "vector"}
    ).json()
    pids = [h["proposal"]["id"] for h in body["results"]]
    assert len(pids) == len(set(pids))
    assert any(h["more"] for h in body["results"])
    for h in body["results"]:
        assert all(m["proposal"]["id"] == h["proposal"]["id"] and m["rank"] > h["rank"] for m in h["more"])
    flat = service.client.get(
        service.api("/search"), params={"q": "galaxy", "k": 200, "mode": "vector"}
    ).json()
    assert sum(1 + len(h["more"]) for h in body["results"]) == len(flat["results"])


def test_archive_identifiers_and_mast_links(service):
    c, api = service.client, service.api
    hst = next(o for o in observations(service) if o["collection"] == "HST")
    synth = next(o for o in observations(service) if o["collection"] == "SYNTH")
    mast_id = hst["obs_id"].removesuffix("_drc")
    for ref in (
        str(hst["id"]),
        hst["obs_id"],
        hst["obs_id"].upper(),
        mast_id,
        mast_id.split("_")[-1] + "010",
    ):
        r = c.get(api(f"/observations/{ref}"))
        assert r.status_code == 200 and r.json()["id"] == hst["id"], ref
    body = c.get(api(f"/observations/{hst['id']}")).json()
    assert body["mast_obs_id"] == mast_id
    assert body["mast"]["observation"].endswith(mast_id) and body["mast"]["observation"].startswith(
        "https://mast.stsci.edu/"
    )
    assert body["mast"]["products"].endswith(f"mast:HST/product/{hst['obs_id']}.fits")
    pid = body["proposal"]["proposal_id"]
    assert body["mast"]["program"] == f"https://www.stsci.edu/hst-program-info/program/?program={pid}"
    synthetic = c.get(api(f"/observations/{synth['obs_id']}")).json()
    assert synthetic["mast"] is None and synthetic["mast_url"] is None and synthetic["mast_obs_id"] is None
    prop = c.get(api(f"/proposals/{pid}")).json()
    assert prop["proposal_id"] == pid and prop["page_url"] == f"/proposals/{pid}"
    assert c.get(api("/proposals/SYNTH:SYN-1")).json()["proposal_id"] == "SYN-1"
    assert c.get(api("/observations/nosuchobs99")).status_code == 404
    page = c.get(service.url + "/", params={"q": hst["obs_id"].upper()}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/observations/{hst['id']}"
    page = c.get(service.url + "/", params={"q": f"prop:{pid}"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/proposals/{pid}"
    page = c.get(service.url + "/", params={"q": "10:00:24 +02:12:00"})
    assert page.status_code == 200 and 'id="position-echo"' in page.text and "10:00:24.00" in page.text
    assert 'class="mast"' not in c.get(service.url + f"/observations/{synth['id']}").text
    assert 'class="mast"' in c.get(service.url + f"/observations/{hst['id']}").text


def test_exports_read_back(service):
    c, api = service.client, service.api
    params = {"q": "galaxy", "ra": "150.1", "dec": "2.2", "radius": "15 arcmin", "k": 200}
    page = c.get(api("/search"), params=params).json()
    vot = c.get(api("/search"), params={**params, "format": "votable"})
    assert vot.status_code == 200 and vot.headers["content-type"].startswith("application/x-votable+xml")
    assert "attachment" in vot.headers["content-disposition"]
    table = parse(io.BytesIO(vot.content), verify="exception").get_first_table()
    fields = {f.name: f for f in table.fields}
    assert fields["s_ra"].ucd == "pos.eq.ra;meta.main" and fields["s_ra"].unit == u.deg
    assert fields["t_min"].ucd == "time.start;obs.exposure" and fields["t_exptime"].unit == u.s
    t = table.to_table(use_names_over_ids=True)
    assert list(t["rank"]) == [h["rank"] for h in page["results"]]
    assert list(t["s_ra"]) == pytest.approx([h["observation"]["ra"] for h in page["results"]])
    assert all(d <= 15 for d in t["distance"])
    csv = c.get(api("/search"), params={**params, "format": "csv"}).text.splitlines()
    assert csv[1].startswith("rank,score,z_score") and len(csv) == 2 + len(page["results"])
    js = c.get(api("/search"), params={**params, "format": "json"})
    assert "attachment" in js.headers["content-disposition"] and js.json()["results"] == page["results"]
    similar = c.get(api(f"/observations/{service.ids[0]}/similar"), params={"format": "csv", "k": 5})
    assert similar.status_code == 200 and len(similar.text.splitlines()) == 7


def test_modes_and_full_text(service):
    c, api = service.client, service.api
    p = service.archive.proposals[0]
    word = p["proposal_id"]  # in its title only
    text = c.get(api("/search"), params={"q": word, "mode": "text", "k": 200}).json()
    assert text["results"] and text["results"][0]["proposal"]["proposal_id"] == p["proposal_id"]
    assert text["total"] == len(text["results"]) and text["total_exact"]
    vector = c.get(api("/search"), params={"q": word, "mode": "vector", "k": 200}).json()
    hybrid = c.get(api("/search"), params={"q": word, "mode": "hybrid", "k": 200}).json()
    assert len(vector["results"]) == len(hybrid["results"]) == vector["total"]
    assert [h["observation"]["id"] for h in hybrid["results"]] != [
        h["observation"]["id"] for h in vector["results"]
    ]
    assert c.get(api("/search"), params={"q": "qqqzzzxxyy", "mode": "text"}).json()["weak_match"] is True


def test_a_request_without_mode_ranks_by_the_servers_search_mode(make_service):
    """Unset, PAPERCLIP_SEARCH_MODE is text (bench_hybrid's winner); the API and the UI form
    both fall back to it, and an explicit mode still wins."""
    from paperclip.config import Settings

    assert Settings().search_mode == "text"
    service = make_service(search_mode="hybrid")
    c, api = service.client, service.api
    word = service.archive.proposals[0]["proposal_id"]
    assert c.get(api("/search"), params={"q": word}).json()["mode"] == "hybrid"
    assert c.get(api("/search"), params={"q": word, "mode": "text"}).json()["mode"] == "text"
    page = c.get(f"{service.url}/", params={"q": word}).text
    assert '<option value="hybrid" selected>' in page


def test_image_plus_text(service):
    c, api = service.client, service.api
    data = (service.archive.images / service.archive.observations[3]["original_path"]).read_bytes()
    alone = c.post(api("/search/image"), files={"file": ("a.png", data)}, data={"k": "10"}).json()
    moved = c.post(
        api("/search/image"),
        files={"file": ("a.png", data)},
        data={"text": 'spiral arms -"dust"', "weight": "1"},
    ).json()
    assert [h["observation"]["id"] for h in alone["results"]] != [
        h["observation"]["id"] for h in moved["results"]
    ]
    zero = c.post(
        api("/search/image"), files={"file": ("a.png", data)}, data={"text": "spiral", "weight": "0"}
    ).json()
    assert [h["observation"]["id"] for h in zero["results"]] == [
        h["observation"]["id"] for h in alone["results"]
    ]
    oid = service.ids[3]
    like = c.get(api(f"/observations/{oid}/similar"), params={"text": "edge-on", "weight": 0.8}).json()
    assert oid not in [h["observation"]["id"] for h in like["results"]]


def test_honest_scores(service):
    c, api = service.client, service.api
    loaded = service.runtime.current()
    own = np.asarray(loaded.vectors[0], np.float32)
    token = base64.urlsafe_b64encode(own.astype("<f2").tobytes()).decode().rstrip("=")
    mine = c.get(api("/search/vector"), params={"v": token, "version": loaded.version_id}).json()
    top = mine["results"][0]
    assert top["observation"]["id"] == int(loaded.files.ids[0]) and top["score"] == pytest.approx(1, abs=1e-3)
    assert top["z_score"] == max(h["z_score"] for h in mine["results"]) and top["percentile"] > 95
    assert mine["weak_match"] is False
    noise = np.random.default_rng(0).normal(size=own.shape).astype(np.float32)
    token = base64.urlsafe_b64encode(noise.astype("<f2").tobytes()).decode().rstrip("=")
    assert (
        c.get(api("/search/vector"), params={"v": token, "version": loaded.version_id}).json()["weak_match"]
        is True
    )
    stale = c.get(api("/search/vector"), params={"v": token, "version": loaded.version_id + 7})
    assert stale.status_code == 409
    blank = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (300, 200), (37, 37, 37)).save(blank, "PNG")
    for path in ("/search/image", "/describe"):
        r = c.post(api(path), files={"file": ("blank.png", blank.getvalue())})
        assert r.status_code == 200 and r.json()["weak_match"] is True


def test_request_details(service):
    c, api = service.client, service.api
    blank = c.get(api("/search"), params={"q": "   "})
    assert blank.status_code == 422 and "empty" in blank.json()["detail"]
    for path in ("/search/image", "/describe"):
        r = c.post(api(path), json={"file": "x"})
        assert r.status_code == 415 and "multipart" in r.json()["detail"]
    assert (
        c.post(service.url + "/upload", content=b"x", headers={"content-type": "text/plain"}).status_code
        == 415
    )
    big = c.post(
        api("/describe"),
        files={"file": ("x.png", b"0" * (service.runtime.settings.max_upload_bytes + 70_000))},
    )
    small = c.post(api("/describe"), files={"file": ("x.png", b"0" * 2000)})
    assert big.status_code == 413 and big.json()["title"] == "Content Too Large"
    assert small.status_code in (415, 422)
    preview = c.get(api(f"/previews/{service.ids[0]}"))
    etag = preview.headers["etag"]
    again = c.get(api(f"/previews/{service.ids[0]}"), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    for path in (
        "/",
        "/upload",
        f"/observations/{service.ids[0]}",
        "/api/v1/health",
        f"/api/v1/previews/{service.ids[0]}",
    ):
        head = c.head(service.url + path)
        get = c.get(service.url + path)
        assert head.status_code == 200 and head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"]
    long = c.get(service.url + "/", params={"q": "galaxy " * 800})
    assert (
        long.status_code == 200
        and 'id="truncated"' in long.text
        and f"{len(('galaxy ' * 800).strip())} characters" in long.text
    )
    obs = c.get(service.url + f"/observations/{service.ids[0]}").text
    assert " UTC (MJD " in obs and "°" in obs and " s</dd>" in obs
    assert ".123" not in obs.split("UTC")[0][-12:]  # no microseconds
    described = c.get(api(f"/observations/{service.ids[0]}/describe"), params={"proposals": 5}).json()
    own = [m for m in described["proposals"] if m["own"]]
    assert len(own) == 1 and own[0]["proposal"]["id"] == service.proposal_pks[0]
