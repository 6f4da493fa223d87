"""Response bodies of the REST API (also what the HTML templates render)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer, computed_field

from paperclip.mentions import evidence


def rfc3339(value: datetime) -> str:
    """UTC with a ``Z`` and whole seconds; a naive time (SQLite keeps no offset) is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


UtcTime = Annotated[datetime, PlainSerializer(rfc3339, return_type=str, when_used="json")]


class ProposalBrief(BaseModel):
    id: int = Field(description="Database id, for /proposals/{id}")
    proposal_id: str = Field(description="The archive's proposal (program) id")
    collection: str
    title: str | None = None
    pi: str | None = None
    cycle: int | None = None
    category: str | None = None
    program_url: str | None = Field(None, description="STScI program information page (HST, JWST)")
    page_url: str = Field(description="This proposal's page in this service (by its number)")


class MastLinks(BaseModel):
    observation: str = Field(description="The observation in the MAST Portal")
    products: str = Field(description="The science file behind the preview, from MAST's download API")
    program: str | None = Field(None, description="The STScI program information page")


class ObservationOut(BaseModel):
    id: int = Field(description="Database id (also the vector id in the index)")
    obs_id: str = Field(description="The archive's observation id (for harvested data, the product's name)")
    mast_obs_id: str | None = Field(None, description="MAST's obs_id, for observations harvested from MAST")
    collection: str
    instrument: str | None = None
    filters: str | None = None
    target: str | None = None
    ra: float | None = Field(None, description="Right ascension (ICRS), degrees")
    dec: float | None = Field(None, description="Declination (ICRS), degrees")
    ra_hms: str | None = Field(None, description="Right ascension, sexagesimal hours (hh:mm:ss.ss)")
    dec_dms: str | None = Field(None, description="Declination, sexagesimal degrees (+dd:mm:ss.s)")
    start_time: UtcTime | None = Field(None, description="Observation start, UTC (RFC 3339)")
    start_mjd: float | None = Field(None, description="Observation start, MJD (UTC)")
    exposure_s: float | None = Field(None, description="Exposure time, seconds")
    width: int | None = None
    height: int | None = None
    preview_url: str = Field(description="This service's preview image")
    page_url: str = Field(description="This observation's page in this service")
    mast_url: str | None = Field(None, description="The observation in the MAST Portal (harvested data only)")
    mast: MastLinks | None = Field(None, description="Links into MAST (harvested data only)")


class Hit(BaseModel):
    rank: int
    score: float | None = Field(
        None, description="Cosine similarity of query and preview (none for a position-only search)"
    )
    z_score: float | None = Field(
        None, description="Standard deviations above this query's mean score over the whole index"
    )
    percentile: float | None = Field(None, description="Per cent of the index scoring below this hit")
    distance_arcmin: float | None = Field(None, description="Distance from the search position, arcmin")
    observation: ObservationOut
    proposal: ProposalBrief
    more: list[Hit] = Field(
        default_factory=list, description="With group=proposal: this proposal's other hits, in rank order"
    )


class Position(BaseModel):
    ra: float = Field(description="Centre, right ascension (ICRS), degrees")
    dec: float = Field(description="Centre, declination (ICRS), degrees")
    ra_hms: str
    dec_dms: str
    radius_arcmin: float
    resolved: str | None = Field(None, description="How a name was resolved (near=NAME)")


class Facet(BaseModel):
    value: str
    count: int


class SearchPage(BaseModel):
    query: str | None = None
    mode: str = Field(description="vector | text | hybrid")
    sort: str = Field(description="relevance | date | exposure")
    group: str = Field(description="none | proposal")
    k: int
    page: int
    has_next: bool
    total: int = Field(description="Results in the whole result set (at least this many if not exact)")
    total_exact: bool = Field(description="False when the result set holds more than ``total``")
    weak_match: bool | None = Field(
        None,
        description="True when the best hits stand out no more than meaningless queries' do: no good match",
    )
    strength: float | None = Field(None, description="How far the best hits stand out (null z; see the docs)")
    position: Position | None = None
    facets: dict[str, list[Facet]] = Field(default_factory=dict, description="Counts over the result set")
    index_version: int
    synthetic: bool = Field(description="True when the archive holds synthetic (SYNTH) data")
    results: list[Hit]


class Description(BaseModel):
    rank: int
    text: str
    kind: str = Field(description="object | use_case")
    score: float = Field(
        description="What descriptions are ranked by: the cosine less the description's hubness (its mean "
        "cosine to its nearest archive images), or the bare cosine where hub normalisation is off"
    )
    cosine: float = Field(description="Bare cosine similarity of the description and the image")


class ProposalMatch(BaseModel):
    score: float = Field(description="Best similarity among the proposal's observations")
    proposal: ProposalBrief
    summary: str | None = None
    own: bool = Field(False, description="The proposal the described observation belongs to")


class DescribeResult(BaseModel):
    index_version: int
    weak_match: bool | None = Field(None, description="True when no description stands out: no good match")
    descriptions: list[Description]
    proposals: list[ProposalMatch]


class ProposalDetail(ProposalBrief):
    abstract: str | None = None
    summary: str | None = None
    observations: list[ObservationOut] = Field(default_factory=list)

    @computed_field(description="Summary term -> the words of the title or abstract that say it")
    @property
    def summary_evidence(self) -> dict[str, str]:
        terms = [t.strip() for part in (self.summary or "").split(";") for t in part.split(",")]
        return evidence(self.abstract, self.title, [t for t in terms if t]) if self.summary else {}


class ObservationDetail(ObservationOut):
    proposal: ProposalDetail


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    reason: str | None = None


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str = Field(description="ready | unavailable")
    database: bool
    index_version: int | None = Field(None, description="The version served")
    active_version: int | None = Field(None, description="The version activated in the database")
    vectors: int | None = None
    last_error: str | None = Field(None, description="Why the active version is not served, if it is not")
    detail: str | None = None
