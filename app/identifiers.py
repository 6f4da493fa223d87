"""Archive identifiers: what the search box jumps to, and links into MAST built from harvested ids.

Harvested observations keep the preview's file stem as ``obs_id`` (``hst_15446_01_acs_wfc_total_
jdxk01_drc``); MAST's own obs_id is that stem without the product suffix, and HST users also know
visits by their dataset name (``jdxk01010``, whose first six characters name the visit). Links are
built only for observations harvested from MAST (HST, JWST, with a product file name), never for
synthetic or imported data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from astropy.coordinates import SkyCoord

from paperclip import sky

MAST_COLLECTIONS = ("HST", "JWST")
PROGRAM_PAGES = {
    "HST": "https://www.stsci.edu/hst-program-info/program/?program={}",
    "JWST": "https://www.stsci.edu/jwst-program-info/program/?program={}",
}
PRODUCT_SUFFIX = re.compile(r"_(drc|drz|i2d|flt|flc|cal|crf|s2d|x1d)$", re.I)
DATASET = re.compile(r"[a-z][a-z0-9]{5}[a-z0-9]{3}")  # HST ipppssoot
_PROPOSAL = re.compile(r"(?:prop|proposal|program|pid)\s*[:=#]?\s*([A-Za-z0-9][\w.-]{0,63})", re.I)
_OBS_ID = re.compile(r"[A-Za-z0-9][\w.+-]{4,127}")


@dataclass(frozen=True)
class Jump:
    """Where a search-box entry points instead of a text search."""

    kind: str  # observation | proposal | position
    value: str | SkyCoord


def parse_jump(q: str) -> Jump | None:
    """``prop:15446`` -> a proposal; ``10:45:03.6 -59:41:04`` -> a position; one token with both
    letters and digits (``ib2k01010``) -> maybe an observation (the caller checks it exists)."""
    text = q.strip()
    if m := _PROPOSAL.fullmatch(text):
        return Jump("proposal", m.group(1))
    if (coord := sky.parse_coordinate(text)) is not None:
        return Jump("position", coord)
    if _OBS_ID.fullmatch(text) and re.search(r"\d", text) and re.search(r"[A-Za-z]", text):
        return Jump("observation", text)
    return None


def obs_id_candidates(text: str) -> list[str]:
    """Lowercased stored obs_ids that ``text`` may name exactly: itself, or the product of a MAST obs_id."""
    t = text.strip().lower()
    return [t, *(f"{t}_{suffix}" for suffix in ("drc", "drz", "i2d"))]


def dataset_visit(text: str) -> str | None:
    """The visit (``jdxk01``) of an HST dataset name (``jdxk01010``), matched inside HAP product names."""
    t = text.strip().lower()
    return t[:6] if DATASET.fullmatch(t) else None


def harvested(collection: str, product_filename: str | None) -> bool:
    return collection in MAST_COLLECTIONS and bool(product_filename)


def mast_obs_id(collection: str, obs_id: str, product_filename: str | None) -> str | None:
    """MAST's obs_id of a harvested observation (the product file's stem less its suffix)."""
    if not harvested(collection, product_filename):
        return None
    return PRODUCT_SUFFIX.sub("", obs_id)


@dataclass(frozen=True)
class MastLinks:
    observation: str  # the MAST Portal, searched for this obs_id
    products: str  # the science file behind the preview, through MAST's download API
    program: str | None  # the STScI program information page


def mast_links(
    collection: str,
    obs_id: str,
    product_filename: str | None,
    proposal_id: str,
    portal_url: str,
    download_url: str,
) -> MastLinks | None:
    """Links in the forms MAST documents; None for anything not harvested from MAST."""
    mast_id = mast_obs_id(collection, obs_id, product_filename)
    if mast_id is None or product_filename is None:
        return None
    stem = re.sub(r"\.(jpe?g|png)$", "", product_filename, flags=re.I)
    return MastLinks(
        observation=f"{portal_url}{quote(mast_id)}",
        products=f"{download_url}?uri={quote(f'mast:{collection}/product/{stem}.fits', safe=':/')}",
        program=program_url(collection, proposal_id),
    )


def program_url(collection: str, proposal_id: str) -> str | None:
    page = PROGRAM_PAGES.get(collection)
    return page.format(proposal_id) if page and proposal_id.isdigit() else None
