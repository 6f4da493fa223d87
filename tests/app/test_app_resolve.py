"""near=NAME: the archive's own targets offline, then a Sesame server (on loopback here)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote

import pytest

from app.resolve import NameNotResolved, Resolver, name_variants

SESAME_M31 = """# M31\t#Q22180305
#=Sc=Simbad (via url):    1
%@ 1234
%I.0 M  31
%C.0 G
%J 10.68470833 +41.26875000 = 00:42:44.33 +41:16:07.5
%V v -300 [4]
#====Done (2024-Jan-01,00:00:00z)====
"""
TARGETS = {
    "ngc1300": [("NGC1300", 49.92, -19.41), ("NGC1300", 49.93, -19.42)],
    "any": [("ANY", 10.0, 10.0), ("ANY", 200.0, -40.0)],
}


def lookup(names):
    return [row for n in names for row in TARGETS.get(n, [])]


@pytest.fixture
def sesame(serve_http):
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(unquote(self.path))
            body = SESAME_M31 if self.path.endswith("?M31") else "# nothing\n#! *** Nothing found *** \n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    return serve_http(Handler) + "/", seen


def test_archive_targets_first_and_offline(no_network):
    r = Resolver(lookup, "https://cds.unistra.fr/cgi-bin/nph-sesame/", 2, 60).resolve("NGC 1300")
    assert r.source == "archive" and "NGC1300" in r.detail and "2 observations" in r.detail
    assert r.ra == pytest.approx(49.925, abs=1e-3) and r.dec == pytest.approx(-19.415, abs=1e-3)
    assert no_network == []


def test_sesame_when_the_archive_does_not_know(sesame, no_network):
    url, seen = sesame
    resolver = Resolver(lookup, url, 2, 60)
    r = resolver.resolve("M31")
    assert r.source == "sesame" and "Sesame" in r.detail
    assert r.coord.ra.deg == pytest.approx(10.6847, abs=1e-4) and r.dec == pytest.approx(41.26875)
    assert seen == ["/SNV?M31"]
    assert resolver.resolve("m31 ") == r and len(seen) == 1  # cached, however typed
    with pytest.raises(NameNotResolved, match="neither this archive nor Sesame"):
        resolver.resolve("no such object")
    with pytest.raises(NameNotResolved, match="is not a target"):  # one name for far-apart places
        Resolver(lookup, "", 2, 60).resolve("ANY")
    assert no_network == []


def test_unreachable_sesame_is_not_asked_again_at_once(no_network):
    resolver = Resolver(lookup, "https://cds.unistra.fr/cgi-bin/nph-sesame/", 2, 60)
    with pytest.raises(NameNotResolved, match="cannot be reached"):
        resolver.resolve("M31")
    attempts = len(no_network)
    assert attempts >= 1
    with pytest.raises(NameNotResolved, match="cannot be reached"):
        resolver.resolve("M51")
    assert len(no_network) == attempts


def test_name_variants_cover_archive_spellings():
    assert name_variants("NGC  1300") == ["ngc 1300", "ngc1300", "ngc-1300", "ngc_1300"]
    assert name_variants("Abell-2744") == ["abell-2744", "abell 2744", "abell2744", "abell_2744"]
