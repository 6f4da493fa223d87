"""Filtered search: filters -> a bitmap over the served version's metadata arrays -> the top k allowed.

No database round trip: the masks come from the arrays written beside the index
(``paperclip.index_meta``). Every index kind returns min(k, matches) hits:

- few matches (up to ``Settings.filter_exact_max``): exact scores over just the allowed rows of the
  memory-mapped float16 vectors (reads m rows, not the index);
- many matches: the index itself with a FAISS bitmap selector, its search widened by the inverse
  selectivity (IVF ``nprobe``, HNSW ``efSearch``), so it visits as many allowed vectors as an
  unfiltered search visits vectors; should it still come back short, the exact path answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from astropy.coordinates import Angle

from paperclip.index_meta import MetaTable

if TYPE_CHECKING:
    from app.loading import Loaded


@dataclass(frozen=True)
class Filters:
    """What a search is restricted to; text matches are case-insensitive."""

    instrument: str | None = None  # equal
    filter: str | None = None  # substring of the filters list, e.g. F814W in F606W;F814W
    cycle: int | None = None
    proposal: str | None = None
    target: str | None = None  # substring
    collection: str | None = None
    sky_cell: tuple[int, int] | None = None  # (HEALPix order, nested index)
    cone: tuple[float, float, float] | None = None  # (ra, dec, radius), degrees, ICRS
    start: tuple[float, float] | None = None  # observation start between these MJDs (either may be +-inf)
    min_exposure: float | None = None  # seconds

    @property
    def any(self) -> bool:
        return any(v not in (None, "") for v in vars(self).values())


def mask(table: MetaTable, f: Filters) -> np.ndarray:
    """Rows of ``table`` passing every filter."""
    out = np.ones(len(table), bool)
    if f.instrument:
        out &= table.equals("instrument", f.instrument)
    if f.filter:
        out &= table.contains("filter", f.filter)
    if f.cycle is not None:
        out &= table.equals("cycle", f.cycle)
    if f.proposal:
        out &= table.equals("proposal", f.proposal)
    if f.target:
        out &= table.contains("target", f.target)
    if f.collection:
        out &= table.equals("collection", f.collection)
    if f.sky_cell is not None:
        out &= table.sky_cell(*f.sky_cell)
    if f.cone is not None:
        out &= np.isfinite(cone_distances(table, f.cone))
    if f.start is not None:
        start = table.columns["start"]
        out &= (start >= f.start[0]) & (start <= f.start[1])
    if f.min_exposure is not None:
        out &= table.columns["exposure"] >= f.min_exposure
    return out


def cone_distances(table: MetaTable, cone: tuple[float, float, float]) -> np.ndarray:
    """Distance in degrees from the cone's centre of the rows inside it, NaN elsewhere."""
    from paperclip import sky

    c = sky.cone(sky.position(cone[0], cone[1]), Angle(cone[2], "deg"))
    return c.distances(table.columns["sky_cell"], table.columns["ra"], table.columns["dec"])


Result = tuple[np.ndarray, np.ndarray]  # (scores, positions), one row each


def exact(loaded: Loaded, query: np.ndarray, k: int, positions: np.ndarray) -> Result:
    """The true top k among ``positions``, scored against the stored vectors."""
    scores = np.asarray(loaded.vectors[positions], dtype=np.float32) @ query.reshape(-1)
    k = min(k, len(positions))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return scores[top][None, :], positions[top][None, :]


def search_params(index: Any, selector: Any, widen: float) -> tuple[Any, list[Any]]:
    """Search parameters of the right type for ``index`` (refined, IVF, HNSW or flat) carrying a
    selector, widened ``widen`` times, plus the nested objects that must outlive the search
    (SWIG does not own them)."""
    import faiss

    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexRefine):
        base, keep = search_params(index.base_index, selector, widen)
        params = faiss.IndexRefineSearchParameters(k_factor=index.k_factor, sel=selector)
        params.base_index_params = base
        return params, [base, *keep]
    if isinstance(index, faiss.IndexIVF):
        nprobe = min(index.nlist, math.ceil(index.nprobe * widen))
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe), []
    if isinstance(index, faiss.IndexHNSW):
        ef = min(max(index.ntotal, 1), math.ceil(index.hnsw.efSearch * widen))
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(ef, index.hnsw.efSearch)), []
    return faiss.SearchParameters(sel=selector), []


def filtered_search(loaded: Loaded, query: np.ndarray, k: int, allowed: np.ndarray, exact_max: int) -> Result:
    """Top min(k, matches) (scores, positions) among the rows where ``allowed`` is true."""
    import faiss

    positions = np.flatnonzero(allowed)
    if not len(positions) or k <= 0:
        return np.zeros((1, 0), np.float32), np.zeros((1, 0), np.int64)
    k = min(k, len(positions))
    if len(positions) <= exact_max:
        return exact(loaded, query, k, positions)
    bits = np.packbits(allowed, bitorder="little")
    selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
    params, _keep = search_params(loaded.inner, selector, len(allowed) / len(positions))
    scores, found = loaded.inner.search(np.ascontiguousarray(query.reshape(1, -1)), k, params=params)
    hits = found[0] >= 0
    if hits.sum() < k:  # the widened search came back short: answer exactly
        return exact(loaded, query, k, positions)
    return scores[:, hits], found[:, hits]
