"""Sky positions: parsing, HEALPix cones on both databases checked against astropy, the migration's backfill."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, SkyCoord
from sqlalchemy import insert, select, text

from paperclip import sky
from paperclip.db import get_engine, session_scope, upgrade
from paperclip.schema import Observation, Proposal


@pytest.mark.parametrize(
    ("lon", "lat", "frame"),
    [
        ("161.265", "-59.684444", "icrs"),
        ("10:45:03.6", "-59:41:04", "icrs"),
        ("10 45 03.6", "-59 41 04", "icrs"),
        ("10h45m03.6s", "-59d41m04s", "icrs"),
        (161.265, -59.684444, "icrs"),
        ("287.5967", "-0.6304", "galactic"),
    ],
)
def test_position_forms_agree(lon, lat, frame):
    coord = sky.position(lon, lat, frame)
    assert coord.separation(SkyCoord(161.265, -59.684444, unit="deg")) < 30 * u.arcsec


@pytest.mark.parametrize(
    "typed",
    [
        "161.265 -59.684444",
        "161.265, -59.684444",
        "10:45:03.6 -59:41:04",
        "10 45 03.6 -59 41 04",
        "10h45m03.6s -59d41m04s",
        "gal 287.5967 -0.6304",
        "l=287.5967 b=-0.6304",
    ],
)
def test_typed_coordinates(typed):
    coord = sky.parse_coordinate(typed)
    assert coord is not None
    assert coord.separation(SkyCoord(161.265, -59.684444, unit="deg")) < 30 * u.arcsec


@pytest.mark.parametrize(
    "typed", ["NGC 1300", "strong lensing arcs", "M31", "ib2k01010", "400 10", "10 95", ""]
)
def test_words_are_not_coordinates(typed):
    assert sky.parse_coordinate(typed) is None


@pytest.mark.parametrize(
    ("typed", "arcsec"),
    [
        ("0.1", 360),
        ("0.1 deg", 360),
        ("5 arcmin", 300),
        ("5'", 300),
        ('30"', 30),
        ("2arcsec", 2),
        (0.5, 1800),
    ],
)
def test_radius_units(typed, arcsec):
    assert sky.parse_radius(typed).to(u.arcsec).value == pytest.approx(arcsec)


@pytest.mark.parametrize("typed", ["-1", "0", "181 deg", "5 m", "nan", "wide"])
def test_bad_radius_says_why(typed):
    with pytest.raises(sky.CoordinateError, match="radius"):
        sky.parse_radius(typed)


@pytest.mark.parametrize(
    ("lon", "lat"), [("x", "10"), ("10", "91"), ("10", "-90.5"), ("inf", "0"), ("1e400", "0")]
)
def test_bad_positions_say_why(lon, lat):
    with pytest.raises(sky.CoordinateError):
        sky.position(lon, lat)


def test_ranges_are_nested_cells():
    c = sky.cone(SkyCoord(10, 20, unit="deg"), Angle(5, u.arcmin))
    level, cells = c.cells()
    ranges = c.ranges()
    assert 0 < len(ranges) <= len(cells)
    inside = sky.healpix_index(10.0, 20.0)
    assert any(lo <= inside <= hi for lo, hi in ranges)
    assert sum(hi - lo + 1 for lo, hi in ranges) == len(cells) * 4 ** (sky.ORDER - level)


def _random_sky(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return ra, dec


CONES = [  # centre (deg), radius: small and large, at the poles, across RA 0/360
    ((10.0, 20.0), Angle(2, u.arcsec)),
    ((150.1, 2.2), Angle(5, u.arcmin)),
    ((359.99, -0.5), Angle(1, u.deg)),
    ((0.01, 89.9), Angle(0.5, u.deg)),
    ((200.0, -89.95), Angle(10, u.arcmin)),
    ((83.8, -5.4), Angle(12, u.deg)),
    ((270.0, 45.0), Angle(95, u.deg)),
]


def test_cone_matches_astropy_on_random_points(db_url):
    """Every point astropy puts inside is found, nothing outside is: uniform points over the sky plus
    points on each cone's edge (exactly at, just inside and just outside the radius)."""
    rng = np.random.default_rng(7)
    ra, dec = _random_sky(rng, 4000)
    for (cra, cdec), radius in CONES:
        centre = SkyCoord(cra, cdec, unit="deg")
        pa = Angle(rng.uniform(0, 360, 60), u.deg)
        scale = np.repeat([1 - 1e-9, 1.0, 1 + 1e-9], 20)
        edge = centre.directional_offset_by(pa, radius * scale)
        near = centre.directional_offset_by(pa, radius * rng.uniform(0, 2, 60))
        ra = np.concatenate([ra, edge.ra.deg, near.ra.deg])
        dec = np.concatenate([dec, edge.dec.deg, near.dec.deg])
    with session_scope(db_url) as s:
        pk = s.scalars(
            insert(Proposal).values(collection="HST", proposal_id="1").returning(Proposal.id)
        ).one()
        s.execute(
            insert(Observation),
            [
                {
                    "proposal_pk": pk,
                    "collection": "HST",
                    "obs_id": f"o{i}",
                    "ra": float(r),
                    "dec": float(d),
                    "healpix": int(h),
                }
                for i, (r, d, h) in enumerate(zip(ra, dec, sky.healpix_index(ra, dec), strict=True))
            ],
        )
    everything = SkyCoord(ra, dec, unit="deg")
    with session_scope(db_url) as s:
        for (cra, cdec), radius in CONES:
            c = sky.cone(SkyCoord(cra, cdec, unit="deg"), radius)
            rows = s.execute(
                select(Observation.obs_id, Observation.ra, Observation.dec).where(
                    c.clause(Observation.healpix)
                )
            ).all()
            got = {
                o
                for (o, r, d), keep in zip(
                    rows, c.contains([r[1] for r in rows], [r[2] for r in rows]), strict=True
                )
                if keep
            }
            truth = {f"o{i}" for i in np.flatnonzero(c.center.separation(everything) <= radius)}
            assert got == truth, (cra, cdec, radius)
            assert len(truth) >= 30
            assert len(rows) < 0.6 * len(ra) or radius > 90 * u.deg  # the ranges pre-filter


def test_cone_over_arrays_matches_astropy():
    """The same cones over in-memory columns (what the service filters the index with)."""
    rng = np.random.default_rng(11)
    ra, dec = _random_sky(rng, 20_000)
    cells = sky.healpix_index(ra, dec)
    cells[:10] = -1  # rows without a position
    everything = SkyCoord(ra, dec, unit="deg")
    for (cra, cdec), radius in CONES:
        c = sky.cone(SkyCoord(cra, cdec, unit="deg"), radius)
        d = c.distances(cells, ra, dec)
        truth = c.center.separation(everything) <= radius
        truth[:10] = False
        assert np.array_equal(~np.isnan(d), truth), (cra, cdec, radius)
        assert np.allclose(d[truth], c.center.separation(everything[truth]).deg)


def test_cone_uses_the_healpix_index(db_url):
    c = sky.cone(SkyCoord(150.1, 2.2, unit="deg"), Angle(5, u.arcmin))
    stmt = select(Observation.id).where(c.clause(Observation.healpix))
    engine = get_engine(db_url)
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")))
        else:
            plan = "\n".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "ix_observations_healpix" in plan, plan


def test_healpix_of_rejects_missing_and_invalid():
    assert sky.healpix_of(None, 10) is None and sky.healpix_of(10, float("nan")) is None
    assert sky.healpix_of(10, 95) is None
    assert sky.healpix_of(370.0, 10) == sky.healpix_of(10.0, 10)


def test_mean_position_across_ra_zero():
    mean = sky.mean_position([359.9, 0.1], [10.0, 10.0])
    assert mean.separation(SkyCoord(0, 10, unit="deg")) < 1 * u.arcsec


def test_migration_backfills_existing_rows(db_url):
    """Down to 0001, rows written there, up again: every position gets its cell (at ``sky.ORDER``,
    the migration's own constant) and every proposal its full-text document."""
    from alembic import command

    from paperclip.db import alembic_config
    from paperclip.fulltext import search_proposals

    command.downgrade(alembic_config(db_url), "0001")
    ra, dec = _random_sky(np.random.default_rng(3), 50)
    with get_engine(db_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO proposals (id, collection, proposal_id, title, abstract, created_at, updated_at) "
                "VALUES (1, 'HST', '1', 'Quasar hosts', 'Deep imaging of hosts.', '2024-01-01', '2024-01-01')"
            )
        )
        for i, (r, d) in enumerate(zip(ra, dec, strict=True)):
            conn.execute(
                text(
                    "INSERT INTO observations (proposal_pk, collection, obs_id, target, ra, dec, created_at) "
                    "VALUES (1, 'HST', :o, 'PG1700+518', :r, :d, '2024-01-01')"
                ),
                {"o": f"o{i}", "r": float(r), "d": float(d)},
            )
        conn.execute(
            text(
                "INSERT INTO observations (proposal_pk, collection, obs_id, created_at) "
                "VALUES (1, 'HST', 'nopos', '2024-01-01')"
            )
        )
    upgrade(db_url)
    with session_scope(db_url) as s:
        rows = s.execute(select(Observation.obs_id, Observation.healpix).order_by(Observation.id)).all()
        assert [h for _, h in rows[:-1]] == list(sky.healpix_index(ra, dec)) and rows[-1] == ("nopos", None)
        assert [pk for pk, _ in search_proposals(s, "quasar", 5)] == [1]
        assert [pk for pk, _ in search_proposals(s, "PG1700", 5)] == [1]
