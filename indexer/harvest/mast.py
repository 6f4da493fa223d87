"""Which previews to fetch for one proposal, from MAST via astroquery.

HST: the combined drizzled products' previews (file name contains ``total``, colour composites
dropped), as in the paper; JWST: the level-3 combined images' previews (``_i2d``); never thumbnails. Up to N per
proposal, sampled without replacement with a seed fixed per proposal, so reruns pick the same.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import numpy as np

MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)


@dataclass(frozen=True)
class Preview:
    filename: str
    data_uri: str
    size: int | None
    obs_id: str  # MAST's observation id the preview belongs to
    instrument: str | None
    filters: str | None
    target: str | None
    ra: float | None
    dec: float | None
    start_mjd: float | None
    exposure_s: float | None
    title: str | None  # the proposal's title, as MAST has it
    pi: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def url(self, download_url: str) -> str:
        return f"{download_url}?uri={quote(self.data_uri, safe=':/')}"

    @property
    def start_time(self) -> datetime | None:
        return MJD_EPOCH + timedelta(days=self.start_mjd) if self.start_mjd is not None else None


def keep(collection: str, filename: str) -> bool:
    name = filename.lower()
    if not name.endswith((".jpg", ".jpeg")) or "_thumb" in name:  # thumbnails: too small to learn from
        return False
    if collection.upper() == "JWST":
        return "_i2d" in name
    return "total" in name and "color" not in name


def sample(previews: list[Preview], n: int, seed: int, collection: str, proposal_id: str) -> list[Preview]:
    ordered = sorted(previews, key=lambda p: p.filename)  # independent of MAST's row order
    rng = random.Random(f"{seed}:{collection}:{proposal_id}")
    return sorted(rng.sample(ordered, min(n, len(ordered))), key=lambda p: p.filename)


def query_previews(collection: str, proposal_id: str, timeout_s: float) -> list[Preview]:
    """Every eligible public preview of the proposal (empty when MAST has none)."""
    import warnings

    from astroquery.exceptions import NoResultsWarning
    from astroquery.mast import Observations, conf

    conf.timeout = max(1, math.ceil(timeout_s))  # astroquery wants whole seconds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoResultsWarning)
        obs = Observations.query_criteria(
            obs_collection=collection, proposal_id=str(proposal_id), dataRights="PUBLIC"
        )
        if len(obs) == 0:
            return []
        products = Observations.get_product_list(obs)
    by_obsid = {str(row["obsid"]): row for row in obs}
    out = []
    for p in products:
        if str(p["productType"]).upper() != "PREVIEW" or not keep(collection, str(p["productFilename"])):
            continue
        o = by_obsid.get(str(p["obsID"]))
        if o is None:
            continue
        out.append(
            Preview(
                filename=str(p["productFilename"]),
                data_uri=str(p["dataURI"]),
                size=_num(p["size"], int),
                obs_id=str(o["obs_id"]),
                instrument=_str(o["instrument_name"]),
                filters=_str(o["filters"]),
                target=_str(o["target_name"]),
                ra=_num(o["s_ra"], float),
                dec=_num(o["s_dec"], float),
                start_mjd=_num(o["t_min"], float),
                exposure_s=_num(o["t_exptime"], float),
                title=_str(o["obs_title"]),
                pi=_str(o["proposal_pi"]),
            )
        )
    return out


def _str(value: Any) -> str | None:
    if value is None or value is np.ma.masked:
        return None
    text = str(value).strip()
    return text if text and text != "--" else None


def _num(value: Any, kind: type) -> Any:
    text = _str(value)
    try:
        x = float(text) if text is not None else None
    except ValueError:
        return None
    return kind(x) if x is not None and math.isfinite(x) else None
